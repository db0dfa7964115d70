"""Argument parsing shared by handlers, with Redis's strictness and error texts."""

from __future__ import annotations

from respdb import errors
from respdb.errors import CommandError
from respdb.resp import _parse_ll

LLONG_MAX = 2**63 - 1
LLONG_MIN = -(2**63)


def parse_ll(b: bytes) -> int | None:
    """Redis's string2ll: strict base-10 64-bit integer, or None."""
    return _parse_ll(b)


def get_int(b: bytes, msg: str = errors.NOT_INTEGER) -> int:
    v = _parse_ll(b)
    if v is None:
        raise CommandError(msg)
    return v


def get_int_range(b: bytes, lo: int, hi: int, msg: str | None = None) -> int:
    v = _parse_ll(b)
    if v is None or not lo <= v <= hi:
        raise CommandError(msg or errors.NOT_INTEGER)
    return v


def get_positive(b: bytes, name: str) -> int:
    """getPositiveLongFromObjectOrReply: 'ERR <name> must be positive' style errors."""
    v = _parse_ll(b)
    if v is None:
        raise CommandError(errors.NOT_INTEGER)
    if v < 0:
        raise CommandError("ERR %s must be positive" % name)
    return v


def get_float(b: bytes, msg: str = errors.NOT_FLOAT) -> float:
    """Redis's string2d: strtod on the whole string, no spaces, no NaN."""
    if not b or b[:1].isspace() or b[-1:].isspace() or b"_" in b:
        raise CommandError(msg)
    try:
        v = float(b)
    except ValueError:
        raise CommandError(msg) from None
    if v != v:
        raise CommandError(msg)
    return v


def upper(b: bytes) -> bytes:
    return b.upper()
