"""ACL and its subcommands (the model lives in respdb/acl.py)."""

from __future__ import annotations

import os

from respdb import acl as aclmod
from respdb.acl import ACL_CATEGORIES, RuleError, User
from respdb.commands.args import parse_ll
from respdb.commands.keys import help_reply
from respdb.commands.table import TABLE, command, container
from respdb.errors import NOT_INTEGER, CommandError, wrong_args
from respdb.resp import OK, array, bulk, double, integer, map_, null, set_

container("acl")

ACL_HELP = [
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
]

NO_ACLFILE = (
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the "
    "ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) "
    "in order to store users in the Redis configuration."
)


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _syntax(argv: list[bytes]) -> CommandError:
    # addReplySubcommandSyntaxError: every ACL subcommand shares one handler in Redis 7.0
    return CommandError(
        "ERR unknown subcommand or wrong number of arguments for '%s'. Try ACL HELP." % _s(argv[1][:128])
    )


@command("acl|help")
def cmd_acl_help(c, argv):
    return help_reply(ACL_HELP)


@command("acl|setuser")
def cmd_acl_setuser(c, argv):
    a = c.engine.acl
    name = argv[2]
    if aclmod._has_spaces(name):
        raise CommandError("ERR Usernames can't contain spaces or null characters")
    merged, bad = aclmod.merge_selector_args(argv[3:])
    if merged is None:
        raise CommandError("ERR Unmatched parenthesis in acl selector starting at '%s'." % _s(argv[3 + bad]))
    key = _s(name)
    existing = a.users.get(key)
    temp = existing.copy() if existing is not None else User(key, a.pubsub_all())
    pubsub_all = a.pubsub_all()
    for op in merged:
        try:
            temp.apply(op, pubsub_all)
        except RuleError as err:
            raise CommandError("ERR Error in ACL SETUSER modifier '%s': %s" % (_s(op), err)) from None
    a.replace_user(key, temp, c)
    return OK


@command("acl|deluser")
def cmd_acl_deluser(c, argv):
    a = c.engine.acl
    for name in argv[2:]:
        if name == b"default":
            raise CommandError("ERR The 'default' user cannot be removed")
    deleted = 0
    for name in argv[2:]:
        if a.delete_user(_s(name), c):
            deleted += 1
    return integer(deleted)


def _selector_fields(s: aclmod.Selector) -> list[bytes]:
    keys = b"~*" if s.allkeys else b" ".join(s.pattern_strings())
    channels = b"&*" if s.allchannels else b" ".join(b"&" + ch for ch in s.channels)
    return [
        bulk(b"commands"), bulk(s.describe_commands()),
        bulk(b"keys"), bulk(keys),
        bulk(b"channels"), bulk(channels),
    ]  # fmt: skip


@command("acl|getuser")
def cmd_acl_getuser(c, argv):
    u = c.engine.acl.get(argv[2])
    if u is None:
        return null(c.proto)
    flags = [bulk(name.encode()) for bit, name in aclmod.USER_FLAGS if u.flags & bit]
    body = [
        bulk(b"flags"), set_(flags, c.proto),
        bulk(b"passwords"), array([bulk(h) for h in u.passwords]),
    ]  # fmt: skip
    body += _selector_fields(u.selectors[0])
    body.append(bulk(b"selectors"))
    body.append(array([map_(_selector_fields(s), 3, c.proto) for s in u.selectors[1:]]))
    return map_(body, 6, c.proto)


@command("acl|list")
def cmd_acl_list(c, argv):
    users = c.engine.acl.sorted_users()
    return array([bulk(b"user " + u.bname + b" " + u.describe()) for u in users])


@command("acl|users")
def cmd_acl_users(c, argv):
    return array([bulk(u.bname) for u in c.engine.acl.sorted_users()])


@command("acl|whoami")
def cmd_acl_whoami(c, argv):
    return bulk(c.user.encode("utf-8", "surrogateescape"))


@command("acl|cat")
def cmd_acl_cat(c, argv):
    if len(argv) == 2:
        return array([bulk(name.encode()) for name in ACL_CATEGORIES])
    if len(argv) != 3:
        raise _syntax(argv)
    j = aclmod.category_index(argv[2])
    if j < 0:
        raise CommandError("ERR Unknown category '%s'" % _s(argv[2][:128]))
    u = aclmod.universe()
    return array([bulk(cmd.fullname.encode()) for cmd in u.cat_cmds[j]])


@command("acl|genpass")
def cmd_acl_genpass(c, argv):
    if len(argv) > 3:
        raise _syntax(argv)
    bits = 256
    if len(argv) == 3:
        v = parse_ll(argv[2])
        if v is None:
            raise CommandError(NOT_INTEGER)
        bits = v
    if bits <= 0 or bits > 4096:
        raise CommandError(
            "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"
        )
    chars = (bits + 3) // 4
    return bulk(os.urandom((chars + 1) // 2).hex()[:chars].encode())


@command("acl|log")
def cmd_acl_log(c, argv):
    if len(argv) > 3:
        raise _syntax(argv)
    a = c.engine.acl
    count = 10
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            a.log.clear()
            return OK
        v = parse_ll(argv[2])
        if v is None:
            raise CommandError(NOT_INTEGER)
        count = max(0, v)
    import time

    now = int(time.time() * 1000)
    out = []
    for e in a.log[:count]:
        body = [
            bulk(b"count"), integer(e.count),
            bulk(b"reason"), bulk(e.reason.encode()),
            bulk(b"context"), bulk(e.context.encode()),
            bulk(b"object"), bulk(e.object),
            bulk(b"username"), bulk(e.username),
            bulk(b"age-seconds"), double((now - e.ctime) / 1000, c.proto),
            bulk(b"client-info"), bulk(e.cinfo),
        ]  # fmt: skip
        out.append(map_(body, 7, c.proto))
    return array(out)


def _lookup_call(args: list[bytes]):
    """lookupCommand over the whole Redis table (implemented by respdb or not)."""
    base = TABLE.commands.get(args[0].lower().decode("latin-1"))
    if base is None or base not in aclmod.universe().ids:
        return None
    if len(args) == 1 or not base.subcommands:
        return base
    sub = base.subcommands.get(args[1].lower())
    return sub if sub in aclmod.universe().ids else None


@command("acl|dryrun")
def cmd_acl_dryrun(c, argv):
    u = c.engine.acl.get(argv[2])
    if u is None:
        raise CommandError("ERR User '%s' not found" % _s(argv[2]))
    args = argv[3:]
    cmd = _lookup_call(args)
    if cmd is None:
        raise CommandError("ERR Command '%s' not found" % _s(argv[3]))
    n = len(args)
    if (cmd.arity > 0 and cmd.arity != n) or n < -cmd.arity:
        raise CommandError(wrong_args(cmd.fullname))
    res, idx = u.check(cmd, args)
    if res == aclmod.OK:
        return OK
    if res == aclmod.DENIED_CMD:
        msg = b"This user has no permissions to run the '%s' command" % cmd.fullname.encode()
    elif res == aclmod.DENIED_KEY:
        msg = b"This user has no permissions to access the '%s' key" % args[idx]
    else:
        msg = b"This user has no permissions to access the '%s' channel" % args[idx]
    return bulk(msg)


@command("acl|load")
def cmd_acl_load(c, argv):
    path = c.engine.config["aclfile"]
    if not path:
        raise CommandError(NO_ACLFILE)
    err = c.engine.acl.load_file(path)
    if err is not None:
        raise CommandError("ERR " + err)
    return OK


@command("acl|save")
def cmd_acl_save(c, argv):
    path = c.engine.config["aclfile"]
    if not path:
        raise CommandError(NO_ACLFILE)
    if not c.engine.acl.save_file(path):
        raise CommandError(
            "ERR There was an error trying to save the ACLs. Please check the server logs for more information"
        )
    return OK
