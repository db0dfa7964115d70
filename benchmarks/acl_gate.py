"""In-process cost of ACL checks: N pipelined GET and SET through Engine.execute.

The default user (all permissions) must cost nothing per request: its clients are not gated.
With --restricted the client is authenticated as a user with key patterns and a command
subset, so every request goes through the permission check (the price a restricted user pays).

    .venv/bin/python benchmarks/acl_gate.py [--requests 1000000] [--rounds 5] [--restricted]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from respdb.engine import Engine  # noqa: E402


def run(n: int, rounds: int, restricted: bool) -> dict[str, float]:
    e = Engine()
    c = e.new_client()
    if restricted:
        assert e.execute(c, [b"ACL", b"SETUSER", b"app", b"on", b"nopass", b"~key:*", b"+get", b"+set"]) == b"+OK\r\n"
        assert e.execute(c, [b"AUTH", b"app", b"x"]) == b"+OK\r\n"
    e.execute(c, [b"SET", b"key:1", b"value"])
    out = {}
    for name, argv in (("GET", [b"GET", b"key:1"]), ("SET", [b"SET", b"key:1", b"value"])):
        batch = [list(argv) for _ in range(1000)]
        times = []
        for _ in range(rounds):
            execute = e.execute
            t0 = time.perf_counter()
            for _ in range(n // 1000):
                for a in batch:
                    execute(c, a)
            times.append(time.perf_counter() - t0)
        out[name] = n / statistics.median(times)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--restricted", action="store_true")
    args = ap.parse_args()
    res = run(args.requests, args.rounds, args.restricted)
    for name, rate in res.items():
        print("%-4s %10.0f requests/s  (%.0f ns each)" % (name, rate, 1e9 / rate))


if __name__ == "__main__":
    main()
