"""CRC-64 as Redis computes it for RDB files and DUMP payloads.

The "Jones" polynomial 0xad93d23594c935a9, reflected (bits processed least significant first),
initial value 0, no final XOR; crc64(b"123456789") == 0xe9c6d914c4b8d9ca.

Table driven. Besides the usual 256-entry byte table there is a 65536-entry table that consumes
two bytes per step: the update is linear over GF(2), so two byte steps fold into one lookup on
the low 16 bits of (crc ^ next two bytes) plus a 16-bit shift. Half as many trips through the
interpreter loop is what matters in Python. The big table is built on first use.

That still runs at only a few MB/s, so when the `anycrc` C extension is installed it computes
the same CRC instead (tests check both against each other and against Redis's DUMP payloads).
"""

from __future__ import annotations

import sys

POLY = 0xAD93D23594C935A9


def _reflect64(v: int) -> int:
    return int(format(v, "064b")[::-1], 2)


_RPOLY = _reflect64(POLY)


def _byte_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ _RPOLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


T8 = _byte_table()
_T16: list[int] | None = None


def _word_table() -> list[int]:
    global _T16
    if _T16 is None:
        t8 = T8
        table = [0] * 65536
        for x in range(65536):
            c = t8[x & 0xFF] ^ (x >> 8)
            table[x] = t8[c & 0xFF] ^ (c >> 8)
        _T16 = table
    return _T16


_LITTLE = sys.byteorder == "little"


try:
    import anycrc as _anycrc

    _fast = _anycrc.CRC(width=64, poly=POLY, init=0, refin=True, refout=True, xorout=0)
except Exception:  # pragma: no cover - depends on the environment
    _fast = None


def crc64(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """Continue the CRC `crc` over `data`."""
    if _fast is not None and len(data) >= 64:
        return _fast.calc(data, crc)
    return crc64_py(data, crc)


def crc64_py(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    mv = memoryview(data).cast("B")
    n = len(mv)
    if n < 16:
        t8 = T8
        for b in mv:
            crc = t8[(crc ^ b) & 0xFF] ^ (crc >> 8)
        return crc
    t16 = _word_table()
    even = n & ~1
    if _LITTLE:
        words = mv[:even].cast("H")
    else:  # pragma: no cover - big-endian hosts
        from array import array

        words = array("H", mv[:even])
        words.byteswap()
    for w in words:
        crc = t16[(crc ^ w) & 0xFFFF] ^ (crc >> 16)
    if n & 1:
        crc = T8[(crc ^ mv[n - 1]) & 0xFF] ^ (crc >> 8)
    return crc
