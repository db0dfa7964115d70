"""FAILOVER: a master hands its role to one of its replicas without losing a write (Redis 7.0's
coordinated failover, no Sentinel needed).

    waiting-for-sync      writes are paused; as soon as the target (or, without TO, any
                          replica) has acknowledged the whole stream, or the TIMEOUT ran out
                          with FORCE, the master turns itself into a replica of the target
    failover-in-progress  it connects to the target and sends `PSYNC <replid> <offset> FAILOVER`;
                          the target, still a replica of this master's history, becomes a master
                          and continues it (+CONTINUE). Any answer but a resynchronization
                          aborts: this server is a master again.

A TIMEOUT without FORCE aborts when it runs out; FAILOVER ABORT aborts at any time. The log
lines and errors are Redis's.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from respdb.engine import Engine
    from respdb.replication import Replica

NO_FAILOVER = "no-failover"
WAITING = "waiting-for-sync"
IN_PROGRESS = "failover-in-progress"


class Failover:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.state = NO_FAILOVER
        self.host = ""  # the target, once known
        self.port = 0
        self.end = 0.0  # time.monotonic() of the TIMEOUT; 0: none
        self.force = False

    def start(self, host: str | None, port: int, timeout_ms: int, force: bool) -> None:
        """FAILOVER's arguments, already checked by the command."""
        e = self.engine
        if host is not None:
            self.host, self.port = host, port
            e.log("notice", "FAILOVER requested to %s:%d." % (host, port))
        else:
            e.log("notice", "FAILOVER requested to any replica.")
        self.end = time.monotonic() + timeout_ms / 1000 if timeout_ms else 0.0
        self.force = force
        self.state = WAITING
        e.pause("write", math.inf, purpose="failover")

    def find_replica(self, host: str, port: int) -> Replica | None:
        """Redis's findReplica: by announced (or peer) address and listening port."""
        for r in self.engine.replication.replicas.values():
            if _address(r).lower() == host.lower() and r.listening_port == port:
                return r
        return None

    def update(self) -> None:
        """Redis's updateFailoverStatus: time out, or fail over to a replica in sync."""
        if self.state != WAITING:
            return
        repl = self.engine.replication
        if self.end and time.monotonic() >= self.end:
            if self.force:
                self.engine.log("notice", "FAILOVER to %s:%d time out exceeded, failing over." % (self.host, self.port))
                self._fail_over()
            else:
                self.abort("Replica never caught up before timeout")
            return
        if self.host:
            r = self.find_replica(self.host, self.port)
        else:
            r = next((x for x in repl.replicas.values() if x.ack_offset == repl.offset), None)
            if r is not None:
                self.host, self.port = _address(r), r.listening_port
        if r is not None and r.ack_offset == repl.offset:
            self.engine.log("notice", "Failover target %s:%d is synced, failing over." % (self.host, self.port))
            self._fail_over()

    def _fail_over(self) -> None:
        self.state = IN_PROGRESS
        self.engine.replication.set_master(self.host, self.port)

    def psync_answered(self, accepted: bool) -> None:
        """The target answered our PSYNC ... FAILOVER."""
        if accepted:
            self.clear()
        else:
            self.abort("Failover target rejected psync request")

    def abort(self, reason: str) -> None:
        if self.state == NO_FAILOVER:
            return
        e = self.engine
        if self.host:
            e.log("notice", "FAILOVER to %s:%d aborted: %s" % (self.host, self.port, reason))
        else:
            e.log("notice", "FAILOVER to any replica aborted: %s" % reason)
        if self.state == IN_PROGRESS:
            e.replication.unset_master()  # a master again
        self.clear()

    def clear(self) -> None:
        self.state = NO_FAILOVER
        self.host, self.port = "", 0
        self.end = 0.0
        self.force = False
        self.engine.unpause(purpose="failover")


def _address(r: Replica) -> str:
    """The address a replica is known by: the one it announced, else its connection's."""
    return r.ip or r.client.addr.rsplit(":", 1)[0]
