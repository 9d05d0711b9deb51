#!/usr/bin/env bash
# Installs the Debian bookworm packages clipdex needs and builds it (Release) into build/.
# Usage: scripts/setup.sh [extra cmake options...]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=$(grep -v '^#' scripts/deps.txt | tr '\n' ' ')
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
missing=$(dpkg-query -W -f='${Status} ${Package}\n' $packages 2>/dev/null | awk '$3 != "installed" {print $4}' || true)
if [ -n "$missing" ] || ! dpkg-query -W $packages >/dev/null 2>&1; then
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $packages
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build
echo "clipdex built: build/src/cli/clipdex"
