"""Pub/Sub: channel, pattern and shard-channel subscriptions, and message delivery.

Messages go out-of-band through `client.conn.write()` (RESP2 arrays, RESP3 pushes),
in publish order; the connection holds them until the end of the loop iteration and sends
them in one write (net.py). Keyspace notifications are published here too (`keyspace_event`).
A subscriber whose unsent output passes `client-output-buffer-limit pubsub` is closed
(respdb/output_limits.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from respdb import notify
from respdb.glob import compile_glob
from respdb.resp import bulk

if TYPE_CHECKING:
    from respdb.client import Client
    from respdb.engine import Engine


def _head(n: int, proto: int) -> bytes:
    return (b">%d\r\n" if proto == 3 else b"*%d\r\n") % n


class PubSub:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.channels: dict[bytes, dict[Client, None]] = {}
        self.patterns: dict[bytes, dict[Client, None]] = {}
        self.shard_channels: dict[bytes, dict[Client, None]] = {}
        self._matchers: dict[bytes, Any] = {}

    # -- subscriptions -------------------------------------------------------

    @staticmethod
    def count(c: Client) -> int:
        return len(c.subs) + len(c.psubs)

    def _reply(self, c: Client, kind: bytes, name: bytes | None, n: int) -> bytes:
        if name is None:
            nm = b"_\r\n" if c.proto == 3 else b"$-1\r\n"
        else:
            nm = bulk(name)
        return _head(3, c.proto) + bulk(kind) + nm + b":%d\r\n" % n

    def subscribe(self, c: Client, names: list[bytes], shard: bool = False) -> bytes:
        table = self.shard_channels if shard else self.channels
        mine = c.ssubs if shard else c.subs
        out = []
        for ch in names:
            if ch not in mine:
                mine[ch] = None
                table.setdefault(ch, {})[c] = None
            n = len(c.ssubs) if shard else self.count(c)
            out.append(self._reply(c, b"ssubscribe" if shard else b"subscribe", ch, n))
        c.update_gate()
        return b"".join(out)

    def _forget(self, table: dict, name: bytes, c: Client) -> None:
        """Take `c` off `name`'s subscribers; a name nobody follows any more is dropped."""
        subs = table.get(name)
        if subs is not None:
            subs.pop(c, None)
            if not subs:
                del table[name]
                if table is self.patterns:
                    self._matchers.pop(name, None)

    def unsubscribe(self, c: Client, names: list[bytes], shard: bool = False) -> bytes:
        table = self.shard_channels if shard else self.channels
        mine = c.ssubs if shard else c.subs
        kind = b"sunsubscribe" if shard else b"unsubscribe"
        if not names:
            names = list(mine)
            if not names:
                n = len(c.ssubs) if shard else self.count(c)
                return self._reply(c, kind, None, n)
        out = []
        for ch in names:
            if ch in mine:
                del mine[ch]
                self._forget(table, ch, c)
            n = len(c.ssubs) if shard else self.count(c)
            out.append(self._reply(c, kind, ch, n))
        c.update_gate()
        return b"".join(out)

    def psubscribe(self, c: Client, patterns: list[bytes]) -> bytes:
        out = []
        for p in patterns:
            if p not in c.psubs:
                c.psubs[p] = None
                self.patterns.setdefault(p, {})[c] = None
                if p not in self._matchers:
                    self._matchers[p] = compile_glob(p)
            out.append(self._reply(c, b"psubscribe", p, self.count(c)))
        c.update_gate()
        return b"".join(out)

    def punsubscribe(self, c: Client, patterns: list[bytes]) -> bytes:
        if not patterns:
            patterns = list(c.psubs)
            if not patterns:
                return self._reply(c, b"punsubscribe", None, self.count(c))
        out = []
        for p in patterns:
            if p in c.psubs:
                del c.psubs[p]
                self._forget(self.patterns, p, c)
            out.append(self._reply(c, b"punsubscribe", p, self.count(c)))
        c.update_gate()
        return b"".join(out)

    def drop(self, c: Client) -> None:
        """A client went away: forget its subscriptions without replying."""
        for table, names in ((self.channels, c.subs), (self.shard_channels, c.ssubs), (self.patterns, c.psubs)):
            for name in names:
                self._forget(table, name, c)
        c.subs.clear()
        c.psubs.clear()
        c.ssubs.clear()

    # -- publishing ------------------------------------------------------------

    def publish(self, channel: bytes, message: bytes, shard: bool = False) -> int:
        receivers = 0
        table = self.shard_channels if shard else self.channels
        subs = table.get(channel)
        if subs:
            kind = bulk(b"smessage" if shard else b"message")
            body = kind + bulk(channel) + bulk(message)
            m2 = b"*3\r\n" + body
            m3 = b">3\r\n" + body
            for c in list(subs):
                self._send(c, m3 if c.proto == 3 else m2)
                receivers += 1
        if not shard and self.patterns:
            for p, psubs in list(self.patterns.items()):
                if self._matchers[p](channel) is None:
                    continue
                body = bulk(b"pmessage") + bulk(p) + bulk(channel) + bulk(message)
                for c in list(psubs):
                    self._send(c, (b">4\r\n" if c.proto == 3 else b"*4\r\n") + body)
                    receivers += 1
        return receivers

    def _send(self, c: Client, data: bytes) -> None:
        conn = c.conn
        if conn is None:
            c.pushed.append(data)
            return
        conn.write(data)  # held until the loop iteration ends; limits are checked as it goes out

    # -- keyspace notifications --------------------------------------------------

    def keyspace_event(self, cls: int, event: str, key: bytes, dbid: int) -> None:
        flags = self.engine.notify_flags
        ev = event.encode()
        if flags & notify.KEYSPACE:
            self.publish(b"__keyspace@%d__:%b" % (dbid, key), ev)
        if flags & notify.KEYEVENT:
            self.publish(b"__keyevent@%d__:%b" % (dbid, ev), key)
