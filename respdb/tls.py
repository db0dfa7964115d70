"""TLS: Redis 7.0's tls-* parameters as an ssl.SSLContext, and the TLS listeners.

The context is built from the whole set of tls-* values at once, so a CONFIG SET that
changes the certificate and its key together is checked as a pair; a failed build leaves
the running context (and the stored values) as they were, as Redis does.

Listeners are sockets bound synchronously (so CONFIG SET tls-port can answer whether the
port is free) and then served with uvloop's create_server(sock=..., ssl=ctx). A new
context is put in service by serving a dup() of the same listening socket with it and
closing the old server: the port never stops accepting. Established connections keep
the context they were accepted with.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from typing import Any

from respdb.errors import CommandError

# Parameters whose change rebuilds the context (those with Redis's applyTlsCfg).
CONTEXT_PARAMS = frozenset(
    {
        "tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-client-cert-file", "tls-client-key-file",
        "tls-client-key-file-pass", "tls-dh-params-file", "tls-ca-cert-file", "tls-ca-cert-dir", "tls-protocols",
        "tls-ciphers", "tls-ciphersuites", "tls-prefer-server-ciphers", "tls-session-caching",
        "tls-session-cache-size", "tls-session-cache-timeout", "tls-replication", "tls-cluster",
    }
)  # fmt: skip
# Parameters respdb acts on (the others in CONTEXT_PARAMS are validated or stored only; docs/tls.md).
ACTIVE = frozenset(
    {
        "tls-port", "tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-ca-cert-file", "tls-ca-cert-dir",
        "tls-auth-clients", "tls-protocols", "tls-ciphers", "tls-ciphersuites", "tls-prefer-server-ciphers",
        "tls-session-caching", "tls-dh-params-file",
    }
)  # fmt: skip

_PROTOCOLS = {
    "tlsv1": ssl.TLSVersion.TLSv1,
    "tlsv1.1": ssl.TLSVersion.TLSv1_1,
    "tlsv1.2": ssl.TLSVersion.TLSv1_2,
    "tlsv1.3": ssl.TLSVersion.TLSv1_3,
}
_ORDER = list(_PROTOCOLS.values())
# TLS 1.3 suites OpenSSL knows; Python's ssl cannot select among them (see docs/tls.md).
_TLS13_SUITES = {
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256",
}  # fmt: skip
_VERIFY = {"yes": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "no": ssl.CERT_NONE}

APPLY_ERR = "Unable to update TLS configuration. Check server logs."
LISTEN_ERR = "Unable to listen on this port. Check server logs."


class TLSConfigError(Exception):
    """A reason the context cannot be built, worded like Redis's log line."""


def parse_protocols(value: str) -> tuple[ssl.TLSVersion, ssl.TLSVersion]:
    """tls-protocols as (minimum, maximum); empty means Redis's default, TLSv1.2 and TLSv1.3.

    OpenSSL can only enforce a contiguous range, so "TLSv1 TLSv1.2" allows TLSv1.1 as well."""
    if not value.strip():
        return ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
    picked = []
    for tok in value.split():
        ver = _PROTOCOLS.get(tok.lower())
        if ver is None:
            raise TLSConfigError(
                "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'."
            )
        picked.append(_ORDER.index(ver))
    return _ORDER[min(picked)], _ORDER[max(picked)]


def _reason(err: Exception) -> str:
    if isinstance(err, ssl.SSLError):
        # OpenSSL's reason as it prints it ("key values mismatch"), not the macro name
        return err.reason.lower().replace("_", " ") if err.reason else str(err)
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err)


def build_context(cfg: Any) -> ssl.SSLContext:
    """The server context for the current tls-* values; TLSConfigError says why not."""
    cert, key, ca_file, ca_dir = (
        cfg["tls-cert-file"],
        cfg["tls-key-file"],
        cfg["tls-ca-cert-file"],
        cfg["tls-ca-cert-dir"],
    )
    if not cert:
        raise TLSConfigError("No tls-cert-file configured!")
    if not key:
        raise TLSConfigError("No tls-key-file configured!")
    auth = cfg["tls-auth-clients"]
    if (auth != "no" or cfg.get_bool("tls-cluster") or cfg.get_bool("tls-replication")) and not ca_file and not ca_dir:
        raise TLSConfigError(
            "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, "
            "tls-replication or tls-auth-clients are enabled!"
        )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version, ctx.maximum_version = parse_protocols(cfg["tls-protocols"])
    # Redis's SSL options: no renegotiation, no compression, single-use DH/ECDH keys.
    ctx.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_COMPRESSION | ssl.OP_SINGLE_DH_USE | ssl.OP_SINGLE_ECDH_USE
    if cfg.get_bool("tls-prefer-server-ciphers"):
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    if not cfg.get_bool("tls-session-caching"):
        ctx.options |= ssl.OP_NO_TICKET
    password = cfg["tls-key-file-pass"] or None
    try:
        ctx.load_cert_chain(cert, key, password)
    except Exception as err:
        # Python loads both in one call; say which file when we can tell.
        which = ("certificate", cert) if isinstance(err, OSError) and not _readable(cert) else ("private key", key)
        raise TLSConfigError("Failed to load %s: %s: %s" % (which[0], which[1], _reason(err))) from None
    if ca_file or ca_dir:
        try:
            ctx.load_verify_locations(cafile=ca_file or None, capath=ca_dir or None)
        except Exception as err:
            raise TLSConfigError("Failed to configure CA certificate(s) file/directory: %s" % _reason(err)) from None
    ciphers = cfg["tls-ciphers"]
    if ciphers:
        try:
            ctx.set_ciphers(ciphers)
        except ssl.SSLError:
            raise TLSConfigError("Failed to configure ciphers: %s" % ciphers) from None
    suites = cfg["tls-ciphersuites"]
    if suites and not any(s in _TLS13_SUITES for s in suites.split(":")):
        raise TLSConfigError("Failed to configure ciphersuites: %s" % suites)
    dh = cfg["tls-dh-params-file"]
    if dh:
        try:
            ctx.load_dh_params(dh)
        except ssl.SSLError:
            raise TLSConfigError("%s: failed to read DH params." % dh) from None
        except OSError as err:
            raise TLSConfigError("Failed to load %s: %s" % (dh, _reason(err))) from None
    ctx.verify_mode = _VERIFY[auth]
    return ctx


def _readable(path: str) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False


def listen_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A bound, listening TCP socket (OSError when the address is unusable)."""
    family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(addr)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class TLSListeners:
    """The TLS listening sockets of one server, following tls-port and the tls-* parameters."""

    def __init__(
        self, engine: Any, factory: Callable[[], asyncio.Protocol], backlog: int, registry: list[Any] | None = None
    ) -> None:
        self.engine = engine
        # The network server's list of servers: ours are kept in it, so its shutdown closes
        # them and its port lookup sees them.
        self.registry = registry if registry is not None else []
        self.factory = factory
        self.backlog = backlog
        self.ctx: ssl.SSLContext | None = None
        self.port = 0
        self.socks: list[socket.socket] = []  # ours; the servers get dup()s of them
        self.servers: list[Any] = []
        self.generation = 0  # a serving task started before a later change must not install its servers
        # tls-* values the current context was built from, restored when a change fails
        self.applied: dict[str, str] = {}

    def _snapshot(self) -> dict[str, str]:
        cfg = self.engine.config
        return {n: cfg[n] for n in CONTEXT_PARAMS | {"tls-auth-clients", "tls-port"}}

    def _bind(self, port: int) -> list[socket.socket]:
        socks: list[socket.socket] = []
        try:
            for addr in self.engine.config["bind"].split():
                host = addr.lstrip("-")
                host = {"*": "0.0.0.0", "::*": "::"}.get(host, host)
                try:
                    socks.append(listen_socket(host, port, self.backlog))
                except OSError as err:
                    if addr.startswith("-"):
                        continue
                    raise OSError(
                        err.errno, f"Could not create server TLS listening socket {host}:{port}: {err.strerror}"
                    )
        except OSError:
            for s in socks:
                s.close()
            raise
        return socks

    async def _serve(self, ctx: ssl.SSLContext) -> None:
        """Serve our sockets with ctx, then retire the servers that used the previous context."""
        self.generation += 1
        gen = self.generation
        loop = asyncio.get_running_loop()
        new = []
        for s in self.socks:
            new.append(await loop.create_server(self.factory, sock=s.dup(), ssl=ctx, backlog=self.backlog))
        if gen != self.generation:  # superseded while starting
            for srv in new:
                srv.close()
            return
        old, self.servers = self.servers, new
        self.registry.extend(new)
        self._retire(old)

    def _retire(self, servers: list[Any]) -> None:
        for srv in servers:
            srv.close()
            if srv in self.registry:
                self.registry.remove(srv)

    async def start(self) -> None:
        """At start-up: listen on tls-port if set; RuntimeError (logged reason first) if TLS cannot be set up."""
        self.applied = self._snapshot()
        cfg = self.engine.config
        cfg.listeners.append(self.config_changed)
        port = cfg.get_int("tls-port")
        if not port:
            return
        try:
            self.ctx = build_context(self.engine.config)
        except TLSConfigError as err:
            self.engine.log("warning", str(err))
            raise RuntimeError("Failed to configure TLS. Check logs for more info.") from None
        try:
            self.socks = self._bind(port)
        except OSError as err:
            raise RuntimeError(err.strerror) from None
        self.port = port
        await self._serve(self.ctx)
        if not cfg.get_int("port"):
            self.engine.tcp_port = port  # what Redis's INFO shows as tcp_port on a TLS-only server

    def bound_port(self) -> int:
        return self.socks[0].getsockname()[1] if self.socks else 0

    def close(self) -> None:
        self.generation += 1
        self._retire(self.servers)
        for s in self.socks:
            s.close()
        self.servers = []
        self.socks = []

    # -- CONFIG SET --------------------------------------------------------

    def config_changed(self, name: str, value: str) -> None:
        if not name.startswith("tls-"):
            return
        cfg = self.engine.config
        if name == "tls-auth-clients":
            # Redis reads it for each accepted connection: new connections see it at once.
            if self.ctx is not None:
                self.ctx.verify_mode = _VERIFY[value]
        elif name == "tls-port":
            self._change_port(cfg.get_int("tls-port"))
        elif name in CONTEXT_PARAMS:
            if self.port or cfg.get_bool("tls-replication") or cfg.get_bool("tls-cluster"):
                self.ctx = self._rebuild(name)
                if self.socks:
                    asyncio.get_running_loop().create_task(self._serve(self.ctx))
        self.applied = self._snapshot()

    def _fail(self, name: str, reason: str) -> None:
        self.engine.log(
            "warning",
            "Failed applying new configuration. Possibly related to new %s setting. Restoring previous settings."
            % name,
        )
        self.engine.config.values.update(self.applied)
        raise CommandError("ERR CONFIG SET failed (possibly related to argument '%s') - %s" % (name, reason))

    def _rebuild(self, name: str) -> ssl.SSLContext:
        try:
            return build_context(self.engine.config)
        except TLSConfigError as err:
            self.engine.log("warning", str(err))
            self._fail(name, APPLY_ERR)
            raise  # not reached: _fail raises

    def _change_port(self, port: int) -> None:
        if port == self.port:
            return
        ctx = self.ctx
        if port and ctx is None:
            ctx = self._rebuild("tls-port")
        socks: list[socket.socket] = []
        if port:
            try:
                socks = self._bind(port)  # before closing the old port, so a busy port changes nothing
            except OSError as err:
                self.engine.log("warning", err.strerror or str(err))
                self._fail("tls-port", LISTEN_ERR)
        self.close()
        self.ctx, self.port, self.socks = ctx, port, socks
        if socks:
            assert ctx is not None
            asyncio.get_running_loop().create_task(self._serve(ctx))
        e = self.engine
        if not e.config.get_int("port"):
            e.tcp_port = port  # INFO's tcp_port is the TLS port on a TLS-only server
