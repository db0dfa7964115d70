"""REPLICAOF/SLAVEOF, SYNC, PSYNC and REPLCONF (respdb/replication.py is the master side,
respdb/replica.py the replica side), and ROLE, WAIT and FAILOVER.

WAIT counts the replicas whose REPLCONF ACK reached the stream offset at the time of the call,
asking them with REPLCONF GETACK. FAILOVER, after Redis's argument checks, finds no replica it
could hand over to: coordinated failover is not implemented.
"""

from __future__ import annotations

import time

from respdb import errors
from respdb.blocking import blocking_denied, parse_timeout
from respdb.commands.args import get_int, parse_ll
from respdb.commands.connection import client_info_line
from respdb.commands.table import command
from respdb.errors import CommandError
from respdb.failover import NO_FAILOVER
from respdb.resp import OK, array, bulk, integer


@command("role")
def cmd_role(c, argv):
    repl = c.engine.replication
    up = repl.upstream
    if up is not None:
        offset = repl.offset if up.client is not None else -1
        return (
            b"*5\r\n$5\r\nslave\r\n" + bulk(up.host.encode()) + integer(up.port)
            + bulk(up.role_state().encode()) + integer(offset)
        )  # fmt: skip
    return b"*3\r\n$6\r\nmaster\r\n" + integer(repl.offset) + array([array([bulk(x) for x in r]) for r in repl.role()])


@command("replicaof", "slaveof")
def cmd_replicaof(c, argv):
    e = c.engine
    if e.config["cluster-enabled"] == "yes":
        raise CommandError("ERR REPLICAOF not allowed in cluster mode.")
    repl = e.replication
    host, port_arg = argv[1], argv[2]
    if host.lower() == b"no" and port_arg.lower() == b"one":
        if repl.upstream is not None:
            repl.unset_master()
            e.log("notice", "MASTER MODE enabled (user request from '%s')" % _who(c))
        return OK
    if c.kind == "replica":
        raise CommandError("ERR Command is not valid when client is a replica.")
    port = get_int(port_arg)
    text = host.decode("utf-8", "surrogateescape")
    up = repl.upstream
    if up is not None and up.host.lower() == text.lower() and up.port == port:
        e.log("notice", "REPLICAOF would result into synchronization with the master we are already "
              "connected with. No operation performed.")  # fmt: skip
        return b"+OK Already connected to specified master\r\n"
    repl.set_master(text, port)
    e.log("notice", "REPLICAOF %s:%d enabled (user request from '%s')" % (text, port, _who(c)))
    return OK


def _who(c) -> str:
    from respdb.commands.connection import client_info_line

    return client_info_line(c).decode("utf-8", "replace")


@command("sync")
def cmd_sync(c, argv):
    return _sync(c, None)


@command("psync")
def cmd_psync(c, argv):
    e = c.engine
    if "S" in c.flags:
        return b""  # already a replica: ignored, as Redis does
    if len(argv) > 3 and argv[3].lower() == b"failover":
        # our master hands us its role: we continue its history as a master (FAILOVER)
        if argv[1].decode("latin-1").lower() != e.replication.replid:
            raise CommandError("ERR PSYNC FAILOVER replid must match my replid.")
        e.replication.unset_master()
        info = client_info_line(c).decode("utf-8", "replace").rstrip("\n")
        e.log("notice", "MASTER MODE enabled (failover request from '%s')" % info)
    want = parse_ll(argv[2])
    if want is None:
        c.engine.log("warning", "Replica %s asks for synchronization but with a wrong offset" % c.addr)
        raise CommandError(errors.NOT_INTEGER)
    return _sync(c, (argv[1].decode("latin-1"), want))


def _sync(c, psync: tuple[str, int] | None) -> bytes:
    e = c.engine
    repl = e.replication
    if c.kind == "replica" or c.id in repl.replicas:
        return b""  # already a replica: ignored, as Redis does
    if e.failover.state != NO_FAILOVER:
        raise CommandError("NOMASTERLINK Can't SYNC while failing over")
    up = repl.upstream
    if up is not None and up.state != "connected":
        raise CommandError("NOMASTERLINK Can't SYNC while not connected with my master")
    conn = c.conn
    if conn is not None and conn.output_size():
        raise CommandError("ERR SYNC and PSYNC are invalid with pending output")
    if psync is not None:
        replid, want = psync
        reply = repl.try_partial(c, replid, want)
        if reply is not None:
            return reply
        if replid != "?":
            repl.sync_partial_err += 1
    return repl.full_sync(c, psync is not None)


@command("replconf")
def cmd_replconf(c, argv):
    n = len(argv)
    if n % 2 == 0:
        raise CommandError(errors.SYNTAX)
    repl = c.engine.replication
    for j in range(1, n, 2):
        opt = argv[j].lower()
        value = argv[j + 1]
        if opt == b"listening-port":
            port = get_int(value)
            repl.conf(c).listening_port = port
        elif opt == b"ip-address":
            if len(value) >= 46:  # NET_HOST_STR_LEN
                raise CommandError(
                    "ERR REPLCONF ip-address provided by replica instance is too long: %d bytes" % len(value)
                )
            repl.conf(c).ip = value.decode("latin-1")
        elif opt == b"capa":
            repl.conf(c).capa.add(value.lower())
        elif opt == b"ack":
            # from a replica: its processed offset; never answered
            r = repl.replicas.get(c.id)
            if r is not None:
                offset = parse_ll(value)
                if offset is not None and offset > r.ack_offset:
                    r.ack_offset = offset
                r.ack_time = time.monotonic()
                if r.state == "wait_ack":
                    repl.online(r)
                if repl.waiting:
                    repl.on_ack()
            return b""
        elif opt == b"getack":
            # from our master: ACK at once (the offset before this command, as in Redis)
            if c.kind == "master" and repl.upstream is not None:
                repl.upstream.send_ack()
            return b""
        elif opt == b"rdb-only":
            if value not in (b"0", b"1"):
                raise CommandError(errors.SYNTAX)
        elif opt == b"rdb-filter-only":
            # the parts of the snapshot to send: "" (none) or "functions" (redis-cli --functions-rdb)
            parts = set()
            for f in value.split():
                if f.lower() != b"functions":
                    raise CommandError("ERR Unsupported rdb-filter-only option: %s" % f.decode("latin-1"))
                parts.add("functions")
            repl.conf(c).rdb_filter = parts
        else:
            raise CommandError("ERR Unrecognized REPLCONF option: %s" % argv[j].decode("latin-1"))
    return OK


@command("wait")
def cmd_wait(c, argv):
    e = c.engine
    repl = e.replication
    if repl.upstream is not None:
        raise CommandError("ERR WAIT cannot be used with replica instances. Please also note that since "
                           "Redis 4.0 if a replica is configured to be writable (which is not the default) "
                           "writes to replicas are just local and are not propagated.")  # fmt: skip
    numreplicas = get_int(argv[1])
    timeout = parse_timeout(argv[2], seconds=False)
    acked = repl.acked(repl.offset)
    if acked >= numreplicas or blocking_denied(c):
        return integer(acked)
    reply = e.blocking.block(c, [], timeout, argv, integer(acked))
    repl.wait_for(c, numreplicas)
    return reply


@command("failover")
def cmd_failover(c, argv):
    e = c.engine
    fo = e.failover
    if len(argv) == 2 and argv[1].lower() == b"abort":
        if fo.state == NO_FAILOVER:
            raise CommandError("ERR No failover in progress.")
        fo.abort("Failover manually aborted")
        return OK
    timeout_ms = 0
    port = 0
    force = False
    host = None
    j = 1
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        if opt == b"timeout" and j + 1 < n and timeout_ms == 0:
            timeout_ms = get_int(argv[j + 1])
            if timeout_ms <= 0:
                raise CommandError("ERR FAILOVER timeout must be greater than 0")
            j += 1
        elif opt == b"to" and j + 2 < n and host is None:
            port = get_int(argv[j + 2])
            host = argv[j + 1].decode("utf-8", "surrogateescape")
            j += 2
        elif opt == b"force" and not force:
            force = True
        else:
            raise CommandError("ERR syntax error")
        j += 1
    repl = e.replication
    if fo.state != NO_FAILOVER:
        raise CommandError("ERR FAILOVER already in progress.")
    if repl.upstream is not None:
        raise CommandError("ERR FAILOVER is not valid when server is a replica.")
    if not repl.replicas:
        raise CommandError("ERR FAILOVER requires connected replicas.")
    if force and (not timeout_ms or host is None):
        raise CommandError("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
    if host is not None:
        r = fo.find_replica(host, port)
        if r is None:
            raise CommandError("ERR FAILOVER target HOST and PORT is not a replica.")
        if r.state != "online":
            raise CommandError("ERR FAILOVER target replica is not online.")
    fo.start(host, port, timeout_ms, force)
    return OK
