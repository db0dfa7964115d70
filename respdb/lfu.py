"""LFU access counters, kept the way Redis keeps them under an LFU maxmemory policy.

Redis reuses an object's 24-bit `lru` field: the high 16 bits hold the time of the last
decrement in minutes (mod 2**16), the low 8 bits a logarithmic access counter that starts
at 5 for a new value. Each access first decays the counter by one per `lfu-decay-time`
minutes elapsed, then increments it with probability 1 / ((counter - 5) * lfu-log-factor + 1).
respdb keeps the same 24-bit number per key in `Database.atime` while the policy is an LFU
one (the LRU clock otherwise), so OBJECT FREQ reads it exactly as Redis does, including the
meaningless values left over right after switching policies.
"""

from __future__ import annotations

import random
import time

INIT_VAL = 5


class _Settings:
    log_factor = 10
    decay_time = 1


settings = _Settings()


def configure(log_factor: int, decay_time: int) -> None:
    settings.log_factor = log_factor
    settings.decay_time = decay_time


def minutes() -> int:
    return (int(time.time()) // 60) & 65535


def new() -> int:
    """The field of a freshly created value."""
    return (minutes() << 8) | INIT_VAL


def decayed(field: int) -> int:
    """LFUDecrAndReturn: the counter after decay, without storing anything."""
    ldt = field >> 8
    counter = field & 255
    if settings.decay_time:
        now = minutes()
        elapsed = now - ldt if now >= ldt else 65535 - ldt + now
        periods = elapsed // settings.decay_time
        if periods:
            counter = 0 if periods > counter else counter - periods
    return counter


def _log_incr(counter: int) -> int:
    if counter == 255:
        return 255
    base = counter - INIT_VAL
    if base < 0:
        base = 0
    if random.random() < 1.0 / (base * settings.log_factor + 1):
        counter += 1
    return counter


def touch(field: int | None) -> int:
    """updateLFU: the field after one access."""
    if field is None:
        field = new()
    return (minutes() << 8) | _log_incr(decayed(field))
