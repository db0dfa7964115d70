"""`respdb-server [configfile] [--directive value ...]`, like redis-server."""

from __future__ import annotations

import asyncio
import os
import sys

from respdb import REDIS_VERSION, __version__, proctitle, supervision
from respdb.config import Config, ConfigError

USAGE = """Usage: respdb-server [/path/to/redis.conf] [options] [-]
       respdb-server - (read config from stdin)
       respdb-server -v or --version
       respdb-server -h or --help

Examples:
       respdb-server (run the server with default config)
       respdb-server /etc/redis/6379.conf
       respdb-server --port 7777
       respdb-server /etc/myredis.conf --loglevel verbose
"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-v", "--version"):
        print(f"respdb server v={__version__} (Redis {REDIS_VERSION} compatible)")
        return 0
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    config = Config()
    try:
        config.load_argv(argv)
    except (ConfigError, OSError) as err:
        sys.stderr.write("\n*** FATAL CONFIG FILE ERROR (respdb) ***\n%s\n" % err)
        return 1
    if config["daemonize"] == "yes":
        supervision.daemonize(config)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a declared dependency
        uvloop = None
    coro = run(config)
    if uvloop is not None:
        return uvloop.run(coro)
    return asyncio.run(coro)


async def run(config: Config) -> int:
    from respdb.engine import Engine
    from respdb.net import Server

    engine = Engine(config)
    logfile = config["logfile"]
    if logfile:
        engine.logfile = open(logfile, "a", buffering=1)  # noqa: SIM115 - lives as long as the server
    else:
        engine.logfile = sys.stdout  # logfile "": standard output, as redis-server
    engine.log("notice", f"respdb {__version__} starting (Redis {REDIS_VERSION} compatible), pid={os.getpid()}")
    if config.file:
        engine.log("notice", f"Configuration loaded from {config.file}")
    for name in config.not_acted_on():
        engine.log("warning", f"Parameter '{name}' is stored but respdb does not act on it yet")
    server = Server(engine)
    try:
        await server.start()
    except (RuntimeError, OSError) as err:
        engine.log("warning", str(err))
        if "listening socket" in str(err):  # (the words Redis's test harness looks for)
            engine.log("warning", "Failed listening on port %s (TCP), aborting." % config["port"])
        return 1
    pidfile = config["pidfile"]
    if pidfile:
        with open(pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")
    engine.tcp_port = server.bound_port() or engine.tcp_port
    engine.oom.apply()  # oom-score-adj from the configuration
    engine.watchdog.apply(engine.config["watchdog-period"])
    if config["set-proc-title"] == "yes":
        proctitle.set_title(config)
    if config["always-show-logo"] == "yes":
        _banner(engine)
    engine.log("notice", f"Server initialized, listening on port {engine.tcp_port}")
    # The dataset is loaded while listening: clients get -LOADING until it is in place.
    stopping = server.stopping.is_set if server.stopping is not None else None
    if not await engine.persistence.load_at_startup_async() or not await engine.aof.load_at_startup_async(stopping):
        server.abandon()
        await server.wait_closed()
        if pidfile:
            os.unlink(pidfile)
        return 1
    if stopping is None or not stopping():  # not stopped by a signal during the load
        engine.log("notice", "Ready to accept connections")
        master = config["replicaof"].split()
        if len(master) == 2 and master[1].isdigit():  # `replicaof <host> <port>`
            engine.replication.set_master(master[0], int(master[1]))
        supervision.ready(engine)
    await server.wait_closed()
    engine.aof.shutdown()
    if pidfile:
        try:
            os.unlink(pidfile)
        except OSError:
            pass
    return server.exit_code


def _banner(engine) -> None:
    """always-show-logo: a few raw lines that say what runs where (Redis prints its logo, with
    the same facts, and tools such as Redis's test harness look for its `PID:` line)."""
    lines = [
        "",
        f"    respdb {__version__} - Redis {REDIS_VERSION} compatible, 64 bit",
        "    Running in standalone mode",
        f"    Port: {engine.tcp_port}",
        f"    PID: {os.getpid()}",
        "",
    ]
    try:
        engine.logfile.write("\n".join(lines) + "\n")
        engine.logfile.flush()
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
