"""CLIENT LIST / CLIENT INFO `cmd=`: which command a client is shown with, against Redis.

Redis records it at lookup, before any check: the running CLIENT LIST names itself, a command
refused for its arity is shown, an unknown command or subcommand shows NULL, commands queued
by MULTI are shown as they are queued and EXEC after the transaction.
"""

from __future__ import annotations

from conftest import RawConn


def _field(line: bytes) -> bytes:
    return line.split(b" cmd=")[1].split(b" ")[0]


def _sequence(port: int) -> list[bytes]:
    a, b = RawConn(port), RawConn(port)
    try:
        aid = b"id=%d " % a.client_id()
        seen = [_field(a.cmd("CLIENT", "INFO"))]
        for cmd in (("PING",), ("NOSUCH",), ("GET",), ("CLIENT", "NOSUCH"), ("CONFIG", "GET", "maxmemory"),
                    ("MULTI",), ("SET", "a", "1"), ("GET",), ("EXEC",), ("EVAL", "return redis.call('ping')", "0"),
                    ("BLPOP", "nokey", "0.01"), ("object", "help")):  # fmt: skip
            a.cmd(*cmd)
            line = [x for x in b.cmd("CLIENT", "LIST").split(b"\n") if x.startswith(aid)][0]
            seen.append(_field(line))
        return seen
    finally:
        a.close()
        b.close()


def test_cmd_field_follows_redis(redis_server, respdb_server) -> None:
    assert _sequence(respdb_server.port) == _sequence(redis_server.port)
