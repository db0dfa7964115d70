"""client-output-buffer-limit for normal, Pub/Sub and replica clients.

A client whose unsent output passes its class's hard limit, or stays past the soft limit for
longer than the soft seconds, is closed with what it has not been sent (Redis's
checkClientOutputBufferLimits). Output is held until the end of the loop iteration and
checked as it goes out: the size is what the connection still buffers plus what is about to
be written, as Redis counts its reply list before writing it to the socket. A client over its
soft limit is checked again from the cron, so it is closed in time even when nothing more is
written to it (Redis's clientsCron does the same). The class is
`pubsub` while the client has a subscription, else `normal`. A replica's output is checked
by the replication stream as it is fed (`replica_over`): what its connection still buffers
plus the stream held for it while its snapshot is made (class `replica`, also spelled
`slave`); the master is not checked.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from respdb.config import parse_memory

if TYPE_CHECKING:
    from respdb.client import Client
    from respdb.engine import Engine
    from respdb.replication import Replica


def class_limits(value: str, cls: str) -> tuple[int, int, int]:
    """(hard, soft, soft seconds) for a client class in a client-output-buffer-limit value."""
    parts = value.split()
    for i in range(0, len(parts) - 3, 4):
        if parts[i] == cls:
            return (parse_memory(parts[i + 1]) or 0, parse_memory(parts[i + 2]) or 0, int(parts[i + 3]))
    return (0, 0, 0)


MIN_BULK = 7  # the smallest bulk string reply: $1\r\nx\r\n
SNAPSHOT_TAIL = 1 << 20  # below this much queued, a new replica's snapshot counts as sent


class OutputLimits:
    __slots__ = ("engine", "normal", "pubsub", "replica", "normal_on", "replica_on", "over_soft")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.normal = (0, 0, 0)
        self.pubsub = (0, 0, 0)
        self.replica = (0, 0, 0)
        self.normal_on = False  # (the default has no normal-class limit: nothing to check)
        self.replica_on = False
        self.over_soft: dict[Client, None] = {}  # clients past their soft limit, since obuf_soft_since

    def configure(self) -> None:
        value = self.engine.config["client-output-buffer-limit"]
        self.normal = class_limits(value, "normal")
        self.pubsub = class_limits(value, "pubsub")
        self.replica = class_limits(value, "slave") if " slave " in " %s " % value else class_limits(value, "replica")
        self.normal_on = bool(self.normal[0] or self.normal[1])
        self.replica_on = bool(self.replica[0] or self.replica[1])

    def exceeded(self, c: Client, size: int) -> bool:
        """Whether normal or Pub/Sub client `c`, with `size` bytes of output pending, must be
        closed (logged here)."""
        if c.kind != "normal":
            return False
        return self._check(c, size, self.pubsub if c.subs or c.psubs or c.ssubs else self.normal)

    def _check(self, c: Client, size: int, limits: tuple[int, int, int]) -> bool:
        hard, soft, secs = limits
        if hard and size > hard:
            return self._over(c)
        if soft and size > soft:
            now = time.monotonic()
            if not c.obuf_soft_since:
                c.obuf_soft_since = now
                self.over_soft[c] = None
            elif now - c.obuf_soft_since > secs:
                return self._over(c)
        elif c.obuf_soft_since:
            c.obuf_soft_since = 0.0
            self.over_soft.pop(c, None)
        return False

    def cron(self) -> None:
        for c in list(self.over_soft):
            if c.closed or not c.obuf_soft_since:
                self.over_soft.pop(c, None)
            elif c.kind != "replica":
                if self.exceeded(c, c.conn.output_size() if c.conn is not None else 0):
                    c.kill()
            else:
                r = self.engine.replication.replicas.get(c.id)
                if r is not None and self.replica_over(r):
                    c.kill()

    def replica_over(self, r: Replica) -> bool:
        """After the stream was fed to replica `r` (while `replica_on`): True (logged) when it
        must be dropped. Counted: the stream held for it while its snapshot is made, then what
        its connection buffers; not the snapshot itself (Redis sends that outside the output
        buffer), so an online replica's limits apply once its connection has (nearly) drained
        the snapshot."""
        if r.state != "online":
            size = r.pending_size
        else:
            conn = r.client.conn
            size = conn.output_size() if conn is not None else 0
            if not r.limits_armed:
                if size > SNAPSHOT_TAIL:
                    size = 0
                else:
                    r.limits_armed = True
        hard, soft, secs = self.replica
        if hard:
            # A replica's hard limit is at least repl-backlog-size: it shares the backlog's
            # memory, and a partial resync from anywhere in the backlog must not be cut off.
            hard = max(hard, self.engine.config.get_int("repl-backlog-size"))
        return self._check(r.client, size, (hard, soft, secs))

    def reply_too_big(self, c: Client, elements: int) -> bool:
        """For a command about to build a reply of `elements` bulk strings (HRANDFIELD with a
        huge negative count...): True, with the client closed, when that reply cannot fit under
        the client's hard limit. Redis stops such a command mid-run; building all of it first
        could take minutes and gigabytes."""
        if c.kind != "normal" or c.conn is None:
            return False
        hard = (self.pubsub if c.subs or c.psubs or c.ssubs else self.normal)[0]
        if hard and elements * MIN_BULK > hard:
            self._over(c)
            c.kill()
            return True
        return False

    def _over(self, c: Client) -> bool:
        from respdb.commands.connection import client_info_line

        self.over_soft.pop(c, None)
        info = client_info_line(c).decode("utf-8", "replace")
        self.engine.log("warning", f"Client {info} scheduled to be closed ASAP for overcoming of output buffer limits.")
        return True
