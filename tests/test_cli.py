"""respdb-cli against real redis-cli: the same commands, the same server, the same bytes out.

Most tests run both clients as subprocesses with stdout on a pipe (so both pick their raw format,
and with --no-raw their formatted one) and compare stdout, stderr and the exit status. The
interactive prompt is driven through a pseudo-terminal.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import stat
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

OURS = [sys.executable, "-m", "respdb.cli"]


@pytest.fixture(scope="module")
def redis_cli() -> str:
    exe = shutil.which("redis-cli")
    if exe is None:
        pytest.skip("redis-cli is not installed: the respdb-cli tests compare against it")
    return exe


def clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDISCLI_AUTH", "RESPDB_CLI_AUTH")}
    env["HOME"] = str(tmp)
    env["TERM"] = "dumb"  # plain prompts in the pty tests; line editors add no escapes
    env["PYTHONPATH"] = str(ROOT)
    return env


def run(argv: list[str], env: dict[str, str], stdin: bytes | None = None) -> tuple[bytes, bytes, int]:
    p = subprocess.run(argv, input=stdin, capture_output=True, env=env, timeout=30)
    return p.stdout, p.stderr, p.returncode


def both(redis_cli: str, port: int, args: list[str], env: dict[str, str], stdin: bytes | None = None):
    theirs = run([redis_cli, "-p", str(port), *args], env, stdin)
    ours = run([*OURS, "-p", str(port), *args], env, stdin)
    return theirs, ours


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path)


@pytest.fixture
def data(r):
    """A small keyspace on the flushed respdb: strings, binary data, a dozen keys for SCAN."""
    r.set("k", "v")
    r.set("n", "5")
    r.set("bin", b"\x00\x01\x7f\x80\xff\r\n\t\x07\x08\"\\ '\xc3\xa9 end")
    r.set("empty", b"")
    for i in range(12):
        r.set(f"key:{i:02d}", i)
    return r


# Each case: the arguments after -p. Replies cover every RESP2 type and nesting.
CASES = [
    ["ping"],  # status
    ["set", "k", "v"],  # status OK (same value, so repeating it changes nothing)
    ["strlen", "k"],  # integer
    ["exists", "k", "n", "nope"],  # integer
    ["get", "k"],  # bulk
    ["get", "bin"],  # binary data with every kind of escape
    ["get", "empty"],  # empty bulk
    ["get", "missing"],  # nil
    ["nosuchcommand", "a"],  # error
    ["get"],  # arity error
    ["incr", "k"],  # error from a handler
    ["mget", "k", "missing", "bin"],  # array with nil and binary
    ["keys", "nomatch*"],  # empty array
    ["scan", "0", "count", "100"],  # nested array, 12+ elements (two-digit indices)
    ["scan", "0", "match", "key:0*"],  # nested array
    ["echo", "a b\nc"],  # bulk with a newline
    ["-3", "get", "missing"],  # RESP3 null
    ["-3", "config", "get", "maxmemory*"],  # RESP3 map
    ["-3", "mget", "k", "missing"],
    ["-n", "2", "dbsize"],
    ["-r", "3", "ping"],
    ["-r", "2", "-i", "0.01", "get", "k"],
    ["-d", ",", "mget", "k", "n"],
    ["-D", ";", "-d", ",", "mget", "k", "n"],
    ["--quoted-input", "echo", '"a\\x00b\\n"'],
    ["--quoted-input", "echo", '"unbalanced'],
]


@pytest.mark.differential
@pytest.mark.parametrize("fmt", ["raw", "no-raw"])
@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a))
def test_reply_format_matches_redis_cli(redis_cli, respdb_server, data, env, args, fmt):
    extra = ["--no-raw"] if fmt == "no-raw" else []
    theirs, ours = both(redis_cli, respdb_server.port, extra + args, env)
    assert ours == theirs


def _hide_ids(out: bytes) -> bytes:
    """HELLO shows the connection id, which differs between the two clients' connections."""
    out = re.sub(rb'("id" => \(integer\) )\d+', rb"\g<1>N", out)
    return re.sub(rb"(^|\n)id \d+", rb"\1id N", out)


@pytest.mark.differential
@pytest.mark.parametrize("fmt", [[], ["--no-raw"]], ids=["raw", "no-raw"])
def test_resp3_hello_map(redis_cli, respdb_server, env, fmt):
    theirs, ours = both(redis_cli, respdb_server.port, [*fmt, "-3", "hello", "3"], env)
    assert ours[1:] == theirs[1:]
    assert _hide_ids(ours[0]) == _hide_ids(theirs[0])
    if fmt:
        assert b'1# "server" => ' in ours[0] and b'3# "proto" => (integer) 3' in ours[0]


@pytest.mark.differential
@pytest.mark.parametrize("flag", [[], ["-e"]], ids=["plain", "errcode"])
def test_error_exit_code(redis_cli, respdb_server, env, flag):
    theirs, ours = both(redis_cli, respdb_server.port, [*flag, "nosuchcommand"], env)
    assert ours == theirs
    assert ours[2] == (1 if flag else 0)


@pytest.mark.differential
def test_stdin_last_argument(redis_cli, respdb_server, r, env):
    blob = b"line one\n\x00\xff binary\r\n"
    theirs, ours = both(redis_cli, respdb_server.port, ["-x", "set", "blob"], env, stdin=blob)
    assert ours == theirs == (b"OK\n", b"", 0)
    assert r.get("blob") == blob


@pytest.mark.differential
def test_commands_from_stdin(redis_cli, respdb_server, data, env):
    script = b"\n".join(
        [
            b"ping",
            b"",
            b"   ",
            b'set "a b" "\\x41\\n\\"q\\""',
            b"get 'a b'",
            b"echo 'it\\'s'",
            b'set "unbalanced',
            b'get "a"x',
            b"3 echo hi",
            b"0 ping",
            b"-2 ping",
            b"select 2",
            b"dbsize",
            b"nosuchcommand",
            b"scan 0 match key:1*",
            b"quit",
            b"ping",
        ]
    )
    for extra in ([], ["--no-raw"], ["-e"], ["-n", "3"]):
        theirs, ours = both(redis_cli, respdb_server.port, extra, env, stdin=script + b"\n")
        assert ours == theirs, extra


@pytest.mark.differential
def test_connection_refused(redis_cli, env):
    port = free_port()
    theirs, ours = both(redis_cli, port, ["ping"], env)
    assert ours == theirs
    assert ours[2] == 1 and b"Connection refused" in ours[1]
    # Reading commands from stdin keeps going, one error per command.
    theirs, ours = both(redis_cli, port, [], env, stdin=b"ping\nping\n")
    assert ours == theirs


@pytest.mark.differential
def test_options_and_warnings(redis_cli, respdb_server, env):
    port = respdb_server.port
    for args in (["--bogus", "ping"], ["-r"], ["-a", "secret", "ping"], ["--no-auth-warning", "-a", "x", "ping"]):
        theirs, ours = both(redis_cli, port, args, env)
        assert ours == theirs, args
    out, _, rc = run([*OURS, "--version"], env)
    assert rc == 0 and out.startswith(b"respdb-cli ")
    out, _, rc = run([*OURS, "--help"], env)
    assert rc == 0 and b"Usage: respdb-cli" in out


# RESP3 types respdb does not produce (yet) are checked on a real redis-server.

REDIS_CASES = [
    ["debug", "protocol", t] for t in ("string", "integer", "double", "null", "array", "set", "map", "true", "false")
] + [
    ["debug", "protocol", "verbatim"],
    ["debug", "protocol", "push"],
    ["eval", "return {1,{2,{3,'x'},{}},'a\\0\\255',4,5,6,7,8,9,{10,11,12,13,14,15,16,17,18,19,20},'end'}", "0"],
    ["eval", "return {1,{err='inner error'},{ok='fine'},false}", "0"],
    ["eval", "redis.setresp(3); return {map={a={1,2,{map={x='y'}}}, b={set={'q'}}}}", "0"],
    ["eval", "redis.setresp(3); return {map={a={1}, b={map={x='y'}}, c={set={q=true}}, d={{1,2}}}}", "0"],
    ["eval", "redis.setresp(3); return {map={a={map={b={map={c={1,{2,3}}}}}}}}", "0"],
    ["eval", "redis.setresp(3); return {1,{map={}},{set={}},{double=1.5},{double=-1/0},{err='oops'}}", "0"],
]


@pytest.mark.differential
@pytest.mark.parametrize("fmt", [[], ["--no-raw"]], ids=["raw", "no-raw"])
@pytest.mark.parametrize("proto", ["-2", "-3"])
@pytest.mark.parametrize("args", REDIS_CASES, ids=lambda a: " ".join(a)[:40])
def test_resp3_types_match_redis_cli(redis_cli, redis_server, env, args, proto, fmt):
    theirs, ours = both(redis_cli, redis_server.port, [*fmt, proto, *args], env)
    assert ours == theirs


def test_big_number(redis_server, env):
    # redis-cli 7.0 aborts on a big number ("Unknown reply type: 13"); we print it as 7.2 does.
    out, _, rc = run([*OURS, "-p", str(redis_server.port), "-3", "--no-raw", "debug", "protocol", "bignum"], env)
    assert (out, rc) == (b"(big number) 1234567999999999999999999999999999999\n", 0)
    out, _, rc = run([*OURS, "-p", str(redis_server.port), "-3", "debug", "protocol", "bignum"], env)
    assert (out, rc) == (b"1234567999999999999999999999999999999\n", 0)


# ---------------------------------------------------------------------------
# The interactive prompt, through a pseudo-terminal


class Terminal:
    """A program on a pty; `expect` waits for text in what it has printed since the last expect."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.fd = master
        self.out = b""
        self.mark = 0

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # the program exited and the pty is closed
            return False
        if not chunk:
            return False
        if b"\x1b[6n" in chunk:  # a line editor asking for the cursor position
            os.write(self.fd, b"\x1b[1;1R")
        self.out += chunk
        return True

    def expect(self, needle: bytes, timeout: float = 10.0) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            i = self.out.find(needle, self.mark)
            if i >= 0:
                seen = self.out[self.mark : i + len(needle)]
                self.mark = i + len(needle)
                return seen
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(min(left, 0.2)):
                if self.out.find(needle, self.mark) >= 0:
                    continue
                raise AssertionError(f"{needle!r} not seen; output so far: {self.out!r}")

    def send(self, line: bytes) -> None:
        os.write(self.fd, line + b"\r")

    def wait(self, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.05)
        status = self.proc.wait(timeout=1)
        while select.select([self.fd], [], [], 0.1)[0] and self._read(0):  # what it printed last
            pass
        return status

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.fd)


def session(argv: list[str], env: dict[str, str], lines: list[bytes], address: bytes) -> bytes:
    """Type each line once the prompt (address, maybe [db] and (TX), then "> ") shows; return the transcript."""
    t = Terminal(argv, env)
    try:
        t.expect(address)
        t.expect(b"> ")
        for line in lines:
            t.send(line)
            if line == b"quit":
                assert t.wait() == 0
                break
            t.expect(b"\n" + address)
            t.expect(b"> ")
        return t.out
    finally:
        t.close()


def test_interactive_prompt_history_and_quit(respdb_server, r, tmp_path):
    env = clean_env(tmp_path)
    hist = tmp_path / "hist"
    env["RESPDB_CLI_HISTFILE"] = str(hist)
    port = respdb_server.port
    t = Terminal([*OURS, "-p", str(port)], env)
    try:
        prompt = b"127.0.0.1:%d> " % port
        t.expect(prompt)
        t.send(b'set greeting "hello world"')
        assert t.expect(prompt).endswith(b"OK\r\n" + prompt)
        t.send(b"get greeting")
        assert b'"hello world"\r\n' in t.expect(prompt)
        t.send(b"auth nosuchuser secret")  # a password: kept out of the history
        assert b"(error) WRONGPASS" in t.expect(prompt)
        t.send(b"select 2")
        t.expect(b"127.0.0.1:%d[2]> " % port)
        t.send(b"quit")
        assert t.wait() == 0
    finally:
        t.close()
    assert r.get("greeting") == b"hello world"
    assert hist.read_text().splitlines() == ['set greeting "hello world"', "get greeting", "select 2", "quit"]
    assert stat.S_IMODE(hist.stat().st_mode) == 0o600
    # A new session starts with the old history loaded: arrow-up brings back the last line.
    t = Terminal([*OURS, "-p", str(port), "-n", "1"], env)
    try:
        t.expect(b"127.0.0.1:%d[1]> " % port)
        os.write(t.fd, b"\x1b[A\x1b[A\r")  # "select 2" from the history
        t.expect(b"127.0.0.1:%d[2]> " % port)
    finally:
        t.close()


@pytest.mark.differential
def test_interactive_transcript_matches_redis_cli(redis_cli, respdb_server, data, tmp_path):
    env = clean_env(tmp_path)
    env["RESPDB_CLI_HISTFILE"] = env["REDISCLI_HISTFILE"] = "/dev/null"
    port = respdb_server.port
    lines = [b"ping", b"get bin", b"mget k missing", b"scan 0 match key:0*", b"nosuchcommand", b'echo "a',
             b"2 echo x", b"select 3", b"multi", b"ping", b"exec", b"hello 3", b"get missing", b"quit"]  # fmt: skip
    address = b"127.0.0.1:%d" % port
    theirs = session([redis_cli, "-p", str(port)], env, lines, address)
    ours = session([*OURS, "-p", str(port)], env, lines, address)
    assert b"127.0.0.1:%d[3](TX)> " % port in ours
    assert _hide_ids(ours) == _hide_ids(theirs)


def test_interactive_reconnects(respdb_server, r, tmp_path):
    env = clean_env(tmp_path)
    env["RESPDB_CLI_HISTFILE"] = "/dev/null"
    port = respdb_server.port
    t = Terminal([*OURS, "-p", str(port)], env)
    try:
        prompt = b"127.0.0.1:%d> " % port
        t.expect(prompt)
        t.send(b"client id")
        client_id = int(re.search(rb"\(integer\) (\d+)", t.expect(prompt)).group(1))
        assert r.client_kill_filter(_id=client_id) == 1
        t.send(b"ping")
        # EOF, or a reset when the ping reached the socket before the server closed it (redis-cli
        # prints the system's message then): which one is TCP timing, the reconnect is the point.
        out = t.expect(b"\r\nnot connected> ")
        assert out.endswith((b"Error: Server closed the connection\r\nnot connected> ",
                             b"Error: Connection reset by peer\r\nnot connected> ")), out  # fmt: skip
        t.send(b"ping")
        assert t.expect(prompt).endswith(b"PONG\r\n" + prompt)
    finally:
        t.close()


def test_interactive_not_connected(tmp_path):
    env = clean_env(tmp_path)
    env["RESPDB_CLI_HISTFILE"] = "/dev/null"
    port = free_port()
    t = Terminal([*OURS, "-p", str(port)], env)
    try:
        t.expect(b"Could not connect to Redis at 127.0.0.1:%d: Connection refused\r\nnot connected> " % port)
        t.send(b"ping")
        t.expect(b"Connection refused\r\nnot connected> ")
        t.send(b"help")
        assert b"quit" in t.expect(b"not connected> ")
        t.send(b"exit")
        assert t.wait() == 0
    finally:
        t.close()
