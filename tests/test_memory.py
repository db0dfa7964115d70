"""MEMORY through redis-py's helpers, and the estimator's building blocks in-process."""

from __future__ import annotations

import pytest

from respdb import memory
from respdb.commands.memory import EMPTY_REPORT
from respdb.engine import Engine


def test_redis_py_helpers(r):
    r.set("k", "x" * 100)
    assert r.memory_usage("k") == 16 + 112 + 8 + 24  # object, sds for 100 bytes, key sds, dict entry
    assert r.memory_usage("missing") is None
    stats = r.memory_stats()
    assert stats["keys.count"] == 1
    assert "db.0" in stats and stats["db.0"]["overhead.hashtable.main"] == 24 + 4 * 8 + 16
    assert r.memory_purge() is True
    assert r.memory_malloc_stats() == b"Stats not supported for the current allocator"
    assert r.execute_command("MEMORY", "DOCTOR").startswith((b"Hi Sam", b"Sam, "))


def test_resp3_stats_are_maps_and_doubles(r3):
    r3.set("a", "1")
    stats = r3.memory_stats()
    assert isinstance(stats["dataset.percentage"], float)
    assert isinstance(stats["db.0"], dict)


def test_doctor_small_instance_text():
    e = Engine()
    c = e.new_client()
    assert e.execute(c, [b"MEMORY", b"DOCTOR"]) == b"$%d\r\n%b\r\n" % (len(EMPTY_REPORT), EMPTY_REPORT)
    e.execute(c, [b"HELLO", b"3"])
    assert e.execute(c, [b"MEMORY", b"DOCTOR"]).startswith(b"=%d\r\ntxt:Hi Sam" % (len(EMPTY_REPORT) + 4))


@pytest.mark.parametrize(
    ("n", "presized", "slots"),
    [(0, 0, 0), (1, 0, 4), (4, 0, 4), (5, 0, 12), (64, 0, 64), (100, 0, 192), (600, 513, 1024), (40, 40, 64)],
)
def test_dict_slots(n, presized, slots):
    assert memory.dict_slots(n, presized) == slots


def test_sizes_follow_jemalloc_classes():
    assert memory.sds_alloc(5) == 8  # type 5 header: 1 + 5 + 1
    assert memory.sds_alloc(31) == 48
    assert memory.sds_alloc(45, type5=False) == 64
    assert memory.embstr_alloc(44) == 64
    assert memory.key_overhead(b"foo") == 8 + 24
