"""HyperLogLog commands against a real redis-server: replies, and the exact bytes of the values
(GET after every change), through sparse edits, promotion to dense, merges, cached
cardinalities, values written by Redis itself and corrupt values.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import Pair, encode_command, script

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HDR_SPARSE = b"HYLL\x01\x00\x00\x00" + bytes(8)
HDR_DENSE = b"HYLL\x00\x00\x00\x00" + bytes(8)


def _raw(conn, *args) -> bytes:
    conn.send(encode_command(args))
    return conn.read_reply()


def _restore(p: Pair) -> None:
    p.run("CONFIG", "SET", "hll-sparse-max-bytes", "3000")


SCENARIOS = {
    "basics": """
        PFADD h a b c
        GET h
        OBJECT ENCODING h
        PFADD h a
        PFADD h a b c d
        GET h
        PFCOUNT h
        GET h
        PFCOUNT h
        PFADD h
        PFADD new
        GET new
        PFCOUNT new
        PFCOUNT nokey
        PFADD h "" "\\x00" "\\xff\\xfe" aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        PFCOUNT h
        GET h
        EXISTS new h
    """,
    "wrong-types": """
        SET s hello
        PFADD s a
        PFCOUNT s
        PFCOUNT s nokey
        PFMERGE d s
        PFMERGE s nokey
        PFDEBUG ENCODING s
        SET n 12345678901234567890
        PFADD n a
        SET short HYLL
        PFADD short a
        LPUSH l a
        PFADD l a
        PFCOUNT l
        PFCOUNT nokey l
        PFMERGE l
        PFMERGE d l
        PFDEBUG GETREG l
        PFADD
        PFCOUNT
        PFMERGE
        PFDEBUG GETREG
        PFDEBUG GETREG a b
        PFSELFTEST x
    """,
    "headers": """
        SET bad "HYLL\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
        PFADD bad x
        PFCOUNT bad
        SET dense "HYLL\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
        PFADD dense x
        SET magic "HYLX\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x7f\\xff"
        PFCOUNT magic
        SET ok "HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x7f\\xff"
        OBJECT ENCODING ok
        PFCOUNT ok
        OBJECT ENCODING ok
        GET ok
        SET ok2 "HYLL\\x01\\x00\\x00\\x00\\x05\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x7f\\xff"
        PFCOUNT ok2
        OBJECT ENCODING ok2
        PFADD ok2 a
        GET ok2
        PFCOUNT ok2
        GET ok2
    """,
    "merge": """
        PFADD a 1 2 3 4 5
        PFADD b 4 5 6 7
        PFMERGE c a b
        GET c
        PFCOUNT c
        PFCOUNT a b
        PFCOUNT a b nokey
        GET a
        PFMERGE a b
        GET a
        PFMERGE a
        GET a
        PFMERGE e
        GET e
        PFMERGE f nokey1 nokey2
        GET f
        PFCOUNT f
        PFMERGE c c c
        GET c
        SET s hello
        PFMERGE s a
        GET s
    """,
    "ttl-and-encoding": """
        PFADD h a b
        EXPIRE h 1000
        PFADD h c
        TTL h
        PFCOUNT h
        TTL h
        PFMERGE h nokey
        TTL h
        PFDEBUG TODENSE h
        TTL h
        SET e "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"
        EXPIRE e 1000
        OBJECT ENCODING e
        PFADD e x
        OBJECT ENCODING e
        TTL e
        SET e2 "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"
        PFMERGE e2 nokey
        OBJECT ENCODING e2
        SET e3 "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"
        PFDEBUG ENCODING e3
        OBJECT ENCODING e3
        SET e4 "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"
        PFCOUNT e4 nokey
        OBJECT ENCODING e4
        COPY h hc
        PFADD hc zz
        PFCOUNT h hc
        APPEND h x
        PFCOUNT h
        TYPE h
    """,
    "debug": """
        PFADD h a b c d e f g
        PFDEBUG ENCODING h
        PFDEBUG DECODE h
        pfdebug decode h
        PFDEBUG DECODE nokey
        PFDEBUG WHAT h
        PFDEBUG WHAT nokey
        PFDEBUG "GETREG\\x00junk" nokey
        PFDEBUG TODENSE h
        PFDEBUG TODENSE h
        PFDEBUG ENCODING h
        PFDEBUG DECODE h
        GET h
        PFCOUNT h
        PFADD g x y
        PFDEBUG GETREG g
        PFDEBUG ENCODING g
        GET g
        PFDEBUG "todense\\x00x" g
        PFSELFTEST
    """,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scripted(p: Pair, name: str) -> None:
    p.check(script(SCENARIOS[name]))


def _growth(seed: int, batches: int, width: int) -> list:
    rnd = random.Random(seed)
    cmds = []
    for _ in range(batches):
        elements = [b"%x" % rnd.getrandbits(40) for _ in range(rnd.randint(1, width))]
        cmds.append(("PFADD", "h", *elements))
        cmds.append(("GET", "h"))
        if rnd.random() < 0.3:
            cmds.append(("PFCOUNT", "h"))
    cmds += [("PFDEBUG", "ENCODING", "h"), ("PFCOUNT", "h"), ("GET", "h"), ("OBJECT", "ENCODING", "h")]
    return cmds


@pytest.mark.parametrize("limit", ["3000", "0", "17", "40", "200", "10000"])
def test_growth_to_dense_byte_for_byte(p: Pair, limit: str) -> None:
    """One element at a time, then in batches: every intermediate value equals Redis's."""
    try:
        p.run("CONFIG", "SET", "hll-sparse-max-bytes", limit)
        cmds = _growth(int(limit), 150, 3) + _growth(int(limit) + 1, 60, 60)
        p.check(cmds)
        # Keep adding once dense: registers and cached cardinality still agree.
        p.check(cmds + [("PFADD", "h", *[b"z%d" % i for i in range(300)]), ("GET", "h"), ("PFCOUNT", "h")])
    finally:
        _restore(p)


def test_estimates_over_many_sizes(p: Pair) -> None:
    """PFCOUNT along a growing set, so the estimator is checked from tiny to ~100k."""
    cmds = []
    n = 0
    step = 1
    while n < 100000:
        cmds.append(("PFADD", "h", *[b"e%d" % i for i in range(n, n + step)]))
        cmds.append(("PFCOUNT", "h"))
        n += step
        step = min(step * 2, 8000)
    cmds.append(("GET", "h"))
    p.check(cmds)


def test_merges_keep_redis_bytes(p: Pair) -> None:
    rnd = random.Random(7)
    cmds = []
    for k in range(6):
        n = [1, 5, 40, 300, 1500, 5000][k]
        cmds.append(("PFADD", "k%d" % k, *[b"%d" % rnd.getrandbits(32) for _ in range(n)]))
    for dst, srcs in [
        ("m1", ["k0", "k1"]),
        ("m2", ["k1", "k2", "k3"]),
        ("k0", ["k2"]),
        ("m3", ["k4"]),
        ("m4", ["k5", "k0"]),
        ("k1", ["k5"]),
        ("m5", ["m1", "m2", "m3"]),
    ]:
        cmds += [("PFMERGE", dst, *srcs), ("GET", dst), ("PFCOUNT", dst), ("PFCOUNT", *srcs, dst)]
    cmds += [("PFDEBUG", "ENCODING", k) for k in ("m1", "m2", "m3", "m4", "m5", "k0", "k1")]
    p.check(cmds)
    try:
        p.run("CONFIG", "SET", "hll-sparse-max-bytes", "60")
        p.check(cmds)
    finally:
        _restore(p)


def _fixture_values() -> list[bytes]:
    data = json.loads((FIXTURES / "hll_values.json").read_text(encoding="utf-8"))
    return [v["value"].encode("latin-1") for v in data["values"]]


def test_values_written_by_redis(p: Pair) -> None:
    values = _fixture_values()
    assert len(values) >= 3 and any(v[4] == 0 for v in values) and any(v[4] == 1 for v in values)
    cmds = []
    for i, v in enumerate(values):
        k = "f%d" % i
        cmds += [
            ("SET", k, v),
            ("PFCOUNT", k),
            ("GET", k),
            ("PFDEBUG", "ENCODING", k),
            ("OBJECT", "ENCODING", k),
            ("PFADD", k, "new1", "new2", "new3"),
            ("GET", k),
            ("PFCOUNT", k),
            ("SET", k + "b", v),
        ]
    names = ["f%d" % i for i in range(len(values))]
    cmds += [("PFCOUNT", *names), ("PFMERGE", "all", *names), ("GET", "all"), ("PFCOUNT", "all")]
    cmds += [("PFMERGE", "f0b", "f1b"), ("GET", "f0b"), ("PFDEBUG", "GETREG", "f1b"), ("GET", "f1b")]
    p.check(cmds)


CORRUPT = [
    HDR_SPARSE + b"\x7f\xfe",  # one register short
    HDR_SPARSE + b"\x7f\xff\x00",  # one ZERO too many
    HDR_SPARSE + b"\x7f",  # cut inside an XZERO
    HDR_SPARSE + b"\x7f\xff\x7f",  # a cut XZERO after all registers
    HDR_SPARSE + b"\x7f\xff\x80",  # a VAL after all registers: merges stop before it
    HDR_SPARSE + b"\x80" * 5 + b"\x7f\xfa",
    HDR_SPARSE + b"\x7f\xfb\x90\x90\x10",
    HDR_SPARSE + b"\x7f\xfb\x9c\x9c\x9c\x03",
    HDR_SPARSE + b"\x00" * 16384,
    HDR_SPARSE,
    HDR_DENSE + bytes(12288),
    HDR_DENSE + b"\xff" * 12288,  # every register 63: past what the estimator counts
]


def test_corrupt_values(p: Pair) -> None:
    cmds = []
    for i, v in enumerate(CORRUPT):
        k = "c%d" % i
        cmds += [
            ("SET", k, v),
            ("PFCOUNT", k),
            ("PFCOUNT", k, "nokey"),
            ("PFADD", k, "a", "b", "c", "d"),
            ("GET", k),
            ("PFMERGE", "zz", k),
            ("PFDEBUG", "DECODE", k),
            ("PFDEBUG", "TODENSE", k),
            ("GET", k),
        ]
        cmds += [x for j in range(30) for x in (("PFADD", k, "q%d" % j), ("GET", k))]
        cmds += [("PFCOUNT", k), ("PFDEBUG", "GETREG", k)]
    p.check(cmds)


def test_dirty_counter_and_propagated_writes(p: Pair) -> None:
    """rdb_changes_since_last_save moves as in Redis (PFADD counts changed registers, PFCOUNT
    one when it refreshes the cache, PFDEBUG one for a conversion)."""

    def dirty(conn) -> int:
        for line in _raw(conn, "INFO", "persistence").split(b"\r\n"):
            if line.startswith(b"rdb_changes_since_last_save:"):
                return int(line.split(b":")[1])
        raise AssertionError("no rdb_changes_since_last_save")

    cmds = script("""
        PFADD h a b c d e
        PFADD h a
        PFADD h
        PFADD n
        PFCOUNT h
        PFCOUNT h
        PFCOUNT h n
        PFMERGE m h n
        PFMERGE m
        PFDEBUG ENCODING h
        PFDEBUG GETREG h
        PFDEBUG GETREG h
        PFADD n x
        PFDEBUG TODENSE n
        PFDEBUG TODENSE n
        PFADD h q w e r t y u i o p
        SET s x
        PFADD s a
    """)
    for cmd in cmds:
        before = dirty(p.redis), dirty(p.respdb)
        p.run(*cmd)
        after = dirty(p.redis), dirty(p.respdb)
        assert after[0] - before[0] == after[1] - before[1], (cmd, before, after)


def test_keyspace_events(p: Pair, redis_server, respdb_server) -> None:
    from conftest import RawConn

    p.run("CONFIG", "SET", "notify-keyspace-events", "KEA")
    subs = []
    for port in (redis_server.port, respdb_server.port):
        s = RawConn(port)
        s.send(encode_command(("PSUBSCRIBE", "__key*__:*")))
        s.read_reply()
        subs.append(s)
    try:
        p.check(
            script("""
                PFADD h a b
                PFADD h a
                PFCOUNT h
                PFMERGE m h
                PFMERGE m2 nokey
                PFDEBUG TODENSE h
                SET done 1
            """),
            reset=False,
        )
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
        assert sum(b"pfadd" in m for m in streams[0]) == 6
    finally:
        for s in subs:
            s.close()
        p.run("CONFIG", "SET", "notify-keyspace-events", "")


# ---------------------------------------------------------------------------
# Generated sequences

KEYS = ["h1", "h2", "h3", "s"]
ELEMENTS = [b"a", b"b", b"", b"\x00", b"x" * 20] + [b"%d" % i for i in range(40)]


@st.composite
def hll_command(draw):
    kind = draw(st.integers(0, 9))
    k = draw(st.sampled_from(KEYS))
    if kind <= 3:
        return ("PFADD", k, *draw(st.lists(st.sampled_from(ELEMENTS), max_size=6)))
    if kind == 4:
        # Many new elements at once: reaches the dense form quickly.
        base = draw(st.integers(0, 10**6))
        return ("PFADD", k, *[b"r%d" % (base + i) for i in range(draw(st.sampled_from([50, 400])))])
    if kind == 5:
        return ("PFCOUNT", *draw(st.lists(st.sampled_from(KEYS + ["nokey"]), min_size=1, max_size=3)))
    if kind == 6:
        return ("PFMERGE", k, *draw(st.lists(st.sampled_from(KEYS + ["nokey"]), max_size=3)))
    if kind == 7:
        return ("PFDEBUG", draw(st.sampled_from(["ENCODING", "DECODE", "TODENSE"])), k)
    if kind == 8:
        return draw(st.sampled_from([("SET", "s", "str"), ("DEL", k), ("OBJECT", "ENCODING", k), ("APPEND", k, "x")]))
    return ("GET", k)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(limit=st.sampled_from(["3000", "30", "300"]), cmds=st.lists(hll_command(), min_size=1, max_size=25))
def test_random_sequences(pair: Pair, limit: str, cmds) -> None:
    pair.reset()
    try:
        pair.run("CONFIG", "SET", "hll-sparse-max-bytes", limit)
        for cmd in cmds:
            pair.run(*cmd)
        for k in KEYS:
            pair.run("GET", k)
    finally:
        _restore(pair)
