"""What a BGSAVE child reports while it runs (integration/rdb "Test child sending info"): the
copy-on-write it causes, the keys it has written, checked on respdb and a real redis-server."""

from __future__ import annotations

import time

import pytest
from conftest import STARTERS, RawConn
from test_replication import _info, _wait


@pytest.mark.parametrize("kind", ["respdb", "redis"])
def test_bgsave_child_reports_cow_and_progress(kind: str) -> None:
    s = STARTERS[kind]()
    try:
        c = RawConn(s.port)
        info = _info(c, "persistence")
        assert (info["current_cow_size"], info["current_save_keys_total"], info["rdb_last_cow_size"]) == ("0", "0", "0")
        c.cmd("DEBUG", "POPULATE", "10000", "key", "500")
        c.cmd("CONFIG", "SET", "rdb-key-save-delay", "200")  # about 2 s of saving
        assert c.cmd("BGSAVE") == b"+Background saving started\r\n"
        assert _info(c, "persistence")["current_save_keys_total"] == "10000"
        cow = 0
        for i in range(0, 400, 16):
            for k in range(i, i + 16):  # rewritten values: pages the child no longer shares
                c.cmd("SETRANGE", "key:%d" % k, "0", "B" * 500)
            time.sleep(0.3)
            info = _info(c, "persistence")
            if info["rdb_bgsave_in_progress"] == "0":
                break
            cow = max(cow, int(info["current_cow_size"]))
            if cow >= 4096 and int(info["current_save_keys_processed"]) > 0:
                assert float(info["current_fork_perc"]) > 0
                assert int(info["current_cow_peak"]) >= int(info["current_cow_size"])
                break
        assert cow >= 4096
        c.cmd("CONFIG", "SET", "rdb-key-save-delay", "0")
        _wait(lambda: _info(c, "persistence")["rdb_bgsave_in_progress"] == "0", what="the save")
        info = _info(c, "persistence")
        assert int(info["rdb_last_cow_size"]) > 0
        assert info["current_cow_size"] == "0" and info["current_save_keys_processed"] == "0"
    finally:
        s.stop()
