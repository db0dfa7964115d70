"""Shutting down, as Redis 7.0 does (prepareForShutdown, finishShutdown, SHUTDOWN ABORT).

A shutdown asked for by SHUTDOWN or a signal first waits, up to `shutdown-timeout` seconds,
for every replica to acknowledge the whole replication stream, so that a failover loses
nothing: writes are paused meanwhile, the replicas are asked for an ACK at once, and the cron
finishes the shutdown as soon as they are in sync or the time is up. SHUTDOWN NOW, a zero
timeout or a server without replicas skip the wait. The SHUTDOWN callers stay blocked until
the server exits, or get "Errors trying to SHUTDOWN" when it cannot (a failed final save, an
initial AOF still being written) or SHUTDOWN ABORT cancels it.

A signal only sets `asap`; the cron starts the shutdown with the shutdown-on-sigterm /
shutdown-on-sigint flags (so SHUTDOWN ABORT can still cancel it, and DEBUG PAUSE-CRON holds
it). A second SIGINT while a shutdown is pending exits at once.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from respdb.engine import Engine

SHUTDOWN_ERROR = "ERR Errors trying to SHUTDOWN. Check logs."


class Shutdown:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.deadline = 0.0  # time.monotonic() when the wait for replicas ends; 0: not initiated
        self.flags: frozenset[str] = frozenset()  # save, nosave, now, force
        self.asap = False  # a signal asked for a shutdown (Redis's shutdown_asap)
        self.last_signal = ""  # "SIGTERM" or "SIGINT"
        # Set by the server: leave the event loop (listeners closed, clients dropped, exit 0).
        self.stop: Callable[[], None] | None = None

    @property
    def initiated(self) -> bool:
        return self.deadline != 0.0

    def in_milliseconds(self) -> int:
        """INFO shutdown_in_milliseconds: what is left of the wait for replicas."""
        if not self.initiated:
            return 0
        return max(0, int((self.deadline - time.monotonic()) * 1000))

    # -- starting ----------------------------------------------------------------

    def prepare(self, flags: frozenset[str]) -> bool:
        """Redis's prepareForShutdown: True when the server is stopping now; False when it
        waits for replicas (`initiated`) or could not stop (logged, everything as before)."""
        e = self.engine
        if self.initiated:
            return False
        self.flags = flags  # (while loading, Persistence.prepare_shutdown never saves)
        e.log("warning", "User requested shutdown...")
        timeout = e.config.get_int("shutdown-timeout")
        if "now" not in flags and timeout and not self.ready():
            self.deadline = time.monotonic() + timeout
            if not e.pause_mode:
                e.replication.ask_acks()
            e.pause("write", math.inf, purpose="shutdown")
            e.log("notice", "Waiting for replicas before shutting down.")
            return False
        return self.finish()

    def ready(self) -> bool:
        """No replica is behind the replication stream (isReadyToShutdown)."""
        repl = self.engine.replication
        return all(r.ack_offset == repl.offset for r in repl.replicas.values())

    def on_signal(self, name: str) -> None:
        """SIGTERM / SIGINT (Redis's sigShutdownHandler; the cron does the rest)."""
        e = self.engine
        if self.asap and name == "SIGINT":
            self._insist()
        if e.loading:
            e.log("warning", "Received shutdown signal during loading, scheduling shutdown.")
        else:
            e.log("warning", "Received %s scheduling shutdown..." % name)
        self.asap = True
        self.last_signal = name
        if e.loading:
            self.cron()  # (the cron does not run while loading)

    def cron(self) -> None:
        if self.asap and not self.initiated:
            mode = self.engine.config["shutdown-on-" + self.last_signal.lower()].split()
            self.prepare(frozenset(m for m in mode if m != "default"))
        elif self.initiated and (time.monotonic() >= self.deadline or self.ready()):
            self.finish()

    # -- finishing ---------------------------------------------------------------

    def finish(self) -> bool:
        """Redis's finishShutdown: stop the children, write the AOF and the final snapshot; True
        when the server stops, False (logged, the shutdown cancelled) when it cannot."""
        e = self.engine
        repl = e.replication
        lagging = 0
        now = time.monotonic()
        for r in repl.replicas.values():
            if r.ack_offset != repl.offset:
                lagging += 1
                lag = int(now - r.ack_time) if r.state == "online" else 0
                e.log(
                    "warning",
                    "Lagging replica %s reported offset %d behind master, lag=%d, state=%s."
                    % (r.client.addr, repl.offset - r.ack_offset, lag, _STATES.get(r.state, r.state)),
                )
        if repl.replicas:
            e.log(
                "notice",
                "%d of %d replicas are in sync when shutting down."
                % (len(repl.replicas) - lagging, len(repl.replicas)),
            )
        force = "force" in self.flags
        # The final save blocks the event loop, so a second SIGINT meanwhile is heard here.
        main = threading.current_thread() is threading.main_thread()
        if main:
            previous = signal.signal(signal.SIGINT, lambda *_: self._insist())
        try:
            ok = e.persistence.prepare_shutdown(
                "save" in self.flags, "nosave" in self.flags, force, before_save=self._stop_aof
            )
        finally:
            if main:
                signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
        if not ok:
            e.log("warning", "Errors trying to shut down the server. Check the logs for more information.")
            self.cancel()
            return False
        if self.stop is not None:
            self.stop()
        return True

    def _insist(self) -> None:
        """SIGINT again during a shutdown: exit now, leaving no temp file behind."""
        e = self.engine
        e.log("warning", "You insist... exiting now.")
        e.persistence.remove_temp_file()
        os._exit(1)  # not a clean shutdown

    def _stop_aof(self, force: bool) -> bool:
        """The AOF's part, between the snapshot child and the final save: an initial AOF still
        being written keeps the server up (the data would be lost), unless forced."""
        e = self.engine
        aof = e.aof
        if not aof.on:
            return True
        if aof.child_pid != -1:
            if aof.waiting:
                if not force:
                    e.log("warning", "Writing initial AOF, can't exit.")
                    return False
                e.log("warning", "Writing initial AOF. Exit anyway.")
            e.log("warning", "There is a child rewriting the AOF. Killing it!")
            aof.kill_child()
        e.log("notice", "Calling fsync() on the AOF file.")
        aof.flush(fsync=True)
        return True

    def cancel(self) -> None:
        """Back to normal: the SHUTDOWN callers get an error, writes go on."""
        self.asap = False
        self.flags = frozenset()
        self.deadline = 0.0
        self.last_signal = ""
        self.engine.blocking.answer_shutdown_waiters(self.engine._error(SHUTDOWN_ERROR))
        self.engine.unpause(purpose="shutdown")

    def abort(self) -> bool:
        """SHUTDOWN ABORT: False when no shutdown is initiated or asked for."""
        if self.initiated:
            self.cancel()
        elif self.asap:
            self.asap = False
        else:
            return False
        self.engine.log("notice", "Shutdown manually aborted.")
        return True


# Redis's replstateToString, for the lagging-replica line
_STATES = {"wait_start": "wait_bgsave", "wait_end": "send_bulk", "wait_ack": "send_bulk", "online": "online"}
