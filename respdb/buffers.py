"""Each client's query and reply buffer sizes as Redis 7.0 would have them: CLIENT LIST's
qbuf-free, rbs and rbp, and INFO's reply_buffer_shrinks / reply_buffer_expands.

respdb's own buffers are Python objects sized by what they hold. These figures follow the
rules Redis sizes its buffers by, so tools watching them (and Redis's tests of the resizing)
see what Redis would show:

- The query buffer is an sds string. Each read makes room for 16 KB (PROTO_IOBUF_LEN) after
  the unprocessed bytes, exactly while the buffer is under 16 KB and greedily (twice what is
  needed, up to 1 MB more) after that; a bulk argument of 32 KB or more (PROTO_MBULK_BIG_ARG)
  gets a buffer of exactly its size, which the argument then takes over, leaving a fresh one
  of the same size behind. The largest need since the last check is the peak.
- The reply buffer is a fixed block, 16 KB at first; its peak is the most a single write
  filled of it.
- `cron` is Redis's clientsCronResizeQueryBuffer and clientsCronResizeOutputBuffer: an idle
  client's query buffer is freed after 2 seconds, one much larger than its peak is cut down
  to it; the reply buffer halves (down to 1 KB) while its peak stays under half of it and
  doubles (up to 16 KB) while its peak fills it, the peak starting over every
  `reply_peak_reset_ms` (DEBUG REPLYBUFFER PEAK-RESET-TIME, 5 s by default).
"""

from __future__ import annotations

from typing import Any

from respdb.debuginfo import je_size, sds_header
from respdb.keyspace import Database

IOBUF_LEN = 16384  # PROTO_IOBUF_LEN
BIG_ARG = 32768  # PROTO_MBULK_BIG_ARG
RESIZE_THRESHOLD = 32768  # PROTO_RESIZE_THRESHOLD
PREALLOC_MAX = 1 << 20  # SDS_MAX_PREALLOC
REPLY_CHUNK = 16384  # PROTO_REPLY_CHUNK_BYTES
REPLY_MIN = 1024  # PROTO_REPLY_MIN_BYTES
PEAK_RESET_MS = 5000  # the default reply_buffer_peak_reset_time


_TYPE_MAX = {3: 255, 5: 65535}  # what sds headers of type 8 and 16 can count up to


def sds_alloc(n: int) -> int:
    """sdsalloc() of an sds given room for n bytes: what its allocation can hold, less the
    header and the terminator (capped by the header type's limit)."""
    hdr = sds_header(n, allow_type5=False)
    usable = je_size(hdr + n + 1) - hdr - 1
    return min(usable, _TYPE_MAX.get(hdr, usable))


def read(c: Any, pending: int, big: int = 0) -> None:
    """A read into `c`'s query buffer, which holds `pending` unprocessed bytes; `big`: the bytes
    still missing of a big bulk argument being read (then the read is limited to those)."""
    readlen = big if big > 0 else IOBUF_LEN
    need = pending + readlen
    if c.qb_peak < need:
        c.qb_peak = need
    if c.qb_alloc - pending < readlen:
        if big or c.qb_alloc < IOBUF_LEN:
            c.qb_alloc = sds_alloc(need)  # sdsMakeRoomForNonGreedy
        else:
            c.qb_alloc = sds_alloc(need * 2 if need < PREALLOC_MAX else need + PREALLOC_MAX)


def big_bulk(c: Any, length: int) -> None:
    """A bulk argument of `length` >= BIG_ARG bytes is being read (or was just read): the
    query buffer is sized for exactly it (and, once it is taken as the argument, a new one
    of the same size replaces it)."""
    c.qb_alloc = sds_alloc(length + 2)
    if c.qb_peak < length + 2:
        c.qb_peak = length + 2


def cron(engine: Any, c: Any, now_ms: int) -> None:
    """Redis's clientsCron resizing for one client."""
    length = c.qbuf
    if c.qb_alloc - length > 4096:
        if Database.clock - c.last_interaction > 2:
            c.qb_alloc = length  # sdsRemoveFreeSpace
        elif c.qb_alloc > RESIZE_THRESHOLD and c.qb_alloc // 2 > c.qb_peak:
            c.qb_alloc = max(length, c.qb_peak)  # sdsResize to the recent peak
    c.qb_peak = length
    size = c.rb_size
    new = 0
    if engine.reply_resizing:
        if size // 2 >= REPLY_MIN and c.rb_peak < size // 2:
            new = max(REPLY_MIN, c.rb_peak + 1)
            engine.stats["reply_buffer_shrinks"] += 1
        elif size * 2 < REPLY_CHUNK * 2 and c.rb_peak == size:
            new = min(REPLY_CHUNK, size * 2)
            engine.stats["reply_buffer_expands"] += 1
    reset = engine.reply_peak_reset_ms
    if reset >= 0 and now_ms - c.rb_reset >= reset:
        c.rb_peak = 0  # (what the buffer holds unsent: nothing between event-loop turns)
        c.rb_reset = now_ms
    if new:
        c.rb_size = je_size(new)


def cron_all(engine: Any, now_ms: int) -> None:
    """clientsCron's share of the clients for one cron run: every client once a second, and at
    least 5 per run (all of them while there are few)."""
    clients = list(engine.clients.values())
    n = len(clients)
    if not n:
        return
    hz = max(1, engine.hz)
    count = max(n // hz, min(n, 5))
    start = engine.buffers_pos % n
    for i in range(start, start + count):
        cron(engine, clients[i % n], now_ms)
    engine.buffers_pos = (start + count) % n
