#!/usr/bin/env bash
# The Patroni side of the failover benchmark: Debian's Patroni 3.0.2 with a 3-member etcd (v3 API)
# and two `rampart lb` virtual IPs, all on 127.0.0.1 with free ports.
#
#   bench/failover/patroni_lab.sh up DIR      start, wait until healthy, write and print DIR/cluster.json
#   bench/failover/patroni_lab.sh down DIR    stop everything `up` started (idempotent)
#
# Environment:
#   RAMPART           rampart binary (etcd lab and lb); default <repo>/build/src/rampart
#   PATRONI_PROFILE   default (ttl 30, loop_wait 10, retry_timeout 10, primary_start_timeout 300)
#                     or fast (ttl 5, loop_wait 1, retry_timeout 2, primary_start_timeout 0); both
#                     with synchronous_mode. README.md says why these are the fastest that work.
#   PATRONI_TTL, PATRONI_LOOP_WAIT, PATRONI_RETRY_TIMEOUT, PATRONI_PRIMARY_START_TIMEOUT
#                     override the profile's values
#   LAB_TIMEOUT       seconds `up` waits for a leader, two streaming replicas and both VIPs (90)
#
# Layout of DIR: etcd/ (rampart etcd up), p1..p3/{patroni.yml,patroni.log,data,pgpass},
# lb-write.yml, lb-read.yml, lb-*.log, lab.pids (every process started, for `down`),
# cluster.json (the harness's input; it may rewrite manager_pid after restarting a member).
#
# Patroni runs as `postgres` (PostgreSQL refuses root). It is started with setpriv, which execs in
# place, so the recorded PID is Patroni itself: a SIGKILL/SIGSTOP from the harness reaches Patroni,
# not a runuser wrapper. Patroni starts each postmaster in a session of its own, so `down` finds
# the postmasters through DIR/pN/data/postmaster.pid. Nothing is signalled by a generic name: only
# recorded PIDs whose command line still names this lab, and PostgreSQL children titled with this
# lab's unique scope (left behind when the harness SIGKILLs a postmaster).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RAMPART=${RAMPART:-$REPO/build/src/rampart}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
LAB_TIMEOUT=${LAB_TIMEOUT:-90}
MEMBERS=(p1 p2 p3)

die() { echo "patroni_lab: $*" >&2; exit 2; }
log() { echo "patroni_lab: $*" >&2; }

usage() { die "usage: $0 up|down DIR"; }

# ---------------------------------------------------------------------------------------------
# down. A PID is signalled only while /proc/PID/cmdline contains its recorded marker (a path or
# name unique to this lab), so a PID recycled by some other process is never touched. Signals go
# to a whole phase at once, then the phase waits (bounded) and SIGKILLs what is left.

lab_down() {
  local dir=$1
  [ -d "$dir" ] || { log "no lab in $dir"; return 0; }
  python3 - "$dir" <<'PY'
import json, os, signal, sys, time
d = sys.argv[1]

def log(msg):
    print("patroni_lab: " + msg, file=sys.stderr)

def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None

def alive(pid, marker):
    c = cmdline(pid)
    return c is not None and marker in c

def stat_field(pid, i):  # fields after "(comm)": 0 = state, 1 = ppid, 2 = pgrp
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[i]
    except (OSError, IndexError):
        return None

def send(pid, sig):
    # A process that leads its own group (started with setsid) takes its group with it:
    # children such as pg_ctl, pg_rewind or pg_basebackup.
    target = -pid if stat_field(pid, 2) == str(pid) else pid
    for s in (sig, signal.SIGCONT):  # SIGCONT: a frozen process must act on the signal
        try:
            os.kill(target, s)
        except ProcessLookupError:
            pass

def phase(name, entries, sig, grace):
    started = time.monotonic()
    todo = [(p, m) for p, m in entries if p > 1 and alive(p, m)]
    if os.environ.get("LAB_DEBUG"):
        log(f"{name}: {len(todo)} alive at +{started - T0:.2f}s")
    for p, _ in todo:
        send(p, sig)
    deadline = time.monotonic() + grace
    while todo and time.monotonic() < deadline:
        time.sleep(0.05)
        todo = [(p, m) for p, m in todo if alive(p, m) and stat_field(p, 0) != "Z"]
    for p, _ in todo:
        send(p, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while todo and time.monotonic() < deadline:
        time.sleep(0.05)
        todo = [(p, m) for p, m in todo if alive(p, m) and stat_field(p, 0) != "Z"]
    for p, _ in todo:
        log(f"{name} pid {p} survived SIGKILL")

T0 = time.monotonic()
recorded = []  # (kind, name, pid, marker)
if os.path.exists(f"{d}/lab.pids"):
    for line in open(f"{d}/lab.pids"):
        kind, name, pid, marker = line.split(maxsplit=3)
        recorded.append((kind, name, int(pid), marker.strip()))
# The harness rewrites manager_pid (and may restart etcd members) in cluster.json.
for path, key in ((f"{d}/cluster.json", "members"), (f"{d}/cluster.json", "etcd"),
                  (f"{d}/etcd/cluster.json", "members")):
    try:
        doc = json.load(open(path))
    except (OSError, ValueError):
        continue
    for m in doc.get(key, []):
        if key == "members" and "manager_pid" in m:
            recorded.append(("patroni", m["name"], int(m["manager_pid"]),
                             f"{d}/{m['name']}/patroni.yml"))
        elif m.get("pid"):
            recorded.append(("etcd", m["name"], int(m["pid"]),
                             m.get("data_dir") or f"{d}/etcd/{m['name']}.data"))

def of(kind):
    return sorted({(p, m) for k, _, p, m in recorded if k == kind})

scope = next((m for k, _, _, m in recorded if k == "scope"), None)
members = sorted(e for e in os.listdir(d) if os.path.exists(f"{d}/{e}/patroni.yml"))

def postmasters():
    out = []
    for m in members:
        data = f"{d}/{m}/data"
        try:
            pid = int(open(f"{data}/postmaster.pid").readline())
        except (OSError, ValueError):
            continue
        out.append((pid, data))
    return out

def orphans():
    # PostgreSQL children call setsid(), so a killed postmaster's children are found by the
    # cluster_name in their title, which is this lab's unique Patroni scope.
    if not scope:
        return []
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            c = cmdline(int(e))
            if c and c.startswith(f"postgres: {scope}:"):
                out.append((int(e), f"postgres: {scope}:"))
    return out

phase("lb", of("lb"), signal.SIGTERM, 3)           # the VIPs first: no traffic during teardown
phase("patroni", of("patroni"), signal.SIGKILL, 0)  # no graceful stop: the lab is thrown away
phase("postgres", postmasters(), signal.SIGQUIT, 5) # immediate shutdown, children included
deadline = time.monotonic() + 5                      # orphans of a killed postmaster exit alone
while orphans() and time.monotonic() < deadline:
    time.sleep(0.1)
phase("postgres child", orphans(), signal.SIGKILL, 0)
phase("etcd", of("etcd"), signal.SIGKILL, 0)        # likewise; SIGTERM waits for leader transfer

left = [f"{k} {n} pid {p}" for k, n, p, m in recorded if k != "scope" and alive(p, m)]
left += [f"postmaster pid {p}" for p, m in postmasters() if alive(p, m)]
left += [f"postgres child pid {p}" for p, _ in orphans()]
if left:
    log("still running: " + ", ".join(left))
    sys.exit(1)
log(f"down: {d} stopped")
PY
}

# ---------------------------------------------------------------------------------------------

record() {  # kind name pid marker
  echo "$1 $2 $3 $4" >>"$DIR/lab.pids"
}

# Start a command detached: own session, stdin from /dev/null, output to a log. Prints the PID.
spawn_detached() {  # log_file command...
  local logf=$1; shift
  setsid nohup "$@" </dev/null >>"$logf" 2>&1 &
  echo $!
}

up_failed() {
  local m
  for m in "${MEMBERS[@]}"; do
    if [ -f "$DIR/$m/patroni.log" ]; then
      echo "--- $DIR/$m/patroni.log (tail) ---" >&2
      grep -v "Watchdog not supported" "$DIR/$m/patroni.log" | tail -n 5 >&2
    fi
  done
  log "up failed; stopping the partial lab"
  lab_down "$DIR" || true
}

lab_up() {
  [ -x "$RAMPART" ] || die "rampart binary not found at $RAMPART (set RAMPART=...)"
  command -v patroni >/dev/null || die "patroni not installed (scripts/setup-bench.sh)"
  [ -x "$PG_BIN/postgres" ] || die "PostgreSQL 15 not found in $PG_BIN"
  id postgres >/dev/null 2>&1 || die "no postgres user"
  [ "$(id -u)" -eq 0 ] || die "must run as root (Patroni is started as the postgres user)"

  local profile=${PATRONI_PROFILE:-default}
  local ttl loop_wait retry_timeout primary_start_timeout
  case "$profile" in
    default) ttl=30; loop_wait=10; retry_timeout=10; primary_start_timeout=300 ;;
    fast) ttl=5; loop_wait=1; retry_timeout=2; primary_start_timeout=0 ;;
    *) die "PATRONI_PROFILE must be default or fast, got '$profile'" ;;
  esac
  ttl=${PATRONI_TTL:-$ttl}
  loop_wait=${PATRONI_LOOP_WAIT:-$loop_wait}
  retry_timeout=${PATRONI_RETRY_TIMEOUT:-$retry_timeout}
  primary_start_timeout=${PATRONI_PRIMARY_START_TIMEOUT:-$primary_start_timeout}
  [ $((loop_wait + 2 * retry_timeout)) -le "$ttl" ] ||
    die "loop_wait + 2*retry_timeout must be <= ttl ($loop_wait + 2*$retry_timeout > $ttl)"

  if [ -f "$DIR/lab.pids" ]; then
    while read -r kind name pid marker; do
      if [ "$pid" -gt 1 ] && [ -r "/proc/$pid/cmdline" ] &&
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"; then
        die "a lab is already running in $DIR ($kind $name pid $pid); run down first"
      fi
    done <"$DIR/lab.pids"
  fi
  for m in "${MEMBERS[@]}"; do
    [ ! -e "$DIR/$m/data" ] || die "$DIR holds an earlier lab's data ($DIR/$m/data); use a fresh directory"
  done
  rm -f "$DIR/lab.pids" "$DIR/cluster.json"
  # The postgres user must reach DIR/pN: DIR and its parents need o+x.
  chmod 755 "$DIR"
  local d=$DIR
  while [ "$d" != / ]; do
    runuser -u postgres -- test -x "$d" || die "$d is not searchable by the postgres user"
    d=$(dirname "$d")
  done

  # On any failure below: show the end of each member's log, stop what we started.
  # shellcheck disable=SC2154
  trap 'rc=$?; if [ $rc -ne 0 ]; then up_failed; fi' EXIT

  # Free ports (3 PostgreSQL, 3 REST, 2 VIPs, 2 lb admin), the scope and two passwords, in one
  # interpreter start: on a loaded 2-core host each python3 start costs seconds.
  local values
  read -r -a values < <(python3 - <<'PY'
import secrets, socket
socks = []
for _ in range(10):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks), "pbench-" + secrets.token_hex(4),
      secrets.token_hex(12), secrets.token_hex(12))
PY
  )
  local ports=("${values[@]:0:10}")
  local pg_ports=("${ports[@]:0:3}") rest_ports=("${ports[@]:3:3}")
  local write_vip=127.0.0.1:${ports[6]} read_vip=127.0.0.1:${ports[7]}
  local scope=${values[10]} password=${values[11]} repl_password=${values[12]}
  record scope "$scope" 0 "$scope"

  # etcd: three members, lab timing (heartbeat 10 ms, election 100 ms).
  "$RAMPART" etcd up --members 3 --dir "$DIR/etcd" >"$DIR/etcd-up.log" 2>&1 ||
    { cat "$DIR/etcd-up.log" >&2; die "etcd did not start"; }
  local etcd_hosts
  etcd_hosts=$(python3 - "$DIR/etcd/cluster.json" "$DIR/lab.pids" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
with open(sys.argv[2], "a") as pids:
    for m in c["members"]:
        pids.write(f"etcd {m['name']} {m['pid']} {m['data_dir']}\n")
print(",".join(m["client_url"].replace("http://", "") for m in c["members"]))
PY
  )

  local socket_base=$DIR
  # A Unix socket path is limited to 107 bytes: fall back to /tmp for deep lab directories.
  [ ${#DIR} -gt 80 ] && socket_base=/tmp
  local i name
  for i in 0 1 2; do
    name=${MEMBERS[$i]}
    mkdir -p "$DIR/$name"
    local sockdir=$DIR/$name
    [ "$socket_base" = /tmp ] && sockdir=/tmp
    cat >"$DIR/$name/patroni.yml" <<YAML
# Generated by bench/failover/patroni_lab.sh (profile $profile).
scope: $scope
name: $name
log:
  level: INFO
restapi:
  listen: 127.0.0.1:${rest_ports[$i]}
  connect_address: 127.0.0.1:${rest_ports[$i]}
etcd3:
  hosts: $etcd_hosts
  protocol: http
bootstrap:
  dcs:
    ttl: $ttl
    loop_wait: $loop_wait
    retry_timeout: $retry_timeout
    primary_start_timeout: $primary_start_timeout
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 128MB
  initdb:
    - encoding: UTF8
    - auth-local: trust
postgresql:
  listen: 127.0.0.1:${pg_ports[$i]}
  connect_address: 127.0.0.1:${pg_ports[$i]}
  data_dir: $DIR/$name/data
  bin_dir: $PG_BIN
  pgpass: $DIR/$name/pgpass
  use_pg_rewind: true
  authentication:
    superuser:
      username: postgres
      password: $password
    replication:
      username: replicator
      password: $repl_password
  parameters:
    unix_socket_directories: '$sockdir'
    max_connections: 100
    shared_buffers: 32MB
    logging_collector: "on"
    log_directory: $DIR/$name/pglog
    log_filename: postgresql.log
    log_line_prefix: '%m [%p] '
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
watchdog:
  mode: "off"  # no /dev/watchdog on this host; quoted: a bare off is YAML's false
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
YAML
    chown -R postgres:postgres "$DIR/$name"
    chmod 700 "$DIR/$name"
  done

  local start_prefix=(setpriv --reuid=postgres --regid=postgres --init-groups --reset-env)
  local pids=()
  for i in 0 1 2; do
    name=${MEMBERS[$i]}
    local pid
    pid=$(spawn_detached "$DIR/$name/patroni.log" "${start_prefix[@]}" patroni "$DIR/$name/patroni.yml")
    record patroni "$name" "$pid" "$DIR/$name/patroni.yml"
    pids+=("$pid")
  done

  # The VIPs: user-space rampart lb, health-checking each member's Patroni REST (check_port)
  # while relaying to its PostgreSQL port.
  local vip role listen admin
  for vip in write read; do
    if [ $vip = write ]; then role=primary; listen=$write_vip; admin=${ports[8]}; else
      role=replica; listen=$read_vip; admin=${ports[9]}; fi
    {
      echo "# Generated by bench/failover/patroni_lab.sh: the $vip VIP."
      echo "mode: user"
      echo "admin: { listen: 127.0.0.1:$admin }"
      echo "workers: 1"
      echo "virtual_servers:"
      echo "  - name: $vip"
      echo "    listen: $listen"
      echo "    policy: round-robin"
      echo "    connect_timeout: 500ms"
      echo "    on_down: close"
      echo "    health:"
      echo "      type: http"
      echo "      path: /$role"
      echo "      status: \"200\""
      echo "      interval: 100ms"
      echo "      timeout: 500ms"
      echo "      rise: 1"
      echo "      fall: 1"
      echo "      initial_state: down"
      echo "    backends:"
      for i in 0 1 2; do
        echo "      - { address: 127.0.0.1:${pg_ports[$i]}, check_port: ${rest_ports[$i]} }"
      done
    } >"$DIR/lb-$vip.yml"
    local pid
    pid=$(spawn_detached "$DIR/lb-$vip.log" "$RAMPART" lb -c "$DIR/lb-$vip.yml")
    record lb "$vip" "$pid" "$DIR/lb-$vip.yml"
  done

  # Wait for: one leader with /primary 200, two replicas streaming (one synchronous), and both
  # VIPs answering with the right role.
  python3 - "$DIR" "$LAB_TIMEOUT" "$password" "$write_vip" "$read_vip" "${rest_ports[@]}" "${pg_ports[@]}" <<'PY' || die "the lab did not become healthy within ${LAB_TIMEOUT}s (logs in $DIR)"
import json, os, subprocess, sys, time, urllib.request, urllib.error
d, timeout, password, write_vip, read_vip = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
rest = sys.argv[6:9]; pg = sys.argv[9:12]
deadline = time.monotonic() + timeout
env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="2")

def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except Exception as e:
        return None, str(e).encode()

def sql(hostport, query):
    host, port = hostport.rsplit(":", 1)
    r = subprocess.run(["psql", "-h", host, "-p", port, "-U", "postgres", "-d", "postgres",
                        "-AtXq", "-c", query], env=env, capture_output=True, text=True, timeout=5)
    return r.stdout.strip() if r.returncode == 0 else None

last = "nothing yet"
while time.monotonic() < deadline:
    try:
        leaders = [i for i in range(3) if get(rest[i], "/primary")[0] == 200]
        if len(leaders) != 1:
            last = f"members answering /primary: {len(leaders)}"; time.sleep(0.5); continue
        lp = pg[leaders[0]]
        rep = sql(f"127.0.0.1:{lp}", "select count(*) filter (where state = 'streaming'), "
                  "count(*) filter (where sync_state = 'sync') from pg_stat_replication")
        if rep != "2|1":
            last = f"replication on the leader (streaming|sync): {rep}"; time.sleep(0.5); continue
        replicas = [i for i in range(3) if get(rest[i], "/replica")[0] == 200]
        if len(replicas) != 2:
            last = f"members answering /replica: {len(replicas)}"; time.sleep(0.5); continue
        w = sql(write_vip, "select pg_is_in_recovery()")
        r = sql(read_vip, "select pg_is_in_recovery()")
        if w != "f" or r != "t":
            last = f"VIPs: write -> {w}, read -> {r}"; time.sleep(0.3); continue
        sys.exit(0)
    except subprocess.TimeoutExpired:
        last = "psql timed out"
print("patroni_lab: not healthy: " + last, file=sys.stderr)
sys.exit(1)
PY

  # The harness's input. manager_pid is Patroni's own PID (setpriv execs in place).
  python3 - "$DIR" "$write_vip" "$read_vip" "$password" "$profile" "$ttl" "$loop_wait" \
      "$retry_timeout" "${pg_ports[*]}" "${rest_ports[*]}" "${pids[*]}" "$HERE" "$primary_start_timeout" \
      <<'PY' >"$DIR/cluster.json.tmp"
import json, sys
(d, write_vip, read_vip, password, profile, ttl, loop_wait, retry_timeout,
 pg, rest, pids, here, primary_start_timeout) = sys.argv[1:14]
pg, rest, pids = pg.split(), rest.split(), pids.split()
names = ["p1", "p2", "p3"]
start = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--reset-env"]
members = []
for i, n in enumerate(names):
    members.append({
        "name": n, "host": "127.0.0.1", "port": int(pg[i]), "data_dir": f"{d}/{n}/data",
        "manager_pid": int(pids[i]), "rest": f"127.0.0.1:{rest[i]}",
        "start_command": start + ["patroni", f"{d}/{n}/patroni.yml"],
        "log_file": f"{d}/{n}/patroni.log"})
etcd_state = json.load(open(f"{d}/etcd/cluster.json"))
etcd = []
for m in etcd_state["members"]:
    cmd = open(f"/proc/{m['pid']}/cmdline").read().split("\0")[:-1]
    etcd.append({"name": m["name"], "pid": m["pid"],
                 "client": m["client_url"].replace("http://", ""),
                 "data_dir": m["data_dir"], "log_file": m["log_file"],
                 # With an existing data dir etcd ignores the --initial-* flags: this restarts
                 # the member as it was.
                 "start_command": cmd})
out = {
    "kind": "patroni", "dir": d, "members": members, "etcd": etcd,
    "write_vip": write_vip, "read_vip": read_vip,
    "user": "postgres", "password": password, "database": "postgres",
    # patronictl 3.0.2 exits 0 when the switchover is refused: the wrapper reports it.
    "switchover_command": ["python3", f"{here}/patroni_switchover.py", "--cluster",
                           f"{d}/cluster.json", "--leader", "{leader}", "--candidate", "{candidate}"],
    "profile": profile,
    "settings": {"ttl": int(ttl), "loop_wait": int(loop_wait),
                 "retry_timeout": int(retry_timeout),
                 "primary_start_timeout": int(primary_start_timeout), "synchronous_mode": True},
}
print(json.dumps(out, indent=2))
PY
  mv "$DIR/cluster.json.tmp" "$DIR/cluster.json"
  trap - EXIT
  cat "$DIR/cluster.json"
}

# ---------------------------------------------------------------------------------------------

[ $# -eq 2 ] || usage
cmd=$1
case "$2" in /*) DIR=$2 ;; *) DIR=$PWD/$2 ;; esac
DIR=${DIR%/}
case "$cmd" in
  up) mkdir -p "$DIR"; lab_up ;;
  down) lab_down "$DIR" ;;
  *) usage ;;
esac
