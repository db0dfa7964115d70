"""BGREWRITEAOF: rewrite the append-only file in a forked child (see persistence/aof.py)."""

from __future__ import annotations

from respdb.commands.table import command
from respdb.errors import CommandError
from respdb.resp import simple


@command("bgrewriteaof")
def cmd_bgrewriteaof(c, argv):
    e = c.engine
    aof = e.aof
    if aof.child_pid != -1:
        raise CommandError("ERR Background append only file rewriting already in progress")
    if e.child_active() or c.in_multi:  # (its own child was answered above)
        aof.rewrite_scheduled = True
        return simple("Background append only file rewriting scheduled")
    if not aof.on:
        # Without appendonly Redis still writes a base (an AOF that is not kept up to date).
        import os

        os.makedirs(aof.dirpath(), exist_ok=True)
    if aof.rewrite_background():
        return simple("Background append only file rewriting started")
    raise CommandError(
        "ERR Can't execute an AOF background rewriting. Please check the server logs for more information."
    )
