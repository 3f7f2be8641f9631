# Sourced by Kiln's scripts: finds a JDK 25 or newer and exports JAVA_HOME for it.

# Prints the major version of the java binary in $1, or nothing.
kiln_java_major() {
  "$1" -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print v[1]; exit }'
}

# Sets JAVA_HOME to a JDK >= 25: $JAVA_HOME if it qualifies, then JDKs under /usr/lib/jvm
# (newest first), then the java on PATH. Returns 1 with a message when none is found.
kiln_find_jdk() {
  local candidate major
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  for candidate in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    candidates+=("${candidate%/}")
  done
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for candidate in "${candidates[@]}"; do
    [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    major=$(kiln_java_major "$candidate/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 25 ] 2>/dev/null; then
      export JAVA_HOME="$candidate"
      return 0
    fi
  done
  echo "kiln: no JDK 25 or newer found (looked at \$JAVA_HOME, /usr/lib/jvm/* and java on PATH)." >&2
  echo "kiln: install one, for example Temurin 25 in /usr/lib/jvm/temurin-25-jdk-amd64, or set JAVA_HOME to it." >&2
  return 1
}
