"""LOLWUT [VERSION v] [args ...]: the version string, or one of Redis's drawings.

Redis 7.0 has no drawing of its own, so plain LOLWUT (and any VERSION but 5 and 6) answers
"Redis ver. 7.0.15". Redis turns the VERSION number into "<v as a C unsigned int>.0.0" and
picks the drawing from that text, so 5 and 6 modulo 2**32 select the drawings (-4294967291
is 5). Arguments after the version go to the drawing; extra ones are ignored, and without
VERSION the arguments are not even looked at. The reply is verbatim text (a bulk string on
RESP2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from respdb import REDIS_VERSION, lolwut
from respdb.commands.args import get_int
from respdb.commands.table import command
from respdb.resp import verbatim

if TYPE_CHECKING:
    from respdb.client import Client

# (default, lowest, highest) for each argument, in order: Redis clamps rather than refuses,
# keeping every drawing cheap.
SCHOTTER_ARGS = ((66, 1, 1000), (8, 1, 200), (12, 1, 200))  # columns, squares per row, per column
SKYLINE_ARGS = ((80, 1, 1000), (20, 1, 1000))  # columns, rows


def _clamped(args: list[bytes], spec: tuple[tuple[int, int, int], ...]) -> list[int]:
    # Each given argument must be an integer even when it is then clamped.
    values = [get_int(a) for a in args[: len(spec)]] + [default for default, _, _ in spec[len(args) :]]
    return [min(max(v, lo), hi) for v, (_, lo, hi) in zip(values, spec, strict=True)]


@command("lolwut")
def cmd_lolwut(c: Client, argv: list[bytes]) -> bytes:
    version = None
    args = argv[1:]
    if len(argv) >= 3 and argv[1].lower() == b"version":
        version = get_int(argv[2]) & 0xFFFFFFFF
        args = argv[3:]
    if version == 5:
        cols, per_row, per_col = _clamped(args, SCHOTTER_ARGS)
        text = lolwut.schotter(cols, per_row, per_col, REDIS_VERSION)
    elif version == 6:
        cols, rows = _clamped(args, SKYLINE_ARGS)
        text = lolwut.skyline(cols, rows, REDIS_VERSION)
    else:
        text = b"Redis ver. %s\n" % REDIS_VERSION.encode()
    return verbatim(text, c.proto)
