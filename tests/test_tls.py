"""TLS listener: tls-port with certificates made by trustme, checked with redis-py, redis-cli
and raw sockets, and against a real redis-server started with the same certificates."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ServerProc, free_port, redis_server_path, wait_port

trustme = pytest.importorskip("trustme")
redis = pytest.importorskip("redis")


class Certs:
    def __init__(self, root: Path) -> None:
        ca = trustme.CA()
        server = ca.issue_cert("localhost", "127.0.0.1")
        client = ca.issue_cert("client@example.org")
        other_ca = trustme.CA()  # a CA the server does not trust
        stranger = other_ca.issue_cert("stranger@example.org")
        self.root = root
        for name, blob in {
            "ca.crt": ca.cert_pem,
            "server.crt": server.cert_chain_pems[0],
            "server.key": server.private_key_pem,
            "client.crt": client.cert_chain_pems[0],
            "client.key": client.private_key_pem,
            "stranger.crt": stranger.cert_chain_pems[0],
            "stranger.key": stranger.private_key_pem,
        }.items():
            blob.write_to_path(str(root / name))
        # a second server certificate from the same CA, for the reload test
        ca.issue_cert("localhost", "127.0.0.1", common_name="reloaded").private_key_and_cert_chain_pem.write_to_path(
            str(root / "reloaded.pem")
        )

    def __getitem__(self, name: str) -> str:
        return str(self.root / name)

    def server_args(self, **extra: str) -> list[str]:
        args = {
            "tls-cert-file": self["server.crt"],
            "tls-key-file": self["server.key"],
            "tls-ca-cert-file": self["ca.crt"],
        }
        args.update({k.replace("_", "-"): v for k, v in extra.items()})
        return [x for k, v in args.items() for x in (f"--{k}", v)]


@pytest.fixture(scope="module")
def certs() -> Iterator[Certs]:
    root = Path(tempfile.mkdtemp(prefix="respdb-tls-"))
    yield Certs(root)
    shutil.rmtree(root, ignore_errors=True)


def launch(exe: list[str], certs: Certs, port: int = 0, **extra: str) -> tuple[ServerProc, int]:
    """A server with TCP on `port` (0: none) and TLS on a free port; returns it and the TLS port."""
    tls_port = free_port()
    workdir = tempfile.mkdtemp(prefix="tls-srv-")
    log = os.path.join(workdir, "server.log")
    cmd = [*exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir,
           "--tls-port", str(tls_port), *certs.server_args(**extra)]  # fmt: skip
    with open(log, "w") as logf:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, cwd=workdir)
    wait_port(tls_port, proc)
    return ServerProc(proc, port, workdir, log), tls_port


RESPDB = [sys.executable, "-m", "respdb"]


@pytest.fixture(scope="module")
def tls_only(certs: Certs) -> Iterator[int]:
    """A TLS-only respdb (port 0): its TLS port."""
    srv, tls_port = launch(RESPDB, certs)
    yield tls_port
    srv.stop()


def tls_client(certs: Certs, port: int, cert: str | None = "client", **kw) -> redis.Redis:
    kwargs = {"ssl_certfile": certs[f"{cert}.crt"], "ssl_keyfile": certs[f"{cert}.key"]} if cert else {}
    return redis.Redis(
        host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=certs["ca.crt"], socket_timeout=5, **kwargs, **kw
    )


def raw_tls(certs: Certs, port: int, cert: str | None = "client") -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=certs["ca.crt"])
    if cert:
        ctx.load_cert_chain(certs[f"{cert}.crt"], certs[f"{cert}.key"])
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return ctx.wrap_socket(sock, server_hostname="localhost")


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def rejected(certs: Certs, port: int, cert: str | None) -> bool:
    """True when the server refuses this client certificate (or its absence)."""
    try:
        c = tls_client(certs, port, cert)
        c.ping()
    except (redis.ConnectionError, ssl.SSLError, OSError):
        return True
    c.close()
    return False


# -- basics ------------------------------------------------------------------


def test_redis_py_over_tls(certs: Certs, tls_only: int) -> None:
    c = tls_client(certs, tls_only)
    assert c.ping() is True
    c.set("k", "v")
    assert c.get("k") == b"v"
    info = c.info("server")
    assert info["tcp_port"] == tls_only  # TLS-only: INFO shows the TLS port, as Redis does
    c.close()


def test_resp3_over_tls(certs: Certs, tls_only: int) -> None:
    s = raw_tls(certs, tls_only)
    s.sendall(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n")
    head = s.recv(1)
    assert head == b"%"
    s.sendall(b"*3\r\n$4\r\nHSET\r\n$2\r\nh3\r\n*0\r\n")  # a protocol error closes the connection
    time.sleep(0.05)
    s.close()
    c = tls_client(certs, tls_only, protocol=3)
    c.delete("h3")
    c.hset("h3", mapping={"a": "1"})
    assert c.hgetall("h3") == {b"a": b"1"}
    assert c.execute_command("HELLO", "3")[b"proto"] == 3
    c.close()


def test_pipelining_and_large_value(certs: Certs, tls_only: int) -> None:
    s = raw_tls(certs, tls_only)
    n = 500
    s.sendall(b"".join(b"*3\r\n$3\r\nSET\r\n$4\r\nk%03d\r\n$1\r\n%d\r\n" % (i, i % 10) for i in range(n)))
    assert recv_exact(s, 5 * n) == b"+OK\r\n" * n
    big = os.urandom(1024 * 1024)
    s.sendall(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n%b\r\n" % (len(big), big))
    assert recv_exact(s, 5) == b"+OK\r\n"
    s.sendall(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n")
    assert recv_exact(s, len(big) + 12) == b"$%d\r\n%b\r\n" % (len(big), big)
    s.close()
    c = tls_client(certs, tls_only)
    assert c.strlen("big") == len(big)
    assert c.get("k499") == b"9"
    c.close()


def test_plain_tcp_on_tls_port_is_closed(tls_only: int) -> None:
    s = socket.create_connection(("127.0.0.1", tls_only), timeout=5)
    s.sendall(b"*1\r\n$4\r\nPING\r\n")
    data = b""
    try:
        while chunk := s.recv(4096):
            data += chunk
    except ConnectionResetError:
        pass
    s.close()
    assert b"PONG" not in data  # never served: the handshake fails and the server hangs up


def test_redis_cli_tls(certs: Certs, tls_only: int) -> None:
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.skip("redis-cli not installed")
    base = [cli, "-h", "127.0.0.1", "-p", str(tls_only), "--tls", "--cacert", certs["ca.crt"],
            "--cert", certs["client.crt"], "--key", certs["client.key"]]  # fmt: skip
    out = subprocess.run([*base, "SET", "cli", "hello"], capture_output=True, text=True, timeout=10)
    assert out.stdout.strip() == "OK"
    out = subprocess.run([*base, "GET", "cli"], capture_output=True, text=True, timeout=10)
    assert out.stdout.strip() == "hello"


# -- client certificates -----------------------------------------------------


def test_client_certificates_required_by_default(certs: Certs, tls_only: int) -> None:
    assert not rejected(certs, tls_only, "client")
    assert rejected(certs, tls_only, None)
    assert rejected(certs, tls_only, "stranger")


@pytest.mark.parametrize("mode", ["optional", "no"])
def test_client_certificates_optional_and_no(certs: Certs, mode: str) -> None:
    srv, port = launch(RESPDB, certs, tls_auth_clients=mode)
    try:
        assert not rejected(certs, port, None)
        assert not rejected(certs, port, "client")
        # optional still verifies a certificate that is offered; no ignores it
        assert rejected(certs, port, "stranger") is (mode == "optional")
    finally:
        srv.stop()


def test_no_ca_needed_when_clients_are_not_authenticated(certs: Certs) -> None:
    tls_port = free_port()
    workdir = tempfile.mkdtemp(prefix="tls-srv-")
    proc = subprocess.Popen(
        [*RESPDB, "--port", "0", "--bind", "127.0.0.1", "--save", "", "--dir", workdir, "--tls-port", str(tls_port),
         "--tls-cert-file", certs["server.crt"], "--tls-key-file", certs["server.key"], "--tls-auth-clients", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    srv = ServerProc(proc, 0, workdir, "")
    try:
        wait_port(tls_port, proc)
        assert not rejected(certs, tls_port, None)
    finally:
        srv.stop()


# -- both listeners, CONFIG SET at run time -----------------------------------


@pytest.fixture
def both(certs: Certs) -> Iterator[tuple[ServerProc, int]]:
    srv, tls_port = launch(RESPDB, certs, port=free_port())
    yield srv, tls_port
    srv.stop()


def test_tcp_and_tls_share_the_dataset(certs: Certs, both) -> None:
    srv, tls_port = both
    plain = redis.Redis(host="127.0.0.1", port=srv.port)
    plain.set("shared", "1")
    c = tls_client(certs, tls_port)
    assert c.incr("shared") == 2
    assert c.info("server")["tcp_port"] == srv.port  # the TCP port when there is one
    assert plain.info("clients")["connected_clients"] == 2
    c.close()
    plain.close()


def test_config_set_tls_port_moves_the_listener(certs: Certs, both) -> None:
    srv, tls_port = both
    plain = redis.Redis(host="127.0.0.1", port=srv.port)
    kept = tls_client(certs, tls_port)
    assert kept.ping()
    new_port = free_port()
    assert plain.config_set("tls-port", new_port) is True
    assert plain.config_get("tls-port") == {"tls-port": str(new_port)}
    assert tls_client(certs, new_port).ping()
    with pytest.raises(redis.ConnectionError):
        tls_client(certs, tls_port).ping()
    assert kept.ping()  # established connections survive
    # a busy port: Redis's error, and the old value and listener stay
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        with pytest.raises(redis.ResponseError) as exc:
            plain.config_set("tls-port", busy.getsockname()[1])
    assert str(exc.value) == (
        "CONFIG SET failed (possibly related to argument 'tls-port') - Unable to listen on this port. Check server logs."
    )
    assert plain.config_get("tls-port") == {"tls-port": str(new_port)}
    assert tls_client(certs, new_port).ping()
    assert plain.config_set("tls-port", 0) is True
    with pytest.raises(redis.ConnectionError):
        tls_client(certs, new_port).ping()
    plain.close()


def test_config_set_reloads_certificates(certs: Certs, both) -> None:
    srv, tls_port = both
    plain = redis.Redis(host="127.0.0.1", port=srv.port, decode_responses=True)

    def served_cn() -> str:
        s = raw_tls(certs, tls_port)
        subject = dict(x[0] for x in s.getpeercert()["subject"])
        s.close()
        return subject.get("commonName", "")

    assert served_cn() != "reloaded"
    reloaded = certs["reloaded.pem"]  # key and chain in one file
    assert plain.config_set("tls-cert-file", reloaded, "tls-key-file", reloaded) is True
    deadline = time.monotonic() + 5
    while served_cn() != "reloaded" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served_cn() == "reloaded"
    # a bad file: Redis's error, the previous files stay in force
    with pytest.raises(redis.ResponseError) as exc:
        plain.config_set("tls-cert-file", "/nonexistent/cert.pem")
    assert str(exc.value) == (
        "CONFIG SET failed (possibly related to argument 'tls-cert-file') - "
        "Unable to update TLS configuration. Check server logs."
    )
    assert plain.config_get("tls-cert-file") == {"tls-cert-file": reloaded}
    assert served_cn() == "reloaded"
    with pytest.raises(redis.ResponseError, match="tls-protocols"):
        plain.config_set("tls-protocols", "TLSv9")
    assert plain.config_get("tls-protocols") == {"tls-protocols": ""}
    with pytest.raises(redis.ResponseError, match="between 0 and 65535"):
        plain.config_set("tls-port", 70000)
    # tls-auth-clients applies to the next connection
    assert rejected(certs, tls_port, None)
    assert plain.config_set("tls-auth-clients", "optional") is True
    assert not rejected(certs, tls_port, None)
    plain.close()


def test_tls_protocols_limit_versions(certs: Certs) -> None:
    srv, port = launch(RESPDB, certs, tls_protocols="TLSv1.3")
    try:
        ctx = ssl.create_default_context(cafile=certs["ca.crt"])
        ctx.load_cert_chain(certs["client.crt"], certs["client.key"])
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises((ssl.SSLError, ConnectionError)), socket.create_connection(("127.0.0.1", port), 5) as sock:
            ctx.wrap_socket(sock, server_hostname="localhost").sendall(b"PING\r\n")
        s = raw_tls(certs, port)
        assert s.version() == "TLSv1.3"
        s.close()
    finally:
        srv.stop()


# -- start-up errors -------------------------------------------------------------


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"tls_cert_file": "/nonexistent.crt"}, "Failed to load certificate: /nonexistent.crt:"),
        ({"tls_key_file": ""}, "No tls-key-file configured!"),
        ({"tls_ca_cert_file": ""}, "Either tls-ca-cert-file or tls-ca-cert-dir must be specified"),
        ({"tls_protocols": "TLSv9"}, "Invalid tls-protocols specified."),
        ({"tls_ciphers": "BOGUS"}, "Failed to configure ciphers: BOGUS"),
    ],
)
def test_startup_errors_exit(certs: Certs, extra: dict[str, str], message: str) -> None:
    args = certs.server_args(**extra)
    out = subprocess.run(
        [*RESPDB, "--port", "0", "--save", "", "--tls-port", str(free_port()), *args],
        capture_output=True, text=True, timeout=20, cwd=tempfile.gettempdir(),
    )  # fmt: skip
    assert out.returncode == 1
    text = out.stdout + out.stderr
    assert message in text
    assert "Failed to configure TLS. Check logs for more info." in text


# -- differential ----------------------------------------------------------------


def test_differential_over_tls(certs: Certs, tls_only: int) -> None:
    if redis_server_path() is None:
        pytest.skip("redis-server not installed")
    ref, ref_port = launch([redis_server_path()], certs)
    try:
        script = [
            ("DEL", "d:list", "d:str", "d:h"),
            ("SET", "d:str", "x" * 5000),
            ("APPEND", "d:str", "yz"),
            ("STRLEN", "d:str"),
            ("RPUSH", "d:list", "a", "b", "c"),
            ("LRANGE", "d:list", "0", "-1"),
            ("HSET", "d:h", "f", "1"),
            ("HINCRBY", "d:h", "f", "x"),
            ("GET", "d:list"),
            ("CONFIG", "GET", "tls-auth-clients"),
            ("CONFIG", "GET", "tls-protocols"),
            ("CONFIG", "SET", "tls-cert-file", "/nonexistent"),
            ("CONFIG", "SET", "tls-protocols", "TLSv1.5"),
            ("CONFIG", "SET", "tls-session-cache-size", "-1"),
            ("HELLO", "3"),
            ("HGETALL", "d:h"),
        ]
        replies = []
        for port in (ref_port, tls_only):
            s = raw_tls(certs, port)
            got = []
            for args in script:
                s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a.encode()) for a in args))
                time.sleep(0.02)
                got.append(s.recv(65536))
            s.close()
            replies.append(got)
        ref_replies, ours = replies
        for args, want, have in zip(script, ref_replies, ours, strict=True):
            if args[0] == "HELLO":  # server name and version differ by design
                continue
            assert have == want, args
    finally:
        ref.stop()


def test_encrypted_key_with_pass(certs: Certs) -> None:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(Path(certs["server.key"]).read_bytes(), password=None)
    enc = certs.root / "server-enc.key"
    enc.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"s3cret"),
        )
    )
    srv, port = launch(RESPDB, certs, tls_key_file=str(enc), tls_key_file_pass="s3cret")
    try:
        c = tls_client(certs, port)
        assert c.ping()
        # a wrong pass is refused and the running context stays
        with pytest.raises(redis.ResponseError, match="Unable to update TLS configuration"):
            c.config_set("tls-key-file-pass", "wrong")
        assert c.config_get("tls-key-file-pass") == {"tls-key-file-pass": "s3cret"}
        assert tls_client(certs, port).ping()
        c.close()
    finally:
        srv.stop()
