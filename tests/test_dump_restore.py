"""DUMP and RESTORE: payload format, options, errors, propagation, and exchange with real Redis."""

from __future__ import annotations

import os
import random
import time

import pytest
from persist_util import Raw, server_keyspace
from test_rdb import dataset_commands, run_on

from respdb.embedded import Embedded, ResponseError
from respdb.engine import Engine
from respdb.persistence.crc64 import crc64


@pytest.fixture
def db():
    e = Engine()
    e.logfile = open(os.devnull, "w")  # noqa: SIM115
    return Embedded(e)


def reframe(body: bytes, version: int = 10) -> bytes:
    """A payload around `body` (type byte + value) with a correct version and CRC."""
    data = body + version.to_bytes(2, "little")
    return data + crc64(data).to_bytes(8, "little")


def test_payload_layout(db):
    db.execute("SET", "k", "hello")
    p = db.execute("DUMP", "k")
    assert p[:1] == b"\x00" and p[1:7] == b"\x05hello"
    assert p[-10:-8] == b"\x0a\x00"
    assert int.from_bytes(p[-8:], "little") == crc64(p[:-8])
    assert db.execute("DUMP", "missing") is None
    assert db.execute_raw("DUMP", "missing") == b"$-1\r\n"


def test_restore_options_and_errors(db):
    db.execute("SET", "src", "value")
    p = db.execute("DUMP", "src")
    assert db.execute("RESTORE", "dst", 0, p) == b"OK"
    assert db.execute("GET", "dst") == b"value" and db.execute("PTTL", "dst") == -1
    with pytest.raises(ResponseError, match="^BUSYKEY Target key name already exists.$"):
        db.execute("RESTORE", "dst", 0, p)
    assert db.execute("RESTORE", "dst", 5000, p, "REPLACE") == b"OK"
    assert 4000 < db.execute("PTTL", "dst") <= 5000
    when = int(time.time() * 1000) + 100000
    assert db.execute("RESTORE", "abs", when, p, "ABSTTL") == b"OK"
    assert db.execute("PEXPIRETIME", "abs") == when
    cases = [
        (("RESTORE", "x", "abc", p), "ERR value is not an integer or out of range"),
        (("RESTORE", "x", -1, p), "ERR Invalid TTL value, must be >= 0"),
        (("RESTORE", "x", 0, p[:-1] + bytes([p[-1] ^ 1])), "ERR DUMP payload version or checksum are wrong"),
        (("RESTORE", "x", 0, b"short"), "ERR DUMP payload version or checksum are wrong"),
        (("RESTORE", "x", 0, reframe(p[:-10], 11)), "ERR DUMP payload version or checksum are wrong"),
        (("RESTORE", "x", 0, reframe(b"\x00\x09abc")), "ERR Bad data format"),
        (("RESTORE", "x", 0, reframe(b"\x08\x01a")), "ERR Bad data format"),
        (("RESTORE", "x", 0, reframe(b"\x02\x00")), "ERR Bad data format"),  # an empty set
        (("RESTORE", "x", 0, p, "BOGUS"), "ERR syntax error"),
        (("RESTORE", "x", 0, p, "IDLETIME", -1), "ERR Invalid IDLETIME value, must be >= 0"),
        (("RESTORE", "x", 0, p, "FREQ", 256), "ERR Invalid FREQ value, must be >= 0 and <= 255"),
        (("RESTORE", "x", 0, p, "IDLETIME", 1, "FREQ", 1), "ERR syntax error"),
        (("RESTORE", "x", 0, p, "IDLETIME"), "ERR syntax error"),
        (("RESTORE", "dst", "abc", p), "BUSYKEY Target key name already exists."),  # busy before TTL
    ]
    for args, message in cases:
        with pytest.raises(ResponseError) as info:
            db.execute(*args)
        assert str(info.value) == message, args
    assert db.execute("EXISTS", "x") == 0


def test_restore_already_expired(db):
    db.execute("SET", "src", "v")
    p = db.execute("DUMP", "src")
    past = int(time.time() * 1000) - 1000
    assert db.execute("RESTORE", "new", past, p, "ABSTTL") == b"OK"
    assert db.execute("EXISTS", "new") == 0
    assert db.execute("RESTORE", "src", past, p, "ABSTTL", "REPLACE") == b"OK"
    assert db.execute("EXISTS", "src") == 0


def test_restore_propagates_absolute_ttl(db):
    e = db.engine
    seen = []
    e.propagators.append(lambda dbid, argv: seen.append(argv))
    db.execute("SET", "src", "v")
    p = db.execute("DUMP", "src")
    seen.clear()
    db.execute("RESTORE", "a", 0, p)
    db.execute("RESTORE", "b", 60000, p)
    db.execute("RESTORE", "b", 0, p, "REPLACE", "ABSTTL")
    past = int(time.time() * 1000) - 1000
    db.execute("RESTORE", "b", past, p, "REPLACE", "ABSTTL")
    assert seen[0] == [b"RESTORE", b"a", b"0", p]
    assert seen[1][:2] == [b"RESTORE", b"b"] and seen[1][3:] == [p, b"ABSTTL"]
    assert abs(int(seen[1][2]) - (int(time.time() * 1000) + 60000)) < 5000
    assert seen[2] == [b"RESTORE", b"b", b"0", p, b"REPLACE", b"ABSTTL"]
    assert seen[3] == [b"DEL", b"b"]


def test_restore_access_data(db):
    db.execute("SET", "src", "v")
    p = db.execute("DUMP", "src")
    db.execute("RESTORE", "idle", 0, p, "IDLETIME", 1000)
    assert db.execute("OBJECT", "IDLETIME", "idle") >= 1000
    db.execute("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    db.execute("RESTORE", "hot", 0, p, "FREQ", 200)
    assert db.execute("OBJECT", "FREQ", "hot") == 200


def test_restore_wakes_blocked_clients_and_notifies(db):
    e = db.engine
    events = []
    e.notify_hooks.append(lambda cls, event, key, dbid: events.append((event, key)))
    db.execute("CONFIG", "SET", "notify-keyspace-events", "KEA")
    db.execute("RPUSH", "src", "a", "b")
    p = db.execute("DUMP", "src")
    db.execute("RESTORE", "dst", 0, p)
    assert ("restore", b"dst") in events
    waiter = Embedded(e)
    reply = waiter.execute_raw("BLPOP", "target", 0)
    assert reply == b""
    db.execute("RESTORE", "target", 0, p)
    assert waiter.client.pushed and b"target" in b"".join(waiter.client.pushed)


def test_every_type_round_trips(db):
    run_on(db.execute_raw, dataset_commands())
    for dbid in (0, 1, 15):
        db.execute("SELECT", dbid)
        for key in db.execute("KEYS", "*"):
            p = db.execute("DUMP", key)
            assert db.execute("RESTORE", b"copy:" + key, 0, p) == b"OK"
            assert db.execute("DUMP", b"copy:" + key) == p or db.execute("TYPE", key) in (b"set", b"hash")
            assert db.execute("TYPE", b"copy:" + key) == db.execute("TYPE", key)


def test_corrupted_payloads_never_crash(db):
    """Damaged values behind a valid CRC, sanitized deeply: "Bad data format" or some valid
    value, nothing else (without deep sanitization Redis keeps some of them, and stops when
    a command reads one: tests/test_unsanitized_restore.py)."""
    db.execute("CONFIG", "SET", "sanitize-dump-payload", "yes")
    run_on(db.execute_raw, dataset_commands()[:60])
    rnd = random.Random(3)
    keys = db.execute("KEYS", "*")
    outcomes = {"ok": 0, "bad": 0}
    for i in range(600):
        p = bytearray(db.execute("DUMP", rnd.choice(keys)))
        body = p[:-10]
        for _ in range(rnd.randrange(1, 4)):
            body[rnd.randrange(len(body))] = rnd.randrange(256)
        if rnd.random() < 0.3:
            body = body[: rnd.randrange(1, len(body) + 1)]
        try:
            db.execute("RESTORE", "fuzz%d" % i, 0, reframe(bytes(body)))
            outcomes["ok"] += 1
        except ResponseError as err:
            assert str(err) == "ERR Bad data format"
            outcomes["bad"] += 1
    assert outcomes["bad"] > 100


# ---------------------------------------------------------------------------
# Exchange with real Redis


def test_dumps_cross_over_both_ways(redis_server, respdb_server):
    r = Raw(redis_server.port)
    m = Raw(respdb_server.port)
    for c in (r, m):
        c.cmd("FLUSHALL")
    run_on(r.cmd, dataset_commands())
    # Redis -> respdb
    for dbid in (0, 1, 15):
        r.cmd("SELECT", dbid)
        m.cmd("SELECT", dbid)
        for key in r.cmd("KEYS", "*"):
            pttl = r.cmd("PEXPIRETIME", key)
            assert m.cmd("RESTORE", key, max(pttl, 0), r.cmd("DUMP", key), "ABSTTL") == b"OK", key
    r.cmd("DEBUG", "RELOAD")  # Redis's encodings as they are after a load, like RESTORE's
    theirs = server_keyspace(r)
    assert server_keyspace(m) == theirs
    # respdb -> Redis
    r.cmd("FLUSHALL")
    for dbid in (0, 1, 15):
        r.cmd("SELECT", dbid)
        m.cmd("SELECT", dbid)
        for key in m.cmd("KEYS", "*"):
            pttl = m.cmd("PEXPIRETIME", key)
            assert r.cmd("RESTORE", key, max(pttl, 0), m.cmd("DUMP", key), "ABSTTL") == b"OK", key
    assert server_keyspace(r) == theirs
    r.cmd("FLUSHALL")
    m.cmd("FLUSHALL")


def test_stream_groups_cross_over(redis_server, respdb_server):
    r = Raw(redis_server.port)
    m = Raw(respdb_server.port)
    for c in (r, m):
        c.cmd("FLUSHALL")
    run_on(r.cmd, [x for x in dataset_commands() if x[0] in ("XADD", "XDEL", "XGROUP", "XREADGROUP", "XACK")])
    assert m.cmd("RESTORE", "stream", 0, r.cmd("DUMP", "stream")) == b"OK"
    assert r.cmd("RESTORE", "back", 0, m.cmd("DUMP", "stream")) == b"OK"

    def full(c: Raw, key: str) -> list:
        reply = c.cmd("XINFO", "STREAM", key, "FULL")
        d = dict(zip(reply[0::2], reply[1::2], strict=True))
        return [d[k] for k in (b"length", b"last-generated-id", b"max-deleted-entry-id", b"entries-added",
                                b"recorded-first-entry-id", b"entries", b"groups")]  # fmt: skip

    assert full(m, "stream") == full(r, "stream") == full(r, "back")
    for c in (r, m):
        c.cmd("FLUSHALL")


# Payloads from Redis's integration/corrupt-dump tests (valid checksums).
_BAD_ENTRY_LEN = (
    b"\x0d\x1b\x1b\x00\x00\x00\x16\x00\x00\x00\x04\x00\x00\x02\x61\x00\x04\x02\x62\x00\x04\x14\x63\x00\x04\x02"
    b"\x64\x00\xff\x09\x00\xd9\x10\x54\x92\x15\xf5\x5f\x52"
)
_DUP_FIELDS = (
    b"\x0d\x1b\x1b\x00\x00\x00\x16\x00\x00\x00\x04\x00\x00\x02\x61\x00\x04\x02\x62\x00\x04\x02\x61\x00\x04\x02"
    b"\x64\x00\xff\x09\x00\xa1\x98\x36\x78\xcc\x8e\x93\x2e"
)
_EMPTY_PLAIN_NODE = b"\x12\x01\x01\x00\x0a\x00\x8f\xc6\xc0\x57\x1c\x0a\xb3\x3c"


def test_restore_integrity_failures_are_logged_like_redis():
    """integration/corrupt-dump: Bad data format, and Redis's report in the log at verbose."""
    from conftest import RawConn, start_respdb

    s = start_respdb("--loglevel", "verbose")
    try:
        c = RawConn(s.port)
        for payload in (_BAD_ENTRY_LEN, _DUP_FIELDS, _EMPTY_PLAIN_NODE):
            assert c.cmd("RESTORE", "key", "0", payload) == b"-ERR Bad data format\r\n"
        assert c.cmd("EXISTS", "key") == b":0\r\n"
        with open(s.log) as f:
            log = f.read()
        assert (
            log.count(
                "Internal error in RDB reading offset 0, function at rdb.c:0 -> Hash ziplist integrity check failed"
            )
            == 2
        )
        assert "Quicklist plain node is empty" in log
    finally:
        s.stop()


def test_empty_zipmap_is_refused():
    from respdb.persistence import packed

    with pytest.raises(packed.PackedError, match="empty"):
        packed.zipmap_decode(b"\x00\xff")
