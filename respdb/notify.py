"""Keyspace notification classes (`notify-keyspace-events`), as Redis encodes them."""

from __future__ import annotations

KEYSPACE = 1 << 0  # K
KEYEVENT = 1 << 1  # E
GENERIC = 1 << 2  # g
STRING = 1 << 3  # $
LIST = 1 << 4  # l
SET = 1 << 5  # s
HASH = 1 << 6  # h
ZSET = 1 << 7  # z
EXPIRED = 1 << 8  # x
EVICTED = 1 << 9  # e
STREAM = 1 << 10  # t
KEY_MISS = 1 << 11  # m
MODULE = 1 << 13  # d
NEW = 1 << 14  # n
ALL = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE

_CHARS = {
    "A": ALL, "g": GENERIC, "$": STRING, "l": LIST, "s": SET, "h": HASH, "z": ZSET,
    "x": EXPIRED, "e": EVICTED, "K": KEYSPACE, "E": KEYEVENT, "t": STREAM, "m": KEY_MISS,
    "d": MODULE, "n": NEW,
}  # fmt: skip


class FlagsText(str):
    """The text CONFIG GET shows for a set of classes, carrying the classes themselves: Redis
    leaves `n` out of that text when `A` is in it (so "KEAnm" reads back as "AKEm"), yet the
    class stays on. The config stores this string; parse_flags() gets the classes back from it."""

    bits: int


def parse_flags(text: str) -> int | None:
    if type(text) is FlagsText:
        return text.bits
    flags = 0
    for ch in text:
        bit = _CHARS.get(ch)
        if bit is None:
            return None
        flags |= bit
    return flags


def flags_to_string(flags: int) -> FlagsText:
    out = FlagsText(_text(flags))
    out.bits = flags
    return out


def _text(flags: int) -> str:
    out = ""
    if flags & ALL == ALL:
        out += "A"
    else:
        for ch, bit in (("g", GENERIC), ("$", STRING), ("l", LIST), ("s", SET), ("h", HASH),
                        ("z", ZSET), ("x", EXPIRED), ("e", EVICTED), ("t", STREAM),
                        ("d", MODULE), ("n", NEW)):  # fmt: skip
            if flags & bit:
                out += ch
    if flags & KEYSPACE:
        out += "K"
    if flags & KEYEVENT:
        out += "E"
    if flags & KEY_MISS:
        out += "m"
    return out
