"""The software watchdog: `watchdog-period` in milliseconds, as Redis's watchdog.

While it is set, each cron run re-arms a one-shot SIGALRM timer (ITIMER_REAL) of that length.
When nothing re-arms it in time, the handler logs "--- WATCHDOG TIMER EXPIRED ---" and the Python
stack of what the server is doing. That happens when the event loop is held up by a long command
or script, or while a dataset loads, since the cron runs no further than the load steps there, as
Redis's serverCron does. Python runs signal handlers between the main thread's bytecodes, so a
thread stuck inside one C call is reported once that call returns. As in Redis, a period shorter
than two cron intervals is raised to that, and 0 turns the watchdog off. Only a server that runs
in the main thread has one (the embedded server's thread cannot take signals).
"""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from types import FrameType
from typing import Any


class Watchdog:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.period = 0  # milliseconds; 0: off

    def apply(self, value: str) -> None:
        """watchdog-period set (at start-up or by CONFIG SET): Redis's applyWatchdogPeriod."""
        if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
            return
        period = int(value)
        if period <= 0:
            if self.period:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, signal.SIG_IGN)
            self.period = 0
            return
        shortest = 1000 // self.engine.config.get_int("hz") * 2
        if period < shortest:
            period = shortest
            self.engine.config.values["watchdog-period"] = str(period)  # (CONFIG GET shows it)
        signal.signal(signal.SIGALRM, self._expired)
        self.period = period
        self.arm()

    def arm(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, self.period / 1000)

    def _expired(self, signum: int, frame: FrameType | None) -> None:
        stack = "".join(traceback.format_stack(frame)) if frame is not None else ""
        head = "%d:signal-handler (%d) " % (os.getpid(), int(time.time()))
        text = "%s\n--- WATCHDOG TIMER EXPIRED ---\n\n------ STACK TRACE ------\nBacktrace:\n%s%s--------\n\n" % (
            head,
            stack,
            head,
        )
        try:
            self.engine.logfile.write(text)
            self.engine.logfile.flush()
        except (OSError, ValueError):
            pass
