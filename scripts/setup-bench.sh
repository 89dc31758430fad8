#!/usr/bin/env bash
# Extra packages for the benchmarks only: the peers (HAProxy; keepalived for bench/cluster_failover;
# Patroni 3.0.2 with its etcd client for bench/failover), the load generator (wrk) and real
# backends (nginx). Idempotent.
set -euo pipefail
packages=(haproxy keepalived wrk nginx-light python3 patroni python3-etcd postgresql-15 postgresql-client-15
  etcd-server)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The packaged services are not ours to run; the benchmark starts its own on loopback.
if command -v systemctl >/dev/null 2>&1; then
  $sudo systemctl disable --now haproxy keepalived nginx patroni etcd >/dev/null 2>&1 || true
fi
