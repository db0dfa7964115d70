"""Persistence commands, differentially: DUMP payloads, RESTORE replies, SAVE/BGSAVE/LASTSAVE
shapes, compared byte for byte with redis-server (RESP2 and RESP3).

DUMP output is compared exactly for values whose layout does not depend on Redis's hash order
(strings, lists, listpack hashes, intsets, sorted sets, streams); hashtable hashes and sets are
compared by what RESTORE makes of them.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from respdb.persistence.crc64 import crc64

from .harness import Mismatch, encode_command, parse, script


def reframe(body: bytes, version: int = 10) -> bytes:
    data = body + version.to_bytes(2, "little")
    return data + crc64(data).to_bytes(8, "little")


def _send(conn, *args) -> bytes:
    conn.send(encode_command(args))
    return conn.read_reply()


def key_of(cmd) -> bytes:
    name = cmd[0].upper()
    if name == b"XGROUP":
        return cmd[2]
    if name == b"XREADGROUP":
        return cmd[cmd.index(b"STREAMS") + 1]
    return cmd[1]


def bulk_of(reply: bytes) -> bytes:
    t, v = parse(reply)
    assert t == "$", reply
    return v


DETERMINISTIC = script(
    """
    SET s:int 12345
    SET s:small 7
    SET s:neg -200
    SET s:i32 -2147483648
    SET s:big 9223372036854775807
    SET s:emb hello
    SET s:empty ''
    SET s:21 aaaaaaaaaaaaaaaaaaaaa
    SET s:lzf aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
    SET s:bin "\\x00\\x01\\xff\\xfe"
    SET s:lead0 0123
    APPEND s:app abc
    APPEND s:app 1234567890123456789012345
    INCRBYFLOAT s:float 3.25
    SETRANGE s:range 100 x
    RPUSH l:1 a b 1 -2 c 100000 -9223372036854775808
    RPUSH l:2 x
    LPUSH l:2 y z
    HSET h:1 f1 v1 f2 2 f3 ''
    HSET h:1 f2 3
    HDEL h:1 f1
    SADD i:1 1 2 3 -5
    SADD i:2 1 100000 -100000
    SADD i:3 -9223372036854775808 0 9223372036854775807
    SREM i:3 -9223372036854775808
    ZADD z:1 -inf bottom -3 minus 1 one 2.5 two.five inf top 0 zero
    ZADD z:2 1.5 a 1e-300 b 1.7976931348623157e308 c -0 d
    ZADD z:3 4611686018427387904 huge 4611686018427387905 huger
    XADD x:1 1-1 a 1 b 2
    XADD x:1 1-2 a 3 b 4
    XADD x:1 2-0 c 5
    XADD x:1 18446744073709551615-5 a 1 b 2
    XGROUP CREATE x:1 g 0
    PFADD hll a b c
    SETBIT bits 77 1
    """
)


# Pending entries and consumers carry millisecond times, which differ between the two servers:
# their payloads are compared through what they restore to.
PEL = script(
    """
    XREADGROUP GROUP g alice COUNT 2 STREAMS x:1 >
    XGROUP CREATECONSUMER x:1 g bob
    """
)


def test_dump_payloads_match(p):
    p.check(DETERMINISTIC)
    for cmd in DETERMINISTIC:
        key = key_of(cmd)
        p.run("DUMP", key)
    p.run("DUMP", "missing")


def test_stream_tombstones_are_kept(p):
    """Redis writes deleted stream entries (flagged) inside their listpack, and so does respdb:
    the same DUMP bytes. With a PEL (delivery times differ) each restores the other's payload."""
    p.check(DETERMINISTIC)
    p.run("XDEL", "x:1", "1-2")
    p.run("DUMP", "x:1")
    p.check(PEL, reset=False)
    a, b = p.both("DUMP", "x:1")
    p.run("RESTORE", "from-redis", 0, bulk_of(a))
    p.run("RESTORE", "from-respdb", 0, bulk_of(b))
    for key in ("x:1", "from-redis", "from-respdb"):
        p.run("XRANGE", key, "-", "+")
        p.run("XINFO", "GROUPS", key)
        p.run("XPENDING", key, "g")


def test_dump_of_bigger_values_match(p):
    p.reset()
    p.run("RPUSH", "big", *[b"element-%d" % i for i in range(3000)])
    p.run("RPUSH", "ints", *[b"%d" % (i * 977 - 50000) for i in range(3000)])
    p.run("RPUSH", "fat", b"x" * 10000, b"y" * 9000, b"z")
    p.run("ZADD", "zbig", *[x for i in range(500) for x in (repr(i / 3).encode(), b"m%d" % i)])
    p.run("SADD", "ibig", *[b"%d" % (i * 3) for i in range(400)])
    p.run("HSET", "hlong", "f", "v" * 200)
    p.run("SET", "long", bytes(random.Random(1).randrange(256) for _ in range(5000)))
    p.run("SET", "text", b"the quick brown fox jumps over the lazy dog " * 300)
    for i in range(3):
        p.run("XADD", "xbig", "5-%d" % (i + 1), "field", "v%d" % i)
    for key in ("big", "ints", "fat", "zbig", "ibig", "long", "text", "xbig"):
        p.run("DUMP", key)
    p.run("CONFIG", "SET", "rdbcompression", "no")
    try:
        for key in ("big", "text", "zbig"):
            p.run("DUMP", key)
    finally:
        p.run("CONFIG", "SET", "rdbcompression", "yes")


def test_restore_replies_match(p):
    p.reset()
    p.run("SET", "src", "value")
    payload = bulk_of(p.run("DUMP", "src"))
    body = payload[:-10]
    cases = [
        ("RESTORE", "dst", 0, payload),
        ("RESTORE", "dst", 0, payload),
        ("RESTORE", "dst", 0, payload, "REPLACE"),
        ("RESTORE", "dst", "x", payload, "REPLACE"),
        ("RESTORE", "dst", -5, payload, "REPLACE"),
        ("RESTORE", "new", 0, payload[:-1]),
        ("RESTORE", "new", 0, b""),
        ("RESTORE", "new", 0, reframe(body, 11)),
        ("RESTORE", "new", 0, reframe(body, 9)),
        ("RESTORE", "new", 0, reframe(b"\x00\x09abc")),
        ("RESTORE", "new", 0, reframe(b"\x08\x01a")),
        ("RESTORE", "new", 0, reframe(b"\x02\x00")),
        ("RESTORE", "new", 0, reframe(b"\x03\x00")),
        ("RESTORE", "new", 0, reframe(b"\x12\x00")),
        ("RESTORE", "new", 0, reframe(b"\x02\x02\x01a\x01a")),
        ("RESTORE", "new", 0, reframe(b"\x0b\x08\x02\x00\x00\x00\x01\x00\x00\x00\x05\x00")),
        ("RESTORE", "new", 0, reframe(b"\x00\xc3\x02\x05\xe0\x00")),
        ("RESTORE", "new", 0, reframe(b"\x00\x01ab")),
        ("RESTORE", "new2", 0, reframe(b"\x00\x01a\x00")),
        ("GET", "new2"),
        ("RESTORE", "new", 0, payload, "FOO"),
        ("RESTORE", "new", 0, payload, "IDLETIME", "-1"),
        ("RESTORE", "new", 0, payload, "IDLETIME", "x"),
        ("RESTORE", "new", 0, payload, "FREQ", "256"),
        ("RESTORE", "new", 0, payload, "FREQ", "1", "IDLETIME", "1"),
        ("RESTORE", "new", 0, payload, "IDLETIME", "5", "IDLETIME", "6"),
        ("RESTORE", "new", 0, payload, "IDLETIME"),
        ("RESTORE", "new", 0, payload, "ABSTTL", "ABSTTL", "REPLACE"),
        ("RESTORE", "past", 1, payload, "ABSTTL"),
        ("EXISTS", "past"),
        ("RESTORE", "dst", 1, payload, "ABSTTL", "REPLACE"),
        ("EXISTS", "dst"),
        ("RESTORE", "far", 4102444800000, payload, "ABSTTL"),
        ("PEXPIRETIME", "far"),
        ("RESTORE",),
        ("RESTORE", "a", "0"),
        ("DUMP",),
        ("GET", "new"),
    ]
    for cmd in cases:
        p.run(*cmd)


def test_restored_values_read_the_same(p):
    p.check(DETERMINISTIC + PEL)
    for cmd in DETERMINISTIC:
        key = key_of(cmd)
        a, b = p.both("DUMP", key)
        if key != b"x:1":  # its pending entries hold delivery times
            p.compare(("DUMP", key), a, b)
        # each server restores its own payload
        restore = ("RESTORE", b"copy:" + key, 0)
        p.compare(
            restore, _send(p.redis, *restore, bulk_of(a), "REPLACE"), _send(p.respdb, *restore, bulk_of(b), "REPLACE")
        )
        p.run("OBJECT", "ENCODING", b"copy:" + key)
        p.run("TYPE", b"copy:" + key)
    for reads in (("LRANGE", "copy:l:1", 0, -1), ("HGETALL", "copy:h:1"), ("SMEMBERS", "copy:i:3"),
                  ("ZRANGE", "copy:z:2", 0, -1, "WITHSCORES"), ("XRANGE", "copy:x:1", "-", "+"),
                  ("XINFO", "GROUPS", "copy:x:1"), ("XPENDING", "copy:x:1", "g"), ("GET", "copy:s:app"),
                  ("PFCOUNT", "copy:hll"),
                  ("GETBIT", "copy:bits", 77), ("ZSCORE", "copy:z:2", "d")):  # fmt: skip
        p.run(*reads)


def test_save_command_shapes(p):
    p.reset()
    p.run("BGSAVE", "NOW")
    p.run("BGSAVE", "SCHEDULE", "X")
    p.run("SAVE", "x")
    p.run("LASTSAVE", "x")
    a, b = p.both("LASTSAVE")
    assert parse(a)[0] == parse(b)[0] == ":"
    p.run("MULTI")
    p.run("SAVE")
    p.run("EXEC")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=70),
            st.integers(-(2**63), 2**63 - 1).map(lambda n: b"%d" % n),
            st.sampled_from([b"0", b"-0", b"00", b"+1", b"1e3", b"127", b"128", b"-129", b"32768", b"4294967296"]),
        ),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["RPUSH", "SADD", "HSET", "ZADD", "SET"]),
)
def test_generated_values_dump_alike(pair, values, kind):
    pair.reset()
    if kind == "SET":
        cmd = ("SET", "k", values[0])
    elif kind == "HSET":
        vals = values if len(values) % 2 == 0 else values + [b"x"]
        cmd = ("HSET", "k", *vals)
    elif kind == "ZADD":
        cmd = ("ZADD", "k", *[x for i, v in enumerate(values) for x in (b"%d" % (i * 7 - 20), v)])
    else:
        cmd = (kind, "k", *values)
    pair.run(*cmd)
    a, b = pair.both("DUMP", "k")
    if a != b:
        enc = parse(pair.run("OBJECT", "ENCODING", "k"))[1]
        if enc != b"hashtable":
            raise Mismatch(("DUMP", "k"), a, b, list(pair.history))
    payload = bulk_of(a)
    pair.run("RESTORE", "k2", 0, payload)
    pair.run("RESTORE", "k3", 0, bulk_of(b))
    for key in ("k2", "k3"):
        pair.run("OBJECT", "ENCODING", key)
        pair.run("TYPE", key)
