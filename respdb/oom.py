"""oom-score-adj: what the kernel's OOM killer should think of this process (Linux only).

With `oom-score-adj yes|relative`, /proc/self/oom_score_adj is set to the base value found
when respdb first took it over plus the entry of `oom-score-adj-values` for the process's
class: master, replica or background child (BGSAVE, AOF rewrite, a replica's snapshot);
with `absolute`, to the entry alone; clamped to -1000..1000. Turning it off writes the base
back. (Redis's setOOMScoreAdj.)
"""

from __future__ import annotations

from typing import Any

PATH = "/proc/self/oom_score_adj"
CLASSES = {"master": 0, "replica": 1, "bgchild": 2}


class OOMScore:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.adjusted = False  # we wrote the file, and `base` holds what was there before
        self.base = 0

    def apply(self, cls: str | None = None) -> bool:
        """Write the value for `cls` (the server's own role when None); False if the file
        could not be written (logged)."""
        e = self.engine
        cfg = e.config
        mode = cfg["oom-score-adj"]
        if cls is None:
            cls = "replica" if e.replication.upstream is not None else "master"
        if mode != "no":
            if not self.adjusted:
                try:
                    with open(PATH) as f:
                        self.base = int(f.read().strip() or 0)
                except (OSError, ValueError):
                    return True  # (not Linux: nothing to adjust)
                self.adjusted = True
            val = int(cfg["oom-score-adj-values"].split()[CLASSES[cls]])
            if mode != "absolute":
                val += self.base
            val = max(-1000, min(1000, val))
        elif self.adjusted:
            self.adjusted = False
            val = self.base
        else:
            return True
        try:
            with open(PATH, "w") as f:
                f.write("%d\n" % val)
        except OSError as err:
            e.log("warning", "Unable to write oom_score_adj: %s" % err.strerror)
            return False
        return True


def validate_values(value: str) -> str:
    """oom-score-adj-values: three integers in -2000..2000 (Redis's messages)."""
    from respdb.config import ConfigError

    parts = value.split()
    if len(parts) != 3:
        raise ConfigError("wrong number of arguments")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        nums = [2001]
    if any(not -2000 <= n <= 2000 for n in nums):
        raise ConfigError("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
    return " ".join(str(n) for n in nums)
