#!/usr/bin/env python3
"""Tables from a bench/failover/run.sh results directory (stdlib only).

    python3 bench/failover/summarize.py RESULTS_DIR

Reads every <system>-<scenario>-<round>.json written by run.sh (one `rampart chaos run --json`
result each, or an ERROR record when a lab or the harness failed) and prints, per scenario, one
Markdown table: medians of unavailable_ms, longest_gap_ms and old_primary_streaming_ms, totals of
lost writes and split-brain pairs, verdict counts, and the Patroni/Rampart ratio of the median
unavailability.
"""
import glob
import json
import os
import statistics
import sys

SYSTEMS = ("rampart", "patroni")


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def old_primary(r):
    faults = r.get("faults") or []
    return faults[0].get("old_primary") if faults else None


def fmt(v):
    if v is None:
        return "-"
    return f"{v:.0f}" if isinstance(v, float) else str(v)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: summarize.py RESULTS_DIR")
    results = {}  # scenario -> system -> [result]
    order = []
    for path in sorted(glob.glob(os.path.join(sys.argv[1], "*-*-*.json"))):
        try:
            r = json.load(open(path))
        except (OSError, ValueError):
            continue
        system = os.path.basename(path).split("-", 1)[0]
        scenario = r.get("scenario") or "?"
        if scenario not in order:
            order.append(scenario)
        results.setdefault(scenario, {}).setdefault(system, []).append(r)
    if not results:
        sys.exit("no results in " + sys.argv[1])
    setup = os.path.join(sys.argv[1], "setup.txt")
    if os.path.exists(setup):
        print("```\n" + open(setup).read().rstrip() + "\n```\n")
    for scenario in order:
        print(f"### {scenario}\n")
        print("| system | rounds | PASS/FAIL/ERROR | unavailable ms (median) | longest gap ms (median) "
              "| old primary streaming ms (median) | lost (total) | split brain (total) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        medians = {}
        for system in SYSTEMS + tuple(s for s in results[scenario] if s not in SYSTEMS):
            rs = results[scenario].get(system)
            if not rs:
                continue
            ok = [r for r in rs if r.get("verdict") in ("PASS", "FAIL")]
            counts = "/".join(str(sum(r.get("verdict") == v for r in rs))
                              for v in ("PASS", "FAIL", "ERROR"))
            unavailable = median(r.get("unavailable_ms") for r in ok)
            medians[system] = unavailable
            # No figure either when the old primary simply stayed primary (restarted in place).
            stayed = sum(1 for r in ok if r.get("old_primary_streaming_ms") is None
                         and r.get("final_primary") is not None
                         and r.get("final_primary") == old_primary(r))
            never = sum(1 for r in ok if r.get("old_primary_streaming_ms") is None) - stayed
            streaming = fmt(median(r.get("old_primary_streaming_ms") for r in ok))
            # The harness does not measure the rejoin after etcd faults (the primary may stay).
            if scenario.startswith("etcd-") and never:
                notes = [f"{never} not measured"]
            else:
                notes = [f"{never} never"] if never else []
            notes += [f"{stayed} stayed primary"] if stayed else []
            if notes:
                streaming += " (" + ", ".join(notes) + ")"
            print(f"| {system} | {len(rs)} | {counts} | {fmt(unavailable)} "
                  f"| {fmt(median(r.get('longest_gap_ms') for r in ok))} | {streaming} "
                  f"| {sum(r.get('lost') or 0 for r in ok)} "
                  f"| {sum(r.get('split_brain') or 0 for r in ok)} |")
        for system, rs in sorted(results[scenario].items()):
            for i, r in enumerate(rs, 1):
                if r.get("verdict") == "ERROR":
                    print(f"- {system} round {i}: ERROR {r.get('error')}")
                elif r.get("verdict") == "FAIL":
                    print(f"- {system} round {i}: FAIL {'; '.join(r.get('problems') or [])[:300]}")
        r_med, p_med = medians.get("rampart"), medians.get("patroni")
        if r_med and p_med is not None:
            print(f"\nPatroni/Rampart, median unavailability: {p_med / r_med:.1f}x")
        elif r_med == 0 and p_med is not None:
            print("\nPatroni/Rampart, median unavailability: Rampart 0 ms")
        print()


if __name__ == "__main__":
    main()
