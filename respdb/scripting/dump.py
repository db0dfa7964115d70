"""FUNCTION DUMP / RESTORE payloads: what the RDB file holds for functions.

A payload is, for each library, the RDB_OPCODE_FUNCTION2 byte and the library code as an
RDB string (LZF-compressed when that saves space, as Redis does with rdbcompression on),
then the RDB version (2 bytes, little endian) and the CRC-64 of everything before it
(8 bytes, little endian).
"""

from __future__ import annotations

import struct

from respdb.errors import CommandError

RDB_VERSION = 10
OPCODE_FUNCTION_PRE_GA = 0xF6
OPCODE_FUNCTION2 = 0xF5
ENC_INT8, ENC_INT16, ENC_INT32, ENC_LZF = 0, 1, 2, 3


def _crc64(data: bytes) -> int:
    from respdb.persistence.crc64 import crc64

    return crc64(data)


def encode_length(n: int) -> bytes:
    if n < 64:
        return bytes((n,))
    if n < 16384:
        return bytes((0x40 | (n >> 8), n & 0xFF))
    if n <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def _int_encoding(s: bytes) -> bytes | None:
    """rdbTryIntegerEncoding: short strings that are canonical integers."""
    if not s or len(s) > 11:
        return None
    try:
        v = int(s)
    except ValueError:
        return None
    if b"%d" % v != s:
        return None
    if -(1 << 7) <= v < (1 << 7):
        return bytes((0xC0 | ENC_INT8,)) + struct.pack("<b", v)
    if -(1 << 15) <= v < (1 << 15):
        return bytes((0xC0 | ENC_INT16,)) + struct.pack("<h", v)
    if -(1 << 31) <= v < (1 << 31):
        return bytes((0xC0 | ENC_INT32,)) + struct.pack("<i", v)
    return None


def encode_string(s: bytes, compress: bool = True) -> bytes:
    """rdbSaveRawString."""
    enc = _int_encoding(s) if len(s) <= 11 else None
    if enc is not None:
        return enc
    if compress and len(s) > 20:
        from respdb.persistence.lzf import compress as lzf_compress

        packed = lzf_compress(s, len(s) - 4) if len(s) > 4 else None
        if packed:
            return bytes((0xC0 | ENC_LZF,)) + encode_length(len(packed)) + encode_length(len(s)) + packed
    return encode_length(len(s)) + s


class _Reader:
    def __init__(self, data: bytes, end: int) -> None:
        self.data = data
        self.pos = 0
        self.end = end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise ValueError("truncated")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def take(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise ValueError("truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def length(self) -> tuple[int, bool]:
        """(length or encoding, is_encoded)."""
        b = self.byte()
        kind = b >> 6
        if kind == 0:
            return b & 0x3F, False
        if kind == 1:
            return ((b & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return b & 0x3F, True
        if b == 0x80:
            return struct.unpack(">I", self.take(4))[0], False
        if b == 0x81:
            return struct.unpack(">Q", self.take(8))[0], False
        raise ValueError("bad length")

    def string(self) -> bytes:
        n, encoded = self.length()
        if not encoded:
            return self.take(n)
        if n == ENC_INT8:
            return b"%d" % struct.unpack("<b", self.take(1))[0]
        if n == ENC_INT16:
            return b"%d" % struct.unpack("<h", self.take(2))[0]
        if n == ENC_INT32:
            return b"%d" % struct.unpack("<i", self.take(4))[0]
        if n == ENC_LZF:
            clen, _ = self.length()
            ulen, _ = self.length()
            from respdb.persistence.lzf import decompress

            return decompress(self.take(clen), ulen)
        raise ValueError("bad string encoding")


def dump(codes: list[bytes], compress: bool = True) -> bytes:
    body = b"".join(bytes((OPCODE_FUNCTION2,)) + encode_string(code, compress) for code in codes)
    body += struct.pack("<H", RDB_VERSION)
    return body + struct.pack("<Q", _crc64(body))


def parse(payload: bytes) -> list[bytes]:
    """The library codes of a payload; CommandError with Redis's messages otherwise."""
    if len(payload) < 10:
        raise CommandError("ERR DUMP payload version or checksum are wrong")
    version = struct.unpack("<H", payload[-10:-8])[0]
    if version > RDB_VERSION or struct.unpack("<Q", payload[-8:])[0] != _crc64(payload[:-8]):
        raise CommandError("ERR DUMP payload version or checksum are wrong")
    r = _Reader(payload, len(payload) - 10)
    codes = []
    try:
        while r.pos < r.end:
            opcode = r.byte()
            if opcode == OPCODE_FUNCTION_PRE_GA:
                raise CommandError("ERR Pre-GA function format not supported")
            if opcode != OPCODE_FUNCTION2:
                raise CommandError("ERR given type is not a function")
            codes.append(r.string())
    except ValueError:
        raise CommandError("ERR failed loading the given functions payload") from None
    return codes
