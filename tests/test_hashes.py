"""Hashes in-process: propagation forms, value layout, 1M-field complexity, redis-py round trips.
(Byte-exact behaviour against Redis is in tests/differential/test_hashes_diff.py.)"""

from __future__ import annotations

import sys
import time

import pytest

from respdb.config import Config
from respdb.engine import Engine
from respdb.types.hashes import HashHT, HashLP


@pytest.fixture
def eng():
    return Engine(Config())


@pytest.fixture
def c(eng):
    return eng.new_client()


@pytest.fixture
def propagated(eng):
    log: list[list[bytes]] = []
    eng.propagators.append(lambda dbid, argv: log.append(list(argv)))
    return log


def run(eng, c, *args):
    return eng.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in args])


def test_hincrbyfloat_propagates_as_hset(eng, c, propagated):
    run(eng, c, "HINCRBYFLOAT", "h", "f", "0.1")
    run(eng, c, "HINCRBYFLOAT", "h", "f", "0.2")
    assert propagated[-1] == [b"HSET", b"h", b"f", b"0.3"]
    run(eng, c, "HINCRBY", "h", "n", "2")
    assert propagated[-1] == [b"HINCRBY", b"h", b"n", b"2"]


def test_what_is_propagated(eng, c, propagated):
    run(eng, c, "HSET", "h", "a", "1")
    run(eng, c, "HSET", "h", "a", "1")  # no new field, still a write (Redis propagates it)
    assert propagated[-1] == [b"HSET", b"h", b"a", b"1"]
    n = len(propagated)
    run(eng, c, "HSETNX", "h", "a", "2")
    run(eng, c, "HDEL", "h", "zz")
    run(eng, c, "HDEL", "nokey", "zz")
    run(eng, c, "HINCRBY", "h", "a", "x")
    run(eng, c, "HRANDFIELD", "h", "-3")
    assert len(propagated) == n
    run(eng, c, "HDEL", "h", "a")
    assert propagated[-1] == [b"HDEL", b"h", b"a"]


def test_listpack_is_one_packed_object(eng, c):
    db = eng.dbs[0]
    args = []
    for i in range(10):
        args += ["field:%d" % i, "value:%d" % i]
    run(eng, c, "HSET", "h", *args)
    v = db.data[b"h"]
    assert type(v) is HashLP and len(v) == 10
    assert sys.getsizeof(v) < 300
    run(eng, c, "HSET", "h", "field:3", "x")  # updates keep the place
    assert v.items() != db.data[b"h"].items()
    assert db.data[b"h"].items()[3] == (b"field:3", b"x")
    run(eng, c, "CONFIG", "SET", "hash-max-listpack-entries", "10")
    run(eng, c, "HSET", "h", "one", "more")
    assert type(db.data[b"h"]) is HashHT
    run(eng, c, "HDEL", "h", "one", "field:0", "field:1")
    assert type(db.data[b"h"]) is HashHT  # never back


def test_len_of_big_listpack_header(eng, c):
    """Past 255 elements marshal writes a 4-byte count: HLEN must still read it."""
    run(eng, c, "CONFIG", "SET", "hash-max-listpack-entries", "1000")
    args = []
    for i in range(300):
        args += ["f%d" % i, "v"]
    run(eng, c, "HSET", "h", *args)
    assert type(eng.dbs[0].data[b"h"]) is HashLP
    assert run(eng, c, "HLEN", "h") == b":300\r\n"


def _per_op(eng, c, key: bytes, n_ops: int, make) -> float:
    """Best of five batches, seconds per operation (the machine may be busy)."""
    best = float("inf")
    batch = max(1, n_ops // 5)
    for r in range(5):
        t0 = time.perf_counter()
        for i in range(r * batch, (r + 1) * batch):
            eng.execute(c, make(key, i))
        best = min(best, (time.perf_counter() - t0) / batch)
    return best


def _o1(small: float, large: float) -> bool:
    """O(1), not O(n): an O(n) step over a million members costs milliseconds."""
    return large < max(20 * small, 1e-3)


def test_million_field_hash_keeps_o1_operations(eng, c):
    args = [b"HSET", b"big"]
    for i in range(1_000_000):
        args += [b"f%d" % i, b"v"]
    assert eng.execute(c, args) == b":1000000\r\n"
    eng.execute(c, [b"HSET", b"small", *args[2:4002]])
    for make in (
        lambda k, i: [b"HSET", k, b"new:%d" % i, b"x"],
        lambda k, i: [b"HGET", k, b"f%d" % (i * 7)],
        lambda k, i: [b"HINCRBY", k, b"ctr", b"1"],
        lambda k, i: [b"HDEL", k, b"new:%d" % i],
        lambda k, i: [b"HEXISTS", k, b"f1"],
        lambda k, i: [b"HMGET", k, b"f1", b"f2", b"nope"],
        lambda k, i: [b"HLEN", k],
    ):
        small = _per_op(eng, c, b"small", 2000, make)
        large = _per_op(eng, c, b"big", 2000, make)
        assert _o1(small, large), (make, small, large)
    eng.execute(c, [b"HRANDFIELD", b"big"])  # builds the sampling index once
    eng.execute(c, [b"HRANDFIELD", b"small", b"-70"])
    for make in (
        lambda k, i: [b"HRANDFIELD", k],
        lambda k, i: [b"HRANDFIELD", k, b"-5", b"WITHVALUES"],
        lambda k, i: [b"HRANDFIELD", k, b"5"],
        lambda k, i: [b"HSCAN", k, b"%d" % (i * 99991), b"COUNT", b"10"],
    ):
        small = _per_op(eng, c, b"small", 300, make)
        large = _per_op(eng, c, b"big", 300, make)
        assert _o1(small, large), (make, small, large)


def test_redis_py_round_trips(r, r3):
    assert r.hset("h", mapping={"a": 1, "b": 2}) == 2
    assert r.hgetall("h") == {b"a": b"1", b"b": b"2"}
    assert r3.hgetall("h") == {b"a": b"1", b"b": b"2"}
    assert r.hincrbyfloat("h", "a", 0.5) == 1.5
    assert r3.hrandfield("h", 5, withvalues=True) in ([[b"a", b"1.5"], [b"b", b"2"]], [b"a", b"1.5", b"b", b"2"])
    assert r.hscan("h") == (0, {b"a": b"1.5", b"b": b"2"})
