"""ValueIndex: the table behind set, hash and sorted set values follows Redis's dict rules
(growth before an insertion, shrinking under 10% fill after a deletion, one bucket moved per
operation, nothing resized or rehashed while a child runs unless the tables are far apart)."""

from __future__ import annotations

import pytest

from respdb.config import Config
from respdb.engine import Engine
from respdb.types.valueindex import ValueIndex


@pytest.fixture(autouse=True)
def _no_child():
    ValueIndex.resize_ok = True
    yield
    ValueIndex.resize_ok = True


def _sizes(ix: ValueIndex) -> list[tuple[int, int]]:
    return [(len(t), n) for t, n in ix.tables()]


def _scan_all(ix: ValueIndex) -> list[bytes]:
    out: list[bytes] = []
    cursor = ix.scan(0, 10, out)
    while cursor:
        cursor = ix.scan(cursor, 10, out)
    return out


def test_growth_starts_before_the_insertion_that_overfills():
    ix = ValueIndex()
    for i in range(4):
        ix.add(b"k%d" % i)
    assert _sizes(ix) == [(4, 4)]
    ix.add(b"k4")  # used (4) >= size (4): a table of 8, which takes the new key
    assert _sizes(ix) == [(4, 4), (8, 1)]
    for i in range(5, 8):
        ix.add(b"k%d" % i)  # one bucket moved per insertion
    assert ix.old is None and _sizes(ix) == [(8, 8)]


def test_shrinks_under_ten_percent_and_rehashes_one_bucket_per_deletion():
    keys = [b"m:%d" % i for i in range(128)]
    ix = ValueIndex(keys)
    assert _sizes(ix) == [(128, 128)]
    for k in keys[:115]:
        ix.remove(k)
    assert _sizes(ix) == [(128, 13)]  # 13 * 100 // 128 = 10: not yet
    ix.remove(keys[115])  # 12 left: 9%
    assert [len(t) for t, _ in ix.tables()] == [128, 16]
    assert sorted(_scan_all(ix)) == sorted(keys[116:])
    steps = 0
    while ix.old is not None:
        ix.rehash(1)
        steps += 1
    assert steps >= 12  # at most one bucket with keys per step
    assert _sizes(ix) == [(16, 12)] and sorted(_scan_all(ix)) == sorted(keys[116:])


def test_a_rehash_step_visits_at_most_ten_empty_buckets():
    ix = ValueIndex()  # as if rehashing from 1024 buckets with one key left, in bucket 500
    ix.old = [None] * 1024
    ix.old[500] = b"only"
    ix.old_mask = 1023
    ix.old_count = ix.count = 1
    ix.rehash(1)
    assert ix.pos == 10 and ix.old is not None
    ix.rehash(60)
    assert ix.old is None and _scan_all(ix) == [b"only"]


def test_no_resize_while_a_child_runs_unless_far_off():
    ix = ValueIndex([b"k%d" % i for i in range(4)])
    ValueIndex.resize_ok = False
    for i in range(4, 24):
        ix.add(b"k%d" % i)
    assert _sizes(ix) == [(4, 24)]  # 24 // 4 = 6 > 5 only once the 25th comes
    ix.add(b"k24")
    assert _sizes(ix) == [(4, 24), (32, 1)]  # far apart: rehashed even now
    while ix.old is not None:
        ix.rehash(1)
    for i in range(24):
        ix.remove(b"k%d" % i)
    assert _sizes(ix) == [(32, 1)]  # no shrinking with a child
    ValueIndex.resize_ok = True
    ix.remove(b"k24")
    assert [len(t) for t, _ in ix.tables()] == [32, 4]


def test_rehash_waits_for_the_child_when_tables_are_close():
    ix = ValueIndex([b"k%d" % i for i in range(8)])
    ix.add(b"k8")  # 8 -> 16: rehashing
    ValueIndex.resize_ok = False
    pos = ix.pos
    for _ in range(5):
        ix.rehash(1)
    assert ix.pos == pos and ix.old is not None
    ValueIndex.resize_ok = True
    ix.rehash(100)
    assert ix.old is None and ix.count == 9


def test_random_pick_takes_rehash_steps():
    ix = ValueIndex([b"k%d" % i for i in range(64)])
    for i in range(64, 65):
        ix.add(b"k%d" % i)
    assert ix.old is not None
    for _ in range(200):
        assert ix.random() is not None
        if ix.old is None:
            break
    assert ix.old is None


def test_htstats_key_reports_both_tables_while_rehashing():
    cfg = Config()
    cfg.set("enable-debug-command", "yes")
    e = Engine(cfg)
    c = e.new_client()
    e.execute(c, [b"CONFIG", b"SET", b"set-max-intset-entries", b"0"])
    e.execute(c, [b"SADD", b"s", *[b"m%d" % i for i in range(100)]])
    e.execute(c, [b"SSCAN", b"s", b"0"])  # the table is built here: 128 buckets
    e.execute(c, [b"SREM", b"s", *[b"m%d" % i for i in range(88)]])  # 12 left: 9%
    text = e.execute(c, [b"DEBUG", b"HTSTATS-KEY", b"s"])
    assert b"Hash table 0 stats (main hash table):\n table size: 128\n number of elements: " in text
    assert b"Hash table 1 stats (rehashing target):\n" in text
    assert b" table size: 16\n" in text or b"No stats available for empty dictionaries" in text
    for _ in range(30):
        e.execute(c, [b"SRANDMEMBER", b"s"])
    text = e.execute(c, [b"DEBUG", b"HTSTATS-KEY", b"s"])
    assert b"rehashing target" not in text and b" table size: 16\n number of elements: 12\n" in text
    e.execute(c, [b"HSET", b"small", b"f", b"v"])  # a listpack
    assert e.execute(c, [b"DEBUG", b"HTSTATS-KEY", b"small"]).startswith(b"-ERR The value stored")
