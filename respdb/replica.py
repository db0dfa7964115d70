"""The replica side of replication: following a master after REPLICAOF host port.

`Upstream` is the whole state machine and knows no sockets: the network layer (net.py) opens
the connection when `connect()` asks for it, hands every byte the master sends to
`received()`, and calls `link_lost()` when the connection ends. What goes to the master goes
through `link.write()`.

The link goes through Redis's states, which ROLE and INFO report:
- connect: a master is set, no connection yet (the cron retries every second);
- connecting: the TCP connection is being made;
- handshake: PING, AUTH (masterauth), REPLCONF listening-port / capa, then PSYNC;
- sync: receiving the snapshot after +FULLRESYNC (`$<len>` or the diskless `$EOF:<mark>` form);
- connected: the snapshot is loaded (or the master said +CONTINUE) and its command stream is
  applied as the master client (flags=M), which is the only client allowed to write when
  replica-read-only is on. The master's expiry decides: while its commands run, keys are never
  seen as expired, and other clients see expired keys as missing without deleting them (the
  master sends the DEL).

Offsets are the master's: every applied command advances `repl.offset` by its bytes, the
bytes go verbatim into our own backlog and to our replicas, and REPLCONF ACK reports the offset
every second and on GETACK. After a broken link, PSYNC asks to continue from the next byte
(partial resynchronization); a master that can't gets a full one.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from respdb import errors, keyspace
from respdb.errors import CommandError
from respdb.failover import IN_PROGRESS
from respdb.persistence import rdb
from respdb.persistence.aof import AOFError, Truncated, encode, parse_commands

if TYPE_CHECKING:
    from respdb.client import Client
    from respdb.engine import Engine

# the replies to PING that still let the handshake go on (an auth-protected master)
_PING_OK = (b"+", b"-NOAUTH", b"-NOPERM", b"-ERR operation not permitted")
_EOF_MARK_LEN = 40  # RDB_EOF_MARK_SIZE


class Upstream:
    """This server as a replica of host:port."""

    def __init__(self, engine: Engine, host: str, port: int) -> None:
        self.engine = engine
        self.host = host
        self.port = port
        self.state = "connect"
        self.link: Any = None  # the connection: write(bytes), close()
        self.client: Client | None = None  # the master client, once synchronized
        self.buf = b""
        self.steps: list[tuple[str, list[bytes]]] = []  # the handshake still to do, in order
        self.last_try = 0.0
        self.payload_left = -1  # sync: bytes of the snapshot still to come ($<len> form)
        self.eof_mark = b""  # sync: the diskless form's end mark
        self.rdb_parts: list[bytes] = []
        self.rdb_bytes = 0
        self.last_io = time.monotonic()
        self.down_since = 0.0  # 0: never connected since REPLICAOF
        self.last_ack = 0.0
        # (replid, offset of the next byte wanted, db) to continue from after a broken link
        self.cached: tuple[str, int, int] | None = None
        self.diskless_load = False  # loading (or async loading) while the snapshot arrives
        self.master_replid = ""
        self.initial_offset = -1

    # -- the connection --------------------------------------------------------

    def connect(self) -> None:
        connector = self.engine.replication.connector
        if connector is None or self.state != "connect":
            return
        self.state = "connecting"
        self.last_try = time.monotonic()
        self.engine.log("notice", "Connecting to MASTER %s:%d" % (self.host, self.port))
        connector(self)

    def connect_failed(self, err: str) -> None:
        self.engine.log("warning", "Error condition on socket for SYNC: %s" % err)
        self.state = "connect"

    def connected(self, link: Any) -> None:
        """The TCP connection is up: start the handshake. Its commands go one at a time, each
        after the reply to the previous one, as a master refuses PSYNC with output pending."""
        e = self.engine
        self.link = link
        self.last_io = time.monotonic()
        self.state = "handshake"
        self.buf = b""
        e.log("notice", "MASTER <-> REPLICA sync started")
        cfg = e.config
        steps: list[tuple[str, list[bytes]]] = [("ping", [b"PING"])]
        auth = cfg["masterauth"]
        if auth:
            user = cfg["masteruser"]
            steps.append(("auth", [b"AUTH"] + ([user.encode()] if user else []) + [auth.encode()]))
        port = cfg.get_int("replica-announce-port") or e.tcp_port
        steps.append(("port", [b"REPLCONF", b"listening-port", b"%d" % port]))
        ip = cfg["replica-announce-ip"]
        if ip:
            steps.append(("ip", [b"REPLCONF", b"ip-address", ip.encode()]))
        steps.append(("capa", [b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]))
        steps.append(("psync", [b"PSYNC", b"?", b"-1"]))  # (the arguments are decided when it is sent)
        self.steps = steps
        self._send_step()

    def _send_step(self) -> None:
        name, argv = self.steps[0]
        if name == "psync":
            e = self.engine
            if self.cached is not None:
                replid, want, _ = self.cached
                argv = [b"PSYNC", replid.encode(), b"%d" % want]
                if e.failover.state == IN_PROGRESS:
                    argv.append(b"FAILOVER")  # the target takes our role (respdb/failover.py)
                e.log("notice", "Trying a partial resynchronization (request %s:%d)." % (replid, want))
            else:
                e.log("notice", "Partial resynchronization not possible (no cached master)")
        self.link.write(encode(argv))

    def link_lost(self) -> None:
        """The connection ended (closed by either side, CLIENT KILL TYPE master, an error)."""
        e = self.engine
        self.link = None
        if self.diskless_load:  # the transfer broke off: the old data stays
            self._end_load()
            e.log("warning", "Failed trying to load the MASTER synchronization DB from socket, restoring backup")
        if self.state == "connected":
            e.log("notice", "Connection with master lost.")
            c = self.client
            if c is not None:
                # what a partial resynchronization continues from (Redis's cached master)
                self.cached = (e.replication.replid, e.replication.offset + 1, c.db.id)
                e.log("notice", "Caching the disconnected master state.")
                self.client = None
                c.conn = None
                if not c.closed:
                    e.drop_client(c)
            self.down_since = time.monotonic()
        if self.state != "none":
            self.state = "connect"
        self.buf = b""
        self.rdb_parts = []

    def close(self) -> None:
        """REPLICAOF NO ONE / another master: drop the link for good."""
        self.state = "none"
        link = self.link
        if link is not None:
            link.close()
        self.link_lost()
        c = self.client
        if c is not None and not c.closed:
            c.conn = None
            self.engine.drop_client(c)
        self.client = None

    # -- bytes from the master -------------------------------------------------

    def received(self, data: bytes) -> None:
        self.last_io = time.monotonic()
        self.buf += data
        if self.state == "handshake":
            self._handshake()
        if self.state == "sync":
            self._payload()
        if self.state == "connected" and self.buf:
            self._apply()

    def _line(self) -> bytes | None:
        eol = self.buf.find(b"\r\n")
        if eol < 0:
            return None
        line = self.buf[:eol]
        self.buf = self.buf[eol + 2 :]
        return line

    def _handshake(self) -> None:
        e = self.engine
        while self.steps and self.state == "handshake":
            # a master preparing the snapshot sends bare newlines to keep the link alive
            self.buf = self.buf.lstrip(b"\n")
            line = self._line()
            if line is None:
                return
            step = self.steps.pop(0)[0]
            text = line.decode("utf-8", "replace")
            if step == "ping":
                if not line.startswith(_PING_OK):
                    return self._fail("Error reply to PING from master: '%s'" % text)
                e.log("notice", "Master replied to PING, replication can continue...")
            elif step == "auth":
                if line[:1] == b"-":
                    return self._fail("Unable to AUTH to MASTER: %s" % text)
            elif step == "port" or step == "ip":
                if line[:1] == b"-":
                    e.log("notice", "(Non critical) Master does not understand REPLCONF %s: %s" % (step, text))
            elif step == "capa":
                if line[:1] == b"-":
                    e.log("notice", "(Non critical) Master does not understand REPLCONF capa: %s" % text)
            elif step == "psync":
                self._psync_reply(line, text)
                return
            if self.steps:
                self._send_step()

    def _psync_reply(self, line: bytes, text: str) -> None:
        e = self.engine
        repl = e.replication
        if line.startswith(b"+FULLRESYNC"):
            parts = text.split()
            if len(parts) < 3 or len(parts[1]) != 40:
                return self._fail("Master replied with wrong +FULLRESYNC syntax.")
            self.master_replid = parts[1]
            self.initial_offset = int(parts[2])
            e.log("notice", "Full resync from master: %s:%d" % (parts[1], self.initial_offset))
            # Our history (the cached master) and our replicas stay until the new data is in
            # place: a transfer that breaks off leaves everything as it was (Redis 7.0).
            self.state = "sync"
            self.payload_left = -1
            self.eof_mark = b""
            self.rdb_parts = []
            self.rdb_bytes = 0
            if e.failover.state == IN_PROGRESS:
                e.failover.psync_answered(True)
            return
        if line.startswith(b"+CONTINUE"):
            parts = text.split()
            assert self.cached is not None
            old_id, want, dbid = self.cached
            e.log("notice", "Successful partial resynchronization with master.")
            if len(parts) > 1 and parts[1] != old_id:
                repl.shift_replid(parts[1])  # the master was promoted: its history continues ours
                e.log("notice", "Master replication ID changed to %s" % parts[1])
                repl.disconnect_replicas()  # ours must learn the new ID: they reconnect and continue
            self.cached = None
            self._online(dbid)
            e.log("notice", "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
            if e.failover.state == IN_PROGRESS:
                e.failover.psync_answered(True)
            return
        if line.startswith((b"-NOMASTERLINK", b"-LOADING")):
            e.log("notice", "Master is currently unable to PSYNC but should be in the future: %s" % text)
        else:
            e.log("warning", "Unexpected reply to PSYNC from master: %s" % text)
        self._fail(None)
        if e.failover.state == IN_PROGRESS:
            e.failover.psync_answered(False)  # a master again

    def _fail(self, msg: str | None) -> None:
        """Drop the link; link_lost() (called when it is gone) caches a synchronized master."""
        if msg is not None:
            self.engine.log("warning", msg)
        link = self.link
        if link is None:
            self.state = "connect"
            return
        link.close()
        if self.link is link:  # a transport reports its end later: act now, and only once
            self.link_lost()

    def _payload(self) -> None:
        e = self.engine
        if self.payload_left < 0 and not self.eof_mark:
            self.buf = self.buf.lstrip(b"\n")
            line = self._line()
            if line is None:
                return
            if line[:1] == b"-":
                return self._fail("MASTER aborted replication with an error: %s" % line[1:].decode("utf-8", "replace"))
            if line[:5] == b"$EOF:" and len(line) == 5 + _EOF_MARK_LEN:
                self.eof_mark = line[5:]
                e.log("notice", "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk")
            elif line[:1] == b"$" and line[1:].isdigit():
                self.payload_left = int(line[1:])
                e.log("notice", "MASTER <-> REPLICA sync: receiving %d bytes from master to disk" % self.payload_left)
            else:
                return self._fail("Bad protocol from MASTER, the first byte is not '$' (we received '%s')" % line[:64])
            self._begin_load()
        if self.diskless_load:
            e.persistence.load_done = self.rdb_bytes + len(self.buf)
        if self.eof_mark:
            self.rdb_parts.append(self.buf)
            self.rdb_bytes += len(self.buf)
            self.buf = b""
            tail = b"".join(self.rdb_parts[-2:])[-_EOF_MARK_LEN:]
            if tail != self.eof_mark:
                return
            data = b"".join(self.rdb_parts)[:-_EOF_MARK_LEN]
        else:
            take = self.buf[: self.payload_left]
            self.buf = self.buf[len(take) :]
            self.rdb_parts.append(take)
            self.rdb_bytes += len(take)
            self.payload_left -= len(take)
            if self.payload_left:
                return
            data = b"".join(self.rdb_parts)
        self.rdb_parts = []
        self._load(data)

    def _begin_load(self) -> None:
        """repl-diskless-load swapdb (or on-empty-db with no data): Redis loads the snapshot
        from the socket as it comes, so the replica is loading for the whole transfer; with a
        snapshot of its own history (same replication ID) it keeps serving the old data meanwhile
        (async loading). The old data stays until the new one is complete either way."""
        e = self.engine
        mode = e.config["repl-diskless-load"]
        if mode != "swapdb" and not (mode == "on-empty-db" and not any(db.data for db in e.dbs)):
            return
        self.diskless_load = True
        snap = e.persistence
        if mode == "swapdb" and e.replication.replid == self.master_replid:
            snap.async_loading = True
            e.update_gates()  # (NO_ASYNC_LOADING commands are refused meanwhile)
        else:
            snap.set_loading(True)
            snap.load_total = max(self.payload_left, 0)
        e.log("notice", "MASTER <-> REPLICA sync: Loading DB in memory")

    def _end_load(self) -> None:
        if self.diskless_load:
            self.diskless_load = False
            snap = self.engine.persistence
            if snap.async_loading:
                snap.async_loading = False
                self.engine.update_gates()
            else:
                snap.set_loading(False)

    def _load(self, data: bytes) -> None:
        """The whole snapshot is here: replace the dataset with it (Redis flushes, then loads)."""
        e = self.engine
        self._end_load()
        e.log("notice", "MASTER <-> REPLICA sync: Flushing old data")
        e.log("notice", "MASTER <-> REPLICA sync: Loading DB in memory")
        try:
            res = rdb.parse_rdb(data, len(e.dbs), rdb.Limits(e.config, e), log=e.log, skip_expired=False)
            if res.functions or e.__dict__.get("scripting") is not None:
                from respdb import scripting

                # the master's libraries replace ours, none included
                scripting.get(e).functions.restore(list(res.functions), "flush")
        except rdb.RDBError as err:
            return self._fail("Failed trying to load the MASTER synchronization DB from socket: %s" % err)
        except CommandError as err:  # a library the scripting engine refuses
            return self._fail("Failed trying to load the MASTER synchronization DB from socket: %s" % err.msg)
        # Redis's replicationAttachToNewMaster: our old history ends here
        if self.cached is not None:
            e.log("notice", "Discarding previously cached master state.")
            self.cached = None
        e.replication.disconnect_replicas()  # they must sync again from the new data
        e.signal_flushed(None, None)
        rdb.install(e, res)
        e.dirty += 1
        e.log("notice", "Done loading RDB, keys loaded: %d, keys expired: %d." % (res.keys_loaded, res.keys_expired))
        repl = e.replication
        repl.become_replica_of(self.master_replid, self.initial_offset)
        try:
            dbid = int(res.aux.get(b"repl-stream-db", b"0"))
        except ValueError:
            dbid = 0
        self._online(dbid if 0 <= dbid < len(e.dbs) else 0)
        e.log("notice", "MASTER <-> REPLICA sync: Finished with success")
        if e.aof.on:  # the AOF restarts from the new dataset (Redis's restartAOFAfterSYNC)
            e.aof.stop()
            e.aof.start()

    def _online(self, dbid: int) -> None:
        """Synchronized: the master client applies the stream from now on."""
        e = self.engine
        laddr, fd = "", -1
        sock = self.link.transport.get_extra_info("socket") if hasattr(self.link, "transport") else None
        if sock is not None:
            try:
                host, port = sock.getsockname()[:2]
                laddr, fd = "%s:%d" % (host, port), sock.fileno()
            except OSError:
                pass
        c = e.new_client(self.link, "%s:%d" % (self.host, self.port), laddr, fd)
        c.kind = "master"
        c.flags = "M"
        c.user = "(superuser)"
        c.authenticated = True
        c.gated = False
        c.db = e.dbs[dbid]
        self.client = c
        self.state = "connected"
        self.down_since = 0.0
        self.last_ack = 0.0
        if self.buf:
            self._apply()
        self.send_ack()

    def resume(self) -> None:
        """CLIENT PAUSE ended: apply what the master sent meanwhile."""
        self._apply()
        self.engine.before_sleep()

    def _apply(self) -> None:
        """Run every complete command of the stream as the master client. During CLIENT PAUSE
        nothing is applied (as Redis pauses the master client): the offset stays, and so do the
        acknowledgements WAIT on the master counts."""
        e = self.engine
        if e.pause_mode:
            return
        repl = e.replication
        data = self.buf
        n = len(data)
        pos = 0
        c = self.client
        assert c is not None
        c.last_interaction = keyspace.Database.clock
        real_now = keyspace.now_ms
        try:
            while pos < n and c is self.client:
                if data[pos] == 10:  # a bare newline: not part of the stream
                    pos += 1
                    continue
                try:
                    argv, end = next(parse_commands(data, pos))
                except Truncated:
                    break
                except AOFError:
                    self._fail("Protocol error from MASTER: %r" % data[pos : pos + 64])
                    return
                keyspace.now_ms = keyspace.never_expired
                try:
                    reply = e.execute(c, argv)
                finally:
                    keyspace.now_ms = real_now
                if reply[:1] == b"-":  # the replica diverges from its master: say so loudly
                    name = c.last_cmd.fullname if c.last_cmd is not None else "<unknown>"
                    e.log("warning", "== CRITICAL == This replica is sending an error to its master: '%s' after "
                          "processing the command '%s'" % (errors.logged_error(reply), name))  # fmt: skip
                raw = data[pos:end]
                pos = end
                repl.proxy(raw)
        finally:
            self.buf = data[pos:]

    # -- to the master -------------------------------------------------------

    def send_ack(self) -> None:
        """REPLCONF ACK <offset>: the bytes of the stream processed so far."""
        link = self.link
        if link is not None and self.state == "connected":
            link.write(encode([b"REPLCONF", b"ACK", b"%d" % self.engine.replication.offset]))
            self.last_ack = time.monotonic()

    def cron(self) -> None:
        """Once a second or so (Redis's replicationCron, replica part)."""
        now = time.monotonic()
        if self.state == "connect":
            if now - self.last_try >= 1.0:  # one attempt a second, as Redis's replicationCron
                self.connect()
        elif self.state in ("connecting", "handshake", "sync"):
            if now - self.last_io > self.engine.config.get_int("repl-timeout"):
                self.engine.log("warning", "Timeout connecting to the MASTER...")
                self._fail(None)
        elif self.state == "connected":
            if now - self.last_io > self.engine.config.get_int("repl-timeout"):
                self.engine.log("warning", "MASTER timeout: no data nor PING received...")
                self._fail(None)
            elif now - self.last_ack >= 1.0:
                self.send_ack()

    # -- introspection -------------------------------------------------------

    def role_state(self) -> str:
        return self.state if self.state != "none" else "connect"

    def info(self) -> list[str]:
        now = time.monotonic()
        up = self.state == "connected"
        lines = [
            "master_host:%s" % self.host,
            "master_port:%d" % self.port,
            "master_link_status:%s" % ("up" if up else "down"),
            "master_last_io_seconds_ago:%d" % (int(now - self.last_io) if up else -1),
            "master_sync_in_progress:%d" % (1 if self.state == "sync" else 0),
        ]
        off = self.engine.replication.offset
        # read: also what came from the master but is not applied yet (a pause holds it)
        read = off + len(self.buf) if up else off
        lines += ["slave_read_repl_offset:%d" % read, "slave_repl_offset:%d" % off]
        if self.state == "sync":
            lines += [
                "master_sync_total_bytes:%d" % (self.payload_left + self.rdb_bytes if self.payload_left >= 0 else -1),
                "master_sync_read_bytes:%d" % self.rdb_bytes,
                "master_sync_left_bytes:%d" % self.payload_left,
                "master_sync_perc:%.2f"
                % (100.0 * self.rdb_bytes / (self.payload_left + self.rdb_bytes) if self.payload_left > 0 else 0.0),
                "master_sync_last_io_seconds_ago:%d" % int(now - self.last_io),
            ]
        if not up:
            lines.append("master_link_down_since_seconds:%d" % (int(now - self.down_since) if self.down_since else -1))
        return lines


def new_replid() -> str:
    return os.urandom(20).hex()
