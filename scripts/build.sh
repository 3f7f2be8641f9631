#!/usr/bin/env bash
# Builds Kiln (kiln-cli/target/kiln.jar) and the default guest (~/.cache/kiln/guest/).
# Tests are not run here; scripts/test.sh runs them.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/jdk.sh"
kiln_find_jdk
"$top/scripts/install-deps.sh"
echo "==> Building Kiln with $JAVA_HOME"
(cd "$top" && mvn -B -q -Dstyle.color=never -DskipTests package)
echo "==> Building the default guest"
bash "$top/guest/build.sh"
