"""Redis's packed blobs as they appear inside RDB files: listpack, ziplist, zipmap, intset.

respdb keeps its own in-memory forms, so these are only encoded when saving (listpack, intset)
and decoded when loading (all four; ziplist and zipmap only come from files written by older
Redis versions). Decoders validate everything they read (header sizes, entry bounds, back
lengths, terminators, counts) and raise `PackedError` naming the problem and the position
inside the blob, never an IndexError or a silently wrong value.

Layouts (all integers little endian unless said otherwise):

- listpack: total bytes (u32), element count (u16, 65535 = unknown), elements, 0xFF. An
  element is an encoding byte (7-bit uint, 6/12/32-bit string length, 13/16/24/32/64-bit
  int), its data, then its own size (encoding + data) as a "back length" of 1-5 bytes that
  is read backwards, 7 bits per byte.
- ziplist: total bytes (u32), offset of the last entry (u32), count (u16), entries, 0xFF. An
  entry is the previous entry's size (1 byte, or 0xFE + u32), an encoding (6/14-bit or
  32-bit big-endian string length, or an int8/16/24/32/64 or 4-bit immediate), the data.
- zipmap: count (u8, 254+ = unknown), then length-prefixed key, length-prefixed value plus a
  "free" byte count of padding, ..., 0xFF.
- intset: width (u32: 2, 4 or 8), count (u32), the sorted integers at that width.
"""

from __future__ import annotations

import sys
from array import array

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
_DIGIT_START = frozenset(b"-0123456789")
_LITTLE = sys.byteorder == "little"


class PackedError(ValueError):
    # Set by lp_decode for damage past the header: the elements read before it, and where the
    # broken element starts (-1: every element was read, the totals disagree).
    items: list = []
    at: int | None = None


# ---------------------------------------------------------------------------
# Strings that Redis stores as integers


def as_int64(s: bytes) -> int | None:
    """The integer a canonical decimal string stands for (string2ll / lpStringToInt64 rules:
    no sign other than a leading '-', no leading zeros, no "-0", fits in int64), else None."""
    n = len(s)
    if not n or n > 20 or s[0] not in _DIGIT_START:
        return None
    try:
        v = int(s)
    except ValueError:
        return None
    if b"%d" % v != s or v < INT64_MIN or v > INT64_MAX:
        return None
    return v


# ---------------------------------------------------------------------------
# listpack: encoding


def _backlen(size: int) -> bytes:
    if size <= 127:
        return bytes((size,))
    if size < 16383:
        return bytes((size >> 7, (size & 127) | 128))
    if size < 2097151:
        return bytes((size >> 14, ((size >> 7) & 127) | 128, (size & 127) | 128))
    if size < 268435455:
        return bytes((size >> 21, ((size >> 14) & 127) | 128, ((size >> 7) & 127) | 128, (size & 127) | 128))
    return bytes(
        (size >> 28, ((size >> 21) & 127) | 128, ((size >> 14) & 127) | 128, ((size >> 7) & 127) | 128,
         (size & 127) | 128)
    )  # fmt: skip


_SMALL_INTS = [bytes((v, 1)) for v in range(128)]


def lp_int(v: int) -> bytes:
    """One listpack element holding the integer v."""
    if 0 <= v <= 127:
        return _SMALL_INTS[v]
    if -4096 <= v <= 4095:
        u = v & 0x1FFF
        return bytes((0xC0 | (u >> 8), u & 0xFF, 2))
    if -32768 <= v <= 32767:
        return b"\xf1" + (v & 0xFFFF).to_bytes(2, "little") + b"\x03"
    if -8388608 <= v <= 8388607:
        return b"\xf2" + (v & 0xFFFFFF).to_bytes(3, "little") + b"\x04"
    if -2147483648 <= v <= 2147483647:
        return b"\xf3" + (v & 0xFFFFFFFF).to_bytes(4, "little") + b"\x05"
    return b"\xf4" + (v & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little") + b"\x09"


_lp_cache: dict[bytes, bytes] = {}


def lp_str(s: bytes) -> bytes:
    """One listpack element for a string, stored as an integer when it is one (as lpAppend)."""
    if type(s) is not bytes:
        return _lp_str(bytes(s))
    e = _lp_cache.get(s)
    if e is not None:
        return e
    e = _lp_str(s)
    if len(s) <= 16:  # short elements repeat (field names, small numbers): remember some
        if len(_lp_cache) >= 65536:
            _lp_cache.clear()
        _lp_cache[s] = e
    return e


def _lp_str(s: bytes) -> bytes:
    n = len(s)
    if n <= 20 and n and s[0] in _DIGIT_START:
        v = as_int64(s)
        if v is not None:
            return lp_int(v)
    if n < 64:
        return b"%c%b%c" % (0x80 | n, s, n + 1)
    if n < 4096:
        return b"%c%c%b%b" % (0xE0 | (n >> 8), n & 0xFF, s, _backlen(n + 2))
    return b"\xf0" + n.to_bytes(4, "little") + s + _backlen(n + 5)


def lp_pack(elements: list[bytes]) -> bytes:
    """A listpack from already encoded elements (lp_str / lp_int results)."""
    body = b"".join(elements)
    total = 7 + len(body)
    count = len(elements)
    return total.to_bytes(4, "little") + (count if count < 65535 else 65535).to_bytes(2, "little") + body + b"\xff"


def lp_build(strings) -> bytes:
    return lp_pack([lp_str(s) for s in strings])


# ---------------------------------------------------------------------------
# listpack: decoding


def lp_header_error(blob: bytes) -> str | None:
    """What is wrong with a listpack's frame (its total-bytes field and terminator), or None:
    all that Redis checks of a listpack without deep sanitization."""
    n = len(blob)
    if n < 7:
        return "listpack shorter than its header"
    total = int.from_bytes(blob[0:4], "little")
    if total != n:
        return "listpack header says %d bytes, blob has %d" % (total, n)
    if blob[-1] != 0xFF:
        return "listpack does not end with the terminator byte"
    return None


def lp_decode(blob: bytes) -> list[bytes | int]:
    """The elements of a listpack: bytes for strings, int for integers."""
    bad = lp_header_error(blob)
    if bad is not None:
        raise PackedError(bad)
    n = len(blob)
    count = blob[4] | (blob[5] << 8)
    out: list[bytes | int] = []
    append = out.append
    end = n - 1
    start = p = 6
    try:
        while p < end:
            start = p
            b = blob[p]
            # Fast paths: 7-bit integers and short strings, whose back length is one byte.
            if b < 0x80:
                if blob[p + 1] != 1:
                    raise PackedError("bad listpack back length at %d" % (p + 1))
                append(b)
                p += 2
                continue
            if b < 0xC0:
                q = p + 1 + (b & 0x3F)
                if q >= end or blob[q] != q - p:
                    raise PackedError("bad listpack element or back length at %d" % start)
                append(blob[p + 1 : q])
                p = q + 1
                continue
            if b < 0xE0:
                if p + 2 > end:
                    raise PackedError("listpack element past the end at %d" % start)
                u = ((b & 0x1F) << 8) | blob[p + 1]
                v: bytes | int = u - 8192 if u >= 4096 else u
                p += 2
            elif b < 0xF0:
                if p + 2 > end:
                    raise PackedError("listpack element past the end at %d" % start)
                ln = ((b & 0x0F) << 8) | blob[p + 1]
                p += 2
                v = blob[p : p + ln]
                p += ln
            elif b == 0xF0:
                if p + 5 > end:
                    raise PackedError("listpack element past the end at %d" % start)
                ln = int.from_bytes(blob[p + 1 : p + 5], "little")
                p += 5
                v = blob[p : p + ln]
                p += ln
            elif 0xF1 <= b <= 0xF4:
                width = (2, 3, 4, 8)[b - 0xF1]
                if p + 1 + width > end:
                    raise PackedError("listpack element past the end at %d" % start)
                v = int.from_bytes(blob[p + 1 : p + 1 + width], "little", signed=True)
                p += 1 + width
            else:
                raise PackedError("bad listpack encoding byte 0x%02x at %d" % (b, start))
            if p > end:
                raise PackedError("listpack element past the end at %d" % start)
            size = p - start
            # The element's own size, read backwards 7 bits per byte (see _backlen).
            if size <= 127:
                if p >= end or blob[p] != size:
                    raise PackedError("bad listpack back length at %d" % p)
                p += 1
            else:
                bl = _backlen(size)
                if p + len(bl) > end or blob[p : p + len(bl)] != bl:
                    raise PackedError("bad listpack back length at %d" % p)
                p += len(bl)
            append(v)
    except PackedError as err:
        err.items, err.at = out, start  # the elements before the broken one at `at` (lp_prefix)
        raise
    if p != end or (count != 65535 and count != len(out)):
        err = PackedError(
            "listpack elements overrun the terminator"
            if p != end
            else "listpack header counts %d elements, found %d" % (count, len(out))
        )
        err.items, err.at = out, -1  # every element read: the damage is in the totals
        raise err
    return out


def lp_prefix(blob: bytes) -> tuple[list[bytes | int], bool]:
    """The elements a walk from the start reads before reaching a broken one, and whether
    the walk got through the whole listpack. For a listpack whose header is sound (checked
    by the caller): what Redis's lpNext gets to before its validity assertion fails (an early
    terminator byte is just the end to it)."""
    try:
        return lp_decode(blob), True
    except PackedError as err:
        if err.at is None:  # (the header)
            return [], False
        return err.items, err.at < 0 or blob[err.at] == 0xFF


def as_bytes(v: bytes | int) -> bytes:
    return v if type(v) is bytes else b"%d" % v


def lp_strings(blob: bytes) -> list[bytes]:
    return [v if type(v) is bytes else b"%d" % v for v in lp_decode(blob)]


# ---------------------------------------------------------------------------
# ziplist (read only)


def zl_decode(blob: bytes) -> list[bytes | int]:
    n = len(blob)
    if n < 11:
        raise PackedError("ziplist shorter than its header")
    total = int.from_bytes(blob[0:4], "little")
    if total != n:
        raise PackedError("ziplist header says %d bytes, blob has %d" % (total, n))
    tail = int.from_bytes(blob[4:8], "little")
    count = blob[8] | (blob[9] << 8)
    if blob[-1] != 0xFF:
        raise PackedError("ziplist does not end with the terminator byte")
    out: list[bytes | int] = []
    p = 10
    end = n - 1
    prev_size = 0
    last = 10
    while p < end:
        start = p
        b = blob[p]
        if b < 0xFE:
            prevlen = b
            p += 1
        elif b == 0xFE:
            if p + 5 > end:
                raise PackedError("ziplist entry header past the end at %d" % start)
            prevlen = int.from_bytes(blob[p + 1 : p + 5], "little")
            p += 5
        else:
            raise PackedError("bad ziplist prevlen at %d" % start)
        if prevlen != prev_size:
            raise PackedError(
                "ziplist prevlen %d does not match the previous entry (%d) at %d" % (prevlen, prev_size, start)
            )
        if p >= end:
            raise PackedError("ziplist entry header past the end at %d" % start)
        e = blob[p]
        kind = e >> 6
        if kind == 0:
            ln = e & 0x3F
            p += 1
            v: bytes | int = blob[p : p + ln]
            p += ln
        elif kind == 1:
            if p + 2 > end:
                raise PackedError("ziplist entry header past the end at %d" % start)
            ln = ((e & 0x3F) << 8) | blob[p + 1]
            p += 2
            v = blob[p : p + ln]
            p += ln
        elif e == 0x80:
            if p + 5 > end:
                raise PackedError("ziplist entry header past the end at %d" % start)
            ln = int.from_bytes(blob[p + 1 : p + 5], "big")
            p += 5
            v = blob[p : p + ln]
            p += ln
        elif e in _ZL_INT_WIDTH:
            width = _ZL_INT_WIDTH[e]
            v = int.from_bytes(blob[p + 1 : p + 1 + width], "little", signed=True)
            p += 1 + width
        elif 0xF1 <= e <= 0xFD:
            v = (e & 0x0F) - 1
            p += 1
        else:
            raise PackedError("bad ziplist encoding byte 0x%02x at %d" % (e, p))
        if p > end:
            raise PackedError("ziplist entry past the end at %d" % start)
        prev_size = p - start
        last = start
        out.append(v)
    if p != end:
        raise PackedError("ziplist entries overrun the terminator")
    if tail != last:
        raise PackedError("ziplist tail offset %d does not point at the last entry (%d)" % (tail, last))
    if count != 65535 and count != len(out):
        raise PackedError("ziplist header counts %d entries, found %d" % (count, len(out)))
    return out


_ZL_INT_WIDTH = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}


def zl_strings(blob: bytes) -> list[bytes]:
    return [v if type(v) is bytes else b"%d" % v for v in zl_decode(blob)]


# ---------------------------------------------------------------------------
# zipmap (read only)


def zipmap_decode(blob: bytes) -> list[tuple[bytes, bytes]]:
    n = len(blob)
    if n < 2:
        raise PackedError("zipmap shorter than its header")
    declared = blob[0]
    p = 1
    out = []

    def length(at: int) -> tuple[int, int]:
        if at >= n:
            raise PackedError("zipmap length past the end at %d" % at)
        b = blob[at]
        if b < 254:
            return b, at + 1
        if b == 254:
            if at + 5 > n:
                raise PackedError("zipmap length past the end at %d" % at)
            return int.from_bytes(blob[at + 1 : at + 5], "little"), at + 5
        raise PackedError("bad zipmap length byte at %d" % at)

    while True:
        if p >= n:
            raise PackedError("zipmap has no terminator")
        if blob[p] == 0xFF:
            p += 1
            break
        klen, p = length(p)
        key = blob[p : p + klen]
        p += klen
        vlen, p = length(p)
        if p >= n:
            raise PackedError("zipmap entry past the end at %d" % p)
        free = blob[p]
        p += 1
        value = blob[p : p + vlen]
        p += vlen + free
        if p > n:
            raise PackedError("zipmap entry past the end")
        out.append((key, value))
    if p != n:
        raise PackedError("zipmap has bytes after its terminator")
    if not out:
        raise PackedError("zipmap is empty")  # (Redis's zipmapValidateIntegrity refuses one too)
    if declared < 254 and declared != len(out):
        raise PackedError("zipmap header counts %d entries, found %d" % (declared, len(out)))
    return out


# ---------------------------------------------------------------------------
# intset


def intset_decode(blob: bytes) -> array:
    """The integers of an intset, as array('q'), checked to be strictly ascending."""
    if len(blob) < 8:
        raise PackedError("intset shorter than its header")
    width = int.from_bytes(blob[0:4], "little")
    count = int.from_bytes(blob[4:8], "little")
    if width not in (2, 4, 8):
        raise PackedError("bad intset encoding %d" % width)
    if len(blob) != 8 + width * count:
        raise PackedError("intset of %d x %d bytes in a %d-byte blob" % (count, width, len(blob)))
    a = array({2: "h", 4: "i", 8: "q"}[width])
    a.frombytes(blob[8:])
    if not _LITTLE:  # pragma: no cover
        a.byteswap()
    for i in range(1, count):
        if a[i - 1] >= a[i]:
            raise PackedError("intset is not sorted or has duplicates")
    return a if width == 8 else array("q", a)


def intset_encode(width: int, contents: bytes, count: int) -> bytes:
    """An intset blob from native little-endian packed integers of `width` bytes."""
    return width.to_bytes(4, "little") + count.to_bytes(4, "little") + contents
