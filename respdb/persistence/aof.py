"""Redis 7.0 multi-part AOF: manifest, base file, incremental files, fsync policies, rewrite.

Layout (inside `dir`/`appenddirname`), as Redis 7.0 writes it:

- `<appendfilename>.manifest`: one line per file, `file <name> seq <n> type <b|i|h>`;
- one base file (`<appendfilename>.<seq>.base.rdb`, an RDB image, or `.base.aof` with commands
  when `aof-use-rdb-preamble no`), then incremental files (`<appendfilename>.<seq>.incr.aof`)
  holding every propagated command as a RESP multibulk, with SELECT whenever the db changes.

Each propagated command is written (one write(2)) before its reply is sent, like Redis writes
its buffer in beforeSleep before the replies: a write acknowledged to a client survives a crash
of the process. Inside EXEC or a script the commands are gathered and written at the end.
`appendfsync always` also fsyncs there, before the reply; `everysec` fsyncs from the cron once
a second in a helper thread (fsync releases the GIL), like Redis's bio thread.

BGREWRITEAOF forks like BGSAVE: first a new incremental file is opened and recorded in the
manifest (new writes go there), the child writes the new base from its copy-on-write image,
and once it succeeds the parent renames it into place, marks the old base and incrementals as
history in the manifest and deletes them.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from respdb import keyspace, proctitle
from respdb.persistence import rdb
from respdb.persistence.childinfo import ChildInfo
from respdb.persistence.snapshot import _fsync_dir, _unlink, child_setup, rdb_used_mem, reap
from respdb.resp import split_inline

BASE, INCR, HIST = "b", "i", "h"
PAUSE = None  # yielded by the loading generators where clients may be served


class AOFError(Exception):
    pass


MANIFEST_MAX_LINE = 1024


class ManifestError(Exception):
    """A manifest Redis would refuse: the message and, when known, the line."""

    def __init__(self, msg: str, lineno: int = 0, line: str | None = None) -> None:
        super().__init__(msg)
        self.lineno = lineno
        self.line = line


class AOFFatal(AOFError):
    """A start-up failure whose message is logged as it is (Redis's own line, then exit)."""


class Truncated(Exception):
    def __init__(self, valid: int) -> None:
        super().__init__(valid)
        self.valid = valid


def encode(argv: list[bytes]) -> bytes:
    parts = [b"*%d\r\n" % len(argv)]
    for a in argv:
        parts.append(b"$%d\r\n%b\r\n" % (len(a), a))
    return b"".join(parts)


def select_command(dbid: int) -> bytes:
    """SELECT <dbid>, as the AOF and the replication stream write it when the database changes."""
    d = b"%d" % dbid
    return b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%b\r\n" % (len(d), d)


# -- manifest -----------------------------------------------------------------------------


class Manifest:
    def __init__(self) -> None:
        self.base: tuple[str, int] | None = None
        self.incrs: list[tuple[str, int]] = []
        # files a rewrite made obsolete, newest first, until they are deleted (at once unless
        # aof-disable-auto-gc is on)
        self.history: list[tuple[str, int]] = []
        self.base_seq = 0
        self.incr_seq = 0

    def text(self) -> str:
        from respdb.config import repr_arg  # (quoted only when a name needs it, as Redis)

        lines = []
        if self.base:
            lines.append("file %s seq %d type b\n" % (repr_arg(self.base[0]), self.base[1]))
        for name, seq in self.history:
            lines.append("file %s seq %d type h\n" % (repr_arg(name), seq))
        for name, seq in self.incrs:
            lines.append("file %s seq %d type i\n" % (repr_arg(name), seq))
        return "".join(lines)

    @classmethod
    def parse(cls, text: str) -> Manifest:
        """Redis's aofLoadManifestFromFile rules; raises ManifestError."""
        m = cls()
        if not text:
            raise ManifestError("Found an empty AOF manifest")
        lines = text.split("\n")
        last = len(lines) - 1  # the piece after the final newline (empty in a proper file)
        for lineno, raw in enumerate(lines, 1):
            if lineno - 1 == last and not raw:
                break
            if raw.startswith("#"):
                continue
            if lineno - 1 == last or len(raw) + 1 > MANIFEST_MAX_LINE:
                raise ManifestError("The AOF manifest file contains too long line")
            line = raw.strip(" \t\r\n")
            if not line:
                raise ManifestError("Invalid AOF manifest file format", lineno, line)
            parts = split_inline(line.encode("utf-8", "surrogateescape"))
            if parts is None or len(parts) < 6 or len(parts) % 2:
                raise ManifestError("Invalid AOF manifest file format", lineno, line)
            name, seq, kind = None, 0, ""
            for key, value in zip(parts[::2], parts[1::2], strict=True):
                k = key.lower()
                if k == b"file":
                    name = value.decode("utf-8", "surrogateescape")
                    if "/" in name:
                        raise ManifestError("File can't be a path, just a filename", lineno, line)
                elif k == b"seq":
                    seq = int(value) if value.lstrip(b"-").isdigit() else 0
                elif k == b"type":
                    kind = value[:1].decode("latin-1")
            if not name or not seq or not kind:
                raise ManifestError("Invalid AOF manifest file format", lineno, line)
            if kind == BASE:
                if m.base is not None:
                    raise ManifestError("Found duplicate base file information", lineno, line)
                m.base = (name, seq)
                m.base_seq = seq
            elif kind == INCR:
                if seq <= m.incr_seq:
                    raise ManifestError("Found a non-monotonic sequence number", lineno, line)
                m.incrs.append((name, seq))
                m.incr_seq = seq
            elif kind == HIST:
                m.history.append((name, seq))
            else:
                raise ManifestError("Unknown AOF file type", lineno, line)
        return m


# -- reading commands ---------------------------------------------------------------------


def parse_commands(data: bytes, pos: int = 0):
    """Yield (argv, end offset) for each command; Truncated at a cut-off end, AOFError if bad."""
    n = len(data)
    while pos < n:
        start = pos
        if data[pos] == 0x23:  # '#': an annotation line (aof-timestamp-enabled)
            eol = data.find(b"\n", pos)
            if eol < 0:
                raise Truncated(start)
            pos = eol + 1
            continue
        if data[pos] != 0x2A:  # '*'
            raise AOFError("Bad file format reading the append only file at offset %d" % pos)
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            raise Truncated(start)
        try:
            argc = int(data[pos + 1 : eol])
        except ValueError:
            raise AOFError("Bad file format reading the append only file at offset %d" % pos) from None
        if argc < 1:
            raise AOFError("Bad file format reading the append only file at offset %d" % pos)
        pos = eol + 2
        argv = []
        for _ in range(argc):
            if pos >= n:
                raise Truncated(start)
            if data[pos] != 0x24:  # '$'
                raise AOFError("Bad file format reading the append only file at offset %d" % pos)
            eol = data.find(b"\r\n", pos)
            if eol < 0:
                raise Truncated(start)
            try:
                ln = int(data[pos + 1 : eol])
            except ValueError:
                raise AOFError("Bad file format reading the append only file at offset %d" % pos) from None
            pos = eol + 2
            if pos + ln + 2 > n:
                raise Truncated(start)
            if data[pos + ln : pos + ln + 2] != b"\r\n":
                raise AOFError("Bad file format reading the append only file at offset %d" % (pos + ln))
            argv.append(data[pos : pos + ln])
            pos += ln + 2
        yield argv, pos


# -- the AOF state of one server ----------------------------------------------------------


class AOF:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.on = False  # commands are being appended (also while waiting for the first rewrite)
        self.waiting = False  # turned on at run time: appending to a temp incr until the base exists
        self.manifest = Manifest()
        self.fd = -1
        self.buf: list[bytes] = []
        self.seldb = -1
        self.current_size = 0
        self.base_size = 0
        self.rewrite_base_size = 0
        self.unsynced = False
        self.last_fsync = time.monotonic()
        self.fsync_thread: threading.Thread | None = None
        # Set by the network server: ask for write_ahead() at the end of the loop iteration.
        self.schedule_flush: Callable[[], None] | None = None
        self.child_pid = -1
        self.child_start = 0.0
        self.rewrite_scheduled = False
        self.last_rewrite_secs = -1
        self.last_rewrite_ok = True
        self.rewrites = 0
        self.consecutive_failures = 0
        self.child_info = ChildInfo()  # what the rewrite child reports (INFO current_cow_size ...)
        # automatic rewrites held back after repeated failures (_rewrite_limited)
        self.limit_minutes = 0
        self.limit_until = 0.0
        self.last_write_ok = True
        self.delayed_fsync = 0
        self.loading = False
        self._frozen = False
        self.timestamps = engine.config["aof-timestamp-enabled"] == "yes"
        self.cur_ts = 0  # the last #TS annotation written (aof-timestamp-enabled)
        engine.config.listeners.append(self._config_changed)

    # -- paths -----------------------------------------------------------------------------

    def dirpath(self) -> str:
        cfg = self.engine.config
        return os.path.join(cfg["dir"] or os.getcwd(), cfg["appenddirname"])

    def fname(self) -> str:
        return self.engine.config["appendfilename"]

    def manifest_path(self) -> str:
        return os.path.join(self.dirpath(), self.fname() + ".manifest")

    def old_path(self) -> str:
        """Where servers before 7.0 kept their one AOF: `appendfilename` directly in `dir`."""
        return os.path.join(self.engine.config["dir"] or os.getcwd(), self.fname())

    def path(self, name: str) -> str:
        return os.path.join(self.dirpath(), name)

    # -- appending -------------------------------------------------------------------------

    def feed(self, dbid: int, argv: list[bytes]) -> None:
        """The propagator: every propagated command, in RESP form, SELECT when the db changes."""
        if self.timestamps:
            now = int(time.time())
            if now > self.cur_ts:
                self.cur_ts = now
                self.buf.append(b"#TS:%d\r\n" % now)
        if dbid != self.seldb:
            self.seldb = dbid
            self.buf.append(select_command(dbid))
        self.buf.append(encode(argv))
        if not self.engine._exec_depth:
            # Written before the reply leaves (Redis writes in beforeSleep, before replies):
            # an acknowledged write survives a crash of the process; `always` also fsyncs.
            # Under the network server, replies to commands still in `buf` are held and the
            # write happens once per loop iteration (write_ahead); otherwise right now.
            if self.schedule_flush is not None:
                self.schedule_flush()
            else:
                self.flush(self.engine.config["appendfsync"] == "always")

    def write_ahead(self) -> None:
        """Write (and under `always` fsync) what the held replies wait for."""
        if self.buf:
            self.flush(self.engine.config["appendfsync"] == "always")

    def flush(self, fsync: bool = False) -> None:
        if not self.buf or self.fd < 0:
            self.buf = []
            return
        data = b"".join(self.buf)
        self.buf = []
        t0 = time.perf_counter()
        try:
            view = memoryview(data)
            while view:
                n = os.write(self.fd, view)
                view = view[n:]
            self.last_write_ok = True
        except OSError as err:
            if self.last_write_ok:
                self.engine.log("warning", "Error writing to the AOF file: %s" % err.strerror)
            self.last_write_ok = False
            return
        lat = self.engine.latency
        lat.aof_written(t0, self.child_pid != -1 or self.engine.persistence.child_pid != -1)
        self.current_size += len(data)
        if fsync:
            t0 = time.perf_counter()
            os.fsync(self.fd)
            lat.since("aof-fsync-always", t0)
            self.last_fsync = time.monotonic()
        else:
            self.unsynced = True

    def _bg_fsync(self, fd: int) -> None:
        try:
            os.fsync(fd)
        except OSError:
            pass

    # -- files -----------------------------------------------------------------------------

    def write_manifest(self) -> None:
        path = self.manifest_path()
        tmp = os.path.join(self.dirpath(), "temp-" + self.fname() + ".manifest")
        with open(tmp, "w") as f:
            f.write(self.manifest.text())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.dirpath())

    def open_new_incr(self) -> None:
        """Start a new incremental file and record it in the manifest (rewrite start, enable)."""
        self.flush()
        m = self.manifest
        m.incr_seq += 1
        name = "%s.%d.incr.aof" % (self.fname(), m.incr_seq)
        fd = os.open(self.path(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        m.incrs.append((name, m.incr_seq))
        self.write_manifest()
        if self.fd >= 0:
            os.fsync(self.fd)
            os.close(self.fd)
        self.fd = fd
        self.seldb = -1  # the new file starts with a SELECT

    def write_base(self, path: str, progress: Callable[[int], None] | None = None) -> None:
        """rewriteAppendOnlyFile: the whole dataset as an RDB preamble or as commands."""
        e = self.engine
        with open(path, "wb") as f:
            if e.config["aof-use-rdb-preamble"] == "yes":
                delay = e.config.get_int("rdb-key-save-delay")
                rdb.write_rdb(e, f.write, aof_base=True, key_delay=delay, progress=progress)
            else:
                _write_commands(e, f.write)
            f.flush()
            os.fsync(f.fileno())

    def base_name(self, seq: int) -> str:
        ext = "rdb" if self.engine.config["aof-use-rdb-preamble"] == "yes" else "aof"
        return "%s.%d.base.%s" % (self.fname(), seq, ext)

    # -- enabling / disabling ----------------------------------------------------------------

    def delete_history(self) -> None:
        """Redis's aofDelHistoryFiles: the history files go, and the manifest says so; not
        while aof-disable-auto-gc is on."""
        m = self.manifest
        if not m.history or self.engine.config["aof-disable-auto-gc"] == "yes":
            return
        for name, _ in m.history:
            self.engine.log("notice", "Removing the history file %s in the background" % name)
            _unlink(self.path(name))
        m.history = []
        self.write_manifest()

    def _config_changed(self, name: str, value: str) -> None:
        if name == "aof-timestamp-enabled":
            self.timestamps = value == "yes"
        if name == "aof-disable-auto-gc" and value == "no":
            self.delete_history()
        if name != "appendonly":
            return
        if value == "yes" and not self.on:
            self.start()
        elif value == "no" and self.on:
            self.stop()

    def start(self) -> bool:
        """CONFIG SET appendonly yes: a rewrite writes the base; writes meanwhile go to a new incr."""
        os.makedirs(self.dirpath(), exist_ok=True)
        if os.path.exists(self.manifest_path()):
            try:
                with open(self.manifest_path()) as f:
                    self.manifest = Manifest.parse(f.read())
            except (OSError, AOFError, ManifestError):
                self.manifest = Manifest()
        self.on = True
        self.waiting = True
        e = self.engine
        e.propagators.append(self.feed)
        if e.child_active() or e._exec_depth:  # (Redis never forks inside EXEC)
            self.rewrite_scheduled = True
            e.log("notice", "AOF was enabled but there is already another background operation. "
                  "An AOF background was scheduled to start when possible.")  # fmt: skip
        elif not self.rewrite_background():
            self.rewrite_scheduled = True
        return True

    def stop(self) -> None:
        e = self.engine
        self.flush(fsync=True)
        if self.feed in e.propagators:
            e.propagators.remove(self.feed)
        if self.child_pid != -1:
            self.kill_child()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.waiting:
            _unlink(self.temp_incr_path())
        self.on = self.waiting = False
        self.seldb = -1

    def temp_incr_path(self) -> str:
        return self.path("temp-%s.incr" % self.fname())

    def start_at_startup(self) -> None:
        """appendonly yes at start-up, after loading: open the incr file, write a base if none."""
        os.makedirs(self.dirpath(), exist_ok=True)
        m = self.manifest
        if m.base is None and not m.incrs:
            m.base_seq = 1
            name = self.base_name(1)
            self.write_base(self.path(name))
            m.base = (name, 1)
            self.base_size = self.rewrite_base_size = os.path.getsize(self.path(name))
            self.engine.log("notice", "Creating AOF base file %s on server start" % name)
        if m.incrs:
            name = m.incrs[-1][0]
            self.fd = os.open(self.path(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self.write_manifest()
            self.engine.log("notice", "Opening AOF incr file %s on server start" % name)
        else:
            self.open_new_incr()
            self.engine.log("notice", "Creating AOF incr file %s on server start" % m.incrs[-1][0])
        self.current_size = self.base_size + sum(_size(self.path(n)) for n, _ in m.incrs)
        self.rewrite_base_size = self.current_size
        self.on = True
        self.engine.propagators.append(self.feed)
        self.delete_history()  # left by a rewrite before a restart

    # -- rewrite -----------------------------------------------------------------------------

    def rewrite_background(self) -> bool:
        e = self.engine
        if self.child_pid != -1:
            return False
        if e.persistence.child_pid != -1:
            self.rewrite_scheduled = True
            return True
        try:
            if self.waiting:
                # no incr of the old manifest may follow the new base: a temp file until it exists
                self.flush()
                fd = os.open(self.temp_incr_path(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
                if self.fd >= 0:
                    os.close(self.fd)
                self.fd = fd
                self.seldb = -1
                e.log("notice", "Creating AOF incr file temp-%s.incr on background rewrite" % self.fname())
            elif self.on:
                self.open_new_incr()
                e.log("notice", "Creating AOF incr file %s on background rewrite" % self.manifest.incrs[-1][0])
        except OSError as err:
            e.log("warning", "Can't open new incr AOF for rewrite: %s" % err.strerror)
            return False
        self.rewrite_scheduled = False
        gc.freeze()
        t0 = time.perf_counter()
        try:
            pid = os.fork()
        except OSError as err:
            gc.unfreeze()
            e.log("warning", "Can't rewrite append only file in background: fork: %s" % err.strerror)
            self.last_rewrite_ok = False
            return False
        if pid == 0:
            code = 1
            try:
                child_setup(self.engine, proctitle.AOF_REWRITE)
                self.write_base(self.path("temp-rewriteaof-bg-%d.aof" % os.getpid()), self.child_info.report_keys)
                code = 0
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        e.persistence.latest_fork_usec = int((time.perf_counter() - t0) * 1_000_000)
        e.latency.sample("fork", e.persistence.latest_fork_usec // 1000)
        e.persistence.total_forks += 1
        self._frozen = True
        self.child_pid = pid
        e.update_resize_policy()
        self.child_start = time.time()
        self.child_info.started(pid, sum(len(db.data) for db in e.dbs))
        e.log("notice", "Background append only file rewriting started by pid %d" % pid)
        return True

    def _child_done(self, status: int) -> None:
        e = self.engine
        pid = self.child_pid
        self.child_pid = -1
        e.update_resize_policy()
        self.child_info.ended()
        if self._frozen:
            gc.unfreeze()
            self._frozen = False
        self.last_rewrite_secs = int(time.time() - self.child_start)
        tmp = self.path("temp-rewriteaof-bg-%d.aof" % pid)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            _unlink(tmp)
            self.last_rewrite_ok = False
            self.consecutive_failures += 1
            if code < 0:
                e.log("warning", "Background AOF rewrite terminated by signal %d" % -code)
            else:
                e.log("warning", "Background AOF rewrite terminated with error")
            if self.waiting:
                # the writes since the failed rewrite began will be in the next one's base
                e.log("notice", "Removing the temp incr aof file temp-%s.incr in the background" % self.fname())
                _unlink(self.temp_incr_path())
                self.rewrite_scheduled = True  # appendonly stays on: try again from the cron
            return
        e.log("notice", "Background AOF rewrite terminated with success")
        m = self.manifest
        # What this rewrite makes obsolete becomes history, each file put first as Redis does
        # (the old base, then the incrs from the newest down).
        hist = list(m.history)
        if m.base:
            hist.insert(0, m.base)
        m.base_seq += 1
        name = self.base_name(m.base_seq)
        os.replace(tmp, self.path(name))
        e.log("notice", "Successfully renamed the temporary AOF base file %s into %s" % (os.path.basename(tmp), name))
        m.base = (name, m.base_seq)
        if self.waiting:
            hist[:0] = m.incrs
            m.incr_seq += 1
            incr = "%s.%d.incr.aof" % (self.fname(), m.incr_seq)
            os.replace(self.temp_incr_path(), self.path(incr))
            e.log(
                "notice", "Successfully renamed the temporary AOF incr file temp-%s.incr into %s" % (self.fname(), incr)
            )
            m.incrs = [(incr, m.incr_seq)]
            self.waiting = False
        elif not self.on:
            hist[:0] = m.incrs  # BGREWRITEAOF with appendonly no: a base alone
            m.incrs = []
        else:
            # every incr but the one opened when this rewrite started is now in the base
            hist[:0] = m.incrs[:-1]
            m.incrs = m.incrs[-1:]
        m.history = hist
        self.write_manifest()
        self.delete_history()
        self.base_size = _size(self.path(name))
        self.current_size = self.base_size + sum(_size(self.path(n)) for n, _ in m.incrs)
        self.rewrite_base_size = self.current_size
        self.last_rewrite_ok = True
        self.consecutive_failures = 0
        self.rewrites += 1
        e.log("notice", "Background AOF rewrite finished successfully")

    def kill_child(self) -> None:
        if self.child_pid == -1:
            return
        pid = self.child_pid
        self.engine.log("notice", "Killing running AOF rewrite child: %d" % pid)
        try:
            os.kill(pid, signal.SIGUSR1)
            os.waitpid(pid, 0)
        except OSError:
            pass
        _unlink(self.path("temp-rewriteaof-bg-%d.aof" % pid))
        self.child_pid = -1
        self.engine.update_resize_policy()
        if self._frozen:
            gc.unfreeze()
            self._frozen = False

    def cron(self) -> None:
        if self.child_pid != -1:
            status = reap(self.child_pid)
            if status is not None:
                self._child_done(status)
            else:
                self.child_info.sample()
        e = self.engine
        if self.rewrite_scheduled and not e.child_active():  # (from MULTI: also with appendonly off)
            self.rewrite_background()
        if not self.on:
            return
        if e.config["appendfsync"] == "everysec" and self.unsynced and time.monotonic() - self.last_fsync >= 1:
            self.flush()
            t = self.fsync_thread
            if t is not None and t.is_alive():
                self.delayed_fsync += 1
            elif self.fd >= 0:
                self.unsynced = False
                self.last_fsync = time.monotonic()
                self.fsync_thread = threading.Thread(target=self._bg_fsync, args=(self.fd,), daemon=True)
                self.fsync_thread.start()
        perc = e.config.get_int("auto-aof-rewrite-percentage")
        if perc and not self.waiting and not e.child_active():
            minsize = e.config.get_int("auto-aof-rewrite-min-size")
            base = self.rewrite_base_size or 1
            growth = self.current_size * 100 // base - 100
            if self.current_size > minsize and growth >= perc and not self._rewrite_limited():
                e.log("notice", "Starting automatic rewriting of AOF on %d%% growth" % growth)
                self.rewrite_background()

    def _rewrite_limited(self) -> bool:
        """Redis's aofRewriteLimited: after 3 failed rewrites in a row, automatic ones wait 1
        minute, then 2, 4, ... up to an hour between attempts (BGREWRITEAOF is not held)."""
        if self.consecutive_failures < 3:
            self.limit_minutes = 0
            self.limit_until = 0.0
            return False
        now = time.time()
        if self.limit_until:
            if now < self.limit_until:
                return True
            self.limit_until = 0.0
            return False
        self.limit_minutes = min(60, self.limit_minutes * 2 or 1)
        self.limit_until = now + self.limit_minutes * 60
        self.engine.log(
            "warning",
            "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in %d minutes"
            % self.limit_minutes,
        )
        return True

    def shutdown(self) -> None:
        if self.child_pid != -1:
            self.kill_child()
        if self.on:
            self.flush(fsync=True)

    # -- loading ---------------------------------------------------------------------------
    #
    # The load is written as a generator (`_load_steps`) driven from the event loop
    # (`load_at_startup_async`), which serves clients with -LOADING between batches of commands,
    # as Redis calls processEventsWhileBlocked every 1024 commands. The generator yields PAUSE
    # where clients may be served, or a callable that the driver runs in a worker thread
    # (parsing an RDB preamble touches no engine state).

    async def load_at_startup_async(self, stopping: Callable[[], bool] | None = None) -> bool:
        """Load the manifest's files when appendonly is yes, with the server listening: clients get
        -LOADING until the dataset is in place; False (logged) when start-up must stop.
        A shutdown requested meanwhile (`stopping()`) abandons the load; that returns True too."""
        import asyncio

        if self.engine.config["appendonly"] != "yes":
            return True
        loop = asyncio.get_running_loop()
        gen = self._load_steps()
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = gen.send(result) if error is None else gen.throw(error)
            except StopIteration as stop:
                return self._load_done(stop.value)
            result, error = None, None
            try:
                if step is PAUSE:
                    await asyncio.sleep(0)
                    if stopping is not None and stopping():
                        gen.close()  # its finally blocks put the engine state back
                        return True
                else:
                    result = await loop.run_in_executor(None, step)
            except BaseException as err:
                error = err

    def _load_done(self, ok: bool) -> bool:
        e = self.engine
        if not ok:
            return False
        try:
            self.start_at_startup()
        except OSError as err:
            e.log("warning", "Can't open the append-only file: %s" % err.strerror)
            return False
        return True

    def _load_steps(self):
        """Generator: the whole start-up load; returns False (after logging) when it failed."""
        e = self.engine
        snap = e.persistence
        t0 = time.perf_counter()
        snap._set_loading(True)  # -LOADING for clients, INFO loading:1 and the loading_* figures
        self.loading = True
        saved = e.propagators
        e.propagators = []  # nothing loaded is propagated (no AOF feed or replica yet anyway)
        try:
            mpath = self.manifest_path()
            if os.path.isdir(self.dirpath()) and os.path.exists(mpath):
                with open(mpath) as f:
                    self.manifest = Manifest.parse(f.read())
            else:
                self.manifest = Manifest()
            self._upgrade_if_needed()
            m = self.manifest
            if m.base is None and not m.incrs:
                return True
            files = ([m.base[0]] if m.base else []) + [n for n, _ in m.incrs]
            for name in files:
                if not os.path.exists(self.path(name)):
                    raise AOFFatal("The append log file %s doesn't exist: No such file or directory" % name)
            snap.load_total = sum(_size(self.path(n)) for n in files)
            done = 0
            for i, name in enumerate(files):
                is_base = m.base is not None and i == 0
                t1 = time.perf_counter()
                empty = _size(self.path(name)) == 0
                size = yield from self._load_file_steps(self.path(name), i == len(files) - 1, done)
                if not empty:  # Redis says nothing about an empty file (AOF_EMPTY)
                    e.log(
                        "notice",
                        "DB loaded from %s file %s: %.3f seconds"
                        % ("base" if is_base else "incr", name, time.perf_counter() - t1),
                    )
                if is_base:
                    self.base_size = size
                done += _size(self.path(name))
                snap.load_done = done
        except ManifestError as err:
            e.log("warning", "\n*** FATAL AOF MANIFEST FILE ERROR ***\n")
            if err.line is not None:
                e.log("warning", "Reading the manifest file, at line %d\n" % err.lineno)
                e.log("warning", ">>> '%s'\n" % err.line)
            e.log("warning", "%s\n" % err)
            return False
        except AOFFatal as err:
            e.log("warning", str(err))
            return False
        except (AOFError, rdb.RDBError, OSError, ValueError) as err:
            e.log("warning", "Fatal error loading the AOF: %s. Exiting." % err)
            return False
        finally:
            e.propagators = saved
            self.loading = False
            snap._set_loading(False)
        e.log("notice", "DB loaded from append only file: %.3f seconds" % (time.perf_counter() - t0))
        return True

    def _upgrade_if_needed(self) -> None:
        """Start-up from a pre-7.0 single-file AOF (Redis 7.0's aofUpgradePrepare).

        `appendfilename` directly in `dir` is taken as the base of a new multi-part AOF when
        there is no AOF directory, or no manifest in it, or a manifest that names only that file
        as its base while the file is not in the directory yet (a previous upgrade stopped
        between writing the manifest and moving the file). Any other manifest wins and the old
        file is left alone. The manifest is written before the file moves, so a crash in between
        is repaired by the next start. The file keeps its name and content (seq 1, type b).
        """
        old = self.old_path()
        if not os.path.isfile(old):
            return
        m = self.manifest
        fname = self.fname()
        dirname = self.engine.config["appenddirname"]
        interrupted = m.base is not None and not m.incrs and m.base[0] == fname and not os.path.isfile(self.path(fname))
        if os.path.isdir(self.dirpath()) and (m.base is not None or m.incrs) and not interrupted:
            return
        if os.path.exists(self.path(fname)):
            # Redis stops on an assertion here: both copies exist and neither is in a manifest.
            raise AOFFatal(
                "Can't migrate the old-style AOF file %s: the AOF directory %s already holds a file of that name"
                % (fname, dirname)
            )
        try:
            os.makedirs(self.dirpath(), exist_ok=True)
        except OSError as err:
            raise AOFFatal("Can't open or create append-only dir %s: %s" % (dirname, err.strerror)) from None
        m = self.manifest = Manifest()
        m.base = (fname, 1)
        m.base_seq = 1
        try:
            self.write_manifest()
        except OSError as err:
            tmp = "temp-%s.manifest" % fname
            raise AOFFatal("Can't open the AOF manifest file %s: %s" % (tmp, err.strerror)) from None
        try:
            os.rename(old, self.path(fname))
        except OSError as err:
            raise AOFFatal(
                "Error trying to move the old AOF file %s into dir %s: %s" % (fname, dirname, err.strerror)
            ) from None
        self.engine.log(
            "notice",
            "Successfully migrated an old-style AOF file (%s) into the AOF directory (%s)." % (fname, dirname),
        )

    def load_file(self, path: str, last: bool, is_base: bool = False) -> int:
        """Load one file synchronously (no pauses); returns the length of its valid part."""
        gen = self._load_file_steps(path, last, 0)
        result: Any = None
        while True:
            try:
                step = gen.send(result)
            except StopIteration as stop:
                return stop.value
            result = None if step is PAUSE else step()

    def _load_file_steps(self, path: str, last: bool, offset: int):
        """Generator for one file; `offset` is the size of the files before it (progress)."""
        e = self.engine
        snap = e.persistence
        name = os.path.basename(path)
        with open(path, "rb") as f:
            data = f.read()
        if not data:
            return 0
        pos = 0
        if data.startswith(b"REDIS"):
            # A base named like `appendfilename` is an old single-file AOF (moved in by an upgrade):
            # an RDB preamble with a command tail, and Redis says so in its log.
            old_style = name == self.fname()
            e.log(
                "notice",
                "Reading RDB preamble from AOF file..." if old_style else "Reading RDB base file on AOF loading...",
            )

            def progress(keys: int, at: int) -> None:
                snap.load_done = offset + at

            def parse() -> rdb.LoadResult:
                snap.rdb_used_mem = rdb_used_mem(data)
                return rdb.parse_rdb(
                    data, len(e.dbs), rdb.Limits(e.config, e), log=e.log, skip_expired=False, progress=progress
                )

            res = yield parse
            from respdb.persistence.functions import restore as restore_functions

            restore_functions(e, res.functions)
            rdb.install(e, res)
            snap.keys_loaded, snap.keys_expired = res.keys_loaded, res.keys_expired
            e.log(
                "notice", "Done loading RDB, keys loaded: %d, keys expired: %d." % (res.keys_loaded, res.keys_expired)
            )
            pos = res.end
            snap.load_done = offset + pos
            if old_style:
                e.log("notice", "Reading the remaining AOF tail...")
        client = e.new_client()
        e.clients.pop(client.id, None)
        client.kind = "aof"
        valid = pos
        multi_at = -1
        count = 0
        last_log = time.monotonic()
        was_loading = e.loading
        e.loading = False  # the loader's own commands are not refused with -LOADING
        # nothing expires while an AOF is replayed (Redis's keyIsExpired during loading): the
        # commands see the keys the way they were written, expiry comes after the load
        real_now = keyspace.now_ms
        keyspace.now_ms = keyspace.never_expired
        e.replaying = True
        try:
            try:
                for argv, end in parse_commands(data, pos):
                    cmd = argv[0].lower()
                    if e.lookup(argv[0]) is None:
                        raise AOFError(
                            "Unknown command '%s' reading the append only file %s"
                            % (argv[0].decode("utf-8", "replace"), name)
                        )
                    if cmd == b"multi":
                        multi_at = valid
                    reply = e.execute(client, argv)
                    if reply[:1] == b"-" and cmd not in (b"exec",):
                        e.log("warning", "Error executing command from AOF %s: %s" % (name, reply[:200]))
                    if cmd == b"exec":
                        multi_at = -1
                    valid = end
                    count += 1
                    if not count & 1023:  # serve clients (-LOADING) every 1024 commands, as Redis
                        snap.load_done = offset + end
                        now = time.monotonic()
                        if now - last_log >= 2.0:
                            last_log = now
                            e.log(
                                "notice",
                                "Loading AOF: %d commands of %s so far, %.0f%% of the files"
                                % (count, name, 100.0 * snap.load_done / (snap.load_total or 1)),
                            )
                        e.loading = was_loading
                        keyspace.now_ms, e.replaying = real_now, False
                        yield PAUSE
                        keyspace.now_ms, e.replaying = keyspace.never_expired, True
                        e.loading = False
            except Truncated as t:
                valid = t.valid
            else:
                if client.multi is None:
                    return len(data)
                # a MULTI without its EXEC at the very end is cut away like a truncated command
                e.log("warning", "Revert incomplete MULTI/EXEC transaction in AOF file %s" % name)
            cut = multi_at if multi_at >= 0 else valid
            if not last or e.config["aof-load-truncated"] != "yes":
                raise AOFFatal(
                    "Unexpected end of file reading the append only file %s. You can: 1) Make a backup of "
                    "your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively "
                    "you can set the 'aof-load-truncated' configuration option to yes and restart the server." % name
                )
            e.log("warning", "!!! Warning: short read while loading the AOF file %s!!!" % name)
            e.log("warning", "!!! Truncating the AOF %s at offset %d !!!" % (name, cut))
            os.truncate(path, cut)
            if client.multi is not None:
                e.execute(client, [b"DISCARD"])
            e.log("warning", "AOF %s loaded anyway because aof-load-truncated is enabled" % name)
            return cut
        finally:
            e.loading = was_loading
            keyspace.now_ms = real_now
            e.replaying = False

    # -- INFO ------------------------------------------------------------------------------

    def info_fields(self) -> list[str]:
        running = self.child_pid != -1
        out = [
            "aof_enabled:%d" % self.on,
            "aof_rewrite_in_progress:%d" % running,
            "aof_rewrite_scheduled:%d" % self.rewrite_scheduled,
            "aof_last_rewrite_time_sec:%d" % self.last_rewrite_secs,
            "aof_current_rewrite_time_sec:%d" % (int(time.time() - self.child_start) if running else -1),
            "aof_last_bgrewrite_status:%s" % ("ok" if self.last_rewrite_ok else "err"),
            "aof_rewrites:%d" % self.rewrites,
            "aof_rewrites_consecutive_failures:%d" % self.consecutive_failures,
            "aof_last_write_status:%s" % ("ok" if self.last_write_ok else "err"),
            "aof_last_cow_size:%d" % self.child_info.last_cow,
            "module_fork_in_progress:0",
            "module_fork_last_cow_size:0",
        ]
        if self.on:
            t = self.fsync_thread
            out += [
                "aof_current_size:%d" % self.current_size,
                "aof_base_size:%d" % self.base_size,
                "aof_pending_rewrite:%d" % self.rewrite_scheduled,
                "aof_buffer_length:%d" % sum(len(b) for b in self.buf),
                "aof_pending_bio_fsync:%d" % (t is not None and t.is_alive()),
                "aof_delayed_fsync:%d" % self.delayed_fsync,
            ]
        return out


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


ITEMS_PER_CMD = 64  # elements per command in a rewritten base, as Redis's AOF_REWRITE_ITEMS_PER_CMD


def _batched(cmd: bytes, key: bytes, items: list[bytes], per: int, width: int) -> list[bytes]:
    out = []
    step = per * width
    for j in range(0, len(items), step):
        out.append(encode([cmd, key, *items[j : j + step]]))
    return out


def value_commands(key: bytes, value: Any, compress: bool) -> list[bytes]:
    """The commands that rebuild one key (rewriteAppendOnlyFileRio's forms); streams use RESTORE."""
    from respdb.types import lists, type_name, zsets

    t = type_name(value)
    if t == "string":
        return [encode([b"SET", key, bytes(value)])]
    if t == "list":
        return _batched(b"RPUSH", key, lists.values_of(value), ITEMS_PER_CMD, 1)
    if t == "set":
        return _batched(b"SADD", key, list(value.members()), ITEMS_PER_CMD, 1)
    if t == "zset":
        flat = []
        for score, member in zsets.all_pairs(value):
            flat += [b"%.17g" % score, member]
        return _batched(b"ZADD", key, flat, ITEMS_PER_CMD, 2)
    if t == "hash":
        flat = [x for pair in value.items() for x in pair]
        return _batched(b"HMSET", key, flat, ITEMS_PER_CMD, 2)
    # a stream (entries, consumer groups, PEL) is restored from its serialized form
    return [encode([b"RESTORE", key, b"0", rdb.dump_payload(value, compress)])]


def _write_commands(e: Any, write: Any) -> None:
    """An AOF-format base (aof-use-rdb-preamble no): FUNCTION LOAD for each library, then
    SELECT per db and each key's commands (rdb-key-save-delay after each key, as Redis)."""
    from respdb.persistence.functions import libraries

    compress = e.config["rdbcompression"] == "yes"
    key_delay = e.config.get_int("rdb-key-save-delay")
    if e.config["aof-timestamp-enabled"] == "yes":
        write(b"#TS:%d\r\n" % int(time.time()))  # the base starts with one too, as in Redis
    libs = [encode([b"FUNCTION", b"LOAD", code]) for code in libraries(e)]
    if libs:
        write(b"".join(libs))
    for db in e.dbs:
        if not db.data:
            continue
        d = b"%d" % db.id
        buf = [encode([b"SELECT", d])]
        for key, value in db.data.items():
            buf += value_commands(key, value, compress)
            when = db.expires.get(key)
            if when is not None:
                buf.append(encode([b"PEXPIREAT", key, b"%d" % when]))
            if key_delay:
                rdb.debug_delay(key_delay)
            if len(buf) >= 1024:
                write(b"".join(buf))
                buf = []
        write(b"".join(buf))
