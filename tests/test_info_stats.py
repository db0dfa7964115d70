"""INFO figures that count traffic and memory pressure (Redis 7.0's stats section), checked on
respdb and a real redis-server with the same steps."""

from __future__ import annotations

import time

import pytest
from conftest import STARTERS, RawConn
from test_replica import _caught_up, _follow
from test_replication import _info, _wait


@pytest.mark.parametrize("kind", ["respdb", "redis"])
def test_reads_and_writes_processed_count_socket_events(kind: str) -> None:
    s = STARTERS[kind]()
    try:
        c = RawConn(s.port)
        before = _info(c, "stats")
        for i in range(5):
            c.cmd("SET", "k%d" % i, "v")
        after = _info(c, "stats")
        # the INFO request itself is one more read and write on each side
        assert int(after["total_reads_processed"]) - int(before["total_reads_processed"]) == 6
        assert int(after["total_writes_processed"]) - int(before["total_writes_processed"]) == 6
        for name in ("io_threaded_reads_processed", "io_threaded_writes_processed", "dump_payload_sanitizations"):
            assert after[name] == "0"
        assert c.cmd("CONFIG", "RESETSTAT") == b"+OK\r\n"
        assert _info(c, "stats")["total_reads_processed"] == "1"  # the INFO after the reset
    finally:
        s.stop()


@pytest.mark.parametrize("kind", ["respdb", "redis"])
def test_replication_bytes_are_counted_apart(kind: str) -> None:
    master, replica = STARTERS[kind](), STARTERS[kind]()
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        _follow(r, master)
        m.cmd("SET", "big", "x" * 100000)
        _caught_up(r, m)
        ms, rs = _info(m, "stats"), _info(r, "stats")
        # the value went to the replica as replication output, which the totals include too
        repl_out, repl_in = int(ms["total_net_repl_output_bytes"]), int(rs["total_net_repl_input_bytes"])
        assert repl_out > 100000 and repl_in > 100000
        assert repl_out <= int(ms["total_net_output_bytes"]) < repl_out + 20000
        assert repl_in <= int(rs["total_net_input_bytes"]) < repl_in + 20000
        assert ms["total_net_repl_input_bytes"] == "0" and rs["total_net_repl_output_bytes"] == "0"
        for name in ("instantaneous_input_repl_kbps", "instantaneous_output_repl_kbps"):
            float(ms[name])
    finally:
        master.stop()
        replica.stop()


@pytest.mark.parametrize("kind", ["respdb", "redis"])
def test_eviction_exceeded_time(kind: str) -> None:
    s = STARTERS[kind]()
    try:
        c = RawConn(s.port)
        c.cmd("SET", "filler", "x" * 1000)
        info = _info(c, "stats")
        assert (info["total_eviction_exceeded_time"], info["current_eviction_exceeded_time"]) == ("0", "0")
        c.cmd("CONFIG", "SET", "maxmemory", "1")  # noeviction: nothing can bring it under
        assert c.cmd("SET", "k", "v").startswith(b"-OOM")
        time.sleep(0.3)
        current = int(_info(c, "stats")["current_eviction_exceeded_time"])
        assert current >= 250
        c.cmd("CONFIG", "SET", "maxmemory", "0")
        c.cmd("CONFIG", "SET", "maxmemory", "1000000000")
        assert c.cmd("SET", "k", "v") == b"+OK\r\n"  # under the limit again: the time is banked
        info = _info(c, "stats")
        assert info["current_eviction_exceeded_time"] == "0"
        assert int(info["total_eviction_exceeded_time"]) >= current
        c.cmd("CONFIG", "RESETSTAT")
        assert _info(c, "stats")["total_eviction_exceeded_time"] == "0"
    finally:
        s.stop()


def test_instantaneous_kbps_follow_traffic() -> None:
    s = STARTERS["respdb"]()
    try:
        c = RawConn(s.port)
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            c.cmd("SET", "k", "x" * 20000)
        # the rates come from the cron's samples, taken every 100 ms at the default hz
        _wait(lambda: float(_info(c, "stats")["instantaneous_input_kbps"]) > 10, what="input rate")
        assert float(_info(c, "stats")["instantaneous_output_kbps"]) > 0
    finally:
        s.stop()
