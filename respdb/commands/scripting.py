"""Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FUNCTION, FCALL, FCALL_RO.

The work is in respdb.scripting; these handlers parse arguments and shape replies.
"""

from __future__ import annotations

import time

from respdb import scripting
from respdb.commands.keys import help_reply
from respdb.commands.table import TABLE, command
from respdb.errors import CommandError
from respdb.glob import match as glob_match
from respdb.resp import OK, array, bulk, bulk_array, integer, map_, null, set_, simple
from respdb.scripting import dump as payloads
from respdb.scripting.core import BUSY_EVAL

EVAL, EVALSHA, EVAL_RO, EVALSHA_RO = (TABLE.get(n) for n in ("eval", "evalsha", "eval_ro", "evalsha_ro"))
FCALL, FCALL_RO = TABLE.get("fcall"), TABLE.get("fcall_ro")


@command("eval")
def cmd_eval(c, argv):
    return scripting.get(c.engine).eval(c, EVAL, argv, False, False)


@command("evalsha")
def cmd_evalsha(c, argv):
    return scripting.get(c.engine).eval(c, EVALSHA, argv, True, False)


@command("eval_ro")
def cmd_eval_ro(c, argv):
    return scripting.get(c.engine).eval(c, EVAL_RO, argv, False, True)


@command("evalsha_ro")
def cmd_evalsha_ro(c, argv):
    return scripting.get(c.engine).eval(c, EVALSHA_RO, argv, True, True)


@command("fcall")
def cmd_fcall(c, argv):
    return scripting.get(c.engine).functions.fcall(c, FCALL, argv, False)


@command("fcall_ro")
def cmd_fcall_ro(c, argv):
    return scripting.get(c.engine).functions.fcall(c, FCALL_RO, argv, True)


# ---------------------------------------------------------------------------
# SCRIPT

SCRIPT_HELP = [
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
]


@command("script|help")
def cmd_script_help(c, argv):
    return help_reply(SCRIPT_HELP)


@command("script|load")
def cmd_script_load(c, argv):
    return bulk(scripting.get(c.engine).get_script(argv[2]).sha.encode())


@command("script|exists")
def cmd_script_exists(c, argv):
    scripts = scripting.get(c.engine).scripts
    return array([integer(1 if a.lower() in scripts else 0) for a in argv[2:]])


@command("script|flush")
def cmd_script_flush(c, argv):
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"sync", b"async")):
        raise CommandError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    scripting.get(c.engine).reset_eval()
    return OK


@command("script|kill")
def cmd_script_kill(c, argv):
    scripting.get(c.engine).kill(True)
    return OK


@command("script|debug")
def cmd_script_debug(c, argv):
    mode = argv[2].lower()
    if mode == b"no":
        c.ldb = None
        return OK
    if mode not in (b"yes", b"sync"):
        raise CommandError("ERR Use SCRIPT DEBUG YES/SYNC/NO")
    if c.multi is not None:
        raise CommandError("ERR SCRIPT DEBUG must be called outside MULTI")
    c.ldb = mode.decode()  # the next EVAL runs under the debugger (scripting/ldb.py)
    return OK


# ---------------------------------------------------------------------------
# FUNCTION

FUNCTION_HELP = [
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
]


def _syntax_error(argv) -> CommandError:
    return CommandError(
        "ERR unknown subcommand or wrong number of arguments for '%s'. Try FUNCTION HELP."
        % argv[1][:128].decode("utf-8", "surrogateescape")
    )


@command("function|help")
def cmd_function_help(c, argv):
    return help_reply(FUNCTION_HELP)


@command("function|load")
def cmd_function_load(c, argv):
    replace = False
    pos = 2
    n = len(argv)
    while pos < n - 1:
        arg = argv[pos]
        pos += 1
        if arg.lower() == b"replace":
            replace = True
            continue
        raise CommandError("ERR Unknown option given: %s" % arg.split(b"\0", 1)[0].decode("utf-8", "surrogateescape"))
    if pos >= n:
        raise CommandError("ERR Function code is missing")
    name = scripting.get(c.engine).functions.create(argv[pos], replace)
    c.engine.dirty += 1
    return bulk(name)


@command("function|delete")
def cmd_function_delete(c, argv):
    scripting.get(c.engine).functions.delete(argv[2])
    c.engine.dirty += 1
    return OK


@command("function|flush")
def cmd_function_flush(c, argv):
    if len(argv) > 3:
        raise _syntax_error(argv)
    if len(argv) == 3 and argv[2].lower() not in (b"sync", b"async"):
        raise CommandError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    scripting.get(c.engine).functions.flush()
    c.engine.dirty += 1
    return OK


@command("function|kill")
def cmd_function_kill(c, argv):
    scripting.get(c.engine).kill(False)
    return OK


@command("function|list")
def cmd_function_list(c, argv):
    with_code = False
    pattern = None
    i = 2
    n = len(argv)
    while i < n:
        arg = argv[i]
        low = arg.lower()
        if not with_code and low == b"withcode":
            with_code = True
        elif pattern is None and low == b"libraryname":
            if i >= n - 1:
                raise CommandError("ERR library name argument was not given")
            i += 1
            pattern = argv[i]
        else:
            raise CommandError("ERR Unknown argument %s" % arg.split(b"\0", 1)[0].decode("utf-8", "surrogateescape"))
        i += 1
    proto = c.proto
    out = []
    for lib in scripting.get(c.engine).functions.libraries.values():
        if pattern is not None and not glob_match(pattern, lib.name, nocase=True):
            continue
        funcs = []
        for f in lib.functions.values():
            desc = bulk(f.desc) if f.desc is not None else null(proto)
            flags = set_([simple(name) for name in f.flag_names()], proto)
            funcs.append(
                map_([bulk(b"name"), bulk(f.name), bulk(b"description"), desc, bulk(b"flags"), flags], 3, proto)
            )
        pairs = [
            bulk(b"library_name"),
            bulk(lib.name),
            bulk(b"engine"),
            bulk(lib.engine),
            bulk(b"functions"),
            array(funcs),
        ]
        if with_code:
            pairs += [bulk(b"library_code"), bulk(lib.code)]
        out.append(map_(pairs, 4 if with_code else 3, proto))
    return array(out)


@command("function|stats")
def cmd_function_stats(c, argv):
    sc = scripting.get(c.engine)
    run = sc.run
    if run is not None and run.is_eval:
        raise CommandError(BUSY_EVAL)
    proto = c.proto
    if run is None:
        running = null(proto)
    else:
        duration = int((time.monotonic() - run.start) * 1000)
        running = map_(
            [bulk(b"name"), bulk(run.funcname.encode()), bulk(b"command"), bulk_array(run.argv),
             bulk(b"duration_ms"), integer(duration)],
            3,
            proto,
        )  # fmt: skip
    nlibs, nfuncs = sc.functions.stats()
    lua = map_([bulk(b"libraries_count"), integer(nlibs), bulk(b"functions_count"), integer(nfuncs)], 2, proto)
    engines = map_([bulk(b"LUA"), lua], 1, proto)
    return map_([bulk(b"running_script"), running, bulk(b"engines"), engines], 2, proto)


@command("function|dump")
def cmd_function_dump(c, argv):
    libs = scripting.get(c.engine).functions.libraries.values()
    compress = c.engine.config["rdbcompression"] != "no"
    return bulk(payloads.dump([lib.code for lib in libs], compress))


@command("function|restore")
def cmd_function_restore(c, argv):
    if len(argv) > 4:
        raise _syntax_error(argv)
    policy = "append"
    if len(argv) == 4:
        policy = argv[3].lower().decode("latin-1")
        if policy not in ("append", "replace", "flush"):
            raise CommandError("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    codes = payloads.parse(argv[2])
    scripting.get(c.engine).functions.restore(codes, policy)
    c.engine.dirty += 1
    return OK
