#!/usr/bin/env bash
# Makes a fresh Debian machine ready: system packages (when root), npm dependencies, builds.
# Idempotent: a second run only rebuilds. Without root, missing system packages are listed
# with the command that installs them; what needs them (the DPDK link, tshark checks) is
# then unavailable and its tests say so.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(dpdk libdpdk-dev pkg-config cmake g++ make python3 tshark tcpdump socat
  iproute2 iputils-ping curl openssl netcat-openbsd kmod dnsmasq-base)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${missing[*]}"
    echo "setup: install them with: sudo apt-get install ${missing[*]}"
  fi
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build
echo "setup: done"
