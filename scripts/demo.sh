#!/usr/bin/env bash
# The main job: set up what is missing, then run the demo (see README).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/setup.sh" run
exec node "$here/dist/src/demo.js" "$@"
