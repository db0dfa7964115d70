"""The floor: the least a Python RESP server can do for redis-benchmark's traffic, for comparison.

hiredis to parse, a dict as the keyspace, uvloop, one write per read; no statistics, expiry,
access times, type checks or error handling. It answers only SET, GET, INCR, MSET, LPUSH, RPUSH,
LPOP, RPOP, LRANGE, SADD, HSET, ZADD (score/member pairs, no flags), PING and CONFIG (always an
empty array), and only in the forms redis-benchmark sends (`-t set,get,incr,mset,lpush,rpush,lpop,
rpop,sadd,hset,lrange_100` and `ZADD myzset __rand_int__ element:__rand_int__`).
It is not respdb and not correct for anything else: it shows how much of respdb's per-request
time is the full server's work and how much is Python and the kernel.

    .venv/bin/python benchmarks/minimal_server.py 7713 &
    redis-benchmark -p 7713 -t set,get -n 400000 -P 16 -c 50 -r 1000000 -q
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from itertools import islice
from typing import Any

import hiredis
import uvloop
from sortedcontainers import SortedList

# values: bytes (string), deque (list, of elements kept as RESP bulks, as respdb keeps them, so
# that LRANGE and the pops only join and hand out), set, dict (hash) or ZSet
data: dict[bytes, Any] = {}
OK = b"+OK\r\n"
NULL = b"$-1\r\n"


class ZSet:
    __slots__ = ("scores", "order")

    def __init__(self) -> None:
        self.scores: dict[bytes, float] = {}
        self.order = SortedList()  # (score, member)


def bulk(v: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(v), v)


def cmd_set(a: list[bytes]) -> bytes:
    data[a[1]] = a[2]
    return OK


def cmd_get(a: list[bytes]) -> bytes:
    v = data.get(a[1])
    return NULL if v is None else bulk(v)


def cmd_incr(a: list[bytes]) -> bytes:
    v = int(data.get(a[1], b"0")) + 1
    data[a[1]] = b"%d" % v
    return b":%d\r\n" % v


def cmd_mset(a: list[bytes]) -> bytes:
    for i in range(1, len(a), 2):
        data[a[i]] = a[i + 1]
    return OK


def push(a: list[bytes], left: bool) -> bytes:
    lst = data.get(a[1])
    if lst is None:
        lst = data[a[1]] = deque()
    add = lst.appendleft if left else lst.append
    for v in a[2:]:
        add(b"$%d\r\n%b\r\n" % (len(v), v))
    return b":%d\r\n" % len(lst)


def pop(a: list[bytes], left: bool) -> bytes:
    lst = data.get(a[1])
    if not lst:
        return NULL
    v = lst.popleft() if left else lst.pop()
    if not lst:
        del data[a[1]]
    return v


def cmd_lrange(a: list[bytes]) -> bytes:
    lst = data.get(a[1]) or ()
    n = len(lst)
    start, end = int(a[2]), int(a[3])
    if start < 0:
        start = max(start + n, 0)
    if end < 0:
        end += n
    end = min(end, n - 1)
    if start > end:
        return b"*0\r\n"
    return b"*%d\r\n" % (end - start + 1) + b"".join(islice(lst, start, end + 1))


def cmd_sadd(a: list[bytes]) -> bytes:
    s = data.get(a[1])
    if s is None:
        s = data[a[1]] = set()
    n = len(s)
    s.update(a[2:])
    return b":%d\r\n" % (len(s) - n)


def cmd_hset(a: list[bytes]) -> bytes:
    h = data.get(a[1])
    if h is None:
        h = data[a[1]] = {}
    n = len(h)
    for i in range(2, len(a), 2):
        h[a[i]] = a[i + 1]
    return b":%d\r\n" % (len(h) - n)


def cmd_zadd(a: list[bytes]) -> bytes:
    z = data.get(a[1])
    if z is None:
        z = data[a[1]] = ZSet()
    added = 0
    for i in range(2, len(a), 2):
        score, member = float(a[i]), a[i + 1]
        old = z.scores.get(member)
        if old is None:
            added += 1
        elif old == score:
            continue
        else:
            z.order.remove((old, member))
        z.scores[member] = score
        z.order.add((score, member))
    return b":%d\r\n" % added


HANDLERS = {
    b"SET": cmd_set,
    b"GET": cmd_get,
    b"INCR": cmd_incr,
    b"MSET": cmd_mset,
    b"LPUSH": lambda a: push(a, True),
    b"RPUSH": lambda a: push(a, False),
    b"LPOP": lambda a: pop(a, True),
    b"RPOP": lambda a: pop(a, False),
    b"LRANGE": cmd_lrange,
    b"SADD": cmd_sadd,
    b"HSET": cmd_hset,
    b"ZADD": cmd_zadd,
    b"PING": lambda a: b"+PONG\r\n",
    b"CONFIG": lambda a: b"*0\r\n",  # redis-benchmark asks for the save/appendonly settings
}


class Minimal(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.reader = hiredis.Reader()

    def data_received(self, chunk: bytes) -> None:
        reader = self.reader
        reader.feed(chunk)
        out = []
        while (req := reader.gets()) is not False:
            out.append(HANDLERS[req[0].upper()](req))
        self.transport.write(b"".join(out))


async def main(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Minimal, "127.0.0.1", port)
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 7713))
