"""daemonize, supervised systemd, tcp-keepalive and dynamic-hz, which respdb used to accept
without acting on them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from conftest import RawConn, free_port, start_respdb, wait_port


def test_daemonize_writes_the_pid_file_and_returns(tmp_path) -> None:
    port = free_port()
    pidfile = tmp_path / "respdb.pid"
    cmd = [sys.executable, "-m", "respdb", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
           "--dir", str(tmp_path), "--daemonize", "yes", "--pidfile", str(pidfile)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, timeout=20)
    assert done.returncode == 0  # the foreground process is gone, the daemon serves
    deadline = time.monotonic() + 15
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    try:
        c = RawConn(port)
        assert c.cmd("PING") == b"+PONG\r\n"
        assert b"process_id:%d\r\n" % pid in c.cmd("INFO", "server")
        assert os.getsid(pid) == pid  # a session of its own
    finally:
        os.kill(pid, 15)
    deadline = time.monotonic() + 15
    while pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pidfile.exists()


def test_supervised_systemd_notifies_readiness(tmp_path) -> None:
    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(15)
    port = free_port()
    env = dict(os.environ, NOTIFY_SOCKET=path)
    cmd = [sys.executable, "-m", "respdb", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
           "--dir", str(tmp_path), "--supervised", "systemd"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        messages = [listener.recv(4096), listener.recv(4096)]
        assert messages == [b"STATUS=Ready to accept connections\n", b"READY=1\n"]
        wait_port(port, proc)
        assert b"process_supervised:systemd\r\n" in RawConn(port).cmd("INFO", "server")
    finally:
        proc.terminate()
        proc.wait(15)
        listener.close()


def test_keepalive_and_dynamic_hz() -> None:
    s = start_respdb("--tcp-keepalive", "60", "--hz", "1")
    try:
        c = RawConn(s.port)
        # the server's side of this connection, seen from /proc: keepalive is a timer on it
        local = c.sock.getsockname()[1]
        out = subprocess.run(["ss", "-tnoH", "state", "established", "sport", "= :%d" % s.port],
                             capture_output=True, text=True).stdout  # fmt: skip
        line = next((x for x in out.splitlines() if ":%d" % local in x), "")
        if line:  # (ss is in iproute2; without it the check is skipped)
            assert "keepalive" in line
        assert b"\r\nhz:1\r\n" in c.cmd("INFO", "server")
        many = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(450)]
        time.sleep(2.2)  # (a cron tick at the old rate)
        info = c.cmd("INFO", "server")
        assert b"\r\nhz:4\r\n" in info  # 451 clients: over 200 per tick at 1 and 2 per second
        assert b"configured_hz:1\r\n" in info
        for m in many:
            m.close()
    finally:
        s.stop()


def test_bind_source_addr_for_the_master_link() -> None:
    # unit/networking "CONFIG SET bind-source-addr": the replica's connection comes from there
    master = start_respdb("--protected-mode", "no")
    replica = start_respdb()
    try:
        r = RawConn(replica.port)
        assert r.cmd("CONFIG", "SET", "bind-source-addr", "127.0.0.2") == b"+OK\r\n"
        r.cmd("REPLICAOF", "127.0.0.1", str(master.port))
        m = RawConn(master.port)
        deadline = time.monotonic() + 10
        while b"slave0:ip=127.0.0.2," not in m.cmd("INFO", "replication"):
            assert time.monotonic() < deadline, m.cmd("INFO", "replication")
            time.sleep(0.05)
    finally:
        replica.stop()
        master.stop()
