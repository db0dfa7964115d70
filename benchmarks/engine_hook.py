"""In-process cost of the request path: N pipelined PING and GET through Engine.execute.

No sockets: this times the engine's own dispatch (lookup, checks, handler, the per-request
hooks) and nothing else, to see what one more test on that path costs. With --monitor a
monitor client is attached first (an embedded one: its lines pile up in memory).

    .venv/bin/python benchmarks/engine_hook.py [--requests 1000000] [--rounds 5] [--monitor]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from respdb.engine import Engine  # noqa: E402


def run(n: int, rounds: int, with_monitor: bool) -> dict[str, float]:
    e = Engine()
    c = e.new_client()
    e.execute(c, [b"SET", b"key:1", b"value"])
    mon = None
    if with_monitor:
        mon = e.new_client()
        e.execute(mon, [b"MONITOR"])
    out = {}
    for name, argv in (("PING", [b"PING"]), ("GET", [b"GET", b"key:1"])):
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
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--monitor", action="store_true")
    args = ap.parse_args()
    res = run(args.requests, args.rounds, args.monitor)
    for name, rate in res.items():
        print("%-5s %10.0f requests/s  (%.0f ns each)" % (name, rate, 1e9 / rate))


if __name__ == "__main__":
    main()
