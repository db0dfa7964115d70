"""Lists, differentially: the same commands to redis-server and respdb, replies compared byte for byte
(RESP2 and RESP3 for every test through the `p` / `pair` fixtures)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# ---------------------------------------------------------------------------
# Scripted cases: every command, its options and its error paths.

ERRORS_AND_EDGES = [
    # pushes
    ("LPUSH", "l", "a"), ("RPUSH", "l", "b", "c", "d"), ("LPUSH", "l", "x", "y", "z"),
    ("LPUSHX", "nokey", "a"), ("RPUSHX", "nokey", "a", "b"), ("LPUSHX", "l", "p", "q"), ("RPUSHX", "l", "r"),
    ("LPUSH", "l"), ("RPUSHX", "l"), ("EXISTS", "nokey"),
    ("SET", "s", "str"), ("LPUSH", "s", "a"), ("RPUSH", "s", "a"), ("LPUSHX", "s", "a"), ("RPUSHX", "s", "a"),
    ("LRANGE", "l", "0", "-1"), ("LLEN", "l"), ("LLEN", "nokey"), ("LLEN", "s"),
    # LRANGE index rules
    ("LRANGE", "l", "-100", "100"), ("LRANGE", "l", "2", "1"), ("LRANGE", "l", "5", "5"), ("LRANGE", "l", "-1", "-1"),
    ("LRANGE", "l", "100", "200"), ("LRANGE", "l", "-3", "-100"), ("LRANGE", "l", "0", "0"),
    ("LRANGE", "l", "a", "1"), ("LRANGE", "l", "0", "1.5"), ("LRANGE", "nokey", "0", "-1"), ("LRANGE", "s", "0", "1"),
    ("LRANGE", "nokey", "x", "1"), ("LRANGE", "l", "9223372036854775807", "-9223372036854775808"),
    ("LRANGE", "l", "-9223372036854775808", "9223372036854775807"), ("LRANGE", "l", "9223372036854775808", "1"),
    # LINDEX
    ("LINDEX", "l", "0"), ("LINDEX", "l", "-1"), ("LINDEX", "l", "9"), ("LINDEX", "l", "-9"), ("LINDEX", "l", "-10"),
    ("LINDEX", "l", "100"), ("LINDEX", "l", "x"), ("LINDEX", "nokey", "x"), ("LINDEX", "s", "x"), ("LINDEX", "s", "0"),
    # LSET
    ("LSET", "l", "0", "first"), ("LSET", "l", "-1", "last"), ("LSET", "l", "9", "x"), ("LSET", "l", "-10", "x"),
    ("LSET", "l", "x", "v"), ("LSET", "nokey", "0", "v"), ("LSET", "nokey", "x", "v"), ("LSET", "s", "0", "v"),
    ("LRANGE", "l", "0", "-1"),
    # LINSERT
    ("LINSERT", "l", "BEFORE", "first", "b0"), ("LINSERT", "l", "after", "last", "a9"), ("LINSERT", "l", "AfTeR", "c", "c2"),
    ("LINSERT", "l", "before", "nothere", "v"), ("LINSERT", "l", "middle", "c", "v"), ("LINSERT", "nokey", "before", "a", "b"),
    ("LINSERT", "nokey", "middle", "a", "b"), ("LINSERT", "s", "before", "a", "b"), ("LRANGE", "l", "0", "-1"),
    # LPOP / RPOP with and without count
    ("LPOP", "l"), ("RPOP", "l"), ("LPOP", "l", "2"), ("RPOP", "l", "2"), ("LPOP", "l", "0"), ("RPOP", "l", "0"),
    ("LPOP", "l", "-1"), ("LPOP", "l", "x"), ("LPOP", "l", "1", "2"), ("RPOP", "l", "1", "2"),
    ("LPOP", "nokey"), ("LPOP", "nokey", "0"), ("LPOP", "nokey", "3"), ("RPOP", "nokey", "1"),
    ("LPOP", "nokey", "-1"), ("LPOP", "s"), ("LPOP", "s", "0"), ("RPOP", "s", "-1"),
    ("RPOP", "l", "100"), ("EXISTS", "l"), ("LPOP", "l"),
    ("RPUSH", "l", "a", "b", "c"), ("LPOP", "l", "9223372036854775807"), ("RPUSH", "l", "a"),
    ("LPOP", "l", "9223372036854775808"), ("RPOP", "l", "1"), ("EXISTS", "l"),
]  # fmt: skip

LPOS_CASES = [
    ("RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c", "a"),
    ("LPOS", "l", "a"), ("LPOS", "l", "c"), ("LPOS", "l", "zz"), ("LPOS", "l", "c", "RANK", "2"),
    ("LPOS", "l", "c", "RANK", "-1"), ("LPOS", "l", "c", "RANK", "-3"), ("LPOS", "l", "c", "RANK", "4"),
    ("LPOS", "l", "c", "COUNT", "0"), ("LPOS", "l", "c", "COUNT", "2"), ("LPOS", "l", "c", "COUNT", "2", "RANK", "2"),
    ("LPOS", "l", "c", "COUNT", "0", "RANK", "-1"), ("LPOS", "l", "c", "COUNT", "1", "RANK", "-2"),
    ("LPOS", "l", "c", "MAXLEN", "3"), ("LPOS", "l", "c", "MAXLEN", "2"), ("LPOS", "l", "c", "MAXLEN", "0"),
    ("LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"), ("LPOS", "l", "a", "RANK", "-1", "MAXLEN", "1"),
    ("LPOS", "l", "a", "RANK", "-1", "MAXLEN", "1", "COUNT", "5"), ("LPOS", "l", "zz", "COUNT", "3"),
    ("LPOS", "l", "c", "rank", "1", "rank", "2"), ("LPOS", "l", "c", "count", "1", "count", "0"),
    ("LPOS", "l", "c", "RANK", "0"), ("LPOS", "l", "c", "RANK", "x"), ("LPOS", "l", "c", "RANK", "1.5"),
    ("LPOS", "l", "c", "COUNT", "-1"), ("LPOS", "l", "c", "COUNT", "x"), ("LPOS", "l", "c", "MAXLEN", "-1"),
    ("LPOS", "l", "c", "MAXLEN", "x"), ("LPOS", "l", "c", "COUNT"), ("LPOS", "l", "c", "FOO", "1"), ("LPOS", "l", "c", "RANK"),
    ("LPOS", "l", "c", "RANK", "-9223372036854775808"), ("LPOS", "l", "c", "RANK", "-9223372036854775808", "COUNT", "1"),
    ("LPOS", "l", "c", "RANK", "-9223372036854775808", "COUNT", "0", "MAXLEN", "8"),
    ("LPOS", "l", "c", "RANK", "-9223372036854775807"), ("LPOS", "l", "c", "RANK", "9223372036854775807"),
    ("LPOS", "l", "c", "RANK", "9223372036854775808"), ("LPOS", "l", "c", "COUNT", "9223372036854775808"),
    ("LPOS", "nokey", "a"), ("LPOS", "nokey", "a", "COUNT", "0"), ("LPOS", "nokey", "a", "RANK", "0"),
    ("LPOS", "nokey", "a", "COUNT", "-1"), ("SET", "s", "x"), ("LPOS", "s", "a"), ("LPOS", "s", "a", "COUNT", "1"),
    ("LPOS", "s", "a", "RANK", "0"),
]  # fmt: skip

LREM_LTRIM_CASES = [
    ("RPUSH", "l", "a", "b", "a", "c", "a", "d", "a"),
    ("LREM", "l", "1", "a"), ("LRANGE", "l", "0", "-1"), ("LREM", "l", "-1", "a"), ("LRANGE", "l", "0", "-1"),
    ("LREM", "l", "0", "a"), ("LRANGE", "l", "0", "-1"), ("LREM", "l", "0", "zz"), ("LREM", "l", "x", "a"),
    ("LREM", "nokey", "0", "a"), ("LREM", "nokey", "x", "a"), ("SET", "s", "v"), ("LREM", "s", "0", "a"),
    ("LREM", "l", "0", "b"), ("LREM", "l", "5", "c"), ("LREM", "l", "-5", "d"), ("EXISTS", "l"),
    ("RPUSH", "l", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"),
    ("LTRIM", "l", "1", "-2"), ("LRANGE", "l", "0", "-1"), ("LTRIM", "l", "-3", "100"), ("LRANGE", "l", "0", "-1"),
    ("LTRIM", "l", "0", "-1"), ("LTRIM", "l", "1", "0"), ("EXISTS", "l"), ("LTRIM", "nokey", "0", "1"),
    ("LTRIM", "nokey", "x", "1"), ("LTRIM", "s", "0", "1"), ("LTRIM", "s", "x", "1"),
    ("RPUSH", "l", "a", "b"), ("LTRIM", "l", "5", "10"), ("EXISTS", "l"),
    ("RPUSH", "l", "a", "b"), ("LTRIM", "l", "-1", "-2"), ("EXISTS", "l"),
    ("RPUSH", "l", "a", "b"), ("LTRIM", "l", "0", "x"), ("LTRIM", "l", "-100", "-100"), ("EXISTS", "l"),
]  # fmt: skip

MOVE_CASES = [
    ("RPUSH", "src", "a", "b", "c"),
    ("LMOVE", "src", "dst", "LEFT", "RIGHT"), ("LMOVE", "src", "dst", "right", "left"), ("LRANGE", "dst", "0", "-1"),
    ("LMOVE", "src", "src", "LEFT", "RIGHT"), ("LMOVE", "dst", "dst", "left", "left"), ("LMOVE", "dst", "dst", "right", "right"),
    ("LRANGE", "dst", "0", "-1"), ("LMOVE", "src", "dst", "up", "left"), ("LMOVE", "src", "dst", "left", "down"),
    ("LMOVE", "nokey", "dst", "up", "left"), ("LMOVE", "nokey", "dst", "left", "left"), ("SET", "s", "v"),
    ("LMOVE", "s", "dst", "left", "left"), ("LMOVE", "src", "s", "left", "left"), ("LMOVE", "nokey", "s", "left", "left"),
    ("LRANGE", "src", "0", "-1"), ("RPOPLPUSH", "src", "dst"), ("EXISTS", "src"), ("RPOPLPUSH", "dst", "dst"),
    ("LRANGE", "dst", "0", "-1"), ("RPOPLPUSH", "nokey", "dst"), ("RPOPLPUSH", "s", "dst"), ("RPOPLPUSH", "dst", "s"),
    ("RPUSH", "one", "x"), ("LMOVE", "one", "one", "left", "right"), ("LRANGE", "one", "0", "-1"),
    ("RPOPLPUSH", "one", "one"), ("LRANGE", "one", "0", "-1"),
    # LMPOP
    ("RPUSH", "m1", "a", "b", "c"), ("RPUSH", "m2", "x", "y"),
    ("LMPOP", "2", "nokey", "m1", "LEFT"), ("LMPOP", "2", "m2", "m1", "RIGHT", "COUNT", "5"), ("EXISTS", "m2"),
    ("LMPOP", "1", "m1", "left", "count", "1"), ("LMPOP", "1", "nokey", "left"), ("LMPOP", "2", "nokey", "nokey2", "right"),
    ("LMPOP", "0", "m1", "left"), ("LMPOP", "-1", "m1", "left"), ("LMPOP", "x", "m1", "left"),
    ("LMPOP", "1", "m1", "middle"), ("LMPOP", "2", "m1", "left"), ("LMPOP", "3", "m1", "left"),
    ("LMPOP", "1", "m1", "left", "count", "0"), ("LMPOP", "1", "m1", "left", "count", "-1"),
    ("LMPOP", "1", "m1", "left", "count", "x"), ("LMPOP", "1", "m1", "left", "count"),
    ("LMPOP", "1", "m1", "left", "count", "1", "count", "1"), ("LMPOP", "1", "m1", "left", "foo"),
    ("LMPOP", "2", "s", "m1", "left"), ("LMPOP", "2", "m1", "s", "left"), ("LMPOP", "2147483648", "m1", "left"),
    ("LMPOP", "1", "m1", "left", "count", "9223372036854775807"), ("EXISTS", "m1"),
]  # fmt: skip

# Blocking commands that need not block: data present, errors, or MULTI (never blocks).
BLOCKING_IMMEDIATE = [
    ("RPUSH", "k1", "a", "b", "c"), ("RPUSH", "k2", "c", "d", "e"), ("SET", "s", "v"),
    ("BLPOP", "nokey", "k1", "0"), ("BRPOP", "k1", "k2", "1"), ("BLPOP", "k1", "k1", "0"), ("EXISTS", "k1"),
    ("BLPOP", "s", "k2", "0"), ("BLPOP", "nokey", "s", "k2", "0"), ("BRPOP", "k2", "s", "0"),
    ("BLPOP", "k2", "-1"), ("BLPOP", "k2", "x"), ("BLPOP", "k2", "inf"), ("BLPOP", "k2", "1e16"), ("BLPOP", "k2", "nan"),
    ("BLPOP", "k2", " 1"), ("BLPOP", "k2", ""), ("BLPOP", "k2", "9223372036854775.808"), ("BRPOP", "k2", "-0.5"),
    ("RPUSH", "k1", "a", "b", "c"),
    ("BLMOVE", "k1", "d", "LEFT", "RIGHT", "0"), ("BLMOVE", "k1", "d", "right", "left", "0.5"),
    ("BRPOPLPUSH", "k1", "d", "0"), ("LRANGE", "d", "0", "-1"), ("EXISTS", "k1"),
    ("BLMOVE", "d", "d", "LEFT", "RIGHT", "0"), ("BLMOVE", "d", "s", "LEFT", "RIGHT", "0"), ("BLMOVE", "s", "d", "LEFT", "RIGHT", "0"),
    ("BLMOVE", "d", "x", "up", "RIGHT", "0"), ("BLMOVE", "d", "x", "left", "down", "0"), ("BLMOVE", "d", "x", "up", "left", "bad"),
    ("BLMOVE", "d", "x", "left", "left", "bad"), ("BLMOVE", "d", "x", "left", "left", "-1"),
    ("BRPOPLPUSH", "d", "x", "bad"), ("BRPOPLPUSH", "d", "x", "-1"), ("BRPOPLPUSH", "s", "x", "0"), ("BRPOPLPUSH", "d", "s", "0"),
    ("RPUSH", "m", "1", "2", "3", "4"),
    ("BLMPOP", "0", "2", "nokey", "m", "LEFT"), ("BLMPOP", "0", "1", "m", "RIGHT", "COUNT", "2"),
    ("BLMPOP", "0.1", "2", "m", "s", "left", "count", "10"), ("EXISTS", "m"), ("BLMPOP", "0", "2", "s", "m", "left"),
    ("BLMPOP", "x", "1", "m", "left"), ("BLMPOP", "-1", "1", "m", "left"), ("BLMPOP", "0", "0", "m", "left"),
    ("BLMPOP", "x", "0", "m", "left"), ("BLMPOP", "x", "1", "m", "middle"), ("BLMPOP", "0", "1", "m", "left", "count", "0"),
    ("BLMPOP", "x", "1", "m", "left", "count", "0"), ("BLMPOP", "0", "2", "m", "left"), ("BLMPOP", "0", "1", "m", "left", "x"),
    # In MULTI nothing blocks: the timeout reply comes at once (BLMOVE's is a null bulk, not a null array).
    ("MULTI",), ("BLPOP", "nokey", "0"), ("BRPOP", "nokey", "nokey2", "0"), ("BLMOVE", "nokey", "x", "left", "left", "0"),
    ("BRPOPLPUSH", "nokey", "x", "0"), ("BLMPOP", "0", "1", "nokey", "left"), ("RPUSH", "nokey", "v"),
    ("BLPOP", "nokey", "0"), ("EXEC",),
    ("MULTI",), ("RPUSH", "q", "a", "b"), ("BLMOVE", "q", "q2", "left", "left", "0"), ("BLMPOP", "0", "1", "q", "left"),
    ("BRPOPLPUSH", "q", "q2", "0"), ("LRANGE", "q2", "0", "-1"), ("EXEC",),
]  # fmt: skip


@pytest.mark.parametrize(
    "script",
    [ERRORS_AND_EDGES, LPOS_CASES, LREM_LTRIM_CASES, MOVE_CASES, BLOCKING_IMMEDIATE],
    ids=["push-pop-range-index-set-insert", "lpos", "lrem-ltrim", "lmove-lmpop", "blocking-immediate"],
)
def test_scripted(p, script):
    p.check(script, reset=False)


def test_short_timeouts_expire_like_redis(p):
    """Sub-second timeouts on missing keys: both servers answer with the timeout reply."""
    p.check(
        [
            ("BLPOP", "nokey", "0.01"),
            ("BRPOP", "nokey", "nokey2", "0.02"),
            ("BLMOVE", "nokey", "dst", "LEFT", "RIGHT", "0.01"),
            ("BRPOPLPUSH", "nokey", "dst", "0.01"),
            ("BLMPOP", "0.01", "2", "nokey", "nokey2", "RIGHT", "COUNT", "3"),
            ("BLPOP", "nokey", "0.0001"),  # rounded up to 1 ms, not "forever"
            ("BLPOP", "nokey", "1e-9"),
            ("BLPOP", "nokey", "0x0.1p-3"),
            ("EXISTS", "dst"),
        ]
    )


def test_wrong_type_everywhere(p):
    p.run("SET", "s", "v")
    p.run("RPUSH", "l", "a")
    for cmd in [
        ("LLEN", "s"), ("LRANGE", "s", "0", "-1"), ("LINDEX", "s", "0"), ("LSET", "s", "0", "x"),
        ("LINSERT", "s", "before", "a", "b"), ("LREM", "s", "0", "a"), ("LTRIM", "s", "0", "1"), ("LPOS", "s", "a"),
        ("LMOVE", "s", "l", "left", "left"), ("LMOVE", "l", "s", "left", "left"), ("RPOPLPUSH", "l", "s"),
        ("LMPOP", "1", "s", "left"), ("BLPOP", "s", "0"), ("BRPOP", "s", "0"), ("BLMPOP", "0", "1", "s", "left"),
        ("BLMOVE", "s", "l", "left", "left", "0"), ("BLMOVE", "l", "s", "left", "left", "0"), ("BRPOPLPUSH", "l", "s", "0"),
        ("GET", "l"), ("INCR", "l"), ("APPEND", "l", "x"), ("LRANGE", "l", "0", "-1"),
    ]:  # fmt: skip
        p.run(*cmd)


def test_encoding_is_quicklist_at_every_size(p):
    """Redis 7.0 reports "quicklist" for every list; our compact/deque switch must not show."""
    p.run("RPUSH", "l", "a")
    p.run("OBJECT", "ENCODING", "l")
    for i in range(200):
        p.run("RPUSH", "l", "x" * (i % 50))
        if i % 37 == 0:
            p.run("OBJECT", "ENCODING", "l")
    p.run("RPUSH", "big", "v" * 5000)
    p.run("OBJECT", "ENCODING", "big")
    p.run("CONFIG", "SET", "list-max-listpack-size", "4")
    p.run("RPUSH", "small", "a", "b")
    p.run("OBJECT", "ENCODING", "small")
    p.run("CONFIG", "SET", "list-max-listpack-size", "-2")
    p.run("TYPE", "l")
    p.run("LLEN", "l")


def test_size_crossings_keep_content(p):
    """Grow past the compact limits (entries and bytes) and shrink back, checking content each way."""
    for n in (30, 64, 65, 70, 130):
        p.run("DEL", "l")
        p.run("RPUSH", "l", *["e%d" % i for i in range(n)])
        p.run("LRANGE", "l", "0", "-1")
        p.run("LINDEX", "l", str(n // 2))
        p.run("LSET", "l", "-1", "last")
        p.run("LINSERT", "l", "BEFORE", "e1", "ins")
        p.run("LPOS", "l", "e3", "RANK", "-1")
        p.run("LRANGE", "l", "10", "20")
        p.run("LRANGE", "l", "-20", "-10")
        p.run("RPOP", "l", "40")
        p.run("LRANGE", "l", "0", "-1")
        p.run("LPOP", "l", "5")
        p.run("LRANGE", "l", "0", "-1")
    # Long elements: the byte limit, not the count
    p.run("DEL", "l")
    for i in range(12):
        p.run("LPUSH", "l", "%d" % i + "z" * 300)
        p.run("LINDEX", "l", "-1")
    p.run("LRANGE", "l", "0", "-1")
    p.run("LTRIM", "l", "2", "4")
    p.run("LRANGE", "l", "0", "-1")


def test_binary_and_odd_elements(p):
    odd = [b"", b"\r\n", b"$3\r\nabc\r\n", b"*1\r\n", b"\x00\xff", b"-1", b"9223372036854775808", b" "]
    p.run("RPUSH", "l", *odd)
    p.run("LRANGE", "l", "0", "-1")
    for x in odd:
        p.run("LPOS", "l", x, "COUNT", "0")
        p.run("LREM", "l", "1", x)
        p.run("RPUSH", "l", x, x)
    p.run("LRANGE", "l", "0", "-1")
    p.run("RPOP", "l", "3")
    p.run("LINSERT", "l", "AFTER", b"", b"\r\n")
    p.run("LRANGE", "l", "0", "-1")


def test_dirty_counter_per_command(p):
    """rdb_changes_since_last_save moves by what Redis counts (pushed, popped, removed, trimmed)."""

    def dirty(conn) -> int:
        from .harness import encode_command

        conn.send(encode_command(("INFO", "persistence")))
        info = conn.read_reply()
        for line in info.split(b"\r\n"):
            if line.startswith(b"rdb_changes_since_last_save:"):
                return int(line.split(b":")[1])
        raise AssertionError(info)

    script = [
        ("RPUSH", "l", "a", "b", "c", "d", "e", "f", "g", "h"), ("LPUSH", "l", "x", "y"), ("LPUSHX", "l", "x", "y"),
        ("LPOP", "l", "3"), ("LPOP", "l", "0"), ("RPOP", "l"), ("LPOP", "l", "100"), ("RPUSH", "l", "a", "b", "a", "c", "a"),
        ("LREM", "l", "0", "a"), ("LREM", "l", "0", "zz"), ("LTRIM", "l", "1", "1"), ("LTRIM", "l", "0", "-1"),
        ("RPUSH", "l", "a", "b", "c", "d"), ("LSET", "l", "0", "q"), ("LINSERT", "l", "before", "q", "z"),
        ("LINSERT", "l", "before", "nope", "z"), ("LMOVE", "l", "l2", "left", "left"), ("RPOPLPUSH", "l", "l2"),
        ("LMPOP", "1", "l", "left", "count", "10"), ("RPUSH", "l", "a", "b", "c"), ("BLPOP", "l", "0"),
        ("BLMPOP", "0", "1", "l", "left", "count", "5"), ("RPUSH", "l", "a", "b", "c", "d", "e"), ("LTRIM", "l", "10", "20"),
    ]  # fmt: skip
    for cmd in script:
        before = dirty(p.redis), dirty(p.respdb)
        p.run(*cmd)
        after = dirty(p.redis), dirty(p.respdb)
        assert after[0] - before[0] == after[1] - before[1], (cmd, before, after)


# ---------------------------------------------------------------------------
# Generated sequences

KEYS = ["a", "b", "c", "s"]  # "s" usually holds a string (WRONGTYPE paths)
ELEMS = ["x", "y", "z", "1", "-1", "", "long" * 40]
INDEXES = ["0", "1", "2", "-1", "-2", "-3", "3", "5", "10", "-10", "70", "-70"]

key = st.sampled_from(KEYS)
elem = st.sampled_from(ELEMS)
index = st.sampled_from(INDEXES)
side = st.sampled_from(["LEFT", "RIGHT", "left", "right"])
count = st.sampled_from(["0", "1", "2", "3", "10", "100", "-1"])


@st.composite
def list_command(draw):
    kind = draw(st.integers(0, 24))
    k = draw(key)
    if kind in (0, 1):
        return (draw(st.sampled_from(["LPUSH", "RPUSH"])), k, *draw(st.lists(elem, min_size=1, max_size=4)))
    if kind == 2:  # many at once: crosses the compact limits
        n = draw(st.integers(20, 80))
        return (draw(st.sampled_from(["LPUSH", "RPUSH"])), k, *[draw(elem) + str(i) for i in range(n)])
    if kind == 3:
        return (draw(st.sampled_from(["LPUSHX", "RPUSHX"])), k, draw(elem))
    if kind in (4, 5):
        cmd = draw(st.sampled_from(["LPOP", "RPOP"]))
        return (cmd, k) if draw(st.booleans()) else (cmd, k, draw(count))
    if kind == 6:
        return ("LLEN", k)
    if kind in (7, 8):
        return ("LRANGE", k, draw(index), draw(index))
    if kind == 9:
        return ("LINDEX", k, draw(index))
    if kind == 10:
        return ("LSET", k, draw(index), draw(elem))
    if kind == 11:
        return ("LINSERT", k, draw(st.sampled_from(["BEFORE", "AFTER"])), draw(elem), draw(elem))
    if kind == 12:
        return ("LREM", k, draw(st.sampled_from(["0", "1", "-1", "2", "-2", "50"])), draw(elem))
    if kind == 13:
        return ("LTRIM", k, draw(index), draw(index))
    if kind == 14:
        opts: list[str] = []
        for name, vals in (
            ("RANK", ["1", "2", "-1", "-2", "0"]),
            ("COUNT", ["0", "1", "2"]),
            ("MAXLEN", ["0", "1", "5"]),
        ):
            if draw(st.booleans()):
                opts += [name, draw(st.sampled_from(vals))]
        return ("LPOS", k, draw(elem), *opts)
    if kind == 15:
        return ("LMOVE", k, draw(key), draw(side), draw(side))
    if kind == 16:
        return ("RPOPLPUSH", k, draw(key))
    if kind == 17:
        keys = draw(st.lists(key, min_size=1, max_size=3))
        extra = ("COUNT", draw(st.sampled_from(["1", "2", "5", "100"]))) if draw(st.booleans()) else ()
        return ("LMPOP", str(len(keys)), *keys, draw(side), *extra)
    if kind == 18:
        return ("SET", "s", draw(elem))
    if kind == 19:
        return ("DEL", k)
    if kind == 20:
        # Blocking forms with a key that may hold data: a tiny timeout keeps a miss short.
        return (draw(st.sampled_from(["BLPOP", "BRPOP"])), k, draw(key), "0.001")
    if kind == 21:
        return ("BLMOVE", k, draw(key), draw(side), draw(side), "0.001")
    if kind == 22:
        keys = draw(st.lists(key, min_size=1, max_size=2))
        return ("BLMPOP", "0.001", str(len(keys)), *keys, draw(side), "COUNT", draw(st.sampled_from(["1", "3"])))
    if kind == 23:
        return draw(st.sampled_from([("EXPIRE", k, "100"), ("TTL", k), ("PERSIST", k), ("OBJECT", "ENCODING", k)]))
    return ("EXISTS", *KEYS)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cmds=st.lists(list_command(), min_size=1, max_size=30))
def test_random_sequences(pair, cmds):
    pair.check(cmds)
    for k in KEYS:
        pair.run("TYPE", k)
        if k != "s":
            pair.run("LRANGE", k, "0", "-1")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(runs=st.lists(st.tuples(list_command(), st.integers(1, 4)), min_size=1, max_size=20))
def test_random_pipelines_with_runs(pair, runs):
    """Each command repeated 1-4 times in a row, all in one pipeline (Engine.execute_run's
    runs); blocking commands are left to the sequential test."""
    cmds = [c for c, times in runs for _ in range(times) if not str(c[0]).startswith("B")]
    pair.reset()
    pair.pipeline(cmds)
    for k in KEYS:
        pair.run("TYPE", k)
        if k != "s":
            pair.run("LRANGE", k, "0", "-1")


def test_keyspace_events(p, redis_server, respdb_server):
    """The notifications list commands send, in order (pattern-subscribed to every event)."""
    from conftest import RawConn

    from .harness import encode_command

    p.run("CONFIG", "SET", "notify-keyspace-events", "KEA")
    subs = []
    for port in (redis_server.port, respdb_server.port):
        s = RawConn(port)
        s.send(encode_command(("PSUBSCRIBE", "__key*__:*")))
        s.read_reply()
        subs.append(s)
    script = [
        ("RPUSH", "l", "a", "b", "c"), ("LPUSH", "l", "z"), ("LPUSHX", "l", "y"), ("RPUSHX", "nokey", "y"),
        ("LPOP", "l"), ("RPOP", "l", "2"), ("LPOP", "l", "0"), ("LSET", "l", "0", "q"), ("LINSERT", "l", "BEFORE", "q", "p"),
        ("LINSERT", "l", "BEFORE", "nope", "p"), ("LREM", "l", "1", "p"), ("LREM", "l", "1", "nope"), ("LTRIM", "l", "0", "-1"),
        ("RPUSH", "l", "m", "n"), ("LMOVE", "l", "l2", "LEFT", "RIGHT"), ("RPOPLPUSH", "l2", "l2"),
        ("LMOVE", "l", "l", "LEFT", "RIGHT"), ("LMPOP", "2", "nokey", "l", "RIGHT", "COUNT", "10"),
        ("BLPOP", "l2", "0"), ("RPUSH", "l", "1", "2", "3"), ("BLMOVE", "l", "l3", "RIGHT", "LEFT", "0"),
        ("BLMPOP", "0", "1", "l", "LEFT", "COUNT", "1"), ("BRPOP", "l", "0"), ("LTRIM", "l3", "5", "10"),
        ("RPUSH", "l", "x"), ("LPOP", "l", "5"), ("EXPIRE", "l", "100"), ("SET", "done", "1"),
    ]  # fmt: skip
    try:
        for cmd in script:
            p.run(*cmd)
        streams = []
        for s in subs:
            msgs = []
            while True:
                m = s.read_reply()
                msgs.append(m)
                if b"done" in m and b"__keyevent" in m:
                    break
            streams.append(msgs)
        assert streams[0] == streams[1]
        assert len(streams[0]) > 40
    finally:
        for s in subs:
            s.close()
        p.run("CONFIG", "SET", "notify-keyspace-events", "")
