"""Sets in-process: propagation forms, value layout, 1M-member complexity, redis-py round trips.
(Byte-exact behaviour against Redis is in tests/differential/test_sets_diff.py.)"""

from __future__ import annotations

import sys
import time

import pytest

from respdb.config import Config
from respdb.engine import Engine
from respdb.types.sets import INTSET_TYPES, IntSet16, IntSet32, IntSet64, SetHT


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


# -- propagation -------------------------------------------------------------


def test_spop_propagates_as_srem(eng, c, propagated):
    run(eng, c, "SADD", "s", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
    reply = run(eng, c, "SPOP", "s")
    member = reply.split(b"\r\n")[1]
    assert propagated[-1] == [b"SREM", b"s", member]
    del propagated[:]
    reply = run(eng, c, "SPOP", "s", "2")  # few: popped one by one
    popped = reply.split(b"\r\n")[2::2][:2]
    assert propagated == [[b"SREM", b"s", m] for m in popped]
    del propagated[:]
    reply = run(eng, c, "SPOP", "s", "6")  # most of the set: the rest is kept
    popped = reply.split(b"\r\n")[2::2][:6]
    assert sorted(propagated) == sorted([b"SREM", b"s", m] for m in popped)
    assert run(eng, c, "SCARD", "s") == b":1\r\n"
    del propagated[:]
    run(eng, c, "SPOP", "s", "5")  # all of it
    assert propagated == [[b"DEL", b"s"]]
    assert run(eng, c, "EXISTS", "s") == b":0\r\n"


def test_writes_that_change_nothing_are_not_propagated(eng, c, propagated):
    run(eng, c, "SADD", "s", "a")
    n = len(propagated)
    run(eng, c, "SADD", "s", "a")
    run(eng, c, "SREM", "s", "zz")
    run(eng, c, "SMOVE", "s", "t", "zz")
    run(eng, c, "SINTERSTORE", "d", "s", "nokey")  # d did not exist
    run(eng, c, "SPOP", "s", "0")
    run(eng, c, "SRANDMEMBER", "s", "5")
    assert len(propagated) == n
    run(eng, c, "SMOVE", "s", "t", "a")
    assert propagated[-1] == [b"SMOVE", b"s", b"t", b"a"]
    run(eng, c, "SUNIONSTORE", "d", "t")
    assert propagated[-1] == [b"SUNIONSTORE", b"d", b"t"]


# -- layout -------------------------------------------------------------------


def test_intset_is_packed_at_the_narrowest_width(eng, c):
    db = eng.dbs[0]
    run(eng, c, "SADD", "a", *range(10))
    assert type(db.data[b"a"]) is IntSet16
    assert sys.getsizeof(db.data[b"a"]) < 80  # one small object, no per-member objects
    run(eng, c, "SADD", "a", 70000)
    assert type(db.data[b"a"]) is IntSet32
    run(eng, c, "SADD", "a", 2**40)
    assert type(db.data[b"a"]) is IntSet64
    run(eng, c, "SREM", "a", 2**40, 70000)
    assert type(db.data[b"a"]) is IntSet64  # an intset never narrows, as in Redis
    assert run(eng, c, "SMEMBERS", "a") == b"*10\r\n" + b"".join(b"$1\r\n%d\r\n" % i for i in range(10))
    run(eng, c, "SADD", "a", "x")
    assert type(db.data[b"a"]) is SetHT


def test_expire_survives_intset_rewrites(eng, c):
    run(eng, c, "SADD", "a", 1)
    run(eng, c, "EXPIRE", "a", 100)
    run(eng, c, "SADD", "a", 2)
    run(eng, c, "SREM", "a", 1)
    run(eng, c, "SADD", "a", "x")
    assert run(eng, c, "TTL", "a") in (b":100\r\n", b":99\r\n")


# -- scale --------------------------------------------------------------------


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


def test_million_member_set_keeps_o1_operations(eng, c):
    big = [b"member:%d" % i for i in range(1_000_000)]
    eng.execute(c, [b"SADD", b"big", *big])
    eng.execute(c, [b"SADD", b"small", *big[:1000]])
    assert run(eng, c, "SCARD", "big") == b":1000000\r\n"
    ops = [
        lambda k, i: [b"SADD", k, b"new:%d" % i],
        lambda k, i: [b"SISMEMBER", k, b"member:%d" % (i * 7)],
        lambda k, i: [b"SREM", k, b"new:%d" % i],
        lambda k, i: [b"SMISMEMBER", k, b"member:1", b"nope"],
    ]
    for make in ops:
        small = _per_op(eng, c, b"small", 2000, make)
        large = _per_op(eng, c, b"big", 2000, make)
        assert _o1(small, large), (make, small, large)
    # Random access: the first call builds the sampling index once, then each pick is O(1).
    eng.execute(c, [b"SRANDMEMBER", b"big"])
    eng.execute(c, [b"SRANDMEMBER", b"small", b"-70"])  # index for the small one too
    for make in (
        lambda k, i: [b"SRANDMEMBER", k],
        lambda k, i: [b"SRANDMEMBER", k, b"5"],
        lambda k, i: [b"SRANDMEMBER", k, b"-5"],
        lambda k, i: [b"SPOP", k],
        lambda k, i: [b"SSCAN", k, b"%d" % (i * 99991), b"COUNT", b"10"],
    ):
        small = _per_op(eng, c, b"small", 300, make)
        large = _per_op(eng, c, b"big", 300, make)
        assert _o1(small, large), (make, small, large)


def test_full_sscan_of_a_big_set(eng, c):
    members = [b"m%d" % i for i in range(50_000)]
    eng.execute(c, [b"SADD", b"s", *members])
    seen = set()
    cursor = b"0"
    calls = 0
    while True:
        reply = eng.execute(c, [b"SSCAN", b"s", cursor, b"COUNT", b"500"])
        parts = reply.split(b"\r\n")
        cursor = parts[2]
        seen.update(parts[5::2])
        calls += 1
        if cursor == b"0":
            break
    seen.discard(b"")
    assert seen == set(members)
    assert 50 < calls < 1000


# -- over TCP with redis-py -----------------------------------------------------


def test_redis_py_round_trips(r, r3):
    assert r.sadd("s", 3, 1, 2) == 3
    assert r.smembers("s") == {b"1", b"2", b"3"}
    assert r3.smembers("s") == {b"1", b"2", b"3"}
    assert r.smismember("s", [1, 9]) == [1, 0]
    assert r.sintercard(2, ["s", "s"], limit=2) == 2
    assert len(r3.srandmember("s", -5)) == 5
    assert r.spop("s", 5) and not r.exists("s")


def test_intset_types_are_all_sets():
    for cls in INTSET_TYPES:
        assert cls.redis_type == "set" and cls().encoding() == "intset"
