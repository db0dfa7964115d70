"""Engine-level checks for the `n` (new key) and `m` (keymiss) notification classes and the
keyspace hit/miss counters; the differential tests compare them with Redis command by command."""

from __future__ import annotations

import pytest

from respdb import notify
from respdb.embedded import Embedded


@pytest.fixture
def db(tmp_path) -> Embedded:
    d = Embedded(dir=str(tmp_path), enable_debug_command="yes")
    d.events = []
    d.engine.notify_hooks.append(lambda cls, event, key, dbid: d.events.append((event, key)))
    return d


def _stats(d: Embedded) -> tuple[int, int]:
    s = d.engine.stats
    return s["keyspace_hits"], s["keyspace_misses"]


def test_new_survives_config_text_without_it(db):
    """Redis shows "KEAnm" as "AKEm" (no `n` next to `A`), but the class stays on."""
    db.execute("CONFIG", "SET", "notify-keyspace-events", "KEAnm")
    assert db.execute("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events", b"AKEm"]
    assert db.engine.notify_flags & notify.NEW
    db.execute("SET", "k", "v")
    assert db.events == [("new", b"k"), ("set", b"k")]


@pytest.mark.parametrize("flags", ["En", "Kn"])
def test_inlined_string_writes_send_new(db, flags):
    """The hot SET / INCR / MSET paths skip Engine.written() when nothing listens: `n` alone
    (without `$`) must still reach them."""
    db.execute("CONFIG", "SET", "notify-keyspace-events", flags)
    db.execute("SET", "a", "1")
    db.execute("SET", "a", "2")
    db.execute("INCR", "b")
    db.execute("INCR", "b")
    db.execute("MSET", "c", "1", "a", "3", "d", "4")
    assert db.events == [("new", b"a"), ("new", b"b"), ("new", b"c"), ("new", b"d")]


def test_classes_off_unhook_databases(db):
    db.execute("CONFIG", "SET", "notify-keyspace-events", "KEnm")
    assert all(d.on_new is not None and d.on_miss is not None for d in db.engine.dbs)
    db.execute("CONFIG", "SET", "notify-keyspace-events", "KEA")
    assert all(d.on_new is None and d.on_miss is None for d in db.engine.dbs)
    db.execute("SET", "k", "v")
    db.execute("GET", "nokey")
    assert db.events == [("set", b"k")]


def test_reads_count_writes_do_not(db):
    db.execute("CONFIG", "SET", "notify-keyspace-events", "Em")
    db.execute("RPUSH", "l", "a")
    db.execute("LPUSH", "nol2", "a")  # a write lookup: neither counted nor notified
    db.execute("LLEN", "l")
    db.execute("LLEN", "nol")
    db.execute("SUNIONSTORE", "dst", "s1", "s2")  # sources are read lookups
    assert _stats(db) == (1, 3)
    assert db.events == [("keymiss", b"nol"), ("keymiss", b"s1"), ("keymiss", b"s2")]
    db.execute("CONFIG", "RESETSTAT")
    assert _stats(db) == (0, 0)
    assert db.execute_raw("GET", "l").startswith(b"-WRONGTYPE")  # after the lookup: still a hit
    assert _stats(db) == (1, 0)


def test_object_counts_without_keymiss_or_touch(db):
    db.execute("CONFIG", "SET", "notify-keyspace-events", "Em")
    db.execute("SET", "k", "v")
    d = db.engine.dbs[0]
    d.set_access_field(b"k", 5)
    assert db.execute("OBJECT", "ENCODING", "nokey") is None
    assert db.execute("TYPE", "k") == b"string"
    assert d.access_field(b"k") == 5  # TYPE is a NOTOUCH read
    assert _stats(db) == (1, 1)
    assert db.events == []


def test_rdb_load_sends_no_new(db):
    db.execute("SET", "k", "v")
    db.execute("RPUSH", "l", "a")
    db.execute("CONFIG", "SET", "notify-keyspace-events", "KEAnm")
    db.execute("DEBUG", "RELOAD")
    assert db.execute("DBSIZE") == 2
    assert not [e for e in db.events if e[0] == "new"]
