"""The engine: databases, dispatch with Redis's pre-call checks, the mutation path,
propagation and the cron. It knows nothing about sockets: TCP clients, the embedded
client, and later the AOF loader and replication all come in through `execute()`.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any

from respdb import REDIS_VERSION, allocator, buffers, errors, lfu, monitor, notify, scripting
from respdb.acl import ACL
from respdb.allocator import release_due
from respdb.blocking import Blocking
from respdb.client import REPLY_OFF, REPLY_ON, REPLY_REPLICA, REPLY_SKIP, REPLY_SKIP_NEXT, Client
from respdb.client_eviction import ClientEviction
from respdb.commands.table import (
    ADMIN,
    FAST,
    LOADING,
    MAY_REPLICATE,
    NO_ASYNC_LOADING,
    NO_AUTH,
    NO_MULTI,
    PROTECTED,
    READONLY,
    STALE,
    TABLE,
    WRITE,
    Command,
)
from respdb.config import Config
from respdb.debuginfo import KeyspaceTables
from respdb.errors import CommandError
from respdb.eviction import DENYOOM, OOM, Evictor, is_oom_reject
from respdb.failover import WAITING, Failover
from respdb.keyspace import Database
from respdb.latency import FLOOR_NS, Latency
from respdb.oom import OOMScore
from respdb.output_limits import OutputLimits
from respdb.persistence.aof import AOF
from respdb.persistence.snapshot import MISCONF, Persistence
from respdb.pubsub import PubSub
from respdb.replication import Replication
from respdb.resp import QUEUED
from respdb.resp import error as error_reply
from respdb.shutdown import Shutdown
from respdb.slowlog import SlowLog
from respdb.slowlog import observe as slow_observe
from respdb.tracking import Tracking
from respdb.types.valueindex import ValueIndex
from respdb.watchdog import Watchdog

VERSION = REDIS_VERSION
# commands whose effective flags come from the script or function they run
_SCRIPT_CALLS = frozenset(("eval", "evalsha", "fcall"))
# replies Redis sends even under CLIENT REPLY OFF/SKIP (written as pushes, CLIENT_PUSHING)
_PUSHED_REPLIES = frozenset(("subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe"))
LOG_LEVELS = {"debug": 0, "verbose": 1, "notice": 2, "warning": 3}
LOG_MARKS = ".-*#"
# execute_run(): the most requests one run takes (the caller checks its output size between
# runs), and the lowest slow_ns (SLOWLOG/latency threshold) at which requests may share a timing.
MAX_RUN = 64
RUN_BIG_REPLY = 64 * 1024  # a run ends after a reply this large (LRANGE of a big list...)
RUN_MIN_SLOW_NS = FLOOR_NS

Propagator = Callable[[int, list[bytes]], None]


# Where a write is propagated (Redis's PROPAGATE_AOF / PROPAGATE_REPL, and both).
PROP_AOF, PROP_REPL, PROP_ALL = 1, 2, 3


# Command groups whose commands read or change a value's contents (not just the key's).
_VALUE_GROUPS = frozenset(("string", "list", "hash", "set", "sorted_set", "stream", "bitmap", "hyperloglog", "geo"))


class Engine:
    def __init__(self, config: Config | None = None) -> None:
        # Handlers register themselves on import.
        from respdb.commands import load_all

        load_all()

        self.config = config or Config()
        self.acl = ACL(self)  # users and permissions (acl.py); before any client exists
        self.table = TABLE
        self.by_bytes = TABLE.by_bytes
        self.plain = TABLE.plain
        self.runs = TABLE.runs
        self.renamed_away: set[str] = set()  # names rename-command took away (the originals)
        self.replaying = False  # an AOF's commands are being run (see already_expired)
        self._rename_commands()
        ndb = self.config.get_int("databases")
        self.dbs = [Database(i, self._expire_key) for i in range(ndb)]
        self.clients: dict[int, Client] = {}
        self.monitors: list[Client] = []  # MONITOR clients (see monitor.py)
        self._next_id = 0
        self.dirty = 0
        self.trim_keys = 0  # the key count when the cron last returned free heap memory
        self.start_time = time.time()
        self.run_id = os.urandom(20).hex()
        self.pid = os.getpid()
        self.propagators: list[Propagator] = []
        self.replication = Replication(self)  # the master side: SYNC/PSYNC and the command stream
        self.blocking = Blocking(self)
        # WATCH: (dbid, key) -> list of [client, expired-at-watch-time] entries.
        self.watched_keys: dict[tuple[int, bytes], list[list[Any]]] = {}
        # While EXEC or a script runs (depth > 0): what it propagates, sent by end_exec().
        self._exec_depth = 0
        self._exec_ops: list[tuple[int, list[bytes], int]] = []
        self.prop_target = PROP_ALL  # where writes go: PROP_AOF / PROP_REPL under redis.set_repl()
        # Paused clients (CLIENT PAUSE, a shutdown waiting for replicas): "" (none), "write" or
        # "all", the strongest of the pauses in `pauses` (purpose -> (mode, time.monotonic()
        # deadline)), re-checked at pause_until, the earliest deadline.
        self.pause_mode = ""
        self.pause_until = 0.0
        self.pauses: dict[str, tuple[str, float]] = {}
        # Raised after a failed background save (stop-writes-on-bgsave-error): writes get MISCONF.
        # Clients are gated while it is up, like CLIENT PAUSE (see persistence/snapshot.py).
        self.disk_error = False
        # True while the dataset is loaded at start-up: commands without the LOADING flag get
        # -LOADING (clients are gated meanwhile, as for disk_error).
        self.loading = False
        self.active_expire_enabled = True
        # maxmemory > 0: every client is gated so the OOM check and eviction run (eviction.py).
        self.evict_on = False
        self.min_replicas = False  # min-replicas-to-write in force (clients gated; see apply_config)
        # A damaged value was loaded without deep sanitization (types/corrupt.py): every client
        # is gated, so that a command reading such a value stops the server as Redis would.
        self.corrupt_values = False
        # DEBUG REPLYBUFFER: the reply buffer resizing and its peak's reset period (buffers.py)
        self.reply_resizing = True
        self.reply_peak_reset_ms = buffers.PEAK_RESET_MS
        self.buffers_pos = 0  # where the next cron run's share of clients starts
        # a lowered tracking-table-max-keys: applied before the next command of any client
        self.tracking_over = False
        self.evictor = Evictor(self)
        self.client_eviction = ClientEviction(self)  # maxmemory-clients
        self.obuf_limits = OutputLimits(self)  # client-output-buffer-limit (normal, pubsub)
        # While a script runs past busy-reply-threshold: its Scripting, whose refuse() answers
        # other clients' commands with -BUSY (see scripting/core.py).
        self.busy_script: Any = None
        self.stats: dict[str, int] = {}
        self.keyspace_tables = KeyspaceTables()  # DEBUG HTSTATS's table sizes
        self.errorstats: dict[str, int] = {}
        # SLOWLOG and LATENCY: a command taking slow_ns or more goes to slowlog.observe().
        self.slow_ns = 0
        self.slowlog = SlowLog(self)
        self.latency = Latency(self)
        self.reset_stats()
        self.notify_flags = 0
        self.pubsub = PubSub(self)
        self.tracking = Tracking(self)
        self.tracking_pending: list[bytes | None] = []  # invalidations due to the running client
        self.current: Client | None = None  # the client whose command is running
        # Work to do after the running command (see execute); `current` is the client whose
        # command runs (None between commands, e.g. in the cron).
        self.post_work = False
        self.notify_hooks: list[Callable[[int, str, bytes, int], None]] = [self.pubsub.keyspace_event]
        # True while a write needs nothing from written() but `dirty += 1` (see update_quiet)
        self.quiet = True
        # the cron's current frequency (`hz`, raised under dynamic-hz; set by the server loop)
        self.hz = min(500, max(1, self.config.get_int("hz")))
        self.shutdown = Shutdown(self)  # SHUTDOWN, signals, the wait for replicas
        self.failover = Failover(self)  # FAILOVER (coordinated, to a replica)
        self.logfile = sys.stderr
        self.apply_config()
        # Per-second samples for instantaneous_ops_per_sec.
        # (time, commands, net input, net output, repl input, repl output) once per cron run:
        # the instantaneous_* INFO figures are rates over these
        self._ops_samples: list[tuple[float, int, int, int, int, int]] = []
        self.tcp_port = 0
        self.persistence = Persistence(self)  # RDB snapshots: SAVE/BGSAVE state, save points
        self.aof = AOF(self)  # multi-part AOF: appending, fsync policy, BGREWRITEAOF
        self.oom = OOMScore(self)  # oom-score-adj (respdb/oom.py)
        for name in ("oom-score-adj", "oom-score-adj-values"):
            self.config.appliers[name] = self._apply_oom
        self.config.appliers["proc-title-template"] = self._apply_proc_title
        self.watchdog = Watchdog(self)  # watchdog-period (applied by the server, in the main thread)
        self.config.appliers["watchdog-period"] = self.watchdog.apply
        acl_error = self.acl.load_at_startup()  # `user` directives and the aclfile
        if acl_error is not None:
            self.log("warning", acl_error)
            raise SystemExit(1)

    # -- configuration -----------------------------------------------------

    def _apply_oom(self, value: str) -> None:
        from respdb.config import ConfigError

        if not self.oom.apply():
            raise ConfigError("Failed to set current oom_score_adj. Check server logs.")

    def _apply_proc_title(self, value: str) -> None:
        from respdb import proctitle
        from respdb.config import ConfigError

        if not proctitle.set_title(self.config):
            raise ConfigError("failed to set process title")

    def _rename_commands(self) -> None:
        """rename-command: this engine's dispatch dicts become copies without the old names
        (and with the new ones, unless renamed to ""); the shared table is untouched."""
        renames = self.config.renames
        if not renames:
            return
        self.by_bytes, self.plain, self.runs = dict(self.by_bytes), dict(self.plain), dict(self.runs)
        for old, new in renames:
            name = old.encode()
            cmd = self.by_bytes.get(name)
            for d in (self.by_bytes, self.plain, self.runs):
                present = name in d
                for k in [k for k in d if k.lower() == name]:
                    del d[k]
                if new and present and cmd is not None:
                    d[new.encode()] = d[new.upper().encode()] = cmd
            self.renamed_away.add(old)
            self.renamed_away.discard(new)

    def already_expired(self, when_ms: int, now_ms: int) -> bool:
        """Redis's checkAlreadyExpired: an expiry time already past deletes the key at once,
        except while an AOF is replayed or on a replica (the key gets the time; it expires
        later, or the master sends the DEL)."""
        return when_ms <= now_ms and not self.replaying and self.replication.upstream is None

    def child_active(self) -> bool:
        """A forked child is running (BGSAVE, AOF rewrite or a replica's snapshot): Redis's
        hasActiveChildProcess. There is one at a time; the others wait for the cron."""
        return self.persistence.child_pid != -1 or self.aof.child_pid != -1 or self.replication.child_pid != -1

    def update_resize_policy(self) -> None:
        """Redis's updateDictResizePolicy, called as a child starts and ends: while one runs,
        the tables of set, hash and sorted set values stay as they are (types/valueindex.py),
        and so do the keyspace's, which DEBUG HTSTATS reports (debuginfo.KeyspaceTables)."""
        child = self.child_active()
        ValueIndex.resize_ok = not child
        tables = self.keyspace_tables
        if child and not tables.child:
            tables.child_started(self.dbs)
        elif not child and tables.child:
            tables.child_ended(self.dbs)

    def lookup(self, name: bytes) -> Command | None:
        """A command by the name a client sends, after rename-command."""
        cmd = self.by_bytes.get(name)
        if cmd is None:
            cmd = self.by_bytes.get(name.lower())
        return cmd

    def apply_config(self) -> None:
        cfg = self.config
        self.notify_flags = notify.parse_flags(cfg["notify-keyspace-events"]) or 0
        self._wire_dbs()
        self.requirepass = cfg["requirepass"]
        self.loglevel = LOG_LEVELS.get(cfg["loglevel"], 2)
        Database.lfu = "lfu" in cfg["maxmemory-policy"]
        lfu.configure(cfg.get_int("lfu-log-factor"), cfg.get_int("lfu-decay-time"))
        self.evictor.configure()
        self.client_eviction.configure()
        self.obuf_limits.configure()
        self.update_quiet()
        # min-replicas-to-write: write commands need that many acknowledging replicas (NOREPLICAS)
        min_replicas = cfg.get_int("min-replicas-to-write") > 0 and cfg.get_int("min-replicas-max-lag") > 0
        if min_replicas != self.min_replicas:
            self.min_replicas = min_replicas
            self.update_gates()
        limit = cfg.get_int("tracking-table-max-keys")
        if limit and len(self.tracking.table) > limit and not self.tracking_over:
            self.tracking_over = True
            self.update_gates()

    def update_gates(self) -> None:
        """Something every client's `gated` depends on changed (Client.update_gate)."""
        for c in self.clients.values():
            c.update_gate()

    def update_quiet(self) -> None:
        """`quiet`: nothing listens to writes, so a write needs nothing from written() but
        `dirty += 1`: no eviction, WATCH, tracking, blocked client or keyspace notification.
        The hot write handlers test this one flag (and call written() otherwise); everything that
        changes one of these calls this."""
        self.quiet = not (
            self.evict_on
            or self.watched_keys
            or self.tracking.clients
            or self.notify_flags
            or any(db.blocking for db in self.dbs)
        )

    def _wire_dbs(self) -> None:
        """Databases count read hits/misses into our stats and call back for `new` / `keymiss`
        events only while those classes are on (their paths then stay one attribute test)."""
        flags = self.notify_flags
        on_new = self._notify_new if flags & notify.NEW else None
        on_miss = self._notify_miss if flags & notify.KEY_MISS else None
        for db in self.dbs:
            db.stats = self.stats
            db.on_new = on_new
            db.on_miss = on_miss

    def _notify_new(self, db: Database, key: bytes) -> None:
        self.notify(notify.NEW, "new", key, db.id)

    def _notify_miss(self, db: Database, key: bytes) -> None:
        self.notify(notify.KEY_MISS, "keymiss", key, db.id)

    def auth_required(self) -> bool:
        return self.acl.auth_required()  # the default user has a password (or is off)

    def reset_stats(self) -> None:
        # Updated in place: connections keep a reference to this dict (net.py).
        self.stats.clear()
        self.stats.update(
            {
                "total_connections_received": 0,
                "total_commands_processed": 0,
                "rejected_connections": 0,
                "expired_keys": 0,
                "expired_stale_perc": 0,
                "expired_time_cap_reached_count": 0,
                "evicted_keys": 0,
                "evicted_clients": 0,
                "lazyfreed_objects": 0,
                "keyspace_hits": 0,
                "keyspace_misses": 0,
                "total_net_input_bytes": 0,
                "total_net_output_bytes": 0,
                "total_net_repl_input_bytes": 0,  # read from our master
                "total_net_repl_output_bytes": 0,  # written to replicas
                "total_reads_processed": 0,
                "total_writes_processed": 0,
                "dump_payload_sanitizations": 0,
                "reply_buffer_shrinks": 0,
                "reply_buffer_expands": 0,
                "total_error_replies": 0,
                "unexpected_error_replies": 0,
                "expire_cycle_cpu_milliseconds": 0,
            }
        )
        self.errorstats = {}
        for cmd in self.table.all_commands():
            cmd.calls = cmd.ns = cmd.rejected_calls = cmd.failed_calls = 0
        self.latency.reset_histograms()
        # the counters kept elsewhere that Redis's resetServerStats clears too
        repl = self.__dict__.get("replication")
        if repl is not None:
            repl.sync_full = repl.sync_partial_ok = repl.sync_partial_err = 0
        snap = self.__dict__.get("persistence")
        if snap is not None:
            snap.total_forks = snap.rdb_saves = snap.latest_fork_usec = 0
        aof = self.__dict__.get("aof")
        if aof is not None:
            aof.rewrites = aof.consecutive_failures = aof.delayed_fsync = 0
        evictor = self.__dict__.get("evictor")
        if evictor is not None:
            evictor.exceeded_total = 0.0
            evictor.exceeded_since = 0.0
        self.__dict__.get("_ops_samples", []).clear()  # the instantaneous_* figures start over

    # -- logging -----------------------------------------------------------

    def log(self, level: str, msg: str) -> None:
        lv = LOG_LEVELS[level]
        if lv < self.loglevel:
            return
        now = time.time()
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now)) + ".%03d" % (now % 1 * 1000)
        try:
            role = "M" if self.replication.upstream is None else "S"
            self.logfile.write(f"{self.pid}:{role} {stamp} {LOG_MARKS[lv]} {msg}\n")
            self.logfile.flush()
        except (OSError, ValueError):
            pass

    # -- clients -----------------------------------------------------------

    def next_client_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def new_client(self, conn: Any = None, addr: str = "", laddr: str = "", fd: int = -1) -> Client:
        c = Client(self, conn, addr, laddr, fd)
        if self.evict_on or self.client_eviction.limit:
            c.gated = True
        if self.pause_mode or self.disk_error or self.loading or self.replication.upstream is not None:
            c.gated = True
        self.clients[c.id] = c
        self.stats["total_connections_received"] += 1
        return c

    def drop_client(self, c: Client) -> None:
        c.closed = True
        if c.tracking is not None:
            self.tracking.disable(c)
        if c.subs or c.psubs or c.ssubs:
            self.pubsub.drop(c)
        if c.watched:
            self.unwatch_all(c)
        if c.bstate is not None:
            self.blocking.disconnect(c)
        if self.replication.replicas or self.replication.pending:
            self.replication.detach(c)
        if self.monitors:
            monitor.stop(c)
        self.clients.pop(c.id, None)
        if self.client_eviction.mem:
            self.client_eviction.forget(c)
        if self.evict_on:
            self.evictor.clients_stale = True  # its buffers no longer count (see eviction.py)

    # -- dispatch ----------------------------------------------------------

    def execute(self, c: Client, argv: list[bytes]) -> bytes:
        """Run one request and return its reply bytes (b"" when nothing is to be sent)."""
        cmd = self.plain.get(argv[0])
        gate = c.gated or self.busy_script is not None
        if cmd is None:
            # other spellings, containers, PROTECTED commands, unknown names
            cmd = self._resolve(c, argv)
            if type(cmd) is bytes:
                return cmd
            gate = gate or cmd.flags & PROTECTED
        # CLIENT LIST's cmd=: set at lookup, before any check, as Redis's processCommand does
        # (so it names the running CLIENT LIST itself, and a command refused for its arity).
        c.last_cmd = cmd
        n = len(argv)
        arity = cmd.arity
        if (arity > 0 and arity != n) or n < -arity:
            return self._reject(c, cmd, errors.wrong_args(cmd.fullname))
        if gate:
            early = self._check_gates(c, cmd, argv)
            if early is not None:
                return early
        # call(), inlined: this is the per-request path (keep the two in step).
        dirty = self.dirty
        self.current = c
        t0 = perf_counter_ns()
        try:
            reply = cmd.handler(c, argv)
        except CommandError as e:
            reply = self._error(e.msg)
            cmd.failed_calls += 1
        except Exception as e:  # a bug in a handler must not take the connection down
            reply = self._internal_error(cmd, e)
            cmd.failed_calls += 1
        took = perf_counter_ns() - t0
        cmd.ns += took
        bstate = c.bstate
        if bstate is None or c.unblocking and not bstate.rearmed:
            cmd.calls += 1  # a command that blocked counts once, when it is served
            if took >= self.slow_ns:  # the one test for SLOWLOG, LATENCY and histograms (slowlog.py)
                slow_observe(self, c, cmd, (argv,), took)
        if self.propagators and self.dirty != dirty:
            self._propagate_call(c, cmd, argv)
        if c.rewrite is not None:
            c.rewrite = None
        if c.tracking is not None:
            self._after_tracked(c, cmd, argv)
        if self.monitors:
            reply = monitor.feed(self, c, cmd, argv, reply)
        if c.reply_mode:
            reply = self._filter_reply(c, cmd, reply)
        if self.post_work:
            reply = self._post_work(c, reply)
        return reply

    def _resolve(self, c: Client, argv: list[bytes]) -> Command | bytes:
        """execute()'s lookup beyond `plain`: the command (or subcommand) named by argv, or
        the error reply for an unknown one (counted, with CLIENT LIST's cmd= cleared)."""
        cmd = self.lookup(argv[0])
        if cmd is None:
            c.last_cmd = None
            return self._reject(c, None, _unknown_command(argv))
        if cmd.subcommands and len(argv) >= 2:
            sub = cmd.subcommands.get(argv[1].lower())
            if sub is None or sub.handler is None:
                c.last_cmd = None
                return self._reject(c, None, errors.unknown_subcommand(argv[1].split(b"\0", 1)[0], cmd.name))
            return sub
        return cmd

    def _post_work(self, c: Client, reply: bytes) -> bytes:
        """After a command that set `post_work` (tracking: invalidations due to this client;
        blocking: ready keys): returns the reply with this client's invalidations after it."""
        self.post_work = False
        if self.tracking_pending:
            reply = self._send_pending_invalidations(c, reply)
        if self.blocking.ready:
            self.blocking.serve_ready()
        return reply

    def execute_run(self, c: Client, cmds: list[list[bytes]], i: int, out: list[bytes]) -> int:
        """Run requests i, i+1, ... of a pipelined batch while they repeat one data command
        (a pipeline of GETs, of LPUSHes...), appending their replies to `out` (to be joined: a
        reply may be there in more than one part). Returns the index after the last one run, or
        i when a run does not apply here (execute() takes it).

        Each request gets exactly what execute() would give it once its checks pass; the checks
        that cannot change within such a run are made once for the whole run: an ungated
        client (Client.update_gate) without tracking or CLIENT REPLY modes, no MONITOR, no busy
        script. The run is timed as a whole and each request is given an equal share of the
        time (commandstats, SLOWLOG, latency histograms), so runs are taken only while
        `slow_ns` is at least the histograms' floor: with a lower SLOWLOG or latency threshold,
        every request is timed alone."""
        argv = cmds[i]
        name = argv[0]
        cmd = self.runs.get(name)
        if (
            cmd is None
            or c.gated
            or c.tracking is not None
            or c.reply_mode
            or c.bstate is not None
            or self.monitors
            or self.busy_script is not None
            or self.slow_ns < RUN_MIN_SLOW_NS
        ):
            return i
        c.last_cmd = cmd
        self.current = c
        stop = i + MAX_RUN
        t0 = perf_counter_ns()
        run_handler = cmd.run_handler
        if run_handler is not None and not self.propagators:
            # serves what it can (the common case: all of it); _run_each takes the rest
            j = run_handler(c, cmds, i, stop, out)
        else:
            j = i
        failed = 0
        if j < stop and j < len(cmds):
            j, failed = self._run_each(c, cmd, name, cmds, j, stop, out)
        took = perf_counter_ns() - t0
        c.rewrite = None  # (only a propagator reads it: with none, once per run is enough)
        count = j - i
        if count:
            cmd.ns += took
            cmd.calls += count
            if failed:
                cmd.failed_calls += failed
            share = took // count
            if share >= self.slow_ns:
                slow_observe(self, c, cmd, cmds[i:j], share)
        return j

    def _run_each(
        self, c: Client, cmd: Command, name: bytes, cmds: list[list[bytes]], j: int, stop: int, out: list[bytes]
    ) -> tuple[int, int]:
        """execute_run's requests from j on, one handler call each, while they are `name` with
        a valid argument count (at most to `stop`): returns (the index after the last one run,
        how many failed)."""
        handler = cmd.handler
        arity = cmd.arity
        # the argument counts execute() accepts: exactly `arity`, or at least -arity
        least, most = (arity, arity) if arity > 0 else (-arity, 1 << 30)
        props = self.propagators
        append = out.append
        sizable = not cmd.flags & FAST  # replies of O(1) commands are small
        failed = 0
        dirty = 0
        for argv in cmds[j:stop]:
            if argv[0] != name or not least <= len(argv) <= most:
                break  # another command, or an arity error (execute() gives it)
            if props:
                dirty = self.dirty
            try:
                reply = handler(c, argv)
            except CommandError as e:
                reply = self._error(e.msg)
                failed += 1
            except Exception as e:  # as in execute()
                reply = self._internal_error(cmd, e)
                failed += 1
            j += 1
            if props:
                if self.dirty != dirty:
                    self._propagate_call(c, cmd, argv)
                c.rewrite = None
            if self.post_work:  # invalidations, blocked clients to serve: then the run ends
                reply = self._post_work(c, reply)
                if reply:
                    append(reply)
                break
            if reply:
                append(reply)
                if sizable and len(reply) > RUN_BIG_REPLY:
                    break  # the caller writes out a large output before going on
        return j, failed

    def _internal_error(self, cmd: Command, e: Exception) -> bytes:
        """The reply (and log line) for a handler that raised something other than CommandError."""
        self.log("warning", f"internal error in '{cmd.fullname}': {e!r}")
        return self._error(f"ERR internal error in '{cmd.fullname}': {type(e).__name__}")

    def _propagate_call(self, c: Client, cmd: Command, argv: list[bytes]) -> None:
        """A command that changed the dataset goes to the propagators: in the form its handler
        chose (c.rewrite), else as received if it is a write command."""
        rewrite = c.rewrite
        if rewrite is not None:
            for a in rewrite:
                self.propagate(c.db.id, a)
        elif cmd.flags & WRITE:
            self.propagate(c.db.id, argv)

    def before_sleep(self) -> None:
        """After a batch of requests (Redis's beforeSleep): send batched BCAST invalidations."""
        if self.tracking.bcast_pending:
            self.tracking.flush_broadcasts()

    def _send_pending_invalidations(self, c: Client, reply: bytes) -> bytes:
        """Invalidations for keys the running client changed go after its own reply."""
        pending = self.tracking_pending
        self.tracking_pending = []
        for key in pending:
            if key is None:
                value = b"_\r\n" if c.proto == 3 else b"$-1\r\n"
            else:
                value = b"*1\r\n$%d\r\n%b\r\n" % (len(key), key)
            target, data = self.tracking.message(c, value)
            if target is c:
                reply += data
            elif target is not None:
                if target.conn is not None:
                    target.conn.write(data)
                else:
                    target.pushed.append(data)
        return reply

    def call(self, c: Client, cmd: Command, argv: list[bytes]) -> bytes:
        dirty = self.dirty
        self.current = c
        t0 = perf_counter_ns()
        try:
            reply = cmd.handler(c, argv)
        except CommandError as e:
            reply = self._error(e.msg)
            cmd.failed_calls += 1
        except Exception as e:  # a bug in a handler must not take the connection down
            reply = self._internal_error(cmd, e)
            cmd.failed_calls += 1
        took = perf_counter_ns() - t0
        cmd.ns += took
        if c.bstate is None or c.unblocking and not c.bstate.rearmed:
            cmd.calls += 1  # a command that blocked counts once, when it is served
            if took >= self.slow_ns:
                slow_observe(self, c, cmd, (argv,), took)
        if self.dirty != dirty and self.propagators:
            self._propagate_call(c, cmd, argv)
        if c.rewrite is not None:
            c.rewrite = None
        if c.tracking is not None:
            self._after_tracked(c, cmd, argv)
        if self.monitors:
            reply = monitor.feed(self, c, cmd, argv, reply)
        if c.reply_mode:
            return self._filter_reply(c, cmd, reply)
        return reply

    def _after_tracked(self, c: Client, cmd: Command, argv: list[bytes]) -> None:
        st = c.tracking
        if cmd.flags & READONLY and not st.bcast and cmd.fullname not in ("eval_ro", "evalsha_ro", "fcall_ro"):
            self.tracking.remember(c, cmd, argv)
        # CLIENT CACHING applies to the next command only (kept across a MULTI queue).
        if st.caching and cmd.name != "caching" and c.multi is None:
            st.caching = False

    def _filter_reply(self, c: Client, cmd: Command, reply: bytes) -> bytes:
        """CLIENT REPLY OFF/SKIP. (Un)subscribe confirmations are pushed past it, as in Redis:
        a subscriber is told what it is subscribed to even when it silenced its replies."""
        mode = c.reply_mode
        if mode == REPLY_REPLICA:
            if reply and cmd.fullname not in ("sync", "psync"):
                return self._replica_replied(c, cmd, reply)
            return reply
        keep = cmd.fullname in _PUSHED_REPLIES
        if mode == REPLY_SKIP:  # this very command set SKIP: the next one is skipped
            c.reply_mode = REPLY_SKIP_NEXT
            return b""
        if mode == REPLY_SKIP_NEXT:
            c.reply_mode = REPLY_ON
            return reply if keep else b""
        if mode == REPLY_OFF:
            return reply if keep else b""
        return reply

    def _replica_replied(self, c: Client, cmd: Command, reply: bytes) -> bytes:
        """A command from a replica made a reply: its link carries none, so the replica is
        dropped (Redis 7.0's _addReplyToBufferOrList), an error reported loudly first."""
        from respdb.commands.connection import client_info_line

        info = client_info_line(c).decode("utf-8", "replace").rstrip("\n")
        self.log("warning", "Replica generated a reply to command '%s', disconnecting it: %s" % (cmd.fullname, info))
        if reply[:1] == b"-":
            self.log("warning", "== CRITICAL == This master is sending an error to its replica: '%s' after processing "
                     "the command '%s'" % (errors.logged_error(reply), cmd.fullname))  # fmt: skip
        c.kill()
        return b""

    def _touch_corrupt(self, c: Client, cmd: Command, argv: list[bytes]) -> None:
        """A command (or an EXEC's queued ones) about to read a value loaded damaged: the
        server stops, as Redis's does when its code walks into the broken listpack."""
        from respdb.commands.keyspecs import key_names
        from respdb.types.corrupt import Corrupt, crash

        todo = [(q, a) for q, a in c.multi or ()] if cmd.fullname == "exec" else [(cmd, argv)]
        for q, a in todo:
            if (q.parent or q).spec.get("group") not in _VALUE_GROUPS and q.fullname not in ("sort", "sort_ro"):
                continue
            try:
                names = key_names(q, a)
            except Exception:  # a malformed call: its handler refuses it
                continue
            for key in names:
                v = c.db.data.get(key)
                if type(v) is Corrupt:
                    crash(self, v)

    def _check_gates(self, c: Client, cmd: Command, argv: list[bytes]) -> bytes | None:
        """Redis's processCommand checks after lookup and arity, in its order.

        Returns the reply when the command must not run now (an error, or +QUEUED)."""
        if self.corrupt_values and (c.multi is None or cmd.fullname == "exec"):
            self._touch_corrupt(c, cmd, argv)
        if self.tracking_over:  # (Redis's trackingLimitUsedSlots, before every command)
            self.tracking_over = False
            self.tracking.limit_used()
            self.update_gates()
        if cmd.flags & PROTECTED:
            # DEBUG obeys enable-debug-command, MODULE LOAD/LOADEX/UNLOAD enable-module-command;
            # the refusal names the top-level command and its option (Redis's processCommand).
            top = (cmd.parent or cmd).name
            option = "enable-module-command" if top == "module" else "enable-debug-command"
            setting = self.config[option]
            if setting == "no" or (setting == "local" and not is_local(c)):
                return self._reject(
                    c,
                    cmd,
                    'ERR %s command not allowed. If the %s option is set to "local", '
                    "you can run it from a local connection, otherwise you need to set this option in "
                    "the configuration file, and then restart the server." % (top.upper(), option),
                )
        if not c.authenticated and not cmd.flags & NO_AUTH and self.acl.auth_required():
            return self._reject(c, cmd, errors.NOAUTH)
        if c.user in self.acl.restricted:  # ACL: right after auth (and NO_MULTI), as processCommand
            if c.multi is not None and cmd.flags & NO_MULTI:
                return self._reject(c, cmd, "ERR Command not allowed inside a transaction")
            denied = self.acl.check(c, cmd, argv)
            if denied is not None:
                return self._reject(c, cmd, denied)
        if self.client_eviction.limit and not self.client_eviction.before_command(c):
            return b""  # this client was the one evicted (Redis's evictClients in processCommand)
        if self.evict_on and not (
            self.replication.upstream is not None and self.config["replica-ignore-maxmemory"] == "yes"
        ):
            oom = self._check_oom(c, cmd, argv)
            if oom is not None:
                return oom
        if self.disk_error and (
            cmd.flags & WRITE
            or cmd.fullname == "ping"
            or (cmd.fullname == "exec" and c.multi and any(q.flags & WRITE for q, _ in c.multi))
        ):
            return self._reject(c, cmd, MISCONF)
        if self.min_replicas and not self.replication.enough_good() and self._writes(c, cmd, argv):
            if cmd.fullname == "exec":
                return self._exec_abort(c, cmd, errors.NOREPLICAS)
            return self._reject(c, cmd, errors.NOREPLICAS)
        if self.replication.upstream is not None and c.kind != "master":
            refused = self._replica_refuses(c, cmd, argv)
            if refused is not None:
                if cmd.fullname == "exec":
                    return self._exec_abort(c, cmd, refused)
                return self._reject(c, cmd, refused)
        if "O" in c.flags and monitor.refused(c, cmd):
            return self._reject(c, cmd, monitor.REPLICA_KEYSPACE_ERR)
        if "S" in c.flags and monitor.refused(c, cmd):
            return self._replica_replied(c, cmd, self._reject(c, cmd, monitor.REPLICA_KEYSPACE_ERR))
        if c.proto == 2 and (c.subs or c.psubs or c.ssubs) and cmd.fullname not in _SUBSCRIBED_CONTEXT:
            return self._reject(
                c,
                cmd,
                "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                "are allowed in this context" % cmd.fullname,
            )
        if self.loading and (
            not cmd.flags & LOADING
            or (cmd.fullname == "exec" and c.multi and any(not q.flags & LOADING for q, _ in c.multi))
        ):
            return self._reject(c, cmd, "LOADING Redis is loading the dataset in memory")
        if cmd.flags & NO_ASYNC_LOADING and self.persistence.async_loading:
            # a replica serving its old data while the new one loads: nothing that would
            # save, replicate or change the role meanwhile
            return self._reject(c, cmd, "LOADING Redis is loading the dataset in memory")
        if self.busy_script is not None:
            refused = self.busy_script.refuse(c, cmd, argv)
            if refused is not None:
                return self._reject(c, cmd, refused)
        if self.pause_mode and c.kind == "normal" and self._paused_for(c, cmd, argv):
            return self.blocking.postpone(c, argv)
        if c.multi is not None:
            if cmd.flags & NO_MULTI:
                return self._reject(c, cmd, "ERR Command not allowed inside a transaction")
            if cmd.fullname not in _TRANSACTION_CONTROL:
                c.multi.append((cmd, argv))
                return QUEUED
        return None

    def _replica_refuses(self, c: Client, cmd: Command, argv: list[bytes]) -> str | None:
        """processCommand's checks for a replica: no writes but from the master while
        replica-read-only is on; nothing but STALE commands while the link is down and
        replica-serve-stale-data is off."""
        cfg = self.config
        if cfg["replica-read-only"] == "yes" and self._writes(c, cmd, argv):
            return errors.READONLY_REPLICA
        up = self.replication.upstream
        if (
            up is not None
            and up.state != "connected"
            and cfg["replica-serve-stale-data"] == "no"
            and (
                not self._flags_of(cmd, argv) & STALE  # (a script: allow-stale as declared)
                or (cmd.fullname == "exec" and c.multi and any(not q.flags & STALE for q, _ in c.multi))
            )
        ):
            return "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
        return None

    def _check_oom(self, c: Client, cmd: Command, argv: list[bytes]) -> bytes | None:
        """Evict before the command; refuse it if still out of memory (processCommand's rule)."""
        if not self.evictor.before_command(c, cmd, argv):
            return None
        queued_denyoom = cmd.fullname == "exec" and bool(c.multi) and any(q.flags & DENYOOM for q, _ in c.multi)
        if not is_oom_reject(cmd.flags, DENYOOM, cmd.fullname, c.multi is not None, queued_denyoom):
            return None
        if cmd.fullname == "exec":
            return self._exec_abort(c, cmd, OOM)
        return self._reject(c, cmd, OOM)

    def _exec_abort(self, c: Client, cmd: Command, msg: str) -> bytes:
        """EXEC refused before it runs (execCommandAbort): the transaction ends here."""
        cmd.rejected_calls += 1
        c.multi = None
        c.multi_error = False
        c.update_gate()
        self.unwatch_all(c)
        return self._error("EXECABORT Transaction discarded because of: " + msg)

    def _writes(self, c: Client, cmd: Command, argv: list[bytes]) -> bool:
        """processCommand's is_write_command: a write command (a script by its declared flags),
        or an EXEC with one queued."""
        if self._flags_of(cmd, argv) & WRITE:
            return True
        return cmd.fullname == "exec" and bool(c.multi) and any(self._flags_of(q, a) & WRITE for q, a in c.multi)

    # -- CLIENT PAUSE ----------------------------------------------------------

    def _paused_for(self, c: Client, cmd: Command, argv: list[bytes]) -> bool:
        if self.pause_mode == "all":
            return True
        if self._flags_of(cmd, argv) & (WRITE | MAY_REPLICATE):  # scripts: as declared
            return True
        if cmd.fullname == "exec" and c.multi:
            return any(self._flags_of(q, qargv) & (WRITE | MAY_REPLICATE) for q, qargv in c.multi)
        return False

    def _flags_of(self, cmd: Command, argv: list[bytes]) -> int:
        """A command's flags as processCommand sees them (a script's by its declaration)."""
        if cmd.fullname in _SCRIPT_CALLS:
            return scripting.command_flags(self, cmd.fullname, argv, cmd.flags)
        return cmd.flags

    def pause(self, mode: str, until: float, purpose: str = "client") -> None:
        """Pause clients: `mode` is "all" or "write"; `until` a time.monotonic() deadline. A
        pause of the same purpose (CLIENT PAUSE again) keeps the stronger mode and the later end,
        as Redis's pauseClients does; pauses of different purposes stand side by side."""
        old = self.pauses.get(purpose)
        if old is not None:
            mode = "all" if "all" in (mode, old[0]) else mode
            until = max(until, old[1])
        self.pauses[purpose] = (mode, until)
        self._apply_pauses()

    def unpause(self, purpose: str = "client") -> None:
        if self.pauses.pop(purpose, None) is not None:
            self._apply_pauses()

    def check_pause_end(self) -> None:
        if self.pause_mode and time.monotonic() >= self.pause_until:
            now = time.monotonic()
            for purpose in [p for p, (_, until) in self.pauses.items() if until <= now]:
                del self.pauses[purpose]
            self._apply_pauses()

    def _apply_pauses(self) -> None:
        if not self.pauses:
            if not self.pause_mode:
                return
            self.pause_mode = ""
            self.pause_until = 0.0
            self.update_gates()
            self.blocking.release_postponed()
            up = self.replication.upstream
            if up is not None and up.buf and up.state == "connected":
                up.resume()  # what the master sent during the pause
            return
        weaker = self.pause_mode == "all"
        self.pause_mode = "all" if any(m == "all" for m, _ in self.pauses.values()) else "write"
        weaker = weaker and self.pause_mode == "write"
        self.pause_until = min(until for _, until in self.pauses.values())
        for c in self.clients.values():
            c.gated = True
        if self.blocking.wake_after is not None and self.pause_until != math.inf:
            self.blocking.wake_after(max(0.0, self.pause_until - time.monotonic()))
        if weaker:
            self.blocking.release_postponed()  # reads go on; writes are held again

    def _reject(self, c: Client, cmd: Command | None, msg: str) -> bytes:
        if cmd is not None:
            cmd.rejected_calls += 1
        if c.multi is not None:
            c.multi_error = True  # EXEC will answer EXECABORT
        return self._error(msg)

    def _error(self, msg: str) -> bytes:
        if "\r" in msg or "\n" in msg:
            # As addReplyErrorFormat: user text must not put CR/LF on the wire.
            msg = msg.rstrip("\r\n").replace("\r", " ").replace("\n", " ")
        self.stats["total_error_replies"] += 1
        code = msg.split(" ", 1)[0]
        if len(self.errorstats) < 128 or code in self.errorstats:
            self.errorstats[code] = self.errorstats.get(code, 0) + 1
        return error_reply(msg)

    # -- the mutation path -------------------------------------------------

    def written(self, db: Database, key: bytes, event: str, cls: int) -> None:
        """Every change to a key ends here: dirty counter, notification, WATCH/tracking.

        The hot handlers (strings.py: SET, INCR, MSET...; lists.py: LPUSH/RPUSH, LPOP/RPOP; HSET;
        SADD) only add to `dirty` while `quiet` holds, which update_quiet() derives from the
        conditions below: a new condition must be added there too."""
        self.dirty += 1
        if self.evict_on:
            self.evictor.dirty.add((db.id, key))
        if self.watched_keys:
            self.touch_watched(db, key)
        if self.tracking.clients:
            tr = self.tracking
            if tr.table or tr.prefixes:
                tr.invalidate(key, self.current)
        if db.blocking and key in db.blocking:
            # A deleted stream (or one replaced by another type) must answer its XREADGROUP
            # waiters (see blocking.py); changes to a stream itself wake nobody but by XADD.
            v = db.data.get(key)
            if v is None or getattr(v, "redis_type", None) != "stream":
                self.blocking.signal_ready(db, key)
        if self.notify_flags & cls:
            self.notify(cls, event, key, db.id)

    def notify(self, cls: int, event: str, key: bytes, dbid: int) -> None:
        if not (self.notify_flags & cls):
            return
        for hook in self.notify_hooks:
            hook(cls, event, key, dbid)

    def propagate(self, dbid: int, argv: list[bytes], repl_only: bool = False) -> None:
        """To the AOF and the replicas; `repl_only`: to the replicas alone (PUBLISH); a script's
        redis.set_repl() narrows it with `prop_target`."""
        target = PROP_REPL if repl_only else self.prop_target
        if self._exec_depth:
            # EXEC or a script: propagated as a whole at its end
            self._exec_ops.append((dbid, argv, target))
            return
        self._feed(dbid, argv, target)

    def _feed(self, dbid: int, argv: list[bytes], target: int) -> None:
        if target == PROP_ALL:
            for p in self.propagators:
                p(dbid, argv)
            return
        to_replicas = target == PROP_REPL
        feed = self.replication.feed
        for p in self.propagators:
            if (p == feed) == to_replicas:
                p(dbid, argv)

    def force_propagate(self, c: Client, argv: list[bytes], repl_only: bool = False) -> None:
        """Redis's forceCommandPropagation: `argv` is propagated whether or not the running
        command moved the dirty counter (FLUSHALL of nothing, PUBLISH), and nothing else for it."""
        self.propagate(c.db.id, argv, repl_only)
        c.rewrite = []  # execute()/call() then add nothing of their own

    def end_exec(self) -> None:
        """After EXEC or a script (depth back to 0): what it changed, in MULTI/EXEC when that is
        more than one command (one is atomic as it is), as Redis 7.0's propagatePendingCommands:
        MULTI with the first command's database, EXEC with the last one's."""
        ops = self._exec_ops
        if not ops:
            return
        self._exec_ops = []
        props = self.propagators
        wrap = len(ops) > 1
        if wrap:
            for p in props:
                p(ops[0][0], [b"MULTI"])
        for dbid, argv, target in ops:
            self._feed(dbid, argv, target)
        if wrap:
            for p in props:
                p(ops[-1][0], [b"EXEC"])

    # -- WATCH ---------------------------------------------------------------

    def watch(self, c: Client, db: Database, key: bytes) -> None:
        ident = (db.id, key)
        for entry in c.watched:
            if entry[0] == ident:
                return
        when = db.expires.get(key)
        expired = when is not None and key in db.data and when <= int(time.time() * 1000)
        wk = [c, expired]
        self.watched_keys.setdefault(ident, []).append(wk)
        c.watched.append((ident, wk))
        self.quiet = False

    def unwatch_all(self, c: Client) -> None:
        for ident, wk in c.watched:
            lst = self.watched_keys.get(ident)
            if lst is not None:
                try:
                    lst.remove(wk)
                except ValueError:
                    pass
                if not lst:
                    del self.watched_keys[ident]
        if c.watched:
            c.watched = []
            self.update_quiet()
        c.dirty_cas = False

    def touch_watched(self, db: Database, key: bytes) -> None:
        """A watched key changed: the transactions of its watchers will fail."""
        lst = self.watched_keys.get((db.id, key))
        if not lst:
            return
        for wk in list(lst):
            c = wk[0]
            if wk[1]:  # expired when WATCHed: its deletion is no logical change
                if key not in db.data:
                    wk[1] = False
                    continue
            c.dirty_cas = True

    def touch_all_watched(self, emptied: Database, replaced_with: Database | None = None) -> None:
        """Before a database is flushed (or swapped with `replaced_with`)."""
        if not self.watched_keys:
            return
        now = int(time.time() * 1000)
        for (dbid, key), lst in list(self.watched_keys.items()):
            if dbid != emptied.id:
                continue
            in_emptied = key in emptied.data
            in_new = replaced_with is not None and key in replaced_with.data
            if not (in_emptied or in_new):
                continue
            new_expired = in_new and replaced_with.expires.get(key, now + 1) <= now
            for wk in list(lst):
                if wk[1]:
                    if not in_new:
                        wk[1] = False
                        continue
                    if new_expired:
                        continue
                elif not in_emptied and new_expired:
                    wk[1] = True
                    continue
                wk[0].dirty_cas = True

    def signal_all_ready(self, db: Database) -> None:
        """After SWAPDB: keys that now exist may serve clients blocked in this db (and
        XREADGROUP waiters whose stream is gone are answered)."""
        for key in list(db.blocking):
            self.blocking.signal_ready(db, key)

    def watched_key_expired(self, c: Client) -> bool:
        now = int(time.time() * 1000)
        for (dbid, key), wk in c.watched:
            if wk[1]:
                continue
            db = self.dbs[dbid]
            when = db.expires.get(key)
            if when is not None and when <= now and key in db.data:
                return True
        return False

    def _expire_key(self, db: Database, key: bytes) -> None:
        """A key found expired (lazily or by the cron): delete it and tell everyone.

        During CLIENT PAUSE nothing is deleted (a paused server must not change the
        dataset or its replication stream), nor on a replica; the key just reads as missing."""
        if self.pause_mode:
            return
        repl = self.replication
        if repl.upstream is not None:
            # A replica's master decides (it sends the DEL), except for keys our own clients
            # wrote with an expiry and for an expired key a write command of a client meets
            # on a writable replica (Redis's EXPIRE_FORCE_DELETE_EXPIRED).
            c = self.current
            writing = c is not None and c.kind != "master" and c.last_cmd is not None and c.last_cmd.flags & WRITE
            if (db.id, key) not in repl.local_expires and not writing:
                return
            repl.local_expires.discard((db.id, key))
        db.delete(key)
        if self.evict_on:
            self.evictor.dirty.add((db.id, key))
        if db.blocking and key in db.blocking:
            self.blocking.signal_ready(db, key)
        self.stats["expired_keys"] += 1
        self.dirty += 1
        if self.watched_keys:
            self.touch_watched(db, key)
        tr = self.tracking
        if tr.table or tr.prefixes:
            # nobody's own change (Redis: signalModifiedKey(NULL, ...)) for BCAST's NOLOOP
            tr.invalidate(key, self.current, expired=True)
        self.notify(notify.EXPIRED, "expired", key, db.id)
        if self.propagators:
            lazy = self.config["lazyfree-lazy-expire"] == "yes"
            self.propagate(db.id, [b"UNLINK" if lazy else b"DEL", key])

    # -- the cron ----------------------------------------------------------

    def cron(self) -> None:
        """Periodic work, called `hz` times a second by the server loop."""
        self.current = None  # changes made here are nobody's own (tracking NOLOOP, pending)
        if self.__dict__.get("pause_cron"):
            return  # DEBUG PAUSE-CRON 1
        sd = self.shutdown
        if sd.asap or sd.deadline:
            sd.cron()
        if self.failover.state == WAITING:
            self.failover.update()
        if self.loading:
            if self.replication.upstream is not None:
                self.replication.upstream.cron()  # (a replica loading its master's snapshot)
            return  # Redis runs no expiry, eviction or save points while it loads (whileBlockedCron)
        if self.watchdog.period:
            self.watchdog.arm()  # (not while loading: Redis's serverCron does not run then either)
        if self.blocking.heap:
            self.blocking.handle_timeouts()
        repl = self.replication
        if repl.replicas or repl.upstream is not None or repl.backlog_first:
            repl.cron()
        if self.pause_mode:
            self.check_pause_end()
        if self.active_expire_enabled and not self.pause_mode and repl.upstream is None:
            hz = self.hz
            effort = self.config.get_int("active-expire-effort")
            # Redis spends up to 25% of each cron period (more with more effort).
            budget = (0.25 + 0.02 * (effort - 1)) / hz
            deadline = time.monotonic() + budget
            t0 = time.process_time()
            for db in self.dbs:
                if db.heap:
                    db.active_expire(deadline)
                if time.monotonic() > deadline:
                    self.stats["expired_time_cap_reached_count"] += 1
                    break
            self.latency.sample("expire-cycle", int((time.monotonic() - deadline + budget) * 1000))
            self.stats["expire_cycle_cpu_milliseconds"] += int((time.process_time() - t0) * 1000)
            if self.blocking.ready:
                self.blocking.serve_ready()  # an expired stream answers its XREADGROUP waiters
        if self.evict_on:
            self.evictor.cron()  # an eviction cycle that ran out of time goes on
        sc = self.__dict__.get("scripting")
        if sc is not None and sc.ldb_children:
            sc.reap_debug_sessions()  # forked Lua debugger sessions that ended
        if self.obuf_limits.over_soft:
            self.obuf_limits.cron()  # soft output limits run out without new output too
        buffers.cron_all(self, int(time.monotonic() * 1000))  # (clientsCron: buffer resizing)
        if self.client_eviction.limit:
            self.client_eviction.measure_all()  # (clientsCron: every client's figure refreshed)
            self.client_eviction.evict()
        nkeys = 0
        for db in self.dbs:
            n = len(db.data)
            nkeys += n
            if 2 * n > db.amask + 1:
                db.grow_atime()  # for keys added by handlers that store into `data` directly
        if release_due(nkeys, self.trim_keys):
            self.trim_keys = nkeys
            allocator.release()  # the old tables of resized dicts (see allocator.py)
        now = time.monotonic()
        st = self.stats
        self._ops_samples.append(
            (
                now,
                self.total_commands(),
                st["total_net_input_bytes"],
                st["total_net_output_bytes"],
                st["total_net_repl_input_bytes"],
                st["total_net_repl_output_bytes"],
            )
        )
        if len(self._ops_samples) > 16:
            del self._ops_samples[0]
        if self.__dict__.get("migrate_cache"):
            from respdb.commands.migrate import close_idle

            close_idle(self)  # MIGRATE's cached connections unused for 10 s
        self.persistence.cron()  # reap a BGSAVE child, start one when a save point is due
        self.aof.cron()  # reap a rewrite child, everysec fsync, auto rewrite
        if self.tracking.table:
            self.tracking.limit_used()
        if self.tracking.bcast_pending:
            self.tracking.flush_broadcasts()  # e.g. keys the cycle expired (Redis: beforeSleep)

    def total_commands(self) -> int:
        return sum(c.calls for c in self.table.all_commands())

    def ops_per_sec(self) -> int:
        return int(self.rate(1))

    def rate(self, i: int) -> float:
        """Per second, over the recent cron samples, of the sampled figure i (see _ops_samples)."""
        s = self._ops_samples
        if len(s) < 2 or s[-1][0] == s[0][0]:
            return 0.0
        return (s[-1][i] - s[0][i]) / (s[-1][0] - s[0][0])

    # -- helpers for handlers ----------------------------------------------

    def select_db(self, index: int) -> Database:
        if index < 0 or index >= len(self.dbs):
            raise CommandError(errors.DB_INDEX)
        return self.dbs[index]

    def signal_flushed(self, c: Client | None, db: Database | None) -> None:
        """Before FLUSHDB (db) or FLUSHALL (None): WATCH and tracking see everything change."""
        for d in self.dbs if db is None else (db,):
            self.touch_all_watched(d)
            for key in list(d.blocking):
                self.blocking.signal_ready(d, key)  # XREADGROUP waiters learn their stream is gone
        if self.tracking.clients or self.tracking.table:
            self.tracking.invalidate_all(c)

    def flushall(self, c: Client | None = None) -> int:
        self.signal_flushed(c, None)
        n = 0
        for db in self.dbs:
            n += db.clear()
        self.dirty += 1
        return n


# What a RESP2 client may run while subscribed.
_SUBSCRIBED_CONTEXT = frozenset(
    ("subscribe", "ssubscribe", "psubscribe", "unsubscribe", "sunsubscribe", "punsubscribe", "ping", "quit", "reset")
)

# Commands that act on the transaction itself rather than being queued by MULTI.
_TRANSACTION_CONTROL = frozenset(("exec", "discard", "multi", "watch", "quit", "reset"))


def _unknown_command(argv: list[bytes]) -> str:
    args = b""
    for a in argv[1:]:
        if len(args) >= 128:
            break
        # Redis formats with %s: an argument ends at its first NUL byte.
        args += b"'" + a.split(b"\0", 1)[0][: 128 - len(args)] + b"' "
    name = argv[0].split(b"\0", 1)[0][:128]
    msg = b"ERR unknown command '" + name + b"', with args beginning with: " + args
    return msg.replace(b"\r", b" ").replace(b"\n", b" ").decode("utf-8", "surrogateescape")


def is_local(c: Client) -> bool:
    """A local connection (loopback or Unix socket), for the enable-*-command and
    enable-protected-configs "local" settings."""
    return not c.addr or c.addr.startswith(("127.", "[::1]", "::1", "/")) or c.fd == -1


__all__ = ["Engine", "VERSION", "ADMIN", "REPLY_OFF"]
