"""Helpers for the persistence tests: keyspaces in the reference `.expected.json` format.

A keyspace is a list of entries sorted by (db, key):
`{"db", "key", "type", "value", "expire_at_ms", "encoding"}` with bytes as latin-1 strings;
values: string -> str, list -> [str], set -> sorted [str], hash -> {field: value},
zset -> [[member, score as "%.17g"]] in order, stream -> [[id, [field, value, ...]]].
`server_keyspace` reads one from any server over a socket (real Redis or respdb);
`engine_keyspace` reads one straight from a respdb engine.
"""

from __future__ import annotations

import socket
from typing import Any

import hiredis
from conftest import encode


class Raw:
    """A minimal RESP2 client returning hiredis-decoded replies (bytes, ints, lists)."""

    def __init__(self, port: int | None = None, path: str | None = None, timeout: float = 30.0) -> None:
        if path is not None:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = hiredis.Reader()

    def cmd(self, *args: Any) -> Any:
        self.sock.sendall(encode(*args))
        while True:
            reply = self.reader.gets()
            if reply is not False:
                return reply
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            self.reader.feed(chunk)

    def close(self) -> None:
        self.sock.close()


def _s(b: bytes) -> str:
    return b.decode("latin-1")


def _score(x: float) -> str:
    return "%.17g" % x


def server_keyspace(c: Raw, ndb: int = 16) -> list[dict]:
    out = []
    for db in range(ndb):
        c.cmd("SELECT", db)
        keys = sorted(c.cmd("KEYS", "*"))
        for k in keys:
            t = c.cmd("TYPE", k).decode()
            if t == "string":
                v: Any = _s(c.cmd("GET", k))
            elif t == "list":
                v = [_s(x) for x in c.cmd("LRANGE", k, 0, -1)]
            elif t == "set":
                v = sorted(_s(x) for x in c.cmd("SMEMBERS", k))
            elif t == "hash":
                flat = c.cmd("HGETALL", k)
                v = {_s(flat[i]): _s(flat[i + 1]) for i in range(0, len(flat), 2)}
            elif t == "zset":
                flat = c.cmd("ZRANGE", k, 0, -1, "WITHSCORES")
                v = [[_s(flat[i]), _score(float(flat[i + 1]))] for i in range(0, len(flat), 2)]
            elif t == "stream":
                v = [[_s(i), [_s(x) for x in fv]] for i, fv in c.cmd("XRANGE", k, "-", "+")]
            else:
                raise AssertionError("unexpected type %s" % t)
            when = c.cmd("PEXPIRETIME", k)
            out.append(
                {
                    "db": db,
                    "key": _s(k),
                    "type": t,
                    "value": v,
                    "expire_at_ms": None if when < 0 else when,
                    "encoding": c.cmd("OBJECT", "ENCODING", k).decode(),
                }
            )
    c.cmd("SELECT", 0)
    return out


def value_json(v: Any) -> tuple[str, Any]:
    """(type, JSON value) of a respdb value."""
    from respdb.types import lists, type_name, zsets

    t = type_name(v)
    if t == "string":
        return t, _s(bytes(v))
    if t == "list":
        return t, [_s(x) for x in lists.values_of(v)]
    if t == "set":
        return t, sorted(_s(x) for x in v.members())
    if t == "hash":
        items = v.items()
        return t, {_s(f): _s(x) for f, x in items}
    if t == "zset":
        return t, [[_s(m), _score(s)] for s, m in zsets.all_pairs(v)]
    if t == "stream":
        return t, [
            ["%d-%d" % (k >> 64, k & ((1 << 64) - 1)), [_s(x) for x in fv]] for k, fv in v.iter_range(0, 1 << 128)
        ]
    raise AssertionError(t)


def engine_keyspace(engine: Any) -> list[dict]:
    from respdb.types import encoding

    out = []
    for db in engine.dbs:
        for k in sorted(db.data):
            v = db.data[k]
            t, jv = value_json(v)
            out.append(
                {
                    "db": db.id,
                    "key": _s(k),
                    "type": t,
                    "value": jv,
                    "expire_at_ms": db.expires.get(k),
                    "encoding": encoding(v),
                }
            )
    return out


def without(entries: list[dict], *fields: str) -> list[dict]:
    return [{k: v for k, v in e.items() if k not in fields} for e in entries]
