"""String values and the arithmetic Redis does on them.

A string is stored as `bytes`. Two marks mirror Redis's object encodings where they
are visible to clients (OBJECT ENCODING): `bytearray` is a "raw" string that was
grown in place (APPEND, SETRANGE), and `PlainBytes` is a string Redis stores without
trying the integer encoding (INCRBYFLOAT's result).

INCRBYFLOAT works in x87 80-bit long double, as Redis does; `LongDouble` emulates it
exactly with fractions (64-bit significand, round to nearest even) so results and their
"%.17Lf" formatting match Redis digit for digit.
"""

from __future__ import annotations

import re
from fractions import Fraction

from respdb.resp import _parse_ll


class PlainBytes(bytes):
    """A string Redis keeps as embstr/raw even when it looks like an integer."""

    __slots__ = ()


def encoding_of(value: bytes | bytearray) -> str:
    if type(value) is bytearray:
        return "raw"
    if type(value) is bytes and len(value) <= 20 and _parse_ll(value) is not None:
        return "int"
    return "embstr" if len(value) <= 44 else "raw"


# ---------------------------------------------------------------------------
# long double emulation for INCRBYFLOAT

_FLOAT_RE = re.compile(rb"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_INF_RE = re.compile(rb"^[+-]?(inf|infinity)$", re.I)
MAX_LONG_DOUBLE_CHARS = 5 * 1024
_LDBL_MAX_EXP = 16384


class LongDoubleError(Exception):
    pass


def round_ld(x: Fraction) -> Fraction:
    """Round an exact value to the nearest x87 extended-precision value."""
    if x == 0:
        return Fraction(0)
    sign = -1 if x < 0 else 1
    a = abs(x)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    elif Fraction(2) ** (e + 1) <= a:
        e += 1
    if e >= _LDBL_MAX_EXP:
        raise OverflowError
    shift = 63 - e
    scaled = a * (Fraction(2) ** shift)
    m = round(scaled)  # Fraction.__round__ rounds half to even
    return sign * Fraction(m) / (Fraction(2) ** shift)


def parse_ld(b: bytes) -> Fraction | float:
    """strtold as Redis's string2ld uses it; returns a Fraction or +/-inf."""
    if not b or len(b) >= MAX_LONG_DOUBLE_CHARS or b[:1].isspace():
        raise LongDoubleError
    if _INF_RE.match(b):
        return float("-inf") if b[:1] == b"-" else float("inf")
    if not _FLOAT_RE.match(b):
        raise LongDoubleError
    mant, _, exp = b.lower().partition(b"e")
    exponent = int(exp) if exp else 0
    if abs(exponent) > 6000:
        raise LongDoubleError
    v = Fraction(mant.decode()) * Fraction(10) ** exponent
    try:
        r = round_ld(v)
    except OverflowError:
        raise LongDoubleError from None
    if r == 0 and v != 0:
        raise LongDoubleError  # underflow: ERANGE with a zero result
    return r


def format_ld_human(x: Fraction) -> bytes:
    """ld2string(..., LD_STR_HUMAN): "%.17Lf" with trailing zeros and dot removed."""
    neg = x < 0
    q = round(abs(x) * 10**17)
    digits = str(q).rjust(18, "0")
    s = digits[:-17] + "." + digits[-17:]
    s = s.rstrip("0").rstrip(".")
    if neg and s != "0":
        s = "-" + s
    return s.encode()
