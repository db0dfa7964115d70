"""Key extraction driven by the key specs of the command table.

Redis 7 describes where a command's keys are with "key specs": a begin-search step
(a fixed index, or the position after a keyword) and a find-keys step (a range, or a
count read from the arguments). `get_keys()` applies them with Redis's rules, and for
the few commands whose specs are incomplete or whose flags depend on the arguments it
falls back to a per-command extractor that gives the same answer Redis's getkeys procs
give. COMMAND GETKEYS uses it; cluster routing and ACL key checks can reuse it.

Positions are indexes into the full argv (argv[0] is the command name; for a
subcommand argv[1] is the subcommand name).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from respdb.resp import _parse_ll

if TYPE_CHECKING:
    from respdb.commands.table import Command

# Key-spec flag bits, in the order COMMAND INFO lists them; the second column is the
# name used in replies.
KEY_FLAGS = [
    ("RO", "RO"), ("RW", "RW"), ("OW", "OW"), ("RM", "RM"), ("ACCESS", "access"),
    ("UPDATE", "update"), ("INSERT", "insert"), ("DELETE", "delete"), ("NOT_KEY", "not_key"),
    ("INCOMPLETE", "incomplete"), ("VARIABLE_FLAGS", "variable_flags"),
]  # fmt: skip
KF = {name: 1 << i for i, (name, _) in enumerate(KEY_FLAGS)}
RO, RW, OW, RM = KF["RO"], KF["RW"], KF["OW"], KF["RM"]
ACCESS, UPDATE, INSERT, DELETE = KF["ACCESS"], KF["UPDATE"], KF["INSERT"], KF["DELETE"]
NOT_KEY, INCOMPLETE, VARIABLE_FLAGS = KF["NOT_KEY"], KF["INCOMPLETE"], KF["VARIABLE_FLAGS"]

# Search options (Redis's GET_KEYSPEC_*).
INCLUDE_NOT_KEYS = 1
RETURN_PARTIAL = 2

# Compiled spec: (flags, begin kind, begin args, find kind, find args).
BS_INDEX, BS_KEYWORD, BS_UNKNOWN = 0, 1, 2
FK_RANGE, FK_KEYNUM, FK_UNKNOWN = 0, 1, 2
Spec = tuple[int, int, tuple, int, tuple]
KeyRef = tuple[int, int]  # (position in argv, key-spec flags)

_compiled: dict[str, list[Spec]] = {}


def key_flag_names(flags: int) -> list[str]:
    return [reply for i, (_, reply) in enumerate(KEY_FLAGS) if flags & (1 << i)]


def compile_spec(ks: dict[str, Any]) -> Spec:
    flags = 0
    for f in ks.get("flags", ()):
        flags |= KF[f]
    bs = ks["begin_search"]
    if "index" in bs:
        begin: tuple[int, tuple] = (BS_INDEX, (bs["index"]["pos"],))
    elif "keyword" in bs:
        begin = (BS_KEYWORD, (bs["keyword"]["keyword"].encode(), bs["keyword"]["startfrom"]))
    else:
        begin = (BS_UNKNOWN, ())
    fk = ks["find_keys"]
    if "range" in fk:
        r = fk["range"]
        find: tuple[int, tuple] = (FK_RANGE, (r["lastkey"], r["step"], r["limit"]))
    elif "keynum" in fk:
        k = fk["keynum"]
        find = (FK_KEYNUM, (k["keynumidx"], k["firstkey"], k["step"]))
    else:
        find = (FK_UNKNOWN, ())
    return (flags, begin[0], begin[1], find[0], find[1])


def specs_of(cmd: Command) -> list[Spec]:
    specs = _compiled.get(cmd.fullname)
    if specs is None:
        specs = _compiled[cmd.fullname] = [compile_spec(ks) for ks in cmd.spec.get("key_specs", ())]
    return specs


def _all_flags(specs: list[Spec], inverted: bool) -> int:
    out = 0
    for s in specs:
        out |= ~s[0] if inverted else s[0]
    return out


def has_keys(cmd: Command) -> bool:
    """True when the command may take keys (a getkeys proc, or a spec that is not NOT_KEY)."""
    return cmd.fullname in PROCS or bool(_all_flags(specs_of(cmd), True) & NOT_KEY)


def keys_from_specs(cmd: Command, argv: list[bytes], options: int = 0) -> list[KeyRef] | None:
    """Keys found by the key specs alone; None when a spec cannot be applied to argv."""
    argc = len(argv)
    out: list[KeyRef] = []
    for flags, bkind, bargs, fkind, fargs in specs_of(cmd):
        if flags & NOT_KEY and not options & INCLUDE_NOT_KEYS:
            continue
        first = 0
        invalid = False
        if bkind == BS_INDEX:
            first = bargs[0]
        elif bkind == BS_KEYWORD:
            keyword, startfrom = bargs
            start = startfrom if startfrom > 0 else argc + startfrom
            end = argc - 1 if startfrom > 0 else 1
            i = start
            while i != end:
                if i >= argc or i < 1:
                    break
                if argv[i].lower() == keyword.lower():
                    first = i + 1
                    break
                i = i + 1 if start <= end else i - 1
            if not first:
                continue  # keyword absent: this spec has no keys here
        else:
            invalid = True
        if not invalid:
            if fkind == FK_RANGE:
                lastkey, step, limit = fargs
                if lastkey >= 0:
                    last = first + lastkey
                elif not limit:
                    last = argc + lastkey
                else:
                    last = first + (_cdiv(argc - first, limit) + lastkey)
            elif fkind == FK_KEYNUM:
                keynumidx, firstkey, step = fargs
                idx = first + keynumidx
                numkeys = _parse_ll(argv[idx]) if idx < argc else None
                if numkeys is None or numkeys < 0:
                    invalid = True
                else:
                    first += firstkey
                    last = first + numkeys - 1
            else:
                invalid = True
        if not invalid and (last >= argc or last < first or first >= argc):
            invalid = True
        if not invalid:
            for i in range(first, last + 1, step):
                out.append((i, flags))
            if flags & INCOMPLETE:
                invalid = True
        if invalid:
            if options & RETURN_PARTIAL:
                continue
            return None
    return out


def get_keys(cmd: Command, argv: list[bytes], options: int = 0) -> list[KeyRef]:
    """The keys of a command call with their flags, as Redis's getKeysFromCommandWithSpecs."""
    specs = specs_of(cmd)
    usable = _all_flags(specs, True) & NOT_KEY and not _all_flags(specs, False) & VARIABLE_FLAGS
    if usable:
        keys = keys_from_specs(cmd, argv, options)
        if keys is not None:
            return keys
    proc = PROCS.get(cmd.fullname)
    if proc is not None:
        return proc(argv)
    return []


def key_names(cmd: Command, argv: list[bytes]) -> list[bytes]:
    return [argv[pos] for pos, _ in get_keys(cmd, argv)]


def _cdiv(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _atoi(b: bytes) -> int:
    """C's atoi: optional blanks and sign, then as many digits as there are."""
    s = b.lstrip(b" \t\n\v\f\r")
    sign = 1
    if s[:1] in (b"+", b"-"):
        sign = -1 if s[:1] == b"-" else 1
        s = s[1:]
    n = 0
    for ch in s:
        if not 48 <= ch <= 57:
            break
        n = n * 10 + ch - 48
    n *= sign
    return (n + 2**31) % 2**32 - 2**31  # int wraps like C's


# ---------------------------------------------------------------------------
# Per-command extractors, for specs Redis marks incomplete or with variable flags.
# Same results as Redis's getkeys procs (flags 0 where Redis gives none).


def _numkeys(store: int, count_at: int, first: int, step: int = 1) -> Callable[[list[bytes]], list[KeyRef]]:
    """COMMAND [dest] numkeys key [key ...] ...: the ZUNIONSTORE / EVAL / LMPOP shape."""

    def proc(argv: list[bytes]) -> list[KeyRef]:
        argc = len(argv)
        if count_at >= argc:
            return []
        num = _atoi(argv[count_at])
        if num < 1 or num > _cdiv(argc - first, step):
            return []
        keys = [(first + i * step, 0) for i in range(num)]
        if store:
            keys.append((store, 0))
        return keys

    return proc


def _sort_ro(argv: list[bytes]) -> list[KeyRef]:
    return [(1, RO | ACCESS)]


_SORT_SKIP = {b"limit": 2, b"get": 1, b"by": 1}


def _sort(argv: list[bytes]) -> list[KeyRef]:
    keys = [(1, RO | ACCESS)]
    store = None
    i = 2
    argc = len(argv)
    while i < argc:
        arg = argv[i].lower()
        skip = _SORT_SKIP.get(arg)
        if skip is not None:
            i += skip
        elif arg == b"store" and i + 1 < argc:
            store = (i + 1, OW | UPDATE)  # the last STORE wins, as SORT itself does
        i += 1
    if store is not None:
        keys.append(store)
    return keys


_MIGRATE_SKIP = {b"copy": 0, b"replace": 0, b"auth": 1, b"auth2": 2}


def _migrate(argv: list[bytes]) -> list[KeyRef]:
    argc = len(argv)
    first, num = 3, 1
    if argc > 6:
        i = 6
        while i < argc:
            arg = argv[i].lower()
            if arg == b"keys":
                if argv[3]:
                    num = 0  # a key and KEYS together is a syntax error MIGRATE reports
                else:
                    first = i + 1
                    num = argc - first
                break
            i += _MIGRATE_SKIP.get(arg, 0) + 1
    return [(first + i, RW | ACCESS | DELETE) for i in range(num)]


def _georadius(argv: list[bytes]) -> list[KeyRef]:
    stored = -1
    i = 5
    argc = len(argv)
    while i < argc:
        if argv[i].lower() in (b"store", b"storedist") and i + 1 < argc:
            stored = i + 1
            i += 1
        i += 1
    return [(1, 0)] if stored == -1 else [(1, 0), (stored, 0)]


def _xread(argv: list[bytes]) -> list[KeyRef]:
    argc = len(argv)
    streams = -1
    i = 1
    while i < argc:
        arg = argv[i].lower()
        if arg in (b"block", b"count"):
            i += 1
        elif arg == b"group":
            i += 2
        elif arg == b"noack":
            pass
        elif arg == b"streams":
            streams = i
            break
        else:
            break
        i += 1
    if streams == -1:
        return []
    num = argc - streams - 1
    if num == 0 or num % 2:
        return []
    num //= 2
    return [(i, 0) for i in range(streams + 1, argc - num)]


def _set(argv: list[bytes]) -> list[KeyRef]:
    for a in argv[3:]:
        if a.lower() == b"get":
            return [(1, RW | ACCESS | UPDATE)]
    return [(1, OW | UPDATE)]


def _bitfield(argv: list[bytes]) -> list[KeyRef]:
    readonly = True
    argc = len(argv)
    i = 2
    while i < argc:
        remaining = argc - i - 1
        arg = argv[i].lower()
        if arg == b"get" and remaining >= 2:
            i += 2
        elif arg in (b"set", b"incrby") and remaining >= 3:
            readonly = False
            break
        elif arg == b"overflow" and remaining >= 1:
            i += 1
        else:
            readonly = False  # a syntax error: assume the worst
            break
        i += 1
    return [(1, RO | ACCESS if readonly else RW | ACCESS | UPDATE)]


PROCS: dict[str, Callable[[list[bytes]], list[KeyRef]]] = {
    "bitfield": _bitfield,
    "set": _set,
    "sort": _sort,
    "sort_ro": _sort_ro,
    "migrate": _migrate,
    "georadius": _georadius,
    "georadiusbymember": _georadius,
    "xread": _xread,
    "xreadgroup": _xread,
    "eval": _numkeys(0, 2, 3),
    "eval_ro": _numkeys(0, 2, 3),
    "evalsha": _numkeys(0, 2, 3),
    "evalsha_ro": _numkeys(0, 2, 3),
    "fcall": _numkeys(0, 2, 3),
    "fcall_ro": _numkeys(0, 2, 3),
    "blmpop": _numkeys(0, 2, 3),
    "bzmpop": _numkeys(0, 2, 3),
    "lmpop": _numkeys(0, 1, 2),
    "zmpop": _numkeys(0, 1, 2),
    "sintercard": _numkeys(0, 1, 2),
    "zdiff": _numkeys(0, 1, 2),
    "zinter": _numkeys(0, 1, 2),
    "zintercard": _numkeys(0, 1, 2),
    "zunion": _numkeys(0, 1, 2),
    "zdiffstore": _numkeys(1, 2, 3),
    "zinterstore": _numkeys(1, 2, 3),
    "zunionstore": _numkeys(1, 2, 3),
}
