"""The per-database access table (OBJECT IDLETIME/FREQ, LRU/LFU eviction) and heap trimming."""

from __future__ import annotations

import pytest

from respdb import allocator, lfu
from respdb.config import Config
from respdb.engine import Engine
from respdb.keyspace import ATIME_MIN, Database


@pytest.fixture
def eng():
    return Engine(Config())


def run(eng, c, *args):
    return eng.execute(c, [a.encode() if isinstance(a, str) else a for a in args])


def _slot(db: Database, key: bytes) -> int:
    return hash(key) & db.amask


def test_idle_time_is_per_key_in_a_small_database(eng):
    c = eng.new_client()
    db = eng.dbs[0]
    run(eng, c, "set", "old", "1")
    new = next(b"new%d" % i for i in range(100) if _slot(db, b"new%d" % i) != _slot(db, b"old"))
    run(eng, c, "set", new, "2")
    db.set_idle(b"old", 100)
    assert run(eng, c, "object", "idletime", "old") == b":100\r\n"
    assert run(eng, c, "object", "idletime", new) == b":0\r\n"
    run(eng, c, "get", "old")  # an access
    assert run(eng, c, "object", "idletime", "old") == b":0\r\n"


def test_table_keeps_two_slots_per_key_and_every_field_when_it_grows(eng):
    c = eng.new_client()
    db = eng.dbs[0]
    assert db.amask + 1 == ATIME_MIN
    keys = [b"k%d" % i for i in range(3 * ATIME_MIN)]
    for k in keys:
        db.data[k] = b"v"  # no access noted: what each key's slot holds stays as set below
    for i in range(ATIME_MIN):
        db.atime[i] = i
    before = {k: db.access_field(k) for k in keys}
    db.grow_atime()
    assert db.amask + 1 == 8 * ATIME_MIN
    # a key's new slot is its old one or the old one plus the old size: both hold the old field
    assert {k: db.access_field(k) for k in keys} == before
    for i in range(2 * ATIME_MIN):
        run(eng, c, "mset", "m%d" % i, "v")  # MSET's own path grows the table too
    assert db.amask + 1 >= 2 * len(db.data)


def test_cron_grows_the_table_for_keys_stored_directly(eng):
    db = eng.dbs[0]
    for i in range(ATIME_MIN):
        db.data[b"k%d" % i] = b"v"
    assert db.amask + 1 == ATIME_MIN
    eng.cron()
    assert db.amask + 1 == 2 * ATIME_MIN


def test_keys_sharing_a_slot_share_their_access_time(eng):
    c = eng.new_client()
    db = eng.dbs[0]
    run(eng, c, "set", "a", "1")
    other = next(b"b%d" % i for i in range(1 << 20) if _slot(db, b"b%d" % i) == _slot(db, b"a"))
    run(eng, c, "set", other, "2")
    db.set_idle(b"a", 50)
    assert run(eng, c, "object", "idletime", other) == b":50\r\n"  # the documented approximation


def test_flushdb_and_swapdb_carry_the_table(eng):
    c = eng.new_client()
    for i in range(3 * ATIME_MIN):
        run(eng, c, "set", "k%d" % i, "v")
    run(eng, c, "set", "idle", "v")
    eng.dbs[0].set_idle(b"idle", 77)
    big = eng.dbs[0].amask
    run(eng, c, "swapdb", "0", "1")
    assert eng.dbs[1].amask == big and eng.dbs[0].amask == ATIME_MIN - 1
    run(eng, c, "select", "1")
    assert run(eng, c, "object", "idletime", "idle") == b":77\r\n"
    run(eng, c, "flushdb")
    assert eng.dbs[1].amask == ATIME_MIN - 1


def test_rename_and_move_keep_the_lfu_counter(eng):
    c = eng.new_client()
    run(eng, c, "config", "set", "maxmemory-policy", "allkeys-lfu")
    run(eng, c, "set", "a", "1")
    eng.dbs[0].set_access_field(b"a", (lfu.minutes() << 8) | 100)
    run(eng, c, "rename", "a", "b")
    assert run(eng, c, "object", "freq", "b") in (b":100\r\n", b":101\r\n")  # (RENAME's lookup counts)
    run(eng, c, "move", "b", "2")
    run(eng, c, "select", "2")
    assert run(eng, c, "object", "freq", "b") in (b":100\r\n", b":101\r\n", b":102\r\n")


def test_restore_idletime_wraps_like_redis_24_bit_clock(eng):
    c = eng.new_client()
    run(eng, c, "set", "k", "v")
    payload = run(eng, c, "dump", "k")
    body = payload.split(b"\r\n", 1)[1][:-2]
    for idle, seen in ((10**7, 10**7), (300_000_000, 14_787_328), (10**11, 7_792_640)):
        run(eng, c, "del", "k")
        assert run(eng, c, "restore", "k", "0", body, "IDLETIME", str(idle)) == b"+OK\r\n"
        assert run(eng, c, "object", "idletime", "k") == b":%d\r\n" % seen  # as Redis 7.0 answers


def test_lfu_fields_live_in_the_same_table(eng):
    c = eng.new_client()
    run(eng, c, "config", "set", "maxmemory-policy", "allkeys-lfu")
    run(eng, c, "set", "k", "v")
    assert run(eng, c, "object", "freq", "k") == b":5\r\n"  # LFU_INIT_VAL for a new key
    run(eng, c, "set", "k", "w")
    assert run(eng, c, "object", "freq", "k") in (b":5\r\n", b":6\r\n")  # an overwrite keeps it
    for _ in range(200):
        run(eng, c, "get", "k")
    assert int(run(eng, c, "object", "freq", "k")[1:-2]) > 5


def test_release_due_after_a_sixteenth_change():
    assert not allocator.release_due(100, 0)  # tiny keyspaces never ask
    assert allocator.release_due(5000, 0)
    assert not allocator.release_due(1_050_000, 1_000_000)
    assert allocator.release_due(1_070_000, 1_000_000)
    assert allocator.release_due(930_000, 1_000_000)


def test_cron_releases_heap_memory_when_keys_grow(eng, monkeypatch):
    calls = []
    monkeypatch.setattr(allocator, "release", lambda: calls.append(1) or True)
    db = eng.dbs[0]
    for i in range(10_000):
        db.data[b"k%d" % i] = b"v"
    eng.cron()
    assert calls and eng.trim_keys == 10_000
    eng.cron()
    assert len(calls) == 1  # nothing changed since
