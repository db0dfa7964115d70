"""ACL users and permissions, after Redis 7.0's model.

A user has flags (on/off, nopass, sanitize-payload), SHA-256 password hashes and a list of
selectors: the root selector (the rules given outside parentheses) plus any `(...)` selectors.
A command is allowed when at least one selector allows the command, every key it names (with
the read/write access its key specs say) and every channel it publishes or subscribes to.

Each command of the table (subcommands included) gets a bit in a Python int; a selector's
allowed commands are one such int, so category rules and the canonical description (ACL LIST)
are a few mask operations. The description algorithm is Redis's: start from +@all or -@all,
greedily apply the category that best fits, then fix single commands.

Users are keyed by name as `str` (bytes decoded with surrogateescape, so any byte string
round-trips); `Client.user` holds that name. Clients of users whose rules restrict anything
are gated (Client.update_gate) and checked in Engine._check_gates; the default user with all
permissions is never looked at per request.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import TYPE_CHECKING, Any

from respdb import glob
from respdb.commands import keyspecs
from respdb.commands.introspection import ACL_CATEGORIES, acl_category_bits
from respdb.commands.table import NO_AUTH, TABLE, Command, F

if TYPE_CHECKING:
    from respdb.client import Client
    from respdb.engine import Engine

# Results of a permission check (Redis's ACL_* codes; their order picks the error to report).
OK, DENIED_CMD, DENIED_KEY, DENIED_AUTH, DENIED_CHANNEL = 0, 1, 2, 3, 4

# User flags, in the order descriptions list them.
ENABLED, DISABLED, NOPASS, SKIP_SANITIZE, SANITIZE = 1, 2, 4, 8, 16
USER_FLAGS = [(ENABLED, "on"), (DISABLED, "off"), (NOPASS, "nopass"),
              (SKIP_SANITIZE, "skip-sanitize-payload"), (SANITIZE, "sanitize-payload")]  # fmt: skip

# Key pattern permissions.
READ, WRITE = 1, 2
ALL_PERMS = READ | WRITE

# Channel argument kinds (Redis's CMD_CHANNEL_*).
CH_PATTERN, CH_PUBLISH, CH_SUBSCRIBE, CH_UNSUBSCRIBE = 1, 2, 4, 8
# command -> (flags, first position, count or -1 for the rest)
CHANNEL_ARGS = {
    "subscribe": (CH_SUBSCRIBE, 1, -1),
    "ssubscribe": (CH_SUBSCRIBE, 1, -1),
    "unsubscribe": (CH_UNSUBSCRIBE, 1, -1),
    "sunsubscribe": (CH_UNSUBSCRIBE, 1, -1),
    "psubscribe": (CH_PATTERN | CH_SUBSCRIBE, 1, -1),
    "punsubscribe": (CH_PATTERN | CH_UNSUBSCRIBE, 1, -1),
    "publish": (CH_PUBLISH, 1, 1),
    "spublish": (CH_PUBLISH, 1, 1),
}

NOPERM_CMD = "NOPERM this user has no permissions to run the '%s' command"
NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNEL = "NOPERM this user has no permissions to access one of the channels used as arguments"
# getAclErrorMessage(): the tail of script and EXEC-time errors.
REASONS = {
    DENIED_CMD: "can't run this command or subcommand",
    DENIED_KEY: "can't access at least one of the keys mentioned in the command arguments",
    DENIED_CHANNEL: "can't publish to the channel mentioned in the command",
}
EXEC_REASONS = {
    DENIED_CMD: "no permission to execute the command or subcommand",
    DENIED_KEY: "no permission to touch the specified keys",
    DENIED_CHANNEL: "no permission to access one of the channels used as arguments",
}

# ACLSetUser's errors (errno in Redis).
E_SYNTAX = "Syntax error"
E_UNKNOWN = "Unknown command or category name in ACL"
E_KEYS_AFTER_ALL = (
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any "
    "effect. Try 'resetkeys' to start with an empty list of patterns"
)
E_CHANNELS_AFTER_ALL = (
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any "
    "effect. Try 'resetchannels' to start with an empty list of channels"
)
E_NO_PASSWORD = "The password you are trying to remove from the user does not exist"
E_BAD_HASH = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
E_SUB_FIRSTARG = "Allowing first-arg of a subcommand is not supported"
E_DUPLICATE = "Duplicate user found. A user can only be defined once in config files"

LOG_GROUPING_MS = 60000


class RuleError(Exception):
    """An ACL rule that cannot be applied; str() is Redis's ACLSetUserStringError text."""


# ---------------------------------------------------------------------------
# The command universe: one bit per command and subcommand, in table order.


class Universe:
    def __init__(self) -> None:
        self.ids: dict[Command, int] = {}
        self.top: list[Command] = []  # top-level commands in iteration order
        for cmd in TABLE.commands.values():
            if cmd.flags & F["ONLY_SENTINEL"]:
                continue  # not part of a redis-server's table
            self.top.append(cmd)
            self.ids[cmd] = len(self.ids)
            for sub in cmd.subcommands.values():
                if not sub.flags & F["ONLY_SENTINEL"]:
                    self.ids[sub] = len(self.ids)
        self.all_mask = (1 << len(self.ids)) - 1
        # Bit of a command together with its subcommands' bits (ACLChangeSelectorPerm).
        self.family: dict[Command, int] = {}
        for cmd, i in self.ids.items():
            m = 1 << i
            for sub in cmd.subcommands.values():
                if sub in self.ids:
                    m |= 1 << self.ids[sub]
            self.family[cmd] = m
        ncat = len(ACL_CATEGORIES)
        self.cat_members: list[int] = [0] * ncat  # commands in the category
        self.cat_effect: list[int] = [0] * ncat  # bits +@cat / -@cat change (families)
        self.cat_cmds: list[list[Command]] = [[] for _ in range(ncat)]
        for cmd in self.ordered():
            bits = acl_category_bits(cmd)
            for j in range(ncat):
                if bits & (1 << j):
                    self.cat_members[j] |= 1 << self.ids[cmd]
                    self.cat_effect[j] |= self.family[cmd]
                    self.cat_cmds[j].append(cmd)
        self.cat_count = [bin(m).count("1") for m in self.cat_members]

    def ordered(self) -> list[Command]:
        """Every command, each container followed by its subcommands."""
        out = []
        for cmd in self.top:
            out.append(cmd)
            out.extend(s for s in cmd.subcommands.values() if s in self.ids)
        return out

    def lookup(self, name: bytes) -> Command | None:
        """ACLLookupCommand: "get" or "config|get", case-insensitive; nothing deeper."""
        parts = name.lower().split(b"|")
        if len(parts) > 2:
            return None
        base = TABLE.commands.get(parts[0].decode("latin-1"))
        if base is None or base not in self.ids:
            return None
        if len(parts) == 1:
            return base
        if not base.subcommands:
            return None
        sub = base.subcommands.get(parts[1])
        return sub if sub in self.ids else None


_universe: Universe | None = None


def universe() -> Universe:
    global _universe
    if _universe is None:
        _universe = Universe()
    return _universe


def category_index(name: bytes) -> int:
    try:
        return ACL_CATEGORIES.index(name.lower().decode("latin-1"))
    except (ValueError, UnicodeDecodeError):
        return -1


def hash_password(pw: bytes) -> bytes:
    return hashlib.sha256(pw).hexdigest().encode()


def _valid_hash(h: bytes) -> bool:
    return len(h) == 64 and all(48 <= c <= 57 or 97 <= c <= 102 for c in h)


def _password_hash(op: bytes) -> bytes:
    """The stored hash a >/< rule (clear-text password) or #/! rule (hex hash) names."""
    if op[:1] in (b">", b"<"):
        return hash_password(op[1:])
    h = op[1:]
    if not _valid_hash(h):
        raise RuleError(E_BAD_HASH)
    return h


def _has_spaces(s: bytes) -> bool:
    return any(c in b" \t\n\v\f\r\0" for c in s)


# ---------------------------------------------------------------------------
# Selectors


class Selector:
    __slots__ = ("root", "allkeys", "allchannels", "allcommands", "future", "allowed", "firstargs", "patterns",
                 "channels")  # fmt: skip

    def __init__(self, root: bool = False, allchannels: bool = False) -> None:
        self.root = root
        self.allkeys = False
        self.allchannels = allchannels
        self.allcommands = False
        self.future = False  # +@all's reserved bit: commands added later are allowed too
        self.allowed = 0
        self.firstargs: dict[Command, list[bytes]] = {}
        self.patterns: list[list[Any]] = []  # [pattern, READ|WRITE, matcher]
        self.channels: list[bytes] = []

    def copy(self) -> Selector:
        s = Selector(self.root)
        s.allkeys, s.allchannels, s.allcommands = self.allkeys, self.allchannels, self.allcommands
        s.future, s.allowed = self.future, self.allowed
        s.firstargs = {k: list(v) for k, v in self.firstargs.items()}
        s.patterns = [list(p) for p in self.patterns]
        s.channels = list(self.channels)
        return s

    @property
    def unrestricted(self) -> bool:
        return self.allcommands and self.allkeys and self.allchannels

    # -- changing --------------------------------------------------------------

    def change(self, cmd: Command, allow: bool) -> None:
        u = universe()
        m = u.family[cmd]
        if allow:
            self.allowed |= m
        else:
            self.allowed &= ~m
            self.allcommands = False
        self.firstargs.pop(cmd, None)

    def set_category(self, j: int, allow: bool) -> None:
        u = universe()
        if allow:
            self.allowed |= u.cat_effect[j]
        else:
            self.allowed &= ~u.cat_effect[j]
            self.allcommands = False
        if self.firstargs:
            for cmd in u.cat_cmds[j]:
                self.firstargs.pop(cmd, None)

    def apply(self, op: bytes) -> None:
        """One selector rule (ACLSetSelector); raises RuleError."""
        low = op.lower()
        if low in (b"allkeys", b"~*"):
            self.allkeys = True
            self.patterns = []
        elif low == b"resetkeys":
            self.allkeys = False
            self.patterns = []
        elif low in (b"allchannels", b"&*"):
            self.allchannels = True
            self.channels = []
        elif low == b"resetchannels":
            self.allchannels = False
            self.channels = []
        elif low in (b"allcommands", b"+@all"):
            self.allowed = universe().all_mask
            self.allcommands = True
            self.future = True
            self.firstargs = {}
        elif low in (b"nocommands", b"-@all"):
            self.allowed = 0
            self.allcommands = False
            self.future = False
            self.firstargs = {}
        elif op[:1] in (b"~", b"%"):
            self._add_pattern(op)
        elif op[:1] == b"&":
            if self.allchannels:
                raise RuleError(E_CHANNELS_AFTER_ALL)
            pat = op[1:]
            if _has_spaces(pat):
                raise RuleError(E_SYNTAX)
            if pat not in self.channels:
                self.channels.append(pat)
            self.allchannels = False
        elif op[:1] == b"+" and op[1:2] != b"@":
            self._allow(op[1:])
        elif op[:1] == b"-" and op[1:2] != b"@":
            cmd = universe().lookup(op[1:])
            if cmd is None:
                raise RuleError(E_UNKNOWN)
            self.change(cmd, False)
        elif op[:1] in (b"+", b"-") and op[1:2] == b"@":
            j = category_index(op[2:])
            if j < 0:
                raise RuleError(E_UNKNOWN)
            self.set_category(j, op[:1] == b"+")
        else:
            raise RuleError(E_SYNTAX)

    def _add_pattern(self, op: bytes) -> None:
        if self.allkeys:
            raise RuleError(E_KEYS_AFTER_ALL)
        flags = 0
        offset = 1
        if op[:1] == b"%":
            n = len(op)
            while offset < n:
                ch = op[offset : offset + 1].upper()
                if ch == b"R" and not flags & READ:
                    flags |= READ
                elif ch == b"W" and not flags & WRITE:
                    flags |= WRITE
                elif ch == b"~":
                    offset += 1
                    break
                else:
                    raise RuleError(E_SYNTAX)
                offset += 1
            if not flags:
                raise RuleError(E_SYNTAX)
        else:
            flags = ALL_PERMS
        pat = op[offset:]
        if _has_spaces(pat):
            raise RuleError(E_SYNTAX)
        for p in self.patterns:
            if p[0] == pat:
                p[1] |= flags
                break
        else:
            self.patterns.append([pat, flags, glob.compile_glob(pat)])
        self.allkeys = False

    def _allow(self, name: bytes) -> None:
        u = universe()
        if b"|" not in name:
            cmd = u.lookup(name)
            if cmd is None:
                raise RuleError(E_UNKNOWN)
            self.change(cmd, True)
            return
        base_name, _, sub = name.rpartition(b"|")
        base = u.lookup(base_name)
        if base is None:
            raise RuleError(E_UNKNOWN)
        if base.parent is not None:
            raise RuleError(E_SUB_FIRSTARG)
        if not sub:
            raise RuleError(E_SYNTAX)
        if base.subcommands:
            cmd = u.lookup(name)
            if cmd is None:
                raise RuleError(E_UNKNOWN)
            self.change(cmd, True)
        else:
            # A first argument of an otherwise blocked command (SELECT|0): deprecated in Redis.
            lst = self.firstargs.setdefault(base, [])
            if not any(a.lower() == sub.lower() for a in lst):
                lst.append(sub)

    # -- describing ------------------------------------------------------------

    def describe_commands(self) -> bytes:
        """ACLDescribeSelectorCommandRules: +@all/-@all, best-fit categories, then commands."""
        u = universe()
        additive = not self.future
        rules = [b"-@all" if additive else b"+@all"]
        fake = 0 if additive else u.all_mask
        temp = self.allowed
        applied: set[int] = set()
        while True:
            best = -1
            mindiff = 2**31 - 1
            maxsame = 0
            for j in range(len(ACL_CATEGORIES)):
                if j in applied:
                    continue
                on = bin(temp & u.cat_members[j]).count("1")
                off = u.cat_count[j] - on
                diff, same = (off, on) if additive else (on, off)
                if same > diff and (diff < mindiff or (diff == mindiff and same > maxsame)):
                    best, mindiff, maxsame = j, diff, same
            if best == -1:
                break
            effect = u.cat_effect[best]
            if additive:
                fake |= effect
                temp &= ~effect
            else:
                fake &= ~effect
                temp |= effect
            rules.append((b"+@" if additive else b"-@") + ACL_CATEGORIES[best].encode())
            applied.add(best)
        allowed = self.allowed
        for cmd in u.ordered():
            bit = 1 << u.ids[cmd]
            userbit = bool(allowed & bit)
            if userbit != bool(fake & bit):
                rules.append((b"+" if userbit else b"-") + cmd.fullname.encode())
                if userbit:
                    fake |= u.family[cmd]
                else:
                    fake &= ~u.family[cmd]
            if not userbit and cmd in self.firstargs:
                for a in self.firstargs[cmd]:
                    rules.append(b"+" + cmd.fullname.encode() + b"|" + a)
        return b" ".join(rules)

    def pattern_strings(self) -> list[bytes]:
        out = []
        for pat, flags, _ in self.patterns:
            prefix = b"~" if flags == ALL_PERMS else (b"%R~" if flags == READ else b"%W~")
            out.append(prefix + pat)
        return out

    def describe(self) -> bytes:
        parts = [b"~*"] if self.allkeys else self.pattern_strings()
        if self.allchannels:
            parts.append(b"&*")
        else:
            parts.append(b"resetchannels")
            parts.extend(b"&" + ch for ch in self.channels)
        parts.append(self.describe_commands())
        return b" ".join(parts)

    # -- checking --------------------------------------------------------------

    def check_key(self, key: bytes, ks_flags: int) -> bool:
        if self.allkeys:
            return True
        need = 0
        if ks_flags & keyspecs.ACCESS:
            need |= READ
        if ks_flags & (keyspecs.INSERT | keyspecs.DELETE | keyspecs.UPDATE):
            need |= WRITE
        for _, flags, matcher in self.patterns:
            if flags & need == need and matcher(key):
                return True
        return False

    def check_channel(self, channel: bytes, is_pattern: bool) -> bool:
        if self.allchannels:
            return True
        return _channel_in(self.channels, channel, is_pattern)

    def check_cmd(self, cmd: Command, argv: list[bytes], cache: list[Any]) -> tuple[int, int]:
        """(result, position of the refused key or channel) for one selector."""
        plan = PLANS.get(cmd)
        if plan is None:
            plan = _plan(cmd)
        bit, keys_plan, chan_spec = plan
        if not self.allcommands and not cmd.flags & NO_AUTH and not self.allowed & bit:
            allowed_args = self.firstargs.get(cmd)
            if len(argv) < 2 or not allowed_args:
                return DENIED_CMD, 0
            arg = argv[2 if cmd.parent is not None else 1].lower()
            if not any(a.lower() == arg for a in allowed_args):
                return DENIED_CMD, 0
        if keys_plan is not None and not self.allkeys:
            keys = cache[0]
            if keys is None:
                keys = cache[0] = _keys(cmd, keys_plan, argv)
            for pos, flags in keys:
                if not self.check_key(argv[pos], flags):
                    return DENIED_KEY, pos
        if chan_spec is not None and not self.allchannels:
            flags, start, count = chan_spec
            stop = len(argv) if count == -1 else min(len(argv), start + count)
            for pos in range(start, stop):
                if not _channel_in(self.channels, argv[pos], bool(flags & CH_PATTERN)):
                    return DENIED_CHANNEL, pos
        return OK, 0


# Per command: (its bit, how to find its keys or None when it has none, its checked channel
# arguments or None). Built on first use.
PLANS: dict[Command, tuple[int, Any, Any]] = {}
_KEYS_BY_SPECS = object()  # a marker: use keyspecs.get_keys


def _plan(cmd: Command) -> tuple[int, Any, Any]:
    bit = 1 << universe().ids[cmd]
    keys_plan: Any = None
    if keyspecs.has_keys(cmd):
        keys_plan = _KEYS_BY_SPECS
        specs = keyspecs.specs_of(cmd)
        if len(specs) == 1 and cmd.fullname not in keyspecs.PROCS:
            flags, bkind, bargs, fkind, fargs = specs[0]
            simple = bkind == keyspecs.BS_INDEX and fkind == keyspecs.FK_RANGE and not fargs[2]
            if simple and not flags & (keyspecs.NOT_KEY | keyspecs.INCOMPLETE | keyspecs.VARIABLE_FLAGS):
                keys_plan = (bargs[0], fargs[0], fargs[1], flags)  # first, lastkey, step, flags
    chan = CHANNEL_ARGS.get(cmd.fullname)
    if chan is not None and not chan[0] & (CH_PUBLISH | CH_SUBSCRIBE):
        chan = None
    plan = PLANS[cmd] = (bit, keys_plan, chan)
    return plan


def _keys(cmd: Command, keys_plan: Any, argv: list[bytes]) -> list[tuple[int, int]]:
    if keys_plan is _KEYS_BY_SPECS:
        return keyspecs.get_keys(cmd, argv)
    # One plain range spec (GET, SET, MSET, ...): what getKeysUsingKeySpecs computes for it.
    first, lastkey, step, flags = keys_plan
    argc = len(argv)
    last = first + lastkey if lastkey >= 0 else argc + lastkey
    if last >= argc or last < first or first >= argc:
        return []
    return [(i, flags) for i in range(first, last + 1, step)]


def _channel_in(patterns: list[bytes], channel: bytes, is_pattern: bool) -> bool:
    """A channel matches ACL channel patterns; a PSUBSCRIBE pattern only matches literally."""
    for pat in patterns:
        if (pat == channel) if is_pattern else glob.match(pat, channel):
            return True
    return False


# ---------------------------------------------------------------------------
# Users


class User:
    __slots__ = ("name", "flags", "passwords", "selectors")

    def __init__(self, name: str, pubsub_all: bool = False) -> None:
        self.name = name
        self.flags = DISABLED
        self.passwords: list[bytes] = []
        self.selectors = [Selector(root=True, allchannels=pubsub_all)]

    def copy(self, name: str | None = None) -> User:
        u = User(self.name if name is None else name)
        u.flags = self.flags
        u.passwords = list(self.passwords)
        u.selectors = [s.copy() for s in self.selectors]
        return u

    def take_rules(self, other: User) -> None:
        self.flags = other.flags
        self.passwords = list(other.passwords)
        self.selectors = [s.copy() for s in other.selectors]

    @property
    def bname(self) -> bytes:
        return self.name.encode("utf-8", "surrogateescape")

    @property
    def enabled(self) -> bool:
        return not self.flags & DISABLED

    @property
    def unrestricted(self) -> bool:
        return any(s.unrestricted for s in self.selectors)

    def apply(self, op: bytes, pubsub_all: bool = False) -> None:
        """One rule (ACLSetUser); raises RuleError."""
        if not op:
            return
        low = op.lower()
        if low == b"on":
            self.flags = (self.flags | ENABLED) & ~DISABLED
        elif low == b"off":
            self.flags = (self.flags | DISABLED) & ~ENABLED
        elif low == b"skip-sanitize-payload":
            self.flags = (self.flags | SKIP_SANITIZE) & ~SANITIZE
        elif low == b"sanitize-payload":
            self.flags = (self.flags | SANITIZE) & ~SKIP_SANITIZE
        elif low == b"nopass":
            self.flags |= NOPASS
            self.passwords = []
        elif low == b"resetpass":
            self.flags &= ~NOPASS
            self.passwords = []
        elif op[:1] in (b">", b"#"):
            h = _password_hash(op)
            if h not in self.passwords:
                self.passwords.append(h)
            self.flags &= ~NOPASS
        elif op[:1] in (b"<", b"!"):
            h = _password_hash(op)
            if h not in self.passwords:
                raise RuleError(E_NO_PASSWORD)
            self.passwords.remove(h)
        elif op[:1] == b"(" and op[-1:] == b")":
            s = Selector(allchannels=pubsub_all)
            for part in split_args(op[1:-1]):
                s.apply(part)
            self.selectors.append(s)
        elif low == b"clearselectors":
            del self.selectors[1:]
        elif low == b"reset":
            self.apply(b"resetpass")
            self.apply(b"resetkeys")
            self.apply(b"resetchannels")
            if pubsub_all:
                self.apply(b"allchannels")
            self.apply(b"off")
            self.apply(b"sanitize-payload")
            self.apply(b"clearselectors")
            self.apply(b"-@all")
        else:
            self.selectors[0].apply(op)

    def check_password(self, password: bytes) -> bool:
        if self.flags & DISABLED:
            return False
        if self.flags & NOPASS:
            return True
        return hash_password(password) in self.passwords

    def check(self, cmd: Command, argv: list[bytes]) -> tuple[int, int]:
        """ACLCheckAllUserCommandPerm: (result, argv position to blame)."""
        cache: list[Any] = [None]
        relevant, last_idx = DENIED_CMD, 0
        for s in self.selectors:
            res, idx = s.check_cmd(cmd, argv, cache)
            if res == OK:
                return OK, 0
            if res > relevant or (res == relevant and idx > last_idx):
                relevant, last_idx = res, idx
        return relevant, last_idx

    def check_channel(self, channel: bytes, is_pattern: bool) -> bool:
        return any(s.check_channel(channel, is_pattern) for s in self.selectors)

    def describe(self) -> bytes:
        parts = [name.encode() for bit, name in USER_FLAGS if self.flags & bit]
        parts.extend(b"#" + h for h in self.passwords)
        out = b" ".join(parts)
        for s in self.selectors:
            d = s.describe()
            if s.root:
                out = out + b" " + d if out else d
            else:
                out += b" (" + d + b")"
        return out


def split_args(text: bytes) -> list[bytes]:
    """sdssplitargs for a selector's body (quotes allowed)."""
    from respdb.resp import split_inline

    parts = split_inline(text)
    if parts is None:
        raise RuleError(E_SYNTAX)
    return parts


def merge_selector_args(args: list[bytes]) -> tuple[list[bytes] | None, int]:
    """Join selector rules spread over several arguments ("(+get", "~k)"); on an unclosed
    parenthesis returns (None, index of the argument that opened it)."""
    out: list[bytes] = []
    current: bytes | None = None
    start = -1
    for j, op in enumerate(args):
        if op[:1] == b"(" and op[-1:] != b")":
            current = op
            start = j
            continue
        if start != -1:
            current = current + b" " + op  # type: ignore[operator]
            if op[-1:] == b")":
                start = -1
                out.append(current)
            continue
        out.append(op)
    if start != -1:
        return None, start
    return out, -1


# ---------------------------------------------------------------------------
# The log


class LogEntry:
    __slots__ = ("count", "reason", "context", "object", "username", "ctime", "cinfo")

    def __init__(self, reason: str, context: str, obj: bytes, username: bytes, cinfo: bytes) -> None:
        self.count = 1
        self.reason = reason
        self.context = context
        self.object = obj
        self.username = username
        self.ctime = int(time.time() * 1000)
        self.cinfo = cinfo

    def same(self, other: LogEntry) -> bool:
        return (
            self.reason == other.reason
            and self.context == other.context
            and abs(self.ctime - other.ctime) <= LOG_GROUPING_MS
            and self.object == other.object
            and self.username == other.username
        )


REASON_NAMES = {DENIED_CMD: "command", DENIED_KEY: "key", DENIED_CHANNEL: "channel", DENIED_AUTH: "auth"}


# ---------------------------------------------------------------------------
# The engine's ACL state


class ACL:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.users: dict[str, User] = {}
        self.default = self._make_default()
        self.users["default"] = self.default
        # Names of users that some command could be refused to: their clients are gated.
        self.restricted: set[str] = set()
        self.log: list[LogEntry] = []
        cfg = engine.config
        self.update_default_password(cfg["requirepass"])
        cfg.listeners.append(self._config_changed)

    @staticmethod
    def _make_default() -> User:
        u = User("default")
        for op in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
            u.apply(op)
        return u

    def pubsub_all(self) -> bool:
        return self.engine.config["acl-pubsub-default"] == "allchannels"

    def _config_changed(self, name: str, value: str) -> None:
        if name == "requirepass":
            self.update_default_password(value)

    def update_default_password(self, password: str) -> None:
        """requirepass is the default user's only password (ACLUpdateDefaultUserPassword)."""
        self.default.apply(b"resetpass")
        if password:
            self.default.apply(b">" + password.encode("utf-8", "surrogateescape"))
        else:
            self.default.apply(b"nopass")

    # -- startup ---------------------------------------------------------------

    def load_at_startup(self) -> str | None:
        """Users from `user` directives, then the ACL file; an error message or None."""
        cfg = self.engine.config
        declared: list[list[bytes]] = getattr(cfg, "users", [])
        aclfile = cfg["aclfile"]
        if aclfile and declared:
            return (
                "Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is "
                "invalid. This setup is very likely to lead to configuration errors and security holes, please "
                "define either an ACL file or declare users directly in your redis.conf, but not both."
            )
        for rules in declared:
            name = rules[0]
            if _has_spaces(name):
                return "Spaces not allowed in ACL usernames"
            key = name.decode("utf-8", "surrogateescape")
            u = self.users.get(key)
            if u is None:
                u = self.users[key] = User(key, self.pubsub_all())
            else:
                u.apply(b"reset", self.pubsub_all())
            for op in rules[1:]:
                try:
                    u.apply(op, self.pubsub_all())
                except RuleError as err:
                    return "Error loading ACL rule '%s' for the user named '%s': %s" % (
                        op.decode("utf-8", "surrogateescape"),
                        key,
                        err,
                    )
            if u.flags & DISABLED:
                self.engine.log(
                    "notice",
                    "The user '%s' is disabled (there is no 'on' modifier in the user description). Make sure "
                    "this is not a configuration error." % key,
                )
        self.refresh()
        if aclfile:
            err = self.load_file(aclfile)
            if err is not None:
                return "Aborting Redis startup because of ACL errors: " + err
        return None

    # -- users -----------------------------------------------------------------

    def get(self, name: bytes | str) -> User | None:
        if isinstance(name, bytes):
            name = name.decode("utf-8", "surrogateescape")
        return self.users.get(name)

    def refresh(self, changed: str | None = None) -> None:
        """Recompute which users are restricted and re-gate the clients concerned."""
        self.restricted = {n for n, u in self.users.items() if not u.unrestricted}
        for c in list(self.engine.clients.values()):
            if changed is None or c.user == changed:
                c.update_gate()

    def is_restricted(self, name: str) -> bool:
        return name in self.restricted

    def authenticate(self, c: Client, username: bytes, password: bytes, cmd_name: bytes) -> bool:
        u = self.get(username)
        if u is not None and u.check_password(password):
            c.authenticated = True
            c.user = u.name
            c.update_gate()
            return True
        self.add_log(c, DENIED_AUTH, self.context_of(c), cmd_name, username, TABLE.lookup(cmd_name.lower()))
        return False

    def set_default_auth(self, c: Client) -> None:
        """A connection's initial state (clientSetDefaultAuth): the default user, authenticated
        when it needs no password."""
        c.user = "default"
        d = self.default
        c.authenticated = bool(d.flags & NOPASS) and not d.flags & DISABLED

    def auth_required(self) -> bool:
        d = self.default
        return not (d.flags & NOPASS) or bool(d.flags & DISABLED)

    def delete_user(self, name: str, current: Client | None) -> bool:
        u = self.users.pop(name, None)
        if u is None:
            return False
        self._kill_clients_of({name}, current)
        self.restricted.discard(name)
        return True

    def _kill_clients_of(self, names: set[str], current: Client | None) -> None:
        for c in list(self.engine.clients.values()):
            if c.user in names and c.kind != "script":
                c.user = "default"
                c.authenticated = False
                if c is current:
                    c.close_after_reply = True
                else:
                    c.kill()

    def replace_user(self, name: str, new: User, current: Client | None) -> None:
        """ACL SETUSER's commit: pub/sub clients that lost channels are disconnected first."""
        old = self.users.get(name)
        if old is not None:
            self._kill_pubsub_if_needed(new, old, current)
            old.take_rules(new)
        else:
            self.users[name] = new.copy(name)
        self.refresh(name)

    def _kill_pubsub_if_needed(self, new: User, old: User, current: Client | None) -> None:
        if any(s.allchannels for s in new.selectors):
            return
        upcoming = [ch for s in new.selectors for ch in s.channels]
        had_all = any(s.allchannels for s in old.selectors)
        if not had_all and all(ch in upcoming for s in old.selectors for ch in s.channels):
            return  # nothing was lost
        for c in list(self.engine.clients.values()):
            if c.user != old.name or not (c.subs or c.psubs or c.ssubs):
                continue
            kill = any(not _channel_in(upcoming, p, True) for p in c.psubs)
            kill = kill or any(not _channel_in(upcoming, ch, False) for ch in (*c.subs, *c.ssubs))
            if kill:
                if c is current:
                    c.close_after_reply = True
                else:
                    c.kill()

    # -- checks ----------------------------------------------------------------

    @staticmethod
    def context_of(c: Client) -> str:
        return "multi" if c.multi is not None or c.in_multi else "toplevel"

    def _denied(self, c: Client, cmd: Command, argv: list[bytes], context: str) -> int:
        """The user's verdict on a call (OK or a DENIED_* code); a denial goes to the ACL log."""
        u = self.users.get(c.user)
        if u is None:
            return OK
        res, pos = u.check(cmd, argv)
        if res != OK:
            obj = cmd.fullname.encode() if res == DENIED_CMD else argv[pos]
            self.add_log(c, res, context, obj, None, cmd)
        return res

    def check(self, c: Client, cmd: Command, argv: list[bytes]) -> str | None:
        """The pre-call check (processCommand): None, or the NOPERM error; denials are logged."""
        res = self._denied(c, cmd, argv, self.context_of(c))
        if res == OK:
            return None
        if res == DENIED_CMD:
            return NOPERM_CMD % cmd.fullname
        if res == DENIED_KEY:
            return NOPERM_KEY
        return NOPERM_CHANNEL

    def check_queued(self, c: Client, cmd: Command, argv: list[bytes]) -> bytes | None:
        """EXEC re-checks each queued command (the rules may have changed since)."""
        res = self._denied(c, cmd, argv, "multi")
        if res == OK:
            return None
        return self.engine._error(
            "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. "
            "This command is no longer allowed for the following reason: " + EXEC_REASONS[res]
        )

    def check_script(self, caller: Client, user: str, cmd: Command, argv: list[bytes], caller_cmd: Any) -> str | None:
        """A script's redis.call: None, or the error text (without ERR)."""
        u = self.users.get(user)
        if u is None:
            return None
        res, pos = u.check(cmd, argv)
        if res == OK:
            return None
        obj = cmd.fullname.encode() if res == DENIED_CMD else argv[pos]
        self.add_log(caller, res, "lua", obj, None, caller_cmd, user)
        return "The user executing the script " + REASONS[res]

    # -- log -------------------------------------------------------------------

    def add_log(
        self,
        c: Client,
        reason: int,
        context: str,
        obj: bytes,
        username: bytes | None,
        cmd: Command | None,
        user: str | None = None,
    ) -> None:
        from respdb.commands.connection import client_info_line

        saved = c.last_cmd
        if cmd is not None:
            c.last_cmd = cmd  # the client info shows the command being refused, as Redis's does
        try:
            cinfo = client_info_line(c)
        finally:
            c.last_cmd = saved
        if username is None:
            username = (user if user is not None else c.user).encode("utf-8", "surrogateescape")
        entry = LogEntry(REASON_NAMES[reason], context, obj, username, cinfo)
        for i, old in enumerate(self.log[:10]):
            if old.same(entry):
                del self.log[i]
                old.cinfo = entry.cinfo
                old.ctime = entry.ctime
                old.count += 1
                self.log.insert(0, old)
                return
        self.log.insert(0, entry)
        limit = self.engine.config.get_int("acllog-max-len")
        del self.log[limit:]

    # -- ACL file --------------------------------------------------------------

    def load_file(self, path: str) -> str | None:
        """ACL LOAD: all or nothing; the error text or None."""
        try:
            with open(path, "rb") as f:
                text = f.read()
        except OSError as e:
            return "Error loading ACLs, opening file '%s': %s" % (path, e.strerror)
        fname = self.engine.config["aclfile"]
        errors = ""
        users: dict[str, User] = {}
        pubsub_all = self.pubsub_all()
        for i, line in enumerate(text.split(b"\n")):
            linenum = i + 1
            line = line.strip(b" \t\r\n")
            if not line:
                continue
            argv = [a for a in line.split(b" ") if a]  # sdssplitlen drops nothing, but empty ops are no-ops
            if not argv:
                continue
            if argv[0] != b"user" or len(argv) < 2:
                errors += "%s:%d should start with user keyword followed by the username. " % (fname, linenum)
                continue
            name = argv[1].decode("utf-8", "surrogateescape")
            if _has_spaces(argv[1]):
                errors += "'%s:%d: username '%s' contains invalid characters. " % (fname, linenum, name)
                continue
            if name in users:
                errors += "WARNING: Duplicate user '%s' found on line %d. " % (name, linenum)
                continue
            u = users[name] = User(name, pubsub_all)
            merged, _ = merge_selector_args(argv[2:])
            if merged is None:
                errors += "%s:%d: Unmatched parenthesis in selector definition." % (fname, linenum)
                merged = []
            syntax_error = False
            for op in merged:
                op = op.strip(b"\t\r\n")
                try:
                    u.apply(op, pubsub_all)
                except RuleError as err:
                    if str(err) == E_UNKNOWN:
                        errors += "%s:%d: Error in applying operation '%s': %s. " % (
                            fname,
                            linenum,
                            op.decode("utf-8", "surrogateescape"),
                            err,
                        )
                    elif not syntax_error:
                        errors += "%s:%d: %s. " % (fname, linenum, err)
                        syntax_error = True
        if errors:
            return errors + "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        new_default = users.pop("default", None) or self._make_default()
        self.default.take_rules(new_default)
        gone = {n for n in self.users if n != "default"}
        self.users = {"default": self.default}
        self.users.update(users)
        self._kill_clients_of(gone, self.engine.current)
        self.refresh()
        return None

    def save_file(self, path: str) -> bool:
        data = b"".join(b"user " + u.bname + b" " + u.describe() + b"\n" for u in self.sorted_users())
        tmp = "%s.tmp-%d-%d" % (path, os.getpid(), int(time.time() * 1000))
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError as e:
            self.engine.log("warning", "Writing ACL file for ACL SAVE: %s" % e.strerror)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return False
        return True

    def sorted_users(self) -> list[User]:
        """In Redis's order (its users live in a radix tree: sorted by name bytes)."""
        return sorted(self.users.values(), key=lambda u: u.bname)


def validate_user_directive(args: list[bytes], declared: list[bytes]) -> str | None:
    """A `user <name> <rules...>` line of the config, checked as Redis does when it reads it
    (unknown commands pass: they are reported when the users are loaded). Like Redis, the
    message names the word of the whole line ("user", name, rules...) at the index of the
    failing rule."""
    line = [b"user", *args]
    if args[0] in declared:
        return "Error in user declaration '%s': %s" % (_s(line[1]), E_DUPLICATE)
    merged, bad = merge_selector_args(args[1:])
    if merged is None:
        return "Error in user declaration '%s': %s" % (_s(line[bad]), E_UNKNOWN)
    fake = User("__fakeuser:0__")
    for j, op in enumerate(merged):
        try:
            fake.apply(op)
        except RuleError as err:
            if str(err) != E_UNKNOWN:
                return "Error in user declaration '%s': %s" % (_s(line[j]), err)
    return None


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")
