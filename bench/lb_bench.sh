#!/usr/bin/env bash
# rampart lb against HAProxy (mode tcp) and against direct connections, in the same run,
# alternating, on loopback: 3 nginx backends, wrk as the load generator.
#
#   bench/lb_bench.sh [ROUNDS] [SECONDS]     (defaults 3 rounds of 5 s per configuration)
#
# Prints Markdown: requests/s and latency with keep-alive and with a new connection per request,
# proxy CPU per 1000 requests, unloaded added latency (1 connection), failed requests and the
# time until no more errors when a backend is killed -9 under new-connection load, and peak RSS
# holding idle connections.
# Everything listens on 127.0.0.0/8 and is stopped on exit.
set -euo pipefail
ROUNDS=${1:-3}
SECS=${2:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
RAMPART=${RAMPART:-$HERE/build/src/rampart}
WORK=$(mktemp -d /tmp/rampart-lb-bench-XXXXXX)
PIDS=()
kill_nginx_pidfile() {  # SIGKILL master and workers in one call, so no half-dead window
  local m; m=$(cat "$1")
  kill -9 "$m" $(pgrep -P "$m") 2>/dev/null || true
  rm -f "$1"
}
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  # nginx workers outlive a SIGKILLed master: end them first (their command line does not name
  # $WORK, so the pkill below would miss them).
  for f in "$WORK"/nginx*.pid; do [ -f "$f" ] && kill_nginx_pidfile "$f"; done
  pkill -9 -f "$WORK" 2>/dev/null || true
  if [ -n "${KEEP_LOGS:-}" ]; then echo "logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
KEEP_LOGS=${KEEP_LOGS:-}
# A proxy holds two descriptors per connection. This sandbox caps the hard limit at 20000, so the
# idle-connection test uses IDLE connections (default 9000) unless the limit allows 10,000.
ulimit -n "$(ulimit -Hn)"
IDLE=${IDLE:-$(( $(ulimit -n) >= 21000 ? 10000 : 9000 ))}

free_port() { python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"; }

start_nginx() {  # $1 = index, $2 = port
  cat > "$WORK/nginx$1.conf" <<CONF
worker_processes 1;
daemon on;
pid $WORK/nginx$1.pid;
error_log $WORK/nginx$1.err;
events { worker_connections 30000; }
http {
  access_log off;
  keepalive_requests 10000000;
  server { listen 127.0.0.1:$2 reuseport; location / { return 200 "ok\n"; } }
}
CONF
  nginx -c "$WORK/nginx$1.conf" -p "$WORK" -g "user root;" 2>>"$WORK/nginx$1.err"
}

NPROC=$(nproc)
B=()
for i in 1 2 3; do B[$i]=$(free_port 127.0.0.1); start_nginx "$i" "${B[$i]}"; done
RP=$(free_port 127.0.0.101); HP=$(free_port 127.0.0.102)
ADMIN=127.0.0.1:$(free_port 127.0.0.1)

cat > "$WORK/lb.yaml" <<CONF
admin: { listen: $ADMIN }
workers: ${LB_WORKERS:-$NPROC}
virtual_servers:
  - name: web
    listen: 127.0.0.101:$RP
    policy: round-robin
    connect_timeout: 1s
    health: { type: tcp, interval: 100ms, timeout: 100ms, rise: 1, fall: 1 }
    backends:
      - address: 127.0.0.1:${B[1]}
      - address: 127.0.0.1:${B[2]}
      - address: 127.0.0.1:${B[3]}
CONF
"$RAMPART" --log-level warn lb -c "$WORK/lb.yaml" > "$WORK/lb.log" 2>&1 &
LBPID=$!; PIDS+=("$LBPID")

cat > "$WORK/haproxy.cfg" <<CONF
global
  nbthread ${HA_THREADS:-$NPROC}
  maxconn 9800
defaults
  mode tcp
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch
listen web
  bind 127.0.0.102:$HP
  balance roundrobin
  server b1 127.0.0.1:${B[1]} check inter 100ms fall 1 rise 1
  server b2 127.0.0.1:${B[2]} check inter 100ms fall 1 rise 1
  server b3 127.0.0.1:${B[3]} check inter 100ms fall 1 rise 1
CONF
haproxy -f "$WORK/haproxy.cfg" -db > "$WORK/haproxy.log" 2>&1 &
HAPID=$!; PIDS+=("$HAPID")
sleep 1

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
to_us() {  # wrk latency like 1.23ms / 456.00us / 1.2s -> microseconds
  awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us/,"",v); print v+0} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s/,"",v); print v*1000000} }'
}
# run_wrk URL CONNS THREADS EXTRA... -> "rps p50us p99us errors requests"
run_wrk() {
  local url=$1 c=$2 t=$3; shift 3
  local out; out=$(wrk -t"$t" -c"$c" -d"${SECS}s" --latency "$@" "$url" 2>&1)
  local rps p50 p99 req err
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  p50=$(to_us "$(awk '/^ +50%/{print $2}' <<<"$out")")
  p99=$(to_us "$(awk '/^ +99%/{print $2}' <<<"$out")")
  req=$(awk '/requests in/{print $1}' <<<"$out")
  err=$(awk '/Socket errors/{gsub(/,/,""); print $4+$6+$8+$10} /Non-2xx/{print $5}' <<<"$out" | awk '{s+=$1} END{print s+0}')
  echo "$rps $p50 $p99 $err $req"
}
median() { sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

declare -A RES
for mode in keepalive close; do
  extra=(); [ "$mode" = close ] && extra=(-H "Connection: close")
  for r in $(seq "$ROUNDS"); do
    for target in direct rampart haproxy; do
      case $target in
        direct) url="http://127.0.0.1:${B[1]}/"; pid="";;
        rampart) url="http://127.0.0.101:$RP/"; pid=$LBPID;;
        haproxy) url="http://127.0.0.102:$HP/"; pid=$HAPID;;
      esac
      before=0; [ -n "$pid" ] && before=$(cpu_ticks "$pid")
      read -r rps p50 p99 err req < <(run_wrk "$url" 64 2 "${extra[@]}")
      cpu=0
      if [ -n "$pid" ]; then
        after=$(cpu_ticks "$pid")
        cpu=$(awk -v a="$after" -v b="$before" -v n="$req" 'BEGIN{ printf "%.3f", (a-b)*10/(n/1000) }')
      fi
      RES[$mode,$target,rps]+="$rps "; RES[$mode,$target,p50]+="$p50 "; RES[$mode,$target,p99]+="$p99 "
      RES[$mode,$target,cpu]+="$cpu "; RES[$mode,$target,err]+="$err "
      echo "round $r $mode $target rps=$rps p50=${p50}us p99=${p99}us cpu_ms_per_1k=$cpu errors=$err" >&2
    done
  done
done

med() { tr ' ' '\n' <<<"${RES[$1]}" | grep -v '^$' | median; }
echo "## rampart lb vs HAProxy $(haproxy -v | head -1 | awk '{print $3}') (mode tcp) vs direct"
echo
echo "$NPROC cores; 3 nginx backends (1 worker each); wrk -t2 -c64 -d${SECS}s; medians of $ROUNDS alternating rounds."
echo "rampart lb: ${LB_WORKERS:-$NPROC} workers. HAProxy: nbthread ${HA_THREADS:-$NPROC}. Both: round-robin, TCP checks every 100 ms."
echo
echo "| load | target | requests/s | vs direct | p50 | p99 | proxy CPU ms / 1k req | errors |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for mode in keepalive close; do
  d=$(med "$mode,direct,rps")
  for target in direct rampart haproxy; do
    rps=$(med "$mode,$target,rps")
    printf "| %s | %s | %.0f | %.2fx | %.0f us | %.0f us | %s | %s |\n" \
      "$([ $mode = keepalive ] && echo keep-alive || echo 'new connection per request')" "$target" \
      "$rps" "$(awk -v a="$rps" -v b="$d" 'BEGIN{print a/b}')" "$(med "$mode,$target,p50")" \
      "$(med "$mode,$target,p99")" "$([ $target = direct ] && echo - || med "$mode,$target,cpu")" \
      "$(tr ' ' '+' <<<"${RES[$mode,$target,err]}" | sed 's/+$//' | bc)"
  done
  r=$(med "$mode,rampart,rps"); h=$(med "$mode,haproxy,rps")
  echo "| $mode | **rampart / haproxy** | **$(awk -v a="$r" -v b="$h" 'BEGIN{printf "%.2fx", a/b}')** | | | | | |"
done

# Unloaded added latency: one connection, keep-alive.
echo
echo "### Unloaded latency (wrk -t1 -c1, keep-alive, p50 over ${SECS}s, medians of $ROUNDS rounds)"
echo
declare -A U
for r in $(seq "$ROUNDS"); do
  for target in direct rampart haproxy; do
    case $target in direct) url="http://127.0.0.1:${B[1]}/";; rampart) url="http://127.0.0.101:$RP/";; haproxy) url="http://127.0.0.102:$HP/";; esac
    read -r rps p50 p99 err req < <(run_wrk "$url" 1 1)
    U[$target]+="$p50 "
  done
done
ud=$(tr ' ' '\n' <<<"${U[direct]}" | grep -v '^$' | median)
echo "| target | p50 | added vs direct |"
echo "| --- | --- | --- |"
for target in direct rampart haproxy; do
  u=$(tr ' ' '\n' <<<"${U[$target]}" | grep -v '^$' | median)
  printf "| %s | %.0f us | %s |\n" "$target" "$u" "$([ $target = direct ] && echo - || awk -v a="$u" -v b="$ud" 'BEGIN{printf "%.0f us", a-b}')"
done

# Failover: SIGKILL of backend 2 (nginx master and worker) one second into a
# new-connection-per-request load, ROUNDS rounds alternating between the proxies.
# lb_failover_load records every request and watches the processes exit (pidfd), so it tells
# requests in flight on the dying backend (the kernel may still accept them; they are reset at
# exit, and no TCP proxy may replay a request that went out) from requests sent after it was
# gone, which a proxy can always save by connecting elsewhere.
LOAD=${LOAD:-$HERE/build/bench/lb_failover_load}
echo
echo "### Backend killed -9 under new-connection load (8 client threads, 3 s, kill at 1 s; $ROUNDS rounds, medians)"
echo
echo "| target | requests | failed | of which sent after the backend had exited | last failed request sent | why (per round) |"
echo "| --- | --- | --- | --- | --- | --- |"
declare -A FO
for ((r = 1; r <= ROUNDS; r++)); do
  for target in rampart haproxy; do
    case $target in rampart) port=$RP; host=127.0.0.101;; haproxy) port=$HP; host=127.0.0.102;; esac
    m=$(cat "$WORK/nginx2.pid")
    out=$("$LOAD" --host "$host" --port "$port" --threads 8 --seconds 3 --kill-after-ms 1000 \
      --kill "$m$(pgrep -P "$m" | sed 's/^/,/' | tr -d '\n')")
    echo "round $r failover $target $out" >&2
    rm -f "$WORK/nginx2.pid"
    FO[$target]+="$out"$'\n'
    start_nginx 2 "${B[2]}"
    sleep 1  # both proxies check every 100 ms: the backend is back in well under a second
  done
done
field() { grep -o " $1=[^ ]*" | cut -d= -f2; }
for target in rampart haproxy; do
  lines=$(grep -v '^$' <<<"${FO[$target]}" | sed 's/^/ /')
  req=$(field requests <<<"$lines" | median)
  failed=$(field failed <<<"$lines" | median)
  after=$(field failed_after_exit <<<"$lines" | median)
  last=$(field last_failure_ms <<<"$lines" | grep -v '^-$' | median)
  why=$(field why <<<"$lines" | tr '\n' ' ')
  if [ -n "$last" ]; then last="$last ms after the kill"; else last="no failure"; fi
  echo "| $target | $req | $failed | $after | $last | $why|"
done

# Memory: peak RSS while holding IDLE idle client connections through each proxy.
echo
echo "### Peak RSS with $IDLE idle connections"
echo
echo "| target | RSS before | peak RSS (VmHWM) |"
echo "| --- | --- | --- |"
for target in rampart haproxy; do
  case $target in rampart) host=127.0.0.101; port=$RP; pid=$LBPID;; haproxy) host=127.0.0.102; port=$HP; pid=$HAPID;; esac
  before=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
  python3 - "$host" "$port" "$IDLE" <<'PY'
import socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = []
for i in range(n):
    s = socket.create_connection((host, port), timeout=5)
    socks.append(s)
time.sleep(2)
PY
  hwm=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
  echo "| $target | $((before / 1024)) MB | $((hwm / 1024)) MB |"
done
