"""SYNC, PSYNC and REPLCONF (the master side, respdb/replication.py), and ROLE, WAIT and FAILOVER.

respdb is always a master. Replicas attach with SYNC or PSYNC (always a full resynchronization)
and get the command stream; they do not acknowledge writes in a way WAIT counts yet, so WAIT
returns 0 (after blocking for its timeout when it asked for at least one replica), and FAILOVER,
after Redis's argument checks, finds no replica it could hand over to.
"""

from __future__ import annotations

import time

from respdb import errors
from respdb.blocking import blocking_denied, parse_timeout
from respdb.commands.args import get_int, parse_ll
from respdb.commands.table import command
from respdb.errors import CommandError
from respdb.resp import OK, array, bulk, integer

_NO_ACKS = b":0\r\n"  # replicas that acknowledged the client's writes: none


@command("role")
def cmd_role(c, argv):
    repl = c.engine.replication
    return b"*3\r\n$6\r\nmaster\r\n" + integer(repl.offset) + array([array([bulk(x) for x in r]) for r in repl.role()])


@command("sync")
def cmd_sync(c, argv):
    return _sync(c, False)


@command("psync")
def cmd_psync(c, argv):
    if parse_ll(argv[2]) is None:
        c.engine.log("warning", "Replica %s asks for synchronization but with a wrong offset" % c.addr)
        raise CommandError(errors.NOT_INTEGER)
    if argv[1] != b"?":
        c.engine.replication.sync_partial_err += 1  # asked to continue: no backlog to do it from
    return _sync(c, True)  # always a full resynchronization


def _sync(c, psync: bool) -> bytes:
    repl = c.engine.replication
    if c.id in repl.replicas:
        return b""  # already a replica: ignored, as Redis does
    conn = c.conn
    if conn is not None and conn.output_size():
        raise CommandError("ERR SYNC and PSYNC are invalid with pending output")
    return repl.full_sync(c, psync)


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
            return b""
        elif opt == b"getack":
            return b""  # only a master asks its replicas for an ACK; respdb has no master
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
    numreplicas = get_int(argv[1])
    timeout = parse_timeout(argv[2], seconds=False)
    acked = 0
    if acked >= numreplicas or blocking_denied(c):
        return integer(acked)
    return c.engine.blocking.block(c, [], timeout, argv, _NO_ACKS)


@command("failover")
def cmd_failover(c, argv):
    if len(argv) == 2 and argv[1].lower() == b"abort":
        raise CommandError("ERR No failover in progress.")
    timeout_ms = 0
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
            get_int(argv[j + 2])
            host = argv[j + 1]
            j += 2
        elif opt == b"force" and not force:
            force = True
        else:
            raise CommandError("ERR syntax error")
        j += 1
    raise CommandError("ERR FAILOVER requires connected replicas.")
