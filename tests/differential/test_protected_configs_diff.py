"""Protected configuration (dir, dbfilename) against Redis: refused by CONFIG SET unless
enable-protected-configs allows it, with Redis's error; other parameters unaffected."""

from __future__ import annotations

from conftest import start_redis, start_respdb

from .harness import Pair


def _replies(extra: tuple[str, ...]) -> dict[str, list[bytes]]:
    out = {}
    servers = {"redis": start_redis(*extra), "respdb": start_respdb(*extra)}
    try:
        pair = Pair(servers["redis"].port, servers["respdb"].port)
        try:
            for cmd in (("CONFIG", "SET", "dir", "somedir"), ("CONFIG", "SET", "dbfilename", "x.rdb"),
                        ("CONFIG", "SET", "maxmemory", "0", "dir", "."), ("CONFIG", "SET", "hz", "11"),
                        ("CONFIG", "GET", "dbfilename")):  # fmt: skip
                a, b = pair.both(*cmd)
                out.setdefault("redis", []).append(a)
                out.setdefault("respdb", []).append(b)
        finally:
            pair.close()
    finally:
        for s in servers.values():
            s.stop()
    return out


def test_protected_configs_refused_by_default():
    got = _replies(())
    assert got["respdb"] == got["redis"]
    assert got["respdb"][0] == (
        b"-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config\r\n"
    )


def test_protected_configs_allowed_when_enabled():
    got = _replies(("--enable-protected-configs", "yes"))
    assert got["respdb"] == got["redis"]
    assert got["respdb"][1] == b"+OK\r\n"
