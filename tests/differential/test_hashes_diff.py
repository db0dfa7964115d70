"""Hashes, differentially: the same commands to redis-server and respdb, replies compared byte for
byte, in RESP2 and RESP3 (the `p` / `pair` fixtures run each test once per protocol).

A listpack hash answers in insertion order, which both servers must agree on exactly; a hashtable
hash answers in Redis's hash order, so HKEYS/HVALS/HGETALL/HSCAN of a hashtable hash are compared as
sets of fields (or pairs). HRANDFIELD is random: its replies are checked for shape, length,
membership and uniqueness, and for the exact reply where Redis's is deterministic.
"""

from __future__ import annotations

import pytest
from conftest import RawConn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import Mismatch, encode_command, parse, serialize


def _raw(conn, *args) -> bytes:
    conn.send(encode_command(args))
    return conn.read_reply()


def _encoding(p, key) -> bytes:
    return _raw(p.redis, "OBJECT", "ENCODING", key)


UNORDERED = {"HKEYS", "HVALS", "HGETALL"}


def _sorted_items(node, pairs: bool):
    t, items = node
    if not isinstance(items, list):
        return node
    if pairs:
        chunks = [tuple(serialize(x) for x in items[i : i + 2]) for i in range(0, len(items), 2)]
        return t, sorted(chunks)
    return t, sorted(serialize(x) for x in items)


def run(p, *cmd) -> bytes:
    """Like p.run, but HKEYS/HVALS/HGETALL on a hashtable-encoded hash compare as sets."""
    name = str(cmd[0]).upper()
    if name not in UNORDERED:
        return p.run(*cmd)
    a, b = p.both(*cmd)
    if a != b:
        if _encoding(p, cmd[1]) != b"$9\r\nhashtable\r\n" or _sorted_items(
            parse(a), name == "HGETALL"
        ) != _sorted_items(parse(b), name == "HGETALL"):
            raise Mismatch(cmd, a, b, list(p.history))
    p.history.append(cmd)
    return a


# ---------------------------------------------------------------------------
# Scripted cases

BASICS = [
    ("HSET", "h", "a", "1", "b", "2", "c", "3"), ("HSET", "h", "a", "10", "d", "4"), ("HGETALL", "h"),
    ("HKEYS", "h"), ("HVALS", "h"), ("HLEN", "h"), ("HGET", "h", "a"), ("HGET", "h", "zz"), ("HGET", "nokey", "a"),
    ("HMGET", "h", "a", "zz", "d"), ("HMGET", "nokey", "a", "b"), ("HEXISTS", "h", "b"), ("HEXISTS", "h", "zz"),
    ("HEXISTS", "nokey", "a"), ("HSTRLEN", "h", "a"), ("HSTRLEN", "h", "zz"), ("HSTRLEN", "nokey", "a"),
    ("HDEL", "h", "b", "zz", "b"), ("HGETALL", "h"), ("HSET", "h", "b", "back"), ("HGETALL", "h"),
    ("HMSET", "h", "e", "5", "a", "11"), ("HGETALL", "h"), ("HSETNX", "h", "a", "no"), ("HSETNX", "h", "f", "6"),
    ("HSETNX", "new", "f", "v"), ("HGETALL", "new"), ("HGETALL", "h"), ("HGETALL", "nokey"), ("HKEYS", "nokey"),
    ("HVALS", "nokey"), ("HLEN", "nokey"), ("HDEL", "nokey", "a"), ("HDEL", "h", "a", "c", "d", "e", "b", "f"),
    ("EXISTS", "h"), ("HSET", "h", "", ""), ("HGET", "h", ""), ("HSTRLEN", "h", ""), ("HGETALL", "h"),
    ("HSET", "bin", "f\x00\r\n", "v\x00\xff"), ("HGETALL", "bin"), ("HSET", "h2", "a", "a", "b", "a"), ("HGET", "h2", "a"),
    ("HGET", "h2", "b"), ("HSET", "h2", "a", "b"), ("HGET", "h2", "b"), ("HDEL", "h2", "a"), ("HGETALL", "h2"),
    ("TYPE", "h2"), ("OBJECT", "ENCODING", "h2"), ("EXPIRE", "h2", "100"), ("HSET", "h2", "x", "y"), ("TTL", "h2"),
    ("HINCRBY", "h2", "n", "5"), ("TTL", "h2"), ("HDEL", "h2", "x", "n", "b"), ("TTL", "h2"),
]  # fmt: skip

ERRORS = [
    ("HSET", "h", "a"), ("HSET", "h", "a", "b", "c"), ("HMSET", "h", "a"), ("HMSET", "h", "a", "b", "c"), ("HSET", "h"),
    ("HGET", "h"), ("HMGET", "h"), ("HDEL", "h"), ("HSETNX", "h", "a"), ("HINCRBY", "h", "a"),
    ("HSET", "h", "a", "1"), ("HINCRBY", "h", "a", "x"), ("HINCRBY", "h", "a", "1.5"), ("HINCRBY", "h", "a", " 1"),
    ("HINCRBY", "h", "a", "9223372036854775808"), ("HINCRBY", "h", "a", "9223372036854775806"),
    ("HINCRBY", "h", "a", "1"), ("HINCRBY", "h", "a", "-1"), ("HGET", "h", "a"), ("HSET", "h", "m", "-9223372036854775808"),
    ("HINCRBY", "h", "m", "-1"), ("HINCRBY", "h", "m", "0"), ("HSET", "h", "s", "abc"), ("HINCRBY", "h", "s", "1"),
    ("HSET", "h", "sp", " 1"), ("HINCRBY", "h", "sp", "1"), ("HSET", "h", "z", "007"), ("HINCRBY", "h", "z", "1"),
    ("HINCRBY", "h", "new", "-9223372036854775808"), ("HGET", "h", "new"), ("HINCRBYFLOAT", "h", "x", "abc"),
    ("HINCRBYFLOAT", "h", "x", "inf"), ("HINCRBYFLOAT", "h", "x", "-inf"), ("HINCRBYFLOAT", "h", "x", "nan"),
    ("HINCRBYFLOAT", "h", "x", ""), ("HINCRBYFLOAT", "h", "x", " 1"), ("HINCRBYFLOAT", "h", "s", "1"),
    ("HSET", "h", "i", "inf"), ("HINCRBYFLOAT", "h", "i", "1"), ("HINCRBYFLOAT", "h", "x", "1e4932"),
    ("HINCRBYFLOAT", "h", "x", "1e4932"), ("HGET", "h", "x"), ("HINCRBYFLOAT", "h", "y", "1.5"), ("HINCRBYFLOAT", "h", "y", "0.1"),
    ("HINCRBYFLOAT", "h", "y", "-1.6"), ("HINCRBYFLOAT", "h", "y", "1e-20"), ("HINCRBYFLOAT", "h", "y", "0x10"),
    ("HINCRBYFLOAT", "h", "y", "1e300"), ("HINCRBYFLOAT", "h", "big", "9223372036854775807"), ("HINCRBYFLOAT", "h", "big", "1"),
    ("HINCRBY", "h", "y", "1"), ("HINCRBYFLOAT", "h", "a", "0.5"), ("HINCRBYFLOAT", "h", "m", "-0.5"),
    ("HINCRBYFLOAT", "h", "u", "1e-4940"), ("HGET", "h", "u"), ("HINCRBYFLOAT", "h", "w", "-0"), ("HGET", "h", "w"),
    ("HINCRBYFLOAT", "h", "v", "5.0e3"), ("HGET", "h", "v"), ("HGETALL", "h"),
    ("HRANDFIELD", "h", "x"), ("HRANDFIELD", "h", "1", "x"), ("HRANDFIELD", "h", "1", "withvalues", "x"),
    ("HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"), ("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"),
    ("HRANDFIELD", "h", "-9223372036854775808"), ("HRANDFIELD", "h", "-9223372036854775808", "WITHVALUES"),
    ("HRANDFIELD", "nokey", "-9223372036854775808"),
    ("HRANDFIELD", "h", "0"), ("HRANDFIELD", "h", "0", "WITHVALUES"), ("HRANDFIELD", "nokey"), ("HRANDFIELD", "nokey", "5"),
    ("HRANDFIELD", "nokey", "-5", "WITHVALUES"), ("HRANDFIELD", "nokey", "x"), ("HRANDFIELD", "h", "100"),
    ("HRANDFIELD", "h", "100", "WITHVALUES"),
    ("HSCAN", "h", "0"), ("HSCAN", "h", "123"), ("HSCAN", "h", "x"), ("HSCAN", "h", "-1"), ("HSCAN", "h", "0", "COUNT", "0"),
    ("HSCAN", "h", "0", "COUNT", "x"), ("HSCAN", "h", "0", "MATCH"), ("HSCAN", "h", "0", "TYPE", "hash"),
    ("HSCAN", "h", "0", "NOVALUES"), ("HSCAN", "h", "0", "MATCH", "[a-m]*", "COUNT", "1"), ("HSCAN", "h", "0", "match", "*"),
    ("HSCAN", "nokey", "0", "COUNT", "0"), ("HSCAN", "nokey", "x"), ("HSCAN", "h", "18446744073709551616"),
]  # fmt: skip

WRONGTYPE = [
    ("SET", "s", "x"), ("HSET", "s", "a", "b"), ("HMSET", "s", "a", "b"), ("HSET", "s", "a"), ("HSETNX", "s", "a", "b"),
    ("HGET", "s", "a"), ("HMGET", "s", "a"), ("HDEL", "s", "a"), ("HLEN", "s"), ("HSTRLEN", "s", "a"),
    ("HEXISTS", "s", "a"), ("HKEYS", "s"), ("HVALS", "s"), ("HGETALL", "s"), ("HINCRBY", "s", "a", "1"),
    ("HINCRBY", "s", "a", "x"), ("HINCRBYFLOAT", "s", "a", "1"), ("HINCRBYFLOAT", "s", "a", "x"),
    ("HINCRBYFLOAT", "s", "a", "inf"), ("HRANDFIELD", "s"), ("HRANDFIELD", "s", "1"), ("HRANDFIELD", "s", "x"),
    ("HRANDFIELD", "s", "1", "WITHVALUES", "x"), ("HSCAN", "s", "0"), ("HSCAN", "s", "x"), ("HSCAN", "s", "0", "COUNT", "0"),
    ("RPUSH", "l", "a"), ("HGET", "l", "a"), ("SADD", "st", "a"), ("HGETALL", "st"), ("ZADD", "z", "1", "a"),
    ("HSET", "z", "a", "b"), ("HSET", "h", "a", "b"), ("GET", "h"), ("LPUSH", "h", "x"), ("SADD", "h", "x"),
]  # fmt: skip


@pytest.mark.parametrize("script", [BASICS, ERRORS, WRONGTYPE], ids=["basics", "errors", "wrongtype"])
def test_scripted(p, script):
    for cmd in script:
        if cmd[0] == "HRANDFIELD":
            check_hrandfield(p, cmd)
        elif cmd[0] == "HSCAN":
            check_hscan(p, cmd)
        else:
            run(p, *cmd)


# ---------------------------------------------------------------------------
# Encodings

LIMITS = (("hash-max-listpack-entries", "128"), ("hash-max-listpack-value", "64"))


def test_encoding_conversion_points(p):
    try:
        p.run("CONFIG", "GET", "hash-max-listpack-entries")
        p.run("CONFIG", "GET", "hash-max-ziplist-value")
        args = []
        for i in range(128):
            args += ["f%d" % i, str(i)]
        p.run("HSET", "h", *args)
        p.run("OBJECT", "ENCODING", "h")
        p.run("HGETALL", "h")  # 128 pairs in insertion order
        p.run("HSET", "h", "f0", "x")  # an update does not grow it
        p.run("OBJECT", "ENCODING", "h")
        p.run("HSET", "h", "one-more", "x")
        p.run("OBJECT", "ENCODING", "h")
        p.run("HDEL", "h", *["f%d" % i for i in range(100)])  # never back
        p.run("OBJECT", "ENCODING", "h")
        run(p, "HGETALL", "h")
        for cmd in (
            ("HSET", "v", "a", "x" * 64), ("OBJECT", "ENCODING", "v"), ("HSET", "v", "b", "x" * 65),
            ("OBJECT", "ENCODING", "v"), ("HSET", "w", "f" * 65, "1"), ("OBJECT", "ENCODING", "w"),
            ("HSET", "w2", "a", "1", "b", "y" * 65), ("OBJECT", "ENCODING", "w2"), ("HSET", "w3", "a", "1"),
            ("HSETNX", "w3", "a", "y" * 65), ("OBJECT", "ENCODING", "w3"), ("HSETNX", "w3", "b", "y" * 65),
            ("OBJECT", "ENCODING", "w3"), ("HSET", "w4", "a", "1"), ("HINCRBY", "w4", "f" * 65, "1"),
            ("OBJECT", "ENCODING", "w4"), ("HSET", "w5", "a", "1"), ("HINCRBYFLOAT", "w5", "a", "1e70"),
            ("OBJECT", "ENCODING", "w5"), ("HINCRBYFLOAT", "w6", "a", "1e60"), ("OBJECT", "ENCODING", "w6"),
            ("HGET", "w6", "a"), ("HINCRBYFLOAT", "w7", "a", "1e63"), ("OBJECT", "ENCODING", "w7"),
            ("COPY", "h", "hc"), ("OBJECT", "ENCODING", "hc"), ("COPY", "v", "vc"), ("OBJECT", "ENCODING", "vc"),
            ("HGETALL", "vc"),
            ("CONFIG", "SET", "hash-max-listpack-entries", "3"), ("CONFIG", "SET", "hash-max-listpack-value", "2"),
            ("HSET", "c", "a", "1", "b", "2", "c", "3"), ("OBJECT", "ENCODING", "c"), ("HSET", "c", "d", "4"),
            ("OBJECT", "ENCODING", "c"), ("HSET", "c2", "abc", "1"), ("OBJECT", "ENCODING", "c2"),
            ("HSET", "c3", "ab", "12"), ("OBJECT", "ENCODING", "c3"), ("HINCRBY", "c3", "ab", "100"),
            ("OBJECT", "ENCODING", "c3"), ("HGETALL", "v"),  # an existing listpack stays one
            ("CONFIG", "SET", "hash-max-ziplist-entries", "0"), ("CONFIG", "GET", "hash-max-listpack-entries"),
            ("HSET", "e", "a", "1"), ("OBJECT", "ENCODING", "e"), ("CONFIG", "SET", "hash-max-listpack-value", "1kb"),
            ("CONFIG", "GET", "hash-max-listpack-value"), ("CONFIG", "SET", "hash-max-listpack-entries", "10"),
            ("HSET", "k", "a", "x" * 1000), ("OBJECT", "ENCODING", "k"), ("HSET", "k", "b", "x" * 1025),
            ("OBJECT", "ENCODING", "k"),
        ):  # fmt: skip
            run(p, *cmd)
    finally:
        for name, value in LIMITS:
            p.run("CONFIG", "SET", name, value)


# ---------------------------------------------------------------------------
# Random and hash-ordered replies


def _pairs(node, withvalues: bool, proto: int):
    t, items = node
    if not withvalues:
        return [(x[1], None) for x in items]
    if proto == 3:
        return [(x[1][0][1], x[1][1][1]) for x in items]
    return [(items[i][1], items[i + 1][1]) for i in range(0, len(items), 2)]


def check_hrandfield(p, cmd) -> None:
    a, b = p.both(*cmd)
    p.history.append(cmd)
    if a == b:
        return
    na, nb = parse(a), parse(b)
    if len(cmd) < 3 or na[0] != "*" or nb[0] != "*" or len(na[1]) != len(nb[1]):
        if len(cmd) == 2 and na[0] == nb[0] == "$":  # one random field
            state = dict(_pairs(parse(_raw(p.redis, "HGETALL", cmd[1])), True, 2))  # a map is flat too
            if nb[1] in state:
                return
        raise Mismatch(cmd, a, b, list(p.history))
    count = int(cmd[2])
    withvalues = len(cmd) > 3
    state_node = parse(_raw(p.redis, "HGETALL", cmd[1]))
    flat = state_node[1]
    state = {flat[i][1]: flat[i + 1][1] for i in range(0, len(flat), 2)}
    got = _pairs(nb, withvalues, p.proto)
    for f, v in got:
        if f not in state or (withvalues and state[f] != v):
            raise Mismatch(cmd, a, b, list(p.history), "not a field with its value")
    names = [f for f, _ in got]
    if count > 0 and len(set(names)) != len(names):
        raise Mismatch(cmd, a, b, list(p.history), "repeated field for a positive count")
    if count > 0 and _encoding(p, cmd[1]) == b"$8\r\nlistpack\r\n":
        # Distinct picks from a listpack come in listpack order.
        order = list(state)
        positions = [order.index(f) for f in names]
        if positions != sorted(positions) and count != 1:
            raise Mismatch(cmd, a, b, list(p.history), "not in listpack order")


def check_hscan(p, cmd) -> None:
    """Exact for a listpack. For a hashtable (Redis's hash order, its own cursors): the same pairs
    when both finished in one call, otherwise pairs of the hash."""
    a, b = p.both(*cmd)
    if a != b:
        na, nb = parse(a), parse(b)
        if _encoding(p, cmd[1]) != b"$9\r\nhashtable\r\n" or na[0] != "*" or nb[0] != "*":
            raise Mismatch(cmd, a, b, list(p.history))
        if cmd[2] == "0" and na[1][0] == nb[1][0] == ("$", b"0"):
            if _sorted_items(na[1][1], True) != _sorted_items(nb[1][1], True):
                raise Mismatch(cmd, a, b, list(p.history), "different pairs")
        else:
            flat = parse(_raw(p.redis, "HGETALL", cmd[1]))[1]
            state = {flat[i][1]: flat[i + 1][1] for i in range(0, len(flat), 2)}
            items = nb[1][1][1]
            if any(state.get(items[i][1]) != items[i + 1][1] for i in range(0, len(items), 2)):
                raise Mismatch(cmd, a, b, list(p.history), "not a field with its value")
    p.history.append(cmd)


def test_hrandfield_strategies(p):
    for key, n, prefix in (("small", 20, "f"), ("large", 300, "g")):
        args = []
        for i in range(n):
            args += ["%s%d" % (prefix, i), "v%d" % (i % 7)]
        p.run("HSET", key, *args)
        p.run("OBJECT", "ENCODING", key)
        for count in ("1", "-1", "-5", "2", "5", "15", str(n - 1), str(n), str(n + 5), "-40", "0"):
            for extra in ((), ("WITHVALUES",)):
                for _ in range(3):
                    check_hrandfield(p, ("HRANDFIELD", key, count, *extra))
        for _ in range(10):
            check_hrandfield(p, ("HRANDFIELD", key))


def test_hrandfield_is_spread(p):
    """Every field of a hashtable hash shows up over enough single picks (O(1) sampling path)."""
    args = []
    for i in range(200):
        args += ["f%d" % i, "v"]
    p.run("HSET", "h", *args)
    seen = set()
    for _ in range(20):
        node = parse(_raw(p.respdb, "HRANDFIELD", "h", "-500"))
        seen.update(x[1] for x in node[1])
    assert len(seen) == 200


def _scan_all(conn, key, *opts):
    cursor = b"0"
    pairs = []
    calls = 0
    while True:
        node = parse(_raw(conn, "HSCAN", key, cursor, *opts))
        cursor = node[1][0][1]
        items = node[1][1][1]
        pairs += [(items[i][1], items[i + 1][1]) for i in range(0, len(items), 2)]
        calls += 1
        if cursor == b"0":
            return pairs, calls


def test_hscan_full_iteration(p):
    args = []
    for i in range(1000):
        args += ["field:%d" % i, "v%d" % i]
    p.run("HSET", "big", *args)
    p.run("OBJECT", "ENCODING", "big")
    for opts in ((), ("COUNT", "7"), ("MATCH", "field:1*", "COUNT", "50")):
        results = []
        for conn in (p.redis, p.respdb):
            pairs, calls = _scan_all(conn, "big", *opts)
            assert len(pairs) == len(set(pairs))  # no rehashing here: no duplicates
            results.append((sorted(pairs), calls > 1))
        assert results[0] == results[1]
    # A listpack hash comes back whole, in order, with cursor 0, whatever cursor was asked.
    p.run("HSET", "small", "b", "1", "a", "2", "c", "3")
    p.run("HSCAN", "small", "0")
    p.run("HSCAN", "small", "77", "COUNT", "1")
    p.run("HSCAN", "small", "0", "MATCH", "[ab]")


def test_hscan_guarantee_under_changes(p):
    """Fields present for the whole scan are returned even while others come and go."""
    args = []
    for i in range(2000):
        args += ["k%d" % i, "v"]
    p.respdb.send(encode_command(("HSET", "g", *args)))
    p.respdb.read_reply()
    cursor = b"0"
    seen = set()
    step = 0
    while True:
        node = parse(_raw(p.respdb, "HSCAN", "g", cursor, "COUNT", "20"))
        cursor = node[1][0][1]
        items = node[1][1][1]
        seen.update(items[i][1] for i in range(0, len(items), 2))
        # grow (forcing index resizes) and shrink among fields outside the stable range
        step += 1
        if step % 3 == 0:
            _raw(p.respdb, "HSET", "g", *[x for j in range(50) for x in ("n%d_%d" % (step, j), "v")])
        elif step % 3 == 1:
            _raw(p.respdb, "HDEL", "g", *["n%d_%d" % (step - 1, j) for j in range(50)])
        if cursor == b"0":
            break
    assert {b"k%d" % i for i in range(2000)} <= seen


# ---------------------------------------------------------------------------
# Keyspace events


def test_keyspace_events(pair2):
    p = pair2
    p.reset()
    subs = []
    for port_conn in (p.redis, p.respdb):
        _raw(port_conn, "CONFIG", "SET", "notify-keyspace-events", "KEA")
    for port in (p.redis.sock.getpeername()[1], p.respdb.sock.getpeername()[1]):
        s = RawConn(port)
        s.cmd("PSUBSCRIBE", "__keyevent@0__:*")
        subs.append(s)
    try:
        script = [
            ("HSET", "h", "a", "1", "b", "2"), ("HSET", "h", "a", "1"), ("HSETNX", "h", "a", "x"), ("HSETNX", "h", "c", "x"),
            ("HMSET", "h", "d", "4"), ("HDEL", "h", "zz"), ("HDEL", "h", "a"), ("HINCRBY", "h", "n", "2"),
            ("HINCRBYFLOAT", "h", "f", "1.5"), ("HINCRBY", "h", "c", "1"), ("HDEL", "h", "b", "c", "d", "n", "f"),
            ("HGET", "h", "a"), ("HSET", "h2", "x", "1"), ("EXPIRE", "h2", "100"), ("HDEL", "h2", "x"),
            ("HINCRBY", "h3", "n", "x"), ("HINCRBYFLOAT", "h3", "n", "inf"), ("HSET", "h3", "a", "b", "c"),
            ("SET", "__sentinel__", "1"),
        ]  # fmt: skip
        for cmd in script:
            p.run(*cmd)
        events = []
        for s in subs:
            got = []
            while True:
                msg = parse(s.read_reply())
                ev = (msg[1][2][1], msg[1][3][1])
                if ev[1] == b"__sentinel__":
                    break
                got.append(ev)
            events.append(got)
    finally:
        for s in subs:
            s.close()
        for conn in (p.redis, p.respdb):
            _raw(conn, "CONFIG", "SET", "notify-keyspace-events", "")
    assert len(events[0]) > 10
    assert events[0] == events[1]


# ---------------------------------------------------------------------------
# Random sequences

FIELDS = st.sampled_from(["a", "b", "c", "d", "e", "1", "2", "10", "-3", "x" * 5])
VALUES = st.sampled_from(["1", "0", "-7", "2.5", "abc", "", "9223372036854775807", "1e3", "v" * 3])
KEYS = st.sampled_from(["h1", "h2", "s"])


def _command():
    return st.one_of(
        st.tuples(st.just("HSET"), KEYS, st.lists(st.tuples(FIELDS, VALUES), min_size=1, max_size=3)).map(
            lambda t: (t[0], t[1], *[x for pair in t[2] for x in pair])
        ),
        st.tuples(st.just("HSETNX"), KEYS, FIELDS, VALUES),
        st.tuples(st.sampled_from(["HGET", "HEXISTS", "HSTRLEN"]), KEYS, FIELDS),
        st.tuples(st.just("HMGET"), KEYS, FIELDS, FIELDS),
        st.tuples(st.just("HDEL"), KEYS, FIELDS, FIELDS),
        st.tuples(st.sampled_from(["HLEN", "HKEYS", "HVALS", "HGETALL"]), KEYS),
        st.tuples(st.just("HINCRBY"), KEYS, FIELDS, st.sampled_from(["1", "-5", "100", "x"])),
        st.tuples(st.just("HINCRBYFLOAT"), KEYS, FIELDS, st.sampled_from(["1", "-0.5", "1e2", "0.1"])),
        st.tuples(st.just("HSCAN"), KEYS, st.just("0")),
        st.tuples(st.just("OBJECT"), st.just("ENCODING"), KEYS),
        st.tuples(st.just("SET"), st.just("s"), VALUES),
        st.tuples(st.just("DEL"), KEYS),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(limit=st.sampled_from(["128", "2", "4"]), cmds=st.lists(_command(), min_size=1, max_size=30))
def test_random_sequences(pair, limit, cmds):
    pair.reset()
    try:
        pair.run("CONFIG", "SET", "hash-max-listpack-entries", limit)
        for cmd in cmds:
            if cmd[0] == "HSCAN":
                check_hscan(pair, cmd)
            else:
                run(pair, *cmd)
    finally:
        pair.run("CONFIG", "SET", "hash-max-listpack-entries", "128")


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(runs=st.lists(st.tuples(_command(), st.integers(1, 4)), min_size=1, max_size=20))
def test_random_pipelines_with_runs(pair, runs):
    """Each command repeated 1-4 times in a row, all in one pipeline (Engine.execute_run's
    runs); replies whose order is Redis's hash order are checked after, whole."""
    skip = UNORDERED | {"HSCAN", "HRANDFIELD"}
    cmds = [c for c, times in runs for _ in range(times) if c[0] not in skip]
    pair.reset()
    pair.pipeline(cmds)
    for k in ("h1", "h2", "s"):
        run(pair, "HGETALL", k)


def _dirty(conn) -> int:
    for line in _raw(conn, "INFO", "persistence").split(b"\r\n"):
        if line.startswith(b"rdb_changes_since_last_save:"):
            return int(line.split(b":")[1])
    raise AssertionError("no rdb_changes_since_last_save")


def test_dirty_counter_per_command(p):
    """rdb_changes_since_last_save moves by what Redis counts for each command."""
    script = [
        ("HSET", "h", "a", "1", "b", "2", "c", "3"), ("HSET", "h", "a", "1"), ("HMSET", "h", "a", "2", "d", "4"),
        ("HSETNX", "h", "a", "x"), ("HSETNX", "h", "e", "x"), ("HDEL", "h", "a", "b", "zz"), ("HDEL", "h", "zz"),
        ("HINCRBY", "h", "n", "1"), ("HINCRBY", "h", "e", "1"), ("HINCRBYFLOAT", "h", "f", "1.5"), ("HGET", "h", "a"),
        ("HDEL", "h", "c", "d", "e", "n", "f"), ("HDEL", "nokey", "a"),
    ]  # fmt: skip
    for cmd in script:
        before = _dirty(p.redis), _dirty(p.respdb)
        p.run(*cmd)
        after = _dirty(p.redis), _dirty(p.respdb)
        assert after[0] - before[0] == after[1] - before[1], (cmd, before, after)


def test_dump_of_listpacks(p):
    for cmd in (
        ("HSET", "h", "a", "1", "b", "-70000", "c", "x" * 60, "d", "9223372036854775807", "e", ""), ("DUMP", "h"),
        ("HDEL", "h", "b"), ("HSET", "h", "a", "2"), ("DUMP", "h"), ("HINCRBYFLOAT", "h", "f", "1.5"), ("DUMP", "h"),
    ):  # fmt: skip
        p.run(*cmd)
