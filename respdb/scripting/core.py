"""Running scripts: EVAL's script cache, one run at a time, redis.call, busy scripts.

A run is one EVAL/EVALSHA/FCALL invocation. Commands a script calls go through
`Engine.call` on a script client (the caller's db, the protocol the script chose, no
blocking), after Redis's script checks (unknown command, arity, NOSCRIPT, read-only runs).
Their effects are propagated like EXEC's: MULTI before the first write, EXEC at the end.

Busy scripts. Scripts run inside one long-lived worker greenlet. Every 100 000 Lua
instructions a hook asks `_hook` whether to go on. Once the run is older than busy-reply-threshold, the engine
refuses other clients' commands with -BUSY (`refuse`), and every few milliseconds the hook
switches back to the event loop: the EVAL handler has returned "blocked" for the caller
(whose later requests wait, as for BLPOP), the loop serves other connections (BUSY
replies, SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE, new connections), and a loop
callback switches back into the script. When the script ends its reply is delivered like
a blocked client's. Without a running loop (embedded use, AOF loading) or inside EXEC a
run never yields.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from typing import TYPE_CHECKING, Any

from respdb import REDIS_VERSION, keyspace
from respdb.blocking import BLOCKED, BlockState
from respdb.client import Client
from respdb.commands.table import ALLOW_BUSY, MAY_REPLICATE, NOSCRIPT, READONLY, STALE, WRITE
from respdb.errors import NOREPLICAS, READONLY_REPLICA, CommandError
from respdb.eviction import DENYOOM, OOM
from respdb.persistence.snapshot import MISCONF
from respdb.scripting import ldb
from respdb.scripting.vm import LuaVM

try:
    import greenlet
except ImportError:  # pragma: no cover - greenlet is a dependency; without it scripts never yield
    greenlet = None

if TYPE_CHECKING:
    from respdb.engine import Engine

YIELD_INTERVAL = 0.005  # a busy script gives the event loop a turn this often (seconds)

# Script flags (shebang flags= and register_function flags), in Redis's order.
NO_WRITES, ALLOW_OOM, ALLOW_STALE, NO_CLUSTER, ALLOW_CROSS_SLOT = 1, 2, 4, 8, 16
FLAG_NAMES = [
    (NO_WRITES, b"no-writes"),
    (ALLOW_OOM, b"allow-oom"),
    (ALLOW_STALE, b"allow-stale"),
    (NO_CLUSTER, b"no-cluster"),
    (ALLOW_CROSS_SLOT, b"allow-cross-slot-keys"),
]
FLAG_BITS = {name: bit for bit, name in FLAG_NAMES}
EVAL_COMPAT = 1 << 10  # an EVAL script without a shebang line

BUSY_EVAL = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
BUSY_FUNCTION = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
NOTBUSY = "NOTBUSY No scripts in execution right now."
UNKILLABLE = (
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the "
    "script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
)
RO_SCRIPT = "ERR Can not execute a script with write flag using *_ro command."

# Errors of scriptCall, as RESP errors (the Lua side turns them into error tables).
ERR_UNKNOWN = b"-ERR Unknown Redis command called from script\r\n"
ERR_ARITY = b"-ERR Wrong number of args calling Redis command from script\r\n"
ERR_NOSCRIPT = b"-ERR This Redis command is not allowed from script\r\n"
ERR_RO = b"-ERR Write commands are not allowed from read-only scripts.\r\n"
ERR_MISCONF = b"-%b\r\n" % MISCONF.encode()
ERR_NOREPLICAS = b"-%b\r\n" % NOREPLICAS.encode()
ERR_READONLY_REPLICA = b"-%b\r\n" % READONLY_REPLICA.encode()
ERR_STALE = b"-ERR Can not execute the command on a stale replica.\r\n"
ERR_OOM = b"-%b\r\n" % OOM.encode()

_SUSPENDED = object()  # what a yielding script hands the event loop


def _version_num(version: str) -> int:
    major, minor, patch = (int(x) for x in version.split("."))
    return (major << 16) | (minor << 8) | patch


class ScriptClient(Client):
    """The client scripts run commands as; blocking commands answer at once for it.

    Redis creates its two script clients at start-up, as clients 1 and 2 (the first
    connection is client 3); these take those ids without using up connection ids."""

    __slots__ = ("deny_blocking",)

    def __init__(self, engine: Engine, client_id: int) -> None:
        next_id = engine._next_id
        super().__init__(engine)
        engine._next_id = next_id
        self.id = client_id
        self.deny_blocking = True
        self.authenticated = True
        self.gated = False
        self.kind = "script"


class Script:
    """An EVAL script in the cache."""

    __slots__ = ("sha", "body", "flags", "fn")

    def __init__(self, sha: str, body: bytes, flags: int, fn: Any) -> None:
        self.sha = sha
        self.body = body
        self.flags = flags
        self.fn = fn


class Run:
    """One running script or function."""

    __slots__ = (
        "caller", "cmd", "argv", "funcname", "is_eval", "read_only", "allow_oom", "client", "start",
        "timed_out", "killed", "wrote", "glet", "last_yield", "ready", "sentinel", "loop",
    )  # fmt: skip

    def __init__(self, caller: Client, cmd: Any, argv: list[bytes], funcname: str, is_eval: bool) -> None:
        self.caller = caller
        self.cmd = cmd
        self.argv = argv
        self.funcname = funcname
        self.is_eval = is_eval
        self.read_only = False
        self.allow_oom = False
        self.client: ScriptClient | None = None
        self.start = time.monotonic()
        self.timed_out = False
        self.killed = False
        self.wrote = False
        self.glet: Any = None
        self.last_yield = 0.0
        self.ready: list[Any] = []  # keys made ready for blocked clients, held while busy
        self.sentinel: BlockState | None = None
        self.loop: Any = None


def parse_script_shebang(body: bytes) -> tuple[int, int]:
    """EVAL's `#!lua [flags=...]` line: (flags, length of the line). Raises CommandError."""
    if not body.startswith(b"#!"):
        return EVAL_COMPAT, 0
    end = body.find(b"\n")
    if end < 0:
        raise CommandError("ERR Invalid script shebang")
    from respdb.resp import split_inline

    parts = split_inline(body[:end])
    if not parts:
        raise CommandError("ERR Invalid engine in script shebang")
    if parts[0] != b"#!lua":
        raise CommandError("ERR Unexpected engine in script shebang: %s" % _text(parts[0]))
    flags = 0
    for part in parts[1:]:
        if not part.startswith(b"flags="):
            raise CommandError("ERR Unknown lua shebang option: %s" % _text(part))
        value = part[6:]
        if not value:
            continue
        for name in value.split(b","):
            bit = FLAG_BITS.get(name)
            if bit is None:
                raise CommandError("ERR Unexpected flag in script shebang: %s" % _text(name))
            flags |= bit
    return flags, end


def _text(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


class Scripting:
    """Scripting state of one engine: the Lua states, the script cache, the running script."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.by_bytes = engine.by_bytes
        self.table = engine.table
        self.version = REDIS_VERSION.encode()
        self.version_num = _version_num(REDIS_VERSION)
        # Redis's redisLrand48 state, shared by EVAL scripts and functions.
        self.rand_state = 0x1234ABCD330E
        self.scripts: dict[bytes, Script] = {}  # by lowercase hex SHA1
        self.run: Run | None = None
        self.busy_ms = 0
        self._busy_src: Any = None  # the config string busy_ms was read from
        self.worker: Any = None  # the greenlet scripts run in (see invoke)
        self.load_deadline = 0.0  # FUNCTION LOAD's time limit while library code runs
        self.load_timed_out = False
        self._saved_active_expire = True
        self._real_now_ms = keyspace.now_ms
        # The Lua debugger's session while one runs (respdb/scripting/ldb.py), the script's
        # lines as a Lua table, and the pids of forked sessions (SCRIPT DEBUG YES).
        self.ldb: ldb.Session | None = None
        self.ldb_src: Any = None
        self.ldb_children: list[int] = []
        self.eval_vm = self._new_vm("eval")
        self.eval_client = ScriptClient(engine, 1)
        self.function_client = ScriptClient(engine, 2)
        from respdb.scripting.functions import Functions

        self.functions = Functions(self)

    # -- Lua states --------------------------------------------------------

    def _new_vm(self, mode: str) -> LuaVM:
        host = {
            b"call": self._call,
            b"call_table": self._call_table,
            b"log": self._log,
            b"hook": self._hook,
            b"sha1hex": _sha1hex,
            b"rand": self._rand,
            b"srand": self._srand,
            b"acl": self._acl_check,
            b"ldb_send": self._ldb_send,
            b"ldb_read": self._ldb_read,
            b"ldb_timeout": self._ldb_timeout,
            b"version": self.version,
            b"version_num": self.version_num,
        }
        return LuaVM(mode, host)

    def reset_eval(self) -> None:
        """SCRIPT FLUSH: an empty cache and a fresh Lua state."""
        self.scripts = {}
        self.eval_vm = self._new_vm("eval")

    # -- host callbacks (called from Lua) ------------------------------------

    def _ldb_send(self, logs: Any, n: int) -> None:
        if self.ldb is not None:
            self.ldb.send(logs, int(n))

    def _ldb_read(self) -> Any:
        if self.ldb is None:
            return None
        argv, argc = self.ldb.read()
        if argv is None or isinstance(argv, bytes):
            return argv
        return self.eval_vm.table_from(argv), argc

    def _ldb_timeout(self, reset: bool) -> bool:
        return self.ldb is not None and self.ldb.timed_out(bool(reset))

    def _rand(self) -> int:
        self.rand_state = (0x5DEECE66D * self.rand_state + 0xB) & 0xFFFFFFFFFFFF
        return self.rand_state >> 17

    def _srand(self, seed: int) -> None:
        seed = int(seed) & 0xFFFFFFFF
        self.rand_state = ((seed >> 16) << 32) | ((seed & 0xFFFF) << 16) | 0x330E

    def _log(self, level: int, msg: bytes) -> None:
        name = ("debug", "verbose", "notice", "warning")[int(level)]
        self.engine.log(name, msg.decode("utf-8", "surrogateescape"))

    def _lookup(self, argv: tuple[bytes, ...]) -> Any:
        """The command for argv (implemented or not: a script learns that a command is
        NOSCRIPT before it learns that respdb lacks it), or None if Redis has no such command."""
        cmd = self.by_bytes.get(argv[0])
        if cmd is None:
            name = argv[0].lower().decode("latin-1")
            cmd = self.table.commands.get(name) if name not in self.engine.renamed_away else None
            if cmd is None:
                cmd = self.engine.lookup(argv[0])  # (a name given by rename-command)
            if cmd is None:
                return None
        if cmd.subcommands and len(argv) >= 2:
            return cmd.subcommands.get(argv[1].lower())
        return cmd

    def _acl_check(self, *argv: bytes) -> Any:
        cmd = self._lookup(argv)
        if cmd is None:
            return None
        run = self.run
        user = self.engine.acl.get(run.caller.user if run is not None else "default")
        return user is None or user.check(cmd, list(argv))[0] == 0

    def _call(self, resp: int, repl: int, *args: bytes) -> bytes:
        """redis.call / redis.pcall: run one command for the script; the reply as RESP."""
        run = self.run
        if run is None:
            return b"-ERR redis.call/pcall can only be called inside a script invocation\r\n"
        cmd = self._lookup(args)
        if cmd is None:
            return self._refused(None, ERR_UNKNOWN)
        argc = len(args)
        arity = cmd.arity
        if (arity > 0 and arity != argc) or argc < -arity:
            return self._refused(cmd, ERR_ARITY)
        flags = cmd.flags
        if flags & NOSCRIPT and not self.engine.__dict__.get("script_disable_deny_script"):
            # (DEBUG SET-DISABLE-DENY-SCRIPTS 1 sets engine.script_disable_deny_script)
            return self._refused(cmd, ERR_NOSCRIPT)
        if run.client.user in self.engine.acl.restricted:  # scriptVerifyACL, as the caller's user
            denied = self.engine.acl.check_script(run.caller, run.client.user, cmd, list(args), run.cmd)
            if denied is not None:
                return self._refused(cmd, b"-ERR %s\r\n" % denied.encode())
        if not flags & STALE:
            up = self.engine.replication.upstream
            if up is not None and up.state != "connected" and self.engine.config["replica-serve-stale-data"] == "no":
                return self._refused(cmd, ERR_STALE)  # (scriptVerifyAllowStale)
        if run.read_only and flags & MAY_REPLICATE and not flags & WRITE:
            return self._refused(cmd, ERR_RO)  # PUBLISH & co. are writes for a read-only script
        if flags & WRITE:
            if run.read_only:
                return self._refused(cmd, ERR_RO)
            e = self.engine
            if (
                e.replication.upstream is not None
                and not run.wrote
                and run.caller.kind != "master"
                and e.config["replica-read-only"] == "yes"
            ):
                return self._refused(cmd, ERR_READONLY_REPLICA)
            if e.disk_error:
                return self._refused(cmd, ERR_MISCONF)
            if e.min_replicas and not run.wrote and not e.replication.enough_good():
                return self._refused(cmd, ERR_NOREPLICAS)
        if flags & DENYOOM and self.engine.evict_on and not run.allow_oom and not run.wrote:
            # scriptVerifyOOM: out of memory when the script started, and nothing written yet
            if self.engine.evictor.oom_state:
                return self._refused(cmd, ERR_OOM)
        if cmd.handler is None:  # a Redis command respdb does not implement
            return self._refused(None, ERR_UNKNOWN)
        if flags & WRITE:
            run.wrote = True
        c = run.client
        c.proto = resp
        e = self.engine
        try:
            if repl == 0 and e.propagators:
                # redis.set_repl(redis.REPL_NONE): what follows is not propagated
                saved = e.propagators
                e.propagators = []
                try:
                    reply = e.call(c, cmd, list(args))
                finally:
                    e.propagators = saved
            elif repl in (1, 2):  # REPL_AOF, REPL_REPLICA: one of the two
                e.prop_target = repl
                try:
                    reply = e.call(c, cmd, list(args))
                finally:
                    e.prop_target = 3
            else:
                reply = e.call(c, cmd, list(args))
        except Exception as err:  # a failing handler must not take the script's Lua state with it
            e.log("warning", "Command %s called from a script failed: %r" % (cmd.fullname, err))
            return b"-ERR %s\r\n" % repr(err).encode("utf-8", "replace").replace(b"\r", b" ").replace(b"\n", b" ")
        st = run.caller.tracking
        if st is not None and flags & READONLY and not st.bcast:
            # Redis's call(): a script that reads makes its caller track the keys the script
            # declared (the caller's own EVAL/FCALL arguments)
            e.tracking.remember(run.caller, run.cmd, run.argv)
        return reply or b"$-1\r\n"

    def _call_table(self, resp: int, repl: int, argv: Any, n: int) -> bytes:
        """redis.call with more arguments than fit Lua's C stack: they come as a table."""
        return self._call(resp, repl, *[argv[i] for i in range(1, int(n) + 1)])

    def _refused(self, cmd: Any, reply: bytes) -> bytes:
        """A command the script may not run: counted as a rejected call and an error reply."""
        if cmd is not None:
            cmd.rejected_calls += 1
        self.engine._error(reply[1:-2].decode())
        return reply

    def _hook(self) -> bool:
        """Every HOOK_COUNT instructions: True stops the script (killed, or load timeout)."""
        run = self.run
        if run is None:
            if self.load_deadline and time.monotonic() > self.load_deadline:
                self.load_timed_out = True
                return True
            return False
        if run.killed:
            return True
        now = time.monotonic()
        if not run.timed_out:
            if self.busy_ms <= 0 or (now - run.start) * 1000 < self.busy_ms:
                return False
            self._enter_busy(run, now)
        if run.glet is not None and now - run.last_yield >= YIELD_INTERVAL:
            self._yield(run)
        return run.killed

    # -- busy scripts ------------------------------------------------------

    def _enter_busy(self, run: Run, now: float) -> None:
        e = self.engine
        run.timed_out = True
        run.last_yield = now
        e.log(
            "warning",
            "Slow script detected: still in execution after %d milliseconds. You can try killing the script "
            "using the %s command. Script name is: %s."
            % ((now - run.start) * 1000, "SCRIPT KILL" if run.is_eval else "FUNCTION KILL", run.funcname),
        )
        e.busy_script = self
        # nothing may change the keyspace behind the script's back (active expiry)
        self._saved_active_expire = e.active_expire_enabled
        e.active_expire_enabled = False

    def _leave_busy(self, run: Run) -> None:
        e = self.engine
        e.busy_script = None
        e.active_expire_enabled = self._saved_active_expire

    def _yield(self, run: Run) -> None:
        """Give the event loop a turn (from inside the script's greenlet)."""
        b = self.engine.blocking
        if b.ready:  # blocked clients are served when the script is over, not now
            run.ready.extend(b.ready)
            b.ready = []
            b._ready_set.clear()
        run.glet.parent.switch(_SUSPENDED)
        run.last_yield = time.monotonic()

    def refuse(self, c: Client, cmd: Any, argv: list[bytes]) -> str | None:
        """The engine's check while a script is busy: the error for `cmd`, or None to run it."""
        run = self.run
        if run is None:
            return None
        busy = BUSY_EVAL if run.is_eval else BUSY_FUNCTION
        if cmd.flags & ALLOW_BUSY:
            if cmd.fullname == "shutdown" and not any(a.lower() == b"nosave" for a in argv[1:]):
                return busy
            return None
        if cmd.fullname == "exec":
            # Redis aborts the transaction itself when EXEC is refused
            if c.multi is not None:
                c.multi = None
                c.multi_error = False
                c.update_gate()
                self.engine.unwatch_all(c)
            return "EXECABORT Transaction discarded because of: " + busy
        return busy

    def _resume(self, run: Run) -> None:
        """Event loop callback: let a yielded script go on."""
        if run.glet is None or run.glet.dead:
            return
        try:
            res = run.glet.switch()
            if type(res) is _Failure:
                raise res.exc
        except Exception as err:  # a bug of ours must not leave the server busy forever
            res = (1, ("ERR script failed: %r" % err).encode())
        if res is _SUSPENDED:
            run.loop.call_soon(self._resume, run)
            return
        self._finish_suspended(run, res)

    def _finish_suspended(self, run: Run, res: Any) -> None:
        e = self.engine
        c = run.caller
        try:
            reply = self._complete(run, res)
        except CommandError as err:
            reply = e._error(err.msg)
            run.cmd.failed_calls += 1
        run.cmd.calls += 1
        if c.bstate is run.sentinel and c.bstate is not None:
            c.bstate = None
            e.blocking.count -= 1
            if not c.closed:
                if c.conn is not None:
                    c.conn.unblocked(reply)
                else:
                    c.pushed.append(reply)
        b = e.blocking
        for db, key in run.ready:
            b.signal_ready(db, key)
        if b.ready:
            b.serve_ready()

    # -- running -----------------------------------------------------------

    def check_flags(self, c: Client, flags: int, ro: bool) -> None:
        """The checks of scripts with flags (shebang scripts, functions): a script that may
        write counts as a write command (MISCONF), and may not run as EVAL_RO/FCALL_RO."""
        if flags & EVAL_COMPAT or flags & NO_WRITES:
            return
        if not flags & ALLOW_OOM and self.engine.evict_on and self.engine.evictor.oom_state:
            raise CommandError(OOM)  # such a script is a DENYOOM command
        if self.engine.disk_error:
            raise CommandError(MISCONF)
        if self.engine.min_replicas and not self.engine.replication.enough_good():
            raise CommandError(NOREPLICAS)
        if ro:
            raise CommandError(RO_SCRIPT)

    def invoke(
        self, c: Client, cmd: Any, argv: list[bytes], vm: LuaVM, fn: Any, funcname: str, is_eval: bool,
        flags: int, ro: bool, nkeys: int,
    ) -> bytes:  # fmt: skip
        """Run `fn` for client `c` (keys and args are argv[3:]); returns the reply."""
        self.check_flags(c, flags, ro)
        e = self.engine
        run = Run(c, cmd, argv, funcname, is_eval)
        run.read_only = ro or (not flags & EVAL_COMPAT and bool(flags & NO_WRITES))
        run.allow_oom = not flags & EVAL_COMPAT and bool(flags & ALLOW_OOM)
        sc = self.eval_client if is_eval else self.function_client
        sc.db = c.db
        sc.proto = 2
        sc.user = c.user
        run.client = sc
        src = e.config.values["busy-reply-threshold"]
        if src is not self._busy_src:
            self._busy_src = src
            self.busy_ms = int(src)
        self.run = run
        e._exec_depth += 1
        self._freeze_time()
        rest = argv[3:]
        if len(rest) <= 100:
            args: tuple[Any, ...] = (nkeys, None, None, *rest)
        else:
            args = (-1, vm.table_from(rest[:nkeys]), vm.table_from(rest[nkeys:]))
        loop = None
        if greenlet is not None and c.conn is not None and not c.in_multi and self.busy_ms > 0 and self.ldb is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
        try:
            if self.ldb is not None:
                res = vm.debug_run(self.ldb_src, fn, c.proto, funcname.encode(), is_eval, *args)
            elif loop is None:
                res = vm.run(fn, c.proto, funcname.encode(), is_eval, *args)
            else:
                run.loop = loop
                res = self._in_worker(run, vm.run, (fn, c.proto, funcname.encode(), is_eval, *args))
        except BaseException:
            self._end(run)
            raise
        if res is _SUSPENDED:
            # Past busy-reply-threshold: the caller waits (as a blocked client would) while
            # the loop serves others; _resume takes the script further.
            st = BlockState(c.db, [], 0.0, cmd, argv, b"", 0)
            c.bstate = run.sentinel = st
            e.blocking.count += 1
            loop.call_soon(self._resume, run)
            return BLOCKED
        return self._complete(run, res)

    def _in_worker(self, run: Run, fn: Any, args: tuple) -> Any:
        """Run fn(*args) in the worker greenlet, which lives on between runs (creating a
        greenlet per script would cost more than the script). Returns its result, or
        _SUSPENDED when the script gave the event loop a turn."""
        w = self.worker
        if w is None or w.dead or w.parent is not greenlet.getcurrent():
            w = self.worker = greenlet.greenlet(_worker_loop)
        run.glet = w
        res = w.switch((fn, args))
        if type(res) is _Failure:
            raise res.exc
        return res

    def _freeze_time(self) -> None:
        """Keys do not expire while a script runs: like Redis, expiry checks see the time the
        script started (keyspace.now_ms is what Database consults)."""
        now = self._real_now_ms()
        keyspace.now_ms = lambda: now

    def _end(self, run: Run) -> None:
        e = self.engine
        keyspace.now_ms = self._real_now_ms
        self.run = None
        run.glet = None
        if run.timed_out:
            self._leave_busy(run)
        e._exec_depth -= 1
        if not e._exec_depth:
            e.end_exec()

    def _complete(self, run: Run, res: Any) -> bytes:
        """The reply of a finished run: (status, payload) from the Lua side."""
        self._end(run)
        status, payload = res[0], res[1]
        if status == 0:
            if len(res) > 2 and (res[2] is not None or res[3]):
                # error replies inside the result: counted like Redis's addReplyError calls
                e = self.engine
                failed = int(res[3])  # each already-counted error makes the call a failed one
                if res[2] is not None:
                    for msg in res[2].values():
                        e._error(msg.decode("utf-8", "surrogateescape"))
                    failed += 1
                run.cmd.failed_calls += failed
            return payload
        if status == 2:  # already counted when the failing command ran
            run.cmd.failed_calls += 1
            return b"-%b\r\n" % payload
        raise CommandError(payload.decode("utf-8", "surrogateescape"))

    # -- EVAL --------------------------------------------------------------

    def cached(self, arg: bytes, evalsha: bool) -> Script | None:
        """The cached script EVALSHA's sha or EVAL's body names, or None."""
        return self.scripts.get(arg.lower() if evalsha else hashlib.sha1(arg).hexdigest().encode())

    def get_script(self, body: bytes) -> Script:
        """The cached script for `body`, compiled on first use."""
        sha = hashlib.sha1(body).hexdigest()
        script = self.scripts.get(sha.encode())
        if script is not None:
            return script
        flags, shebang_len = parse_script_shebang(body)
        res = self.eval_vm.compile(body[shebang_len:], b"@user_script")
        if isinstance(res, tuple):
            raise CommandError("ERR Error compiling script (new function): %s" % _text(res[1]))
        script = self.scripts[sha.encode()] = Script(sha, body, flags, res)
        return script

    def eval(self, c: Client, cmd: Any, argv: list[bytes], evalsha: bool, ro: bool) -> bytes:
        if evalsha and len(argv[1]) != 40:
            raise CommandError("NOSCRIPT No matching script. Please use EVAL.")
        if c.ldb is not None and evalsha:
            raise CommandError("ERR Please use EVAL instead of EVALSHA for debugging")
        nkeys = _numkeys(argv[2])
        if nkeys > len(argv) - 3:
            raise CommandError("ERR Number of keys can't be greater than number of args")
        if nkeys < 0:
            raise CommandError("ERR Number of keys can't be negative")
        if evalsha:
            script = self.cached(argv[1], True)
            if script is None:
                raise CommandError("NOSCRIPT No matching script. Please use EVAL.")
        else:
            script = self.get_script(argv[1])
        if c.ldb is not None and not c.in_multi:
            return self._debug_eval(c, cmd, argv, script, ro, nkeys)
        return self.invoke(c, cmd, argv, self.eval_vm, script.fn, script.sha, True, script.flags, ro, nkeys)

    def _debug_eval(self, c: Client, cmd: Any, argv: list[bytes], script: Script, ro: bool, nkeys: int) -> bytes:
        """EVAL under the Lua debugger (ldbStartSession, evalGenericCommand, ldbEndSession)."""
        e = self.engine
        forked = c.ldb == "yes"
        c.ldb = None  # one session per SCRIPT DEBUG
        sock = ldb.open_socket(c.conn)
        if sock is None:
            raise CommandError("ERR The Lua debugger needs a TCP or Unix socket connection without TLS")
        if forked:
            try:
                pid = os.fork()
            except OSError as err:
                sock.close()
                raise CommandError("ERR Fork() failed: can't run EVAL in debugging mode: %s" % err.strerror)
            if pid:
                sock.close()
                self.ldb_children.append(pid)
                c.kill()  # the child has the connection now
                return b""
            from respdb.persistence.snapshot import child_setup

            child_setup(e)
            ldb.child_ignores_signals()
            e.log("warning", "Redis forked for debugging eval")
        else:
            e.log("warning", "Redis synchronous debugging eval session started")
        self.ldb = session = ldb.Session(sock, self.busy_ms)
        self.ldb_src = self.eval_vm.table_from(argv[1].rstrip(b"\r\n").split(b"\n"))
        try:
            reply = self.invoke(c, cmd, argv, self.eval_vm, script.fn, script.sha, True, script.flags, ro, nkeys)
        except CommandError as err:
            if not forked:
                raise
            reply = e._error(err.msg)
        except BaseException:
            if forked:
                os._exit(1)  # a forked session must never return to the server's loop
            raise
        finally:
            self.ldb = self.ldb_src = None
            if not forked:
                session.close()
                e.log("warning", "Redis synchronous debugging eval session ended")
                c.close_after_reply = True  # the end of the session, for the client
        if forked:
            try:
                session.sock.sendall(reply)
            except OSError:
                pass
            e.log("warning", "Lua debugging session child exiting")
            os._exit(0)
        return reply

    def reap_debug_sessions(self) -> None:
        """Collect the forked sessions that ended (the cron)."""
        for pid in list(self.ldb_children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.ldb_children.remove(pid)

    def kill_debug_sessions(self) -> None:
        """ldbKillForkedSessions (shutdown)."""
        for pid in self.ldb_children:
            self.engine.log("warning", "Killing debugging session %d" % pid)
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        self.ldb_children = []

    # -- SCRIPT / FUNCTION KILL and STATS -------------------------------------

    def kill(self, is_eval: bool) -> None:
        run = self.run
        if run is None:
            raise CommandError(NOTBUSY)
        if run.wrote:
            raise CommandError(UNKILLABLE)
        if is_eval and not run.is_eval:
            raise CommandError(BUSY_FUNCTION)
        if not is_eval and run.is_eval:
            raise CommandError(BUSY_EVAL)
        run.killed = True
        self.engine.log(
            "warning", "Lua script killed by user with %s." % ("SCRIPT KILL" if is_eval else "FUNCTION KILL")
        )


_SMALL = {b"%d" % i: i for i in range(10)}


def _numkeys(b: bytes) -> int:
    n = _SMALL.get(b)
    if n is not None:
        return n
    from respdb.commands.args import parse_ll

    n = parse_ll(b)
    if n is None:
        raise CommandError("ERR value is not an integer or out of range")
    return n


class _Failure:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _worker_loop(job: tuple) -> None:
    """The worker greenlet: run each job, hand its result back, wait for the next one."""
    while True:
        fn, args = job
        try:
            res = fn(*args)
        except Exception as err:
            res = _Failure(err)
        job = greenlet.getcurrent().parent.switch(res)


def _sha1hex(s: bytes) -> bytes:
    return hashlib.sha1(s).hexdigest().encode()
