"""respdb in-process: the engine driven directly, and the full server on a private Unix socket."""

from __future__ import annotations

import threading
import time

import pytest

from respdb.embedded import Embedded, EmbeddedServer, ResponseError


def test_embedded_engine_same_replies():
    db = Embedded()
    assert db.execute("SET", "k", "v") == b"OK"
    assert db.execute("GET", "k") == b"v"
    assert db.execute("INCRBYFLOAT", "n", "0.1") == b"0.1"
    assert db.execute_raw("GET", "missing") == b"$-1\r\n"
    with pytest.raises(ResponseError, match="^ERR value is not an integer"):
        db.execute("INCR", "k")
    with pytest.raises(ResponseError, match="^ERR unknown command 'NOPE'"):
        db.execute("NOPE")


def test_embedded_config_and_resp3():
    db = Embedded(protocol=3, databases=2)
    assert db.execute_raw("GET", "x") == b"_\r\n"
    with pytest.raises(ResponseError, match="DB index is out of range"):
        db.execute("SELECT", 2)
    with pytest.raises(ValueError):
        Embedded(no_such_option=1)


def test_embedded_expiry_runs_on_tick():
    db = Embedded()
    db.execute("SET", "k", "v", "PX", 1)
    time.sleep(0.01)
    db.tick()
    assert db.engine.dbs[0].data == {}


def test_embedded_idle_time_advances_without_a_server():
    """No server cron runs in-process: the seconds clock behind OBJECT IDLETIME still moves."""
    db = Embedded()
    db.execute("SET", "k", "v")
    time.sleep(1.2)
    assert db.execute("OBJECT", "IDLETIME", "k") >= 1
    db.execute("GET", "k")
    assert db.execute("OBJECT", "IDLETIME", "k") == 0


def test_embedded_server_with_redis_py():
    with EmbeddedServer() as srv:
        r = srv.redis()
        assert r.ping() is True
        r.set("a", 1)
        assert r.incr("a") == 2
        p = r.pubsub()
        p.subscribe("ch")
        assert p.get_message(timeout=2)["type"] == "subscribe"
        assert r.publish("ch", "hello") == 1
        assert p.get_message(timeout=2)["data"] == b"hello"
        p.close()
        r.close()


def test_embedded_server_blocking_and_transactions():
    with EmbeddedServer() as srv:
        r = srv.redis()
        if r.execute_command("COMMAND", "INFO", "BLPOP") == [None]:
            pytest.skip("lists are not implemented")
        got = []
        t = threading.Thread(target=lambda: got.append(srv.redis().blpop("q", timeout=5)))
        t.start()
        time.sleep(0.2)
        with r.pipeline() as pipe:
            pipe.rpush("q", "job")
            pipe.execute()
        t.join(5)
        assert got == [(b"q", b"job")]
        r.close()
