"""DEBUG: the subcommands Redis's own test suite and client test suites rely on.

The engine refuses DEBUG unless `enable-debug-command` allows it (default `no`, as in Redis
7.0; `local` allows loopback and Unix-socket clients), before the handler runs.

Every subcommand keeps Redis 7.0's argument counts, replies and error texts (see debug.c).
What respdb cannot do the way Redis does:
- MALLCTL / MALLCTL-STR: jemalloc only; respdb answers like a Redis built with libc malloc
  (unknown subcommand), although HELP lists them as the usual jemalloc build does.
- JMAP and STRINGMATCH-LEN do not exist in Redis 7.0 either: unknown subcommand.
- CLUSTERLINK: respdb has no cluster bus; it answers with Redis's error for cluster mode
  being off. CLIENT-EVICTION reports respdb's client memory figures in Redis's buckets.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time

from respdb import digest, errors
from respdb.buffers import PEAK_RESET_MS
from respdb.commands.keys import help_reply
from respdb.commands.keyspecs import _atoi
from respdb.commands.table import command
from respdb.config import parse_memory
from respdb.debuginfo import (
    DEFAULT_PACKED_THRESHOLD,
    dict_stats,
    index_stats,
    is_sds_string,
    listpack_of,
    listpack_repr,
    object_line,
    quicklist_repr,
    sdslen_line,
    value_index,
)
from respdb.errors import CommandError
from respdb.persistence.packed import lp_strings
from respdb.resp import OK, _parse_ll, bulk, error, simple, verbatim
from respdb.types import encoding

DEBUG_HELP = [
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
    "HELP",
    "    Prints this help.",
]

INT_MAX = 2147483647
ULONG_MAX = (1 << 64) - 1
PROTOCOL_TYPES = "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"
POSITIVE = "ERR value is out of range, must be positive"

# Handlers by subcommand: (argument count test on len(argv), handler(c, argv) -> bytes).
SUBCOMMANDS: dict[bytes, tuple] = {}


def sub(name: str, argc):
    """Register a subcommand; `argc` is an exact len(argv), or a predicate on it."""
    test = argc if callable(argc) else (lambda n, want=argc: n == want)

    def deco(fn):
        SUBCOMMANDS[name.encode()] = (test, fn)
        return fn

    return deco


def _unknown(argv: list[bytes]) -> CommandError:
    return CommandError(
        "ERR unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP."
        % argv[1].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    )


@command("debug")
def cmd_debug(c, argv):
    entry = SUBCOMMANDS.get(argv[1].lower())
    if entry is None or not entry[0](len(argv)):
        raise _unknown(argv)
    return entry[1](c, argv)


# ---------------------------------------------------------------------------
# C-library number parsing, as debug.c uses it (no errors: junk reads as 0)

_ATOI_RE = re.compile(rb"\s*([+-]?\d+)")
_STRTOD_RE = re.compile(rb"\s*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|inf(?:inity)?|nan))", re.I)


def atoi(b: bytes) -> int:
    m = _ATOI_RE.match(b)
    if not m:
        return 0
    v = int(m.group(1)) & 0xFFFFFFFF  # an int: wraps like the C conversion usually does
    return v - (1 << 32) if v >> 31 else v


def strtod(b: bytes) -> float:
    m = _STRTOD_RE.match(b)
    return float(m.group(1)) if m else 0.0


def _long(b: bytes) -> int:
    v = _parse_ll(b)
    if v is None:
        raise CommandError(errors.NOT_INTEGER)
    return v


# ---------------------------------------------------------------------------
# Simple switches and replies


@sub("help", 2)
def _help(c, argv):
    return help_reply(DEBUG_HELP)


@sub("sleep", 3)
def _sleep(c, argv):
    secs = strtod(argv[2])
    usec = int(secs * 1_000_000) if secs == secs and abs(secs) < 1e12 else 0
    if usec > 0:
        time.sleep(usec / 1_000_000)
    return OK


@sub("set-active-expire", 3)
def _set_active_expire(c, argv):
    c.engine.active_expire_enabled = bool(atoi(argv[2]))
    return OK


@sub("set-skip-checksum-validation", 3)
def _skip_checksum(c, argv):
    c.engine.skip_checksum_validation = bool(atoi(argv[2]))
    return OK


@sub("set-disable-deny-scripts", 3)
def _disable_deny_scripts(c, argv):
    c.engine.script_disable_deny_script = bool(atoi(argv[2]))  # read by scripting/core.py
    return OK


@sub("pause-cron", 3)
def _pause_cron(c, argv):
    c.engine.pause_cron = bool(atoi(argv[2]))  # Engine.cron does nothing meanwhile
    return OK


@sub("aof-flush-sleep", 3)
def _aof_flush_sleep(c, argv):
    c.engine.aof_flush_sleep = atoi(argv[2])  # microseconds; accepted, respdb does not delay
    return OK


@sub("quicklist-packed-threshold", 3)
def _packed_threshold(c, argv):
    size = parse_memory(argv[2].decode("latin-1")) if argv[2][:1] != b"-" else None
    if size is None or size > (1 << 32) - (1 << 20):
        raise CommandError("ERR argument must be a memory value bigger than 1 and smaller than 4gb")
    c.engine.quicklist_packed_threshold = size or DEFAULT_PACKED_THRESHOLD
    return OK


@sub("replybuffer", 4)
def _replybuffer(c, argv):
    """The reply buffer sizes CLIENT LIST shows (respdb/buffers.py): how often their peak
    starts over, and whether the cron resizes them."""
    e = c.engine
    what = argv[2].lower()
    if what == b"peak-reset-time":
        arg = argv[3].lower()
        if arg == b"never":
            e.reply_peak_reset_ms = -1
        elif arg == b"reset":
            e.reply_peak_reset_ms = PEAK_RESET_MS
        else:
            e.reply_peak_reset_ms = _long(argv[3])
    elif what == b"resizing":
        e.reply_resizing = bool(_atoi(argv[3]))  # (atoi, as Redis reads it)
    else:
        raise _unknown(argv)
    return OK


@sub("drop-cluster-packet-filter", 3)
def _drop_cluster_packets(c, argv):
    _long(argv[2])
    return OK  # no cluster bus


@sub("clusterlink", lambda n: n == 5)
def _clusterlink(c, argv):
    if argv[2].lower() != b"kill":
        raise _unknown(argv)
    raise CommandError("ERR Debug option only available for cluster mode enabled setup!")


@sub("client-eviction", 2)
def _client_eviction(c, argv):
    ce = c.engine.client_eviction
    if not ce.limit:
        raise CommandError("ERR maxmemory-clients is disabled.")
    return verbatim(ce.buckets_report().encode(), c.proto)


@sub("replicate", lambda n: n >= 3)
def _replicate(c, argv):
    c.engine.replication.feed_raw(argv[2:])  # to replicas and the backlog only, not the AOF
    return OK


@sub("leak", 3)
def _leak(c, argv):
    return OK


@sub("log", 3)
def _log(c, argv):
    c.engine.log("warning", "DEBUG LOG: %s" % argv[2].split(b"\0", 1)[0].decode("utf-8", "replace"))
    return OK


@sub("error", 3)
def _error(c, argv):
    msg = argv[2].replace(b"\r", b" ").replace(b"\n", b" ")
    return b"-" + msg + b"\r\n"


@sub("structsize", 2)
def _structsize(c, argv):
    return bulk(b"bits:64 robj:16 dictentry:24 sdshdr5:1 sdshdr8:3 sdshdr16:5 sdshdr32:9 sdshdr64:17 ")


@sub("stringmatch-test", 2)
def _stringmatch_test(c, argv):
    import random

    from respdb.glob import match

    rnd = random.Random(0)
    for _ in range(2000):  # random patterns against random strings must never fail
        pat = bytes(rnd.randrange(256) for _ in range(rnd.randrange(16)))
        s = bytes(rnd.randrange(256) for _ in range(rnd.randrange(16)))
        match(pat, s, bool(rnd.randrange(2)))
    return simple("Apparently Redis did not crash: test passed")


@sub("change-repl-id", 2)
def _change_repl_id(c, argv):
    e = c.engine
    e.log("notice", "Changing replication IDs after receiving DEBUG change-repl-id")
    e.replid = os.urandom(20).hex()
    return OK


@sub("config-rewrite-force-all", 2)
def _config_rewrite_all(c, argv):
    from respdb.config_rewrite import rewrite

    if not c.engine.config.file:
        raise CommandError("ERR CONFIG-REWRITE-FORCE-ALL failed: Bad address")
    try:
        rewrite(c.engine, force_all=True)
    except OSError as err:
        raise CommandError("ERR CONFIG-REWRITE-FORCE-ALL failed: %s" % err.strerror) from None
    return OK


# ---------------------------------------------------------------------------
# DEBUG PROTOCOL


def _protocol(c, argv):
    name = argv[2].lower()
    p3 = c.proto == 3
    if name == b"string":
        return bulk(b"Hello World")
    if name == b"integer":
        return b":12345\r\n"
    if name == b"double":
        return b",3.141\r\n" if p3 else b"$5\r\n3.141\r\n"
    if name == b"bignum":
        n = b"1234567999999999999999999999999999999"
        return b"(" + n + b"\r\n" if p3 else bulk(n)
    if name == b"null":
        return b"_\r\n" if p3 else b"$-1\r\n"
    if name == b"array":
        return b"*3\r\n:0\r\n:1\r\n:2\r\n"
    if name == b"set":
        return (b"~3" if p3 else b"*3") + b"\r\n:0\r\n:1\r\n:2\r\n"
    if name == b"map":
        if p3:
            return b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"
        return b"*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n"
    if name == b"attrib":
        head = b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n" if p3 else b""
        return head + bulk(b"Some real reply following the attribute")
    if name == b"push":
        if not p3:
            raise CommandError("ERR RESP2 is not supported by this command")
        return b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n" + bulk(b"Some real reply following the push reply")
    if name == b"verbatim":
        return verbatim(b"This is a verbatim\nstring", c.proto)
    if name == b"true":
        return b"#t\r\n" if p3 else b":1\r\n"
    if name == b"false":
        return b"#f\r\n" if p3 else b":0\r\n"
    raise CommandError("ERR Wrong protocol type name. Please use one of the following: " + PROTOCOL_TYPES)


sub("protocol", 3)(_protocol)


# ---------------------------------------------------------------------------
# Digests and value introspection


def _hex_status(d: bytes) -> bytes:
    return b"+" + d.hex().encode() + b"\r\n"


@sub("digest", 2)
def _digest(c, argv):
    return _hex_status(digest.dataset_digest(c.engine.dbs))


@sub("digest-value", lambda n: n >= 2)
def _digest_value(c, argv):
    # The stored values as they are: logically expired keys are digested too, as in Redis.
    db = c.db
    return b"*%d\r\n" % (len(argv) - 2) + b"".join(_hex_status(digest.key_digest(db, k)) for k in argv[2:])


def _refcount(c, value) -> int:
    """OBJECT REFCOUNT's rule: 0..9999 are shared integers unless an LRU/LFU maxmemory needs
    per-key access data."""
    if type(value) is bytes and encoding(value) == "int":
        n = _parse_ll(value)
        cfg = c.engine.config
        policy = cfg["maxmemory-policy"]
        shared = cfg.get_int("maxmemory") == 0 or not ("lru" in policy or "lfu" in policy)
        if n is not None and 0 <= n < 10000 and shared:
            return INT_MAX
    return 1


@sub("object", 3)
def _object(c, argv):
    db = c.db
    value = db.data.get(argv[2])  # no expiry check and no access noted, like Redis's dictFind
    if value is None:
        raise CommandError(errors.NO_SUCH_KEY)
    return simple(object_line(c.engine, db, argv[2], value, _refcount(c, value)))


@sub("sdslen", 3)
def _sdslen(c, argv):
    value = c.db.data.get(argv[2])
    if value is None:
        raise CommandError(errors.NO_SUCH_KEY)
    if not is_sds_string(value):
        raise CommandError("ERR Not an sds encoded string.")
    return simple(sdslen_line(argv[2], value))


def _lookup_object(c, key: bytes):
    """objectCommandLookupOrReply: a read lookup that leaves the access time alone."""
    value = c.db.read_notouch(key, notify=False)
    if value is None:
        raise CommandError(errors.NO_SUCH_KEY)
    return value


@sub("listpack", 3)
def _listpack(c, argv):
    value = _lookup_object(c, argv[2])
    blob = listpack_of(value)
    if blob is None:
        raise CommandError("ERR Not a listpack encoded object.")
    _stdout(listpack_repr(blob, lp_strings(blob)))
    return simple("Listpack structure printed on stdout")


@sub("quicklist", lambda n: n in (3, 4))
def _quicklist(c, argv):
    value = _lookup_object(c, argv[2])
    full = atoi(argv[3]) if len(argv) == 4 else 0
    if getattr(value, "redis_type", None) != "list":
        raise CommandError("ERR Not a quicklist encoded object.")
    _stdout(quicklist_repr(c.engine, value, bool(full)))
    return simple("Quicklist structure printed on stdout")


def _stdout(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except (OSError, ValueError):
        pass


@sub("htstats", 3)
def _htstats(c, argv):
    dbid = _long(argv[2])
    e = c.engine
    if dbid < 0 or dbid >= len(e.dbs):
        raise CommandError("ERR Out of range database")
    db = e.dbs[dbid]
    sizes = e.keyspace_tables
    n = len(db.data)
    text = "[Dictionary HT]\n" + dict_stats(db.data, n, sizes.size((dbid, "keys"), n))
    n = len(db.expires)
    text += "[Expires HT]\n" + dict_stats(db.expires, n, sizes.size((dbid, "expires"), n))
    return verbatim(text.encode(), c.proto)


@sub("htstats-key", 3)
def _htstats_key(c, argv):
    value = _lookup_object(c, argv[2])
    index = value_index(value)
    if index is None:
        raise CommandError("ERR The value stored at the specified key is not represented using an hash table")
    return verbatim(index_stats(index).encode(), c.proto)


# ---------------------------------------------------------------------------
# Writing keys, reloading


@sub("populate", lambda n: 3 <= n <= 5)
def _populate(c, argv):
    count = _parse_ll(argv[2])
    if count is None or count < 0:
        raise CommandError(POSITIVE)
    size = 0
    if len(argv) == 5:
        size = _parse_ll(argv[4])
        if size is None or size < 0:
            raise CommandError(POSITIVE)
    prefix = argv[3].split(b"\0", 1)[0] if len(argv) >= 4 else b"key"
    e = c.engine
    db = c.db
    for j in range(count):
        key = b"%b:%d" % (prefix, j)
        if db.get(key) is not None:  # lookupKeyWrite: an expired key is replaced
            continue
        value = b"value:%d" % j
        if size:
            value = value[:size] + bytes(max(0, size - len(value)))
        db.set(key, value)
        # signalModifiedKey: WATCH and client tracking see it; no dirty count, no propagation
        if e.watched_keys:
            e.touch_watched(db, key)
        tr = e.tracking
        if tr.clients and (tr.table or tr.prefixes):
            tr.invalidate(key, c)
    return OK


_RELOAD_OPTIONS = {b"merge", b"noflush", b"nosave"}


@sub("reload", lambda n: n >= 2)
def _reload(c, argv):
    opts = {a.lower() for a in argv[2:]}
    if not opts <= _RELOAD_OPTIONS:
        raise CommandError("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
    e = c.engine
    snap = e.persistence
    if b"noflush" not in opts:
        err = snap.debug_reload(save=b"nosave" not in opts)
        if err is not None:
            raise CommandError(err)
        return OK
    if b"nosave" not in opts and not snap.save():
        raise CommandError("ERR")
    try:
        res = snap.parse_file(snap.rdb_path())
    except (OSError, ValueError) as err:  # RDBError is a ValueError too
        e.log("warning", "DEBUG RELOAD failed: %s" % err)
        raise CommandError("ERR Error trying to load the RDB dump") from None
    if res.functions:
        # functions come first in the file: a library that is already there fails the load
        # before any key is touched (with MERGE it is replaced), as Redis's rdbLoad does
        from respdb import scripting

        functions = scripting.get(e).functions
        for code in res.functions:
            try:
                functions.create(code, b"merge" in opts, timeout=False)
            except CommandError as err:
                e.log("warning", "Failed loading library: %s" % err.msg.removeprefix("ERR "))
                raise CommandError("ERR Error trying to load the RDB dump") from None
    _merge(c, res, b"merge" in opts)
    e.log("notice", "DB reloaded by DEBUG RELOAD")
    return OK


def _merge(c, res, replace: bool) -> None:
    """Add a parsed RDB file to the current dataset (RELOAD NOFLUSH [MERGE])."""
    e = c.engine
    for dbid, data in enumerate(res.dbs):
        db = e.dbs[dbid]
        expires = res.expires[dbid]
        for key, value in data.items():
            if key in db.data and not replace:
                e.log("warning", "RDB has duplicated key '%s' in DB %d" % (key.decode("utf-8", "replace"), dbid))
                crash_panic(e, "Duplicated key found in RDB file")
            db.set(key, value)
            when = expires.get(key)
            if when is not None:
                db.set_expire(key, when)


@sub("loadaof", lambda n: True)
def _loadaof(c, argv):
    e = c.engine
    aof = e.aof
    if e.config["appendonly"] != "yes" and not os.path.exists(aof.manifest_path()):
        # With no AOF at all Redis 7.0 stops the whole server here; respdb answers with its load
        # error instead. (With appendonly off, what BGREWRITEAOF wrote is loaded, as in Redis.)
        e.log("warning", "DEBUG LOADAOF: there is no AOF to load (appendonly is off)")
        raise CommandError("ERR Error trying to load the AOF files, check server logs.")
    aof.flush(fsync=True)
    e.signal_flushed(None, None)
    for db in e.dbs:
        db.clear()
    steps = aof._load_steps()
    result = None
    ok = False
    while True:
        try:
            step = steps.send(result)
        except StopIteration as stop:
            ok = bool(stop.value)
            break
        result = None if step is None else step()
    if not ok:
        raise CommandError("ERR Error trying to load the AOF files, check server logs.")
    e.dirty = 0  # nothing loaded is propagated or counted for save points
    e.log("notice", "Append Only File loaded by DEBUG LOADAOF")
    return OK


# ---------------------------------------------------------------------------
# Crashes and restarts


def _die(sig: int, e=None) -> None:
    """End the process with `sig`, as Redis re-raises the signal after its bug report; with
    use-exit-on-panic, exit(1) instead (what Redis's bugReportEnd does then)."""
    if e is not None and e.config["use-exit-on-panic"] == "yes":
        os._exit(1)
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    except (ValueError, OSError):
        pass
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)
    os._exit(128 + sig)  # not reached


def _bug_report(e, lines: list[str]) -> None:
    e.log("warning", "\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===")
    for line in lines:
        e.log("warning", line)
    e.log("warning", "=== REDIS BUG REPORT END. Make sure to include from START to END. ===")


def crash_panic(e, msg: str, file: str = "debug.c") -> None:
    """Redis's serverPanic: the Guru Meditation report, then the end of the process."""
    _bug_report(
        e,
        [
            "------------------------------------------------",
            "!!! Software Failure. Press left mouse button to continue",
            "Guru Meditation: %s #%s:0" % (msg, file),
        ],
    )
    _die(signal.SIGABRT, e)


def crash_assert(e, what: str) -> None:
    """Redis's serverAssert failing: `what` is "file:line 'condition' is not true"."""
    _bug_report(e, ["=== ASSERTION FAILED ===", "==> " + what])
    _die(signal.SIGABRT, e)


def crashed_by_signal(e, sig: int) -> None:
    """A fatal signal from outside (SIGABRT, SIGSEGV...): Redis's crash report, then the
    process ends by the same signal."""
    _bug_report(e, ["Redis %s crashed by signal: %d, si_code: 0" % (_version(), sig), "Killed by PID: unknown"])
    _die(sig, e)


@sub("segfault", lambda n: True)
def _segfault(c, argv):
    _bug_report(c.engine, ["Redis %s crashed by signal: 11, si_code: 0" % _version(), "Crashed by DEBUG SEGFAULT"])
    _die(signal.SIGSEGV, c.engine)


@sub("panic", lambda n: True)
def _panic(c, argv):
    crash_panic(c.engine, "DEBUG PANIC called at Unix time %d" % int(time.time()))


@sub("assert", lambda n: True)
def _assert(c, argv):
    crash_assert(c.engine, "debug.c:0 '1 == 2' is not true")


@sub("oom", lambda n: True)
def _oom(c, argv):
    c.engine.log("warning", "Out Of Memory allocating %d bytes!" % ULONG_MAX)
    _die(signal.SIGABRT, c.engine)


def _version() -> str:
    from respdb import REDIS_VERSION

    return REDIS_VERSION


def _restart(c, argv, graceful: bool):
    e = c.engine
    delay = 0
    if len(argv) >= 3:
        delay = max(0, _long(argv[2]))
    if graceful:
        if e.config.file:
            from respdb.commands.server import cmd_config_rewrite

            try:
                cmd_config_rewrite(c, [b"CONFIG", b"REWRITE"])
            except CommandError:
                e.log("warning", "Can't restart: configuration rewrite process failed")
                return error("ERR failed to restart the server. Check server logs.")
        if not e.persistence.prepare_shutdown():
            return error("ERR failed to restart the server. Check server logs.")
        e.aof.flush(fsync=True)
    if delay:
        time.sleep(delay / 1000)
    # The same interpreter and arguments; the working directory may have changed since start-up
    # (the `dir` setting), so the interpreter path is absolute and respdb's location is put on
    # PYTHONPATH for `python -m respdb`.
    import respdb

    exe = os.path.abspath(sys.executable)
    args = [exe, *(getattr(sys, "orig_argv", None) or [exe, *sys.argv])[1:]]
    env = dict(os.environ)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(respdb.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH", "")) if p)
    try:
        os.execve(exe, args, env)
    except OSError as err:
        e.log("warning", "Can't restart: execve() returned an error: %s" % err.strerror)
    return error("ERR failed to restart the server. Check server logs.")


sub("restart", lambda n: True)(lambda c, argv: _restart(c, argv, True))
sub("crash-and-recover", lambda n: True)(lambda c, argv: _restart(c, argv, False))
