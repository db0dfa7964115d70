"""Server commands: INFO, CONFIG, SHUTDOWN, TIME (DEBUG is in debug.py)."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time

from respdb import REDIS_VERSION as VERSION
from respdb import client_eviction, errors, scripting, supervision
from respdb.blocking import blocking_denied
from respdb.commands import migrate
from respdb.commands.keys import help_reply
from respdb.commands.table import command, container
from respdb.config import IMMUTABLE, ConfigError
from respdb.errors import CommandError
from respdb.resp import OK, bulk, map_, verbatim
from respdb.shutdown import SHUTDOWN_ERROR

# ---------------------------------------------------------------------------
# INFO


def _human(n: float) -> str:
    for unit in ("B", "K", "M", "G", "T", "P"):
        if n < 1024 or unit == "P":
            return ("%dB" % n) if unit == "B" else "%.2f%s" % (n, unit)
        n /= 1024
    return str(n)


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _total_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def _section_server(e) -> list[str]:
    uptime = int(time.time() - e.start_time)
    return (
        [
            "redis_version:" + VERSION,
            "redis_git_sha1:00000000",
            "redis_git_dirty:0",
            "redis_build_id:0",
            "redis_mode:standalone",
            "os:%s %s %s" % (platform.system(), platform.release(), platform.machine()),
            "arch_bits:64",
            "monotonic_clock:POSIX clock_gettime",
            "multiplexing_api:epoll",
            "atomicvar_api:c11-builtin",
            "gcc_version:0.0.0",
            "process_id:%d" % os.getpid(),
            "process_supervised:" + supervision.mode(e.config),
            "run_id:" + e.run_id,
            "tcp_port:%d" % e.tcp_port,
            "server_time_usec:%d" % int(time.time() * 1_000_000),
            "uptime_in_seconds:%d" % uptime,
            "uptime_in_days:%d" % (uptime // 86400),
            "hz:%d" % e.hz,
            "configured_hz:%s" % e.config["hz"],
            "lru_clock:%d" % (int(time.time()) & ((1 << 24) - 1)),
            "executable:" + os.path.abspath(sys.argv[0] if sys.argv and sys.argv[0] else "respdb-server"),
            "config_file:" + e.config.file,
            "io_threads_active:0",
        ]
        + (["shutdown_in_milliseconds:%d" % e.shutdown.in_milliseconds()] if e.shutdown.initiated else [])
        + [
            "respdb_python:" + platform.python_version(),
        ]
    )


def _section_clients(e) -> list[str]:
    return [
        # (replicas are not counted, as in Redis)
        "connected_clients:%d" % sum(1 for c in e.clients.values() if c.conn is not None and "S" not in c.flags),
        "cluster_connections:0",
        "maxclients:%s" % e.config["maxclients"],
        "client_recent_max_input_buffer:%d" % max((c.qbuf for c in e.clients.values()), default=0),
        "client_recent_max_output_buffer:%d" % max((c.obuf for c in e.clients.values()), default=0),
        "blocked_clients:%d" % e.blocking.count,
        "tracking_clients:%d" % e.tracking.clients,
        "clients_in_timeout_table:0",
    ]


def _section_memory(e) -> list[str]:
    rss = rss_bytes()
    # used_memory is respdb's account of what Redis would have allocated (see eviction.py)
    mem = e.evictor.info_fields()
    used = mem["used_memory"]
    e.peak_memory = max(getattr(e, "peak_memory", 0), used)
    maxmem = e.config.get_int("maxmemory")
    total = _total_memory()
    return [
        "used_memory:%d" % used,
        "used_memory_human:" + _human(used),
        "used_memory_rss:%d" % rss,
        "used_memory_rss_human:" + _human(rss),
        "used_memory_peak:%d" % e.peak_memory,
        "used_memory_peak_human:" + _human(e.peak_memory),
        "used_memory_peak_perc:%.2f%%" % (100.0 * used / e.peak_memory if e.peak_memory else 100.0),
        "used_memory_overhead:%d" % (used - mem["dataset"]),
        "used_memory_startup:%d" % mem["startup"],
        "used_memory_dataset:%d" % mem["dataset"],
        "used_memory_dataset_perc:%.2f%%" % (100.0 * mem["dataset"] / max(1, used - mem["startup"])),
        # No allocator of its own to ask (pymalloc): what the allocator holds is taken to be
        # used_memory, and what is resident the RSS, so the allocator ratios below are 1 or RSS-based.
        "allocator_allocated:%d" % used,
        "allocator_active:%d" % used,
        "allocator_resident:%d" % rss,
        "total_system_memory:%d" % total,
        "total_system_memory_human:" + _human(total),
        *("%s:%s" % kv for kv in scripting.info_memory(e)),
        "maxmemory:%d" % maxmem,
        "maxmemory_human:" + _human(maxmem),
        "maxmemory_policy:" + e.config["maxmemory-policy"],
        "allocator_frag_ratio:1.00",
        "allocator_frag_bytes:0",
        "allocator_rss_ratio:%.2f" % (rss / used if used else 1.0),
        "allocator_rss_bytes:%d" % (rss - used),
        "rss_overhead_ratio:1.00",
        "rss_overhead_bytes:0",
        "mem_fragmentation_ratio:%.2f" % (rss / used if used else 1.0),
        "mem_fragmentation_bytes:%d" % (rss - used),
        "mem_not_counted_for_evict:%d" % mem.get("not_counted", 0),  # replicas' buffers, the backlog
        "mem_replication_backlog:%d" % len(e.replication.backlog),
        "mem_total_replication_buffers:%d" % e.replication.shared_buffer_bytes(),
        "mem_clients_slaves:%d" % e.replication.output_bytes(),
        "mem_clients_normal:%d" % sum(client_eviction.measure(e).values()),  # (CLIENT LIST tot-mem)
        "mem_cluster_links:0",
        "mem_aof_buffer:0",
        "mem_allocator:pymalloc",
        "active_defrag_running:0",
        "lazyfree_pending_objects:0",
        "lazyfreed_objects:%d" % e.stats["lazyfreed_objects"],
    ]


def _section_persistence(e) -> list[str]:
    return e.persistence.info_fields() + e.aof.info_fields()


def _section_stats(e) -> list[str]:
    s = e.stats
    exceeded = e.evictor.exceeded_ms()
    return [
        "total_connections_received:%d" % s["total_connections_received"],
        "total_commands_processed:%d" % e.total_commands(),
        "instantaneous_ops_per_sec:%d" % e.ops_per_sec(),
        "total_net_input_bytes:%d" % s["total_net_input_bytes"],
        "total_net_output_bytes:%d" % s["total_net_output_bytes"],
        "total_net_repl_input_bytes:%d" % s["total_net_repl_input_bytes"],
        "total_net_repl_output_bytes:%d" % s["total_net_repl_output_bytes"],
        "instantaneous_input_kbps:%.2f" % (e.rate(2) / 1024),
        "instantaneous_output_kbps:%.2f" % (e.rate(3) / 1024),
        "instantaneous_input_repl_kbps:%.2f" % (e.rate(4) / 1024),
        "instantaneous_output_repl_kbps:%.2f" % (e.rate(5) / 1024),
        "rejected_connections:%d" % s["rejected_connections"],
        "sync_full:%d" % e.replication.sync_full,
        "sync_partial_ok:%d" % e.replication.sync_partial_ok,
        "sync_partial_err:%d" % e.replication.sync_partial_err,
        "expired_keys:%d" % s["expired_keys"],
        "expired_stale_perc:0.00",
        "expired_time_cap_reached_count:%d" % s["expired_time_cap_reached_count"],
        "expire_cycle_cpu_milliseconds:%d" % s["expire_cycle_cpu_milliseconds"],
        "evicted_keys:%d" % s["evicted_keys"],
        "evicted_clients:%d" % s["evicted_clients"],
        "total_eviction_exceeded_time:%d" % exceeded[0],
        "current_eviction_exceeded_time:%d" % exceeded[1],
        "keyspace_hits:%d" % s["keyspace_hits"],
        "keyspace_misses:%d" % s["keyspace_misses"],
        "pubsub_channels:%d" % len(e.pubsub.channels),
        "pubsub_patterns:%d" % len(e.pubsub.patterns),
        "pubsubshard_channels:%d" % len(e.pubsub.shard_channels),
        "latest_fork_usec:%d" % e.persistence.latest_fork_usec,
        "total_forks:%d" % e.persistence.total_forks,
        "migrate_cached_sockets:%d" % migrate.cached_sockets(e),
        "slave_expires_tracked_keys:0",  # not tracked: keys a writable replica gave a TTL itself
        # respdb has no active defragmentation (as a Redis built without jemalloc's support)
        "active_defrag_hits:0",
        "active_defrag_misses:0",
        "active_defrag_key_hits:0",
        "active_defrag_key_misses:0",
        "total_active_defrag_time:0",
        "current_active_defrag_time:0",
        "tracking_total_keys:%d" % len(e.tracking.table),
        "tracking_total_items:%d" % e.tracking.items,
        "tracking_total_prefixes:%d" % len(e.tracking.prefixes),
        "unexpected_error_replies:%d" % s["unexpected_error_replies"],
        "total_error_replies:%d" % s["total_error_replies"],
        "dump_payload_sanitizations:%d" % s["dump_payload_sanitizations"],
        "total_reads_processed:%d" % s["total_reads_processed"],
        "total_writes_processed:%d" % s["total_writes_processed"],
        "io_threaded_reads_processed:0",  # (no I/O threads)
        "io_threaded_writes_processed:0",
        "reply_buffer_shrinks:%d" % s["reply_buffer_shrinks"],
        "reply_buffer_expands:%d" % s["reply_buffer_expands"],
    ]


def _section_replication(e) -> list[str]:
    repl = e.replication
    size = e.config.get_int("repl-backlog-size")
    first = repl.first_byte()
    return [
        "role:master" if repl.upstream is None else "role:slave",
        *repl.info(),
        "master_failover_state:" + e.failover.state,
        "master_replid:" + repl.replid,
        "master_replid2:" + repl.replid2,
        "master_repl_offset:%d" % repl.offset,
        "second_repl_offset:%d" % repl.second_offset,
        "repl_backlog_active:%d" % (1 if first else 0),
        "repl_backlog_size:%d" % size,
        "repl_backlog_first_byte_offset:%d" % first,
        "repl_backlog_histlen:%d" % (repl.offset - first + 1 if first else 0),
    ]


def _section_cpu(e) -> list[str]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return [
        "used_cpu_sys:%.6f" % me.ru_stime,
        "used_cpu_user:%.6f" % me.ru_utime,
        "used_cpu_sys_children:%.6f" % ch.ru_stime,
        "used_cpu_user_children:%.6f" % ch.ru_utime,
        "used_cpu_sys_main_thread:%.6f" % me.ru_stime,
        "used_cpu_user_main_thread:%.6f" % me.ru_utime,
    ]


def _section_commandstats(e) -> list[str]:
    out = []
    for cmd in e.table.all_commands():
        if cmd.calls or cmd.rejected_calls or cmd.failed_calls:
            usec = cmd.ns // 1000
            per = usec / cmd.calls if cmd.calls else 0.0
            out.append(
                "cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d"
                % (cmd.fullname, cmd.calls, usec, per, cmd.rejected_calls, cmd.failed_calls)
            )
    return out


def _section_errorstats(e) -> list[str]:
    return ["errorstat_%s:count=%d" % (k, v) for k, v in sorted(e.errorstats.items())]


def _section_latencystats(e) -> list[str]:
    return e.latency.info_lines()


def _section_keyspace(e) -> list[str]:
    out = []
    for db in e.dbs:
        if db.data:
            out.append("db%d:keys=%d,expires=%d,avg_ttl=0" % (db.id, len(db.data), len(db.expires)))
    return out


SECTIONS = {
    "server": ("Server", _section_server),
    "clients": ("Clients", _section_clients),
    "memory": ("Memory", _section_memory),
    "persistence": ("Persistence", _section_persistence),
    "stats": ("Stats", _section_stats),
    "replication": ("Replication", _section_replication),
    "cpu": ("CPU", _section_cpu),
    "modules": ("Modules", lambda e: []),
    "commandstats": ("Commandstats", _section_commandstats),
    "errorstats": ("Errorstats", _section_errorstats),
    "latencystats": ("Latencystats", _section_latencystats),
    "cluster": ("Cluster", lambda e: ["cluster_enabled:0"]),
    "keyspace": ("Keyspace", _section_keyspace),
}
DEFAULT = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules",
           "errorstats", "cluster", "keyspace"]  # fmt: skip
ALL = DEFAULT[:8] + ["commandstats"] + DEFAULT[8:9] + ["latencystats"] + DEFAULT[9:]


def info_text(e, args: list[bytes]) -> str:
    wanted: list[str] = []
    if not args:
        wanted = list(DEFAULT)
    for a in args:
        name = a.decode("utf-8", "surrogateescape").lower()
        if name == "default":
            wanted += DEFAULT
        elif name in ("all", "everything"):
            wanted += ALL
        elif name in SECTIONS:
            wanted.append(name)
    seen = set()
    parts = []
    for name in ALL:
        if name in wanted and name not in seen:
            seen.add(name)
            title, fn = SECTIONS[name]
            parts.append("# %s\r\n" % title + "".join(line + "\r\n" for line in fn(e)))
    return "\r\n".join(parts)


@command("info")
def cmd_info(c, argv):
    return verbatim(info_text(c.engine, argv[1:]).encode(), c.proto)


# ---------------------------------------------------------------------------
# CONFIG

container("config")

CONFIG_HELP = [
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
]


@command("config|help")
def cmd_config_help(c, argv):
    return help_reply(CONFIG_HELP)


@command("config|get")
def cmd_config_get(c, argv):
    cfg = c.engine.config
    found: dict[str, str] = {}
    for pat in argv[2:]:
        for name, value in cfg.get_matching(pat.decode("utf-8", "surrogateescape")):
            found.setdefault(name, value)
    body = []
    for name, value in found.items():
        body.append(bulk(name.encode()))
        body.append(bulk(value.encode("utf-8", "surrogateescape")))
    return map_(body, len(found), c.proto)


@command("config|set")
def cmd_config_set(c, argv):
    e = c.engine
    cfg = e.config
    if len(argv) % 2 != 0:
        raise CommandError(errors.wrong_args("config|set"))
    pairs = []
    seen = set()
    for j in range(2, len(argv), 2):
        raw = argv[j].decode("utf-8", "surrogateescape")
        name = cfg.canonical(raw)
        if name is None:
            raise CommandError("ERR Unknown option or number of arguments for CONFIG SET - '%s'" % raw)
        if name in IMMUTABLE:
            raise CommandError(
                "ERR CONFIG SET failed (possibly related to argument '%s') - can't set immutable config" % raw
            )
        if name in PROTECTED_CONFIGS:
            from respdb.engine import is_local

            allowed = cfg["enable-protected-configs"]
            if allowed == "no" or (allowed == "local" and not is_local(c)):
                raise CommandError(
                    "ERR CONFIG SET failed (possibly related to argument '%s') - can't set protected config" % raw
                )
        if (e.loading or e.persistence.async_loading) and name in ("dir", "appendonly"):  # DENY_LOADING_CONFIG
            raise CommandError("LOADING Redis is loading the dataset in memory")
        if name in seen:
            raise CommandError("ERR CONFIG SET failed (possibly related to argument '%s') - duplicate parameter" % raw)
        seen.add(name)
        pairs.append((raw, name, argv[j + 1].decode("utf-8", "surrogateescape")))
    old = {name: cfg.values[name] for _, name, _ in pairs}
    applied = []
    try:
        for raw, name, value in pairs:
            try:
                cfg.set(name, value)
            except ConfigError as err:
                raise CommandError(
                    "ERR CONFIG SET failed (possibly related to argument '%s') - %s" % (raw, err)
                ) from None
        for raw, name, _ in pairs:
            apply = cfg.appliers.get(name)
            if apply is not None and cfg.values[name] != old[name]:
                try:
                    apply(cfg.values[name])
                except ConfigError as err:
                    raise CommandError(
                        "ERR CONFIG SET failed (possibly related to argument '%s') - %s" % (raw, err)
                    ) from None
                applied.append(name)
    except CommandError:
        # Redis's restoreBackupConfig: the old values back, and what was applied applied again
        cfg.values.update(old)
        for name in applied:
            try:
                cfg.appliers[name](cfg.values[name])
            except ConfigError:
                pass
        raise
    e.apply_config()
    for _, name, _ in pairs:
        for listener in cfg.listeners:
            listener(name, cfg.values[name])
        if name not in cfg_active() and cfg.values[name] != cfg.defaults.get(name):
            e.log("warning", "CONFIG SET %s: stored, but respdb does not act on this parameter yet" % name)
    return OK


# Redis's PROTECTED_CONFIG parameters: CONFIG SET needs enable-protected-configs (yes, or local
# for a local connection), as DEBUG needs enable-debug-command.
PROTECTED_CONFIGS = ("dir", "dbfilename")


def cfg_active() -> set[str]:
    from respdb.config import ACTIVE

    return ACTIVE


@command("config|resetstat")
def cmd_config_resetstat(c, argv):
    c.engine.reset_stats()
    return OK


@command("config|rewrite")
def cmd_config_rewrite(c, argv):
    from respdb.config_rewrite import rewrite

    if not c.engine.config.file:
        raise CommandError("ERR The server is running without a config file")
    try:
        rewrite(c.engine)
    except OSError as err:
        c.engine.log("warning", "CONFIG REWRITE failed: %s" % err.strerror)
        raise CommandError("ERR Rewriting config file: %s" % err.strerror) from None
    c.engine.log("notice", "CONFIG REWRITE executed with success.")
    return OK


# ---------------------------------------------------------------------------
# SHUTDOWN / TIME


@command("shutdown")
def cmd_shutdown(c, argv):
    for a in argv[1:]:
        if a.lower() not in (b"nosave", b"save", b"now", b"force", b"abort"):
            raise CommandError(errors.SYNTAX)
    opts = {a.lower() for a in argv[1:]}
    if b"nosave" in opts and b"save" in opts:
        raise CommandError(errors.SYNTAX)
    if b"abort" in opts:
        if len(opts) > 1:
            raise CommandError(errors.SYNTAX)
        if not c.engine.shutdown.abort():
            raise CommandError("ERR No shutdown in progress.")
        return OK
    e = c.engine
    sd = e.shutdown
    if sd.stop is None:  # an engine without a server: nothing to stop
        raise CommandError(SHUTDOWN_ERROR)
    if b"now" not in opts and blocking_denied(c):
        raise CommandError("ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client")
    if not sd.initiated:
        if sd.prepare(frozenset(o.decode() for o in opts)):
            return b""  # the server is stopping: the connection closes without a reply
        if not sd.initiated:
            raise CommandError(SHUTDOWN_ERROR)
    # waiting for the replicas: an answer comes only if the shutdown fails or is aborted
    return e.blocking.block_shutdown(c, argv)


@command("time")
def cmd_time(c, argv):
    now = time.time_ns() // 1000
    return b"*2\r\n" + bulk(b"%d" % (now // 1_000_000)) + bulk(b"%d" % (now % 1_000_000))
