"""In-process cost of a pipelined batch through the network layer, per request.

What one read of N pipelined requests costs respdb's Python side: RespProtocol.data_received
(parse, execute or execute_run, hold) and the end-of-iteration flush, with a transport that
only counts bytes. No sockets and no kernel: this isolates the part of `redis-benchmark -P N`
that respdb's code controls. `--keys` sets how many keys the database holds and the requests
pick from at random (redis-benchmark's -r): over a million keys, memory latency dominates.

    .venv/bin/python benchmarks/batch_path.py [--pipeline 16] [--keys 1000] [--tests get,set,...]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvloop  # noqa: E402

from respdb.engine import Engine  # noqa: E402
from respdb.net import NetShared, RespProtocol  # noqa: E402

BATCHES = 2000  # distinct batches, cycled (random keys differ from batch to batch)


def encode(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


# redis-benchmark's commands; {k} is a random key number
TESTS = {
    "ping": lambda k: encode(b"PING"),
    "get": lambda k: encode(b"GET", b"key:%012d" % k),
    "set": lambda k: encode(b"SET", b"key:%012d" % k, b"xxx"),
    "incr": lambda k: encode(b"INCR", b"counter:%012d" % k),
    "lpush": lambda k: encode(b"LPUSH", b"mylist", b"xxx"),
    "lpop": lambda k: encode(b"LPOP", b"mylist"),
    "sadd": lambda k: encode(b"SADD", b"myset", b"element:%012d" % k),
    "hset": lambda k: encode(b"HSET", b"myhash", b"element:%012d" % k, b"xxx"),
}


class CountingTransport:
    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self.bytes += len(data)

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str) -> Any:
        return None

    def set_write_buffer_limits(self, high: int) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


class Shared(NetShared):
    """The end-of-iteration flush is called by the loop below, not scheduled."""

    __slots__ = ()

    def schedule(self) -> None:
        pass


async def run(args: argparse.Namespace) -> None:
    e = Engine()
    shared = Shared(e)
    conn = RespProtocol(e, shared)
    conn.connection_made(CountingTransport())
    for i in range(args.keys):
        e.execute(conn.client, [b"SET", b"key:%012d" % i, b"xxx"])
    rnd = random.Random(1)
    for name in args.tests.split(","):
        make = TESTS[name]
        batches = [b"".join(make(rnd.randrange(args.keys)) for _ in range(args.pipeline)) for _ in range(BATCHES)]
        times = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            for data in batches:
                conn.data_received(data)
                shared.flush_all()
            times.append(time.perf_counter() - t0)
        ns = statistics.median(times) / (BATCHES * args.pipeline) * 1e9
        print("%-6s %6.0f ns per request  (pipeline %d, %d keys)" % (name, ns, args.pipeline, args.keys))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--tests", default=",".join(TESTS))
    args = ap.parse_args()
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
