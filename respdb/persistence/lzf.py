"""LZF, the compression Redis uses for strings in RDB files and DUMP payloads.

`compress` reproduces liblzf 3.6's lzf_compress as Redis builds it (HLOG 16, VERY_FAST,
hash of three bytes, 8 KB window, back-references of up to 264 bytes), so that what respdb
writes is byte for byte what Redis writes for the same value. `decompress` accepts any valid
LZF stream and rejects malformed ones.

Format: a control byte `c`; if c < 32 a literal run of c+1 bytes follows; otherwise a
back-reference of length (c >> 5) + 2 (7 meaning "add the next byte") at distance
((c & 31) << 8 | next byte) + 1 behind the output written so far.

The pure-Python code is the reference; when the `lzf` C extension (python-neo-lzf, liblzf) is
installed it does the work instead, except near the output limit, where its bounds checks
differ from Redis's copy (tests check the combination against the pure code and Redis).
"""

from __future__ import annotations

try:  # the same liblzf in C: much faster, identical output
    import lzf as _clzf
except ImportError:  # pragma: no cover - depends on the environment
    _clzf = None

HLOG = 16
HSIZE = 1 << HLOG
MAX_LIT = 1 << 5
MAX_OFF = 1 << 13
MAX_REF = (1 << 8) + (1 << 3)


class LZFError(ValueError):
    pass


def compress(data: bytes, out_len: int) -> bytes | None:
    """LZF-compress `data` into at most `out_len` bytes; None when it does not fit."""
    if _clzf is not None and data and out_len > 0:
        out = _clzf.compress(bytes(data), out_len)
        # The C build checks the room left a little differently: near the limit (where Redis's
        # check may refuse a back-reference the C one accepts) the exact code decides.
        if out is None or len(out) + 5 < out_len:
            return out
    return compress_py(data, out_len)


def compress_py(data: bytes, out_len: int) -> bytes | None:
    ip_end = len(data)
    if not ip_end or not out_len:
        return None
    htab: dict[int, int] = {}  # hash slot -> position (liblzf's uninitialised slots never match)
    out = bytearray()
    # `lit_pos` is where the current literal run's control byte goes; `lit` its length so far.
    out.append(0)
    lit_pos = 0
    lit = 0
    ip = 0
    d = data
    while ip < ip_end - 2:
        h = (((d[ip] << 8) | d[ip + 1]) - 5 * ((d[ip + 1] << 8) | d[ip + 2])) & 0xFFFF
        ref = htab.get(h, -1)
        htab[h] = ip
        off = ip - ref - 1
        if ref > 0 and off < MAX_OFF and d[ref] == d[ip] and d[ref + 1] == d[ip + 1] and d[ref + 2] == d[ip + 2]:
            # A back-reference: close the literal run (dropping it when empty), check room.
            if len(out) + 3 + 1 >= out_len and len(out) - (0 if lit else 1) + 3 + 1 >= out_len:
                return None
            out[lit_pos] = lit - 1 & 0xFF
            if not lit:
                del out[-1]
            maxlen = ip_end - ip - 2
            if maxlen > MAX_REF:
                maxlen = MAX_REF
            length = 2
            matched = False
            if maxlen > 16:
                # liblzf unrolls 16 comparisons before looking at maxlen again.
                for _ in range(16):
                    length += 1
                    if d[ref + length] != d[ip + length]:
                        matched = True
                        break
            if not matched:
                while True:
                    length += 1
                    if not (length < maxlen and d[ref + length] == d[ip + length]):
                        break
            length -= 2
            ip += 1
            if length < 7:
                out.append((off >> 8) + (length << 5))
            else:
                out.append((off >> 8) + (7 << 5))
                out.append(length - 7)
            out.append(off & 0xFF)
            lit = 0
            lit_pos = len(out)
            out.append(0)
            ip += length + 1
            if ip >= ip_end - 2:
                break
            # Hash the two positions just before the new one.
            ip -= 2
            for _ in range(2):
                h = (((d[ip] << 8) | d[ip + 1]) - 5 * ((d[ip + 1] << 8) | d[ip + 2])) & 0xFFFF
                htab[h] = ip
                ip += 1
        else:
            if len(out) >= out_len:
                return None
            lit += 1
            out.append(d[ip])
            ip += 1
            if lit == MAX_LIT:
                out[lit_pos] = MAX_LIT - 1
                lit = 0
                lit_pos = len(out)
                out.append(0)
    if len(out) + 3 > out_len:
        return None
    while ip < ip_end:
        lit += 1
        out.append(d[ip])
        ip += 1
        if lit == MAX_LIT:
            out[lit_pos] = MAX_LIT - 1
            lit = 0
            lit_pos = len(out)
            out.append(0)
    out[lit_pos] = lit - 1 & 0xFF
    if not lit:
        del out[-1]
    if len(out) > out_len:
        return None
    return bytes(out)


def decompress(data: bytes | memoryview, out_len: int) -> bytes:
    """Decompress to exactly `out_len` bytes; raises LZFError on a malformed stream."""
    if _clzf is not None and out_len > 0:
        try:
            out = _clzf.decompress(bytes(data), out_len)
        except (ValueError, SystemError) as err:
            raise LZFError(str(err)) from None
        if out is None or len(out) != out_len:
            raise LZFError("LZF data does not decompress to the expected length")
        return out
    return decompress_py(data, out_len)


def decompress_py(data: bytes | memoryview, out_len: int) -> bytes:
    src = bytes(data)
    n = len(src)
    out = bytearray()
    i = 0
    while i < n:
        c = src[i]
        i += 1
        if c < 32:
            run = c + 1
            if i + run > n:
                raise LZFError("LZF literal run past the end of the input")
            out += src[i : i + run]
            i += run
        else:
            length = c >> 5
            if length == 7:
                if i >= n:
                    raise LZFError("LZF back-reference truncated")
                length += src[i]
                i += 1
            if i >= n:
                raise LZFError("LZF back-reference truncated")
            ref = len(out) - ((c & 0x1F) << 8) - src[i] - 1
            i += 1
            length += 2
            if ref < 0:
                raise LZFError("LZF back-reference before the start of the output")
            if ref + length <= len(out):
                out += out[ref : ref + length]
            else:  # overlapping copy: the pattern repeats
                for k in range(length):
                    out.append(out[ref + k])
        if len(out) > out_len:
            raise LZFError("LZF data longer than announced")
    if len(out) != out_len:
        raise LZFError("LZF data shorter than announced")
    return bytes(out)
