"""MONITOR through redis-py (its monitor() parser) and in-process (the embedded engine)."""

from __future__ import annotations

import threading
import time

from respdb import monitor
from respdb.engine import Engine


def test_redis_py_monitor(r):
    """redis-py's Monitor parses our lines: time, db, client address, command."""
    got = []
    with r.monitor() as m:

        def writer():
            time.sleep(0.1)
            w = r.connection_pool.get_connection()
            w.send_command("SET", "k", 'va"l ue')
            w.read_response()
            w.send_command("SELECT", "2")
            w.read_response()
            w.send_command("GET", "k")
            w.read_response()
            r.connection_pool.release(w)

        t = threading.Thread(target=writer)
        t.start()
        for _ in range(3):
            got.append(m.next_command())
        t.join()
    assert [g["command"] for g in got] == ['SET k va"l ue', "SELECT 2", "GET k"]
    assert [g["db"] for g in got] == [0, 2, 2]
    assert all(g["client_type"] == "tcp" and g["client_address"] == "127.0.0.1" for g in got)
    assert all(abs(g["time"] - time.time()) < 30 for g in got)


def test_embedded_monitor_lines():
    e = Engine()
    mon = e.new_client()
    c = e.new_client()
    assert e.execute(mon, [b"MONITOR"]) == b"+OK\r\n"
    assert e.execute(mon, [b"MONITOR"]) == b""  # already monitoring: no reply
    e.execute(c, [b"SET", b"k", b"\x00\xff"])
    e.execute(c, [b"EVAL", b"return redis.call('get', KEYS[1])", b"1", b"k"])
    e.execute(c, [b"CONFIG", b"GET", b"port"])  # admin: not shown
    lines = [x.split(b" ", 1)[1] for x in mon.pushed]
    assert lines == [
        b'[0 ] "SET" "k" "\\x00\\xff"\r\n',
        b'[0 ] "EVAL" "return redis.call(\'get\', KEYS[1])" "1" "k"\r\n',
        b'[0 lua] "get" "k"\r\n',
    ]
    assert "O" in mon.flags and e.monitors == [mon]
    e.drop_client(mon)
    assert e.monitors == []


def test_quote_matches_sdscatrepr():
    assert monitor.quote(b"plain text") == b'"plain text"'
    assert monitor.quote(b'a"b\\c') == b'"a\\"b\\\\c"'
    assert monitor.quote(b"\n\r\t\x07\x08\x00\x1f\x7f\x80") == b'"\\n\\r\\t\\a\\b\\x00\\x1f\\x7f\\x80"'
    assert monitor.quote(b"") == b'""'


def test_monitor_is_free_when_unused():
    """Nobody monitoring: the request path sees an empty list and nothing is formatted."""
    e = Engine()
    c = e.new_client()
    calls = []
    orig = monitor.line
    monitor.line = lambda *a: calls.append(a) or orig(*a)
    try:
        e.execute(c, [b"SET", b"a", b"1"])
        assert calls == [] and e.monitors == []
    finally:
        monitor.line = orig
