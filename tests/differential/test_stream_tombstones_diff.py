"""Stream tombstones: DUMP bytes after XDEL / XTRIM / XADD with trimming equal Redis's.

Redis flags deleted entries inside their listpack and keeps them until the node goes; DUMP (and
RDB files) carry them. respdb must write the same bytes, keep the tombstones of a payload it
RESTOREs (so a Redis DUMP restored into respdb DUMPs back identical, and later appends fill the
node as in Redis) and keep them across DEBUG RELOAD and COPY.
"""

from __future__ import annotations

import hiredis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import Pair


@pytest.fixture
def q(pair2: Pair) -> Pair:
    """RESP2 only: DUMP replies are the same bulk strings in both protocols."""
    pair2.reset()
    return pair2


def _bulk(reply: bytes) -> bytes:
    r = hiredis.Reader()
    r.feed(reply)
    return r.gets()


def _config(p: Pair, entries: int = 100, nbytes: int = 4096) -> None:
    a, b = p.both("CONFIG", "SET", "stream-node-max-entries", str(entries), "stream-node-max-bytes", str(nbytes))
    assert a == b == b"+OK\r\n"


def _dump(p: Pair, key: str = "s") -> None:
    p.run("DUMP", key)


def _fields(i: int) -> list[str]:
    if i % 9 == 0:
        return ["other", "x" * (i % 5), "n", str(i)]  # not the master fields: no SAMEFIELDS flag
    return ["f", "v%d" % i, "n", str(i * 1000003)]


def test_xdel_keeps_tombstones(q):
    _config(q, entries=10)
    try:
        for i in range(1, 46):
            q.run("XADD", "s", "%d-1" % i, *_fields(i))
        _dump(q)
        # a first, a middle, a last entry of nodes; one already deleted; one missing
        for ids in (("1-1",), ("5-1", "10-1"), ("10-1",), ("45-1", "44-1"), ("99-1",), ("11-1", "12-1", "13-1")):
            q.run("XDEL", "s", *ids)
            _dump(q)
            q.run("XINFO", "STREAM", "s")
        # every live entry of one node deleted: Redis drops the node with its tombstones
        q.run("XDEL", "s", *("%d-1" % i for i in range(21, 31)))
        _dump(q)
        q.run("XADD", "s", "50-1", "f", "v")  # the tail node's fill counts its tombstones
        _dump(q)
    finally:
        _config(q)


@pytest.mark.parametrize(
    "trim",
    [
        ("MAXLEN", "30"),
        ("MAXLEN", "=", "25"),
        ("MAXLEN", "~", "25"),
        ("MINID", "17-1"),
        ("MINID", "=", "17-0"),
        ("MINID", "~", "17"),
        ("MAXLEN", "~", "5", "LIMIT", "10"),
        ("MINID", "~", "33", "LIMIT", "8"),
        ("MAXLEN", "0"),
    ],
)
def test_xtrim_after_xdel(q, trim):
    _config(q, entries=8)
    try:
        for i in range(1, 41):
            q.run("XADD", "s", "%d-1" % i, *_fields(i))
        q.run("XDEL", "s", "3-1", "9-1", "18-1", "20-1", "33-1")
        q.run("XTRIM", "s", *trim)
        _dump(q)
        q.run("XINFO", "STREAM", "s")
        q.run("XTRIM", "s", "MAXLEN", "12")
        _dump(q)
    finally:
        _config(q)


def test_node_left_with_only_tombstones(q):
    """MINID trimming up to a deleted last entry leaves a node with no live entry: Redis keeps it."""
    _config(q, entries=5)
    try:
        for i in range(1, 13):
            q.run("XADD", "s", "%d-0" % i, "f", "v")
        q.run("XDEL", "s", "10-0")
        q.run("XTRIM", "s", "MINID", "10-0")
        _dump(q)
        q.run("XINFO", "STREAM", "s")
        q.run("XRANGE", "s", "-", "+")
        q.run("XADD", "s", "13-0", "f", "v")
        _dump(q)
        q.run("XTRIM", "s", "MAXLEN", "~", "0")
        _dump(q)
    finally:
        _config(q)


def test_xadd_with_trimming(q):
    _config(q, entries=6)
    try:
        for i in range(1, 80):
            if i % 3 == 0:
                q.run("XADD", "s", "MAXLEN", "20", "%d-0" % i, *_fields(i))
            elif i % 3 == 1:
                q.run("XADD", "s", "MINID", "~", str(i - 25), "%d-0" % i, *_fields(i))
            else:
                q.run("XADD", "s", "MINID", "=", "%d-0" % (i - 18), "LIMIT", "0", "%d-0" % i, *_fields(i))
            if i % 11 == 0:
                q.run("XDEL", "s", "%d-0" % (i - 4))
            if i % 5 == 0:
                _dump(q)
        _dump(q)
    finally:
        _config(q)


def test_groups_without_consumers_and_tombstones(q):
    for i in range(1, 12):
        q.run("XADD", "s", "%d-0" % i, "f", "v%d" % i)
    q.run("XGROUP", "CREATE", "s", "g1", "4-0")
    q.run("XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "3")
    q.run("XDEL", "s", "2-0", "7-0")
    q.run("XTRIM", "s", "MAXLEN", "6")
    _dump(q)


def test_restore_of_redis_dump_dumps_the_same(q):
    """A Redis payload with tombstones RESTOREd into respdb: DUMP gives it back byte for byte, and
    the restored node fill decides the next node boundaries as in Redis."""
    _config(q, entries=7)
    try:
        for i in range(1, 30):
            q.redis.cmd("XADD", "src", "%d-0" % i, *_fields(i))
        q.redis.cmd("XDEL", "src", "2-0", "8-0", "9-0", "27-0")
        q.redis.cmd("XTRIM", "src", "MINID", "5-0")
        payload = _bulk(q.redis.cmd("DUMP", "src"))
        assert q.respdb.cmd("RESTORE", "s", "0", payload) == b"+OK\r\n"
        assert _bulk(q.respdb.cmd("DUMP", "s")) == payload
        q.run("RESTORE", "t", "0", payload)
        _dump(q, "t")
        for i in range(30, 45):
            q.run("XADD", "t", "%d-0" % i, "f", "v")
        q.run("XDEL", "t", "30-0", "31-0")
        _dump(q, "t")
        q.run("XINFO", "STREAM", "t")
        q.run("COPY", "t", "u")
        _dump(q, "u")
    finally:
        _config(q)


def test_debug_reload_keeps_tombstones(q):
    _config(q, entries=5)
    try:
        for i in range(1, 25):
            q.run("XADD", "s", "%d-0" % i, *_fields(i))
        q.run("XDEL", "s", "3-0", "4-0", "13-0")
        q.run("XTRIM", "s", "MAXLEN", "=", "17")
        a, b = q.both("DEBUG", "RELOAD")
        assert a == b == b"+OK\r\n"
        _dump(q)
        q.run("XADD", "s", "30-0", "f", "v")
        _dump(q)
    finally:
        _config(q)


@st.composite
def _ops(draw):
    ops = []
    n = 0
    for _ in range(draw(st.integers(5, 60))):
        kind = draw(st.sampled_from(["add", "add", "add", "del", "trim", "addtrim"]))
        if kind in ("add", "addtrim"):
            n += draw(st.integers(1, 3))
            trim: tuple = ()
            if kind == "addtrim":
                how = draw(st.sampled_from(["MAXLEN", "MINID"]))
                approx = ("~",) if draw(st.booleans()) else ()
                if how == "MAXLEN":
                    trim = (how, *approx, str(draw(st.integers(0, 30))))
                else:
                    trim = (how, *approx, ("%d" if approx else "%d-0") % draw(st.integers(0, n)))
            ops.append(("XADD", "s", *trim, "%d-0" % n, *_fields(draw(st.integers(1, 20)))))
        elif kind == "del":
            ids = draw(st.lists(st.integers(1, max(1, n)), min_size=1, max_size=4))
            ops.append(("XDEL", "s", *("%d-0" % i for i in ids)))
        else:
            how = draw(st.sampled_from(["MAXLEN", "MINID"]))
            exact = draw(st.sampled_from(["", "=", "~"]))
            arg = str(draw(st.integers(0, 30))) if how == "MAXLEN" else "%d-0" % draw(st.integers(0, n + 1))
            ops.append(("XTRIM", "s", how, *([exact] if exact else []), arg))
    return ops


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(entries=st.sampled_from([2, 3, 5, 100]), ops=_ops())
def test_random_sequences_dump_like_redis(pair2, entries, ops):
    pair2.reset()
    _config(pair2, entries=entries, nbytes=4096 if entries != 100 else 160)
    try:
        for i, op in enumerate(ops):
            pair2.run(*op)
            if i % 7 == 6:
                _dump(pair2)
        _dump(pair2)
        a, b = pair2.both("DEBUG", "RELOAD")
        assert a == b == b"+OK\r\n"
        _dump(pair2)
        pair2.run("XADD", "s", "1000-0", "f", "v")
        _dump(pair2)
    finally:
        _config(pair2)
