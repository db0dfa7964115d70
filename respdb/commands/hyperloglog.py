"""HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.

An HLL is a plain string value (respdb/types/hyperloglog.py has the layout). Commands that
change it keep it as a `bytearray`, which is also how Redis leaves it: the commands "unshare"
the string, so OBJECT ENCODING says raw afterwards.
"""

from __future__ import annotations

import os

from respdb import errors, notify
from respdb.commands.strings import STRING_TYPES
from respdb.commands.table import command
from respdb.errors import CommandError
from respdb.resp import OK, ONE, ZERO, bulk, integer, simple
from respdb.types import hyperloglog as H

NOTIFY_STRING = notify.STRING


def _lookup(db, key: bytes, read: bool = False):
    """The HLL string at key or None; Redis's errors for other types and broken headers.
    `read`: a read lookup (PFCOUNT, PFMERGE's sources: keyspace_hits/misses, `keymiss`)."""
    v = db.read(key) if read else db.get(key)
    if v is None:
        return None
    if type(v) not in STRING_TYPES:
        raise CommandError(errors.WRONGTYPE)
    if not H.is_hll(v):
        raise CommandError(H.NOT_HLL)
    return v


def _unshare(db, key: bytes, v) -> bytearray:
    """dbUnshareStringValue: the value becomes a private raw string (TTL kept)."""
    if type(v) is not bytearray:
        v = bytearray(v)
        db.data[key] = v
    return v


def _max_bytes(c) -> H.Limit:
    config = c.engine.config
    return lambda: config.get_int("hll-sparse-max-bytes")


@command("pfadd")
def cmd_pfadd(c, argv):
    db = c.db
    key = argv[1]
    v = _lookup(db, key)
    updated = 0
    if v is None:
        v = H.new_sparse()
        db.set(key, v)
        updated = 1
    else:
        v = _unshare(db, key, v)
    try:
        changed = H.add_all(v, argv[2:], _max_bytes(c))
    except H.Corrupt:
        raise CommandError(H.CORRUPT) from None
    updated += changed
    if updated:
        H.invalidate(v)
        e = c.engine
        e.written(db, key, "pfadd", NOTIFY_STRING)
        e.dirty += updated - 1
        return ONE
    return ZERO


@command("pfcount")
def cmd_pfcount(c, argv):
    db = c.db
    if len(argv) > 2:
        # The union's cardinality, computed on a scratch register set: no key changes.
        acc = None
        sources = []
        for key in argv[1:]:
            v = _lookup(db, key, read=True)
            if v is None:
                continue
            try:
                regs = H.register_lanes(v)
            except H.Corrupt:
                raise CommandError(H.CORRUPT) from None
            sources.append(v)
            acc = regs if acc is None else H.lanes_max(acc, regs)
        if acc is None:
            return ZERO
        if len(sources) == 1:
            # The union of one HLL is itself: its (possibly kept) histogram will do.
            return integer(H.estimate(H.histogram(sources[0])))
        return integer(H.estimate(H.lanes_histogram(acc)))
    key = argv[1]
    v = _lookup(db, key, read=True)
    if v is None:
        return ZERO
    v = _unshare(db, key, v)
    card = H.cached_card(v)
    if card is None:
        h = H.histogram(v)
        if h is None:
            raise CommandError(H.CORRUPT)
        card = H.estimate(h)
        H.set_card(v, card)
        # Storing the cache changes the string: it counts as a write, propagated as is.
        c.engine.written(db, key, "", 0)
        c.propagate_as(list(argv))
    return integer(card)


@command("pfmerge")
def cmd_pfmerge(c, argv):
    db = c.db
    raw = None
    use_dense = False
    for key in argv[1:]:  # the destination too: Redis reads it as a source first
        v = _lookup(db, key, read=True)
        if v is None:
            continue
        if v[4] == H.DENSE:
            use_dense = True
        try:
            regs = H.registers(v)
        except H.Corrupt:
            raise CommandError(H.CORRUPT) from None
        raw = regs if raw is None else H.raw_max(raw, regs)
    dest = argv[1]
    v = db.get(dest)
    if v is None:
        v = H.new_sparse()
        db.set(dest, v)
    else:
        v = _unshare(db, dest, v)
    if use_dense and v[4] == H.SPARSE:
        try:
            H.to_dense(v)
        except H.Corrupt:
            raise CommandError(H.CORRUPT) from None
    if raw is not None:
        H.merge_into(v, raw, _max_bytes(c))
    H.invalidate(v)
    c.engine.written(db, dest, "pfadd", NOTIFY_STRING)
    return OK


@command("pfdebug")
def cmd_pfdebug(c, argv):
    db = c.db
    sub = argv[1]
    key = argv[2]
    v = db.get(key)
    if v is None:
        raise CommandError("ERR The specified key does not exist")
    if type(v) not in STRING_TYPES:
        raise CommandError(errors.WRONGTYPE)
    if not H.is_hll(v):
        raise CommandError(H.NOT_HLL)
    v = _unshare(db, key, v)
    name = sub.split(b"\0", 1)[0]
    op = name.lower()
    if op == b"getreg":
        if v[4] == H.SPARSE:
            _todense(c, v)
        regs = H.unpack_dense(bytes(v[H.HDR :]))
        return b"*%d\r\n" % H.REGISTERS + b"".join(integer(r) for r in regs)
    if op == b"decode":
        if v[4] != H.SPARSE:
            raise CommandError("ERR HLL encoding is not sparse")
        return bulk(H.decode_text(bytes(v[H.HDR :])))
    if op == b"encoding":
        return simple("dense" if v[4] == H.DENSE else "sparse")
    if op == b"todense":
        if v[4] == H.SPARSE:
            _todense(c, v)
            return ONE
        return ZERO
    raise CommandError("ERR Unknown PFDEBUG subcommand '%s'" % name.decode("utf-8", "surrogateescape"))


def _todense(c, v: bytearray) -> None:
    try:
        H.to_dense(v)
    except H.Corrupt:
        raise CommandError(H.CORRUPT) from None
    c.engine.dirty += 1  # forces propagation of the encoding change


@command("pfselftest")
def cmd_pfselftest(c, argv):
    err = selftest()
    if err:
        raise CommandError("TESTFAILED " + err)
    return OK


def selftest(elements: int = 20000) -> str:
    """Checks of our register code (Redis's test adds 10M elements; a Python server keeps
    it short): packed registers round-trip, and a sparse and a dense HLL fed the same
    elements agree and stay near the true count."""
    raw = os.urandom(H.REGISTERS).translate(bytes(b & 63 for b in range(256)))
    v = bytearray(H.MAGIC + bytes(12)) + H.pack_dense(raw)
    for i in range(0, H.REGISTERS, 97):
        if H.dense_get(v, i) != raw[i]:
            return "Register %d should be %d but is %d" % (i, raw[i], H.dense_get(v, i))
    if H.unpack_dense(bytes(v[H.HDR :])) != raw:
        return "Register unpacking disagrees"
    dense = bytearray(H.MAGIC + bytes(12) + bytes(H.DENSE_BYTES))
    sparse = H.new_sparse()
    seed = int.from_bytes(os.urandom(8), "little")
    checkpoint = 1
    relerr = 1.04 / (H.REGISTERS**0.5)
    batch = []
    for j in range(1, elements + 1):
        ele = ((j ^ seed) & ((1 << 64) - 1)).to_bytes(8, "little")
        H.dense_add(dense, ele)
        batch.append(ele)
        if j == checkpoint:
            H.add_all(sparse, batch, lambda: 3000)
            batch = []
            if j < 1500 and sparse[4] != H.SPARSE:
                return "sparse encoding not used"
            card = H.estimate(H.histogram(dense))
            if card != H.estimate(H.histogram(sparse)):
                return "dense/sparse disagree"
            maxerr = 1 if j == 10 else int(relerr * 6 * checkpoint + 0.999999)
            if abs(checkpoint - card) > maxerr:
                return "Too big error. card:%d abserr:%d" % (checkpoint, abs(checkpoint - card))
            checkpoint *= 10
    return ""
