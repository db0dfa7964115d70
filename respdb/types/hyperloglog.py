"""HyperLogLog in Redis's own byte layout, so a value is an ordinary string.

Layout (all of it visible to GET):

    "HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes | cached cardinality (8 bytes, LE)
    then the registers: 16384 six-bit registers packed LSB first (dense, 12288 bytes), or
    a run-length list of opcodes (sparse):
        00xxxxxx            ZERO: xxxxxx+1 registers at 0
        01xxxxxx yyyyyyyy   XZERO: (x<<8|y)+1 registers at 0
        1vvvvvxx            VAL: xx+1 registers at vvvvv+1

The top bit of the cached cardinality's last byte marks the cache stale. Sparse values are
edited exactly as Redis edits them in place (split the opcode covering the register, then
merge equal neighbouring VALs in a short window), because the resulting bytes depend on the
history of additions and a value written here must read back byte for byte the same in Redis.

Speed notes: a sparse value being edited gets a `SparseEditor` (kept across commands while the
value is unchanged) that knows each opcode's first register, so finding the opcode of a
register is a bisect and an edit is a bytearray splice. Dense registers are read and written in
place. Whole-register work (histograms, merges, conversions) goes through bytes slicing,
`translate` tables, `bytes.count` and big-int bitwise operations, not a Python step per
register.
"""

from __future__ import annotations

import math
import struct
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable
from itertools import accumulate, chain

MAGIC = b"HYLL"
HDR = 16
P = 14
Q = 64 - P
REGISTERS = 1 << P
DENSE_BYTES = REGISTERS * 6 // 8
DENSE_SIZE = HDR + DENSE_BYTES
DENSE, SPARSE = 0, 1
VAL_MAX_VALUE = 32
VAL_MAX_LEN = 4
ZERO_MAX_LEN = 64
ALPHA_INF = 0.721347520444481703680
SEED = 0xADC83B19

NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
CORRUPT = "INVALIDOBJ Corrupted HLL object detected"

_M = 0xC6A4A7935BD1E995
_MASK = (1 << 64) - 1


class Corrupt(Exception):
    """The sparse opcodes do not describe exactly 16384 registers."""


# ---------------------------------------------------------------------------
# Hashing


def murmur64a(data: bytes, seed: int = SEED) -> int:
    """MurmurHash64A as Redis uses it (64-bit words read little endian)."""
    n = len(data)
    h = (seed ^ (n * _M)) & _MASK
    nblocks = n >> 3
    if nblocks:
        for k in struct.unpack_from("<%dQ" % nblocks, data):
            k = (k * _M) & _MASK
            k ^= k >> 47
            h ^= (k * _M) & _MASK
            h = (h * _M) & _MASK
    tail = n & 7
    if tail:
        h ^= int.from_bytes(data[n - tail :], "little")
        h = (h * _M) & _MASK
    h ^= h >> 47
    h = (h * _M) & _MASK
    return h ^ (h >> 47)


def pat_len(ele: bytes) -> tuple[int, int]:
    """(register index, length of the 0..01 pattern after the index bits)."""
    h = murmur64a(ele)
    rest = (h >> P) | (1 << Q)
    return h & (REGISTERS - 1), (rest & -rest).bit_length()


# ---------------------------------------------------------------------------
# Header


def is_hll(v) -> bool:
    """Redis's isHLLObjectOrReply checks (the type check is the caller's)."""
    if len(v) < HDR or not v.startswith(MAGIC) or v[4] > SPARSE:
        return False
    return v[4] != DENSE or len(v) == DENSE_SIZE


def cached_card(v) -> int | None:
    if v[15] & 0x80:
        return None
    return int.from_bytes(v[8:16], "little")


def set_card(v: bytearray, card: int) -> None:
    v[8:16] = (card & _MASK).to_bytes(8, "little")


def invalidate(v: bytearray) -> None:
    v[15] |= 0x80


def new_sparse() -> bytearray:
    """An empty HLL as Redis creates it: sparse, one XZERO covering every register."""
    return bytearray(MAGIC + b"\x01" + bytes(11) + bytes((0x40 | ((REGISTERS - 1) >> 8), (REGISTERS - 1) & 0xFF)))


# ---------------------------------------------------------------------------
# Dense registers, in place (offsets include the header)


def dense_get(v, idx: int) -> int:
    bit = idx * 6
    pos = HDR + (bit >> 3)
    fb = bit & 7
    if fb <= 2:
        return (v[pos] >> fb) & 63
    return ((v[pos] >> fb) | (v[pos + 1] << (8 - fb))) & 63


def dense_set(v: bytearray, idx: int, val: int) -> None:
    bit = idx * 6
    pos = HDR + (bit >> 3)
    fb = bit & 7
    v[pos] = (v[pos] & ~(63 << fb) & 0xFF) | ((val << fb) & 0xFF)
    if fb > 2:
        fb8 = 8 - fb
        v[pos + 1] = (v[pos + 1] & ~(63 >> fb8) & 0xFF) | (val >> fb8)


def dense_add(v: bytearray, ele: bytes) -> int:
    idx, count = pat_len(ele)
    if count > dense_get(v, idx):
        dense_set(v, idx, count)
        return 1
    return 0


def _table(f) -> bytes:
    return bytes(f(b) & 0xFF for b in range(256))


_LOW6 = _table(lambda b: b & 63)
_SHR6 = _table(lambda b: b >> 6)
_LOW4_SHL2 = _table(lambda b: (b & 15) << 2)
_SHR4 = _table(lambda b: b >> 4)
_LOW2_SHL4 = _table(lambda b: (b & 3) << 4)
_SHR2 = _table(lambda b: b >> 2)
_SHL6 = _table(lambda b: b << 6)
_SHR2_KEEP = _table(lambda b: (b >> 2) & 15)
_SHL4 = _table(lambda b: b << 4)
_SHR4_KEEP = _table(lambda b: (b >> 4) & 3)
_SHL2 = _table(lambda b: b << 2)


def _or(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "little") | int.from_bytes(b, "little")).to_bytes(len(a), "little")


def unpack_dense(regs: bytes) -> bytes:
    """12288 packed bytes -> 16384 bytes, one register per byte, in register order."""
    b0 = regs[0::3]
    b1 = regs[1::3]
    b2 = regs[2::3]
    out = bytearray(REGISTERS)
    out[0::4] = b0.translate(_LOW6)
    out[1::4] = _or(b0.translate(_SHR6), b1.translate(_LOW4_SHL2))
    out[2::4] = _or(b1.translate(_SHR4), b2.translate(_LOW2_SHL4))
    out[3::4] = b2.translate(_SHR2)
    return bytes(out)


def pack_dense(raw: bytes) -> bytes:
    """16384 register bytes (values < 64) -> the 12288 packed bytes."""
    r0 = raw[0::4]
    r1 = raw[1::4]
    r2 = raw[2::4]
    r3 = raw[3::4]
    out = bytearray(DENSE_BYTES)
    out[0::3] = _or(r0, r1.translate(_SHL6))
    out[1::3] = _or(r1.translate(_SHR2_KEEP), r2.translate(_SHL4))
    out[2::3] = _or(r2.translate(_SHR4_KEEP), r3.translate(_SHL2))
    return bytes(out)


# Register arrays as big ints, one register per 8-bit lane (values < 64, so lane arithmetic
# below never carries into the next lane).
_LANES = int.from_bytes(b"\x01" * REGISTERS, "little")
_LANE_HI = _LANES << 7


def lanes_max(x: int, y: int) -> int:
    """Lane-wise max: each lane of (x|0x80) - y keeps its top bit iff x >= y there."""
    ge = (((x | _LANE_HI) - y) & _LANE_HI) >> 7
    keep_x = ge * 0xFF
    return (x & keep_x) | (y & ~keep_x)


def lanes_histogram(x: int) -> list[int]:
    """How many lanes hold each value 0..63: lanes >= k are those where adding 128-k sets
    the top bit; counting them is one add, one and, one popcount per k."""
    h = [0] * 64
    prev = REGISTERS
    for k in range(1, 64):
        ge = ((x + (128 - k) * _LANES) & _LANE_HI).bit_count()
        h[k - 1] = prev - ge
        prev = ge
        if not ge:
            return h
    h[63] = prev
    return h


def raw_max(a: bytes, b: bytes) -> bytes:
    """Register-wise max of two 16384-byte register arrays."""
    return lanes_max(int.from_bytes(a, "little"), int.from_bytes(b, "little")).to_bytes(REGISTERS, "little")


def raw_histogram(raw: bytes) -> list[int]:
    """How many registers hold each value 0..63."""
    return lanes_histogram(int.from_bytes(raw, "little"))


# ---------------------------------------------------------------------------
# Sparse bodies. A body splits into runs of one-byte opcodes (ZERO 0x00-0x3f, VAL 0x80-0xff)
# separated by two-byte XZEROs, found with a translate mask and bytes.find: everything stays
# in C except one step per XZERO, and XZEROs are few. As an int, an XZERO is its two bytes
# big endian (0x4000-0x7fff).

_XZ_MASK = bytes(1 if 0x40 <= b < 0x80 else 0 for b in range(256))
_SPAN1 = bytes(0 if 0x40 <= b < 0x80 else (b & 3) + 1 if b & 0x80 else b + 1 for b in range(256))
_EXPAND1 = [b"" if 0x40 <= b < 0x80 else bytes((((b >> 2) & 0x1F) + 1,)) * ((b & 3) + 1) if b & 0x80 else bytes(b + 1)
            for b in range(256)]  # fmt: skip


def val_op(value: int, runlen: int) -> int:
    return 0x80 | ((value - 1) << 2) | (runlen - 1)


def zero_op(runlen: int) -> int:
    """A run of zeros as Redis writes it when splitting: ZERO up to 64, else XZERO."""
    return 0x4000 | (runlen - 1) if runlen > ZERO_MAX_LEN else runlen - 1


def split_body(body: bytes) -> tuple[list, bool]:
    """[run, xzero, run, xzero, ..., run] (runs are bytes, xzeros ints) and whether the body
    ends inside an XZERO. Redis then reads the string's NUL terminator as its second byte."""
    mask = body.translate(_XZ_MASK)
    parts: list = []
    pos = 0
    n = len(body)
    while True:
        q = mask.find(1, pos)
        if q < 0:
            parts.append(body[pos:])
            return parts, False
        parts.append(body[pos:q])
        if q + 1 == n:
            parts.append(body[q] << 8)
            parts.append(b"")
            return parts, True
        parts.append((body[q] << 8) | body[q + 1])
        pos = q + 2


def _spans(parts: list):
    """The register count of every opcode, in order (an iterator of ints)."""
    pieces = []
    for k, part in enumerate(parts):
        pieces.append(((part & 0x3FFF) + 1,) if k & 1 else part.translate(_SPAN1))
    return chain.from_iterable(pieces)


def _ops(parts: list) -> list[int]:
    ops: list[int] = []
    for k, part in enumerate(parts):
        if k & 1:
            ops.append(part)
        else:
            ops.extend(part)
    return ops


def _total(parts: list) -> int:
    total = 0
    for k, part in enumerate(parts):
        total += (part & 0x3FFF) + 1 if k & 1 else sum(part.translate(_SPAN1))
    return total


def _expand(parts: list) -> bytes:
    out = []
    for k, part in enumerate(parts):
        out.append(bytes((part & 0x3FFF) + 1) if k & 1 else b"".join(map(_EXPAND1.__getitem__, part)))
    return b"".join(out)


def sparse_raw(body: bytes) -> bytes:
    """The 16384 registers of a sparse body, one per byte (Corrupt unless its runs cover
    exactly 16384 registers)."""
    parts, _ = split_body(body)
    if _total(parts) != REGISTERS:
        raise Corrupt
    return _expand(parts)


def sparse_histogram(body: bytes) -> list[int] | None:
    """The register histogram of a sparse body, None unless its runs cover exactly 16384
    registers (hllSparseRegHisto's validity rule)."""
    parts, _ = split_body(body)
    if _total(parts) != REGISTERS:
        return None
    h = [0] * 64
    for xz in parts[1::2]:
        h[0] += (xz & 0x3FFF) + 1
    for op, n in Counter(b"".join(parts[0::2])).items():
        if op & 0x80:
            h[((op >> 2) & 0x1F) + 1] += ((op & 3) + 1) * n
        else:
            h[0] += (op + 1) * n
    return h


def decode_text(body: bytes) -> bytes:
    """PFDEBUG DECODE's listing of a sparse body."""
    out = []
    for op in _ops(split_body(body)[0]):
        if op >= 0x100:
            out.append(b"Z:%d" % ((op & 0x3FFF) + 1))
        elif op & 0x80:
            out.append(b"v:%d,%d" % (((op >> 2) & 0x1F) + 1, (op & 3) + 1))
        else:
            out.append(b"z:%d" % (op + 1))
    return b" ".join(out)


class Promote(Exception):
    pass


# hll-sparse-max-bytes, asked for only when an edit would grow a sparse value.
Limit = Callable[[], int]


class SparseEditor:
    """A sparse body being edited as hllSparseSet edits it in place.

    `buf` holds the body's bytes (plus the NUL Redis would read after a cut XZERO),
    `starts` the first register of every opcode (and the total at the end), `xz` the
    positions, as opcode indexes, of the XZEROs: opcode i starts at byte i + (XZEROs
    before i). Splits and merges keep every later opcode's first register, so `starts`
    only changes locally, and a lookup is a bisect."""

    __slots__ = ("buf", "starts", "xz", "cut", "limit")

    def __init__(self, body: bytes, limit: Limit) -> None:
        self.limit = limit
        self._load(body)

    def _load(self, body: bytes) -> None:
        parts, cut = split_body(body)
        self.buf = bytearray(body)
        if cut:
            self.buf.append(0)
        self.cut = cut
        self.starts = list(accumulate(_spans(parts), initial=0))
        xz = []
        nops = 0
        for k, part in enumerate(parts):
            if k & 1:
                xz.append(nops)
                nops += 1
            else:
                nops += len(part)
        self.xz = xz

    def body(self) -> bytes:
        return bytes(self.buf[:-1]) if self.cut else bytes(self.buf)

    def same_as(self, body) -> bool:
        return (self.buf[:-1] if self.cut else self.buf) == body

    def nbytes(self) -> int:
        """The string's length (header included), as Redis's sdslen."""
        return HDR + len(self.buf) - self.cut

    def set(self, index: int, count: int) -> int:
        """Raise the register to `count`: 1 if changed, 0 if not. Raises Promote when the
        value must turn dense (count too big for a VAL, or the string would pass the limit)
        and Corrupt when no opcode covers the register."""
        if count > VAL_MAX_VALUE:
            raise Promote
        starts = self.starts
        i = bisect_right(starts, index) - 1
        if i >= len(starts) - 1:
            raise Corrupt
        xz = self.xz
        j = bisect_left(xz, i)
        off = i + j
        buf = self.buf
        op = buf[off]
        first = starts[i]
        span = starts[i + 1] - first
        is_xz = 0x40 <= op < 0x80
        if op & 0x80:  # VAL
            if ((op >> 2) & 0x1F) + 1 >= count:
                return 0
            if span == 1:
                buf[off] = val_op(count, 1)
                self._merge(i)
                return 1
        elif not is_xz and span == 1:  # ZERO of one register
            buf[off] = val_op(count, 1)
            self._merge(i)
            return 1
        last = first + span - 1
        seq = []
        seq_starts = []
        if op & 0x80:
            cur = ((op >> 2) & 0x1F) + 1
            if index != first:
                seq.append(val_op(cur, index - first))
                seq_starts.append(first)
            seq.append(val_op(count, 1))
            seq_starts.append(index)
            if index != last:
                seq.append(val_op(cur, last - index))
                seq_starts.append(index + 1)
        else:
            if index != first:
                seq.append(zero_op(index - first))
                seq_starts.append(first)
            seq.append(val_op(count, 1))
            seq_starts.append(index)
            if index != last:
                seq.append(zero_op(last - index))
                seq_starts.append(index + 1)
        data = bytearray()
        new_xz = []
        for k, o in enumerate(seq):
            if o >= 0x100:
                data += bytes((o >> 8, o & 0xFF))
                new_xz.append(i + k)
            else:
                data.append(o)
        oldlen = 2 if is_xz else 1
        delta = len(data) - oldlen
        if delta > 0 and self.nbytes() + delta > self.limit():
            raise Promote
        buf[off : off + oldlen] = data
        starts[i : i + 1] = seq_starts
        shift = len(seq) - 1
        rest = xz[j + 1 :] if is_xz else xz[j:]
        xz[j:] = new_xz + [x + shift for x in rest]
        if self.cut:
            # The split ran past the end of a cut string: Redis keeps its length at the old
            # length plus the growth, so the last byte written falls off; read it again.
            self._load(self.body())
        self._merge(i)
        return 1

    def _merge(self, i: int) -> None:
        """Join equal adjacent VALs, scanning up to 5 opcodes from the one before `i`."""
        buf = self.buf
        xz = self.xz
        starts = self.starts
        p = i - 1 if i > 0 else 0
        scan = 5
        while p < len(starts) - 1 and scan:
            scan -= 1
            j = bisect_left(xz, p)
            off = p + j
            op = buf[off]
            if op & 0x80 and p + 1 < len(starts) - 1:
                nxt = buf[off + 1]
                if nxt & 0x80 and (op & 0x7C) == (nxt & 0x7C):
                    runlen = (op & 3) + (nxt & 3) + 2
                    if runlen <= VAL_MAX_LEN:
                        buf[off + 1] = val_op(((op >> 2) & 0x1F) + 1, runlen)
                        del buf[off]
                        del starts[p + 1]
                        if j < len(xz):
                            xz[j:] = [x - 1 for x in xz[j:]]
                        continue
            p += 1


# Editors of recently edited sparse values, so that a run of PFADDs on one key does not
# decode it every time. An entry is used only while the value still holds the editor's
# bytes (any other command may have rewritten the string in place).
_EDITORS: dict[int, tuple[bytearray, SparseEditor]] = {}
_EDITORS_MAX = 64


def editor(v: bytearray, limit: Limit) -> SparseEditor:
    ent = _EDITORS.get(id(v))
    if ent is not None and ent[0] is v and ent[1].same_as(v[HDR:]):
        ed = ent[1]
        ed.limit = limit
        return ed
    ed = SparseEditor(bytes(v[HDR:]), limit)
    if len(_EDITORS) >= _EDITORS_MAX:
        del _EDITORS[next(iter(_EDITORS))]
    _EDITORS[id(v)] = (v, ed)
    return ed


def forget(v: bytearray) -> None:
    _EDITORS.pop(id(v), None)


# ---------------------------------------------------------------------------
# Whole values


def registers(v) -> bytes:
    """The 16384 registers of a valid HLL value (Corrupt for a broken sparse body)."""
    if v[4] == DENSE:
        return unpack_dense(bytes(v[HDR:]))
    return sparse_raw(bytes(v[HDR:]))


def to_dense(v: bytearray) -> None:
    """Turn a sparse value dense in place, keeping the header (and its cached cardinality)."""
    raw = sparse_raw(bytes(v[HDR:]))
    forget(v)
    v[4] = DENSE
    v[HDR:] = pack_dense(raw)


# Register histograms of recently used dense values, kept up to date by PFADD, so that
# PFCOUNT after a few additions does not look at all 16384 registers again. An entry holds a
# copy of the registers it describes and is used only while the value still matches it.
_HISTS: dict[int, tuple[bytearray, bytes, list[int]]] = {}
_HISTS_MAX = 64


def _cached_hist(v: bytearray) -> list[int] | None:
    ent = _HISTS.get(id(v))
    if ent is not None and ent[0] is v and ent[1] == v[HDR:]:
        return ent[2]
    return None


def _remember_hist(v: bytearray, h: list[int]) -> None:
    if len(_HISTS) >= _HISTS_MAX and id(v) not in _HISTS:
        del _HISTS[next(iter(_HISTS))]
    _HISTS[id(v)] = (v, bytes(v[HDR:]), h)


_LANE_CACHE: dict[int, tuple[bytearray, bytes, int]] = {}


def register_lanes(v) -> int:
    """The registers of a valid value as a lanes int (see lanes_max); dense values keep it
    cached while unchanged, for repeated unions. Corrupt for a broken sparse body."""
    if v[4] != DENSE or type(v) is not bytearray:
        return int.from_bytes(registers(v), "little")
    ent = _LANE_CACHE.get(id(v))
    body = v[HDR:]
    if ent is not None and ent[0] is v and ent[1] == body:
        return ent[2]
    x = int.from_bytes(unpack_dense(bytes(body)), "little")
    if len(_LANE_CACHE) >= _HISTS_MAX and id(v) not in _LANE_CACHE:
        del _LANE_CACHE[next(iter(_LANE_CACHE))]
    _LANE_CACHE[id(v)] = (v, bytes(body), x)
    return x


def histogram(v) -> list[int] | None:
    """The register histogram of a valid value (None for a sparse body that does not cover
    exactly 16384 registers)."""
    if v[4] != DENSE:
        return sparse_histogram(bytes(v[HDR:]))
    if type(v) is bytearray:
        h = _cached_hist(v)
        if h is not None:
            return list(h)
    h = raw_histogram(unpack_dense(bytes(v[HDR:])))
    if type(v) is bytearray:
        _remember_hist(v, list(h))
    return h


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        zp = z
        z += x * y
        y += y
        if zp == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        zp = z
        y *= 0.5
        d = 1 - x
        z -= d * d * y
        if zp == z:
            return z / 3


def estimate(h: list[int]) -> int:
    """Cardinality from a register histogram (Ertl's estimator, as Redis 7.0 computes it)."""
    m = float(REGISTERS)
    z = m * _tau((m - h[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += h[j]
        z *= 0.5
    z += m * _sigma(h[0] / m)
    e = ALPHA_INF * m * m / z if z else math.inf
    if not e < 2.0**63:
        # llroundl out of range (registers past 51 zero the sum): x86 gives LLONG_MIN.
        return -(2**63)
    whole = int(e)
    return whole + 1 if e - whole >= 0.5 else whole


def add_all(v: bytearray, elements, limit: Limit) -> int:
    """PFADD's register updates, in place on a valid value; returns how many registers
    changed. Corrupt propagates (after keeping the edits made so far, as Redis does)."""
    changed = 0
    if v[4] == DENSE:
        h = _cached_hist(v)
        if h is None:
            for ele in elements:
                changed += dense_add(v, ele)
            return changed
        for ele in elements:
            idx, cnt = pat_len(ele)
            old = dense_get(v, idx)
            if cnt > old:
                dense_set(v, idx, cnt)
                h[old] -= 1
                h[cnt] += 1
                changed += 1
        if changed:
            _remember_hist(v, h)
        return changed
    ed = editor(v, limit)
    it = iter(elements)
    for ele in it:
        idx, cnt = pat_len(ele)
        try:
            changed += ed.set(idx, cnt)
        except Corrupt:
            if changed:
                v[HDR:] = ed.body()
                invalidate(v)
            raise
        except Promote:
            if changed:
                v[HDR:] = ed.body()
                invalidate(v)
            to_dense(v)
            dense_set(v, idx, cnt)
            changed += 1
            for rest in it:
                changed += dense_add(v, rest)
            return changed
    if changed:
        v[HDR:] = ed.body()
    return changed


def merge_into(v: bytearray, raw: bytes, limit: Limit) -> None:
    """PFMERGE's write: raise every register of `v` to `raw` (in register order, as Redis
    does it, so a sparse target ends up with Redis's bytes)."""
    if v[4] == DENSE:
        v[HDR:] = pack_dense(raw_max(unpack_dense(bytes(v[HDR:])), raw))
        return
    ed = editor(v, limit)
    nonzero = raw.translate(_NONZERO)
    idx = nonzero.find(1)
    while idx >= 0:
        try:
            ed.set(idx, raw[idx])
        except Promote:
            v[HDR:] = ed.body()
            to_dense(v)
            v[HDR:] = pack_dense(raw_max(unpack_dense(bytes(v[HDR:])), raw))
            return
        idx = nonzero.find(1, idx + 1)
    v[HDR:] = ed.body()


_NONZERO = bytes([0] + [1] * 255)
