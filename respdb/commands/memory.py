"""MEMORY USAGE / STATS / DOCTOR / MALLOC-STATS / PURGE / HELP.

USAGE estimates what Redis would use for the same value (respdb/memory.py). STATS has
Redis's fields in Redis's order with respdb's own figures: the process RSS (or, with
maxmemory set, the eviction account) for the totals, Redis's formulas for the per-db
hash table overheads. respdb does not run on jemalloc, so MALLOC-STATS answers what a Redis
built without it does, and the allocator figures are those Redis derives in that case.
"""

from __future__ import annotations

import gc
import struct

from respdb import allocator, errors, memory
from respdb.commands.args import parse_ll
from respdb.commands.keys import help_reply
from respdb.commands.table import command, container
from respdb.errors import CommandError
from respdb.resp import OK, bulk, double, integer, map_, null, verbatim
from respdb.types.valueindex import table_size

MEMORY_HELP = [
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
]

NO_MALLOC_STATS = b"Stats not supported for the current allocator"
EMPTY_REPORT = (
    b"Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in "
    b"these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I "
    b"will be back to our programming as soon as I finished rebooting.\n"
)
NO_ISSUES_REPORT = (
    b"Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
)
SMALL_INSTANCE = 5 * 1024 * 1024  # below this, Redis's doctor declines to judge

container("memory")


@command("memory|help")
def cmd_memory_help(c, argv):
    return help_reply(MEMORY_HELP)


@command("memory|usage")
def cmd_memory_usage(c, argv):
    samples = memory.DEFAULT_SAMPLES
    j = 3
    while j < len(argv):
        if argv[j].lower() == b"samples" and j + 1 < len(argv):
            v = parse_ll(argv[j + 1])
            if v is None:
                raise CommandError(errors.NOT_INTEGER)
            if v < 0:
                raise CommandError(errors.SYNTAX)
            samples = v
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    # Redis finds the key in the dict directly: an expired key not yet deleted still counts.
    value = c.db.data.get(argv[2])
    if value is None:
        return null(c.proto)
    return integer(memory.usage(c.engine, argv[2], value, samples))


@command("memory|malloc-stats")
def cmd_memory_malloc_stats(c, argv):
    return bulk(NO_MALLOC_STATS)


@command("memory|purge")
def cmd_memory_purge(c, argv):
    gc.collect()  # unreachable cycles, then the heap pages free after that
    allocator.release()
    return OK


def _f32(x: float) -> float:
    """Redis keeps these ratios in C floats."""
    return struct.unpack("f", struct.pack("f", x))[0]


def overhead(c) -> dict:
    """Redis's getMemoryOverheadData, with respdb's figures."""
    from respdb.commands.server import rss_bytes

    e = c.engine
    rss = rss_bytes()
    used = e.evictor.info_fields()["used_memory"]  # (INFO's used_memory)
    startup = e.evictor.startup
    e.peak_memory = max(getattr(e, "peak_memory", 0), used)
    clients = 0
    for x in e.clients.values():
        conn = x.conn
        size = getattr(conn, "output_size", None)
        clients += x.qbuf + (size() if size is not None else 0)
    aof_buf = len(getattr(e.aof, "buf", b"") or b"")
    sc = getattr(e, "scripting", None)
    lua = sum(len(s.body) for s in getattr(sc, "scripts", {}).values()) if sc is not None else 0
    dbs = []
    keys = 0
    total = startup + clients + aof_buf + lua
    for db in e.dbs:
        n = len(db.data)
        if not n:
            continue
        nexp = len(db.expires)
        main = n * memory.DICT_ENTRY + table_size(n) * 8 + n * memory.ROBJ
        exp = nexp * memory.DICT_ENTRY + (table_size(nexp) * 8 if nexp else 0)
        dbs.append((db.id, main, exp))
        total += main + exp
        keys += n
    net = used - startup if used > startup else 0
    dataset = used - total if used > total else 0
    return {
        "used": used,
        "rss": rss,
        "peak": e.peak_memory,
        "startup": startup,
        "clients": clients,
        "aof": aof_buf,
        "lua": lua,
        "dbs": dbs,
        "total": total,
        "keys": keys,
        "per_key": net // keys if keys else 0,
        "dataset": dataset,
        "dataset_perc": _f32(dataset * 100.0 / net) if net else 0.0,
        "peak_perc": _f32(used * 100.0 / e.peak_memory) if e.peak_memory else 0.0,
    }


@command("memory|stats")
def cmd_memory_stats(c, argv):
    p = c.proto
    m = overhead(c)
    used, rss = m["used"], m["rss"]
    # Without jemalloc Redis takes the allocator's figures from the process: allocated is what
    # it counts itself, active and resident the RSS.
    pairs = [
        bulk(b"peak.allocated") + integer(m["peak"]),
        bulk(b"total.allocated") + integer(used),
        bulk(b"startup.allocated") + integer(m["startup"]),
        bulk(b"replication.backlog") + integer(0),
        bulk(b"clients.slaves") + integer(0),
        bulk(b"clients.normal") + integer(m["clients"]),
        bulk(b"cluster.links") + integer(0),
        bulk(b"aof.buffer") + integer(m["aof"]),
        bulk(b"lua.caches") + integer(m["lua"]),
        bulk(b"functions.caches") + integer(0),
    ]
    for dbid, main, exp in m["dbs"]:
        fields = [
            bulk(b"overhead.hashtable.main") + integer(main),
            bulk(b"overhead.hashtable.expires") + integer(exp),
            bulk(b"overhead.hashtable.slot-to-keys") + integer(0),
        ]
        pairs.append(bulk(b"db.%d" % dbid) + map_(fields, 3, p))
    pairs += [
        bulk(b"overhead.total") + integer(m["total"]),
        bulk(b"keys.count") + integer(m["keys"]),
        bulk(b"keys.bytes-per-key") + integer(m["per_key"]),
        bulk(b"dataset.bytes") + integer(m["dataset"]),
        bulk(b"dataset.percentage") + double(m["dataset_perc"], p),
        bulk(b"peak.percentage") + double(m["peak_perc"], p),
        bulk(b"allocator.allocated") + integer(used),
        bulk(b"allocator.active") + integer(rss),
        bulk(b"allocator.resident") + integer(rss),
        bulk(b"allocator-fragmentation.ratio") + double(_f32(rss / used) if used else 0.0, p),
        bulk(b"allocator-fragmentation.bytes") + integer(rss - used),
        bulk(b"allocator-rss.ratio") + double(1.0, p),
        bulk(b"allocator-rss.bytes") + integer(0),
        bulk(b"rss-overhead.ratio") + double(1.0, p),
        bulk(b"rss-overhead.bytes") + integer(0),
        bulk(b"fragmentation") + double(_f32(rss / used) if used else 0.0, p),
        bulk(b"fragmentation.bytes") + integer(rss - used),
    ]
    return map_(pairs, len(pairs), p)


@command("memory|doctor")
def cmd_memory_doctor(c, argv):
    m = overhead(c)
    net = m["used"] - m["startup"]
    if net < SMALL_INSTANCE:
        return verbatim(EMPTY_REPORT, c.proto)
    issues = []
    if m["peak"] > m["used"] * 1.5:
        issues.append(
            " * Peak memory: the server once used more than 150% of what it uses now. Memory freed after "
            "a peak is not always handed back to the system; MEMORY PURGE runs the garbage collector."
        )
    if m["rss"] > m["used"] * 1.4 and m["rss"] - m["used"] > 10 * 1024 * 1024:
        issues.append(
            " * Fragmentation: the process holds %.2f times the memory respdb accounts for." % (m["rss"] / m["used"])
        )
    nclients = len(c.engine.clients)
    if nclients and m["clients"] / nclients > 200 * 1024:
        issues.append(
            " * Client buffers: clients hold %d bytes of query and output buffers on average; a slow reader "
            "or a big pipeline can make this grow (see client-output-buffer-limit)." % (m["clients"] // nclients)
        )
    if not issues:
        return verbatim(NO_ISSUES_REPORT, c.proto)
    text = "Sam, I detected a few issues in this Redis instance memory implants:\n\n"
    text += "\n\n".join(issues) + "\n\nI'm here to keep you safe, Sam. I want to help you.\n"
    return verbatim(text.encode(), c.proto)
