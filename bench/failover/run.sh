#!/usr/bin/env bash
# PostgreSQL failover: Rampart against Patroni 3.0.2, in the same run, alternating, on loopback.
#
#   bench/failover/run.sh [ROUNDS] [SCENARIOS...]
#
# ROUNDS (default 5) rounds per scenario; SCENARIOS default: kill-postmaster kill-manager freeze
# switchover etcd-member etcd-all. Each round builds a fresh 3-member lab of each system
# (`rampart pg lab up`, bench/failover/patroni_lab.sh up), runs the same harness on it
# (`rampart chaos run --cluster DIR/cluster.json --scenario S --json`) and tears it down. The
# order of the two systems alternates from round to round.
#
# Environment:
#   RAMPART          rampart binary (default <repo>/build/src/rampart)
#   PATRONI_PROFILE  default | fast (see README.md); passed to patroni_lab.sh
#   SYSTEMS          which systems to run (default "rampart patroni")
#   RESULTS          results directory (default /tmp/bench-failover/results-<timestamp>)
#   CHAOS_AFTER      how long the harness writes after the fault (default 45s; 15s with fast)
#   CHAOS_ARGS       extra flags for `rampart chaos run` (e.g. "--rate 200 --freeze 5s")
#   KEEP_LABS=1      keep every lab directory (data included); default: keep only logs
#
# Prints one table per scenario (medians, totals, the Patroni/Rampart ratio of median
# unavailability); the raw JSON results, logs and summary.md stay in RESULTS.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RAMPART=${RAMPART:-$REPO/build/src/rampart}
RAMPART=$(realpath -m "$RAMPART")
export RAMPART
ROUNDS=${1:-5}
shift || true
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -eq 0 ] &&
  SCENARIOS=(kill-postmaster kill-manager freeze switchover etcd-member etcd-all)
read -r -a SYSTEMS <<<"${SYSTEMS:-rampart patroni}"
RESULTS=${RESULTS:-/tmp/bench-failover/results-$(date +%Y%m%d-%H%M%S)}
read -r -a CHAOS_EXTRA <<<"${CHAOS_ARGS:-}"
PATRONI_PROFILE=${PATRONI_PROFILE:-default}
export PATRONI_PROFILE
# How long the harness keeps writing after the fault. Unavailability longer than this is cut off
# at it (and the round fails), so it must exceed Patroni's worst case: a lost leader key expires
# after ttl (30 s by default, 5 s in the fast profile); a crashed postmaster is seen after up to
# loop_wait. The same value applies to both systems.
case "$PATRONI_PROFILE" in
  fast) CHAOS_AFTER=${CHAOS_AFTER:-15s} ;;
  *) CHAOS_AFTER=${CHAOS_AFTER:-45s} ;;
esac

# Bounds (seconds). Patroni's default profile needs ~30 s to bootstrap; a chaos run is at most
# before + fault + after + recovery-timeout (60 s by default) plus its own waits.
UP_TIMEOUT=${UP_TIMEOUT:-150}
CHAOS_TIMEOUT=${CHAOS_TIMEOUT:-300}
DOWN_TIMEOUT=${DOWN_TIMEOUT:-60}

die() { echo "run.sh: $*" >&2; exit 2; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

if ! [[ "$ROUNDS" =~ ^[0-9]+$ ]] || [ "$ROUNDS" -lt 1 ]; then die "ROUNDS must be a positive integer"; fi
[ -x "$RAMPART" ] || die "rampart binary not found at $RAMPART (build it or set RAMPART)"
[ "$(id -u)" -eq 0 ] || die "run as root (the Patroni lab runs PostgreSQL as the postgres user)"
# `rampart X --help` prints the top-level help for an unknown X and exits 0: read the list.
has_command() { "$RAMPART" --help 2>/dev/null | grep -qE "^  $1 "; }
for s in "${SYSTEMS[@]}"; do
  case "$s" in
    rampart) has_command pg || die "$RAMPART has no 'pg' command (rampart pg lab)" ;;
    patroni) command -v patroni >/dev/null || die "patroni missing: run scripts/setup-bench.sh" ;;
    *) die "unknown system '$s' (rampart or patroni)" ;;
  esac
done
has_command chaos || die "$RAMPART has no 'chaos' command"
mkdir -p "$RESULTS/labs" || die "cannot create $RESULTS"

# The lab currently up, so an interrupted run still tears it down.
CURRENT_SYSTEM=""
CURRENT_DIR=""

lab_down() {  # system dir
  case "$1" in
    rampart) timeout -k 5 "$DOWN_TIMEOUT" "$RAMPART" pg lab down --dir "$2" ;;
    patroni) timeout -k 5 "$DOWN_TIMEOUT" "$HERE/patroni_lab.sh" down "$2" ;;
  esac
}

cleanup() {
  if [ -n "$CURRENT_DIR" ]; then
    log "tearing down $CURRENT_SYSTEM lab $CURRENT_DIR"
    lab_down "$CURRENT_SYSTEM" "$CURRENT_DIR" >>"$CURRENT_DIR/down.log" 2>&1 || true
    CURRENT_DIR=""
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# What a round writes when it could not produce a harness result.
error_result() {  # out system scenario message
  python3 - "$@" <<'PY'
import json, sys
out, system, scenario, message = sys.argv[1:5]
json.dump({"scenario": scenario, "kind": system, "verdict": "ERROR", "error": message},
          open(out, "w"))
PY
}

# Data directories are large and worthless once the round is over: keep the logs only.
prune_lab() {  # dir
  [ -n "${KEEP_LABS:-}" ] && return 0
  find "$1" -name PG_VERSION -printf '%h\n' 2>/dev/null | sort -u | while read -r d; do
    case "$d" in "$1"/*) rm -rf "$d" ;; esac
  done
  find "$1" -type d -name '*.data' -prune -exec rm -rf {} + 2>/dev/null || true
}

run_one() {  # system scenario round
  local system=$1 scenario=$2 round=$3
  local dir=$RESULTS/labs/$system-$scenario-$round
  local out=$RESULTS/$system-$scenario-$round.json
  mkdir -p "$dir"
  CURRENT_SYSTEM=$system
  CURRENT_DIR=$dir
  local up_ok=0
  case "$system" in
    rampart)
      timeout -k 5 "$UP_TIMEOUT" "$RAMPART" pg lab up --members 3 --dir "$dir" --json \
        >"$dir/lab-up.json" 2>"$dir/up.log" && mv "$dir/lab-up.json" "$dir/cluster.json" &&
        up_ok=1 ;;
    patroni)
      timeout -k 5 "$UP_TIMEOUT" "$HERE/patroni_lab.sh" up "$dir" >/dev/null 2>"$dir/up.log" &&
        up_ok=1 ;;
  esac
  if [ $up_ok -eq 1 ]; then
    timeout -k 10 "$CHAOS_TIMEOUT" "$RAMPART" chaos run --cluster "$dir/cluster.json" \
      --scenario "$scenario" --json --after "$CHAOS_AFTER" "${CHAOS_EXTRA[@]}" \
      --history "$dir/history.jsonl" \
      >"$out.tmp" 2>"$dir/chaos.log"
    local rc=$?
    if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$out.tmp" 2>/dev/null; then
      mv "$out.tmp" "$out"
    else
      error_result "$out" "$system" "$scenario" "chaos run exited $rc without a result (see $dir/chaos.log)"
      rm -f "$out.tmp"
    fi
  else
    error_result "$out" "$system" "$scenario" "lab up failed (see $dir/up.log)"
  fi
  lab_down "$system" "$dir" >"$dir/down.log" 2>&1 || log "  $system down reported a problem (see $dir/down.log)"
  CURRENT_DIR=""
  prune_lab "$dir"
  python3 - "$out" <<'PY' >&2
import json, sys
r = json.load(open(sys.argv[1]))
if r.get("verdict") == "ERROR":
    print(f"  {r['kind']:8} ERROR: {r['error']}")
else:
    f = lambda k: "-" if r.get(k) is None else r[k]
    print(f"  {r.get('kind'):8} {r.get('verdict')}: unavailable {f('unavailable_ms')} ms, "
          f"longest gap {f('longest_gap_ms')} ms, old primary streaming {f('old_primary_streaming_ms')} ms, "
          f"acked {f('acked')}, lost {f('lost')}, split brain {f('split_brain')}")
PY
}

log "results in $RESULTS; rounds $ROUNDS; scenarios ${SCENARIOS[*]}; Patroni profile $PATRONI_PROFILE"
{
  echo "rampart: $RAMPART ($("$RAMPART" version 2>/dev/null | head -1))"
  echo "patroni: $(patroni --version 2>/dev/null); etcd: $(etcd --version 2>/dev/null | head -1)"
  echo "postgres: $(/usr/lib/postgresql/15/bin/postgres --version)"
  echo "profile: $PATRONI_PROFILE; chaos: --after $CHAOS_AFTER ${CHAOS_ARGS:-}; host: $(nproc) cores"
} >"$RESULTS/setup.txt"

for scenario in "${SCENARIOS[@]}"; do
  for round in $(seq 1 "$ROUNDS"); do
    order=("${SYSTEMS[@]}")
    # Alternate which system goes first, so neither always runs on a warmer (or busier) host.
    if [ ${#SYSTEMS[@]} -eq 2 ] && [ $((round % 2)) -eq 0 ]; then
      order=("${SYSTEMS[1]}" "${SYSTEMS[0]}")
    fi
    log "$scenario round $round/$ROUNDS"
    for system in "${order[@]}"; do
      run_one "$system" "$scenario" "$round"
    done
  done
done

python3 "$HERE/summarize.py" "$RESULTS" | tee "$RESULTS/summary.md"
