"""MONITOR (the feeding itself is in respdb/monitor.py)."""

from __future__ import annotations

from respdb import monitor
from respdb.commands import scripting as _scripting  # noqa: F401  (its handlers must be registered first)
from respdb.commands.table import SKIP_MONITOR, TABLE, command
from respdb.errors import CommandError
from respdb.resp import OK


@command("monitor")
def cmd_monitor(c, argv):
    # Inside EXEC (and from a script) Redis's client cannot wait for output: refused.
    if c.in_multi or c.kind == "script":
        raise CommandError(monitor.DENY_BLOCKING_ERR)
    if not monitor.start(c):
        return b""  # already monitoring (or a replica): Redis ignores it, without a reply
    return OK


# EVAL, EVALSHA, FCALL and their _RO forms are flagged SKIP_MONITOR: they show themselves
# before the commands of their script.
for _cmd in TABLE.all_commands():
    if _cmd.flags & SKIP_MONITOR and _cmd.handler is not None and not hasattr(_cmd.handler, "__wrapped__"):
        TABLE.register(_cmd.fullname, monitor.shows_itself(_cmd.handler))
