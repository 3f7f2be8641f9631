#!/usr/bin/env bash
# The README's first command: builds everything, then boots the default guest.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/build.sh"
exec "$top/scripts/boot-default-guest.sh"
