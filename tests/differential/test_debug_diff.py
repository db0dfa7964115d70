"""DEBUG against a real Redis 7.0: digests, OBJECT, PROTOCOL, POPULATE, RELOAD and the switches.

Both session servers run with `enable-debug-command yes` (tests/conftest.py).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import Mismatch, Pair, script


@pytest.fixture
def p2(pair2: Pair) -> Pair:
    pair2.reset()
    return pair2


def _bulk_args(cmd: str, key: str, items: list[str]) -> tuple[str, ...]:
    return (cmd, key, *items)


DATASET = script(
    """
    SET str hello
    SET int 12345
    SET neg -42
    SET big 123456789012345678
    SET f 1.5
    INCRBYFLOAT f 2.25
    SET bin "a\\x00b\\xffc"
    APPEND raw abc
    APPEND raw def
    SET ttl v EX 1000
    RPUSH list a b c 1 2 3
    LPUSH list z
    SADD iset 1 2 3 -7 100000
    SADD sset a b c
    ZADD zlp 1.5 a 0.1 b 1e20 c -inf d 3 e +inf f -0 g
    HSET hlp f1 v1 f2 2 f3 ""
    XADD s 1-1 f v
    XADD s 2-5 f 12 g 3
    XADD s 3-0 a 1
    XDEL s 2-5
    XGROUP CREATE s g 0
    XREADGROUP GROUP g c COUNT 1 STREAMS s >
    PFADD hll a b c d
    EXPIRE list 5000
    """,
    _bulk_args("RPUSH", "qlist", ["element-%d" % i for i in range(1200)]),
    _bulk_args("SADD", "iset-big", [str(i * 3) for i in range(600)]),
    _bulk_args("SADD", "sset-big", ["m%d" % i for i in range(300)]),
    _bulk_args("ZADD", "zskip", [x for i in range(200) for x in ("%d.25" % i, "m%d" % i)]),
    _bulk_args("HSET", "hht", [x for i in range(200) for x in ("f%d" % i, "v%d" % i)]),
    _bulk_args("PFADD", "hll-dense", ["e%d" % i for i in range(4000)]),
    _bulk_args("XADD", "s2", ["5-1", *[x for i in range(20) for x in ("field%d" % i, "%d" % i)]]),
    ("ZADD", "zlong", "1", "x" * 100),
    ("HSET", "hlong", "f", "y" * 100),
)

KEYS = [
    "str", "int", "neg", "big", "f", "bin", "raw", "ttl", "list", "iset", "sset", "zlp", "hlp", "s", "hll",
    "qlist", "iset-big", "sset-big", "zskip", "hht", "hll-dense", "s2", "zlong", "hlong", "missing",
]  # fmt: skip


def test_empty_dataset_digest_is_zeros(p2):
    assert p2.run("DEBUG", "DIGEST") == b"+" + b"0" * 40 + b"\r\n"
    p2.run("DEBUG", "DIGEST-VALUE", "nokey", "other")
    p2.run("DEBUG", "DIGEST-VALUE")


def test_digest_every_type_and_encoding(p2):
    p2.check(DATASET)
    encodings = [p2.run("OBJECT", "ENCODING", k) for k in KEYS[:-1]]
    # the data set really covers the encodings it claims to
    for enc in (b"int", b"embstr", b"raw", b"quicklist", b"intset", b"hashtable", b"listpack", b"skiplist", b"stream"):
        assert any(enc in e for e in encodings), enc
    p2.run("DEBUG", "DIGEST")
    p2.run("DEBUG", "DIGEST-VALUE", *KEYS)
    for k in KEYS:
        p2.run("DEBUG", "DIGEST-VALUE", k)


def test_digest_depends_on_order_ttl_and_db(p2):
    p2.check(script("RPUSH l a b c", "DEBUG DIGEST"), reset=True)
    first = p2.run("DEBUG", "DIGEST")
    p2.check(script("RPUSH l c b a", "DEBUG DIGEST", "PEXPIRE l 100000", "DEBUG DIGEST", "DEBUG DIGEST-VALUE l"))
    assert p2.run("DEBUG", "DIGEST") != first
    p2.check(
        script(
            "SELECT 5",
            "RPUSH l a b c",
            "DEBUG DIGEST",
            "SELECT 0",
            "RPUSH l a b c",
            "DEBUG DIGEST",
            "SELECT 15",
            "SET x y",
            "DEBUG DIGEST",
            "DEBUG DIGEST-VALUE x l",
            "SELECT 0",
            "DEBUG DIGEST-VALUE x l",
            "PERSIST l",
            "DEBUG DIGEST",
        )
    )


def test_digest_after_conversions_and_deletes(p2):
    p2.check(
        script(
            _bulk_args("HSET", "h", [x for i in range(140) for x in ("f%d" % i, "%d" % i)]),
            _bulk_args("HDEL", "h", ["f%d" % i for i in range(100)]),
            _bulk_args("ZADD", "z", [x for i in range(140) for x in ("%d" % i, "m%d" % i)]),
            _bulk_args("ZREM", "z", ["m%d" % i for i in range(0, 140, 2)]),
            _bulk_args("SADD", "s", [str(i) for i in range(520)]),
            "SADD s notanint",
            "SREM s 1 2 3 notanint",
            _bulk_args("RPUSH", "l", ["%d" % i for i in range(300)]),
            "LTRIM l 10 -10",
            "LSET l 5 changed",
            "LINSERT l BEFORE changed inserted",
            "XADD st 1-0 a 1",
            "XADD st 2-0 a 2",
            "XADD st 3-0 b 3 c 4",
            "XTRIM st MAXLEN 2",
            "DEBUG DIGEST",
            "DEBUG DIGEST-VALUE h z s l st",
        )
    )


def test_digest_includes_expired_keys_not_yet_deleted(p2):
    p2.both("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        p2.check(script("SET gone v PX 30", "SET kept v"))
        p2.wait(0.1)
        p2.run("DEBUG", "DIGEST")
        p2.run("DEBUG", "DIGEST-VALUE", "gone")
        p2.run("GET", "gone")  # the lookup deletes it on both
        p2.run("DEBUG", "DIGEST")
        p2.run("DEBUG", "DIGEST-VALUE", "gone")
    finally:
        p2.both("DEBUG", "SET-ACTIVE-EXPIRE", "1")


_ADDRESS = re.compile(rb"Value at:0x[0-9a-f]+ ")
_LRU = re.compile(rb" lru:(\d+) lru_seconds_idle:(\d+)")


def _object_parts(reply: bytes) -> tuple[bytes, int, int]:
    m = _LRU.search(reply)
    assert m is not None, reply
    return _ADDRESS.sub(b"", _LRU.sub(b"", reply)), int(m.group(1)), int(m.group(2))


def check_object(p: Pair, key: str) -> bytes:
    """DEBUG OBJECT on both: everything but the address equal, the LRU clock within 2 s."""
    a, b = p.both("DEBUG", "OBJECT", key)
    if a.startswith(b"-") or b.startswith(b"-"):
        p.compare(("DEBUG", "OBJECT", key), a, b)
        return a
    ra, la, ia = _object_parts(a)
    rb_, lb, ib = _object_parts(b)
    if ra != rb_ or abs(la - lb) > 2 or abs(ia - ib) > 2:
        raise Mismatch(("DEBUG", "OBJECT", key), a, b, list(p.history))
    return a


def test_debug_object_fields(p2):
    p2.check(DATASET)
    for k in KEYS:
        if k not in ("int", "neg"):  # small shared integers: their LRU is the shared object's
            check_object(p2, k)
    reply = check_object(p2, "qlist")
    assert b" ql_nodes:" in reply and b"ql_nodes:1 " not in reply  # several quicklist nodes


def test_debug_object_quicklist_settings(p2):
    # A Redis quicklist keeps the node size limit it was created with; respdb cuts nodes with
    # the settings current at DEBUG OBJECT time, so each list is checked under its own settings.
    try:
        p2.run("CONFIG", "SET", "list-max-listpack-size", "5")
        p2.run(*_bulk_args("RPUSH", "l5", [str(i) for i in range(23)]))
        check_object(p2, "l5")
        p2.run("CONFIG", "SET", "list-max-listpack-size", "-1")
        p2.run(*_bulk_args("RPUSH", "l1", ["v" * (i % 200) for i in range(150)]))
        check_object(p2, "l1")
        p2.run("CONFIG", "SET", "rdbcompression", "no")
        check_object(p2, "l1")
        p2.run("CONFIG", "SET", "list-max-listpack-size", "-2")
        p2.run("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "10")
        p2.run("RPUSH", "plain", "a", "b", "c" * 20, "d", "e" * 30, "f")
        check_object(p2, "plain")
        p2.run("DEBUG", "DIGEST-VALUE", "plain")
    finally:
        p2.both("CONFIG", "SET", "list-max-listpack-size", "-2")
        p2.both("CONFIG", "SET", "rdbcompression", "yes")
        p2.both("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0")


def test_debug_protocol(p):
    for name in ("string", "integer", "double", "bignum", "null", "array", "set", "map", "verbatim", "true",
                 "false", "STRING", "nosuch"):  # fmt: skip
        p.run("DEBUG", "PROTOCOL", name)
    # attrib and push are followed by a normal reply: read and compare both parts
    for name in ("attrib", "push"):
        a, b = p.both("DEBUG", "PROTOCOL", name)
        if p.proto == 3:
            a += p.redis.read_reply()
            b += p.respdb.read_reply()
        p.compare(("DEBUG", "PROTOCOL", name), a, b)
    p.run("PING")  # still in step


ERRORS_AND_SWITCHES = """
    DEBUG HELP
    DEBUG HELP x
    DEBUG NOSUCH
    DEBUG JMAP
    DEBUG STRINGMATCH-LEN
    DEBUG DIGEST x
    DEBUG OBJECT
    DEBUG OBJECT nokey
    DEBUG OBJECT a b
    DEBUG PROTOCOL
    DEBUG SLEEP 0
    DEBUG SLEEP abc
    DEBUG SLEEP
    DEBUG ERROR "some error text"
    DEBUG ERROR ''
    DEBUG ERROR "line\\r\\nbreak"
    DEBUG LOG hello
    DEBUG LEAK x
    DEBUG CHANGE-REPL-ID
    DEBUG CHANGE-REPL-ID x
    DEBUG STRINGMATCH-TEST
    DEBUG STRUCTSIZE
    DEBUG SET-SKIP-CHECKSUM-VALIDATION 0
    DEBUG SET-SKIP-CHECKSUM-VALIDATION x
    DEBUG SET-DISABLE-DENY-SCRIPTS 0
    DEBUG SET-ACTIVE-EXPIRE 1
    DEBUG PAUSE-CRON 0
    DEBUG AOF-FLUSH-SLEEP 0
    DEBUG REPLYBUFFER PEAK-RESET-TIME never
    DEBUG REPLYBUFFER PEAK-RESET-TIME reset
    DEBUG REPLYBUFFER PEAK-RESET-TIME 100
    DEBUG REPLYBUFFER PEAK-RESET-TIME abc
    DEBUG REPLYBUFFER RESIZING 1
    DEBUG REPLYBUFFER nosuch 1
    DEBUG REPLYBUFFER RESIZING
    DEBUG QUICKLIST-PACKED-THRESHOLD 1gb
    DEBUG QUICKLIST-PACKED-THRESHOLD 5gb
    DEBUG QUICKLIST-PACKED-THRESHOLD 4gb
    DEBUG QUICKLIST-PACKED-THRESHOLD -1
    DEBUG QUICKLIST-PACKED-THRESHOLD abc
    DEBUG QUICKLIST-PACKED-THRESHOLD 0
    DEBUG DROP-CLUSTER-PACKET-FILTER -1
    DEBUG DROP-CLUSTER-PACKET-FILTER x
    DEBUG CLUSTERLINK KILL to abc
    DEBUG CLIENT-EVICTION
    DEBUG REPLICATE SET a b
    DEBUG CONFIG-REWRITE-FORCE-ALL
    DEBUG RELOAD nosuch
    DEBUG HTSTATS 99
    DEBUG HTSTATS -1
    DEBUG HTSTATS x
    SET s hello
    SET n 123
    RPUSH l a b
    HSET h a 1
    SADD st a b c
    DEBUG HTSTATS-KEY h
    DEBUG HTSTATS-KEY s
    DEBUG HTSTATS-KEY nokey
    DEBUG SDSLEN nokey
    DEBUG SDSLEN s
    DEBUG SDSLEN n
    DEBUG LISTPACK nokey
    DEBUG LISTPACK s
    DEBUG LISTPACK l
    DEBUG LISTPACK h
    DEBUG QUICKLIST l
    DEBUG QUICKLIST l 1
    DEBUG QUICKLIST l 1 2
    DEBUG QUICKLIST s
    DEBUG QUICKLIST h
    """


def test_errors_and_switches(p):
    p.check(script(ERRORS_AND_SWITCHES))


def test_sdslen(p2):
    p2.check(
        script(
            "SET s hello",
            "SET longkeyname_abcdefghijklmnopqrstuvwxyz hello",
            ("SET", "big", "a" * 75),
            ("SET", "k" * 300, "x" * 44),
            "DEBUG SDSLEN s",
            "DEBUG SDSLEN longkeyname_abcdefghijklmnopqrstuvwxyz",
            "DEBUG SDSLEN big",
            ("DEBUG", "SDSLEN", "k" * 300),
        )
    )


def test_populate(p2):
    p2.check(
        script(
            "SET key:1 existing",
            "DEBUG POPULATE 5",
            "DEBUG POPULATE 3 pre",
            "DEBUG POPULATE 3 sized 3",
            "DEBUG POPULATE 2 padded 12",
            "DEBUG POPULATE 2 long 60",
            "DEBUG POPULATE 0",
            "DEBUG POPULATE -1",
            "DEBUG POPULATE x",
            "DEBUG POPULATE 1 p x",
            "DEBUG POPULATE 1 p 1 extra",
            "DBSIZE",
            "MGET key:0 key:1 key:4 pre:2 sized:0 padded:1 long:0",
            "OBJECT ENCODING key:0",
            "OBJECT ENCODING long:1",
            "DEBUG DIGEST",
        )
    )


def test_populate_wakes_watch(p2):
    # signalModifiedKey: a WATCHed key created by POPULATE makes EXEC fail
    p2.check(script("WATCH key:0", "DEBUG POPULATE 1", "MULTI", "PING", "EXEC"))


def test_htstats_format(p2):
    for n in (1, 3, 100):
        p2.both("FLUSHALL")
        p2.both("MSET", *[x for i in range(n) for x in ("k%d" % i, "v")])
        p2.both("EXPIRE", "k0", "100")
        a, b = p2.both("DEBUG", "HTSTATS", "0")
        for text in (a, b):
            assert text.startswith(b"$") and b"[Dictionary HT]\nHash table 0 stats (main hash table):\n" in text
        for field in (rb" table size: \d+", rb" number of elements: \d+"):
            assert re.findall(field, a) == re.findall(field, b), (a, b)
    a, b = p2.both("DEBUG", "HTSTATS", "1")  # an empty database
    p2.compare(("DEBUG", "HTSTATS", "1"), a, b)
    p2.both("SADD", "set", "a", "b", "c")  # a small one: a big set may still be rehashing in Redis
    a, b = p2.both("DEBUG", "HTSTATS-KEY", "set")
    for field in (rb" table size: \d+", rb" number of elements: \d+"):
        assert re.findall(field, a) == re.findall(field, b), (a, b)


def test_restore_with_checksum_validation_off(p2):
    p2.check(script("SET k somevalue"))
    payload = p2.run("DUMP", "k")
    body = payload[payload.index(b"\r\n") + 2 : -2]
    bad = body[:-1] + bytes([body[-1] ^ 0xFF])  # a wrong CRC64
    p2.run("RESTORE", "k2", "0", bad)
    p2.run("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1")
    try:
        p2.run("RESTORE", "k2", "0", bad)
        p2.run("GET", "k2")
    finally:
        p2.both("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0")
    p2.run("RESTORE", "k3", "0", bad)


def test_reload_options(p2):
    p2.check(
        script(
            "SET a 1",
            "RPUSH l x y",
            "DEBUG RELOAD",
            "DEBUG DIGEST",
            "SET a 2",
            "SET b 3",
            "DEBUG RELOAD NOSAVE NOFLUSH MERGE",
            "MGET a b",
            "LRANGE l 0 -1",
            "DEBUG DIGEST",
            "DEBUG RELOAD NOSAVE",
            "MGET a b",
            "DEBUG RELOAD nosave bogus",
        )
    )


# ---------------------------------------------------------------------------
# Random data sets: the whole-dataset digest must agree

_OPS = st.one_of(
    st.tuples(
        st.just("SET"), st.sampled_from(["a", "b", "c"]), st.sampled_from(["1", "-3", "x", "3.50", "", "9" * 30])
    ),
    st.tuples(st.just("RPUSH"), st.sampled_from(["l1", "l2"]), st.text("xyz01", max_size=6)),
    st.tuples(st.just("LPUSH"), st.sampled_from(["l1", "l2"]), st.text("xyz01", max_size=6)),
    st.tuples(st.just("SADD"), st.sampled_from(["s1", "s2"]), st.sampled_from(["1", "2", "17", "-4", "m", "n"])),
    st.tuples(st.just("SREM"), st.sampled_from(["s1", "s2"]), st.sampled_from(["1", "m"])),
    st.tuples(
        st.just("ZADD"),
        st.sampled_from(["z1", "z2"]),
        st.sampled_from(["0", "1.5", "-2", "1e300", "0.1", "inf", "3"]),
        st.sampled_from(["a", "b", "10", "c"]),
    ),
    st.tuples(
        st.just("HSET"), st.sampled_from(["h1", "h2"]), st.sampled_from(["f", "g", "1"]), st.text("ab", max_size=4)
    ),
    st.tuples(st.just("XADD"), st.sampled_from(["x1"]), st.just("*"), st.sampled_from(["f", "g"]), st.just("v")),
    st.tuples(st.just("PFADD"), st.sampled_from(["p1"]), st.text("abc", min_size=1, max_size=3)),
    st.tuples(st.just("EXPIRE"), st.sampled_from(["a", "l1", "s1", "z1", "h1"]), st.just("1000")),
    st.tuples(st.just("PERSIST"), st.sampled_from(["a", "l1", "s1"])),
    st.tuples(st.just("DEL"), st.sampled_from(["a", "l1", "s2", "z2", "h2", "x1"])),
    st.tuples(st.just("SELECT"), st.sampled_from(["0", "1", "9"])),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(_OPS, max_size=25))
def test_random_datasets_digest(pair2, ops):
    # stream IDs from the position in the sequence: `*` would differ between the servers
    ops = [(*op[:2], "%d-1" % (i + 1), *op[3:]) if op[0] == "XADD" else op for i, op in enumerate(ops)]
    pair2.check(ops)
    pair2.run("DEBUG", "DIGEST")
    pair2.run("SELECT", "0")
    pair2.run("DEBUG", "DIGEST-VALUE", "a", "l1", "l2", "s1", "s2", "z1", "z2", "h1", "h2", "x1", "p1")


def _address(p: Pair, key: str) -> tuple[bytes, bytes]:
    a, b = p.both("DEBUG", "OBJECT", key)
    return tuple(_ADDRESS.match(x.lstrip(b"+")).group(0) for x in (a, b))  # type: ignore[union-attr]


def test_debug_object_address_kept_by_in_place_incr(p2):
    # Redis changes an unshared integer in place: DEBUG OBJECT's address stays (unit/type/incr).
    p2.check(script("SET foo 20000", "INCR foo", "OBJECT REFCOUNT foo"))
    before = _address(p2, "foo")
    p2.run("INCR", "foo")
    p2.run("INCRBY", "foo", "5")
    assert _address(p2, "foo") == before
    # another key's value is another object on both servers
    p2.run("SET", "bar", "20000")
    other = _address(p2, "bar")
    assert other[0] != before[0] and other[1] != before[1]
