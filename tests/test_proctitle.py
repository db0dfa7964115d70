"""The process title: proc-title-template and set-proc-title (unit/other "Process title set as
expected"), compared with a real redis-server where the text is Redis's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from respdb import proctitle
from respdb.config import Config
from tests.conftest import RawConn, ServerProc, free_port, start_redis, start_respdb, wait_port

TEMPLATE = "TEST {title} {listen-addr} {port} {tls-port} {unixsocket} {config-file}"


def title_of(pid: int) -> list[str]:
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().replace(b"\0", b" ").decode().split()


def test_expand_follows_sdstemplate() -> None:
    values = {"a": "1", "b": "", "title": "t"}
    assert proctitle.expand("x {a} y", values.get) == "x 1 y"
    assert proctitle.expand("{{a} }} {a}}", values.get) == "{a} }} 1}"
    assert proctitle.expand("  {b} {a}  ", values.get) == "1"  # trimmed spaces
    assert proctitle.expand("{c}", values.get) is None  # unknown variable
    assert proctitle.expand("{a", values.get) is None  # no closing brace
    assert proctitle.expand("abc{", values.get) is None  # a brace at the very end
    cfg = Config()
    assert proctitle.valid("{title} {listen-addr} {server-mode}", cfg)
    assert not proctitle.valid("{server-mode}", cfg)  # expands to nothing
    assert not proctitle.valid("   ", cfg)


def test_config_set_errors_match_redis() -> None:
    servers = [start_respdb(), start_redis()]
    try:
        conns = [RawConn(s.port) for s in servers]
        for template in ("{invalid-var}", "", "  {server-mode} ", "{title", "x{"):
            replies = [c.cmd("CONFIG", "SET", "proc-title-template", template) for c in conns]
            assert replies[0] == replies[1], template
            assert replies[0].startswith(b"-ERR CONFIG SET failed (possibly related to argument 'proc-title-template')")
            assert [c.cmd("CONFIG", "GET", "proc-title-template") for c in conns] == [
                b"*2\r\n$19\r\nproc-title-template\r\n$35\r\n{title} {listen-addr} {server-mode}\r\n"
            ] * 2  # untouched
        for template in ("{{x} }}", TEMPLATE):
            assert [c.cmd("CONFIG", "SET", "proc-title-template", template) for c in conns] == [b"+OK\r\n"] * 2
    finally:
        for s in servers:
            s.stop()


def test_title_shown_and_changed(tmp_path) -> None:
    conf = tmp_path / "respdb.conf"
    port = free_port()
    conf.write_text('port %d\nbind 127.0.0.1\nsave ""\ndir %s\n' % (port, tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "respdb", str(conf)], stdout=subprocess.DEVNULL, cwd=tmp_path)
    wait_port(port, proc)
    s = ServerProc(proc, port, str(tmp_path), "")
    try:
        pid = s.proc.pid
        # the default template: "{title} {listen-addr} {server-mode}", the mode empty
        words = title_of(pid)
        assert words[-1] == "127.0.0.1:%d" % s.port
        r = RawConn(s.port)
        assert r.cmd("CONFIG", "SET", "proc-title-template", TEMPLATE) == b"+OK\r\n"
        words = title_of(pid)
        assert words[0] == "TEST"
        assert words[-4:] == ["127.0.0.1:%d" % s.port, str(s.port), "0", str(conf)]
        # a rejected template leaves the title as it was
        r.cmd("CONFIG", "SET", "proc-title-template", "{nope}")
        assert title_of(pid)[0] == "TEST"
        # a forked child shows Redis's name for it
        r.cmd("CONFIG", "SET", "proc-title-template", "{title} {listen-addr}")
        r.cmd("SET", "a", "b")
        r.cmd("CONFIG", "SET", "rdb-key-save-delay", "1000000")
        assert r.cmd("BGSAVE") == b"+Background saving started\r\n"
        time.sleep(0.3)
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        assert out, "no BGSAVE child"
        try:
            assert title_of(int(out[0])) == ["redis-rdb-bgsave", "127.0.0.1:%d" % s.port]
        finally:
            os.kill(int(out[0]), signal.SIGKILL)
    finally:
        s.stop()


def test_set_proc_title_no_keeps_the_command_line() -> None:
    s = start_respdb("--set-proc-title", "no")
    try:
        words = title_of(s.proc.pid)
        assert "-m" in words and "respdb" in words and "--port" in words
    finally:
        s.stop()
