"""SLOWLOG GET/LEN/RESET/HELP (the log itself lives in respdb/slowlog.py)."""

from __future__ import annotations

import itertools

from respdb.commands.args import parse_ll
from respdb.commands.keys import help_reply
from respdb.commands.table import command, container
from respdb.errors import CommandError
from respdb.resp import OK, integer

container("slowlog")

SLOWLOG_HELP = [
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
]

LONG_MAX = 2**63 - 1


@command("slowlog|help")
def cmd_slowlog_help(c, argv):
    return help_reply(SLOWLOG_HELP)


@command("slowlog|get")
def cmd_slowlog_get(c, argv):
    if len(argv) > 3:
        raise CommandError(
            "ERR unknown subcommand or wrong number of arguments for '%s'. Try SLOWLOG HELP."
            % argv[1][:128].decode("utf-8", "surrogateescape")
        )
    entries = c.engine.slowlog.entries
    count = 10
    if len(argv) == 3:
        count = parse_ll(argv[2])
        if count is None or not -1 <= count <= LONG_MAX:
            raise CommandError("ERR count should be greater than or equal to -1")
        if count == -1:
            count = len(entries)
    picked = [e.encode() for e in itertools.islice(entries, count)]
    return b"*%d\r\n" % len(picked) + b"".join(picked)


@command("slowlog|len")
def cmd_slowlog_len(c, argv):
    return integer(len(c.engine.slowlog.entries))


@command("slowlog|reset")
def cmd_slowlog_reset(c, argv):
    c.engine.slowlog.reset()
    return OK
