"""MEMORY against the real redis-server.

MEMORY USAGE must equal Redis's figure wherever Redis's own figure is deterministic (strings,
listpacks, intsets, quicklists, streams, hashtables of same-size members, every hashtable
with SAMPLES 0) and be close where it depends on Redis's hash order or random skiplist levels.
MEMORY STATS must have Redis's shape (field names, order, types) and Redis's per-db overheads.
"""

from __future__ import annotations

import time

import pytest

from .harness import Pair, encode_command, parse


def _pairs(*flat):
    return [str(x) for x in flat]


EXACT = {
    "int": [("SET", "k", "12345")],
    "negative int": [("SET", "k", "-5")],
    "embstr": [("SET", "k", "x" * 30)],
    "embstr 44": [("SET", "k", "x" * 44)],
    "raw 45": [("SET", "k", "x" * 45)],
    "raw 300": [("SET", "k", "x" * 300)],
    "raw 40000": [("SET", "k", "x" * 40000)],
    "append": [("SET", "k", "hello"), ("APPEND", "k", " world" * 20)],
    "append from nothing": [("APPEND", "k", "x" * 50), ("APPEND", "k", "y" * 50)],
    "long key": [("SET", "k" * 40, "v")],
    "list small": [("RPUSH", "k", "a", "bb", "ccc", "1", "22")],
    "list 200": [("RPUSH", "k", *["item%d" % i for i in range(200)])],
    "list 2000": [("RPUSH", "k", *["v%d" % i for i in range(2000)])],
    "list lpush": [("LPUSH", "k", *["v%d" % i for i in range(500)])],
    "list big elements": [("RPUSH", "k", *["x" * 5000 for _ in range(5)])],
    "intset": [("SADD", "k", *range(10))],
    "intset 64 bit": [("SADD", "k", *[i * 10**12 for i in range(300)])],
    "set from intset": [("SADD", "k", *range(600))],
    # 120 members, not 100: see the note above CLOSE on when the last table growth is done.
    "set same size": [("SADD", "k", *["m%03d" % i for i in range(120)])],
    "hash listpack": [("HSET", "k", *_pairs(*[x for i in range(20) for x in ("f%d" % i, "v%d" % i)]))],
    "hash 200 in one HSET": [("HSET", "k", *[x for i in range(200) for x in ("f%03d" % i, "v%03d" % i)])],
    "hash converted": [("HSET", "k", "f%03d" % i, "v%03d" % i) for i in range(300)],
    "hash long value": [("HSET", "k", "f", "x" * 100)],
    "zset listpack": [("ZADD", "k", *[x for i in range(20) for x in (str(i * 1.5), "m%d" % i)])],
    "stream small": [("XADD", "k", "1-%d" % i, "f", "v%d" % i) for i in range(1, 11)],
    "stream 3 nodes": [("XADD", "k", "1-%d" % i, "field", "value%d" % i, "f2", "x") for i in range(1, 251)],
    "stream big entry": [("XADD", "k", "1-1", "f", "x" * 6000), ("XADD", "k", "1-2", "f", "y")],
    "stream groups": [("XADD", "k", "1-%d" % i, "f", "v") for i in range(1, 21)]
    + [
        ("XGROUP", "CREATE", "k", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "5", "STREAMS", "k", ">"),
        ("XREADGROUP", "GROUP", "g", "bob", "COUNT", "3", "STREAMS", "k", ">"),
        ("XGROUP", "CREATE", "k", "g2", "$"),
    ],
}

# SAMPLES 0 is exact for sets and hashes, and within 2% for skiplists (random node levels);
# the default SAMPLES 5 averages 5 members Redis picks in its hash order, so both servers
# are only held within 30% of the whole figure (member sizes vary less than that here).
# 120 members: the last table growth (to 128 buckets, at the 65th add) has finished moving the
# old buckets by then whatever Redis's hash seed; at 100 it may or may not have (respdb models
# the expected number of old buckets, so near that point SAMPLES 0 differs by the old table).
CLOSE = {
    "set mixed sizes": [("SADD", "k", *["m" * (i % 30 + 10) + str(i) for i in range(120)])],
    "hash mixed sizes": [("HSET", "k", "f%d" % i + "f" * (i % 30 + 10), "v" * (i % 30 + 40)) for i in range(120)],
    "zset skiplist": [("ZADD", "k", *[x for i in range(300) for x in (str(i), "m%03d" % i)])],
    "zset converted": [("ZADD", "k", str(i), "member-%d" % i) for i in range(200)],
}


def _setup(p: Pair, cmds) -> None:
    data = b"".join(encode_command(c) for c in cmds)
    for conn in (p.redis, p.respdb):
        conn.send(data)
        for _ in cmds:
            conn.read_reply()


def _usage(p: Pair, *extra) -> tuple[int, int]:
    a, b = p.both("MEMORY", "USAGE", "k", *extra)
    return int(parse(a)[1]), int(parse(b)[1])


@pytest.mark.parametrize("name", list(EXACT))
def test_usage_exact(p, name):
    _setup(p, EXACT[name])
    p.check([("OBJECT", "ENCODING", "k")], reset=False)
    for extra in ((), ("SAMPLES", "0"), ("SAMPLES", "1")):
        key = "k" * 40 if name == "long key" else "k"
        p.check([("MEMORY", "USAGE", key, *extra)], reset=False)


@pytest.mark.parametrize("name", list(CLOSE))
def test_usage_close(p, name):
    _setup(p, CLOSE[name])
    p.check([("OBJECT", "ENCODING", "k")], reset=False)
    whole, b = _usage(p, "SAMPLES", "0")
    if name.startswith("zset"):
        assert abs(whole - b) <= 0.02 * whole, (whole, b)
    else:
        assert whole == b
    r, b = _usage(p)
    assert abs(r - whole) <= 0.3 * whole and abs(b - whole) <= 0.3 * whole, (whole, r, b)


def test_usage_errors_and_missing(p):
    p.check(
        [
            ("MEMORY", "USAGE", "nokey"),
            ("SET", "foo", "bar"),
            ("MEMORY", "USAGE", "foo", "SAMPLES"),
            ("MEMORY", "USAGE", "foo", "SAMPLES", "x"),
            ("MEMORY", "USAGE", "foo", "SAMPLES", "-1"),
            ("MEMORY", "USAGE", "foo", "SAMPLES", "99999999999999999999"),
            ("MEMORY", "USAGE", "foo", "FOO", "1"),
            ("MEMORY", "USAGE", "foo", "samples", "1", "SAMPLES", "2"),
            ("MEMORY", "USAGE"),
            ("MEMORY",),
            ("MEMORY", "NOPE"),
            ("MEMORY", "STATS", "x"),
            ("MEMORY", "DOCTOR", "x"),
            ("MEMORY", "PURGE"),
            ("MEMORY", "HELP"),
            ("MEMORY", "HELP", "x"),
            ("SET", "ttl", "v", "PX", "1"),
            ("PEXPIRE", "foo", "100000"),
            ("MEMORY", "USAGE", "foo"),
        ]
    )


def _shape(node):
    """Field names and reply types of MEMORY STATS (values left out)."""
    t, items = node
    out = []
    for i in range(0, len(items), 2):
        name = items[i][1].decode()
        v = items[i + 1]
        out.append((name, v[0] if v[0] not in "*%" else _shape(v)))
    return out


def test_stats_shape_and_db_overheads(p):
    _setup(
        p,
        [("SET", "a%d" % i, "v") for i in range(10)]
        + [("EXPIRE", "a1", "100"), ("SELECT", "2"), ("SET", "x", "1"), ("SELECT", "0")],
    )
    # The 9th key doubled db 0's table; Redis moves the old buckets in its cron (activerehashing),
    # and respdb reports the finished table: give the cron (10 Hz) time to finish it.
    time.sleep(0.3)
    a, b = p.both("MEMORY", "STATS")
    ra, rb = parse(a), parse(b)
    assert _shape(rb) == _shape(ra)
    fa = {ra[1][i][1]: ra[1][i + 1] for i in range(0, len(ra[1]), 2)}
    fb = {rb[1][i][1]: rb[1][i + 1] for i in range(0, len(rb[1]), 2)}
    for name in (b"db.0", b"db.2", b"keys.count", b"replication.backlog", b"clients.slaves"):
        assert fb[name] == fa[name], name


def test_malloc_stats_without_jemalloc(p):
    # the real server here is built with jemalloc; respdb answers as Redis does without it
    _, b = p.both("MEMORY", "MALLOC-STATS")
    assert b == b"$45\r\nStats not supported for the current allocator\r\n"
