#!/usr/bin/env bash
# The whole test suite: set up what is missing (packages, test user), then run vitest.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/setup.sh" test
cd "$here"
exec npx vitest run "$@"
