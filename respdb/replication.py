"""Replication, the master side: full and partial synchronization, the command stream, WAIT.

A replica sends PSYNC (or the old SYNC, which `redis-cli --replica` and Redis's test suite use).
PSYNC <replid> <offset> continues from the backlog when it can (+CONTINUE, then the bytes from
that offset on); otherwise, and for SYNC, the replica gets a snapshot of the dataset in RDB format
as `$<length>\\r\\n<rdb>` (no trailing CRLF), preceded by `+FULLRESYNC <replid> <offset>` for
PSYNC. From then on it gets every command the engine propagates, in RESP, with a SELECT whenever
the database changes: the same stream the AOF gets (`Engine.propagate`), and what Redis sends
its replicas. Every `repl-ping-replica-period` seconds the replicas get a PING, as from Redis.

The backlog (the last `repl-backlog-size` bytes of the stream) is created with the first replica
and kept until `repl-backlog-ttl` seconds pass without one. As in Redis 7.0, where the backlog
and the replicas' output are one shared buffer, it also keeps whatever a replica has yet to be
sent (a replica waiting for its snapshot, a slow one): it then outgrows repl-backlog-size, and
a reconnecting replica can continue from anywhere in it. A replica's hard output limit is at
least repl-backlog-size for the same reason. When this server is itself a replica
(respdb/replica.py), the stream is its master's: applied commands are passed on verbatim to
our replicas and backlog (`proxy`), and nothing of our own is added.

The snapshot comes from a forked child writing into a pipe the event loop reads (diskless to
replicas with `capa eof`, `$<length>` once complete to others); without an event loop (embedded
use) it is made in-process.
"""

from __future__ import annotations

import gc
import os
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from respdb import proctitle
from respdb.client import REPLY_REPLICA
from respdb.keyspace import Database, now_ms
from respdb.persistence.aof import encode, select_command
from respdb.persistence.rdb import write_rdb
from respdb.persistence.snapshot import child_setup
from respdb.replica import new_replid
from respdb.resp import integer

if TYPE_CHECKING:
    from respdb.client import Client
    from respdb.engine import Engine
    from respdb.replica import Upstream

_PING = encode([b"PING"])
_GETACK = encode([b"REPLCONF", b"GETACK", b"*"])
# Reading the snapshot a forked child writes for replicas: the size of one read, the output a
# replica may have queued before reading stops, and how often it is looked at again meanwhile.
PIPE_CHUNK = 1 << 17
PIPE_WINDOW = 1 << 20
PIPE_RECHECK = 0.005
_NO_ID = "0" * 40


class Replica:
    """What the master knows of one replica (REPLCONF and acknowledgements)."""

    __slots__ = (
        "client", "listening_port", "ip", "ack_offset", "ack_time", "capa", "rdb_filter", "state", "psync",
        "pending", "pending_size", "since", "sent", "delivered", "progress", "limits_armed",
    )  # fmt: skip

    def __init__(self, client: Client) -> None:
        self.client = client
        # wait_start (a snapshot is due), wait_end (the snapshot is being sent), online
        self.state = "online"
        self.psync = False
        self.pending: list[bytes] = []  # the stream held back until the snapshot is sent
        self.pending_size = 0
        self.limits_armed = True  # output limits apply (not while a snapshot is still queued)
        self.since = time.monotonic()
        # while the snapshot is sent: the bytes written for it, those of them it has taken,
        # and when that last grew
        self.sent = 0
        self.delivered = 0
        self.progress = self.since
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
        self.offset = 0  # master_repl_offset: bytes of command stream produced (or applied)
        self.backlog_first = 0  # offset of the backlog's first byte; 0: no backlog
        self.backlog = bytearray()
        self.no_replicas_since = time.monotonic()
        self.replid2 = _NO_ID  # the replication ID we continue (after a promotion), and
        self.second_offset = -1  # the first offset that ID is not valid for
        self.seldb = -1  # the database the stream last SELECTed; -1: the next command SELECTs
        self.last_ping = time.monotonic()
        self.sync_full = 0  # INFO stats: full resynchronizations served
        self.sync_partial_ok = 0
        self.sync_partial_err = 0  # PSYNCs that asked to continue and got a full one
        self.upstream: Upstream | None = None  # our master (REPLICAOF), None while we are one
        # set by the network layer: opens the connection to a master (see replica.py)
        self.connector: Callable[[Upstream], None] | None = None
        # keys a client wrote with an expiry on this (writable) replica: ours to expire, as
        # the master knows nothing of them (Redis's slaveKeysWithExpire)
        self.local_expires: set[tuple[int, bytes]] = set()
        self.waiting: list[tuple[Client, int, int]] = []  # WAIT: (client, offset, replicas)
        # The snapshot for replicas is written by a forked child into a pipe the event loop
        # reads (`io`: add_reader/remove_reader, set by the network layer; without it the
        # snapshot is made in-process, at once).
        self.io: Any = None
        self.child_pid = -1
        self.child_fd = -1
        self.disk_target = False  # the running snapshot child also writes the RDB file
        self.dirty_at_fork = 0
        self.eof_mark = b""
        self.rdb_parts: list[bytes] = []
        self.last_newline = time.monotonic()

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

    def _attach(self, c: Client) -> Replica:
        e = self.engine
        r = self.pending.pop(c.id, None) or Replica(c)
        if not self.replicas:
            self.last_ping = time.monotonic()  # the first PING a period after the first replica
        if not self.backlog_first:
            # Redis creates its backlog (with a new replication ID) for the first replica
            if self.upstream is None:
                e.replid = new_replid()
                self.replid2, self.second_offset = _NO_ID, -1
            self._new_backlog()
        self.replicas[c.id] = r
        if "S" not in c.flags:
            c.flags += "S"
        c.kind = "replica"
        if hasattr(c.conn, "repl_out"):
            c.conn.repl_out = True
        c.reply_mode = REPLY_REPLICA  # (see Engine._replica_replied)
        c.update_gate()
        return r

    def _new_backlog(self) -> None:
        """An empty backlog from the next offset on; the stream feeds it from now on."""
        self.backlog_first = self.offset + 1
        self.backlog = bytearray()
        if self.feed not in self.engine.propagators:
            self.engine.propagators.append(self.feed)

    def _stream_db(self) -> int | None:
        """For a replica of ours: the database its master's stream is in (repl-stream-db)."""
        up = self.upstream
        if up is None:
            return None
        if up.client is not None:
            return up.client.db.id
        return up.cached[2] if up.cached is not None else None

    def _fullresync(self) -> bytes:
        return b"+FULLRESYNC %s %d\r\n" % (self.replid.encode(), self.offset)

    def try_partial(self, c: Client, replid: str, want: int) -> bytes | None:
        """PSYNC <replid> <want>: the +CONTINUE reply and the backlog from `want` on, or None
        when a full resynchronization is needed (Redis's masterTryPartialResynchronization)."""
        e = self.engine
        if replid != self.replid and (replid != self.replid2 or want > self.second_offset):
            if replid != "?":
                if replid not in (self.replid, self.replid2):
                    e.log("notice", "Partial resynchronization not accepted: Replication ID mismatch "
                          "(Replica asked for '%s', my replication IDs are '%s' and '%s')"
                          % (replid, self.replid, self.replid2))  # fmt: skip
                else:
                    e.log("notice", "Partial resynchronization not accepted: Requested offset for "
                          "second ID was %d, but I can reply up to %d" % (want, self.second_offset))  # fmt: skip
            return None
        first = self.first_byte()
        if not first or want < first or want > self.offset + 1:
            e.log("notice", "Unable to partial resync with replica %s for lack of backlog "
                  "(Replica request was: %d)." % (c.addr, want))  # fmt: skip
            return None
        r = self._attach(c)
        r.psync = True
        self.sync_partial_ok += 1
        tail = bytes(self.backlog[want - self.backlog_first :])
        e.log("notice", "Partial resynchronization request from %s accepted. Sending %d bytes of backlog "
              "starting from offset %d." % (c.addr, len(tail), want))  # fmt: skip
        capa = b"psync2" in r.capa
        head = b"+CONTINUE %s\r\n" % self.replid.encode() if capa else b"+CONTINUE\r\n"
        return head + tail

    def full_sync(self, c: Client, psync: bool) -> bytes:
        """Make `c` a replica that needs the whole dataset. With an event loop, the snapshot
        comes from a forked child (start_transfer), after repl-diskless-sync-delay when
        diskless; the reply is then sent as it goes. Otherwise it is the reply itself."""
        e = self.engine
        r = self._attach(c)
        e.log("notice", "Replica %s asks for synchronization" % c.addr)
        self.sync_full += 1
        r.psync = psync
        if self.io is None or r.rdb_filter is not None:
            return self._snapshot_reply(r, psync)
        r.state = "wait_start"
        r.since = time.monotonic()
        diskless = e.config["repl-diskless-sync"] == "yes" and b"eof" in r.capa
        if not diskless or e.config.get_int("repl-diskless-sync-delay") <= 0:
            self.start_transfer()  # (else the cron starts it after the delay, for all waiting)
        else:
            e.log("notice", "Delay next BGSAVE for diskless SYNC")
        return b""

    def _snapshot_reply(self, r: Replica, psync: bool) -> bytes:
        e = self.engine
        c = r.client
        self.seldb = -1  # the replica starts with no database selected
        chunks: list[bytes] = []
        only = r.rdb_filter
        if only is None:
            write_rdb(e, chunks.append, repl_stream_db=self._stream_db())
        else:
            write_rdb(e, chunks.append, with_data=False, functions=None if "functions" in only else [])
        rdb = b"".join(chunks)
        e.log("notice", "Synchronization with replica %s succeeded (%d bytes of RDB)" % (c.addr, len(rdb)))
        head = self._fullresync() if psync else b""
        return head + b"$%d\r\n" % len(rdb) + rdb

    # -- the snapshot from a child -----------------------------------------------

    def start_transfer(self) -> bool:
        """Fork the child that writes the snapshot for every replica waiting for one (Redis's
        startBgsaveForReplication); False when it has to wait (another child is running)."""
        e = self.engine
        waiting = [r for r in self.replicas.values() if r.state == "wait_start"]
        if not waiting or e.child_active():
            return False
        stream_db = self._stream_db()
        key_delay = e.config.get_int("rdb-key-save-delay")
        # Redis sends a snapshot through a socket only when diskless sync is on and every
        # replica understands the EOF mark; otherwise it is a BGSAVE to the RDB file. Here the
        # child then writes the file as well as the pipe, and the server counts it as a save.
        disk = e.config["repl-diskless-sync"] != "yes" or any(b"eof" not in r.capa for r in waiting)
        rfd, wfd = os.pipe()
        gc.freeze()
        try:
            pid = os.fork()
        except OSError as err:
            gc.unfreeze()
            os.close(rfd)
            os.close(wfd)
            e.log("warning", "Can't save in background: fork: %s" % err.strerror)
            for r in waiting:
                r.client.kill()
            return False
        if pid == 0:  # the child: the snapshot into the pipe, then leave without any cleanup
            code = 1
            try:
                os.close(rfd)
                child_setup(e, proctitle.RDB_TO_REPLICAS)

                target = e.persistence.rdb_path()
                tmp = e.persistence.temp_path(os.getpid())
                f = open(tmp, "wb") if disk else None  # noqa: SIM115 - closed below

                def out(data: bytes) -> None:
                    if f is not None:
                        f.write(data)
                    view = memoryview(data)
                    while view:
                        view = view[os.write(wfd, view) :]

                write_rdb(e, out, repl_stream_db=stream_db, key_delay=key_delay)
                if f is not None:
                    f.flush()
                    os.fsync(f.fileno())
                    f.close()
                    os.replace(tmp, target)
                code = 0
            finally:
                os._exit(code)
        os.close(wfd)
        os.set_blocking(rfd, False)
        self.child_pid = pid
        self.engine.update_resize_policy()
        self.child_fd = rfd
        self.seldb = -1  # the replicas start with no database selected
        self.eof_mark = os.urandom(20).hex().encode()
        self.rdb_parts = []
        e.persistence.total_forks += 1
        e.persistence.child_start = time.time()  # (INFO's rdb_current_bgsave_time_sec)
        self.disk_target = disk
        self.dirty_at_fork = e.dirty
        if disk:
            e.persistence.rdb_saves += 1
            e.log("notice", "Starting BGSAVE for SYNC with target: disk")
            e.log("notice", "Background saving started by pid %d" % pid)
        else:
            e.log("notice", "Starting BGSAVE for SYNC with target: replicas sockets")
            e.log("notice", "Background RDB transfer started by pid %d" % pid)
        for r in waiting:
            head = self._fullresync() if r.psync else b""
            if b"eof" in r.capa:
                head += b"$EOF:" + self.eof_mark + b"\r\n"
            r.state = "wait_end"
            r.pending, r.pending_size = [], 0
            r.progress = time.monotonic()
            conn = r.client.conn
            if conn is not None:
                conn.write(head)
                r.sent, r.delivered = conn.output_size(), 0
        self.io.add_reader(rfd, self._pipe_readable)
        return True

    def _pipe_readable(self) -> None:
        fd = self.child_fd
        try:
            data = os.read(fd, PIPE_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            keep = False
            behind = False
            for r in self.replicas.values():
                if r.state != "wait_end":
                    continue
                if b"eof" in r.capa:
                    conn = r.client.conn
                    if conn is not None:
                        conn.write(data)
                        r.sent += len(data)
                        behind = behind or conn.output_size() > PIPE_WINDOW
                else:
                    keep = True
            if keep:
                self.rdb_parts.append(data)
            if behind:
                # As Redis's rdbPipeReadHandler, read no more until the replicas have taken what
                # they were sent: a slow replica holds the child back instead of the master
                # buffering the whole snapshot for it.
                self.io.remove_reader(fd)
                self.io.call_later(PIPE_RECHECK, self._pipe_recheck)
            return
        self._transfer_done()

    def _pipe_recheck(self) -> None:
        if self.child_fd == -1:
            return  # the transfer ended (done, killed, or every replica gone)
        for r in self.replicas.values():
            if r.state == "wait_end" and b"eof" in r.capa:
                conn = r.client.conn
                if conn is not None and conn.output_size() > PIPE_WINDOW // 2:
                    self.io.call_later(PIPE_RECHECK, self._pipe_recheck)
                    return
        self.io.add_reader(self.child_fd, self._pipe_readable)

    def _end_child(self) -> int:
        """Stop reading the pipe and reap the child; its exit code (-1 if killed). A child that
        did not finish leaves no temp RDB file behind."""
        if self.child_fd != -1:
            if self.io is not None:
                self.io.remove_reader(self.child_fd)
            os.close(self.child_fd)
            self.child_fd = -1
        code = -1
        if self.child_pid != -1:
            try:
                _, status = os.waitpid(self.child_pid, 0)
                code = os.waitstatus_to_exitcode(status)
            except ChildProcessError:
                code = -1
            if code != 0 and self.disk_target:
                try:
                    os.unlink(self.engine.persistence.temp_path(self.child_pid))
                except OSError:
                    pass
            self.child_pid = -1
            self.engine.update_resize_policy()
            gc.unfreeze()
        return code

    def _transfer_done(self) -> None:
        e = self.engine
        code = self._end_child()
        sending = [r for r in self.replicas.values() if r.state == "wait_end"]
        if code != 0:
            e.log("warning", "Background transfer error: the snapshot child exited with %d" % code)
            for r in sending:
                r.client.kill()
            return
        if self.disk_target:  # the RDB file was written too: a save, as Redis's BGSAVE for SYNC
            snap = e.persistence
            e.log("notice", "Background saving terminated with success")
            e.dirty = max(0, e.dirty - self.dirty_at_fork)
            snap.lastsave = int(time.time())
            snap.bgsave_ok = True
        else:
            e.log("notice", "Diskless rdb transfer, done reading from pipe, %d replicas still up." % len(sending))
        whole = b"".join(self.rdb_parts)
        self.rdb_parts = []
        for r in sending:
            conn = r.client.conn
            if conn is None:
                continue
            r.ack_time = time.monotonic()
            if b"eof" in r.capa:
                # the replica can't tell the end mark from what would follow it in the same
                # read: the stream starts at its first REPLCONF ACK (as Redis 7.0 does)
                conn.write(self.eof_mark)
                r.state = "wait_ack"
                e.log("notice", "Streamed RDB transfer with replica %s succeeded (socket). Waiting for "
                      "REPLCONF ACK from replica to enable streaming" % r.client.addr)  # fmt: skip
                continue
            conn.write(b"$%d\r\n" % len(whole) + whole)
            self.online(r)
        self.start_transfer()  # replicas that arrived meanwhile

    def online(self, r: Replica) -> None:
        """The snapshot is delivered: what the stream held back for it follows."""
        conn = r.client.conn
        if conn is not None:
            for chunk in r.pending:
                conn.write(chunk)
        r.pending, r.pending_size = [], 0
        r.limits_armed = False
        r.state = "online"
        self.engine.log("notice", "Synchronization with replica %s succeeded" % r.client.addr)

    def _stop_child(self) -> None:
        """Stop the snapshot child (SIGUSR1: stopped on purpose) and drop what it wrote."""
        try:
            os.kill(self.child_pid, signal.SIGUSR1)
        except OSError:
            pass
        self._end_child()
        self.rdb_parts = []

    def kill_transfer(self) -> None:
        """No replica left to send the snapshot to: stop the child."""
        if self.child_pid == -1:
            return
        self.engine.log("warning", "Diskless rdb transfer, last replica dropped, killing fork child.")
        self._stop_child()

    def abort_transfer(self) -> None:
        """FLUSHALL: the snapshot being sent is of data that is gone; stop its child and drop
        the replicas receiving it (they ask again, as Redis's killRDBChild leads to)."""
        if self.child_pid == -1:
            return
        e = self.engine
        self._stop_child()
        e.log("warning", "Background transfer terminated by signal %d" % signal.SIGUSR1)
        for r in list(self.replicas.values()):
            if r.state == "wait_end":
                e.log("warning", "SYNC failed. BGSAVE child returned an error")
                r.client.kill()

    def detach(self, c: Client) -> None:
        self.pending.pop(c.id, None)
        if self.replicas.pop(c.id, None) is not None:
            c.flags = c.flags.replace("S", "")
            if not self.replicas:
                self.no_replicas_since = time.monotonic()
            self._trim()  # what only this replica held goes now (freeReplicaReferencedReplBuffer)
            self.engine.log("notice", "Connection with replica %s lost." % c.addr)
            if self.child_pid != -1 and not any(r.state == "wait_end" for r in self.replicas.values()):
                # nobody needs the snapshot: stop the child, unless it also writes the RDB file
                # and save points make that file worth finishing (Redis keeps such a BGSAVE)
                if not (self.disk_target and self.engine.persistence.save_params()):
                    self.kill_transfer()

    def disconnect_replicas(self) -> None:
        for r in list(self.replicas.values()):
            r.client.kill()

    # -- our own master (REPLICAOF) --------------------------------------------

    def set_master(self, host: str, port: int) -> None:
        """REPLICAOF host port (Redis's replicationSetMaster)."""
        from respdb.replica import Upstream

        e = self.engine
        old = self.upstream
        dbid = 0
        if old is not None:
            if old.client is not None:
                dbid = old.client.db.id
            elif old.cached is not None:
                dbid = old.cached[2]
            old.close()
        e.blocking.disconnect_all_blocked()  # blocked on a master, now on a replica
        # Our replicas stay: they may continue with us if the new master continues our history;
        # they are dropped when it does not (a new ID, or a full sync once its data is loaded).
        up = Upstream(e, host, port)
        # The new master may continue our history: as a master it was ours (Redis's
        # replicationCacheMasterUsingMyself), as a replica our old master's (the cached master),
        # which the new one may share (a sibling, or the old master's promoted replica).
        up.cached = (self.replid, self.offset + 1, dbid)
        self.upstream = up
        Database.on_set_expire = self.local_expire
        e.config.values["replicaof"] = "%s %d" % (host, port)  # what CONFIG GET replicaof shows
        e.update_gates()
        e.oom.apply()
        up.connect()

    def unset_master(self) -> None:
        """REPLICAOF NO ONE: keep the data, start a history of our own that continues the
        master's (Redis's shiftReplicationId), so our replicas can continue with us."""
        e = self.engine
        up = self.upstream
        if up is None:
            return
        up.close()
        self.upstream = None
        Database.on_set_expire = None
        self.local_expires.clear()
        e.config.values["replicaof"] = ""
        e.oom.apply()
        self.shift_replid(new_replid())
        self.seldb = -1  # our own stream starts with a SELECT
        self.disconnect_replicas()  # they learn the new ID on reconnecting (+CONTINUE <id>)
        e.update_gates()

    def local_expire(self, db: Database, key: bytes) -> None:
        """An expiry set on this replica: by one of our clients (replica-read-only no), it is
        ours to enforce; by the master, the master's."""
        c = self.engine.current
        if c is not None and c.kind != "master":
            self.local_expires.add((db.id, key))

    def expire_local_keys(self) -> None:
        """From the cron: delete our clients' keys whose time has come (expireSlaveKeys)."""
        e = self.engine
        now = now_ms()
        for dbid, key in list(self.local_expires):
            db = e.dbs[dbid] if dbid < len(e.dbs) else None
            when = db.expires.get(key) if db is not None else None
            if when is None:
                self.local_expires.discard((dbid, key))
            elif when <= now:
                e._expire_key(db, key)

    def save_info(self) -> tuple[str, int, int] | None:
        """What an RDB file keeps of our replication history (Redis's rdbPopulateSaveInfo): a
        master's with a backlog, a replica's with a master (connected or cached)."""
        if self.upstream is None:
            return (self.replid, self.offset, max(self.seldb, 0)) if self.backlog_first else None
        dbid = self._stream_db()
        return None if dbid is None else (self.replid, self.offset, dbid)

    def restore_info(self, aux: dict[bytes, bytes], expired: list[tuple[int, bytes]] | None = None) -> None:
        """Start-up load of an RDB file with repl-id/repl-offset: a replica (replicaof set)
        takes that history to ask its master to continue it; a master keeps it as its second ID,
        with a backlog from that offset, so its replicas can continue after the restart. The
        keys the load skipped as expired go into that backlog as deletions (Redis's
        RDBFLAGS_FEED_REPL), so a replica that continues drops them too."""
        replid = aux.get(b"repl-id", b"").decode("latin-1")
        try:
            offset = int(aux.get(b"repl-offset", b""))
        except ValueError:
            return
        if len(replid) != 40:
            return
        e = self.engine
        e.replid = replid
        self.offset = offset
        if e.config["replicaof"]:
            return  # (set_master, right after, asks to continue from here)
        self.shift_replid(new_replid())
        self._new_backlog()
        if expired:
            delete = b"UNLINK" if e.config["lazyfree-lazy-expire"] == "yes" else b"DEL"
            self.seldb = -1
            for dbid, key in expired:
                self.feed(dbid, [delete, key])

    def shift_replid(self, replid: str) -> None:
        self.replid2 = self.replid
        self.second_offset = self.offset + 1
        self.engine.replid = replid

    def become_replica_of(self, replid: str, offset: int) -> None:
        """A full synchronization from our master: its ID and offset are ours now."""
        self.engine.replid = replid
        self.replid2, self.second_offset = _NO_ID, -1
        self.offset = offset
        self._new_backlog()  # (its feed is idle until we are a master again)

    def proxy(self, raw: bytes) -> None:
        """A command applied from our master: into the backlog and to our replicas as is."""
        self.offset += len(raw)
        if self.backlog_first:
            self._keep(raw)
        self._fan_out(raw)

    # -- the stream ----------------------------------------------------------

    def feed(self, dbid: int, argv: list[bytes]) -> None:
        """The propagator while there is a backlog. A replica adds nothing of its own: its
        replicas get its master's stream (proxy)."""
        if self.upstream is not None:
            return
        data = encode(argv)
        if dbid != self.seldb:
            self.seldb = dbid
            data = select_command(dbid) + data
        self._send(data)

    def feed_raw(self, argv: list[bytes]) -> None:
        """DEBUG REPLICATE: a command for the replicas alone, in no particular database."""
        if self.backlog_first and self.upstream is None:
            self._send(encode(argv))

    def _send(self, data: bytes) -> None:
        self.offset += len(data)
        self._keep(data)
        self._fan_out(data)

    def _fan_out(self, data: bytes) -> None:
        """The stream to every replica; one past its output limits is dropped."""
        limits = self.engine.obuf_limits
        if not limits.replica_on:
            for r in self.replicas.values():
                self._write(r, data)
            return
        over = []
        for r in self.replicas.values():
            self._write(r, data)
            if limits.replica_over(r):
                over.append(r)
        for r in over:  # (after the loop: a kill detaches the replica)
            r.client.kill()  # with its unsent output (Redis's freeClientAsync)

    @staticmethod
    def _write(r: Replica, data: bytes) -> None:
        if r.state != "online":
            if r.state != "wait_start":  # (waiting for a snapshot that will include it)
                r.pending.append(data)  # after its snapshot
                r.pending_size += len(data)
            return
        conn = r.client.conn
        if conn is not None:
            conn.write(data)
        else:
            r.client.pushed.append(data)

    def _keep(self, data: bytes) -> None:
        """Append to the backlog, dropping its oldest bytes past repl-backlog-size (see _trim)."""
        backlog = self.backlog
        backlog += data
        excess = len(backlog) - self.engine.config.get_int("repl-backlog-size")
        if excess > 0 and (excess >= 65536 or excess * 8 >= len(backlog)):
            self._trim()

    def _trim(self) -> None:
        """Drop the backlog's bytes past repl-backlog-size, but none a replica still has to be
        sent: in Redis 7.0 the backlog and the replicas' output share one buffer, so a slow
        replica (or one waiting for its snapshot) makes the backlog outgrow repl-backlog-size,
        and a replica that reconnects can continue from anywhere in it. Done once 64 KB or an
        eighth of the backlog can go, so that a write does not trim a few bytes each time."""
        backlog = self.backlog
        excess = min(len(backlog) - self.engine.config.get_int("repl-backlog-size"), len(backlog) - self.held())
        if excess > 0 and (excess >= 65536 or excess * 8 >= len(backlog)):
            del backlog[:excess]
            self.backlog_first += excess

    def held(self) -> int:
        """The most stream bytes one replica has yet to be sent: what it holds back while its
        snapshot is made, then what its connection buffers."""
        longest = 0
        for r in self.replicas.values():
            size = r.pending_size
            conn = r.client.conn
            if conn is not None:
                size += conn.output_size()
            longest = max(longest, size)
        return longest

    def first_byte(self) -> int:
        """repl_backlog_first_byte_offset, as if the backlog held exactly repl-backlog-size,
        or what replicas still need beyond that (trimming lags behind by up to 64 KB)."""
        if not self.backlog_first:
            return 0
        keep = max(self.engine.config.get_int("repl-backlog-size"), self.held())
        return max(self.backlog_first, self.offset + 1 - keep)

    def cron(self) -> None:
        """Redis's replicationCron: PING the replicas, ACK our master, free an unused backlog."""
        e = self.engine
        if self.upstream is not None:
            self.upstream.cron()
            if self.local_expires:
                self.expire_local_keys()
        now = time.monotonic()
        if self.child_pid == -1 and any(r.state == "wait_start" for r in self.replicas.values()):
            self._maybe_start(now)
        if now - self.last_newline >= 1.0:
            # replicas waiting for a snapshot get a newline a second, so they know we are alive
            self.last_newline = now
            for r in self.replicas.values():
                if r.state == "wait_start" or (r.state == "wait_end" and b"eof" not in r.capa):
                    conn = r.client.conn
                    if conn is not None:
                        conn.write(b"\n")
        if self.replicas:
            self._timeouts(now)
        if self.backlog_first:
            self._trim()  # what replicas no longer hold goes (Redis's incrementalTrimReplicationBacklog)
        if self.replicas and self.upstream is None:
            period = e.config.get_int("repl-ping-replica-period")
            # (no PING while a FAILOVER waits: it would move the offset the replicas must reach)
            if now - self.last_ping >= period and e.failover.state == "no-failover":
                self.last_ping = now
                self._send(_PING)
        elif not self.replicas and self.backlog_first and self.upstream is None:
            ttl = e.config.get_int("repl-backlog-ttl")
            if ttl and now - self.no_replicas_since > ttl:
                self.backlog_first = 0
                self.backlog = bytearray()
                if self.feed in e.propagators:
                    e.propagators.remove(self.feed)
                self.replid2, self.second_offset = _NO_ID, -1
                e.replid = new_replid()  # (Redis changes the ID with the backlog gone)
                e.log("notice", "Replication backlog freed after %d seconds without connected replicas." % ttl)

    def _timeouts(self, now: float) -> None:
        """Drop replicas silent for repl-timeout seconds: an online one that stopped sending
        REPLCONF ACK (old SYNC replicas never send it and are spared), or one that stopped
        reading its snapshot."""
        e = self.engine
        timeout = e.config.get_int("repl-timeout")
        for r in list(self.replicas.values()):
            c = r.client
            if r.state == "online":
                if r.psync and now - r.ack_time > timeout:
                    e.log("warning", "Disconnecting timedout replica (streaming sync): %s" % c.addr)
                    c.kill()
            elif r.state == "wait_end" and c.conn is not None:
                out = c.conn.output_size()
                delivered = r.sent - out
                if delivered > r.delivered or not out:
                    r.progress = now
                r.delivered = delivered
                if now - r.progress > timeout:
                    e.log("warning", "Disconnecting timedout replica (full sync): %s" % c.addr)
                    c.kill()

    def _maybe_start(self, now: float) -> None:
        """replicationCron's part: a diskless transfer starts after repl-diskless-sync-delay
        seconds, or as soon as repl-diskless-sync-max-replicas are waiting."""
        cfg = self.engine.config
        waiting = [r for r in self.replicas.values() if r.state == "wait_start"]
        delay = cfg.get_int("repl-diskless-sync-delay") if cfg["repl-diskless-sync"] == "yes" else 0
        most = cfg.get_int("repl-diskless-sync-max-replicas")
        if now - min(r.since for r in waiting) >= delay or (most and len(waiting) >= most):
            self.start_transfer()

    # -- WAIT ----------------------------------------------------------------

    def output_bytes(self) -> int:
        """What waits to be sent to replicas (INFO's replication buffers)."""
        total = 0
        for r in self.replicas.values():
            total += r.pending_size
            conn = r.client.conn
            if conn is not None:
                total += conn.output_size()
        return total

    def shared_buffer_bytes(self) -> int:
        """INFO's mem_total_replication_buffers. Redis 7.0 keeps one replication buffer that the
        backlog and every replica point into, so it is as large as the longest of them, not
        their sum: the backlog, or the replica furthest behind."""
        return max(len(self.backlog), self.held())

    def ask_acks(self) -> None:
        """REPLCONF GETACK to every replica (a shutdown waiting for them to catch up)."""
        if self.replicas and self.upstream is None:
            self._send(_GETACK)

    def acked(self, offset: int) -> int:
        return sum(1 for r in self.replicas.values() if r.ack_offset >= offset)

    def wait_for(self, c: Client, numreplicas: int) -> None:
        """Park a WAIT (already blocked by the caller) until enough replicas acknowledge."""
        self.waiting.append((c, self.offset, numreplicas))
        self.ask_acks()  # (Redis groups them in beforeSleep; one per WAIT is as good)

    def on_ack(self) -> None:
        """A replica acknowledged: answer the WAITs it satisfies."""
        still = []
        for c, offset, need in self.waiting:
            st = c.bstate
            if st is None or c.closed:
                continue
            n = self.acked(offset)
            if n >= need:
                self.engine.blocking.unblock(c, integer(n))
            else:
                st.timeout_reply = integer(n)
                still.append((c, offset, need))
        self.waiting = still

    def enough_good(self) -> bool:
        """Redis's checkGoodReplicasStatus: min-replicas-to-write replicas that acknowledged
        within min-replicas-max-lag seconds (always true while either is 0)."""
        cfg = self.engine.config
        need = cfg.get_int("min-replicas-to-write")
        max_lag = cfg.get_int("min-replicas-max-lag")
        if not need or not max_lag or self.upstream is not None:
            return True  # (a replica ignores it: its writes are its master's)
        now = time.monotonic()
        return sum(1 for r in self.replicas.values() if now - r.ack_time <= max_lag) >= need

    # -- introspection -------------------------------------------------------

    @staticmethod
    def _ip(r: Replica) -> str:
        return r.ip or r.client.addr.rsplit(":", 1)[0]  # REPLCONF ip-address, else the peer's

    def info(self) -> list[str]:
        lines = []
        up = self.upstream
        if up is not None:
            cfg = self.engine.config
            lines += up.info()
            lines += [
                "slave_priority:%s" % cfg["replica-priority"],
                "slave_read_only:%d" % (cfg["replica-read-only"] == "yes"),
                "replica_announced:%d" % (cfg["replica-announced"] == "yes"),
            ]
        lines.append("connected_slaves:%d" % len(self.replicas))
        now = time.monotonic()
        for i, r in enumerate(self.replicas.values()):
            state = "online" if r.state == "online" else "wait_bgsave"
            lines.append(
                "slave%d:ip=%s,port=%d,state=%s,offset=%d,lag=%d"
                % (i, self._ip(r), r.listening_port, state, r.ack_offset, int(now - r.ack_time))
            )
        return lines

    def role(self) -> list[Any]:
        return [[self._ip(r).encode(), b"%d" % r.listening_port, b"%d" % r.ack_offset] for r in self.replicas.values()]
