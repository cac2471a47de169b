#!/usr/bin/env bash
# Installs the Debian packages ferry needs to build, test and run its demo.
# Idempotent: installs nothing when everything is already there.
set -euo pipefail
# clang + libclang-rt-dev: libFuzzer, for the RDB reader's fuzz test (tests/fuzz).
pkgs=(build-essential cmake pkg-config libhiredis-dev libssl-dev libncurses-dev libcmocka-dev
      redis-server redis-tools tmux openssl time clang libclang-rt-dev libxml2-utils)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "ferry: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "ferry: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
