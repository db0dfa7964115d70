"""CLIENT LIST's buffer figures (qbuf-free, rbs, rbp) and their resizing by the cron, on respdb
and a real redis-server with the same steps (Redis's unit/querybuf and unit/replybufsize)."""

from __future__ import annotations

import time

import pytest
from conftest import STARTERS, RawConn
from test_replication import _info, _wait


def _fields(c: RawConn, name: str) -> dict[str, str]:
    reply = c.cmd("CLIENT", "LIST")
    for line in reply.split(b"\r\n", 1)[1].decode().splitlines():
        if "name=%s " % name in line:
            return dict(kv.split("=", 1) for kv in line.split(" ") if "=" in kv)
    raise AssertionError("no client named %s in %r" % (name, reply))


@pytest.fixture(params=["respdb", "redis"])
def probed(request):
    """A server, a client named "probe" and another connection to watch it with CLIENT LIST."""
    s = STARTERS[request.param]()
    try:
        probe, watcher = RawConn(s.port), RawConn(s.port)
        probe.cmd("CLIENT", "SETNAME", "probe")
        yield probe, watcher
    finally:
        s.stop()


def test_query_buffer_sizes(probed) -> None:
    c, watcher = probed
    f = _fields(watcher, "probe")
    assert (f["qbuf"], f["qbuf-free"]) == ("0", "20474")  # one 16 KB read's room, as jemalloc sizes it
    # a big argument: the buffer it leaves behind has room for exactly another such
    assert c.cmd("SET", "x", "A" * 400000) == b"+OK\r\n"
    f = _fields(watcher, "probe")
    assert (f["qbuf"], f["qbuf-free"]) == ("0", "458742")
    # far larger than anything read since: cut down to the recent peak (nothing, here)
    _wait(lambda: _fields(watcher, "probe")["qbuf-free"] == "0", what="the big buffer to shrink", timeout=3)
    c.cmd("PING")
    assert _fields(watcher, "probe")["qbuf-free"] == "20474"
    # a small buffer goes once its client has been idle for more than 2 seconds
    _wait(lambda: _fields(watcher, "probe")["qbuf-free"] == "0", what="the idle buffer to go", timeout=6)
    assert int(_fields(watcher, "probe")["idle"]) >= 3


def test_reply_buffer_shrinks_when_idle_and_grows_when_filled(probed) -> None:
    c, r = probed
    f = _fields(r, "probe")
    assert (f["rbs"], f["rbp"]) == ("16384", "16384")
    assert r.cmd("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100") == b"+OK\r\n"
    _wait(lambda: _fields(r, "probe")["rbs"] == "1024", what="the idle reply buffer to shrink")
    assert int(_info(r, "stats")["reply_buffer_shrinks"]) > 0
    r.cmd("SET", "bigval", "x" * 32768)
    r.cmd("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "never")
    sizes = []
    for _ in range(40):
        c.cmd("GET", "bigval")  # fills whatever buffer it has: it doubles, up to 16 KB
        sizes.append(int(_fields(r, "probe")["rbs"]))
        if sizes[-1] == 16384:
            break
        time.sleep(0.1)
    assert sizes[-1] == 16384
    assert set(sizes) <= {1024, 2048, 4096, 8192, 16384}
    assert int(_info(r, "stats")["reply_buffer_expands"]) >= 4
    # with resizing off, nothing changes any more
    r.cmd("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100")
    r.cmd("DEBUG", "REPLYBUFFER", "RESIZING", "0")
    time.sleep(0.5)
    assert _fields(r, "probe")["rbs"] == "16384"
    r.cmd("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "reset")
    r.cmd("DEBUG", "REPLYBUFFER", "RESIZING", "1")
