"""SORT and SORT_RO, differentially against a real redis-server (byte-exact replies, RESP2 and RESP3),
plus blocking and encoding side effects.

SORT's numeric parsing uses strtod and checks a stale `errno` in Redis, so a value that overflows
leaves Redis's errno at ERANGE until something resets it; every SORT here is preceded by an
INCRBYFLOAT, which resets it, so that each comparison stands on its own.
"""

from __future__ import annotations

import threading
import time

import pytest
import redis as redis_py
from differential.harness import Mismatch, Pair, encode_command, parse, serialize
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.fixture(scope="module", params=[2, 3], ids=["resp2", "resp3"])
def pair(request, redis_server, respdb_server):
    p = Pair(redis_server.port, respdb_server.port, proto=request.param)
    yield p
    p.close()


@pytest.fixture
def p(pair):
    pair.reset()
    return pair


def _raw(conn, *args) -> bytes:
    conn.send(encode_command(args))
    return conn.read_reply()


def sort(p, *cmd) -> None:
    """Run a SORT on both with Redis's errno reset first; a set in hash order compares as a multiset."""
    p.both("INCRBYFLOAT", "__errno_reset__", "0")
    a, b = p.both(*cmd)
    if a != b:
        na, nb = parse(a), parse(b)
        unordered = _encoding(p, cmd[1]) == b"hashtable" and _nosort(cmd)
        if (
            not unordered
            or not isinstance(na[1], list)
            or sorted(map(serialize, na[1])) != sorted(map(serialize, nb[1] or []))
        ):
            raise Mismatch(cmd, a, b, list(p.history))
    p.history.append(cmd)


def _encoding(p, key) -> bytes:
    return parse(_raw(p.redis, "OBJECT", "ENCODING", key))[1] or b""


def _nosort(cmd) -> bool:
    """BY <no star> without STORE: a set comes out in its (hash) iteration order."""
    args = [str(x) for x in cmd]
    upper = [a.upper() for a in args]
    if "STORE" in upper:
        return False
    return any(upper[i] == "BY" and "*" not in args[i + 1].split("\x00")[0] for i in range(len(args) - 1))


def script(p, cmds) -> None:
    for cmd in cmds:
        if cmd[0].upper() in ("SORT", "SORT_RO"):
            sort(p, *cmd)
        else:
            p.run(*cmd)


# ---------------------------------------------------------------------------

LISTS = [
    ("RPUSH", "l", "3", "1", "2", "10", "-1.5", "1e2", "0x10", " 7", "-inf", "inf"),
    ("SORT", "l"), ("SORT", "l", "DESC"), ("SORT", "l", "ASC"), ("SORT", "l", "ALPHA"), ("SORT", "l", "alpha", "desc"),
    ("SORT", "l", "LIMIT", "1", "3"), ("SORT", "l", "LIMIT", "-5", "3"), ("SORT", "l", "LIMIT", "2", "-1"),
    ("SORT", "l", "LIMIT", "100", "3"), ("SORT", "l", "LIMIT", "0", "0"), ("SORT", "l", "LIMIT", "9", "1"),
    ("SORT", "l", "LIMIT", "10", "1"), ("SORT", "l", "LIMIT", "0", "9223372036854775807"),
    ("SORT", "l", "LIMIT", "1", "2", "LIMIT", "3", "4"), ("SORT", "l", "DESC", "ASC"), ("SORT", "l", "BY", "nosort"),
    ("SORT", "l", "BY", "nosort", "DESC"), ("SORT", "l", "BY", "nosort", "LIMIT", "2", "3"),
    ("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "2", "3"), ("SORT", "l", "BY", "nosort", "LIMIT", "20", "3"),
    ("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "-2", "30"), ("SORT_RO", "l", "DESC", "LIMIT", "0", "2"),
    ("SORT", "l", "GET", "#"), ("SORT", "l", "GET", "#", "GET", "#"), ("SORT", "l", "GET", "nostar"),
    ("SORT", "l", "BY", "nosort", "BY", "w_*"), ("SORT", "l", "BY", "w_*", "BY", "nosort"),
    ("RPUSH", "dup", "b", "a", "b", "c", "a"), ("SORT", "dup", "ALPHA"), ("SORT", "dup", "ALPHA", "DESC", "LIMIT", "1", "3"),
    ("RPUSH", "ties", "10", "010", "1e1", "10.0", "9", "+10"), ("SORT", "ties"), ("SORT", "ties", "DESC"),
    ("RPUSH", "e", ""), ("SORT", "e"), ("SORT", "nokey"), ("SORT", "nokey", "ALPHA", "LIMIT", "0", "1"),
    ("SORT", "nokey", "BY", "nosort", "DESC"),
]  # fmt: skip

ERRORS = [
    ("RPUSH", "l", "1", "x"), ("SORT", "l"), ("SORT", "l", "ALPHA"), ("SORT", "l", "LIMIT", "0", "0"),
    ("SORT", "l", "BY", "nosort"), ("SORT", "l", "LIMIT", "1"), ("SORT", "l", "LIMIT", "a", "1"),
    ("SORT", "l", "LIMIT", "1", "b"), ("SORT", "l", "LIMIT", "1.5", "1"), ("SORT", "l", "FOO"), ("SORT", "l", "BY"),
    ("SORT", "l", "GET"), ("SORT", "l", "STORE"), ("SORT_RO", "l", "STORE", "d"), ("SORT_RO", "l", "FOO"),
    ("SORT", "l", "ALPHA", "FOO"), ("SORT", "l", "asc\x00junk"), ("SORT", "l", "alpha\x00", "limit\x00x", "0", "1"),
    ("SET", "str", "x"), ("SORT", "str"), ("SORT", "str", "FOO"), ("SORT", "str", "LIMIT", "x", "1"),
    ("SORT_RO", "str"), ("HSET", "h", "a", "1"), ("SORT", "h"), ("SORT", "l", "STORE", "str"),
    ("RPUSH", "n", "nan", "1"), ("SORT", "n"), ("SORT", "n", "ALPHA"), ("RPUSH", "t", "5 ", "1"), ("SORT", "t"),
    ("RPUSH", "bigs", "1e400"), ("SORT", "bigs"), ("RPUSH", "small", "1e-400"), ("SORT", "small"),
    ("RPUSH", "sub", "1e-310"), ("SORT", "sub"), ("RPUSH", "hexsub", "0x1p-1074"), ("SORT", "hexsub"),
    ("RPUSH", "nul", "1.5\x00junk", "1"), ("SORT", "nul"), ("RPUSH", "sp", "  "), ("SORT", "sp"),
    ("RPUSH", "odd", "infinity", "-Infinity", ".5", "5.", "0X1P3", "1E2"), ("SORT", "odd"), ("SORT", "odd", "DESC"),
]  # fmt: skip

PATTERNS = [
    ("RPUSH", "l", "1", "2", "3", "4", "5"), ("SET", "w_1", "50"), ("SET", "w_2", "-3"), ("SET", "w_3", "7.5"),
    ("SET", "w_4", "x"), ("SORT", "l", "BY", "w_*"), ("SORT", "l", "BY", "w_*", "ALPHA"), ("SET", "w_4", "50"),
    ("SORT", "l", "BY", "w_*"), ("SORT", "l", "BY", "w_*", "DESC"), ("SORT", "l", "BY", "w_*", "GET", "#", "GET", "w_*"),
    ("SORT", "l", "BY", "w_*", "LIMIT", "1", "2", "GET", "w_*"), ("SORT", "l", "BY", "w_*", "ALPHA", "DESC", "LIMIT", "0", "3"),
    ("HSET", "h_1", "f", "b", "g", "9"), ("HSET", "h_2", "f", "a"), ("HSET", "h_3", "g", "1"), ("SET", "h_4", "str"),
    ("SORT", "l", "BY", "h_*->f", "ALPHA"), ("SORT", "l", "BY", "h_*->g"), ("SORT", "l", "BY", "h_*->f", "ALPHA", "GET", "h_*->f"),
    ("SORT", "l", "BY", "nosort", "GET", "h_*->f", "GET", "h_*->g", "GET", "h_*->", "GET", "h_*"),
    ("SET", "h_1->", "arrow"), ("SORT", "l", "BY", "nosort", "GET", "h_*->"), ("SORT", "l", "GET", "->*"),
    ("SET", "->1", "pre"), ("SORT", "l", "GET", "->*"), ("SET", "x1y", "mid"), ("SORT", "l", "GET", "x*y"),
    ("SORT", "l", "GET", "x*y*"), ("SET", "x1y*", "two"), ("SORT", "l", "GET", "x*y*"), ("SORT", "l", "GET", "*"),
    ("SET", "1", "self"), ("SORT", "l", "GET", "*", "GET", "#", "BY", "*"), ("HSET", "hh1", "a->b", "deep"),
    ("SORT", "l", "GET", "hh*->a->b"), ("SORT", "l", "GET", "#\x00x"), ("SORT", "l", "GET", "w_*\x00tail"),
    ("SET", "w_1\x00tail", "nul"), ("SORT", "l", "GET", "w_*\x00tail"), ("HSET", "h_1", "f\x00z", "nf"),
    ("SORT", "l", "GET", "h_*->f\x00z"), ("SORT", "l", "BY", "no\x00*star"), ("SORT", "l", "BY", "w_*", "GET", "h_*->\x00x"),
    ("RPUSH", "empty_by", "a", "b", "c"), ("SORT", "empty_by", "BY", "missing_*"), ("SORT", "empty_by", "BY", "missing_*", "ALPHA"),
    ("SORT", "empty_by", "BY", "missing_*", "ALPHA", "DESC"), ("SORT", "empty_by", "BY", "missing_*", "ALPHA", "LIMIT", "1", "1"),
]  # fmt: skip

STORE = [
    ("RPUSH", "l", "3", "1", "2"), ("SORT", "l", "STORE", "out"), ("LRANGE", "out", "0", "-1"), ("TYPE", "out"),
    ("OBJECT", "ENCODING", "out"), ("EXPIRE", "out", "100"), ("SORT", "l", "DESC", "STORE", "out"), ("TTL", "out"),
    ("LRANGE", "out", "0", "-1"), ("SORT", "l", "GET", "nokey_*", "STORE", "out"), ("LRANGE", "out", "0", "-1"),
    ("SORT", "l", "LIMIT", "5", "5", "STORE", "out"), ("EXISTS", "out"), ("SORT", "nokey", "STORE", "out"),
    ("SET", "str", "v"), ("SORT", "l", "STORE", "str"), ("TYPE", "str"), ("SORT", "l", "STORE", "l"), ("LRANGE", "l", "0", "-1"),
    ("SADD", "s", "b", "c", "a", "10", "9"), ("SORT", "s", "BY", "nosort", "STORE", "o2"), ("LRANGE", "o2", "0", "-1"),
    ("SORT", "s", "BY", "nosort", "STORE", "o2", "DESC", "LIMIT", "1", "2"), ("LRANGE", "o2", "0", "-1"),
    ("SORT", "s", "ALPHA", "STORE", "o3"), ("LRANGE", "o3", "0", "-1"), ("SADD", "bin", "a\x00b", "a\x00a", "a"),
    ("SORT", "bin", "ALPHA", "STORE", "o4"), ("LRANGE", "o4", "0", "-1"),
    ("RPUSH", "big", *[str(i % 97) for i in range(300)]), ("SORT", "big", "STORE", "o5"), ("LLEN", "o5"),
    ("LRANGE", "o5", "0", "5"), ("LRANGE", "o5", "-3", "-1"),
]  # fmt: skip

SETS_AND_ZSETS = [
    ("SADD", "i", "5", "-3", "10", "1"), ("SORT", "i"), ("SORT", "i", "DESC"), ("SORT", "i", "BY", "nosort"),
    ("SORT", "i", "BY", "nosort", "DESC", "LIMIT", "1", "2"), ("SORT", "i", "ALPHA"), ("SADD", "s", "b", "a", "c", "1"),
    ("SORT", "s", "ALPHA"), ("SORT", "s"), ("SORT", "s", "BY", "nosort"), ("SORT", "s", "BY", "nosort", "LIMIT", "0", "4"),
    ("SORT_RO", "s", "ALPHA", "LIMIT", "1", "2"),
    # From a script, a set sorted BY <constant> is sorted ALPHA (deterministic for replicas).
    ("EVAL", "return redis.call('sort', KEYS[1], 'by', 'nosort')", "1", "s"),
    ("EVAL", "return redis.call('sort', KEYS[1], 'by', 'nosort', 'desc', 'limit', '1', '2')", "1", "s"),
    ("EVAL", "return redis.call('sort_ro', KEYS[1], 'by', 'nosort', 'get', '#')", "1", "s"),
    ("ZADD", "z", "3", "a", "1", "b", "2", "c", "2", "d"), ("OBJECT", "ENCODING", "z"), ("SORT", "z", "BY", "nosort"),
    ("OBJECT", "ENCODING", "z"), ("SORT", "z", "BY", "nosort", "DESC"), ("SORT", "z", "BY", "nosort", "LIMIT", "1", "2"),
    ("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"), ("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "3", "5"),
    ("SORT", "z", "ALPHA", "DESC"), ("SORT", "z"), ("ZADD", "zn", "1", "10", "2", "9"), ("SORT", "zn"),
    ("SORT", "zn", "BY", "nosort", "GET", "#"), ("ZADD", "z2", "1", "x"), ("SORT_RO", "z2", "ALPHA"), ("OBJECT", "ENCODING", "z2"),
    ("ZADD", "z3", "1", "x"), ("SORT", "z3", "LIMIT", "0", "1"), ("OBJECT", "ENCODING", "z3"), ("ZADD", "z4", "1", "x"),
    ("SORT", "z4", "FOO"), ("OBJECT", "ENCODING", "z4"), ("ZADD", "z4", "2", "y"), ("ZRANGE", "z4", "0", "-1", "WITHSCORES"),
]  # fmt: skip


@pytest.mark.parametrize(
    "cmds",
    [LISTS, ERRORS, PATTERNS, STORE, SETS_AND_ZSETS],
    ids=["lists", "errors", "patterns", "store", "sets-zsets"],
)
def test_scripted(p, cmds):
    script(p, cmds)


def test_partial_sort_ties_follow_pqsort(p):
    """BY + ALPHA with many equal weights: the LIMIT window of Redis's partial quicksort."""
    import random

    rnd = random.Random(7)
    for n in (6, 7, 8, 41, 120):
        p.reset()
        els = [str(rnd.randint(0, 40)) for _ in range(n)]
        p.run("RPUSH", "l", *els)
        for e in set(els):
            if rnd.random() < 0.8:
                p.run("SET", "w_" + e, rnd.choice(["a", "b", "c"]))
        for start, count in ((0, 3), (2, 5), (n // 2, n), (n - 2, 1), (1, n - 2)):
            for extra in ((), ("DESC",)):
                sort(p, "SORT", "l", "BY", "w_*", "ALPHA", "LIMIT", start, count, *extra)
                sort(p, "SORT", "l", "BY", "nokey_*", "LIMIT", start, count, "ALPHA", *extra)
                sort(p, "SORT", "l", "BY", "w_*", "ALPHA", "LIMIT", start, count, "STORE", "o", *extra)
                p.run("LRANGE", "o", "0", "-1")


def test_keyspace_events(redis_server, respdb_server):
    from conftest import RawConn

    p = Pair(redis_server.port, respdb_server.port)
    p.reset()
    subs = []
    try:
        for conn in (p.redis, p.respdb):
            _raw(conn, "CONFIG", "SET", "notify-keyspace-events", "KEA")
        for port in (redis_server.port, respdb_server.port):
            s = RawConn(port)
            s.cmd("PSUBSCRIBE", "__keyevent@0__:*")
            subs.append(s)
        for cmd in (
            ("RPUSH", "l", "2", "1"), ("SORT", "l", "STORE", "o"), ("SORT", "l", "LIMIT", "9", "9", "STORE", "o"),
            ("SORT", "l", "LIMIT", "9", "9", "STORE", "o"), ("ZADD", "z", "1", "a"), ("SORT", "z", "ALPHA"),
            ("SORT", "z", "STORE", "z"), ("SORT", "z", "ALPHA", "STORE", "z"), ("SET", "__sentinel__", "1"),
        ):  # fmt: skip
            p.run(*cmd)
        events = []
        for s in subs:
            got = []
            while True:
                msg = parse(s.read_reply())
                if msg[1][3][1] == b"__sentinel__":
                    break
                got.append((msg[1][2][1], msg[1][3][1]))
            events.append(got)
        assert len(events[0]) >= 5
        assert events[0] == events[1]
    finally:
        for s in subs:
            s.close()
        for conn in (p.redis, p.respdb):
            _raw(conn, "CONFIG", "SET", "notify-keyspace-events", "")
        p.close()


@pytest.mark.parametrize("server", ["redis", "respdb"])
def test_store_wakes_a_blocked_client(server, redis_server, respdb_server):
    port = (redis_server if server == "redis" else respdb_server).port
    a = redis_py.Redis(port=port)
    b = redis_py.Redis(port=port)
    a.flushall()
    a.rpush("src", 3, 1, 2)
    got = []
    t = threading.Thread(target=lambda: got.append(b.blpop(["dst"], timeout=5)))
    t.start()
    time.sleep(0.2)
    assert a.sort("src", store="dst") == 3
    t.join(6)
    assert got == [(b"dst", b"1")]
    assert a.lrange("dst", 0, -1) == [b"2", b"3"]
    a.close()
    b.close()


# ---------------------------------------------------------------------------
# Random cases

ELEMENTS = st.sampled_from(["1", "2", "3", "10", "-1", "2.5", "a", "b", "B", "", "01", "1e1"])
WEIGHTS = st.sampled_from(["1", "2", "0", "-1", "x", "y", "1.5", "10"])


@st.composite
def sort_case(draw):
    els = draw(st.lists(ELEMENTS, min_size=0, max_size=12))
    weights = draw(st.dictionaries(ELEMENTS, WEIGHTS, max_size=8))
    hweights = draw(st.dictionaries(ELEMENTS, WEIGHTS, max_size=8))
    opts: list[str] = []
    by = draw(st.sampled_from([None, "w_*", "h_*->f", "nosort", "nokey_*"]))
    if by:
        opts += ["BY", by]
    if draw(st.booleans()):
        opts += ["LIMIT", str(draw(st.integers(-2, 14))), str(draw(st.integers(-2, 14)))]
    for _ in range(draw(st.integers(0, 2))):
        opts += ["GET", draw(st.sampled_from(["#", "w_*", "h_*->f", "h_*->g", "nokey_*"]))]
    if draw(st.booleans()):
        opts.append("ALPHA")
    if draw(st.booleans()):
        opts.append(draw(st.sampled_from(["ASC", "DESC"])))
    store = draw(st.booleans())
    return els, weights, hweights, opts, store


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=sort_case())
def test_random_sorts(pair, case):
    els, weights, hweights, opts, store = case
    pair.reset()
    if els:
        pair.run("RPUSH", "l", *els)
    for k, v in weights.items():
        pair.run("SET", "w_" + k, v)
    for k, v in hweights.items():
        pair.run("HSET", "h_" + k, "f", v)
    if store:
        sort(pair, "SORT", "l", *opts, "STORE", "dst")
        pair.run("LRANGE", "dst", "0", "-1")
    else:
        sort(pair, "SORT", "l", *opts)
        sort(pair, "SORT_RO", "l", *opts)


def test_dirty_counter(p):
    def dirty(conn) -> int:
        for line in _raw(conn, "INFO", "persistence").split(b"\r\n"):
            if line.startswith(b"rdb_changes_since_last_save:"):
                return int(line.split(b":")[1])
        raise AssertionError("no rdb_changes_since_last_save")

    p.run("RPUSH", "l", "3", "1", "2")
    for cmd in (
        ("SORT", "l", "STORE", "o"), ("SORT", "l", "GET", "#", "GET", "x*", "STORE", "o"), ("SORT", "l", "LIMIT", "5", "1", "STORE", "o"),
        ("SORT", "l", "LIMIT", "5", "1", "STORE", "o"), ("SORT", "l"),
    ):  # fmt: skip
        before = dirty(p.redis), dirty(p.respdb)
        sort(p, *cmd)
        after = dirty(p.redis), dirty(p.respdb)
        # (sort() also runs an INCRBYFLOAT on both: the same +1 on each side)
        assert after[0] - before[0] == after[1] - before[1], (cmd, before, after)
