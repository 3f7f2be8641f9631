#!/usr/bin/env bash
# The README's second command and CI's: unit tests, then integration tests on real KVM with the
# test guests and the default guest kernel. Needs /dev/kvm; builds what it needs first.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/jdk.sh"
kiln_find_jdk
"$top/scripts/install-deps.sh"
if [ ! -e /dev/kvm ]; then
  echo "kiln: /dev/kvm is missing; the integration tests need KVM" >&2
  exit 1
fi
echo "==> Building the default guest (cached after the first run)"
bash "$top/guest/build.sh"
echo "==> Running the tests with $JAVA_HOME"
cd "$top"
mvn -B -Dstyle.color=never verify "$@"
