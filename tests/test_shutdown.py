"""Shutdown with lagging replicas (shutdown-timeout, SHUTDOWN ABORT, signals), run against respdb
and a real redis-server alike (Redis's integration/shutdown and unit/shutdown cases)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from conftest import STARTERS, RawConn, ServerProc
from test_replica import _follow
from test_replication import _info, _wait


def _log(s: ServerProc) -> str:
    return Path(s.log).read_text(errors="replace")


def _in_sync(m: RawConn) -> bool:
    """The master has heard its replica acknowledge its whole stream."""
    info = _info(m, "replication")
    return ("offset=%s," % info["master_repl_offset"]) in info.get("slave0", "") + ","


class Pair:
    """A master and a replica of the same kind, the replica in sync."""

    def __init__(self, kind: str, *master_args: str) -> None:
        self.master = STARTERS[kind]("--repl-diskless-sync-delay", "0", *master_args)
        self.replica = STARTERS[kind]()
        self.m = RawConn(self.master.port)
        self.r = RawConn(self.replica.port)
        _follow(self.r, self.master)
        self.m.cmd("SET", "k", "1")
        _wait(lambda: _in_sync(self.m), what="the replica's ACK")
        self.stopped = False

    def stop_replica(self) -> None:
        os.kill(self.replica.proc.pid, signal.SIGSTOP)
        self.stopped = True

    def resume_replica(self) -> None:
        os.kill(self.replica.proc.pid, signal.SIGCONT)
        self.stopped = False

    def waiting_callers(self) -> list[RawConn]:
        """The replica stopped behind one write, and two clients blocked in SHUTDOWN."""
        self.stop_replica()
        self.m.cmd("INCR", "k")
        callers = [RawConn(self.master.port), RawConn(self.master.port)]
        for c in callers:
            c.send_cmd("SHUTDOWN")
        self.shutdown_pending()
        return callers

    def shutdown_pending(self) -> None:
        _wait(lambda: int(_info(self.m, "server").get("shutdown_in_milliseconds", "0")) > 0, what="shutdown pending")

    def close(self) -> None:
        if self.stopped:
            self.resume_replica()
        self.master.stop()
        self.replica.stop()


@pytest.fixture
def pair_of(kind: str):
    made: list[Pair] = []

    def make(*master_args: str) -> Pair:
        made.append(Pair(kind, *master_args))
        return made[-1]

    yield make
    for p in made:
        p.close()


@pytest.mark.parametrize("how", ["shutdown", "sigterm"])
def test_master_waits_for_its_replica(pair_of, how: str) -> None:
    p = pair_of("--shutdown-timeout", "300")
    p.stop_replica()
    p.m.cmd("INCR", "k")
    other = RawConn(p.master.port)
    if how == "shutdown":
        other.send_cmd("SHUTDOWN")
    else:
        p.master.proc.send_signal(signal.SIGTERM)
    p.shutdown_pending()
    # writes wait, reads go on, the SHUTDOWN caller hears nothing
    writer = RawConn(p.master.port)
    writer.send_cmd("SET", "x", "1")
    assert writer.silent(0.3)
    assert p.m.cmd("GET", "k") == b"$1\r\n2\r\n"
    assert other.silent(0.1)
    assert p.master.proc.poll() is None
    p.resume_replica()
    assert p.master.proc.wait(20) == 0
    assert p.r.cmd("GET", "k") == b"$1\r\n2\r\n"  # nothing lost
    assert p.r.cmd("GET", "x") == b"$-1\r\n"  # paused, never run
    log = _log(p.master)
    assert "1 of 1 replicas are in sync when shutting down." in log
    assert "Lagging replica" not in log


def test_master_gives_up_after_shutdown_timeout(pair_of) -> None:
    p = pair_of("--shutdown-timeout", "1")
    p.stop_replica()
    p.m.cmd("INCR", "k")
    t0 = time.monotonic()
    p.master.proc.send_signal(signal.SIGTERM)
    assert p.master.proc.wait(20) == 0
    assert time.monotonic() - t0 >= 0.8
    log = _log(p.master)
    assert "0 of 1 replicas are in sync when shutting down." in log
    assert "Lagging replica 127.0.0.1:" in log and "behind master" in log


def test_shutdown_now_does_not_wait(pair_of) -> None:
    p = pair_of()
    p.stop_replica()
    p.m.cmd("INCR", "k")
    try:
        p.m.cmd("SHUTDOWN", "NOW")
    except ConnectionError:
        pass
    assert p.master.proc.wait(5) == 0


def test_abort_answers_the_waiting_callers(pair_of) -> None:
    p = pair_of()
    callers = p.waiting_callers()
    _wait(lambda: _info(p.m, "clients")["blocked_clients"] == "2", what="both callers blocked")
    assert _info(p.m, "clients")["connected_clients"] == "3"  # the replica is not counted
    writer = RawConn(p.master.port)
    writer.send_cmd("SET", "x", "1")
    assert writer.silent(0.2)
    assert p.m.cmd("SHUTDOWN", "ABORT") == b"+OK\r\n"
    for c in callers:
        assert c.read_reply() == b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    assert writer.read_reply() == b"+OK\r\n"  # writes go on
    assert "shutdown_in_milliseconds" not in _info(p.m, "server")
    assert p.m.cmd("SHUTDOWN", "ABORT") == b"-ERR No shutdown in progress.\r\n"
    assert "Shutdown manually aborted." in _log(p.master)
    p.resume_replica()
    assert p.master.proc.poll() is None


def test_a_failing_shutdown_answers_every_waiting_caller(pair_of) -> None:
    # integration/shutdown "then fails": an initial AOF still being written keeps the server up
    p = pair_of()
    callers = p.waiting_callers()
    p.m.cmd("CONFIG", "SET", "rdb-key-save-delay", "30000000")
    assert p.m.cmd("CONFIG", "SET", "appendonly", "yes") == b"+OK\r\n"
    p.resume_replica()
    for c in callers:
        assert c.read_reply() == b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    log = _log(p.master)
    assert "Writing initial AOF, can't exit." in log
    assert "Errors trying to shut down the server. Check the logs for more information." in log
    try:
        p.m.cmd("SHUTDOWN", "NOSAVE", "FORCE")
    except ConnectionError:
        pass
    assert p.master.proc.wait(10) == 0


def test_abort_cancels_a_signal_before_the_cron_acts(kind: str) -> None:
    s = STARTERS[kind]()
    try:
        c = RawConn(s.port)
        c.cmd("DEBUG", "PAUSE-CRON", "1")
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.1)
        assert c.cmd("SHUTDOWN", "ABORT") == b"+OK\r\n"
        c.cmd("DEBUG", "PAUSE-CRON", "0")
        time.sleep(0.3)
        assert c.cmd("PING") == b"+PONG\r\n"
        assert "Shutdown manually aborted." in _log(s)
    finally:
        s.stop()


def test_second_sigint_during_the_final_save_exits_at_once(kind: str) -> None:
    s = STARTERS[kind]("--save", "900 1")
    try:
        c = RawConn(s.port)
        for i in range(20):
            c.cmd("SET", str(i), str(i))
        c.cmd("CONFIG", "SET", "rdb-key-save-delay", "100000")  # 2 s for 20 keys
        temp = Path(s.workdir) / ("temp-%d.rdb" % s.proc.pid)
        s.proc.send_signal(signal.SIGINT)
        _wait(temp.exists, what="the final save")
        s.proc.send_signal(signal.SIGINT)
        assert s.proc.wait(5) == 1
        assert not temp.exists()
        assert "You insist... exiting now." in _log(s)
    finally:
        s.stop()
