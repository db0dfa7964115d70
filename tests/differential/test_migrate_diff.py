"""MIGRATE compared with Redis: the same script run with a real redis-server and with respdb as
the source, each migrating to its own real redis-server target; replies, what is left on the
source, what arrives on the target and what the source propagates must be the same."""

from __future__ import annotations

from conftest import RawConn, start_redis, start_respdb

SCRIPT = [
    ("SET", "k", "v"), ("PEXPIRE", "k", "100000000"), ("RPUSH", "l", "a", "b"), ("HSET", "h", "f", "v"),
    ("MIGRATE", "{host}", "{port}", "k", "0", "1000"),
    ("EXISTS", "k"),
    ("MIGRATE", "{host}", "{port}", "k", "0", "1000"),  # gone: NOKEY
    ("SET", "k", "again"),
    ("MIGRATE", "{host}", "{port}", "k", "0", "1000"),  # the target has it: BUSYKEY
    ("GET", "k"),
    ("MIGRATE", "{host}", "{port}", "k", "0", "1000", "COPY", "REPLACE"),
    ("GET", "k"),
    ("MIGRATE", "{host}", "{port}", "", "3", "0", "KEYS", "l", "h", "missing"),
    ("MIGRATE", "{host}", "{port}", "k", "0", "1000", "KEYS", "l"),
    ("MIGRATE", "{host}", "{port}", "k", "x", "1000"),
    ("MIGRATE", "{host}", "{port}", "k", "0", "y"),
    ("MIGRATE", "{host}", "{port}", "k", "0", "1000", "AUTH"),
    ("MIGRATE", "{host}", "{port}", "k", "0", "1000", "AUTH2", "u"),
    ("MIGRATE", "{host}", "{port}", "k", "0", "1000", "BOGUS"),
    ("MIGRATE", "{host}", "{port}", "k", "0", "1000", "AUTH", "pw"),  # the target has no password
    ("MIGRATE", "{host}", "{port}", "k", "0", "1000", "REPLACE"),
    ("DBSIZE",),
]  # fmt: skip

TARGET_CHECKS = [("SELECT", "0"), ("GET", "k"), ("PTTL", "k"), ("DBSIZE",), ("SELECT", "3"), ("LRANGE", "l", "0", "-1"),
                 ("HGETALL", "h"), ("DBSIZE",)]  # fmt: skip


def _run(source_port: int, target_port: int) -> tuple[list[bytes], list[bytes], list[bytes]]:
    src, tgt = RawConn(source_port), RawConn(target_port)
    stream = RawConn(source_port)
    stream.send(b"SYNC\r\n")  # the propagated commands, as a replica sees them
    replies = []
    for cmd in SCRIPT:
        args = [a.format(host="127.0.0.1", port=target_port) for a in cmd]
        reply = src.cmd(*args)
        if args[0] == "PTTL":
            reply = b":<ttl>" if reply.startswith(b":") and int(reply[1:-2]) > 0 else reply
        replies.append(reply)
    src.cmd("SET", "end", "marker")
    data = b""
    while b"marker" not in data:
        data += stream.sock.recv(65536)
    propagated = [p for p in (b"DEL", b"RESTORE", b"MIGRATE") if p in data.split(b"REDIS", 1)[-1]]
    checks = []
    for cmd in TARGET_CHECKS:
        r = tgt.cmd(*cmd)
        if cmd[0] == "PTTL":
            r = b"positive" if int(r[1:-2]) > 99_000_000 else r
        checks.append(r)
    return replies, checks, propagated


def test_migrate_matches_redis() -> None:
    servers = [start_redis(), start_redis(), start_respdb(), start_redis()]
    try:
        want = _run(servers[0].port, servers[1].port)
        got = _run(servers[2].port, servers[3].port)
        assert got[0] == want[0]
        assert got[1] == want[1]
        assert got[2] == want[2] == [b"DEL"]
        info = RawConn(servers[2].port).cmd("INFO", "stats")
        assert b"migrate_cached_sockets:1\r\n" in info
    finally:
        for s in servers:
            s.stop()
