"""MODULE LIST / LOAD / LOADEX / UNLOAD / HELP.

Redis modules are C shared objects written against Redis's own module API, which respdb
cannot host. So no module is ever loaded: LIST is empty, UNLOAD finds nothing, and LOAD and
LOADEX fail with the reply Redis gives for a library it cannot load (it, too, points at the
log for the reason). LOAD, LOADEX and UNLOAD are PROTECTED: Redis runs them only as
`enable-module-command` allows, a check made by the engine's gate before these handlers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from respdb.commands.keys import help_reply
from respdb.commands.table import command, container
from respdb.errors import CommandError

if TYPE_CHECKING:
    from respdb.client import Client

LOAD_FAILED = "ERR Error loading the extension. Please check the server logs."
NO_SUCH_MODULE = "ERR Error unloading module: no such module with that name"
WHY = "respdb cannot load Redis modules (C shared objects using Redis's module API)"

MODULE_HELP = [
    "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
    "HELP",
    "    Prints this help.",
]

container("module")


@command("module|help")
def cmd_module_help(c: Client, argv: list[bytes]) -> bytes:
    return help_reply(MODULE_HELP)


@command("module|list")
def cmd_module_list(c: Client, argv: list[bytes]) -> bytes:
    return b"*0\r\n"  # an empty array on RESP2 and RESP3 alike


def _path(argv: list[bytes]) -> str:
    return argv[2].decode("utf-8", "backslashreplace")


@command("module|load")
def cmd_module_load(c: Client, argv: list[bytes]) -> bytes:
    c.engine.log("warning", "Module %s failed to load: %s" % (_path(argv), WHY))
    raise CommandError(LOAD_FAILED)


@command("module|loadex")
def cmd_module_loadex(c: Client, argv: list[bytes]) -> bytes:
    # Redis checks the CONFIG/ARGS syntax first and logs a mistake, but the reply is the
    # same load failure either way.
    problem = _loadex_syntax(argv[3:])
    if problem:
        c.engine.log("notice", problem)
    else:
        c.engine.log("warning", "Module %s failed to load: %s" % (_path(argv), WHY))
    raise CommandError(LOAD_FAILED)


def _loadex_syntax(rest: list[bytes]) -> str | None:
    """What is wrong with LOADEX's options (CONFIG name value ..., then ARGS ...), if anything."""
    i = 0
    while i < len(rest):
        word = rest[i].upper()
        if word == b"CONFIG":
            if i + 2 >= len(rest):
                return "CONFIG given without a name and a value"
            i += 3
        elif word == b"ARGS":
            return None  # everything after ARGS belongs to the module
        else:
            return "Syntax error in LOADEX options near %s." % rest[i].decode("utf-8", "backslashreplace")
    return None


@command("module|unload")
def cmd_module_unload(c: Client, argv: list[bytes]) -> bytes:
    raise CommandError(NO_SUCH_MODULE)
