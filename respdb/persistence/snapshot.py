"""RDB snapshots for a running server: SAVE, BGSAVE, save points, shutdown, start-up loading.

One `Persistence` object per engine (`engine.persistence`) keeps what INFO persistence shows
and drives the background save:

- BGSAVE forks. The child inherits a copy-on-write image of the keyspace, writes it with the
  same code as SAVE and exits with 0 or 1; the parent goes on serving and reaps the child from
  the cron. `gc.freeze()` before the fork moves every tracked object out of the collector's
  reach, so neither the child nor a collection in the parent touches (and so copies) the pages
  of the whole heap; the parent unfreezes once the child is gone.
- Files are written to `temp-<pid>.rdb` next to the target, fsynced, renamed over the target
  and the directory is fsynced: a crash at any moment leaves either the old or the new file.
- Save points (`save 3600 1 300 100 60 10000`) are checked by the cron against the engine's
  dirty counter, as Redis's serverCron does, with the same 5-second retry delay after a
  failed background save.
- `stop-writes-on-bgsave-error`: after a failed background save (with save points set) write
  commands and PING get the MISCONF error. The engine checks this only for gated clients, so
  the flag `engine.disk_error` marks every client gated while it is raised and the hot path
  pays nothing otherwise.
"""

from __future__ import annotations

import gc
import os
import signal
import time
from collections.abc import Callable
from typing import Any

from respdb import proctitle
from respdb.persistence import rdb
from respdb.persistence.childinfo import ChildInfo
from respdb.persistence.functions import restore as restore_functions

MISCONF = (
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
    "Commands that may modify the data set are disabled, because this instance is configured to report "
    "errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check "
    "the Redis logs for details about the RDB error."
)
BGSAVE_RETRY_DELAY = 5


class Persistence:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.lastsave = int(time.time())
        self.bgsave_ok = True
        self.lastbgsave_try = 0
        self.child_pid = -1
        self.child_start = 0.0
        self.bgsave_scheduled = False
        self.dirty_before_bgsave = 0
        self.last_bgsave_secs = -1
        self.rdb_saves = 0
        self.total_forks = 0
        self.child_info = ChildInfo()  # what the BGSAVE child reports (INFO current_cow_size ...)
        self.latest_fork_usec = 0
        self.keys_loaded = 0
        self.keys_expired = 0
        self.loading = False
        # a replica receiving a snapshot with repl-diskless-load swapdb from its own history:
        # it keeps serving the old data meanwhile (INFO async_loading)
        self.async_loading = False
        self.load_start = 0
        self.load_total = 0
        self.rdb_used_mem = 0  # the `used-mem` aux field of the RDB being loaded (INFO loading_rdb_used_mem)
        self.load_done = 0
        self._frozen = False
        self._save_spec = None
        self._save_params: list[tuple[int, int]] = []
        engine.disk_error = False
        engine.config.listeners.append(self._config_changed)

    # -- configuration -----------------------------------------------------------

    def save_params(self) -> list[tuple[int, int]]:
        spec = self.engine.config["save"]
        if spec != self._save_spec:
            parts = spec.split()
            self._save_params = [(int(parts[i]), int(parts[i + 1])) for i in range(0, len(parts) - 1, 2)]
            self._save_spec = spec
        return self._save_params

    def rdb_path(self) -> str:
        cfg = self.engine.config
        return os.path.join(cfg["dir"] or os.getcwd(), cfg["dbfilename"])

    def _config_changed(self, name: str, value: str) -> None:
        if name in ("save", "stop-writes-on-bgsave-error"):
            self.update_disk_error()

    def update_disk_error(self) -> None:
        """Raise or lower the MISCONF gate (writeCommandsDeniedByDiskError's RDB part)."""
        e = self.engine
        cfg = e.config
        on = not self.bgsave_ok and cfg["stop-writes-on-bgsave-error"] == "yes" and bool(self.save_params())
        if on == e.disk_error:
            return
        e.disk_error = on
        for c in e.clients.values():
            if on:
                c.gated = True
            else:
                c.update_gate()

    # -- saving ------------------------------------------------------------------

    def temp_path(self, pid: int) -> str:
        """Where process `pid` writes a snapshot before renaming it over the RDB file."""
        return os.path.join(os.path.dirname(self.rdb_path()) or ".", "temp-%d.rdb" % pid)

    def write_file(
        self, path: str | None = None, role: str = "M", progress: Callable[[int], None] | None = None
    ) -> bool:
        """rdbSave: write the whole keyspace to `path` through a temp file; False on failure."""
        e = self.engine
        path = path or self.rdb_path()
        directory = os.path.dirname(path) or "."
        tmp = os.path.join(directory, "temp-%d.rdb" % os.getpid())
        try:
            f = open(tmp, "wb")  # noqa: SIM115 - closed below on every path
        except OSError as err:
            self._log(
                role,
                "warning",
                "Failed opening the temp RDB file %s (in server root dir %s) for saving: %s"
                % (os.path.basename(tmp), directory, err.strerror),
            )
            return False
        try:
            with f:
                rdb.write_rdb(
                    e,
                    f.write,
                    key_delay=e.config.get_int("rdb-key-save-delay"),
                    repl_info=e.replication.save_info(),
                    progress=progress,
                )
                f.flush()
                os.fsync(f.fileno())
        except OSError as err:
            self._log(role, "warning", "Write error saving DB on disk: %s" % (err.strerror or err))
            _unlink(tmp)
            return False
        try:
            os.replace(tmp, path)
        except OSError as err:
            self._log(
                role,
                "warning",
                "Error moving temp DB file %s on the final destination %s (in server root dir %s): %s"
                % (os.path.basename(tmp), os.path.basename(path), directory, err.strerror),
            )
            _unlink(tmp)
            return False
        _fsync_dir(directory)
        self._log(role, "notice", "DB saved on disk")
        return True

    def save(self) -> bool:
        """A foreground save (SAVE, SHUTDOWN, FLUSHALL with save points)."""
        if not self.write_file():
            return False
        self.engine.dirty = 0
        self.lastsave = int(time.time())
        self.bgsave_ok = True
        self.update_disk_error()
        return True

    def bgsave(self) -> bool:
        """Start a background save; False when the fork failed (logged)."""
        if self.child_pid != -1:
            return False
        e = self.engine
        self.rdb_saves += 1
        self.dirty_before_bgsave = e.dirty
        self.lastbgsave_try = int(time.time())
        t0 = time.perf_counter()
        gc.freeze()
        try:
            pid = os.fork()
        except OSError as err:
            gc.unfreeze()
            self.bgsave_ok = False
            self.update_disk_error()
            e.log("warning", "Can't save in background: fork: %s" % err.strerror)
            return False
        if pid == 0:  # the child: write the snapshot and leave without running any cleanup
            code = 1
            try:
                child_setup(e, proctitle.RDB_BGSAVE)
                code = 0 if self.write_file(role="C", progress=self.child_info.report_keys) else 1
            finally:
                os._exit(code)
        self.latest_fork_usec = int((time.perf_counter() - t0) * 1_000_000)
        e.latency.sample("fork", self.latest_fork_usec // 1000)
        self.total_forks += 1
        self.child_pid = pid
        e.update_resize_policy()
        self.child_start = time.time()
        self.child_info.started(pid, sum(len(db.data) for db in e.dbs))
        self._frozen = True
        e.log("notice", "Background saving started by pid %d" % pid)
        return True

    def _child_done(self, status: int) -> None:
        e = self.engine
        pid = self.child_pid
        code = os.waitstatus_to_exitcode(status)
        if code == 0:
            e.log("notice", "Background saving terminated with success")
            e.dirty -= self.dirty_before_bgsave
            self.lastsave = int(time.time())
            self.bgsave_ok = True
        elif code > 0:
            e.log("warning", "Background saving error")
            self.bgsave_ok = False
        else:
            e.log("warning", "Background saving terminated by signal %d" % -code)
            _unlink(self.temp_path(pid))
            if -code != signal.SIGUSR1:  # SIGUSR1 is how a child is stopped on purpose
                self.bgsave_ok = False
        self.last_bgsave_secs = int(time.time() - self.child_start)
        self.child_info.ended()
        self.child_pid = -1
        self.engine.update_resize_policy()
        self.child_start = 0.0
        if self._frozen:
            gc.unfreeze()
            self._frozen = False
        self.update_disk_error()

    def kill_child(self) -> None:
        """Stop a background save (SHUTDOWN, FLUSHALL) without counting it as an error."""
        if self.child_pid == -1:
            return
        pid = self.child_pid
        try:
            os.kill(pid, signal.SIGUSR1)
            _, status = os.waitpid(pid, 0)
        except OSError:
            status = 0
        _unlink(self.temp_path(pid))
        self.child_pid = -1
        self.engine.update_resize_policy()
        self.child_start = 0.0
        if self._frozen:
            gc.unfreeze()
            self._frozen = False
        del status

    def cron(self) -> None:
        """Reap a finished child; start a BGSAVE when a save point or a scheduled one is due."""
        if self.loading:
            return
        if self.child_pid != -1:
            status = reap(self.child_pid)
            if status is not None:
                self._child_done(status)
            else:
                self.child_info.sample()
            return
        if self.engine.child_active():
            return  # one child at a time: an AOF rewrite or a replica's snapshot is running
        now = int(time.time())
        retry_ok = self.bgsave_ok or now - self.lastbgsave_try > BGSAVE_RETRY_DELAY
        if self.bgsave_scheduled and retry_ok:
            if self.bgsave():
                self.bgsave_scheduled = False
            return
        params = self.save_params()
        if not params or not retry_ok:
            return
        dirty = self.engine.dirty
        for seconds, changes in params:
            if dirty >= changes and now - self.lastsave > seconds:
                self.engine.log("notice", "%d changes in %d seconds. Saving..." % (changes, seconds))
                self.bgsave()
                return

    def after_flushall(self) -> None:
        """FLUSHALL: stop a running BGSAVE and, with save points, write the empty dataset at once
        (which resets the dirty counter, as in Redis; FLUSHALL propagates itself)."""
        if self.child_pid != -1:
            self.kill_child()
        self.engine.replication.abort_transfer()  # a snapshot for replicas is as stale
        if self.save_params():
            self.save()

    def debug_reload(self, save: bool = True) -> str | None:
        """DEBUG RELOAD: save, then replace the dataset with the file; an error message or None."""
        e = self.engine
        if save and not self.save():
            return "ERR"
        try:
            e.signal_flushed(None, None)
            self.load_file(self.rdb_path())
        except (rdb.RDBError, OSError, ValueError) as err:
            e.log("warning", "DEBUG RELOAD failed: %s" % err)
            return "ERR Error trying to load the RDB dump"  # (Redis 7.0's words)
        e.log("warning", "DB reloaded by DEBUG RELOAD")
        return None

    # -- shutdown ----------------------------------------------------------------

    def prepare_shutdown(
        self,
        save: bool = False,
        nosave: bool = False,
        force: bool = False,
        before_save: Callable[[bool], bool] | None = None,
    ) -> bool:
        """The snapshot's part of a shutdown (respdb/shutdown.py): stop a BGSAVE child and write
        the final snapshot; False when the server must not exit (the save failed, or
        `before_save(force)`, the AOF's part, said no)."""
        e = self.engine
        if self.loading:
            save, nosave = False, True  # a half-loaded dataset must never replace the file
        if self.child_pid != -1:
            e.log("warning", "There is a child saving an .rdb. Killing it!")
            self.kill_child()
        sc = e.__dict__.get("scripting")
        if sc is not None and sc.ldb_children:
            sc.kill_debug_sessions()  # forked Lua debugger sessions (SCRIPT DEBUG YES)
        if before_save is not None and not before_save(force):
            return False
        if (self.save_params() and not nosave) or save:
            e.log("notice", "Saving the final RDB snapshot before exiting.")
            if not self.write_file():
                if force:
                    e.log("warning", "Error trying to save the DB. Exit anyway.")
                else:
                    e.log("warning", "Error trying to save the DB, can't exit.")
                    return False
        return True

    def remove_temp_file(self) -> None:
        """The temp file of a save in this process (an exit in the middle of the final save)."""
        _unlink(self.temp_path(os.getpid()))

    # -- loading -----------------------------------------------------------------

    def parse_file(self, path: str, now_ms: int | None = None) -> rdb.LoadResult:
        """Read and parse `path` without touching the engine (may run in a worker thread)."""
        e = self.engine
        with open(path, "rb") as f:
            data = f.read()
        self.load_total = len(data)
        self.load_done = 0
        self.rdb_used_mem = rdb_used_mem(data)
        last = [time.monotonic()]

        def progress(keys: int, pos: int) -> None:
            self.load_done = pos
            now = time.monotonic()
            if now - last[0] >= 2.0:  # a line every couple of seconds on big files
                last[0] = now
                e.log("notice", "Loading RDB: %d keys so far, %.0f%% of the file" % (keys, 100.0 * pos / len(data)))

        return rdb.parse_rdb(
            data,
            len(e.dbs),
            rdb.Limits(e.config, e),
            now_ms=now_ms,
            verify_checksum=e.config["rdbchecksum"] == "yes",
            log=e.log,
            progress=progress,
            key_delay=e.config.get_int("key-load-delay"),
        )

    def install(self, res: rdb.LoadResult) -> None:
        restore_functions(self.engine, res.functions)
        rdb.install(self.engine, res)
        self.keys_loaded = res.keys_loaded
        self.keys_expired = res.keys_expired

    def load_file(self, path: str, now_ms: int | None = None) -> rdb.LoadResult:
        """Parse `path` completely, then install it; raises RDBError / OSError / ValueError."""
        res = self.parse_file(path, now_ms)
        self.install(res)
        return res

    async def load_at_startup_async(self) -> bool:
        """Load the RDB file if there is one, with the server already listening: the file is
        parsed in a worker thread while the event loop answers -LOADING, then installed from
        the loop. False (logged) when it cannot be loaded."""
        import asyncio

        path = self._startup_file()
        if path is None:
            return True
        t0 = time.perf_counter()
        self._set_loading(True)
        try:
            self.load_total = os.path.getsize(path)  # known before the worker reads it (INFO loading_*)
            res = await asyncio.get_running_loop().run_in_executor(None, self.parse_file, path)
            self.install(res)
            # repl-id / repl-offset: PSYNC after a restart (and the keys that expired meanwhile)
            self.engine.replication.restore_info(res.aux, res.expired)
        except (rdb.RDBError, OSError, ValueError) as err:
            self._load_failed(path, err)
            return False
        finally:
            self._set_loading(False)
        self._loaded(res, t0)
        return True

    def _startup_file(self) -> str | None:
        if self.engine.config["appendonly"] == "yes":
            return None  # the AOF, not the RDB file, holds the dataset then
        path = self.rdb_path()
        return path if os.path.exists(path) else None

    def set_loading(self, on: bool) -> None:
        """Enter or leave the loading state (-LOADING for commands without the LOADING flag)."""
        self._set_loading(on)

    def _set_loading(self, on: bool) -> None:
        e = self.engine
        self.loading = on
        e.loading = on
        if on:
            self.load_start = int(time.time())
            self.load_total = self.load_done = self.rdb_used_mem = 0
        for c in e.clients.values():
            if on:
                c.gated = True
            else:
                c.update_gate()

    def _load_failed(self, path: str, err: Exception) -> None:
        e = self.engine
        if isinstance(err, rdb.RDBError):
            e.log("warning", "Short read or corrupt RDB file %s: %s" % (path, err))
            e.log("warning", "Fatal error loading the DB: %s. Exiting." % err)
            e.log("warning", "Terminating server after rdb file reading failure.")  # (Redis's last words)
        else:
            e.log("warning", "Fatal error loading the DB: %s. Exiting." % err)

    def _loaded(self, res: rdb.LoadResult, t0: float) -> None:
        e = self.engine
        msg = "Done loading RDB, keys loaded: %d, keys expired: %d" % (res.keys_loaded, res.keys_expired)
        if res.empty_skipped:
            msg += ", empty keys skipped: %d" % res.empty_skipped
        e.log("notice", msg + ".")
        e.log("notice", "DB loaded from disk: %.3f seconds" % (time.perf_counter() - t0))

    # -- INFO --------------------------------------------------------------------

    def info_fields(self) -> list[str]:
        now = time.time()
        running = self.child_pid != -1 or self.engine.replication.child_pid != -1  # (replicas' too)
        loading = []
        if self.loading:
            elapsed = max(0, int(now) - self.load_start)
            total = self.load_total or 1
            perc = 100.0 * self.load_done / total
            eta = int(elapsed * (total - self.load_done) / self.load_done) if self.load_done else 1
            loading = [
                "loading_start_time:%d" % self.load_start,
                "loading_total_bytes:%d" % self.load_total,
                "loading_rdb_used_mem:%d" % self.rdb_used_mem,
                "loading_loaded_bytes:%d" % self.load_done,
                "loading_loaded_perc:%.2f" % perc,
                "loading_eta_seconds:%d" % eta,
            ]
        return [
            "loading:%d" % self.loading,
            "async_loading:%d" % self.async_loading,
            *loading,
            *(self.engine.aof.child_info if self.engine.aof.child_pid != -1 else self.child_info).info(),
            "rdb_changes_since_last_save:%d" % self.engine.dirty,
            "rdb_bgsave_in_progress:%d" % running,
            "rdb_last_save_time:%d" % self.lastsave,
            "rdb_last_bgsave_status:%s" % ("ok" if self.bgsave_ok else "err"),
            "rdb_last_bgsave_time_sec:%d" % self.last_bgsave_secs,
            "rdb_current_bgsave_time_sec:%d" % (int(now - self.child_start) if running else -1),
            "rdb_saves:%d" % self.rdb_saves,
            "rdb_last_cow_size:%d" % self.child_info.last_cow,
            "rdb_last_load_keys_expired:%d" % self.keys_expired,
            "rdb_last_load_keys_loaded:%d" % self.keys_loaded,
        ]

    def _log(self, role: str, level: str, msg: str) -> None:
        if role == "M":
            self.engine.log(level, msg)
            return
        # In the child: the same log line, marked as written by a child process.
        e = self.engine
        lv = {"debug": 0, "verbose": 1, "notice": 2, "warning": 3}[level]
        if lv < e.loglevel:
            return
        now = time.time()
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now)) + ".%03d" % (now % 1 * 1000)
        try:
            e.logfile.write("%d:C %s %s %s\n" % (os.getpid(), stamp, ".-*#"[lv], msg))
            e.logfile.flush()
        except (OSError, ValueError):
            pass


def rdb_used_mem(data: bytes) -> int:
    """The `used-mem` aux field among those at the head of an RDB image, 0 when absent.

    Redis shows it in INFO as soon as its loader has read the aux fields; here the parse runs
    in a worker thread, so the head is read on its own first (a few bytes)."""
    if data[:5] != b"REDIS":
        return 0
    r = rdb.Reader(data, 9)
    try:
        while r.pos < r.end and data[r.pos] == 0xFA:  # RDB_OPCODE_AUX: key and value strings
            r.pos += 1
            key = r.string("an aux field name")
            value = r.string("an aux field value")
            if key == b"used-mem":
                return int(value)
    except (rdb.RDBError, ValueError):
        pass
    return 0


def child_setup(engine: Any, title: str | None = None) -> None:
    """First steps of a forked child (BGSAVE, AOF rewrite, a replica's snapshot): no cyclic
    collector, default SIGTERM/SIGINT, nothing for the parent's loop to hear, and the
    listening sockets closed, so that the port is free as soon as the server itself is gone
    (a child outliving a killed server would otherwise keep it). `title`: its process title
    (respdb/proctitle.py)."""
    gc.disable()
    if title is not None and engine.config["set-proc-title"] == "yes":
        proctitle.set_title(engine.config, title)
    for sig in (
        signal.SIGTERM,
        signal.SIGINT,
        signal.SIGABRT,
        signal.SIGBUS,
        signal.SIGFPE,
        signal.SIGILL,
        signal.SIGSEGV,
    ):
        signal.signal(sig, signal.SIG_DFL)
    try:
        signal.set_wakeup_fd(-1)
    except ValueError:
        pass
    for fd in getattr(engine, "listener_fds", ()):
        try:
            os.close(fd)
        except OSError:
            pass
    oom = getattr(engine, "oom", None)
    if oom is not None:
        oom.apply("bgchild")


def reap(pid: int) -> int | None:
    """The wait status of a finished child (BGSAVE, AOF rewrite), None while it runs; a child
    that cannot be waited for counts as having exited with status 1."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return 1 << 8
    return status if done else None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
