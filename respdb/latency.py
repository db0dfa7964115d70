"""The latency monitor (LATENCY LATEST/HISTORY/GRAPH/DOCTOR/RESET) and the per-command
latency histograms (LATENCY HISTOGRAM, INFO latencystats).

Monitor: each event ("command", "fast-command", "expire-cycle", "fork", ...) keeps the
last 160 one-second samples, as Redis's latency.c does: a sample is taken only when the
latency (whole milliseconds) reaches `latency-monitor-threshold` (0 = off), and several
in the same second keep the highest.

Histograms: a command taking 1024 ns or more leaves the request path through the same
single comparison as the slow log (slowlog.observe) and adds one count to `Command.hist`,
indexed by the bit length of its duration in nanoseconds (power-of-two buckets). Faster
commands cost nothing extra: their count is derived as calls minus the counted ones
(`hist[0]` holds minus the calls that are no sample, such as a blocked command that timed
out). Redis keeps an HDR histogram per command and reports it through a power-of-two
iterator starting at 1024 ns; our buckets map onto those report points, so replies have
Redis's keys (1, 2, 4, 8, 16, 33, 66, ... µs). Counts near a bucket edge can land one
bucket up from where Redis puts them (its report point L covers values up to
L + L/128 - 1 ns), and the percentiles of INFO latencystats are the top of the bucket
holding them, not HDR's 2-significant-digit values.

With `latency-tracking no` the histograms are frozen as they were (Redis keeps showing
them) and the calls made meanwhile are left out when tracking resumes.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from respdb.slowlog import OFF, update_threshold

if TYPE_CHECKING:
    from respdb.commands.table import Command
    from respdb.engine import Engine

TS_LEN = 160  # LATENCY_TS_LEN: samples kept per event
GRAPH_COLS = 80
HIST_LEN = 65  # bit lengths 0..64

# Report points of Redis's histogram iterator: 1024 ns doubling up to 2^29 ns, each shown
# as the top of its HDR sub-bucket in µs; then the histogram's end (1 s is its maximum).
_LEVELS = [1024 << k for k in range(20)]
_KEYS_US = [(lv + (lv >> 7) - 1) // 1000 for lv in _LEVELS] + [((1 << 30) - 1) // 1000]


def _bucket_point(b: int) -> int:
    """Index into _KEYS_US for durations of bit length b (values < 2**b ns)."""
    if b <= 10:
        return 0
    return min(b - 10, len(_LEVELS))


POINT_OF = [_bucket_point(b) for b in range(HIST_LEN)]
FLOOR_NS = 1024  # below this, no count is kept per call: those are derived from `calls`


def new_hist() -> list[int]:
    return [0] * HIST_LEN


def _eligible(cmd: Command) -> int:
    """Calls that are latency samples: all calls but those hist[0] takes away."""
    return cmd.calls + cmd.hist[0]


class Series:
    __slots__ = ("times", "lats", "idx", "max")

    def __init__(self) -> None:
        self.times = [0] * TS_LEN
        self.lats = [0] * TS_LEN
        self.idx = 0
        self.max = 0

    def add(self, now: int, ms: int) -> None:
        if ms > self.max:
            self.max = ms
        prev = (self.idx - 1) % TS_LEN
        if self.times[prev] == now:
            if ms > self.lats[prev]:
                self.lats[prev] = ms
            return
        self.times[self.idx] = now
        self.lats[self.idx] = ms
        self.idx = (self.idx + 1) % TS_LEN

    def samples(self) -> list[tuple[int, int]]:
        """(unix time, latency ms), oldest first."""
        out = []
        for j in range(TS_LEN):
            i = (self.idx + j) % TS_LEN
            if self.times[i]:
                out.append((self.times[i], self.lats[i]))
        return out

    def latest(self) -> tuple[int, int]:
        last = (self.idx - 1) % TS_LEN
        return self.times[last], self.lats[last]


class Latency:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.events: dict[str, Series] = {}
        self.threshold_ms = 0
        self.threshold_ns = OFF
        self.tracking = True
        self.floor_ns = FLOOR_NS  # from this duration a command is counted in its histogram
        self.base: dict[Command, int] = {}  # calls that are no samples (made while tracking was off)
        self.frozen: dict[Command, list[int]] | None = None  # the histograms while tracking is off
        self.snap: dict[Command, int] = {}
        self.percentiles: list[float] = [50.0, 99.0, 99.9]
        engine.config.listeners.append(self._config_changed)
        engine.latency = self  # (configure() reads it back to set engine.slow_ns)
        self.configure()

    # -- configuration ----------------------------------------------------------------------

    def configure(self) -> None:
        cfg = self.engine.config
        self.threshold_ms = cfg.get_int("latency-monitor-threshold")
        self.threshold_ns = self.threshold_ms * 1_000_000 if self.threshold_ms > 0 else OFF
        self.percentiles = parse_percentiles(cfg["latency-tracking-info-percentiles"])
        self.set_tracking(cfg["latency-tracking"] == "yes")
        update_threshold(self.engine)

    def _config_changed(self, name: str, value: str) -> None:
        if name.startswith("latency-"):
            self.configure()

    # -- the monitor ------------------------------------------------------------------------

    def sample(self, event: str, ms: int) -> None:
        """latencyAddSampleIfNeeded: record `ms` if the monitor is on and it is over the bar."""
        if self.threshold_ms and ms >= self.threshold_ms:
            self.add(event, ms)

    def since(self, event: str, t0: float) -> None:
        """Sample the time since perf_counter() was `t0` (a cheap test when the monitor is off)."""
        if self.threshold_ms:
            self.sample(event, int((time.perf_counter() - t0) * 1000))

    def aof_written(self, t0: float, child: bool) -> None:
        """After an AOF write: Redis files it under aof-write and under a name saying whether
        a child process (BGSAVE, rewrite) was competing for the disk."""
        if self.threshold_ms:
            ms = int((time.perf_counter() - t0) * 1000)
            self.sample("aof-write-active-child" if child else "aof-write-alone", ms)
            self.sample("aof-write", ms)

    def add(self, event: str, ms: int) -> None:
        s = self.events.get(event)
        if s is None:
            s = self.events[event] = Series()
        s.add(int(time.time()), ms)

    def reset(self, names: list[str] | None) -> int:
        if names is None:
            n = len(self.events)
            self.events.clear()
            return n
        n = 0
        for name in names:
            low = name.lower()
            for ev in list(self.events):
                if ev.lower() == low:
                    del self.events[ev]
                    n += 1
        return n

    # -- histograms -------------------------------------------------------------------------

    def set_tracking(self, on: bool) -> None:
        if on == self.tracking:
            return
        cmds = self.engine.table.all_commands()
        if on:
            # Calls made while tracking was off are not samples: move them into the base.
            for cmd in cmds:
                self.base[cmd] = self.base.get(cmd, 0) + _eligible(cmd) - self.snap.get(cmd, 0)
            self.frozen = None
            self.snap = {}
        else:
            self.frozen = {cmd: self.counts(cmd) for cmd in cmds}
            self.snap = {cmd: _eligible(cmd) for cmd in cmds}
        self.tracking = on
        self.floor_ns = FLOOR_NS if on else OFF

    def reset_histograms(self) -> None:
        """CONFIG RESETSTAT (after the calls counters went to zero)."""
        for cmd in self.engine.table.all_commands():
            cmd.hist = new_hist()
        self.base = {}
        if self.frozen is not None:
            self.frozen = {}
            self.snap = {}

    def counts(self, cmd: Command) -> list[int]:
        """Samples per bucket: index 0 for under 1024 ns, else the duration's bit length."""
        if self.frozen is not None:
            return self.frozen.get(cmd) or new_hist()
        h = list(cmd.hist)
        h[0] = 0
        h[0] = max(0, _eligible(cmd) - self.base.get(cmd, 0) - sum(h))
        return h

    def cdf(self, cmd: Command) -> tuple[int, list[tuple[int, int]]]:
        """(calls, [(µs report point, cumulative count)]) as LATENCY HISTOGRAM shows them."""
        per_point = [0] * len(_KEYS_US)
        for b, n in enumerate(self.counts(cmd)):
            if n:
                per_point[POINT_OF[b]] += n
        out = []
        total = 0
        for i, n in enumerate(per_point):
            if n:
                total += n
                out.append((_KEYS_US[i], total))
        return total, out

    def percentile_us(self, hist: list[int], total: int, p: float) -> float:
        """hdr_value_at_percentile over our buckets: the top of the bucket, in µs."""
        want = max(1, int(min(p, 100.0) / 100.0 * total + 0.5))
        seen = 0
        for b, n in enumerate(hist):
            seen += n
            if seen >= want:
                if b == 0:
                    return 0.001  # under a microsecond: Redis records 0 µs as its minimum, 1 ns
                if p == 0.0:  # HDR answers the bottom of the bucket for the 0th percentile
                    return (1 << (b - 1)) / 1000.0
                return ((1 << b) - 1) / 1000.0
        return 0.0

    def info_lines(self) -> list[str]:
        if not self.tracking:
            return []
        out = []
        for cmd in self.engine.table.all_commands():
            hist = self.counts(cmd)
            total = sum(hist)
            if not total:
                continue
            fields = ",".join(
                "p%s=%.3f" % (format_percentile(p), self.percentile_us(hist, total, p)) for p in self.percentiles
            )
            out.append("latency_percentiles_usec_%s:%s" % (cmd.fullname, fields))
        return out

    # -- reports ----------------------------------------------------------------------------

    def graph(self, event: str, s: Series) -> str:
        now = int(time.time())
        values = []
        labels = []
        for t, ms in s.samples():
            values.append(ms)
            labels.append(_ago(now - t))
        hi = max(values) if values else 0
        lo = min(values) if values else 0
        text = "%s - high %d ms, low %d ms (all time high %d ms)\n" % (event, hi, lo, s.max)
        text += "-" * GRAPH_COLS + "\n"
        return text + sparkline(values, labels, GRAPH_COLS, 4)

    def doctor(self) -> str:
        if not self.events and not self.threshold_ms:
            return (
                "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. "
                'You may use "CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable it. '
                "If we weren't in a deep space mission I'd suggest to take a look at "
                "https://redis.io/topics/latency-monitor.\n"
            )
        if not self.events:
            return (
                "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the "
                "slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think "
                "things over.\n"
            )
        now = int(time.time())
        report = [
            "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n"
        ]
        advice: dict[str, None] = {}
        for num, (event, s) in enumerate(self.events.items(), 1):
            samples = s.samples()
            n = len(samples)
            lats = [ms for _, ms in samples]
            avg = sum(lats) // n if n else 0
            mad = sum(abs(avg - x) for x in lats) // n if n else 0
            period = max(1, now - min(t for t, _ in samples)) if n else 0
            report.append(
                "%d. %s: %d latency spikes (average %dms, mean deviation %dms, period %.2f sec). "
                "Worst all time event %dms." % (num, event, n, avg, mad, period / n if n else 0.0, s.max)
            )
            for line in self._advice(event):
                advice[line] = None
            report.append("\n")
        if advice:
            report.append("\nSome things to look at:\n\n")
            report.extend("- %s\n" % line for line in advice)
        else:
            report.append("\nThere are latency events, but none with an obvious remedy to suggest.\n")
        return "".join(report)

    def _advice(self, event: str) -> list[str]:
        cfg = self.engine.config
        ev = event.lower()
        out = []
        if ev == "command":
            slower = cfg.get_int("slowlog-log-slower-than")
            want = self.threshold_ms * 1000
            if slower < 0 or slower // 1000 > self.threshold_ms:
                out.append(
                    "The slow log misses commands the latency monitor counts as slow: "
                    "'CONFIG SET slowlog-log-slower-than %d' makes it log them too." % want
                )
            out.append("SLOWLOG GET lists the slow commands with their arguments.")
            out.append(
                "Deleting, expiring or evicting big keys takes time in proportion to their size: "
                "smaller keys, or UNLINK and the lazyfree-* options, spread that cost."
            )
        elif ev == "fast-command":
            out.append(
                "Commands that should take microseconds took milliseconds: the process is probably "
                "not getting CPU time (host load, a noisy neighbour, swapping)."
            )
        elif ev == "expire-cycle":
            out.append("Keys expiring in bulk slow the server down: spread expiry times out.")
            if cfg.get_int("hz") < 100:
                out.append("A higher 'hz' makes the active expiry work in smaller steps.")
        elif ev in ("eviction-cycle", "eviction-del"):
            out.append("Eviction of big keys is slow: smaller keys, or lazyfree-lazy-eviction, help.")
        elif ev == "fork":
            out.append("fork() is slow with a big dataset or on some virtual machines: BGSAVE and BGREWRITEAOF pay it.")
        elif ev.startswith("aof-"):
            if ev == "aof-fsync-always" and cfg["appendfsync"] == "always":
                out.append("'appendfsync always' waits for the disk on every write: 'everysec' is much lighter.")
            out.append("The AOF waits for the disk: a local, faster disk and less disk contention help.")
        return out


# -- text helpers ------------------------------------------------------------------------------


def _ago(sec: int) -> str:
    if sec < 60:
        return "%ds" % sec
    if sec < 3600:
        return "%dm" % (sec // 60)
    if sec < 86400:
        return "%dh" % (sec // 3600)
    return "%dd" % (sec // 86400)


_FILL = "_o#"


def sparkline(values: list[int], labels: list[str], columns: int, rows: int) -> str:
    """Redis's sparkline renderer (filled, linear): `rows` rows of bars, then each label
    written downwards under its column, in chunks of `columns` samples."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    chunks = []
    for start in range(0, len(values), columns):
        chunks.append(_render(values[start : start + columns], labels[start : start + columns], lo, hi, rows))
    return "\n".join(chunks)


def _render(values: list[int], labels: list[str], lo: int, hi: int, rows: int) -> str:
    relmax = float(hi - lo) or 1.0
    steps = len(_FILL) * rows
    out = []
    for row in range(rows):
        line = []
        for v in values:
            step = min(max(int((v - lo) * steps / relmax), 0), steps - 1)
            idx = step - (rows - row - 1) * len(_FILL)
            if 0 <= idx < len(_FILL):
                line.append(_FILL[idx])
            elif idx >= len(_FILL):
                line.append("|")
            else:
                line.append(" ")
        out.append("".join(line) + "\n")
    if any(labels):
        out.append(" " * len(values) + "\n")  # the margin above the labels
        depth = max(len(lb) for lb in labels)
        for k in range(depth):
            out.append("".join(lb[k] if k < len(lb) else " " for lb in labels) + "\n")
    return "".join(out)


def format_percentile(p: float) -> str:
    """printf("%f") without trailing zeros, as Redis writes percentiles."""
    s = "%f" % p
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def parse_percentiles(value: str) -> list[float]:
    """latency-tracking-info-percentiles: numbers separated by single spaces, 0..100."""
    from respdb.config import ConfigError

    if value == "":
        return []
    out = []
    for tok in value.split(" "):
        v = _strtod(tok)
        if v is None:
            raise ConfigError("Invalid latency-tracking-info-percentiles parameters")
        if v < 0.0 or v > 100.0:
            raise ConfigError("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
        out.append(v)
    return out


def _strtod(tok: str) -> float | None:
    if not tok or tok[0].isspace() or tok[-1].isspace() or "_" in tok:
        return None
    try:
        v = float(tok)
    except ValueError:
        body = tok.lstrip("+-")
        if body[:2].lower() != "0x":
            return None
        try:
            v = float.fromhex(tok)
        except ValueError:
            return None
    if math.isnan(v):
        return None
    return v
