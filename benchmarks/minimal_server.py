"""The floor: the least a Python RESP server can do for SET/GET/INCR/MSET, for comparison.

hiredis to parse, a dict as the keyspace, uvloop, one write per read; no statistics, expiry,
access times, checks or error handling. It is not respdb and not correct for anything but
redis-benchmark's own SET/GET/INCR/MSET/PING/CONFIG traffic: it shows how much of respdb's
per-request time is the full server's work and how much is Python and the kernel.

    .venv/bin/python benchmarks/minimal_server.py 7713 &
    redis-benchmark -p 7713 -t set,get -n 400000 -P 16 -c 50 -r 1000000 -q
"""

from __future__ import annotations

import asyncio
import sys

import hiredis
import uvloop

data: dict[bytes, bytes] = {}
OK = b"+OK\r\n"
NULL = b"$-1\r\n"


def cmd_set(a: list[bytes]) -> bytes:
    data[a[1]] = a[2]
    return OK


def cmd_get(a: list[bytes]) -> bytes:
    v = data.get(a[1])
    return NULL if v is None else b"$%d\r\n%b\r\n" % (len(v), v)


def cmd_incr(a: list[bytes]) -> bytes:
    v = int(data.get(a[1], b"0")) + 1
    data[a[1]] = b"%d" % v
    return b":%d\r\n" % v


def cmd_mset(a: list[bytes]) -> bytes:
    for i in range(1, len(a), 2):
        data[a[i]] = a[i + 1]
    return OK


HANDLERS = {
    b"SET": cmd_set,
    b"GET": cmd_get,
    b"INCR": cmd_incr,
    b"MSET": cmd_mset,
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
