"""Memory per key for many small lists: respdb against a real redis-server.

Loads N keys each holding a list of 10 small elements (pipelined RPUSH) into a fresh
server of each kind and compares the growth of VmRSS per key.

    .venv/bin/python benchmarks/lists_memory.py [--keys 100000] [--elements 10] [--size 8]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vs_redis import Servers, command, integer, load_pipelined  # noqa: E402


def load_lists(port: int, nkeys: int, nelems: int, size: int) -> None:
    elems = [(b"e%d-" % j).ljust(size, b"x")[:size] for j in range(nelems)]
    load_pipelined(port, nkeys, lambda k: [b"RPUSH", b"list:%011d" % k, *elems], b":%d\r\n" % nelems)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--keys", type=int, default=100_000)
    p.add_argument("--elements", type=int, default=10)
    p.add_argument("--size", type=int, default=8, help="bytes per element")
    args = p.parse_args()
    exe = shutil.which("redis-server")
    if exe is None:
        print("redis-server not found", file=sys.stderr)
        return 2
    servers = Servers()
    per_key = {}
    try:
        for who in ("redis", "respdb"):
            server = servers.redis(exe) if who == "redis" else servers.respdb()
            time.sleep(0.5)
            before = server.rss()
            t0 = time.monotonic()
            load_lists(server.port, args.keys, args.elements, args.size)
            took = time.monotonic() - t0
            assert integer(command(server.port, b"DBSIZE")) == args.keys
            time.sleep(0.5)
            after = server.rss()
            servers.stop(server)
            per_key[who] = (after - before) / args.keys
            print(f"{who:7} {args.keys} lists x {args.elements} x {args.size} B: "
                  f"RSS +{(after - before) / 2**20:.1f} MiB = {per_key[who]:.0f} B/key (loaded in {took:.1f}s)")  # fmt: skip
    finally:
        servers.stop_all()
    print(f"respdb/redis bytes per key: {per_key['respdb'] / per_key['redis']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
