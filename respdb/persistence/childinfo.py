"""What a forked child (BGSAVE, AOF rewrite) reports while it runs: INFO's current_cow_size,
current_cow_peak, current_cow_size_age, current_fork_perc, current_save_keys_processed and
current_save_keys_total, then rdb_last_cow_size / aof_last_cow_size.

Copy-on-write is measured as Redis's child measures it, the Private_Dirty memory of the child
(pages it no longer shares with the server), but read by the server from
/proc/<child>/smaps_rollup about once a second, so the child spends nothing on it. The keys
processed come from the child through an 8-byte shared memory page.
"""

from __future__ import annotations

import mmap
import struct
import time

_KEYS = struct.Struct("q")


def private_dirty(pid: int) -> int:
    """Bytes of the process's memory not shared any more (0 when it cannot be read)."""
    try:
        with open("/proc/%d/smaps_rollup" % pid, "rb") as f:
            for line in f:
                if line.startswith(b"Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class ChildInfo:
    """The figures of the running child, one per kind of child (rdb / aof)."""

    def __init__(self) -> None:
        self.page = mmap.mmap(-1, mmap.PAGESIZE)  # shared with the child after fork
        self.pid = -1
        self.keys_total = 0
        self.cow = 0
        self.peak = 0
        self.cow_time = 0.0  # when `cow` was measured
        self.last_cow = 0  # the last figure of the previous child (rdb_last_cow_size)

    # -- in the server ------------------------------------------------------------------

    def started(self, pid: int, keys_total: int) -> None:
        self.pid = pid
        self.keys_total = keys_total
        self.cow = self.peak = 0
        self.cow_time = 0.0
        _KEYS.pack_into(self.page, 0, 0)

    def sample(self) -> None:
        """From the cron: the child's copy-on-write, at most once a second."""
        now = time.monotonic()
        if self.pid != -1 and now - self.cow_time >= 1.0:
            self.cow = private_dirty(self.pid)
            self.peak = max(self.peak, self.cow)
            self.cow_time = now

    def ended(self) -> None:
        if self.pid != -1:
            self.last_cow = self.cow
        self.pid = -1

    def keys_processed(self) -> int:
        return _KEYS.unpack_from(self.page, 0)[0] if self.pid != -1 else 0

    def info(self) -> list[str]:
        running = self.pid != -1
        done = self.keys_processed()
        perc = 100.0 * done / self.keys_total if running and self.keys_total else 0.0
        age = int(time.monotonic() - self.cow_time) if running and self.cow_time else 0
        return [
            "current_cow_peak:%d" % (self.peak if running else 0),
            "current_cow_size:%d" % (self.cow if running else 0),
            "current_cow_size_age:%d" % age,
            "current_fork_perc:%.2f" % perc,
            "current_save_keys_processed:%d" % done,
            "current_save_keys_total:%d" % (self.keys_total if running else 0),
        ]

    # -- in the child -------------------------------------------------------------------

    def report_keys(self, n: int) -> None:
        _KEYS.pack_into(self.page, 0, n)
