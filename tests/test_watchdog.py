"""watchdog-period over TCP: a loop held up longer than the period logs Redis's watchdog report
with the Python stack; the period is raised to two cron intervals as Redis raises it; 0 stops
it. (Redis 7.0.15 answers the same CONFIG GET and logs the same header.)"""

from __future__ import annotations

import time

from conftest import RawConn, start_respdb

HEADER = "--- WATCHDOG TIMER EXPIRED ---"


def _expired(log: str) -> int:
    with open(log, encoding="utf-8", errors="replace") as f:
        return f.read().count(HEADER)


def test_watchdog_reports_a_blocked_loop() -> None:
    s = start_respdb()
    try:
        c = RawConn(s.port)
        assert c.cmd("CONFIG", "SET", "watchdog-period", "50") == b"+OK\r\n"
        # hz 10: a cron interval is 100 ms, so the shortest usable period is 200 ms
        assert c.cmd("CONFIG", "GET", "watchdog-period") == b"*2\r\n$15\r\nwatchdog-period\r\n$3\r\n200\r\n"
        time.sleep(0.5)
        assert _expired(s.log) == 0  # the cron keeps re-arming it
        assert c.cmd("DEBUG", "SLEEP", "0.6") == b"+OK\r\n"
        assert _expired(s.log) == 1
        with open(s.log, encoding="utf-8") as f:
            report = f.read().split(HEADER, 1)[1]
        assert "------ STACK TRACE ------" in report and "in data_received" in report
        assert c.cmd("CONFIG", "SET", "watchdog-period", "0") == b"+OK\r\n"
        assert c.cmd("DEBUG", "SLEEP", "0.5") == b"+OK\r\n"
        assert _expired(s.log) == 1
        assert c.cmd("PING") == b"+PONG\r\n"
    finally:
        s.stop()
