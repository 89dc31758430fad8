#!/usr/bin/env bash
# Runs libFuzzer harnesses built by `make fuzz` (build-fuzz/fuzz/<name>_fuzz) on their corpus.
#   scripts/fuzz.sh BUILD_DIR NAME...
# Each harness runs for FUZZ_TIME seconds (default 20), or FUZZ_RUNS executions when that is
# set (the documented long run: FUZZ_RUNS=10000000). New inputs go to BUILD_DIR/fuzz-corpus/NAME
# (the committed seeds in fuzz/corpus/NAME are only read); a crash, a leak, undefined behaviour,
# an input running over 10 s, or more than 2 GB of memory fails the run and leaves the input in
# BUILD_DIR/fuzz-artifacts/ (reproduce: BUILD_DIR/fuzz/NAME_fuzz <file>).
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1
shift
limit=(-max_total_time="${FUZZ_TIME:-20}")
if [ -n "${FUZZ_RUNS:-}" ]; then
  limit=(-runs="$FUZZ_RUNS")
fi
mkdir -p "$build/fuzz-artifacts"
status=0
for name in "$@"; do
  mkdir -p "$build/fuzz-corpus/$name"
  echo "fuzz: $name (${limit[*]})"
  start=$(date +%s)
  if ! "$build/fuzz/${name}_fuzz" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
      -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/${name}-" \
      "$build/fuzz-corpus/$name" "fuzz/corpus/$name" >"$build/fuzz-$name.log" 2>&1; then
    status=1
    echo "fuzz: $name FAILED; the end of $build/fuzz-$name.log:"
    tail -n 60 "$build/fuzz-$name.log"
    continue
  fi
  # The last status line: executions, coverage, features; the final stats: exec/s.
  grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$build/fuzz-$name.log" | tail -n 1 || true
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
    "$build/fuzz-$name.log" || true
  echo "fuzz: $name ok in $(($(date +%s) - start)) s"
done
exit $status
