#!/usr/bin/env bash
# Installs everything Rampart needs to build, test and run its demo on Debian 12.
# Idempotent: a second run with everything present only checks and exits.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libyaml-cpp-dev libexpected-dev prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  libpq-dev libssl-dev openssl postgresql-15 etcd-server etcd-client
  libhiredis-dev redis-server python3-redis
  iproute2 nftables conntrack procps curl
  clang-14 libclang-rt-14-dev
)

# kubectl drives the API in the tests and the demo: Debian's own where none is installed (an
# operator's newer kubectl is kept).
if ! command -v kubectl >/dev/null 2>&1; then
  packages+=(kubernetes-client)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts etcd as a service on install; Rampart starts its own members, so keep the
# packaged one from holding 2379/2380.
if command -v systemctl >/dev/null 2>&1; then
  $sudo systemctl disable --now etcd >/dev/null 2>&1 || true
  # Likewise Redis: tests start their own redis-server processes on free ports.
  $sudo systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
