"""The server over TCP: redis-py (RESP2 and RESP3), redis-cli, start-up, configuration, shutdown."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import redis

from tests.conftest import ROOT, RawConn, free_port, start_respdb, wait_port


def test_strings_and_keys_through_redis_py(r):
    assert r.set("a", "1", ex=100) is True
    assert 0 < r.ttl("a") <= 100
    assert r.mset({"b": "2", "c": "3"}) is True
    assert r.mget("a", "b", "c", "nope") == [b"1", b"2", b"3", None]
    assert r.incrbyfloat("a", "0.5") == 1.5
    assert r.append("b", "xy") == 3
    assert r.getrange("b", 1, -1) == b"xy"
    assert sorted(r.keys("*")) == [b"a", b"b", b"c"]
    assert r.type("a") == b"string"
    assert r.object("encoding", "c") == b"int"
    assert r.rename("c", "d") is True
    assert r.exists("c", "d") == 1
    assert r.copy("d", "e") is True
    assert r.delete("d", "e", "zz") == 2
    assert r.dbsize() == 2
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        r.incr("b")


def test_resp3_types_through_redis_py(r3):
    r3.set("k", "v")
    info = r3.execute_command("HELLO", "3")
    assert info[b"proto"] == 3 if b"proto" in info else info["proto"] == 3
    assert r3.get("missing") is None
    assert r3.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    assert r3.lcs("k", "k") == b"v"


def test_scan_iter_and_randomkey(r):
    r.mset({f"key:{i}": i for i in range(300)})
    assert {k.decode() for k in r.scan_iter(match="key:1*", count=20)} == {
        f"key:{i}" for i in range(300) if str(i).startswith("1")
    }
    assert r.randomkey().startswith(b"key:")


def test_select_and_move_between_databases(r):
    r.set("x", "1")
    assert r.move("x", 2) is True
    r.execute_command("SELECT", 2)
    assert r.get("x") == b"1"
    r.execute_command("SELECT", 0)


def test_client_commands(respdb_server):
    a = RawConn(respdb_server.port)
    b = redis.Redis(port=respdb_server.port)
    try:
        assert a.cmd("CLIENT", "SETNAME", "alpha") == b"+OK\r\n"
        assert a.cmd("CLIENT", "GETNAME") == b"$5\r\nalpha\r\n"
        ids = {c["name"]: int(c["id"]) for c in b.client_list()}
        assert "alpha" in ids
        assert a.cmd("CLIENT", "ID") == b":%d\r\n" % ids["alpha"]
        assert b.client_kill_filter(_id=ids["alpha"]) == 1
        assert a.closed()
        assert "alpha" not in {c["name"] for c in b.client_list()}
    finally:
        a.close()
        b.close()


def test_client_kill_addr_and_skipme(respdb_server):
    raw = RawConn(respdb_server.port)
    other = RawConn(respdb_server.port)
    try:
        addr = other.cmd("CLIENT", "INFO").split(b"addr=")[1].split(b" ")[0]
        assert raw.cmd("CLIENT", "KILL", addr) == b"+OK\r\n"
        assert other.closed()
        assert raw.cmd("CLIENT", "KILL", "SKIPME", "yes", "ID", raw.cmd("CLIENT", "ID")[1:-2]) == b":0\r\n"
        assert raw.cmd("CLIENT", "KILL", "1.2.3.4:5") == b"-ERR No such client\r\n"
    finally:
        raw.close()
        other.close()


def test_info_sections_parse_with_redis_py(r):
    r.set("k", "v")
    r.get("k")
    info = r.info("all")
    assert info["redis_version"] == "7.0.15"
    assert info["db0"]["keys"] == 1
    assert info["cmdstat_get"]["calls"] >= 1
    assert info["connected_clients"] >= 1
    assert r.info("keyspace") == {"db0": {"keys": 1, "expires": 0, "avg_ttl": 0}}


def test_config_set_get_resetstat(r):
    assert r.config_set("maxmemory", "10mb")
    assert r.config_get("maxmemory") == {"maxmemory": str(10 * 1024 * 1024)}
    r.config_set("maxmemory", "0")
    r.get("x")
    assert r.config_resetstat()
    assert "cmdstat_get" not in r.info("commandstats")


def test_time_and_echo(r):
    secs, usecs = r.time()
    assert abs(secs - time.time()) < 5 and 0 <= usecs < 1_000_000
    assert r.echo("hi") == b"hi"
    assert r.ping() is True


def test_quit_closes_after_ok(raw):
    assert raw.cmd("QUIT") == b"+OK\r\n"
    assert raw.closed()


def test_reset_restores_defaults(raw):
    raw.cmd("SELECT", "3")
    raw.cmd("CLIENT", "SETNAME", "x")
    assert raw.cmd("RESET") == b"+RESET\r\n"
    assert raw.cmd("CLIENT", "GETNAME") == b"$-1\r\n"
    info = raw.cmd("CLIENT", "INFO")
    assert b" db=0 " in info


def test_debug_sleep_blocks_the_server(raw, respdb_server):
    other = RawConn(respdb_server.port)
    try:
        raw.send(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$3\r\n0.3\r\n")
        time.sleep(0.05)
        t0 = time.monotonic()
        assert other.cmd("PING") == b"+PONG\r\n"
        assert time.monotonic() - t0 > 0.15
        assert raw.read_reply() == b"+OK\r\n"
    finally:
        other.close()


def test_keys_expire_without_being_touched(raw):
    raw.cmd("SET", "k", "v", "PX", "50")
    raw.cmd("SET", "k2", "v", "PX", "50")
    time.sleep(0.4)
    assert b"expired_keys:2" in raw.cmd("INFO", "stats")
    assert raw.cmd("DBSIZE") == b":0\r\n"


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed")
def test_redis_cli_talks_to_respdb(respdb_server):
    def cli(*args: str) -> str:
        out = subprocess.run(
            ["redis-cli", "-p", str(respdb_server.port), *args], capture_output=True, text=True, timeout=20
        )
        return out.stdout.strip()

    assert cli("SET", "cli", "hello") == "OK"
    assert cli("GET", "cli") == "hello"
    assert cli("-3", "HELLO", "3").startswith("server")
    assert "redis_version:7.0.15" in cli("INFO", "server")
    assert cli("--scan", "--pattern", "cl*") == "cli"


# -- start-up, configuration and shutdown ------------------------------------------------


def _spawn(args: list[str], cwd: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "respdb", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_config_file_start_and_ready_log(tmp_path):
    port = free_port()
    conf = tmp_path / "respdb.conf"
    conf.write_text(f"port {port}\nbind 127.0.0.1\nmaxmemory 1mb\ndatabases 4\n")
    proc = _spawn([str(conf), "--loglevel", "verbose"], str(tmp_path))
    try:
        wait_port(port, proc)
        c = redis.Redis(port=port)
        assert c.config_get("databases") == {"databases": "4"}
        with pytest.raises(redis.ResponseError, match="DB index is out of range"):
            c.execute_command("SELECT", 4)
        assert c.config_get("maxmemory") == {"maxmemory": "1048576"}
        c.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    text = out.decode()
    assert "Ready to accept connections" in text
    assert "Received SIGTERM" in text


def test_unknown_directive_is_a_startup_error(tmp_path):
    proc = _spawn(["--no-such-directive", "1"], str(tmp_path))
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 1
    assert b"Bad directive" in out


def test_shutdown_command_stops_the_server(tmp_path):
    s = start_respdb()
    try:
        c = RawConn(s.port)
        c.send(b"SHUTDOWN NOSAVE\r\n")
        assert c.closed(5)
        s.proc.wait(10)
        assert s.proc.returncode == 0
    finally:
        s.stop()


def test_unix_socket(tmp_path):
    path = str(tmp_path / "respdb.sock")
    proc = _spawn(["--port", "0", "--unixsocket", path], str(tmp_path))
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        c = redis.Redis(unix_socket_path=path)
        assert c.ping() is True
        assert c.set("u", "1") and c.get("u") == b"1"
        c.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert not os.path.exists(path)


def test_maxclients(tmp_path):
    s = start_respdb("--maxclients", "2")
    conns = []
    try:
        conns = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(2)]
        third = RawConn(s.port)
        assert third.read_reply() == b"-ERR max number of clients reached\r\n"
        assert third.closed()
    finally:
        for x in conns:
            x.close()
        s.stop()


def test_config_set_port_and_bind_move_the_listener() -> None:
    # unit/networking "CONFIG SET port number" and "CONFIG SET bind address"
    import socket as socketmod

    from conftest import free_port

    s = start_respdb()
    try:
        c = RawConn(s.port)
        new = free_port()
        assert c.cmd("CONFIG", "SET", "port", str(new)) == b"+OK\r\n"
        deadline = time.monotonic() + 5
        while True:
            try:
                moved = RawConn(new)
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert moved.cmd("PING") == b"+PONG\r\n"
        with pytest.raises(OSError):
            RawConn(s.port)  # no longer listening there
        taken = socketmod.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        try:
            busy = taken.getsockname()[1]
            assert moved.cmd("CONFIG", "SET", "port", str(busy)).startswith(
                b"-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port"
            )
        finally:
            taken.close()
        assert moved.cmd("CONFIG", "GET", "port") == b"*2\r\n$4\r\nport\r\n$%d\r\n%d\r\n" % (len(str(new)), new)
        assert moved.cmd("CONFIG", "SET", "bind", "999.999.999.999") == (
            b"-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n"
        )
        assert RawConn(new).cmd("PING") == b"+PONG\r\n"
    finally:
        s.stop()


@pytest.mark.skipif(not os.path.exists("/proc/self/oom_score_adj"), reason="needs Linux's /proc/<pid>/oom_score_adj")
def test_oom_score_adj() -> None:
    # unit/oom-score-adj
    s = start_respdb()
    try:
        r = RawConn(s.port)
        path = "/proc/%d/oom_score_adj" % s.proc.pid

        def get(p: str = path) -> int:
            with open(p) as f:
                return int(f.read())

        base = get()
        assert r.cmd("CONFIG", "SET", "oom-score-adj-values", "10 20 30") == b"+OK\r\n"
        assert get() == base  # not in use yet: untouched
        r.cmd("CONFIG", "SET", "oom-score-adj", "yes")
        assert get() == base + 10
        r.cmd("REPLICAOF", "localhost", "1")
        assert get() == base + 20
        r.cmd("REPLICAOF", "NO", "ONE")
        assert get() == base + 10
        r.cmd("SET", "a", "b")
        r.cmd("CONFIG", "SET", "rdb-key-save-delay", "1000000")
        r.cmd("BGSAVE")
        time.sleep(0.3)
        child = subprocess.run(["pgrep", "-P", str(s.proc.pid)], capture_output=True, text=True).stdout.split()[0]
        try:
            assert get("/proc/%s/oom_score_adj" % child) == base + 30
        finally:
            os.kill(int(child), signal.SIGKILL)
        r.cmd("CONFIG", "SET", "oom-score-adj", "no")
        assert get() == base  # the base written back
        r.cmd("CONFIG", "SET", "oom-score-adj-values", "9 9 9", "oom-score-adj", "absolute")
        assert get() == 9
        assert r.cmd("CONFIG", "SET", "oom-score-adj-values", "2001 2001 2001") == (
            b"-ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - "
            b"Invalid oom-score-adj-values, elements must be between -2000 and 2000.\r\n"
        )
        r.cmd("CONFIG", "SET", "oom-score-adj", "no")
        # unit/introspection "CONFIG SET rollback on apply error": a later apply failing (the port
        # is taken) undoes the oom-score-adj already applied, values and effect
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            busy = taken.getsockname()[1]
            reply = r.cmd("CONFIG", "SET", "oom-score-adj", "yes", "oom-score-adj-values", "1 1 1", "port", str(busy))
            assert reply.startswith(b"-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen")
        assert get() == base
        assert r.cmd("CONFIG", "GET", "oom-score-adj") == b"*2\r\n$13\r\noom-score-adj\r\n$2\r\nno\r\n"
        assert r.cmd("PING") == b"+PONG\r\n"
    finally:
        s.stop()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--port"], "'port'\nwrong number of arguments"),
        (["--port", "6379", "6380"], '\'port "6379" "6380"\'\nwrong number of arguments'),
        (["--port", "--loglevel", "verbose"], '\'port "--loglevel" "verbose"\'\nwrong number of arguments'),
        (["--port", "--bla", "--loglevel", "verbose"], "'port \"--bla\"'\nargument couldn't be parsed into an integer"),
        (["--shutdown-on-sigint"], "'shutdown-on-sigint'\nargument(s) must be one of the following"),
        (["--replicaof", "127.0.0.1", "abc"], 'line 2\n>>> \'replicaof "127.0.0.1" "abc"\'\nInvalid master port'),
        (["--replicaof", "--127.0.0.1", "--abc"], "'replicaof \"--127.0.0.1\"'\nwrong number of arguments"),
        (["--port", "7001", "--replicaof", "h", "70000"], "at line 3\n"),  # after Redis's leading newline
    ],
)
def test_command_line_errors_like_redis_server(argv: list[str], expected: str) -> None:
    # unit/introspection "redis-server command line arguments - error cases"
    out = subprocess.run([sys.executable, "-m", "respdb", *argv], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert expected in out.stderr


def test_command_line_forms_redis_server_accepts() -> None:
    from respdb.config import Config

    c = Config()
    c.load_argv(["--proc-title-template", "--save", "--save", "", "--loglevel", "verbose"])
    assert (c["proc-title-template"], c["save"], c["loglevel"]) == ("--save", "", "verbose")
    c = Config()
    c.load_argv(["--maxmemory 700mb", "--maxmemory-policy volatile-lru", "--save"])
    assert (c["maxmemory"], c["maxmemory-policy"], c["save"]) == ("734003200", "volatile-lru", "")
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("port 7001\n")
    c = Config()
    c.load_argv([f.name, "loglevel", "verbose", "--maxmemory '700mb'"])  # values before any --name
    assert (c["port"], c["loglevel"], c["maxmemory"]) == ("7001", "verbose", "734003200")
    os.unlink(f.name)
