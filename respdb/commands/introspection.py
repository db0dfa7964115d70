"""COMMAND and its subcommands: what the server says about its own command table.

Only commands with a handler are visible (see table.py), and for containers only the
subcommands with a handler. Entries follow Redis 7.0's layout exactly; summaries are
our own words and command history is left out.
"""

from __future__ import annotations

from respdb import errors, glob
from respdb.commands import keyspecs
from respdb.commands.keys import help_reply
from respdb.commands.summaries import SUMMARIES
from respdb.commands.table import TABLE, Command, F, command
from respdb.errors import CommandError
from respdb.resp import EMPTY_ARRAY, array, bulk, integer, map_, null, set_, simple

# Command flags COMMAND INFO shows, in its order (MAY_REPLICATE, SENTINEL, ONLY_SENTINEL,
# PROTECTED and TOUCHES_ARBITRARY_KEYS stay hidden, as in Redis).
FLAG_REPLIES = [
    (F[name], simple(name.lower()))
    for name in (
        "WRITE", "READONLY", "DENYOOM", "MODULE", "ADMIN", "PUBSUB", "NOSCRIPT", "BLOCKING",
        "LOADING", "STALE", "SKIP_MONITOR", "SKIP_SLOWLOG", "ASKING", "FAST", "NO_AUTH",
        "NO_MANDATORY_KEYS", "NO_ASYNC_LOADING", "NO_MULTI",
    )
] + [(F["MOVABLE_KEYS"], simple("movablekeys")), (F["ALLOW_BUSY"], simple("allow_busy"))]  # fmt: skip

# ACL categories in Redis's order (the order replies list them in).
ACL_CATEGORIES = [
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
    "connection", "transaction", "scripting",
]  # fmt: skip
CAT_BIT = {name: 1 << i for i, name in enumerate(ACL_CATEGORIES)}

DOC_FLAGS = ["deprecated", "syscmd"]
ARG_FLAGS = ["optional", "multiple", "multiple_token"]

# Notes on key specs, in our words (Redis attaches notes to the same specs).
KEY_SPEC_NOTES = {
    ("bitfield", 0): "GET subcommands only read; SET and INCRBY write",
    ("eval", 0): "The script may do anything with its keys, so the widest access is declared",
    ("eval_ro", 0): "The script may read its keys in any way, so read access is declared",
    ("fcall", 0): "The function may do anything with its keys, so the widest access is declared",
    ("fcall_ro", 0): "The function may read its keys in any way, so read access is declared",
    ("getex", 0): "Writes because the expiry of the key may change",
    ("pfcount", 0): "Writes because counting may convert the value and is replicated",
    ("set", 0): "Reads as well when GET is given",
    ("sort", 1): "BY and GET patterns: the key names come from the sorted values",
    ("sort", 2): "The STORE destination: its keyword may be anywhere among the arguments",
    ("sort_ro", 1): "BY and GET patterns: the key names come from the sorted values",
    ("xadd", 0): "Trimming may delete entries, so this is an update, not only an insert",
}

COMMAND_HELP = [
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
]


# ---------------------------------------------------------------------------
# Facts derived from the table


def acl_category_bits(cmd: Command) -> int:
    """The command's ACL categories, with the implicit ones Redis adds from its flags."""
    bits = 0
    for cat in cmd.spec.get("acl_categories", ()):
        bits |= CAT_BIT[cat.lower()]
    flags = cmd.flags
    if flags & F["WRITE"]:
        bits |= CAT_BIT["write"]
    if flags & F["READONLY"] and not bits & CAT_BIT["scripting"]:
        bits |= CAT_BIT["read"]
    if flags & F["ADMIN"]:
        bits |= CAT_BIT["admin"] | CAT_BIT["dangerous"]
    if flags & F["PUBSUB"]:
        bits |= CAT_BIT["pubsub"]
    if flags & F["FAST"]:
        bits |= CAT_BIT["fast"]
    if flags & F["BLOCKING"]:
        bits |= CAT_BIT["blocking"]
    if not bits & CAT_BIT["fast"]:
        bits |= CAT_BIT["slow"]
    return bits


def acl_categories(cmd: Command) -> list[str]:
    bits = acl_category_bits(cmd)
    return [name for i, name in enumerate(ACL_CATEGORIES) if bits & (1 << i)]


def find_command(name: bytes) -> Command | None:
    """A visible command by full name ("get", "client|list"), as COMMAND INFO/DOCS take it."""
    parts = name.lower().split(b"|")
    if len(parts) > 2 or not parts[0]:
        return None
    base = TABLE.lookup(parts[0])
    if base is None:
        return None
    if len(parts) == 1:
        return base
    if not base.subcommands:
        return None
    sub = base.subcommands.get(parts[1])
    return sub if sub is not None and sub.handler is not None else None


def find_call(args: list[bytes]) -> Command | None:
    """The visible command a call would run (container plus subcommand when given)."""
    base = TABLE.lookup(args[0])
    if base is None or len(args) == 1 or not base.subcommands:
        return base
    sub = base.subcommands.get(args[1].lower())
    return sub if sub is not None and sub.handler is not None else None


def visible_commands() -> list[Command]:
    return TABLE.implemented()


# ---------------------------------------------------------------------------
# Reply encoding


def _bulk_s(s: str) -> bytes:
    return bulk(s.encode())


def _key_spec(cmd: Command, index: int, ks: dict, proto: int) -> bytes:
    pairs: list[bytes] = []
    note = KEY_SPEC_NOTES.get((cmd.fullname, index))
    if note is not None:
        pairs += [bulk(b"notes"), _bulk_s(note)]
    flags = keyspecs.compile_spec(ks)[0]
    pairs += [bulk(b"flags"), set_([simple(n) for n in keyspecs.key_flag_names(flags)], proto)]
    bs = ks["begin_search"]
    if "index" in bs:
        spec = map_([bulk(b"index"), integer(bs["index"]["pos"])], 1, proto)
        kind = b"index"
    elif "keyword" in bs:
        kw = bs["keyword"]
        spec = map_([bulk(b"keyword"), _bulk_s(kw["keyword"]), bulk(b"startfrom"), integer(kw["startfrom"])], 2, proto)
        kind = b"keyword"
    else:
        spec = map_([], 0, proto)
        kind = b"unknown"
    pairs += [bulk(b"begin_search"), map_([bulk(b"type"), bulk(kind), bulk(b"spec"), spec], 2, proto)]
    fk = ks["find_keys"]
    if "range" in fk:
        r = fk["range"]
        spec = map_(
            [bulk(b"lastkey"), integer(r["lastkey"]), bulk(b"keystep"), integer(r["step"]),
             bulk(b"limit"), integer(r["limit"])], 3, proto,
        )  # fmt: skip
        kind = b"range"
    elif "keynum" in fk:
        k = fk["keynum"]
        spec = map_(
            [bulk(b"keynumidx"), integer(k["keynumidx"]), bulk(b"firstkey"), integer(k["firstkey"]),
             bulk(b"keystep"), integer(k["step"])], 3, proto,
        )  # fmt: skip
        kind = b"keynum"
    else:
        spec = map_([], 0, proto)
        kind = b"unknown"
    pairs += [bulk(b"find_keys"), map_([bulk(b"type"), bulk(kind), bulk(b"spec"), spec], 2, proto)]
    return map_(pairs, len(pairs) // 2, proto)


def info_entry(cmd: Command, proto: int) -> bytes:
    spec = cmd.spec
    flags = cmd.flags
    parts = [
        _bulk_s(cmd.fullname),
        integer(cmd.arity),
        set_([reply for bit, reply in FLAG_REPLIES if flags & bit], proto),
        integer(cmd.first_key),
        integer(cmd.last_key),
        integer(cmd.key_step),
        set_([simple("@" + c) for c in acl_categories(cmd)], proto),
        set_([_bulk_s(t.lower()) for t in spec.get("command_tips", ())], proto),
        set_([_key_spec(cmd, i, ks, proto) for i, ks in enumerate(spec.get("key_specs", ()))], proto),
    ]
    if cmd.subcommands:
        parts.append(array([info_entry(s, proto) for s in cmd.visible_subcommands()]))
    else:
        parts.append(set_([], proto))
    return array(parts)


def _args_reply(args: list[dict], proto: int) -> bytes:
    out = []
    for a in args:
        # Redis lowercases argument names and uppercases tokens when it builds its table.
        pairs = [bulk(b"name"), _bulk_s(a["name"].lower()), bulk(b"type"), _bulk_s(a["type"])]
        if "key_spec_index" in a:
            pairs += [bulk(b"key_spec_index"), integer(a["key_spec_index"])]
        if "token" in a:
            # A token written as '""' in the JSON is an empty C string in Redis's table.
            pairs += [bulk(b"token"), _bulk_s(a["token"].upper().replace('"', ""))]
        if "since" in a:
            pairs += [bulk(b"since"), _bulk_s(a["since"])]
        if "deprecated_since" in a:
            pairs += [bulk(b"deprecated_since"), _bulk_s(a["deprecated_since"])]
        flags = [simple(f) for f in ARG_FLAGS if a.get(f)]
        if flags:
            pairs += [bulk(b"flags"), set_(flags, proto)]
        if a["type"] in ("oneof", "block"):
            pairs += [bulk(b"arguments"), _args_reply(a.get("arguments", []), proto)]
        out.append(map_(pairs, len(pairs) // 2, proto))
    return array(out)


def docs_entry(cmd: Command, proto: int) -> bytes:
    spec = cmd.spec
    pairs: list[bytes] = []
    summary = SUMMARIES.get(cmd.fullname)
    if summary is not None:
        pairs += [bulk(b"summary"), _bulk_s(summary)]
    pairs += [bulk(b"since"), _bulk_s(spec["since"])]
    pairs += [bulk(b"group"), _bulk_s(spec["group"].replace("_", "-"))]
    if "complexity" in spec:
        pairs += [bulk(b"complexity"), _bulk_s(spec["complexity"])]
    if "doc_flags" in spec:
        names = [f.lower() for f in spec["doc_flags"]]
        pairs += [bulk(b"doc_flags"), set_([simple(f) for f in DOC_FLAGS if f in names], proto)]
    if "deprecated_since" in spec:
        pairs += [bulk(b"deprecated_since"), _bulk_s(spec["deprecated_since"])]
    if "replaced_by" in spec:
        pairs += [bulk(b"replaced_by"), _bulk_s(spec["replaced_by"])]
    if "arguments" in spec:
        pairs += [bulk(b"arguments"), _args_reply(spec["arguments"], proto)]
    if cmd.subcommands:
        subs = cmd.visible_subcommands()
        body = []
        for s in subs:
            body += [_bulk_s(s.fullname), docs_entry(s, proto)]
        pairs += [bulk(b"subcommands"), map_(body, len(subs), proto)]
    return map_(pairs, len(pairs) // 2, proto)


# ---------------------------------------------------------------------------
# Handlers


@command("command")
def cmd_command(c, argv):
    return array([info_entry(cmd, c.proto) for cmd in visible_commands()])


@command("command|count")
def cmd_command_count(c, argv):
    return integer(len(visible_commands()))


@command("command|info")
def cmd_command_info(c, argv):
    if len(argv) == 2:
        return cmd_command(c, argv)
    out = []
    for name in argv[2:]:
        cmd = find_command(name)
        out.append(null(c.proto) if cmd is None else info_entry(cmd, c.proto))
    return array(out)


@command("command|docs")
def cmd_command_docs(c, argv):
    if len(argv) == 2:
        cmds = visible_commands()
    else:
        cmds = [cmd for cmd in map(find_command, argv[2:]) if cmd is not None]
    body = []
    for cmd in cmds:
        body += [_bulk_s(cmd.fullname), docs_entry(cmd, c.proto)]
    return map_(body, len(cmds), c.proto)


def _list_filter(argv: list[bytes]):
    """The predicate of COMMAND LIST's FILTERBY clause (None: no filter)."""
    pred = None
    i = 2
    n = len(argv)
    while i < n:
        if argv[i].lower() != b"filterby" or n - 1 - i != 2:
            raise CommandError(errors.SYNTAX)
        kind = argv[i + 1].lower()
        arg = argv[i + 2]
        if kind == b"module":
            pred = _no_module
        elif kind == b"aclcat":
            bit = CAT_BIT.get(arg.decode("utf-8", "replace").lower(), 0)
            pred = (lambda cmd, bit=bit: bool(acl_category_bits(cmd) & bit)) if bit else _no_module
        elif kind == b"pattern":
            match = glob.compile_glob(arg, nocase=True)
            pred = lambda cmd, match=match: match(cmd.fullname.encode()) is not None  # noqa: E731
        else:
            raise CommandError(errors.SYNTAX)
        i += 3
    return pred


def _no_module(cmd: Command) -> bool:
    return False  # respdb loads no modules


@command("command|list")
def cmd_command_list(c, argv):
    pred = _list_filter(argv)
    names = []
    for cmd in visible_commands():
        for each in [cmd, *cmd.visible_subcommands()]:
            if pred is None or pred(each):
                names.append(_bulk_s(each.fullname))
    return array(names)


def _getkeys(argv: list[bytes], with_flags: bool, proto: int) -> bytes:
    args = argv[2:]
    cmd = find_call(args)
    if cmd is None:
        raise CommandError("ERR Invalid command specified")
    if not keyspecs.has_keys(cmd):
        raise CommandError("ERR The command has no key arguments")
    n = len(args)
    if (cmd.arity > 0 and cmd.arity != n) or n < -cmd.arity:
        raise CommandError("ERR Invalid number of arguments specified for command")
    keys = keyspecs.get_keys(cmd, args)
    if not keys:
        if cmd.flags & F["NO_MANDATORY_KEYS"]:
            return EMPTY_ARRAY
        raise CommandError("ERR Invalid arguments specified for command")
    if not with_flags:
        return array([bulk(args[pos]) for pos, _ in keys])
    return array(
        [
            b"*2\r\n" + bulk(args[pos]) + set_([simple(f) for f in keyspecs.key_flag_names(flags)], proto)
            for pos, flags in keys
        ]
    )


@command("command|getkeys")
def cmd_command_getkeys(c, argv):
    return _getkeys(argv, False, c.proto)


@command("command|getkeysandflags")
def cmd_command_getkeysandflags(c, argv):
    return _getkeys(argv, True, c.proto)


@command("command|help")
def cmd_command_help(c, argv):
    return help_reply(COMMAND_HELP)
