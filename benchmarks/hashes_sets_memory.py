"""Memory per key for many small hashes and sets: respdb against a real redis-server.

Loads N keys each holding 10 small elements (pipelined HSET / SADD) into a fresh server of each
kind and compares the growth of VmRSS per key. Three shapes: hashes of 10 field/value pairs
(listpack in Redis), sets of 10 short strings (hashtable in Redis 7.0) and sets of 10 small
integers (intset).

    .venv/bin/python benchmarks/hashes_sets_memory.py [--keys 100000] [--kinds hash,set,intset]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vs_redis import Servers, command, integer, load_pipelined  # noqa: E402


def make_command(kind: str, k: int) -> list[bytes]:
    key = b"%s:%011d" % (kind.encode(), k)
    if kind == "hash":
        args = [b"HSET", key]
        for j in range(10):
            args += [b"field:%d" % j, b"value:%d" % (j * 7 + k % 3)]
        return args
    if kind == "set":
        return [b"SADD", key, *[b"member:%d" % (j * 7 + k % 3) for j in range(10)]]
    return [b"SADD", key, *[b"%d" % (j * 1000 + k % 3) for j in range(10)]]


def load(port: int, kind: str, nkeys: int) -> None:
    load_pipelined(port, nkeys, lambda k: make_command(kind, k), b":10\r\n")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--keys", type=int, default=100_000)
    p.add_argument("--kinds", default="hash,set,intset")
    args = p.parse_args()
    exe = shutil.which("redis-server")
    if exe is None:
        print("redis-server not found", file=sys.stderr)
        return 2
    servers = Servers()
    try:
        for kind in args.kinds.split(","):
            per_key = {}
            for who in ("redis", "respdb"):
                server = servers.redis(exe) if who == "redis" else servers.respdb()
                time.sleep(0.5)
                before = server.rss()
                t0 = time.monotonic()
                load(server.port, kind, args.keys)
                took = time.monotonic() - t0
                assert integer(command(server.port, b"DBSIZE")) == args.keys
                encoding = command(server.port, b"OBJECT", b"ENCODING", make_command(kind, 0)[1]).split(b"\r\n")[1]
                time.sleep(0.5)
                after = server.rss()
                servers.stop(server)
                per_key[who] = (after - before) / args.keys
                print(f"{who:7} {args.keys} {kind} keys x 10 ({encoding.decode()}): "
                      f"RSS +{(after - before) / 2**20:.1f} MiB = {per_key[who]:.0f} B/key (loaded in {took:.1f}s)")  # fmt: skip
            print(f"{kind}: respdb/redis bytes per key: {per_key['respdb'] / per_key['redis']:.2f}x")
    finally:
        servers.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
