"""The network server: asyncio Protocols (on uvloop) feeding the engine.

One read -> parse everything in it -> execute each request; the replies are held and, at
the end of the event-loop iteration, the AOF is written once and then every client's output
goes out in one write each (Redis's beforeSleep). A client whose unsent output grows past
the transport's high-water mark stops being read until it drains, so a slow reader cannot
make the server buffer without bound.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import time
from typing import TYPE_CHECKING, Any

from respdb import buffers
from respdb.acl import NOPASS
from respdb.buffers import IOBUF_LEN
from respdb.client import REPLY_OFF, REPLY_SKIP_NEXT
from respdb.engine import Engine
from respdb.keyspace import Database
from respdb.resp import QUERY_BUF_LIMIT, ParserLimits, RequestParser
from respdb.tls import TLSListeners

if TYPE_CHECKING:
    from respdb.replica import Upstream

MAX_CLIENTS_ERR = b"-ERR max number of clients reached\r\n"
OUTPUT_HIGH_WATER = 64 * 1024 * 1024  # pause reading a client with this much unsent output
FLUSH_SIZE = 1024 * 1024  # within a batch, write out replies once this many bytes are collected


class NetShared:
    """State shared by all connections of one server: parser limits and the connection count."""

    __slots__ = ("engine", "aof", "limits", "connections", "flush_queue", "scheduled")

    def __init__(self, engine: Engine) -> None:
        cfg = engine.config
        self.engine = engine
        self.aof = engine.aof
        self.limits = ParserLimits(cfg.get_int("proto-max-bulk-len"), cfg.get_int("client-query-buffer-limit"))
        self.connections = 0  # accepted sockets, what maxclients is compared with
        # Connections holding output to send at the end of this loop iteration, in one write
        # each, as Redis writes each client's buffer once per loop: out-of-band messages, and
        # replies whose commands are still in the AOF buffer (see RespProtocol.write).
        self.flush_queue: list[RespProtocol] = []
        self.scheduled = False

    def schedule(self) -> None:
        if not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self.flush_all)

    def flush_all(self) -> None:
        """End of the loop iteration (Redis's beforeSleep): the AOF first, then the replies."""
        self.scheduled = False
        if self.aof.buf:
            self.aof.write_ahead()
        queue = self.flush_queue
        self.flush_queue = []
        for conn in queue:
            conn.send_pending()
        ce = self.engine.client_eviction
        if ce.limit and ce.total >= ce.limit:
            ce.evict()  # Redis's evictClients() in beforeSleep

    def config_changed(self, name: str, value: str) -> None:
        if name == "proto-max-bulk-len":
            self.limits.max_bulk = int(value)
        elif name == "client-query-buffer-limit":
            self.limits.qbuf_limit = int(value)


class RespProtocol(asyncio.Protocol):
    __slots__ = (
        "engine", "transport", "parser", "client", "execute", "paused", "stats", "queued", "queued_err",
        "shared", "counted", "ignored", "tracking", "pending", "pending_size", "running", "repl_out",
    )  # fmt: skip

    def __init__(self, engine: Engine, shared: NetShared | None = None) -> None:
        self.engine = engine
        self.execute = engine.execute
        self.transport: Any = None
        self.client: Any = None
        self.paused = False  # output over the high-water mark: reading and executing stop
        self.stats = engine.stats  # the same dict for the engine's life (reset_stats clears it)
        # a replica's connection: what it is sent is also counted as replication output
        self.repl_out = False
        self.tracking = engine.tracking
        # Requests held while the client is blocked (BLPOP ...) or its output is paused,
        # and the protocol error that followed them.
        self.queued: list[list[bytes]] | None = None
        self.queued_err: str | None = None
        self.shared = shared if shared is not None else NetShared(engine)
        self.counted = False
        self.ignored = -1  # >= 0: bytes received since a protocol error whose reply was muted
        self.parser = RequestParser(limits=self.shared.limits)
        # Out-of-band output waiting for the end of the loop iteration (see write()).
        self.pending: Any = None  # one reply (the usual case), or a list of them
        self.pending_size = 0
        self.running: list[bytes] | None = None  # the replies of the batch being executed

    # -- asyncio callbacks -------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        e = self.engine
        shared = self.shared
        if shared.connections >= e.config.get_int("maxclients"):
            # Redis writes this before reading anything and does not count the connection.
            e.stats["rejected_connections"] += 1
            transport.write(MAX_CLIENTS_ERR)
            transport.close()
            return
        sock = transport.get_extra_info("socket")
        peer = transport.get_extra_info("peername")
        if e.config["protected-mode"] == "yes" and not _is_local(sock, peer) and e.acl.default.flags & NOPASS:
            e.stats["rejected_connections"] += 1
            transport.write(PROTECTED_MODE_ERR)
            transport.close()
            return
        shared.connections += 1
        self.counted = True
        local = transport.get_extra_info("sockname")
        if sock is not None and sock.family == socket.AF_UNIX:
            addr = "%s:0" % (local or "")
            laddr = addr
        else:
            addr = _fmt_addr(peer)
            laddr = _fmt_addr(local)
            if sock is not None:
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    keepalive(sock, e.config.get_int("tcp-keepalive"))
                except OSError:
                    pass
        fd = sock.fileno() if sock is not None else -1
        self.client = e.new_client(self, addr, laddr, fd)
        transport.set_write_buffer_limits(high=OUTPUT_HIGH_WATER)

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client is None or client.closed:
            return
        n = len(data)
        stats = self.stats
        stats["total_net_input_bytes"] += n
        stats["total_reads_processed"] += 1
        if client.qb_peak < IOBUF_LEN or client.qb_alloc < IOBUF_LEN:
            buffers.read(client, client.qbuf)  # (CLIENT LIST's qbuf-free; buffers.py)
        if self.ignored >= 0:
            self._ignore(data)
            return
        if not client.authenticated:
            self._unauthenticated(data)
            return
        parser = self.parser
        # small(): a few whole requests with nothing left over in the parser (the usual read)
        cmds = parser.small(data) if self.queued is None else None
        if cmds is None:
            self._received(data)
            return
        # CLIENT LIST's qbuf while the read's commands run: its bytes, as Redis's query buffer
        client.qbuf = n
        if len(cmds) == 1:
            reply = self.execute(client, cmds[0])
            if reply:
                # _hold(), inlined: out with every other reply at the end of the loop iteration
                pending = self.pending
                if pending is None:
                    self.pending = reply
                    self.pending_size = len(reply)
                    shared = self.shared
                    shared.flush_queue.append(self)
                    if not shared.scheduled:
                        shared.schedule()
                else:
                    self._hold(reply)
            if client.close_after_reply:
                self.close()  # after what is held (a reply waiting for the AOF write)
            elif client.bstate is not None:
                self.queued = []
        elif not self._run(cmds, None):
            return
        if self.tracking.bcast_pending:
            self.engine.before_sleep()
        # Redis's idle time is in whole seconds of its cached clock; so is ours (see _cron)
        client.last_interaction = Database.clock
        if client.qbuf:
            client.qbuf = 0

    def _received(self, data: bytes) -> None:
        """data_received() for a read small() does not take: a request cut by the end of the
        read, a large read, a protocol error, a blocked or paused client."""
        client = self.client
        parser = self.parser
        blen, have = parser.bulk_pending()
        buffers.read(client, client.qbuf, blen + 2 - have if blen >= buffers.BIG_ARG else 0)
        client.qbuf += len(data)  # what is left from earlier reads, and this one
        cmds, err = parser.feed(data)
        if blen >= buffers.BIG_ARG or len(data) >= buffers.BIG_ARG:
            # a big argument read, or still being read: the query buffer is its size
            blen, have = parser.bulk_pending()
            biggest = max((max(map(len, argv)) for argv in cmds), default=0)
            if blen >= buffers.BIG_ARG or biggest >= buffers.BIG_ARG:
                buffers.big_bulk(client, blen if blen >= buffers.BIG_ARG else biggest)
        if self.queued is not None:
            # Blocked or paused: later requests wait, in order, behind the held ones.
            self.queued.extend(cmds)
            if err is not None and self.queued_err is None:
                self.queued_err = err
            return
        if not self._run(cmds, err):
            return
        if self.tracking.bcast_pending:
            self.engine.before_sleep()
        client.last_interaction = Database.clock
        waiting = parser.has_pending()
        if client.qbuf or waiting:
            client.qbuf = parser.pending()
            if waiting:
                self._input_waiting()

    def _input_waiting(self) -> None:
        """Part of a request waits in the parser: the memory accounts are out of date."""
        e = self.engine
        if e.evict_on:
            e.evictor.clients_stale = True  # (the next command's eviction check re-measures)
        if e.client_eviction.limit:
            e.client_eviction.note(self.client)
            self.shared.schedule()  # eviction at the end of this loop iteration (flush_all)

    def _unauthenticated(self, data: bytes) -> None:
        """Before AUTH Redis parses with lower limits, one request at a time (AUTH lifts them)."""
        client = self.client
        parser = self.parser
        parser.auth_required = True
        cmds, err = parser.feed(data, one=True)
        while cmds or err is not None:
            if not self._run(cmds, err) or self.queued is not None:
                return
            if client.authenticated:
                parser.auth_required = False
                cmds, err = parser.feed(b"")
                if cmds or err is not None:
                    self._run(cmds, err)
                break
            cmds, err = parser.feed(b"", one=True)
        client.last_interaction = Database.clock
        client.qbuf = parser.pending()

    def _run(self, cmds: list[list[bytes]], err: str | None) -> bool:
        """Execute a batch, writing as replies pile up; False once the connection is closing.

        Stops early when the client blocks or its unsent output passes the high-water mark:
        the rest is held in `queued` until it is served or the output drains.
        """
        client = self.client
        execute = self.execute
        execute_run = self.engine.execute_run
        out: list[bytes] = []
        append = out.append
        # What a command sends this same client out of band (a RESP3 subscriber publishing to
        # itself, ...) lands in `out` between the replies, where Redis puts it (see write()).
        self.running = out
        size = 0
        i = 0
        n = len(cmds)
        last = n - 1
        try:
            while i < n:
                argv = cmds[i]
                j = i
                if i < last and cmds[i + 1][0] == argv[0]:
                    # A run of one command (a pipeline of GETs...): checked and timed once.
                    mark = len(out)
                    j = execute_run(client, cmds, i, out)
                if j != i:
                    i = j
                    if i < n:  # more to run: count what the run holds (else _write checks)
                        size += sum(map(len, out[mark:]))
                else:
                    reply = execute(client, argv)
                    i += 1
                    if reply:
                        append(reply)
                        size += len(reply)
                if client.close_after_reply:
                    break
                held = client.bstate is not None
                if size > FLUSH_SIZE:
                    self._write(out)
                    out = []
                    append = out.append
                    self.running = out
                    size = 0
                    held = held or self.paused
                if held:
                    # kept until served / drained; a protocol error comes after them
                    self.queued = cmds[i:]
                    self.queued_err = err
                    err = None
                    break
        finally:
            self.running = None
        if err is not None and not client.close_after_reply:
            if err is QUERY_BUF_LIMIT:
                self.engine.log(
                    "warning",
                    "Closing client that reached max query buffer length: id=%d addr=%s" % (client.id, client.addr),
                )
                client.close_after_reply = True
            else:
                reply = self.engine._error(err)  # counted even when not sent, as Redis does
                self.engine.log(
                    "verbose", "Protocol error (%s) from client: id=%d addr=%s" % (err[4:], client.id, client.addr)
                )
                if client.reply_mode in (REPLY_OFF, REPLY_SKIP_NEXT):
                    # CLIENT REPLY OFF/SKIP drops the error reply too, and then Redis never gets
                    # to close the connection (that happens after a reply is written): it stops
                    # executing and lets the input pile up until the query buffer limit.
                    self.ignored = 0
                else:
                    out.append(reply)
                    client.close_after_reply = True
        if out:
            self._write(out)
        if client.close_after_reply:
            self.close()  # after what is held (replies waiting for the AOF write)
            return False
        return True

    def _ignore(self, data: bytes) -> None:
        self.ignored += len(data)
        if self.ignored > self.shared.limits.qbuf_limit:
            self.engine.log("warning", "Closing client that reached max query buffer length: id=%d" % self.client.id)
            self.transport.close()

    def _write(self, out: list[bytes]) -> None:
        self._hold(b"".join(out))
        if self.pending_size > FLUSH_SIZE:
            self.flush()  # a big batch goes out now (and may pause reading: backpressure)

    def unblocked(self, reply: bytes) -> None:
        """The engine served (or timed out) this blocked client: send, then resume its queue."""
        if self.transport is None or self.transport.is_closing():
            return
        if reply:
            self._hold(reply)
        asyncio.get_running_loop().call_soon(self._resume)

    def _resume(self) -> None:
        """Run held requests once the client is neither blocked nor paused."""
        client = self.client
        if self.queued is None or client is None or client.closed or client.bstate is not None or self.paused:
            return
        cmds, err = self.queued, self.queued_err
        self.queued = None
        self.queued_err = None
        if (cmds or err is not None) and not self._run(cmds, err):
            return
        if not self.paused and self.queued is None and not self.transport.is_closing():
            self.transport.resume_reading()

    def pause_writing(self) -> None:
        # Output is piling up: stop reading (and executing) for this client until it drains.
        self.paused = True
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.paused = False
        if self.queued is not None:
            asyncio.get_running_loop().call_soon(self._resume)
        else:
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.counted:
            self.counted = False
            self.shared.connections -= 1
        if self.client is not None:
            self.engine.drop_client(self.client)

    # -- used by the engine ------------------------------------------------

    def write(self, data: bytes) -> None:
        """Out-of-band output (messages, invalidations, a blocked client's reply): in order
        with the replies of this client's batch if one is running, else held like them."""
        out = self.running
        if out is not None:
            out.append(data)
        else:
            self._hold(data)

    def _hold(self, data: bytes) -> None:
        """Everything this client is sent is held until the end of the loop iteration and then
        written in one go with every other client's, as Redis's beforeSleep does: the AOF
        first, so no reply precedes its command on disk, and a burst of writes wakes a waiting
        client process once rather than once per reply (measured: +30-60 % throughput)."""
        pending = self.pending
        if pending is None:
            if not data or self.transport is None:
                return
            self.pending = data
            self.pending_size = len(data)
            shared = self.shared
            shared.flush_queue.append(self)
            if not shared.scheduled:
                shared.schedule()
        else:
            if type(pending) is list:
                pending.append(data)
            else:
                self.pending = [pending, data]
            self.pending_size += len(data)
            if self.pending_size > FLUSH_SIZE:
                self.flush()  # a long burst (a script publishing in a loop) goes out as it grows

    def flush(self) -> None:
        if self.pending is not None:
            self.engine.aof.write_ahead()  # no reply before its command is in the AOF
            self.send_pending()

    def send_pending(self) -> None:
        pending = self.pending
        if pending is None:
            return
        data = b"".join(pending) if type(pending) is list else pending
        self.pending = None
        self.pending_size = 0
        t = self.transport
        if t is not None and not t.is_closing():
            c = self.client
            if c is not None and (c.subs or c.psubs or c.ssubs or self.engine.obuf_limits.normal_on):
                if self.engine.obuf_limits.exceeded(c, t.get_write_buffer_size() + len(data)):
                    c.kill()  # with its unsent output (Redis's freeClientAsync)
                    return
            t.write(data)
            if c is not None and c.rb_peak < c.rb_size and len(data) > c.rb_peak:
                c.rb_peak = min(len(data), c.rb_size)  # what it filled of Redis's reply buffer
            stats = self.stats
            stats["total_net_output_bytes"] += len(data)
            stats["total_writes_processed"] += 1
            if self.repl_out:  # (Redis 7.0 counts it in both figures)
                stats["total_net_repl_output_bytes"] += len(data)
            if c is not None and self.engine.client_eviction.limit:
                self.engine.client_eviction.note(c)

    def close(self) -> None:
        if self.transport is not None:
            self.flush()
            self.transport.close()

    def abort(self) -> None:
        """Close now, dropping unsent output (a plain close when nothing is pending, as Redis)."""
        t = self.transport
        if t is not None:
            if t.get_write_buffer_size() or self.pending:
                self.pending = None
                self.pending_size = 0
                t.abort()
            else:
                t.close()

    def input_memory(self) -> int:
        """Memory held for this client's incomplete request (client_eviction.usage)."""
        return self.parser.input_memory()

    def output_size(self) -> int:
        """Bytes written but not yet sent to this client."""
        t = self.transport
        return (t.get_write_buffer_size() if t is not None else 0) + self.pending_size


class UpstreamProtocol(asyncio.Protocol):
    """The connection to our master (REPLICAOF); respdb/replica.py does the rest. It is also
    the master client's `conn`: CLIENT KILL TYPE master closes it."""

    def __init__(self, upstream: Upstream) -> None:
        self.up = upstream
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        if self.up.state != "connecting":  # REPLICAOF changed while connecting
            transport.close()
            return
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.up.connected(self)

    def data_received(self, data: bytes) -> None:
        stats = self.up.engine.stats
        stats["total_net_input_bytes"] += len(data)  # (Redis 7.0 counts it in both figures)
        stats["total_net_repl_input_bytes"] += len(data)
        stats["total_reads_processed"] += 1
        if self.up.link is self:
            self.up.received(data)
            self.up.engine.before_sleep()

    def eof_received(self) -> bool:
        # The master closed the link: the replica learns it now, as Redis does when its read
        # returns 0, not when the loop gets round to connection_lost (a request read in the
        # meantime, INFO or a GET, would still see the link up and the old data).
        if self.up.link is self:
            self.up.link_lost()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.up.link is self:
            self.up.link_lost()

    def write(self, data: bytes) -> None:
        t = self.transport
        if t is not None and not t.is_closing():
            t.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    abort = close

    def flush(self) -> None:
        pass

    def output_size(self) -> int:
        t = self.transport
        return t.get_write_buffer_size() if t is not None else 0


def connect_upstream(up: Upstream) -> None:
    """Replication.connector: open the connection to `up`'s master in the background."""
    loop = asyncio.get_running_loop()

    async def attempt() -> None:
        timeout = max(1, up.engine.config.get_int("repl-timeout"))
        source = up.engine.config["bind-source-addr"]  # the address outgoing connections come from
        local = (source, 0) if source else None
        try:
            connecting = loop.create_connection(lambda: UpstreamProtocol(up), up.host, up.port, local_addr=local)
            await asyncio.wait_for(connecting, timeout)
        except (TimeoutError, OSError) as err:
            if up.state == "connecting":
                up.connect_failed(getattr(err, "strerror", None) or str(err) or "timeout")

    loop.create_task(attempt())


# Redis's words, sent to a connection from another host while protected mode is on and the
# default user has no password.
PROTECTED_MODE_ERR = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set "
    b"for the default user. In this mode connections are only accepted from the loopback interface. If you "
    b"want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just "
    b"disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface "
    b"by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not "
    b"publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "
    b"Alternatively you can just disable the protected mode by editing the Redis configuration file, and "
    b"setting the protected mode option to 'no', and then restarting the server. 3) If you started the "
    b"server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an "
    b"authentication password for the default user. NOTE: You only need to do one of the above things in "
    b"order for the server to start accepting connections from the outside.\r\n"
)


def keepalive(sock: socket.socket, interval: int) -> None:
    """tcp-keepalive as Redis's anetKeepAlive: probes after `interval` idle seconds, then every
    interval/3 seconds, and the peer is dead after 3 unanswered ones; 0 leaves them off."""
    if interval <= 0:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if hasattr(socket, "TCP_KEEPIDLE"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, interval)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(1, interval // 3))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)


def _is_local(sock: Any, peer: Any) -> bool:
    """A Unix socket, or a TCP peer on a loopback address (Redis's connIsLocal)."""
    if sock is None or sock.family == socket.AF_UNIX:
        return True
    host = peer[0] if isinstance(peer, tuple) and peer else ""
    if host.startswith("::ffff:"):
        host = host[7:]
    return host.startswith("127.") or host == "::1"


def _fmt_addr(addr: Any) -> str:
    if not addr:
        return ""
    if isinstance(addr, tuple):
        host, port = addr[0], addr[1]
        return f"{host}:{port}"
    return str(addr)


class Server:
    """Owns the listeners, the cron and shutdown for one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.servers: list[asyncio.AbstractServer] = []
        self.tcp_servers: list[asyncio.AbstractServer] = []  # (what CONFIG SET port/bind replaces)
        self.stopping: asyncio.Event | None = None
        self.exit_code = 0
        self.shared: NetShared | None = None

    async def start(self, signals: bool = True) -> None:
        e = self.engine
        cfg = e.config
        loop = asyncio.get_running_loop()
        self.stopping = asyncio.Event()
        e.shutdown.stop = self.stop_now
        e.blocking.wake_after = lambda delay: loop.call_later(delay, e.blocking.handle_timeouts)
        shared = self.shared = NetShared(e)
        e.aof.schedule_flush = shared.schedule  # AOF writes wait for the end of the loop iteration
        e.replication.connector = connect_upstream
        e.replication.io = loop  # the snapshot pipe from a forked child is read by the loop
        cfg.listeners.append(shared.config_changed)
        port = cfg.get_int("port")
        backlog = cfg.get_int("tcp-backlog")
        if port:
            for addr in cfg["bind"].split():
                optional = addr.startswith("-")
                host = addr.lstrip("-")
                host = {"*": "0.0.0.0", "::*": "::"}.get(host, host)
                try:
                    srv = await loop.create_server(
                        lambda: RespProtocol(e, shared), host, port, reuse_address=True, backlog=backlog
                    )
                except OSError as err:
                    if optional:
                        continue
                    raise RuntimeError(
                        f"Could not create server TCP listening socket {host}:{port}: {err.strerror}"
                    ) from None
                self.servers.append(srv)
                self.tcp_servers.append(srv)
            e.tcp_port = port
        cfg.appliers["port"] = lambda value: self._relisten(int(value), cfg["bind"])
        cfg.appliers["bind"] = lambda value: self._relisten(cfg.get_int("port"), value)
        await TLSListeners(e, lambda: RespProtocol(e, shared), backlog, self.servers).start()  # tls-port
        sock_path = cfg["unixsocket"]
        if sock_path:
            if os.path.exists(sock_path):
                os.unlink(sock_path)
            srv = await loop.create_unix_server(lambda: RespProtocol(e, shared), sock_path, backlog=backlog)
            perm = cfg["unixsocketperm"]
            if perm and perm != "0":
                os.chmod(sock_path, int(perm, 8))
            self.servers.append(srv)
        # what a forked child closes first (persistence/snapshot.py child_setup)
        e.listener_fds = [sock.fileno() for srv in self.servers for sock in srv.sockets]
        if not port and self.servers == [] and not sock_path:
            raise RuntimeError("Configured to not listen anywhere, exiting.")
        for sig in (signal.SIGTERM, signal.SIGINT) if signals else ():
            try:
                loop.add_signal_handler(sig, self.request_shutdown_signal, sig)
            except (NotImplementedError, RuntimeError):
                pass
        if signals:  # a crash report in the log, as Redis writes one, before going down
            from respdb.commands.debug import crashed_by_signal

            for sig in (signal.SIGABRT, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGSEGV):
                try:
                    loop.add_signal_handler(sig, crashed_by_signal, e, sig)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass
        loop.create_task(self._cron())

    def _relisten(self, port: int, bind: str) -> None:
        """CONFIG SET port / bind: listen on the new addresses first, then stop listening on
        the old ones (Redis's changeListenPort / changeBindAddr); ConfigError if it can't."""
        from respdb.config import ConfigError

        e = self.engine
        loop = asyncio.get_running_loop()
        socks = []
        for addr in bind.split() if port else ():
            optional = addr.startswith("-")
            host = {"*": "0.0.0.0", "::*": "::"}.get(addr.lstrip("-"), addr.lstrip("-"))
            try:
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_STREAM)
                socks.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((host, port))
                sock.listen(e.config.get_int("tcp-backlog"))
                sock.setblocking(False)
            except OSError as err:
                socks.pop().close()
                if optional and err.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                    continue
                for other in socks:
                    other.close()
                if port != e.tcp_port:
                    raise ConfigError("Unable to listen on this port") from None
                raise ConfigError("Failed to bind to specified addresses.") from None
        old = self.tcp_servers
        self.tcp_servers = []
        for srv in old:
            srv.close()
            self.servers.remove(srv)
        shared = self.shared
        for sock in socks:

            async def serve(sock: socket.socket = sock) -> None:
                srv = await loop.create_server(lambda: RespProtocol(e, shared), sock=sock)
                self.servers.append(srv)
                self.tcp_servers.append(srv)

            loop.create_task(serve())
        e.tcp_port = port
        e.listener_fds = [s.fileno() for s in socks] + [s.fileno() for srv in self.servers for s in srv.sockets]

    def bound_port(self) -> int:
        for srv in self.servers:
            for s in srv.sockets:
                if s.family in (socket.AF_INET, socket.AF_INET6):
                    return s.getsockname()[1]
        return 0

    async def _cron(self) -> None:
        e = self.engine
        while True:
            hz = e.hz = self._hz()
            await asyncio.sleep(1.0 / hz)
            Database.clock = int(time.monotonic())
            try:
                e.cron()
                self._client_timeouts()
            except Exception as err:  # the cron must never die
                e.log("warning", f"cron error: {err!r}")

    def _hz(self) -> int:
        """The cron's frequency: `hz`, doubled (up to 500) while there are more than 200 clients
        per tick under dynamic-hz, as Redis does so that each client is looked at in time."""
        e = self.engine
        hz = min(500, max(1, e.config.get_int("hz")))
        if e.config["dynamic-hz"] == "yes":
            clients = len(e.clients)
            while clients // hz > 200 and hz < 500:
                hz = min(500, hz * 2)
        return hz

    def _client_timeouts(self) -> None:
        e = self.engine
        timeout = e.config.get_int("timeout")
        if not timeout:
            return
        now = Database.clock
        for c in list(e.clients.values()):
            if c.conn is not None and now - c.last_interaction > timeout:
                e.log("verbose", "Closing idle client")
                c.kill()

    def request_shutdown_signal(self, sig: int) -> None:
        self.engine.shutdown.on_signal("SIGINT" if sig == signal.SIGINT else "SIGTERM")

    def abandon(self) -> None:
        """Stop without the shutdown sequence (start-up failed after listening)."""
        self.exit_code = 1
        if self.stopping is not None:
            self.stopping.set()

    def request_shutdown(self, argv: list[bytes]) -> None:
        """Stop without the shutdown sequence (an embedded server's stop())."""
        self.engine.log("warning", "User requested shutdown...")
        self.stop_now()

    def stop_now(self) -> None:
        """Leave the event loop: wait_closed() closes the listeners and the connections."""
        if self.stopping is not None:
            self.stopping.set()

    async def wait_closed(self) -> None:
        assert self.stopping is not None
        await self.stopping.wait()
        e = self.engine
        for srv in self.servers:
            srv.close()
        for c in list(e.clients.values()):
            c.kill()
        sock_path = e.config["unixsocket"]
        if sock_path and os.path.exists(sock_path):
            try:
                os.unlink(sock_path)
            except OSError:
                pass
        if not self.exit_code:  # (after a failed start the error stays the log's last line, as in Redis)
            e.log("warning", "respdb is now ready to exit, bye bye...")
