"""Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB."""

from __future__ import annotations

from respdb.commands.keys import help_reply
from respdb.commands.table import command, container
from respdb.glob import compile_glob
from respdb.resp import bulk, integer


@command("subscribe")
def cmd_subscribe(c, argv):
    return c.engine.pubsub.subscribe(c, argv[1:])


@command("unsubscribe")
def cmd_unsubscribe(c, argv):
    return c.engine.pubsub.unsubscribe(c, argv[1:])


@command("psubscribe")
def cmd_psubscribe(c, argv):
    return c.engine.pubsub.psubscribe(c, argv[1:])


@command("punsubscribe")
def cmd_punsubscribe(c, argv):
    return c.engine.pubsub.punsubscribe(c, argv[1:])


@command("ssubscribe")
def cmd_ssubscribe(c, argv):
    return c.engine.pubsub.subscribe(c, argv[1:], shard=True)


@command("sunsubscribe")
def cmd_sunsubscribe(c, argv):
    return c.engine.pubsub.unsubscribe(c, argv[1:], shard=True)


def _publish(c, argv, shard: bool) -> bytes:
    e = c.engine
    n = e.pubsub.publish(argv[1], argv[2], shard=shard)
    if e.replication.replicas:
        e.force_propagate(c, argv, repl_only=True)  # replicas' subscribers get it too (not the AOF)
    return integer(n)


@command("publish")
def cmd_publish(c, argv):
    return _publish(c, argv, False)


@command("spublish")
def cmd_spublish(c, argv):
    return _publish(c, argv, True)


container("pubsub")

PUBSUB_HELP = [
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
]


@command("pubsub|help")
def cmd_pubsub_help(c, argv):
    return help_reply(PUBSUB_HELP)


def _channels(table: dict, argv: list[bytes]) -> bytes:
    names = list(table)
    if len(argv) > 2:
        m = compile_glob(argv[2])
        names = [n for n in names if m(n) is not None]
    return b"*%d\r\n" % len(names) + b"".join(bulk(n) for n in names)


def _numsub(table: dict, argv: list[bytes]) -> bytes:
    parts = [b"*%d\r\n" % (2 * (len(argv) - 2))]
    for ch in argv[2:]:
        parts.append(bulk(ch))
        parts.append(integer(len(table.get(ch, ()))))
    return b"".join(parts)


@command("pubsub|channels")
def cmd_pubsub_channels(c, argv):
    return _channels(c.engine.pubsub.channels, argv)


@command("pubsub|shardchannels")
def cmd_pubsub_shardchannels(c, argv):
    return _channels(c.engine.pubsub.shard_channels, argv)


@command("pubsub|numsub")
def cmd_pubsub_numsub(c, argv):
    return _numsub(c.engine.pubsub.channels, argv)


@command("pubsub|shardnumsub")
def cmd_pubsub_shardnumsub(c, argv):
    return _numsub(c.engine.pubsub.shard_channels, argv)


@command("pubsub|numpat")
def cmd_pubsub_numpat(c, argv):
    return integer(len(c.engine.pubsub.patterns))
