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

# What strtold accepts, as Redis's string2ld uses it: the whole string must be consumed
# (an embedded NUL stops strtold early, so it is rejected too), no leading space.
_DEC_RE = re.compile(rb"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_HEX_RE = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?")
_INF_RE = re.compile(rb"[+-]?(inf|infinity)", re.I)
MAX_LONG_DOUBLE_CHARS = 5 * 1024

# x87 80-bit extended precision: 64-bit significand, normal exponents -16382..16383,
# subnormals down to 2**-16445.
_LDBL_MAX_EXP = 16384
_LDBL_MIN_EXP = -16382
_LDBL_MANT = 64
_LDBL_QUANTUM_MIN = _LDBL_MIN_EXP - (_LDBL_MANT - 1)
_CHUNK = 4000  # digits per int<->str step, below Python's int_max_str_digits guard


class LongDoubleError(Exception):
    pass


def _floor_log2(a: Fraction) -> int:
    e = a.numerator.bit_length() - a.denominator.bit_length()
    # 2**e <= a < 2**(e+1) after at most one correction step either way.
    if e >= 0:
        if a.numerator < a.denominator << e:
            e -= 1
    elif a.numerator << -e < a.denominator:
        e -= 1
    return e


def round_ld(x: Fraction) -> Fraction:
    """Round an exact value to the nearest x87 extended-precision value (ties to even).

    Raises OverflowError when the result would be infinite; tiny values become subnormals
    or zero, as the FPU does.
    """
    if x == 0:
        return Fraction(0)
    sign = -1 if x < 0 else 1
    a = abs(x)
    e = _floor_log2(a)
    q = max(e - (_LDBL_MANT - 1), _LDBL_QUANTUM_MIN)  # weight of the last significand bit
    scaled = a / Fraction(2) ** q if q >= 0 else a * (1 << -q)
    m = round(scaled)  # Fraction.__round__ rounds half to even
    r = Fraction(m) * Fraction(2) ** q
    if m and _floor_log2(r) >= _LDBL_MAX_EXP:
        raise OverflowError
    return sign * r


def _digits_to_int(s: bytes, base: int = 10) -> int:
    if base != 10 or len(s) <= _CHUNK:
        return int(s, base)
    v = 0
    for i in range(0, len(s), _CHUNK):
        chunk = s[i : i + _CHUNK]
        v = v * 10 ** len(chunk) + int(chunk)
    return v


def _int_to_str(n: int) -> str:
    if n < 10**_CHUNK:
        return str(n)
    hi, lo = divmod(n, 10**_CHUNK)
    return _int_to_str(hi) + str(lo).rjust(_CHUNK, "0")


def _exponent(text: bytes | None, limit: int = 10**6) -> int:
    """A decimal exponent, clamped: anything beyond `limit` over/underflows anyway."""
    if not text:
        return 0
    digits = text.lstrip(b"+-").lstrip(b"0")
    v = limit if len(digits) > 7 else min(int(digits or b"0"), limit)
    return -v if text[:1] == b"-" else v


def parse_ld(b: bytes) -> Fraction | float:
    """strtold as Redis's string2ld uses it; returns a Fraction or +/-inf.

    Decimal and hexadecimal forms are read exactly and rounded once, like glibc. Results
    that overflow, or underflow to zero from a non-zero input, are rejected (ERANGE).
    """
    if not b or len(b) >= MAX_LONG_DOUBLE_CHARS or b[:1].isspace():
        raise LongDoubleError
    if _INF_RE.fullmatch(b):
        return float("-inf") if b[:1] == b"-" else float("inf")
    m = _HEX_RE.fullmatch(b)
    if m is not None:
        sign, ipart, fpart, exp = m.groups()
        fpart = fpart or b""
        if not ipart and not fpart:
            raise LongDoubleError
        mant = int(ipart + fpart, 16)
        e2 = _exponent(exp, 10**7) - 4 * len(fpart)
        if mant == 0:
            return Fraction(0)
        # Out of range by far: skip building a huge exact value.
        top = mant.bit_length() + e2
        if top > _LDBL_MAX_EXP + 2 or top < _LDBL_QUANTUM_MIN - 2:
            raise LongDoubleError
        v = Fraction(mant) * Fraction(2) ** e2
    else:
        m = _DEC_RE.fullmatch(b)
        if m is None:
            raise LongDoubleError
        sign, ipart, fpart, exp = m.groups()
        fpart = fpart or b""
        if not ipart and not fpart:
            raise LongDoubleError
        digits = (ipart + fpart).lstrip(b"0")
        if not digits:
            return Fraction(0)
        e10 = _exponent(exp) - len(fpart)
        # The value lies in [10**(len-1+e10), 10**(len+e10)); long double spans ~1e-4951..1.2e4932.
        top = len(digits) + e10
        if top > 4934 or top < -4952:
            raise LongDoubleError
        mant = _digits_to_int(digits)
        v = Fraction(mant) * Fraction(10) ** e10
    if sign == b"-":
        v = -v
    try:
        r = round_ld(v)
    except OverflowError:
        raise LongDoubleError from None
    if r == 0:
        raise LongDoubleError  # underflow: ERANGE with a zero result
    return r


def format_ld_human(x: Fraction) -> bytes:
    """ld2string(..., LD_STR_HUMAN): "%.17Lf" with trailing zeros and dot removed."""
    neg = x < 0
    q = round(abs(x) * 10**17)
    digits = _int_to_str(q).rjust(18, "0")
    s = digits[:-17] + "." + digits[-17:]
    s = s.rstrip("0").rstrip(".")
    if neg and s != "0":
        s = "-" + s
    return s.encode()


# ---------------------------------------------------------------------------
# LCS, bit-parallel
#
# Row i of the classic DP table (LCS of a[:i] against every prefix of b) is kept as one
# integer whose bit j-1 is clear exactly when LCS(i, j) = LCS(i, j-1) + 1, so
# LCS(i, j) = j - popcount(row_i & (2**j - 1)). A whole row is computed from the previous
# one with a few big-integer operations (Allison-Dix / Hyyro), which turns Redis's
# O(len(a) * len(b)) table walk into something Python does at C speed.


def _char_masks(b: bytes) -> dict[int, int]:
    """For every byte value in b, an int with bit k set where b[k] is that byte."""
    masks = {}
    rev = b[::-1]
    for ch in set(b):
        table = bytes(0x31 if x == ch else 0x30 for x in range(256))
        masks[ch] = int(rev.translate(table), 2)
    return masks


def lcs_rows(a: bytes, b: bytes, keep: bool = True) -> list[int]:
    """The bit rows for i = 0..len(a) (only the last one unless keep)."""
    full = (1 << len(b)) - 1
    masks = _char_masks(b)
    v = full
    rows = [v]
    for ch in a:
        m = masks.get(ch)
        if m is not None:
            u = v & m
            v = ((v + u) | (v - u)) & full
        if keep:
            rows.append(v)
    if not keep:
        rows = [v]
    return rows


def lcs_length(a: bytes, b: bytes) -> int:
    return len(b) - lcs_rows(a, b, keep=False)[-1].bit_count()


def lcs_walk(a: bytes, b: bytes, minmatchlen: int) -> tuple[bytes, list[tuple[int, int, int, int, int]]]:
    """Redis's backward walk over the LCS table: the LCS string and the matched ranges
    (a_start, a_end, b_start, b_end, length), with its exact tie-breaking and range rules."""
    rows = lcs_rows(a, b)
    alen = len(a)

    def lcs(i: int, j: int) -> int:
        return j - (rows[i] & ((1 << j) - 1)).bit_count()

    idx = lcs(alen, len(b))
    result = bytearray(idx)
    matches = []
    i, j = alen, len(b)
    a_start = alen  # alen: no range open
    a_end = b_start = b_end = 0
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[idx - 1] = a[i - 1]
            if a_start == alen:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if lcs(i - 1, j) > lcs(i, j - 1):
                i -= 1
            else:
                j -= 1
            if a_start != alen:
                emit = True
        if emit:
            length = a_end - a_start + 1
            if minmatchlen == 0 or length >= minmatchlen:
                matches.append((a_start, a_end, b_start, b_end, length))
            a_start = alen
    return bytes(result), matches
