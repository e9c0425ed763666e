#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine (Chromium with SwiftShader, the Vulkan loader,
# the npm packages), then runs every test: unit tests on Dawn + SwiftShader in Node, then the
# Playwright end-to-end tests in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 ' || missing+=(libvulkan1)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

npm run check:layers   # the layering of ARCHITECTURE.md (.dependency-cruiser.cjs)
npx vitest run
npm run test:e2e
