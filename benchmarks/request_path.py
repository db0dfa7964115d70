"""In-process cost of the request path: N pipelined requests through Engine.execute.

No sockets: this times the engine's own dispatch (lookup, pre-call checks, handler, the
per-request hooks) and nothing else, to see what one more test on that path costs.
--monitor attaches a monitor client first (an embedded one: its lines pile up in memory and
are dropped between batches); --restricted authenticates the client as an ACL user with key
patterns and a command subset, so every request goes through the permission check.

    .venv/bin/python benchmarks/request_path.py [--requests 1000000] [--rounds 5] [--monitor] [--restricted]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from respdb.engine import Engine  # noqa: E402

REQUESTS = (("PING", [b"PING"]), ("GET", [b"GET", b"key:1"]), ("SET", [b"SET", b"key:1", b"value"]))


def run(n: int, rounds: int, monitor: bool, restricted: bool) -> dict[str, float]:
    e = Engine()
    c = e.new_client()
    if restricted:
        rules = [b"ACL", b"SETUSER", b"app", b"on", b"nopass", b"~key:*", b"+get", b"+set", b"+ping"]
        assert e.execute(c, rules) == b"+OK\r\n"
        assert e.execute(c, [b"AUTH", b"app", b"x"]) == b"+OK\r\n"
    e.execute(c, [b"SET", b"key:1", b"value"])
    mon = None
    if monitor:
        mon = e.new_client()
        e.execute(mon, [b"MONITOR"])
    out = {}
    for name, argv in REQUESTS:
        batch = [list(argv) for _ in range(1000)]
        times = []
        for _ in range(rounds):
            execute = e.execute
            t0 = time.perf_counter()
            for _ in range(n // 1000):
                for a in batch:
                    execute(c, a)
                if mon is not None:
                    mon.pushed.clear()
            times.append(time.perf_counter() - t0)
        out[name] = n / statistics.median(times)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--monitor", action="store_true", help="with a MONITOR client attached")
    ap.add_argument("--restricted", action="store_true", help="as an ACL user with key patterns and a command subset")
    args = ap.parse_args()
    for name, rate in run(args.requests, args.rounds, args.monitor, args.restricted).items():
        print("%-5s %10.0f requests/s  (%.0f ns each)" % (name, rate, 1e9 / rate))


if __name__ == "__main__":
    main()
