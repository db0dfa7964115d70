"""Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.

Bitmaps are strings. Bit-level work is done on Python ints and bytes methods (count,
translate, int.from_bytes), never one Python loop step per bit.
"""

from __future__ import annotations

from respdb import errors, notify
from respdb.commands.args import get_int, parse_ll
from respdb.commands.strings import STRING_TYPES, get_string
from respdb.commands.table import command
from respdb.errors import CommandError
from respdb.resp import NEG_ONE, ZERO, integer, null

BIT_OFFSET_ERR = "ERR bit offset is not an integer or out of range"
NOTIFY_STRING = notify.STRING
_POPCOUNT = bytes(bin(i).count("1") for i in range(256))


def _bit_offset(c, arg: bytes, hash_ok: bool = False, bits: int = 0) -> int:
    usehash = hash_ok and bits > 0 and arg[:1] == b"#"
    v = parse_ll(arg[1:] if usehash else arg)
    if v is None:
        raise CommandError(BIT_OFFSET_ERR)
    if usehash:
        v *= bits
    if v < 0 or (v >> 3) >= c.engine.config.get_int("proto-max-bulk-len"):
        raise CommandError(BIT_OFFSET_ERR)
    return v


def _string_for_write(c, key: bytes, maxbit: int) -> tuple[bytearray, bool]:
    """Redis's lookupStringForBitCommand: the value as a growable bytearray, long enough."""
    db = c.db
    need = (maxbit >> 3) + 1
    v = get_string(db, key)
    if v is None:
        buf = bytearray(need)
        db.set(key, buf)
        return buf, True
    grew = False
    if type(v) is not bytearray:
        v = bytearray(v)
        db.set(key, v, keepttl=True)
    if len(v) < need:
        v.extend(bytes(need - len(v)))
        grew = True
    return v, grew


@command("setbit")
def cmd_setbit(c, argv):
    offset = _bit_offset(c, argv[2])
    on = parse_ll(argv[3])
    if on not in (0, 1):
        raise CommandError("ERR bit is not an integer or out of range")
    buf, grew = _string_for_write(c, argv[1], offset)
    byte = offset >> 3
    mask = 1 << (7 - (offset & 7))
    old = 1 if buf[byte] & mask else 0
    if grew or old != on:  # a change only when created, lengthened or the bit flips (as Redis)
        if on:
            buf[byte] |= mask
        else:
            buf[byte] &= ~mask & 0xFF
        c.engine.written(c.db, argv[1], "setbit", NOTIFY_STRING)
    return integer(old)


@command("getbit")
def cmd_getbit(c, argv):
    offset = _bit_offset(c, argv[2])
    v = get_string(c.db, argv[1], read=True)
    if v is None:
        return ZERO
    byte = offset >> 3
    if byte >= len(v):
        return ZERO
    return integer(1 if v[byte] & (1 << (7 - (offset & 7))) else 0)


def _is_bit_mode(arg: bytes) -> bool:
    """The BYTE|BIT unit argument of BITCOUNT and BITPOS."""
    mode = arg.lower()
    if mode == b"bit":
        return True
    if mode != b"byte":
        raise CommandError(errors.SYNTAX)
    return False


def _clamp_range(start: int, end: int, total: int, isbit: bool) -> tuple[int, int, int, int]:
    """Redis's range rules for BITCOUNT/BITPOS: (start byte, end byte, first/last byte masks).

    Negative indexes count from the end; in BIT mode the masks exclude the bits of the
    edge bytes that fall outside the range."""
    if start < 0:
        start += total
    if end < 0:
        end += total
    start = max(start, 0)
    end = max(end, 0)
    if end >= total:
        end = total - 1
    first_mask = last_mask = 0
    if isbit and start <= end:
        first_mask = ~((1 << (8 - (start & 7))) - 1) & 0xFF
        last_mask = (1 << (7 - (end & 7))) - 1
        start >>= 3
        end >>= 3
    return start, end, first_mask, last_mask


@command("bitcount")
def cmd_bitcount(c, argv):
    n = len(argv)
    v = c.db.read(argv[1])
    if v is None:
        return ZERO
    if type(v) not in STRING_TYPES:
        raise CommandError(errors.WRONGTYPE)
    strlen = len(v)
    first_mask = last_mask = 0
    if n in (4, 5):
        start = get_int(argv[2])
        end = get_int(argv[3])
        isbit = n == 5 and _is_bit_mode(argv[4])
        total = strlen * 8 if isbit else strlen
        if start < 0 and end < 0 and start > end:
            return ZERO
        start, end, first_mask, last_mask = _clamp_range(start, end, total, isbit)
    elif n == 2:
        start, end = 0, strlen - 1
    else:
        raise CommandError(errors.SYNTAX)
    if start > end:
        return ZERO
    seg = bytes(v[start : end + 1])
    count = sum(seg.translate(_POPCOUNT))
    if first_mask:
        count -= _POPCOUNT[seg[0] & first_mask]
    if last_mask:
        count -= _POPCOUNT[seg[-1] & last_mask]
    return integer(count)


def _first_bit(seg: bytes, bit: int) -> int:
    """Redis's redisBitpos: first set (or clear) bit; clear bits past the end count as found."""
    if bit:
        stripped = seg.lstrip(b"\x00")
        if not stripped:
            return -1
        idx = len(seg) - len(stripped)
        return idx * 8 + (8 - stripped[0].bit_length())
    stripped = seg.lstrip(b"\xff")
    idx = len(seg) - len(stripped)
    if not stripped:
        return idx * 8
    return idx * 8 + (8 - (~stripped[0] & 0xFF).bit_length())


@command("bitpos")
def cmd_bitpos(c, argv):
    n = len(argv)
    bit = get_int(argv[2])
    if bit not in (0, 1):
        raise CommandError("ERR The bit argument must be 1 or 0.")
    v = c.db.read(argv[1])
    if v is None:
        return NEG_ONE if bit else ZERO
    if type(v) not in STRING_TYPES:
        raise CommandError(errors.WRONGTYPE)
    strlen = len(v)
    first_mask = last_mask = 0
    end_given = False
    if n in (4, 5, 6):
        total = strlen
        start = get_int(argv[3])
        isbit = n == 6 and _is_bit_mode(argv[5])
        if n >= 5:
            end = get_int(argv[4])
            end_given = True
        else:
            end = (total << 3) + 7 if isbit else total - 1
        if isbit:
            total <<= 3
        start, end, first_mask, last_mask = _clamp_range(start, end, total, isbit)
    elif n == 3:
        start, end = 0, strlen - 1
    else:
        raise CommandError(errors.SYNTAX)
    if start > end:
        return NEG_ONE
    seg = bytearray(v[start : end + 1])
    if first_mask:
        seg[0] = (seg[0] & ~first_mask & 0xFF) if bit else (seg[0] | first_mask)
    if last_mask:
        seg[-1] = (seg[-1] & ~last_mask & 0xFF) if bit else (seg[-1] | last_mask)
    pos = _first_bit(bytes(seg), bit)
    if end_given and bit == 0 and pos == len(seg) * 8:
        return NEG_ONE
    if pos != -1:
        pos += start << 3
    return integer(pos)


@command("bitop")
def cmd_bitop(c, argv):
    op = argv[1].lower()
    if op not in (b"and", b"or", b"xor", b"not"):
        raise CommandError(errors.SYNTAX)
    srckeys = argv[3:]
    if op == b"not" and len(srckeys) != 1:
        raise CommandError("ERR BITOP NOT must be called with a single source key.")
    db = c.db
    values = []
    for k in srckeys:
        v = db.read(k)
        if v is not None and type(v) not in STRING_TYPES:
            raise CommandError(errors.WRONGTYPE)
        values.append(bytes(v) if v is not None else b"")
    maxlen = max((len(v) for v in values), default=0)
    dest = argv[2]
    e = c.engine
    if maxlen == 0:
        if db.delete(dest):
            e.written(db, dest, "del", notify.GENERIC)
        return ZERO
    ints = [int.from_bytes(v.ljust(maxlen, b"\x00"), "big") for v in values]
    if op == b"not":
        r = ~ints[0] & ((1 << (maxlen * 8)) - 1)
    else:
        r = ints[0]
        for x in ints[1:]:
            if op == b"and":
                r &= x
            elif op == b"or":
                r |= x
            else:
                r ^= x
    result = r.to_bytes(maxlen, "big")
    if db.expires:
        db.expire_if_needed(dest)
    db.set(dest, bytearray(result))
    e.written(db, dest, "set", NOTIFY_STRING)
    return integer(maxlen)


# ---------------------------------------------------------------------------
# BITFIELD

WRAP, SAT, FAIL = 0, 1, 2
TYPE_ERR = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."


def _bf_type(arg: bytes) -> tuple[bool, int]:
    sign_ch = arg[:1].lower()
    if sign_ch not in (b"i", b"u"):
        raise CommandError(TYPE_ERR)
    bits = parse_ll(arg[1:])
    signed = sign_ch == b"i"
    if bits is None or bits < 1 or (signed and bits > 64) or (not signed and bits > 63):
        raise CommandError(TYPE_ERR)
    return signed, bits


def _get_field(buf, offset: int, bits: int, signed: bool) -> int:
    first = offset >> 3
    last = (offset + bits - 1) >> 3
    chunk = bytes(buf[first : last + 1]).ljust(last - first + 1, b"\x00")
    val = int.from_bytes(chunk, "big")
    shift = (last - first + 1) * 8 - ((offset & 7) + bits)
    val = (val >> shift) & ((1 << bits) - 1)
    if signed and val >> (bits - 1):
        val -= 1 << bits
    return val


def _set_field(buf: bytearray, offset: int, bits: int, value: int) -> None:
    first = offset >> 3
    last = (offset + bits - 1) >> 3
    width = (last - first + 1) * 8
    cur = int.from_bytes(buf[first : last + 1], "big")
    shift = width - ((offset & 7) + bits)
    mask = ((1 << bits) - 1) << shift
    cur = (cur & ~mask) | ((value & ((1 << bits) - 1)) << shift)
    buf[first : last + 1] = cur.to_bytes(width // 8, "big")


def _overflow(value: int, bits: int, signed: bool, owtype: int) -> tuple[bool, int]:
    """(overflowed, value to store) with Redis's WRAP/SAT semantics."""
    if signed:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    else:
        lo, hi = 0, (1 << bits) - 1
    if lo <= value <= hi:
        return False, value
    if owtype == SAT:
        return True, hi if value > hi else lo
    wrapped = value & ((1 << bits) - 1)
    if signed and wrapped >> (bits - 1):
        wrapped -= 1 << bits
    return True, wrapped


def _bitfield(c, argv, readonly_cmd: bool):
    ops = []
    owtype = WRAP
    readonly = True
    highest = 0
    j = 2
    n = len(argv)
    while j < n:
        rem = n - j - 1
        sub = argv[j].lower()
        if sub == b"get" and rem >= 2:
            opcode = "get"
        elif sub == b"set" and rem >= 3:
            opcode = "set"
        elif sub == b"incrby" and rem >= 3:
            opcode = "incrby"
        elif sub == b"overflow" and rem >= 1:
            t = argv[j + 1].lower()
            if t == b"wrap":
                owtype = WRAP
            elif t == b"sat":
                owtype = SAT
            elif t == b"fail":
                owtype = FAIL
            else:
                raise CommandError("ERR Invalid OVERFLOW type specified")
            j += 2
            continue
        else:
            raise CommandError(errors.SYNTAX)
        signed, bits = _bf_type(argv[j + 1])
        offset = _bit_offset(c, argv[j + 2], hash_ok=True, bits=bits)
        value = 0
        if opcode != "get":
            readonly = False
            highest = max(highest, offset + bits - 1)
            value = get_int(argv[j + 3])
        ops.append((opcode, signed, bits, offset, value, owtype))
        j += 3 if opcode == "get" else 4
    db = c.db
    key = argv[1]
    if readonly:
        v = db.read(key)
        if v is not None and type(v) not in STRING_TYPES:
            raise CommandError(errors.WRONGTYPE)
        buf = v if v is not None else b""
        grew = False
    else:
        if readonly_cmd:
            raise CommandError("ERR BITFIELD_RO only supports the GET subcommand")
        existed = db.get(key) is not None
        buf, grew = _string_for_write(c, key, highest)
        grew = grew or not existed
    out = [b"*%d\r\n" % len(ops)]
    changes = 0
    for opcode, signed, bits, offset, value, ow in ops:
        if opcode == "get":
            out.append(integer(_get_field(buf, offset, bits, signed)))
            continue
        old = _get_field(buf, offset, bits, signed)
        if opcode == "incrby":
            overflowed, new = _overflow(old + value, bits, signed, ow)
            ret = new
        else:
            raw = value if signed else value & ((1 << 64) - 1)
            overflowed, new = _overflow(raw, bits, signed, ow)
            ret = old
        if overflowed and ow == FAIL:
            out.append(null(c.proto))
            continue
        _set_field(buf, offset, bits, new)
        out.append(integer(ret))
        if grew or old != new:  # Redis counts a write that changed (or made) the string
            changes += 1
    if changes:
        c.engine.written(db, key, "setbit", NOTIFY_STRING)
        c.engine.dirty += changes - 1
    return b"".join(out)


@command("bitfield")
def cmd_bitfield(c, argv):
    return _bitfield(c, argv, False)


@command("bitfield_ro")
def cmd_bitfield_ro(c, argv):
    return _bitfield(c, argv, True)
