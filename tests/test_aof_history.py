"""AOF history files and failed rewrites, compared with a real redis-server: the manifest's
`type h` entries under aof-disable-auto-gc, their deletion, and the limit on automatic rewrites
after repeated failures (integration/aof-multi-part)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from conftest import STARTERS, RawConn, ServerProc
from test_replication import _info, _wait


def _manifest(s: ServerProc) -> str:
    return (Path(s.workdir) / "appendonlydir" / "appendonly.aof.manifest").read_text()


def _files(s: ServerProc) -> set[str]:
    return set(os.listdir(Path(s.workdir) / "appendonlydir"))


def _rewrite(c: RawConn) -> None:
    _wait(lambda: _info(c, "persistence")["aof_rewrite_in_progress"] == "0", what="no rewrite running")
    assert c.cmd("BGREWRITEAOF") == b"+Background append only file rewriting started\r\n"
    _wait(lambda: _info(c, "persistence")["aof_rewrite_in_progress"] == "0", what="the rewrite")


def _child(s: ServerProc) -> int:
    out = subprocess.run(["pgrep", "-P", str(s.proc.pid)], capture_output=True, text=True).stdout.split()
    assert out, "no child"
    return int(out[0])


def test_history_kept_while_auto_gc_is_off(kind: str) -> None:
    s = STARTERS[kind]("--appendonly", "yes")
    try:
        c = RawConn(s.port)
        c.cmd("SET", "k", "v")
        assert c.cmd("CONFIG", "SET", "aof-disable-auto-gc", "yes") == b"+OK\r\n"
        _rewrite(c)
        c.cmd("SET", "k2", "v")
        _rewrite(c)
        assert _manifest(s) == (
            "file appendonly.aof.3.base.rdb seq 3 type b\n"
            "file appendonly.aof.2.incr.aof seq 2 type h\n"
            "file appendonly.aof.2.base.rdb seq 2 type h\n"
            "file appendonly.aof.1.incr.aof seq 1 type h\n"
            "file appendonly.aof.1.base.rdb seq 1 type h\n"
            "file appendonly.aof.3.incr.aof seq 3 type i\n"
        )
        assert {"appendonly.aof.1.base.rdb", "appendonly.aof.2.incr.aof"} <= _files(s)
        assert c.cmd("CONFIG", "SET", "aof-disable-auto-gc", "no") == b"+OK\r\n"
        assert (
            _manifest(s) == "file appendonly.aof.3.base.rdb seq 3 type b\nfile appendonly.aof.3.incr.aof seq 3 type i\n"
        )
        _wait(lambda: _files(s) == {"appendonly.aof.3.base.rdb", "appendonly.aof.3.incr.aof",
                                    "appendonly.aof.manifest"}, what="history deleted")  # fmt: skip
    finally:
        s.stop()


def test_automatic_rewrites_held_back_after_three_failures(kind: str) -> None:
    s = STARTERS[kind]("--appendonly", "yes")
    try:
        c = RawConn(s.port)
        _rewrite(c)
        c.cmd("CONFIG", "SET", "rdb-key-save-delay", "10000000")
        c.cmd("CONFIG", "SET", "auto-aof-rewrite-percentage", "1", "auto-aof-rewrite-min-size", "1kb")
        c.cmd("SET", "k", "v")
        for _ in range(3):
            assert c.cmd("BGREWRITEAOF").startswith(b"+Background")
            os.kill(_child(s), signal.SIGKILL)
            _wait(lambda: _info(c, "persistence")["aof_rewrite_in_progress"] == "0", what="the failed rewrite")
        assert _info(c, "persistence")["aof_rewrites_consecutive_failures"] == "3"
        c.cmd("SET", "x", "x" * 2048)  # past the growth that triggers an automatic rewrite
        log = Path(s.log)
        _wait(lambda: "triggered the limit, will retry in 1 minutes" in log.read_text(), what="the limit")
        time.sleep(0.3)
        assert _info(c, "persistence")["aof_rewrite_in_progress"] == "0"
        assert log.read_text().count("triggered the limit") == 1
        # BGREWRITEAOF is not held back
        c.cmd("CONFIG", "SET", "auto-aof-rewrite-percentage", "0", "rdb-key-save-delay", "0")
        _rewrite(c)
        assert _info(c, "persistence")["aof_rewrites_consecutive_failures"] == "0"
    finally:
        s.stop()


def test_failed_first_rewrite_drops_its_temp_incr(kind: str) -> None:
    # integration/aof-multi-part "AOF will open a temporary INCR AOF ...": appendonly turned on
    # at run time keeps writes in a temp incr until the first rewrite succeeds; a failed one
    # removes it, and the next one starts over
    s = STARTERS[kind]()
    try:
        c = RawConn(s.port)
        for i in range(20):
            c.cmd("SET", "k%d" % i, "v")
        c.cmd("CONFIG", "SET", "rdb-key-save-delay", "10000000")
        assert c.cmd("CONFIG", "SET", "appendonly", "yes") == b"+OK\r\n"
        assert _info(c, "persistence")["aof_rewrite_in_progress"] == "1"
        c.cmd("SET", "during", "1")
        os.kill(_child(s), signal.SIGKILL)
        log = Path(s.log)
        _wait(lambda: "Removing the temp incr aof file temp-appendonly.aof.incr" in log.read_text(), what="removal")
        assert not (Path(s.workdir) / "appendonlydir" / "appendonly.aof.manifest").exists()
        _wait(lambda: _info(c, "persistence")["aof_rewrite_in_progress"] == "1", what="the next rewrite")
        c.cmd("CONFIG", "SET", "rdb-key-save-delay", "0")
        os.kill(_child(s), signal.SIGKILL)  # (the running one still has the delay)
        manifest = Path(s.workdir) / "appendonlydir" / "appendonly.aof.manifest"
        _wait(lambda: manifest.exists() and _info(c, "persistence")["aof_rewrite_in_progress"] == "0",
              what="a rewrite that works")  # fmt: skip
        assert log.read_text().count("Removing the temp incr aof file") == 2
        assert (
            _manifest(s) == "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        )
        assert c.cmd("DEBUG", "LOADAOF") == b"+OK\r\n"
        assert c.cmd("GET", "during") == b"$1\r\n1\r\n" and c.cmd("DBSIZE") == b":21\r\n"
    finally:
        s.stop()
