"""DEBUG subcommands that act on the server: LOADAOF, RESTART, crashes, PAUSE-CRON, CHANGE-REPL-ID.

The crash and restart tests use servers of their own; the rest the session server.
"""

from __future__ import annotations

import time

import pytest
import redis
from conftest import RawConn, start_respdb, wait_port


def _client(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, protocol=2)


def test_debug_refused_unless_enabled():
    s = start_respdb("--enable-debug-command", "no")
    try:
        conn = RawConn(s.port)
        reply = conn.cmd("DEBUG", "DIGEST")
        assert reply.startswith(b"-ERR DEBUG command not allowed. If the enable-debug-command option is set")
        conn.close()
    finally:
        s.stop()


def test_loadaof_reloads_the_dataset():
    s = start_respdb("--appendonly", "yes")
    try:
        r = _client(s.port)
        r.set("a", "1")
        r.rpush("l", "x", "y", "z")
        r.hset("h", mapping={"f": "v"})
        r.set("t", "v", ex=1000)
        before = r.execute_command("DEBUG", "DIGEST")
        assert before != "0" * 40
        assert r.execute_command("DEBUG", "LOADAOF") in (b"OK", "OK", True)
        assert r.execute_command("DEBUG", "DIGEST") == before
        assert r.ttl("t") > 900
        # what the AOF holds is what comes back: a key written after LOADAOF is kept next time too
        r.set("b", "2")
        r.execute_command("DEBUG", "LOADAOF")
        assert r.get("b") == b"2" and r.dbsize() == 5
        info = r.info("persistence")
        assert info["rdb_changes_since_last_save"] == 0
        r.close()
    finally:
        s.stop()
    with open(s.log) as f:
        assert "Append Only File loaded by DEBUG LOADAOF" in f.read()


def test_loadaof_without_aof_is_an_error(r):
    with pytest.raises(redis.ResponseError, match="Error trying to load the AOF files, check server logs."):
        r.execute_command("DEBUG", "LOADAOF")


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_loadaof_with_appendonly_off_loads_what_bgrewriteaof_wrote(preamble):
    # Redis's unit/other does this: BGREWRITEAOF with the AOF off still writes a base file and
    # a manifest, and DEBUG LOADAOF loads them
    s = start_respdb("--aof-use-rdb-preamble", preamble)
    try:
        r = _client(s.port)
        r.set("k", "v")
        r.set("t", "v", ex=1000)
        before = r.execute_command("DEBUG", "DIGEST")
        r.execute_command("BGREWRITEAOF")
        deadline = time.monotonic() + 10
        while r.info("persistence")["aof_rewrite_in_progress"] and time.monotonic() < deadline:
            time.sleep(0.05)
        r.set("k", "changed")
        r.set("extra", "1")
        assert r.execute_command("DEBUG", "LOADAOF") in (b"OK", "OK", True)
        assert r.execute_command("DEBUG", "DIGEST") == before
        assert r.get("k") == b"v" and r.exists("extra") == 0 and r.ttl("t") > 900
        assert r.info("persistence")["aof_enabled"] == 0
        r.close()
    finally:
        s.stop()


def test_segfault_kills_the_server():
    s = start_respdb()
    try:
        conn = RawConn(s.port)
        conn.send_cmd("DEBUG", "SEGFAULT")
        assert conn.closed()
        assert s.proc.wait(10) == -11
    finally:
        s.stop()
    with open(s.log) as f:
        assert "crashed by signal: 11" in f.read()


def test_restart_keeps_the_dataset_and_port():
    s = start_respdb("--appendonly", "yes")
    try:
        r = _client(s.port)
        r.set("k", "v")
        pid = r.info("server")["process_id"]
        conn = RawConn(s.port)
        conn.send_cmd("DEBUG", "RESTART")
        assert conn.closed()
        time.sleep(0.3)
        wait_port(s.port, s.proc)
        r2 = _client(s.port)
        assert r2.get("k") == b"v"
        assert r2.info("server")["process_id"] == pid  # exec in place, as Redis does
        r2.close()
    finally:
        s.stop()


def test_pause_cron_stops_active_expiry(r):
    try:
        r.execute_command("DEBUG", "PAUSE-CRON", "1")
        r.set("gone", "v", px=20)
        time.sleep(0.3)
        assert r.dbsize() == 1  # nothing deleted it in the background
    finally:
        r.execute_command("DEBUG", "PAUSE-CRON", "0")
    deadline = time.monotonic() + 3
    while r.dbsize() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.dbsize() == 0


def test_change_repl_id(r):
    before = r.info("replication")["master_replid"]
    assert r.execute_command("DEBUG", "CHANGE-REPL-ID")
    after = r.info("replication")["master_replid"]
    assert after != before and len(after) == 40


def test_populate_and_digest_value(r):
    r.execute_command("DEBUG", "POPULATE", "100", "p", "20")
    assert r.dbsize() == 100
    assert r.get("p:7") == b"value:7" + bytes(13)
    d = r.execute_command("DEBUG", "DIGEST-VALUE", "p:7", "nokey")
    assert d[1] in (b"0" * 40, "0" * 40) and d[0] != d[1]


def test_crash_report_on_sigabrt() -> None:
    # integration/logging "Crash report generated on SIGABRT"
    import os
    import signal
    from pathlib import Path

    from conftest import start_respdb

    s = start_respdb()
    os.kill(s.proc.pid, signal.SIGABRT)
    assert s.proc.wait(10) == -signal.SIGABRT
    assert "crashed by signal: 6" in Path(s.log).read_text()
