"""ROLE, WAIT and FAILOVER as a Redis master with no replicas answers them.

respdb does not replicate yet, so it is always a master and no replica ever acknowledges:
ROLE reports an empty replica list, WAIT returns 0 (after blocking for its timeout when it
asked for at least one replica, exactly like a Redis master whose replicas are gone), and
FAILOVER, after Redis's argument checks, finds no connected replica.
"""

from __future__ import annotations

from respdb.blocking import blocking_denied, parse_timeout
from respdb.commands.args import get_int
from respdb.commands.table import command
from respdb.errors import CommandError
from respdb.resp import integer

_ROLE = b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"
_NO_ACKS = b":0\r\n"  # replicas that acknowledged the client's writes: none


@command("role")
def cmd_role(c, argv):
    return _ROLE


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
