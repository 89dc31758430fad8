#!/usr/bin/env bash
# rampart lb --mode kernel (nftables DNAT) against direct connections, inside a network
# namespace this script creates (root only) so the host's nftables are never touched.
#
#   bench/lb_kernel_bench.sh [ROUNDS] [SECONDS]
#
# 3 nginx backends on the namespace's loopback, the VIP on its lo, wrk -t2 -c64, alternating
# direct / VIP rounds, keep-alive and a new connection per request. Prints Markdown.
set -euo pipefail
ROUNDS=${1:-3}
SECS=${2:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
RAMPART=${RAMPART:-$HERE/build/src/rampart}
NS=rampart-kbench-$$
WORK=$(mktemp -d /tmp/rampart-kbench-XXXXXX)
LBPID=""
cleanup() {
  [ -n "$LBPID" ] && kill "$LBPID" 2>/dev/null && sleep 0.5
  for f in "$WORK"/nginx*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" $(pgrep -P "$(cat "$f")") 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] || { echo "kernel mode benchmark needs root" >&2; exit 0; }
ip netns add "$NS"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
ports=(18081 18082 18083)
for i in 0 1 2; do
  cat > "$WORK/nginx$i.conf" <<CONF
worker_processes 1;
daemon on;
pid $WORK/nginx$i.pid;
error_log $WORK/nginx$i.err;
events { worker_connections 30000; }
http { access_log off; keepalive_requests 10000000;
  server { listen 127.0.0.1:${ports[$i]}; location / { return 200 "ok\n"; } } }
CONF
  in_ns nginx -c "$WORK/nginx$i.conf" -p "$WORK" -g "user root;"
done
# VIP_BACKENDS=1 puts only the first backend behind the VIP: the same server as the direct
# rounds, so the ratio is the DNAT's own cost without the spread over three servers.
rs=()
for ((i = 0; i < ${VIP_BACKENDS:-3}; i++)); do rs+=(--rs "127.0.0.1:${ports[$i]}"); done
in_ns "$RAMPART" --log-level warn lb --mode kernel --vs 10.200.0.5:80 --iface lo \
  "${rs[@]}" --health-schem tcp \
  --interval 100ms --admin 127.0.0.1:19090 > "$WORK/lb.log" 2>&1 &
LBPID=$!
sleep 1

rps() { in_ns wrk -t2 -c64 -d"${SECS}s" "$@" 2>&1 | awk '/Requests\/sec/{print $2}'; }
median() { sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
echo "## rampart lb --mode kernel (nftables DNAT) vs direct, in a network namespace"
echo
echo "$(nproc) cores; 3 nginx backends (1 worker each), ${VIP_BACKENDS:-3} behind the VIP; wrk -t2 -c64 -d${SECS}s; medians of $ROUNDS alternating rounds."
echo
echo "| load | direct req/s | kernel-mode VIP req/s | ratio |"
echo "| --- | --- | --- | --- |"
for mode in keepalive close; do
  extra=(); [ "$mode" = close ] && extra=(-H "Connection: close")
  d=(); v=()
  for r in $(seq "$ROUNDS"); do
    d+=("$(rps "${extra[@]}" http://127.0.0.1:18081/)")
    v+=("$(rps "${extra[@]}" http://10.200.0.5/)")
    echo "round $r $mode direct=${d[-1]} vip=${v[-1]}" >&2
  done
  dm=$(printf '%s\n' "${d[@]}" | median); vm=$(printf '%s\n' "${v[@]}" | median)
  printf "| %s | %.0f | %.0f | %.2fx |\n" "$([ $mode = keepalive ] && echo keep-alive || echo 'new connection per request')" \
    "$dm" "$vm" "$(awk -v a="$vm" -v b="$dm" 'BEGIN{print a/b}')"
done
