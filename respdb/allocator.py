"""Handing freed heap memory back to the system.

CPython takes large blocks (dict tables, long strings, arrays) from the C library's malloc.
glibc keeps what is freed inside its heap for reuse and returns it to the system only when
asked, so after the keyspace has grown (each resize of a dict frees its old table) the
process would go on holding tens of MB it no longer uses. Redis's jemalloc purges such
pages on its own; here the engine's cron asks glibc (malloc_trim) whenever the number of
keys has changed by a sixteenth since it last asked, and MEMORY PURGE asks at once. It costs
a fraction of a millisecond on a heap of a few hundred MB. Where the C library has no
malloc_trim (musl, macOS) nothing is done.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library this process runs on
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_trim = _malloc_trim()


def release() -> bool:
    """Return free heap pages to the system; True when some were returned."""
    return bool(_trim(0)) if _trim is not None else False


def release_due(keys: int, last: int) -> bool:
    """Whether the cron should call release(): the key count moved by a sixteenth (and 256)."""
    return abs(keys - last) * 16 > last + 4096
