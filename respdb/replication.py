"""The master side of replication: full synchronization and the command stream.

A replica sends PSYNC (or the old SYNC, which `redis-cli --replica` and Redis's test suite use);
it gets a snapshot of the dataset in RDB format as `$<length>\\r\\n<rdb>` (no trailing CRLF),
preceded by `+FULLRESYNC <replid> <offset>` for PSYNC, and from then on every command the engine
propagates, in RESP, with a SELECT whenever the database changes: the same stream the AOF gets
(`Engine.propagate`), and what Redis sends its replicas. Every `repl-ping-replica-period` seconds
the replicas get a PING, as from Redis.

What is left out: partial resynchronization (PSYNC always answers FULLRESYNC; there is no
backlog to continue from), diskless transfer (the snapshot is made in-process, synchronously),
and the replica side (REPLICAOF).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from respdb.persistence.aof import encode, select_command
from respdb.persistence.rdb import write_rdb

if TYPE_CHECKING:
    from respdb.client import Client
    from respdb.engine import Engine

_PING = encode([b"PING"])


class Replica:
    """What the master knows of one replica (REPLCONF and acknowledgements)."""

    __slots__ = ("client", "listening_port", "ip", "ack_offset", "ack_time", "capa", "rdb_filter")

    def __init__(self, client: Client) -> None:
        self.client = client
        self.listening_port = 0
        self.ip = ""
        self.ack_offset = 0
        self.ack_time = time.monotonic()
        self.capa: set[bytes] = set()
        # REPLCONF rdb-filter-only: None, or the parts the snapshot keeps ({"functions"} or none)
        self.rdb_filter: set[str] | None = None


class Replication:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.replicas: dict[int, Replica] = {}  # client id -> replica, in the order they attached
        self.pending: dict[int, Replica] = {}  # REPLCONF sent, no SYNC yet
        self.offset = 0  # master_repl_offset: bytes of command stream produced
        self.backlog_first = 0  # 0: no backlog yet (created when the first replica attaches)
        self.seldb = -1  # the database the stream last SELECTed; -1: the next command SELECTs
        self.last_ping = time.monotonic()
        self.sync_full = 0  # INFO stats: full resynchronizations served
        self.sync_partial_err = 0  # PSYNCs that asked to continue and got a full one

    @property
    def replid(self) -> str:
        return getattr(self.engine, "replid", self.engine.run_id)  # DEBUG CHANGE-REPL-ID sets it

    # -- replicas ------------------------------------------------------------

    def conf(self, c: Client) -> Replica:
        """The replica record of `c`, created by its first REPLCONF (before its PSYNC)."""
        r = self.replicas.get(c.id) or self.pending.get(c.id)
        if r is None:
            r = self.pending[c.id] = Replica(c)
        return r

    def full_sync(self, c: Client, psync: bool) -> bytes:
        """Make `c` a replica: the reply is the snapshot (after FULLRESYNC for PSYNC); what is
        propagated from now on follows it."""
        e = self.engine
        r = self.pending.pop(c.id, None) or Replica(c)
        if not self.replicas:
            self.last_ping = time.monotonic()  # the first PING a period after the first replica
        if not self.replicas and not self.backlog_first:
            # Redis creates its backlog (with a new replication ID) for the first replica
            e.replid = os.urandom(20).hex()
            self.backlog_first = self.offset + 1
        self.replicas[c.id] = r
        if "S" not in c.flags:
            c.flags += "S"
        self.seldb = -1  # the replica starts with no database selected
        if self.feed not in e.propagators:
            e.propagators.append(self.feed)
        e.log("notice", "Replica %s asks for synchronization" % c.addr)
        self.sync_full += 1
        chunks: list[bytes] = []
        only = r.rdb_filter
        if only is None:
            write_rdb(e, chunks.append)
        else:
            write_rdb(e, chunks.append, with_data=False, functions=None if "functions" in only else [])
        rdb = b"".join(chunks)
        e.log("notice", "Synchronization with replica %s succeeded (%d bytes of RDB)" % (c.addr, len(rdb)))
        head = b"+FULLRESYNC %s %d\r\n" % (self.replid.encode(), self.offset) if psync else b""
        return head + b"$%d\r\n" % len(rdb) + rdb

    def detach(self, c: Client) -> None:
        self.pending.pop(c.id, None)
        if self.replicas.pop(c.id, None) is not None:
            c.flags = c.flags.replace("S", "")
            if not self.replicas and self.feed in self.engine.propagators:
                self.engine.propagators.remove(self.feed)
            self.engine.log("notice", "Connection with replica %s lost." % c.addr)

    # -- the stream ----------------------------------------------------------

    def feed(self, dbid: int, argv: list[bytes]) -> None:
        """The propagator while replicas are attached."""
        data = encode(argv)
        if dbid != self.seldb:
            self.seldb = dbid
            data = select_command(dbid) + data
        self._send(data)

    def _send(self, data: bytes) -> None:
        self.offset += len(data)
        for r in self.replicas.values():
            conn = r.client.conn
            if conn is not None:
                conn.write(data)
            else:
                r.client.pushed.append(data)

    def cron(self) -> None:
        """Redis's replicationCron, the part a master with replicas does: PING them."""
        period = self.engine.config.get_int("repl-ping-replica-period")
        now = time.monotonic()
        if now - self.last_ping >= period:
            self.last_ping = now
            self._send(_PING)

    def enough_good(self) -> bool:
        """Redis's checkGoodReplicasStatus: min-replicas-to-write replicas that acknowledged
        within min-replicas-max-lag seconds (always true while either is 0)."""
        cfg = self.engine.config
        need = cfg.get_int("min-replicas-to-write")
        max_lag = cfg.get_int("min-replicas-max-lag")
        if not need or not max_lag:
            return True
        now = time.monotonic()
        return sum(1 for r in self.replicas.values() if now - r.ack_time <= max_lag) >= need

    # -- introspection -------------------------------------------------------

    @staticmethod
    def _ip(r: Replica) -> str:
        return r.ip or r.client.addr.rsplit(":", 1)[0]  # REPLCONF ip-address, else the peer's

    def info(self) -> list[str]:
        lines = ["connected_slaves:%d" % len(self.replicas)]
        now = time.monotonic()
        for i, r in enumerate(self.replicas.values()):
            lines.append(
                "slave%d:ip=%s,port=%d,state=online,offset=%d,lag=%d"
                % (i, self._ip(r), r.listening_port, r.ack_offset, int(now - r.ack_time))
            )
        return lines

    def role(self) -> list[Any]:
        return [[self._ip(r).encode(), b"%d" % r.listening_port, b"%d" % r.ack_offset] for r in self.replicas.values()]
