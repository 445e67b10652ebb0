#!/usr/bin/env bash
# Installs whatever strata needs that is missing, and nothing that is already there.
# Sourced by scripts/demo.sh and scripts/test.sh; `setup.sh test` also prepares the test host.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
purpose=${1:-run}

say() { printf 'strata setup: %s\n' "$*" >&2; }

# Debian packages: runtime needs FUSE 2 (fuse-native links libfuse.so.2) and fuse3's fusermount3;
# tests also compare against the peers and need util-linux's unshare and attr's getfattr.
runtime_pkgs=(libfuse2 fuse3 attr util-linux build-essential)
test_pkgs=(fuse-overlayfs containers-storage)

need=()
pkgs=("${runtime_pkgs[@]}")
[ "$purpose" = test ] && pkgs+=("${test_pkgs[@]}")
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { say "missing Debian packages ${need[*]}; run this as root"; exit 1; }
  say "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# npm dependencies: reinstall only when package-lock.json changed since the last install.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.strata-lock-hash
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi

# Native code (our addon and the patched fuse-native) and TypeScript; both are no-ops when current.
# Then strata-fuse's server as one file (bin/strata-fuse runs it; ~50 ms to build).
node scripts/build-native.mjs
npx tsc -p tsconfig.json
node scripts/bundle-fuse.mjs

if [ "$purpose" = test ]; then
  # Rootless cases run as this user; it needs /dev/fuse like any rootless FUSE user.
  id strata-rootless >/dev/null 2>&1 || useradd --create-home --shell /bin/bash strata-rootless
  [ -c /dev/fuse ] && chmod 666 /dev/fuse
fi
