"""Configuration: redis.conf syntax, redis-server's command line, CONFIG GET/SET.

Parameter names and defaults are Redis 7.0's (data/config_defaults.tsv, taken from a
stock server). Each parameter is either acted on by respdb (ACTIVE) or only stored;
setting a stored-only parameter to a non-default value logs a warning saying so, and
INFO/docs list them, so nothing is silently pretended.
"""

from __future__ import annotations

import fnmatch
import os
import re
from importlib import resources
from typing import Any

from respdb.resp import split_inline
from respdb.tls import ACTIVE as TLS_ACTIVE

# Parameters whose values respdb acts on.
ACTIVE = {
    "min-replicas-to-write", "min-replicas-max-lag", "repl-ping-replica-period",
    "replicaof", "masterauth", "masteruser", "replica-read-only", "replica-serve-stale-data",
    "repl-backlog-size", "repl-backlog-ttl", "repl-timeout", "replica-announce-ip", "replica-announce-port",
    "replica-ignore-maxmemory", "replica-priority", "replica-announced", "enable-module-command",
    "rdb-key-save-delay", "key-load-delay", "oom-score-adj", "oom-score-adj-values", "watchdog-period",
    "port", "bind", "unixsocket", "unixsocketperm", "databases", "loglevel", "logfile",
    "dir", "maxclients", "maxmemory", "maxmemory-policy", "maxmemory-samples", "maxmemory-eviction-tenacity",
    "proto-max-bulk-len", "client-query-buffer-limit", "hz",
    "timeout", "requirepass", "enable-debug-command", "daemonize", "tcp-backlog",
    "protected-mode", "tcp-keepalive", "pidfile", "active-expire-effort", "dynamic-hz",
    "save", "appendonly", "lazyfree-lazy-user-flush", "lazyfree-lazy-user-del",
    "lazyfree-lazy-server-del", "lazyfree-lazy-expire", "lazyfree-lazy-eviction",
    "notify-keyspace-events", "always-show-logo", "set-proc-title", "proc-title-template", "supervised",
    "zset-max-listpack-entries", "zset-max-listpack-value",
    "hll-sparse-max-bytes",
    "dbfilename", "rdbcompression", "rdbchecksum", "stop-writes-on-bgsave-error", "shutdown-on-sigterm",
    "shutdown-on-sigint", "appendfsync", "appenddirname", "appendfilename", "aof-use-rdb-preamble",
    "aof-load-truncated", "auto-aof-rewrite-percentage", "auto-aof-rewrite-min-size",
    "aof-timestamp-enabled", "hash-max-listpack-entries", "hash-max-listpack-value", "set-max-intset-entries",
    "list-max-listpack-size", "stream-node-max-bytes", "stream-node-max-entries", "busy-reply-threshold",
    "client-output-buffer-limit", "maxmemory-clients", "lfu-log-factor", "lfu-decay-time", "tracking-table-max-keys",
    "slowlog-log-slower-than", "slowlog-max-len", "latency-monitor-threshold", "latency-tracking",
    "latency-tracking-info-percentiles", "aclfile", "acllog-max-len", "acl-pubsub-default", "enable-protected-configs",
    "aof-disable-auto-gc", "repl-diskless-sync", "repl-diskless-sync-delay", "repl-diskless-sync-max-replicas",
    "repl-diskless-load", "shutdown-timeout", "bind-source-addr",
} | TLS_ACTIVE  # fmt: skip

# Defaults that differ from the reference file (which was taken from one particular run).
RUN_DEFAULTS = {
    "port": "6379",
    "logfile": "",
    "save": "3600 1 300 100 60 10000",
    "bind": "* -::*",
    "dir": "",
    "pidfile": "",
    "daemonize": "no",
}

ALIASES = {
    "slave-announce-port": "replica-announce-port",
    "slave-announce-ip": "replica-announce-ip",
    "slave-ignore-maxmemory": "replica-ignore-maxmemory",
    "slave-lazy-flush": "replica-lazy-flush",
    "slave-priority": "replica-priority",
    "slave-read-only": "replica-read-only",
    "slave-serve-stale-data": "replica-serve-stale-data",
    "slaveof": "replicaof",
    "hash-max-ziplist-entries": "hash-max-listpack-entries",
    "hash-max-ziplist-value": "hash-max-listpack-value",
    "list-max-ziplist-size": "list-max-listpack-size",
    "zset-max-ziplist-entries": "zset-max-listpack-entries",
    "zset-max-ziplist-value": "zset-max-listpack-value",
    "lua-time-limit": "busy-reply-threshold",
    "min-slaves-to-write": "min-replicas-to-write",
    "min-slaves-max-lag": "min-replicas-max-lag",
    "repl-ping-slave-period": "repl-ping-replica-period",
    "cluster-slave-no-failover": "cluster-replica-no-failover",
    "cluster-slave-validity-factor": "cluster-replica-validity-factor",
}

# enum parameters that take several of their values at once (Redis's multi-arg enums)
MULTI_ENUMS = ("shutdown-on-sigint", "shutdown-on-sigterm")

ENUMS = {
    "loglevel": ["debug", "verbose", "notice", "warning"],
    "maxmemory-policy": [
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
        "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction",
    ],
    "appendfsync": ["everysec", "always", "no"],
    "supervised": ["upstart", "systemd", "auto", "no"],
    "enable-debug-command": ["no", "yes", "local"],
    "enable-protected-configs": ["no", "yes", "local"],
    "enable-module-command": ["no", "yes", "local"],
    "repl-diskless-load": ["disabled", "on-empty-db", "swapdb"],
    "sanitize-dump-payload": ["no", "yes", "clients"],
    "cluster-preferred-endpoint-type": ["ip", "hostname", "unknown-endpoint"],
    "propagation-error-behavior": ["ignore", "panic", "panic-on-replicas"],
    "oom-score-adj": ["no", "yes", "relative", "absolute"],
    "shutdown-on-sigint": ["default", "save", "nosave", "now", "force"],
    "shutdown-on-sigterm": ["default", "save", "nosave", "now", "force"],
    "tls-auth-clients": ["no", "yes", "optional"],
}  # fmt: skip

# Can only be given at start-up (CONFIG SET refuses them, as Redis does).
IMMUTABLE = {
    "daemonize", "databases", "unixsocket", "unixsocketperm", "logfile", "syslog-enabled",
    "syslog-ident", "syslog-facility", "supervised", "pidfile", "io-threads",
    "io-threads-do-reads", "cluster-enabled", "cluster-config-file", "cluster-port",
    "aclfile", "appendfilename", "appenddirname", "set-proc-title", "always-show-logo",
    "tcp-backlog", "disable-thp", "enable-debug-command", "enable-module-command",
    "enable-protected-configs", "aof_rewrite_cpulist", "bgsave_cpulist", "bio_cpulist",
    "server_cpulist", "rdbchecksum",
}  # fmt: skip

# Redis 7.0's hidden parameters: CONFIG GET/SET by exact name only, never matched by a pattern
# (test and debugging knobs; respdb stores them).
HIDDEN = {
    "use-exit-on-panic": "no",
    "rdb-key-save-delay": "0",
    "key-load-delay": "0",
    "watchdog-period": "0",
    "loading-process-events-interval-bytes": "2097152",
}

_MEM_RE = re.compile(r"^(-?\d+)([kmg]b?|b)?$", re.I)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}


class ConfigError(Exception):
    pass


def parse_memory(value: str) -> int | None:
    m = _MEM_RE.match(value.strip())
    if not m:
        return None
    return int(m.group(1)) * _UNITS[(m.group(2) or "").lower()]


def load_defaults() -> dict[str, str]:
    text = resources.files("respdb").joinpath("data/config_defaults.tsv").read_text()
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("\t")
        out[name] = value
    out.update(RUN_DEFAULTS)
    out.update(HIDDEN)
    out["dir"] = os.getcwd()
    return out


class Config:
    def __init__(self) -> None:
        self.defaults = load_defaults()
        self.values = dict(self.defaults)
        self.kinds = {name: _kind(name, v) for name, v in self.defaults.items()}
        self.file: str = ""
        self.listeners: list[Any] = []  # callables(name, value) run after a change
        # name -> callable(value) that puts a CONFIG SET into effect and raises ConfigError when
        # it can't (the value is then rolled back): the network layer's port and bind
        self.appliers: dict[str, Any] = {}
        self.users: list[list[bytes]] = []  # `user <name> <rules...>` directives, loaded by acl.py
        self.renames: list[tuple[str, str]] = []  # `rename-command <name> <new name or "">`
        self._saves_seen = False  # a `save` directive was read (see apply_directive)

    # -- access ------------------------------------------------------------

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    def get_int(self, name: str) -> int:
        v = self.values[name]
        mem = parse_memory(v)
        return mem if mem is not None else int(v)

    def get_bool(self, name: str) -> bool:
        return self.values[name] == "yes"

    def canonical(self, name: str) -> str | None:
        name = name.lower()
        name = ALIASES.get(name, name)
        return name if name in self.values else None

    # -- setting -----------------------------------------------------------

    def validate(self, name: str, value: str) -> str:
        """Return the normalized value or raise ConfigError with Redis's reason."""
        kind = self.kinds.get(name, "string")
        if kind == "bool":
            v = value.lower()
            if v not in ("yes", "no"):
                raise ConfigError("argument must be 'yes' or 'no'")
            return v
        if kind == "enum":
            v = value.lower()
            if name in MULTI_ENUMS:  # several flags at once ("nosave now"), shown in table order
                words = v.split()
                if not words or any(w not in ENUMS[name] for w in words):
                    raise ConfigError("argument(s) must be one of the following: " + ", ".join(ENUMS[name]))
                flags = [w for w in ENUMS[name] if w in words and w != "default"]
                return " ".join(flags) or "default"
            if v not in ENUMS[name]:
                raise ConfigError("argument(s) must be one of the following: " + ", ".join(ENUMS[name]))
            return v
        if name == "oom-score-adj-values":
            from respdb.oom import validate_values

            return validate_values(value)
        if name == "client-output-buffer-limit":
            _check_output_limits(value)
            return value
        if name == "maxmemory-clients":  # Redis 7.0's one memory-or-percent parameter
            if value.endswith("%"):
                digits = value[:-1]
                if not digits.isdigit() or (len(digits) > 1 and digits[0] == "0"):
                    raise ConfigError("argument must be a memory or percent value")
                if int(digits) > 100:
                    raise ConfigError("percentage argument must be less or equal to 100")
                return value if digits != "0" else "0"
            mem = parse_memory(value)
            if mem is None or mem < 0:
                raise ConfigError("argument must be a memory or percent value")
            return str(mem)
        if kind == "memory":
            mem = parse_memory(value)
            if mem is None or mem < 0:
                raise ConfigError("argument must be a memory value")
            if name in _RANGES and not _RANGES[name][0] <= mem <= _RANGES[name][1]:
                raise ConfigError("argument must be between %d and %d inclusive" % _RANGES[name])
            return str(mem)
        if kind == "int":
            try:
                n = int(value)
            except ValueError:
                raise ConfigError("argument couldn't be parsed into an integer") from None
            lo, hi = _RANGES.get(name, (-(2**63), 2**63 - 1))
            if not lo <= n <= hi:
                raise ConfigError("argument must be between %d and %d inclusive" % (lo, hi))
            return str(n)
        if name == "save":
            parts = value.split()
            if len(parts) % 2 or not all(p.isdigit() for p in parts):
                raise ConfigError("Invalid save parameters")
            return " ".join(parts)
        if name == "notify-keyspace-events":
            from respdb.notify import flags_to_string, parse_flags

            flags = parse_flags(value)
            if flags is None:
                raise ConfigError("Invalid event class character. Use 'Ag$lshzxeKEtmd'.")
            return flags_to_string(flags)
        if name == "latency-tracking-info-percentiles":
            from respdb.latency import format_percentile, parse_percentiles

            return " ".join(format_percentile(p) for p in parse_percentiles(value))
        if name == "proc-title-template":
            from respdb import proctitle

            if not proctitle.valid(value, self):
                raise ConfigError(proctitle.INVALID)
            return value
        if name == "dir":
            try:
                os.chdir(value)
            except OSError as e:
                raise ConfigError(e.strerror or str(e)) from None
            return os.getcwd()
        return value

    def set(self, name: str, value: str) -> None:
        """Set one parameter (name already canonical); raises ConfigError."""
        value = self.validate(name, value)
        if name == "client-output-buffer-limit":
            value = _merge_output_limits(self.values.get(name, ""), value)
        self.values[name] = value

    def get_matching(self, pattern: str) -> list[tuple[str, str]]:
        pat = pattern.lower()
        out = []
        if not any(c in pat for c in "*?["):
            name = ALIASES.get(pat, pat)
            if name in self.values:
                return [(pat, self.values[name])]
            return []
        for name, value in self.values.items():
            if fnmatch.fnmatchcase(name, pat) and name not in HIDDEN:
                out.append((name, value))
        for alias, name in ALIASES.items():
            if fnmatch.fnmatchcase(alias, pat) and name in self.values:
                out.append((alias, self.values[name]))
        return out

    def not_acted_on(self) -> list[str]:
        """Parameters set away from their default that respdb stores but does not act on."""
        return sorted(n for n, v in self.values.items() if n not in ACTIVE and v != self.defaults.get(n))

    # -- config file and command line --------------------------------------

    def load_file(self, path: str) -> int:
        """Load a configuration file; returns its number of newlines (see load_argv)."""
        self.file = os.path.abspath(path)
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        self.load_text(text, path)
        return text.count("\n")

    def load_text(self, text: str, origin: str = "config", first: int = 1) -> None:
        """Apply configuration lines; errors name the line as number `first` + its index."""
        for lineno, raw in enumerate(text.splitlines(), first):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = split_inline(line.encode("utf-8", "surrogateescape"))
            try:
                if parts is None:
                    raise ConfigError("Unbalanced quotes in configuration line")
                args = [p.decode("utf-8", "surrogateescape") for p in parts]
                self.apply_directive(args[0], args[1:], f"{origin}:{lineno}")
            except ConfigError as err:
                if getattr(err, "located", False):
                    raise
                # Redis's report: where, the line, and why
                located = ConfigError("Reading the configuration file, at line %d\n>>> '%s'\n%s" % (lineno, line, err))
                located.located = True  # type: ignore[attr-defined]
                raise located from None

    def apply_directive(self, name: str, args: list[str], where: str) -> None:
        lname = name.lower()
        if lname == "include":
            for a in args:
                self.load_file(a)
            return
        if lname == "rename-command":
            if len(args) != 2:
                raise ConfigError("Bad directive or wrong number of arguments")
            from respdb.commands.table import TABLE

            known = {n for n in TABLE.commands} | {new for _, new in self.renames if new}
            known -= {old for old, _ in self.renames}
            if args[0].lower() not in known:
                raise ConfigError("No such command in rename-command")
            if args[1] and args[1].lower() in known:
                raise ConfigError("Target command name already exists")
            self.renames.append((args[0].lower(), args[1].lower()))
            return
        if lname == "user" and args:
            from respdb.acl import validate_user_directive

            raw = [a.encode("utf-8", "surrogateescape") for a in args]
            problem = validate_user_directive(raw, [u[0] for u in self.users])
            if problem is not None:
                raise ConfigError(problem)
            self.users.append(raw)
            return
        canon = self.canonical(lname)
        if canon is None:
            raise ConfigError("Bad directive or wrong number of arguments")
        if canon == "replicaof":
            if len(args) != 2:
                raise ConfigError("wrong number of arguments")
            if not (args[0].lower() == "no" and args[1].lower() == "one"):
                port = args[1]  # strtol with nothing left over, 0..65535
                digits = port[1:] if port[:1] in "+-" else port
                if not digits.isdigit() or not 0 <= int(port) <= 65535:
                    raise ConfigError("Invalid master port")
        multi = ("save", "bind", "client-output-buffer-limit", "replicaof", "latency-tracking-info-percentiles")
        if canon in multi or canon in MULTI_ENUMS:
            value = " ".join(args)
        elif len(args) != 1:
            raise ConfigError("wrong number of arguments")
        else:
            value = args[0]
        if canon == "save" and value in ('""', "''"):
            value = ""
        if canon == "save" and value:
            # the first `save` of a load replaces the built-in save points, later ones add to it
            if self._saves_seen:
                value = (self.values.get("save", "") + " " + value).strip()
            self._saves_seen = True
        self.set(canon, value)

    def load_argv(self, argv: list[str]) -> None:
        """redis-server [configfile] [--name value ...] [-] (stdin config), parsed as Redis
        does: each `--name` starts a line of the configuration, the arguments after it are its
        values (quoted), and `--name value` may also come as one argument. A `--` argument right
        after a bare option name is that option's value (`--port --bla` sets port to "--bla");
        `--save` with nothing after it means `save ""`.

        Redis reads the file, stdin and then a newline and the options as one text, so an
        error's line number counts on from the file's lines (the first option is line 2
        without a file); so does respdb's report."""
        i = 0
        base = 0  # newlines before the options in Redis's concatenated text
        if argv and not argv[0].startswith("--") and argv[0] != "-":
            base = self.load_file(argv[0])
            i = 1
        lines: list[str] = []
        handled = True  # the last option name has its value (Redis's handled_last_config_arg)
        n = len(argv)
        while i < n:
            a = argv[i]
            if a == "-" and (i == 0 or i == n - 1):
                import sys

                text = sys.stdin.read()
                self.load_text(text, "stdin", base + 1)
                base += text.count("\n")
            elif handled and a.startswith("--"):
                lines.append(a[2:] + " ")
                parts = split_inline(a.encode("utf-8", "surrogateescape")) or []
                if len(parts) <= 1:  # just the name: what follows is its value
                    handled = False
                    if a.lower() == "--save" and (i == n - 1 or argv[i + 1].startswith("--")):
                        lines[-1] += '""'
                        handled = True
                else:
                    handled = True
            else:
                if not lines:
                    lines.append("")  # (Redis accepts `loglevel verbose` without the dashes too)
                lines[-1] += repr_arg(a, always=True) + " "
                handled = True
            i += 1
        if lines:
            self.load_text("\n".join(lines), "command line", base + 2)


def repr_arg(value: str, always: bool = False) -> str:
    """A value as a configuration-line argument: quoted and escaped the way Redis's sdscatrepr
    does when it needs to be (or `always`, as redis-server does for command-line values)."""
    if not always and value and not any(ch in value for ch in " \t\"'\\\r\n") and value.isprintable():
        return value
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif not ch.isprintable():
            out.append("\\x%02x" % (ord(ch) & 0xFF))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_RANGES = {
    "databases": (1, 2**31 - 1),
    "rdb-key-save-delay": (-(2**31), 2**31 - 1),
    "key-load-delay": (-(2**31), 2**31 - 1),
    "watchdog-period": (0, 2**31 - 1),
    "loading-process-events-interval-bytes": (1024, 2**31 - 1),
    "port": (0, 65535),
    "tls-port": (0, 65535),
    "tls-session-cache-size": (0, 2**31 - 1),
    "tls-session-cache-timeout": (0, 2**31 - 1),
    "hz": (0, 2**31 - 1),  # clamped to 1..500 where used, as Redis does
    "maxclients": (1, 2**32 - 1),
    "timeout": (0, 2**31 - 1),
    "active-expire-effort": (1, 10),
    "tcp-keepalive": (0, 2**31 - 1),
    "tcp-backlog": (0, 2**31 - 1),
    "proto-max-bulk-len": (1024 * 1024, 2**63 - 1),
    "client-query-buffer-limit": (1024 * 1024, 2**63 - 1),
    "slowlog-log-slower-than": (-1, 2**63 - 1),
    "slowlog-max-len": (0, 2**63 - 1),
    "latency-monitor-threshold": (0, 2**63 - 1),
}

_MEMORY_NAMES = {
    "maxmemory", "proto-max-bulk-len", "client-query-buffer-limit", "maxmemory-clients",
    "auto-aof-rewrite-min-size", "repl-backlog-size", "active-defrag-ignore-bytes",
    "hll-sparse-max-bytes", "stream-node-max-bytes", "hash-max-listpack-value",
    "zset-max-listpack-value", "set-max-intset-entries",
}  # fmt: skip


def _kind(name: str, default: str) -> str:
    if name in ENUMS:
        return "enum"
    if default in ("yes", "no") and name not in ("save",):
        return "bool"
    if name in _MEMORY_NAMES:
        return "memory"
    if re.fullmatch(r"-?\d+", default or "x") and name not in ("unixsocketperm",):
        return "int"
    return "string"


_LIMIT_CLASSES = ("normal", "slave", "pubsub")


def _check_output_limits(value: str) -> None:
    """Redis's checks of a client-output-buffer-limit value: all of it is taken, or none."""
    parts = value.split()
    if len(parts) % 4:
        raise ConfigError("Wrong number of arguments in buffer limit configuration.")
    for i in range(0, len(parts), 4):
        if parts[i].lower() not in ("normal", "slave", "replica", "pubsub"):
            raise ConfigError("Invalid client class specified in buffer limit configuration.")
        hard, soft, secs = parts[i + 1 : i + 4]
        if parse_memory(hard) is None or parse_memory(soft) is None or not secs.isdigit():
            raise ConfigError("Error in hard, soft or soft_seconds setting in buffer limit configuration.")


def _merge_output_limits(current: str, new: str) -> str:
    """client-output-buffer-limit sets only the classes it names (as Redis: several lines or
    CONFIG SETs each change theirs); the value keeps normal, slave, pubsub in that order."""
    limits = {}
    for text in (current, new):
        parts = text.split()
        for i in range(0, len(parts) - 3, 4):
            cls = parts[i].lower()
            hard, soft, secs = parts[i + 1 : i + 4]
            sizes = [parse_memory(x) for x in (hard, soft)]  # shown in bytes, as Redis does
            limits["slave" if cls == "replica" else cls] = [
                str(n) if n is not None else x for n, x in zip(sizes, (hard, soft), strict=True)
            ] + [secs]
    return " ".join(" ".join([c, *limits[c]]) for c in _LIMIT_CLASSES if c in limits)
