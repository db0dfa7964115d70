"""The command table: one `Command` per Redis command, built from `spec_data.SPECS`.

Handlers register with `@command("name")` (subcommands as "container|sub"). Only
commands with a handler are visible to clients (dispatch, COMMAND, COMMAND DOCS ...);
`unimplemented()` lists the rest, so a missing command is visible in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from respdb.commands.spec_data import SPECS

# Command flag bits (names as in Redis's command JSON).
FLAG_NAMES = [
    "WRITE", "READONLY", "DENYOOM", "MODULE", "ADMIN", "PUBSUB", "NOSCRIPT", "BLOCKING",
    "LOADING", "STALE", "SKIP_MONITOR", "SKIP_SLOWLOG", "ASKING", "FAST", "NO_AUTH",
    "MAY_REPLICATE", "SENTINEL", "ONLY_SENTINEL", "NO_MANDATORY_KEYS", "PROTECTED",
    "MODULE_GETKEYS", "MODULE_NO_CLUSTER", "NO_ASYNC_LOADING", "NO_MULTI", "MOVABLE_KEYS",
    "ALLOW_BUSY", "MODULE_GETCHANNELS", "TOUCHES_ARBITRARY_KEYS",
]  # fmt: skip
F = {name: 1 << i for i, name in enumerate(FLAG_NAMES)}
WRITE = F["WRITE"]
READONLY = F["READONLY"]
DENYOOM = F["DENYOOM"]
ADMIN = F["ADMIN"]
NOSCRIPT = F["NOSCRIPT"]
LOADING = F["LOADING"]
STALE = F["STALE"]
FAST = F["FAST"]
NO_AUTH = F["NO_AUTH"]
PROTECTED = F["PROTECTED"]
NO_MULTI = F["NO_MULTI"]
BLOCKING = F["BLOCKING"]
PUBSUB = F["PUBSUB"]
MOVABLE_KEYS = F["MOVABLE_KEYS"]
ALLOW_BUSY = F["ALLOW_BUSY"]
SKIP_SLOWLOG = F["SKIP_SLOWLOG"]
SKIP_MONITOR = F["SKIP_MONITOR"]
MAY_REPLICATE = F["MAY_REPLICATE"]
NO_ASYNC_LOADING = F["NO_ASYNC_LOADING"]

Handler = Callable[..., Any]
RunHandler = Callable[..., int]


class Command:
    __slots__ = (
        "name", "fullname", "spec", "arity", "flags", "handler", "subcommands", "parent",
        "first_key", "last_key", "key_step", "calls", "ns", "rejected_calls",
        "failed_calls", "getkeys", "hist", "run_handler",
    )  # fmt: skip

    def __init__(self, fullname: str, spec: dict[str, Any], parent: Command | None = None) -> None:
        self.fullname = fullname
        self.name = fullname.rsplit("|", 1)[-1]
        self.spec = spec
        self.parent = parent
        self.arity: int = spec["arity"]
        flags = 0
        for f in spec.get("command_flags", ()):
            flags |= F[f]
        if _movable(spec):
            flags |= MOVABLE_KEYS
        self.flags = flags
        self.handler: Handler | None = None
        # Optional: serves a pipelined run of this command in one call (Engine.execute_run).
        self.run_handler: RunHandler | None = None
        self.subcommands: dict[bytes, Command] = {}
        self.first_key, self.last_key, self.key_step = _legacy_range(spec)
        self.getkeys: Callable[[list[bytes]], list[int]] | None = None
        self.calls = 0
        self.ns = 0  # time spent in the handler, nanoseconds
        self.rejected_calls = 0
        self.failed_calls = 0
        self.hist = [0] * 65  # durations by bit length of their nanoseconds (latency.py)

    @property
    def implemented(self) -> bool:
        if self.subcommands:
            return any(s.handler is not None for s in self.subcommands.values())
        return self.handler is not None

    def visible_subcommands(self) -> list[Command]:
        return [s for s in self.subcommands.values() if s.handler is not None]


def _movable(spec: dict[str, Any]) -> bool:
    # Only the key specs decide (SET and BITFIELD have a getkeys proc yet no movablekeys flag).
    for ks in spec.get("key_specs", ()):
        if "index" not in ks["begin_search"] or "range" not in ks["find_keys"]:
            return True
    return False


def _legacy_range(spec: dict[str, Any]) -> tuple[int, int, int]:
    """first/last/step as COMMAND INFO reports them (Redis's populateCommandLegacyRangeSpec)."""
    specs = spec.get("key_specs", ())
    if not specs:
        return 0, 0, 0
    if len(specs) == 1 and "index" in specs[0]["begin_search"] and "range" in specs[0]["find_keys"]:
        pos = specs[0]["begin_search"]["index"]["pos"]
        rng = specs[0]["find_keys"]["range"]
        last = rng["lastkey"]
        return pos, (last + pos if last >= 0 else last), rng["step"]
    first = 1 << 31
    last = 0
    prev_last = 0
    for ks in specs:
        if "index" not in ks["begin_search"] or "range" not in ks["find_keys"]:
            continue
        pos = ks["begin_search"]["index"]["pos"]
        rng = ks["find_keys"]["range"]
        if rng["step"] != 1 or (prev_last and prev_last != pos - 1):
            continue
        first = min(first, pos)
        lk = rng["lastkey"]
        if lk >= 0:
            lk += pos
        # unsigned comparison, as Redis does: a negative lastkey wins
        last = lk if (lk & 0xFFFFFFFF) > (last & 0xFFFFFFFF) else last
        prev_last = last
    if first == 1 << 31:
        return 0, 0, 0
    return first, last, 1


# Commands that only read and change keys, reply to the caller and leave the client's own
# state alone (no SELECT, MULTI, blocking, subscribing, closing): those a pipelined run of
# one command may execute back to back (Engine.execute_run).
_RUN_GROUPS = frozenset(
    ("string", "list", "hash", "set", "sorted_set", "bitmap", "hyperloglog", "geo", "stream", "generic")
)
_NO_RUN = BLOCKING | PROTECTED | ADMIN | NOSCRIPT | PUBSUB | NO_MULTI


def _runnable(cmd: Command) -> bool:
    if cmd.subcommands or cmd.handler is None or cmd.flags & _NO_RUN:
        return False
    return cmd.spec.get("group") in _RUN_GROUPS or cmd.fullname in ("ping", "echo")


class CommandTable:
    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        for fullname, spec in SPECS.items():
            if "|" not in fullname:
                self.commands[fullname] = Command(fullname, spec)
        for fullname, spec in SPECS.items():
            if "|" in fullname:
                parent_name, sub = fullname.split("|", 1)
                parent = self.commands[parent_name]
                parent.subcommands[sub.encode()] = Command(fullname, spec, parent)
        # Dispatch dict keyed by the exact bytes clients send (lower and upper case);
        # other spellings fall back to a lowercase lookup.
        self.by_bytes: dict[bytes, Command] = {}
        # The subset a pipelined run of one command may take (Engine.execute_run).
        self.runs: dict[bytes, Command] = {}
        # The subset Engine.execute resolves in one lookup: no subcommands, not PROTECTED.
        self.plain: dict[bytes, Command] = {}

    def get(self, fullname: str) -> Command:
        if "|" in fullname:
            parent, sub = fullname.split("|", 1)
            return self.commands[parent].subcommands[sub.encode()]
        return self.commands[fullname]

    def register(self, fullname: str, handler: Handler) -> Command:
        cmd = self.get(fullname)
        cmd.handler = handler
        self._publish(cmd.parent or cmd)
        return cmd

    def _publish(self, cmd: Command) -> None:
        if cmd.implemented:
            name = cmd.name.encode()
            self.by_bytes[name] = cmd
            self.by_bytes[name.upper()] = cmd
            if not cmd.subcommands and not cmd.flags & PROTECTED:
                self.plain[name] = cmd
                self.plain[name.upper()] = cmd
            if _runnable(cmd):
                self.runs[name] = cmd
                self.runs[name.upper()] = cmd

    def lookup(self, name: bytes) -> Command | None:
        cmd = self.by_bytes.get(name)
        if cmd is None:
            cmd = self.by_bytes.get(name.lower())
        return cmd

    def implemented(self) -> list[Command]:
        return [c for c in self.commands.values() if c.implemented]

    def unimplemented(self) -> list[str]:
        out = []
        for c in self.commands.values():
            if c.subcommands:
                out.extend(s.fullname for s in c.subcommands.values() if s.handler is None)
            elif c.handler is None:
                out.append(c.fullname)
        return out

    def all_commands(self) -> list[Command]:
        out = []
        for c in self.commands.values():
            out.append(c)
            out.extend(c.subcommands.values())
        return out


TABLE = CommandTable()


def command(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler for one or more commands of the table."""

    def deco(fn: Handler) -> Handler:
        for n in names:
            TABLE.register(n, fn)
        return fn

    return deco


def run_of(name: str) -> Callable[[RunHandler], RunHandler]:
    """Register a run handler: `fn(c, cmds, i, end, out)` serves requests i, i+1, ... (before
    `end`) of a pipelined batch, all of this command, appending their replies to `out` (in
    parts where that saves copies: the caller joins them), and returns the index after the
    last one it served. It serves a request only where the reply and every effect are exactly
    the handler's, and stops at the first it leaves to it (another command, an arity error, a
    value of another type, a database with expiries...). Engine.execute_run calls it only
    when nothing is propagated, with the run's checks made."""

    def deco(fn: RunHandler) -> RunHandler:
        TABLE.get(name).run_handler = fn
        return fn

    return deco


def container(name: str) -> None:
    """Mark a container command (CLIENT, CONFIG, ...) as served by its subcommands."""
    TABLE._publish(TABLE.commands[name])
