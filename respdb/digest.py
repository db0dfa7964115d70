"""DEBUG DIGEST / DIGEST-VALUE: Redis's SHA1-based fingerprint of a dataset or of values.

Two primitives build every digest (20-byte states, starting from zeros):
- `_xor(d, data)`: d ^= SHA1(data). Order-free, for unordered things (set members, hash
  fields, zset elements, keys of a database).
- `_mix(d, data)`: d = SHA1(d ^ SHA1(data)). Order-sensitive, for sequences (list elements,
  stream entries) and for the parts of one element.

Per value: mix the big-endian type code, then the contents by type; a key with a TTL also
gets "!!expire!!" xored in. Per key: mix the key name first, then the value as above; the key
digest is xored (through SHA1) into the database's total, which starts with the mixed
big-endian database number. Empty databases are skipped, so an empty server digests to zeros.

Scores are formatted with C's "%.17g" (Python's "%.17g" is the same conversion), the string
form Redis 7.0 mixes. Stream entries mix "<ms>.<seq>" and then every field and value in turn;
consumer groups are not part of the digest. The values are read straight from the storage,
including keys that have expired but were not deleted yet, as Redis's dictionary walk does.
"""

from __future__ import annotations

from hashlib import sha1
from typing import Any

from respdb.types import lists, zsets
from respdb.types.streams import MAX64, MAX_ID
from respdb.types.strings import PlainBytes

ZERO = bytes(20)
_EXPIRE_MARK = b"!!expire!!"
# Redis's object type codes (OBJ_STRING ... OBJ_STREAM), big-endian as htonl() leaves them.
_TYPE_CODE = {
    "string": b"\0\0\0\0",
    "list": b"\0\0\0\1",
    "set": b"\0\0\0\2",
    "zset": b"\0\0\0\3",
    "hash": b"\0\0\0\4",
    "stream": b"\0\0\0\6",
}
_STRING_TYPES = (bytes, bytearray, PlainBytes)


def _xor(d: bytes, data: bytes) -> bytes:
    h = sha1(data).digest()
    return (int.from_bytes(d, "big") ^ int.from_bytes(h, "big")).to_bytes(20, "big")


def _mix(d: bytes, data: bytes) -> bytes:
    return sha1(_xor(d, data)).digest()


def value_digest(value: Any, has_expire: bool, d: bytes = ZERO) -> bytes:
    """Mix one value into `d` (Redis's xorObjectDigest)."""
    if type(value) in _STRING_TYPES:
        d = _mix(_mix(d, _TYPE_CODE["string"]), bytes(value))
    else:
        kind = value.redis_type
        d = _mix(d, _TYPE_CODE[kind])
        if kind == "list":
            for x in lists.values_of(value):
                d = _mix(d, x)
        elif kind == "set":
            acc = int.from_bytes(d, "big")
            for m in value.members():
                acc ^= int.from_bytes(sha1(m).digest(), "big")
            d = acc.to_bytes(20, "big")
        elif kind == "zset":
            for score, m in zsets.all_pairs(value):
                d = _xor(d, _mix(_mix(ZERO, m), b"%.17g" % score))
        elif kind == "hash":
            for f, v in value.items():
                d = _xor(d, _mix(_mix(ZERO, f), v))
        elif kind == "stream":
            for k, fv in value.iter_range(0, MAX_ID):
                d = _mix(d, b"%d.%d" % (k >> 64, k & MAX64))
                for x in fv:
                    d = _mix(d, x)
        else:  # pragma: no cover - every stored type is listed above
            raise TypeError("no digest for type %r" % kind)
    if has_expire:
        d = _xor(d, _EXPIRE_MARK)
    return d


def key_digest(db: Any, key: bytes) -> bytes:
    """DEBUG DIGEST-VALUE for one key of `db`: zeros when the key is not stored."""
    v = db.data.get(key)
    if v is None:
        return ZERO
    return value_digest(v, key in db.expires)


def dataset_digest(dbs: list[Any]) -> bytes:
    """DEBUG DIGEST: every database, every key (Redis's computeDatasetDigest)."""
    final = ZERO
    for db in dbs:
        data = db.data
        if not data:
            continue
        final = _mix(final, db.id.to_bytes(4, "big"))
        expires = db.expires
        acc = int.from_bytes(final, "big")
        for key, v in data.items():
            d = value_digest(v, key in expires, _mix(ZERO, key))
            acc ^= int.from_bytes(sha1(d).digest(), "big")
        final = acc.to_bytes(20, "big")
    return final
