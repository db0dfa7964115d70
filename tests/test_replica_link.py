"""A replica's link carries no replies: a replica whose command makes one is dropped, on respdb
and on a real redis-server alike (integration/replication "replica do not write the reply to the
replication link")."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RawConn, start_redis, start_respdb
from test_replication import _wait

STARTERS = {"respdb": start_respdb, "redis": start_redis}


@pytest.fixture(params=["respdb", "redis"])
def kind(request) -> str:
    return request.param


@pytest.mark.parametrize(
    "sync, command, name",
    [
        (("SYNC",), ("PING",), "ping"),
        (("SYNC",), ("XINFO", "HELP"), "xinfo|help"),
        (("PSYNC", "replicationid", "-1"), ("GET", "foo"), "get"),
        (("PSYNC", "replicationid", "-1"), ("SLOWLOG", "GET"), "slowlog|get"),
    ],
)
def test_a_replica_that_makes_a_reply_is_dropped(kind: str, sync, command, name: str) -> None:
    # integration/replication "replica do not write the reply to the replication link"
    s = STARTERS[kind]("--repl-diskless-sync-delay", "0")
    try:
        c = RawConn(s.port)
        c.send_cmd(*sync)
        assert not c.silent(0.5)  # the snapshot (after +FULLRESYNC for PSYNC)
        c.send_cmd(*command)
        assert c.closed(5)
        assert RawConn(s.port).cmd("PING") == b"+PONG\r\n"
        _wait(lambda: "Replica generated a reply to command '%s', disconnecting it: id=" % name in Path(s.log).read_text(errors="replace"),
              what="the log line")  # fmt: skip
        if name == "get":
            assert (
                "== CRITICAL == This master is sending an error to its replica: "
                "'Replica can't interact with the keyspace' after processing the command 'get'"
                in Path(s.log).read_text(errors="replace")
            )
    finally:
        s.stop()
