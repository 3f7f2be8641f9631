#!/usr/bin/env bash
# Measures the start-up of Kiln's API server and of two stand-ins built on other libraries: time
# from process launch until the Unix socket accepts a connection and until the first GET / is
# answered, and resident memory after the first response and after 120 more requests. Prints a
# Markdown table for docs/benchmarks.md. Usage: bench/api-startup.sh [runs] (default 5).
#
# The stand-ins (bench/api-alternatives, a Maven project of its own) are Jetty 12 with Jackson, and
# a hand-written JDK server like Kiln's with JSON by Jackson or by string concatenation. All run on
# the same JDK with the flags of ./kiln, with and without an application class-data archive.
# Build Kiln first (scripts/build.sh); this script builds the stand-ins, which needs Maven Central
# on the first run.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
# shellcheck source=scripts/lib/jdk.sh
. "$top/scripts/lib/jdk.sh"
kiln_find_jdk
kiln_jar="$top/kiln-cli/target/kiln.jar"
if [ ! -f "$kiln_jar" ]; then
  echo "api-startup: $kiln_jar is missing; build Kiln with scripts/build.sh" >&2
  exit 1
fi
mvn -q -f "$top/bench/api-alternatives/pom.xml" package
alternatives="$top/bench/api-alternatives/target"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# ./kiln gets a cache of its own, so its first (uncounted) run writes a fresh archive.
export KILN_CACHE="$work/kiln-cache"

# The JVM flags of ./kiln, so every server starts the same way.
flags=(-Xlog:disable -Xlog:all=warning:stderr -Xlog:cds*=off:stderr -Xlog:aot*=off:stderr
  -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xms8m -Xmx64m -Xss512k
  --enable-native-access=ALL-UNNAMED)
java="$JAVA_HOME/bin/java"

# Each configuration: "label|CDS yes/no|jar|command", where SOCK stands for the socket path and
# CDS_FLAGS for the archive flags (nothing without an archive).
configs=(
  "Kiln through ./kiln (includes the launcher's java -version)|yes|$kiln_jar|$top/kiln --api-sock SOCK"
  "Kiln (hand-written HTTP, Jackson)|yes|$kiln_jar|$java CDS_FLAGS ${flags[*]} -jar $kiln_jar --api-sock SOCK"
  "Kiln (hand-written HTTP, Jackson)|no|$kiln_jar|$java ${flags[*]} -jar $kiln_jar --api-sock SOCK"
  "Jetty 12.1.14 + Jackson|yes|$alternatives/jetty-jackson.jar|$java CDS_FLAGS ${flags[*]} -jar $alternatives/jetty-jackson.jar SOCK"
  "Jetty 12.1.14 + Jackson|no|$alternatives/jetty-jackson.jar|$java ${flags[*]} -jar $alternatives/jetty-jackson.jar SOCK"
  "JDK only, HTTP like Kiln's + Jackson|yes|$alternatives/jdk-jackson.jar|$java CDS_FLAGS ${flags[*]} -jar $alternatives/jdk-jackson.jar SOCK jackson"
  "JDK only, HTTP like Kiln's + Jackson|no|$alternatives/jdk-jackson.jar|$java ${flags[*]} -jar $alternatives/jdk-jackson.jar SOCK jackson"
  "JDK only, HTTP like Kiln's + string JSON|yes|$alternatives/jdk.jar|$java CDS_FLAGS ${flags[*]} -jar $alternatives/jdk.jar SOCK concat"
  "JDK only, HTTP like Kiln's + string JSON|no|$alternatives/jdk.jar|$java ${flags[*]} -jar $alternatives/jdk.jar SOCK concat"
)

# Runs configuration $1 once and appends the probe's figures to $work/<index>.txt, or only runs it
# when $2 is "warm-up".
run_config() {
  local index=$1 mode=$2 label cds jar command sock
  IFS='|' read -r label cds jar command <<<"${configs[$index]}"
  sock="$work/api-$index.sock"
  command=${command//SOCK/$sock}
  command=${command//CDS_FLAGS/-XX:SharedArchiveFile=$work/cds-$index.jsa -XX:+AutoCreateSharedArchive}
  local figures
  # shellcheck disable=SC2086 # the command is split into words on purpose.
  if ! figures=$(python3 "$top/bench/api-probe.py" "$sock" $command 2>"$work/err-$index"); then
    echo "api-startup: $label (CDS $cds) failed:" >&2
    cat "$work/err-$index" >&2
    exit 1
  fi
  [ "$mode" = warm-up ] || echo "$figures" >>"$work/$index.txt"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# One uncounted run of each writes the class-data archives. Then the configurations take turns, so
# a change in the machine's load falls on all of them alike.
for index in "${!configs[@]}"; do run_config "$index" warm-up; done
for _ in $(seq "$runs"); do
  for index in "${!configs[@]}"; do run_config "$index" counted; done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Prints "median (min-max)" of column $2 of file $1.
cell() {
  local values
  values=$(awk -v c="$2" '{ print $c }' "$1")
  echo "$(echo "$values" | median) ($(echo "$values" | sort -n | head -1)-$(echo "$values" | sort -n | tail -1))"
}

echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), $("$java" -version 2>&1 | head -1)"
echo "Load average (1, 5, 15 min): $load_before before, $load_after after"
echo "Runs: $runs of each, median (min-max); one uncounted run of each first"
echo
echo "| server | app CDS archive | jar size | launch to socket accepting | launch to first GET / answered | VmRSS after first GET / | VmRSS after 100 GET / + 20 PUT | socket file after SIGTERM |"
echo "|---|---|---|---|---|---|---|---|"
for index in "${!configs[@]}"; do
  IFS='|' read -r label cds jar _ <<<"${configs[$index]}"
  file="$work/$index.txt"
  removed=$(awk '{ print $5 }' "$file" | sort -u | paste -sd/)
  echo "| $label | $cds | $(( $(stat -c %s "$jar") / 1024 )) KiB | $(cell "$file" 1) ms | $(cell "$file" 2) ms | $(cell "$file" 3) KiB | $(cell "$file" 4) KiB | $removed |"
done
echo
all=$(cat "$work"/[0-9]*.txt)
echo "Poller: one connect attempt every 1 ms; $(echo "$all" | awk '{ a += $6; c += $7; w += $1 } END { printf "%.0f attempts and %.0f ms of its own CPU time per second of waiting, on average", a * 1000 / w, c * 1000 / w }')."
