#!/usr/bin/env python3
"""Patroni switchover for the harness, with an honest exit code (stdlib only).

    patroni_switchover.py --cluster DIR/cluster.json --leader NAME --candidate NAME

Why not `patronictl switchover --force` directly: Patroni 3.0.2's patronictl prints
"Switchover failed, details: 412, ..." and still exits 0, so a refused switchover would look
like a done one. This does what patronictl does (POST /switchover to the leader's REST API,
which waits until the new leader holds the lock) and exits 1 unless it answered 200.

In synchronous_mode Patroni only switches over to the synchronous standby (412 "candidate name
does not match with sync_standby"). The harness picks any replica; when that is not the sync
standby, this switches over to the sync standby instead and says so on stdout, so the round
measures a switchover Patroni accepts rather than a refused one.
"""
import argparse
import json
import sys
import urllib.error
import urllib.request


def request(rest, path, body=None, timeout=5.0):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://{rest}{path}", data=data,
                                 method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cluster", required=True)
    ap.add_argument("--leader", required=True)
    ap.add_argument("--candidate", required=True)
    ap.add_argument("--timeout", type=float, default=45.0)
    args = ap.parse_args()
    cluster = json.load(open(args.cluster))
    rest = {m["name"]: m["rest"] for m in cluster["members"]}
    if args.leader not in rest or args.candidate not in rest:
        sys.exit(f"unknown member {args.leader!r} or {args.candidate!r}")

    # Patroni's own view: who leads, who is the sync standby. Any member can answer /cluster.
    view = None
    for name in [args.leader] + [n for n in rest if n != args.leader]:
        try:
            status, text = request(rest[name], "/cluster", timeout=2.0)
        except OSError:
            continue
        if status == 200:
            view = json.loads(text)
            break
    if view is None:
        print("no member answers GET /cluster", file=sys.stderr)
        return 1
    roles = {m["name"]: m.get("role") for m in view.get("members", [])}
    sync = sorted(n for n, r in roles.items() if r == "sync_standby")
    candidate = args.candidate
    if sync and candidate not in sync:
        candidate = sync[0]
        print(f"{args.candidate} is not the synchronous standby; switching over to {candidate}, "
              "the only candidate Patroni accepts in synchronous_mode")

    try:
        status, text = request(rest[args.leader], "/switchover",
                               {"leader": args.leader, "candidate": candidate},
                               timeout=args.timeout)
    except OSError as e:
        print(f"POST /switchover to {args.leader}: {e}", file=sys.stderr)
        return 1
    print(f"{status} {text.strip()}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
