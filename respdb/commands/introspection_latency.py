"""LATENCY LATEST/HISTORY/RESET/GRAPH/DOCTOR/HISTOGRAM/HELP (see respdb/latency.py)."""

from __future__ import annotations

from respdb.commands.keys import help_reply
from respdb.commands.table import TABLE, Command, command, container
from respdb.errors import CommandError
from respdb.resp import bulk, integer, verbatim

container("latency")

LATENCY_HELP = [
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
]


def _name(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


@command("latency|help")
def cmd_latency_help(c, argv):
    return help_reply(LATENCY_HELP)


@command("latency|latest")
def cmd_latency_latest(c, argv):
    events = c.engine.latency.events
    parts = [b"*%d\r\n" % len(events)]
    for name, s in events.items():
        when, ms = s.latest()
        parts.append(b"*4\r\n" + bulk(name.encode()) + b":%d\r\n:%d\r\n:%d\r\n" % (when, ms, s.max))
    return b"".join(parts)


@command("latency|history")
def cmd_latency_history(c, argv):
    s = c.engine.latency.events.get(_name(argv[2]))
    samples = s.samples() if s is not None else []
    return b"*%d\r\n" % len(samples) + b"".join(b"*2\r\n:%d\r\n:%d\r\n" % p for p in samples)


@command("latency|reset")
def cmd_latency_reset(c, argv):
    names = [_name(a) for a in argv[2:]] if len(argv) > 2 else None
    return integer(c.engine.latency.reset(names))


@command("latency|graph")
def cmd_latency_graph(c, argv):
    name = _name(argv[2])
    lat = c.engine.latency
    s = lat.events.get(name)
    if s is None:
        raise CommandError("ERR No samples available for event '%s'" % name)
    return verbatim(lat.graph(name, s).encode(), c.proto)


@command("latency|doctor")
def cmd_latency_doctor(c, argv):
    return verbatim(c.engine.latency.doctor().encode(), c.proto)


def _lookup(name: bytes) -> Command | None:
    """lookupCommandBySds: "name" or "container|sub", any case."""
    parts = name.lower().split(b"|")
    if len(parts) > 2:
        return None
    cmd = TABLE.commands.get(_name(parts[0]))
    if cmd is None:
        return None
    if len(parts) == 2:
        if not cmd.subcommands:
            return None
        return cmd.subcommands.get(parts[1])
    return cmd


@command("latency|histogram")
def cmd_latency_histogram(c, argv):
    lat = c.engine.latency
    if len(argv) == 2:
        cmds = []
        for top in TABLE.commands.values():
            cmds.append(top)
            cmds.extend(top.subcommands.values())
    else:
        cmds = []
        for a in argv[2:]:
            cmd = _lookup(a)
            if cmd is not None:
                cmds.append(cmd)
                cmds.extend(cmd.subcommands.values())
    proto = c.proto
    body = []
    for cmd in cmds:
        calls, points = lat.cdf(cmd)
        if not calls:
            continue
        hist = b"".join(b":%d\r\n:%d\r\n" % p for p in points)
        hist = (b"%%%d\r\n" if proto == 3 else b"*%d\r\n") % (len(points) * (1 if proto == 3 else 2)) + hist
        entry = bulk(b"calls") + integer(calls) + bulk(b"histogram_usec") + hist
        body.append(bulk(cmd.fullname.encode()) + (b"%2\r\n" if proto == 3 else b"*4\r\n") + entry)
    return (b"%%%d\r\n" if proto == 3 else b"*%d\r\n") % (len(body) * (1 if proto == 3 else 2)) + b"".join(body)
