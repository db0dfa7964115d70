"""MULTI, EXEC, DISCARD, WATCH, UNWATCH.

Queueing happens in the engine's pre-call checks (Engine._check_gates), so a queued
command has passed lookup, arity and the other checks exactly where Redis does them.
"""

from __future__ import annotations

from respdb.commands.table import command
from respdb.errors import CommandError
from respdb.resp import OK, null_array


@command("multi")
def cmd_multi(c, argv):
    if c.multi is not None:
        raise CommandError("ERR MULTI calls can not be nested")
    c.multi = []
    c.multi_error = False
    c.update_gate()
    return OK


def _end(c) -> None:
    c.multi = None
    c.multi_error = False
    c.update_gate()
    c.engine.unwatch_all(c)


@command("discard")
def cmd_discard(c, argv):
    if c.multi is None:
        raise CommandError("ERR DISCARD without MULTI")
    _end(c)
    return OK


@command("exec")
def cmd_exec(c, argv):
    if c.multi is None:
        raise CommandError("ERR EXEC without MULTI")
    e = c.engine
    queued = c.multi
    if c.multi_error:
        _end(c)
        raise CommandError("EXECABORT Transaction discarded because of previous errors.")
    if c.dirty_cas or e.watched_key_expired(c):
        _end(c)
        return null_array(c.proto)
    _end(c)  # Redis unwatches before running the queue
    replies = [b"*%d\r\n" % len(queued)]
    c.in_multi = True
    e._exec_depth += 1
    try:
        for cmd, args in queued:
            if c.user in e.acl.restricted:  # the rules may have changed since queueing
                denied = e.acl.check_queued(c, cmd, args)
                if denied is not None:
                    replies.append(denied)
                    continue
            replies.append(e.call(c, cmd, args))
    finally:
        c.in_multi = False
        e._exec_depth -= 1
        if not e._exec_depth:
            e.end_exec()
    return b"".join(replies)


@command("watch")
def cmd_watch(c, argv):
    if c.multi is not None:
        raise CommandError("ERR WATCH inside MULTI is not allowed")
    e = c.engine
    for key in argv[1:]:
        e.watch(c, c.db, key)
    return OK


@command("unwatch")
def cmd_unwatch(c, argv):
    c.engine.unwatch_all(c)
    return OK
