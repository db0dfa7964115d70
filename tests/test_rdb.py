"""RDB files: the reference files, legacy encodings, corrupt input, and round trips with real Redis.

- Every file of tests/fixtures/persistence/ loads to exactly its `.expected.json` keyspace
  (db, type, value, expiry, encoding). The reference expectations were recorded on the live
  server before SAVE; after a load Redis re-encodes short strings as embstr (checked against
  redis-server 7.0.15: OBJECT ENCODING hll:small is "embstr" after loading small.rdb), so a
  string's encoding is compared with what Redis reports after loading.
- Legacy expectations were recorded by loading each file into redis-server 7.0
  (tools/gen_persistence_fixtures.py), including Redis's own verdict on the two corrupt files:
  corrupt_ziplist.rdb is refused, corrupt_empty_keys.rdb loads as an empty keyspace with nine
  empty keys skipped.
- Truncated and bit-flipped files are refused with an RDBError (never another exception) and a
  refused file leaves the keyspace untouched.
- A dataset with every type and encoding is built by the same commands on respdb and on a real
  redis-server; respdb's file passes redis-check-rdb and loads into Redis with the same
  keyspace, and Redis's SAVE output loads into respdb with the same keyspace.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, start_redis
from persist_util import Raw, engine_keyspace, server_keyspace, without

from respdb.embedded import Embedded
from respdb.engine import Engine
from respdb.persistence import crc64, lzf, packed, rdb

PERSIST = FIXTURES / "persistence"
TOP = ["small", "big", "uncompressed"]
LEGACY_OK = ["encodings", "hash-ziplist", "hash-zipmap", "list-quicklist", "zset-ziplist"]
# When the reference files were written (their ctime aux field): keys with TTLs are alive then.
REF_NOW = 1795477840000


def quiet_engine(**cfg: str) -> Engine:
    e = Engine()
    e.logfile = open(os.devnull, "w")  # noqa: SIM115 - lives with the engine
    for k, v in cfg.items():
        e.config.set(k, v)
    return e


def load_bytes(e: Engine, data: bytes, now_ms: int | None = None) -> rdb.LoadResult:
    res = rdb.parse_rdb(data, len(e.dbs), rdb.Limits(e.config), now_ms=now_ms)
    rdb.install(e, res)
    return res


def save_bytes(e: Engine) -> bytes:
    out: list[bytes] = []
    rdb.write_rdb(e, out.append)
    return b"".join(out)


def after_load_encoding(entry: dict) -> str:
    """The encoding Redis reports for a string after loading it (tryObjectEncoding)."""
    v = entry["value"].encode("latin-1")
    if len(v) <= 20 and packed.as_int64(v) is not None:
        return "int"
    return "embstr" if len(v) <= 44 else "raw"


# ---------------------------------------------------------------------------
# The reference files


@pytest.mark.parametrize("name", TOP)
def test_reference_file_loads_exactly(name):
    e = quiet_engine()
    res = load_bytes(e, (PERSIST / f"{name}.rdb").read_bytes(), now_ms=REF_NOW)
    assert res.checksum_checked
    assert res.keys_expired == 0 and res.empty_skipped == 0
    expected = json.loads((PERSIST / f"{name}.expected.json").read_text())
    for entry in expected:
        if entry["type"] == "string":
            entry["encoding"] = after_load_encoding(entry)
    got = engine_keyspace(e)
    assert len(got) == len(expected) == res.keys_loaded
    for g, x in zip(got, expected, strict=True):
        assert g == x, g["key"]


@pytest.mark.parametrize("name", ["small", "big"])
def test_reference_stream_groups(name):
    """The consumer groups of stream:s, as redis-server reports them after loading the file."""
    e = quiet_engine()
    load_bytes(e, (PERSIST / f"{name}.rdb").read_bytes(), now_ms=REF_NOW)
    s = e.dbs[0].data[b"stream:s"]
    ms = {"small": 1795477839434, "big": 1795477839993}[name]
    seen = {"small": 1795477839434, "big": 1795477840007}[name]
    g1, g2 = s.groups[b"g1"], s.groups[b"g2"]
    assert g1.last_id == (ms << 64) | 2 and g1.entries_read == 3
    assert [(k >> 64, k & 0xFFFF, n.consumer.name, n.time, n.count) for k, n in g1.pel.items()] == [
        (ms, i, b"alice", seen, 1) for i in range(3)
    ]
    alice = g1.consumers[b"alice"]
    assert alice.seen == seen and list(alice.pel) == list(g1.pel)
    assert all(alice.pel[k] is g1.pel[k] for k in g1.pel)
    assert g2.entries_read == -1 and not g2.pel and not g2.consumers
    assert g2.last_id == s.last_id
    assert s.entries_added == s.length and s.max_deleted == 0


@pytest.mark.parametrize("name", LEGACY_OK + ["corrupt_empty_keys"])
def test_legacy_file_loads_as_redis_does(name):
    e = quiet_engine()
    res = load_bytes(e, (PERSIST / "legacy" / f"{name}.rdb").read_bytes())
    expected = json.loads((PERSIST / "legacy" / f"{name}.expected.json").read_text())
    assert engine_keyspace(e) == expected["keyspace"]
    assert res.empty_skipped == expected.get("empty_keys_skipped", 0)


def test_corrupt_ziplist_is_refused_and_nothing_changes():
    e = quiet_engine()
    Embedded(e).execute("SET", "before", "kept")
    data = (PERSIST / "legacy" / "corrupt_ziplist.rdb").read_bytes()
    with pytest.raises(rdb.RDBError) as info:
        load_bytes(e, data)
    err = info.value
    text = str(err)
    assert "hash-ziplist integrity check failed" in text
    assert "key:000000000091" in text and "byte offset %d" % err.offset in text
    assert 0 < err.offset < len(data)
    assert engine_keyspace(e) == [
        {"db": 0, "key": "before", "type": "string", "value": "kept", "expire_at_ms": None, "encoding": "embstr"}
    ]


def test_empty_keys_logged_like_redis():
    logged = []
    rdb.parse_rdb(
        (PERSIST / "legacy" / "corrupt_empty_keys.rdb").read_bytes(),
        16,
        rdb.Limits(),
        log=lambda level, msg: logged.append((level, msg)),
    )
    skipped = [m for lv, m in logged if lv == "warning" and m.startswith("rdbLoadObject skipping empty key: ")]
    assert sorted(m.rsplit(" ", 1)[1] for m in skipped) == sorted(
        ["set", "hash", "list_ziplist", "zset", "zset_listpack", "hash_ziplist", "list_quicklist", "zset_ziplist",
         "list_quicklist_empty_ziplist"]
    )  # fmt: skip


def test_rdb_preamble_aof_parses_up_to_the_aof_tail():
    data = (PERSIST / "legacy" / "rdb-preamble.aof").read_bytes()
    res = rdb.parse_rdb(data, 16, rdb.Limits(), now_ms=0)
    assert res.dbs[0] == {b"k1": b"v1", b"k2": b"v2"}
    assert data[res.end :].startswith(b"*2\r\n$6\r\nSELECT\r\n")


# ---------------------------------------------------------------------------
# Damaged input


def _refused_or_loaded(data: bytes, verify: bool = True) -> str:
    try:
        rdb.parse_rdb(data, 16, rdb.Limits(), now_ms=REF_NOW, verify_checksum=verify)
    except rdb.RDBError as err:
        assert err.offset >= 0
        return "refused"
    return "loaded"


@pytest.mark.parametrize("name", ["small", "uncompressed", "legacy/encodings"])
def test_every_truncation_is_refused(name):
    data = (PERSIST / f"{name}.rdb").read_bytes()
    step = max(1, len(data) // 700)
    for cut in range(0, len(data), step):
        assert _refused_or_loaded(data[:cut]) == "refused", cut


@pytest.mark.parametrize("name", ["small", "big", "uncompressed"])
def test_flipped_bytes_never_crash(name):
    """With the checksum verified any flip is refused; without it, a flip is either refused as
    corrupt or yields some other valid-looking file, but never raises anything else."""
    data = (PERSIST / f"{name}.rdb").read_bytes()
    rnd = random.Random(name)
    outcomes = {"refused": 0, "loaded": 0}
    for _ in range(300):
        b = bytearray(data)
        pos = rnd.randrange(9, len(b) - 9)
        b[pos] ^= 1 << rnd.randrange(8)
        assert _refused_or_loaded(bytes(b)) == "refused"
        outcomes[_refused_or_loaded(bytes(b), verify=False)] += 1
    assert outcomes["refused"] > 0


def test_bad_headers_and_opcodes():
    good = (PERSIST / "small.rdb").read_bytes()
    cases = {
        b"RADIS0010" + good[9:]: "wrong signature",
        b"REDIS0011" + good[9:]: "can't handle RDB format version 11",
        b"REDIS00x1" + good[9:]: "bad RDB version",
        b"REDIS0010\xfe\x20": "more than 16 databases",
        b"REDIS0010\x08\x01k": "unknown object type 8",
        b"REDIS0010\xf6": "pre-release function format",
        b"REDIS0010\xf7\x81" + bytes(8): "AUX module data",
        b"REDIS0010\x07\x01k\x81" + (12345 << 10).to_bytes(8, "big"): "no matching module type",
        b"REDIS0010\x00\x01k\xc3\x05\x20\x1fabc": "unexpected end of file",
        b"REDIS0010\x00\x01k\xc3\x02\x05\xe0\x00": "invalid LZF",
        b"REDIS0010\x00\x01k\x01v\x00\x01k\x01w\xff" + bytes(8): "duplicated key 'k'",
        b"REDIS0010\x02\x01k\x02\x01a\x01a": "duplicate set members",
        b"REDIS0010\x00\x01k\xc4": "unknown RDB string encoding type 4",
    }
    for data, message in cases.items():
        with pytest.raises(rdb.RDBError, match=message):
            rdb.parse_rdb(data, 16, rdb.Limits(), now_ms=0)


def test_checksum_mismatch_and_disabled_checksum():
    data = bytearray((PERSIST / "small.rdb").read_bytes())
    data[-1] ^= 0xFF
    with pytest.raises(rdb.RDBError, match="wrong RDB checksum"):
        rdb.parse_rdb(bytes(data), 16, rdb.Limits(), now_ms=REF_NOW)
    assert rdb.parse_rdb(bytes(data), 16, rdb.Limits(), now_ms=REF_NOW, verify_checksum=False).keys_loaded == 25
    data[-8:] = bytes(8)  # rdbchecksum no writes zeros: loads without a check
    res = rdb.parse_rdb(bytes(data), 16, rdb.Limits(), now_ms=REF_NOW)
    assert res.keys_loaded == 25 and not res.checksum_checked


def test_expired_keys_are_skipped_at_load_unless_preamble():
    e = quiet_engine()
    db = Embedded(e)
    db.execute("SET", "gone", "x")
    db.execute("SET", "kept", "y")
    e.dbs[0].set_expire(b"gone", 1000)
    data = save_bytes(e)
    res = rdb.parse_rdb(data, 16, rdb.Limits())
    assert res.keys_expired == 1 and list(res.dbs[0]) == [b"kept"]
    res = rdb.parse_rdb(data, 16, rdb.Limits(), skip_expired=False)
    assert res.expires[0] == {b"gone": 1000}


# ---------------------------------------------------------------------------
# Building blocks


def test_crc64_reference_values():
    assert crc64.crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    assert crc64.crc64_py(b"123456789") == 0xE9C6D914C4B8D9CA
    data = os.urandom(5001)
    assert crc64.crc64(data) == crc64.crc64_py(data)
    assert crc64.crc64(data[2000:], crc64.crc64(data[:2000])) == crc64.crc64_py(data)


def test_lzf_round_trips_and_limits():
    rnd = random.Random(7)
    for n in (1, 2, 3, 4, 5, 30, 300, 9000, 70000):
        for kind in range(3):
            if kind == 0:
                d = bytes(rnd.randrange(256) for _ in range(n))
            elif kind == 1:
                d = bytes(rnd.choice(b"ab") for _ in range(n))
            else:
                d = (b"the quick brown fox %d " % rnd.randrange(9)) * (n // 20 + 1)
            for out_len in (n - 4, n, 2 * n + 16):
                if out_len <= 0:
                    continue
                c = lzf.compress(d, out_len)
                assert c == lzf.compress_py(d, out_len)
                if c is not None:
                    assert len(c) <= out_len
                    assert lzf.decompress(c, len(d)) == lzf.decompress_py(c, len(d)) == d
    for bad in (b"\x05ab", b"\x20\x00", b"\xe0\x00"):
        with pytest.raises(lzf.LZFError):
            lzf.decompress_py(bad, 10)


def test_packed_decoders_refuse_damage():
    lp = packed.lp_build([b"a", b"12", b"x" * 70])
    assert packed.lp_strings(lp) == [b"a", b"12", b"x" * 70]
    for i in range(len(lp)):
        for damaged in (lp[:i], lp[:i] + bytes([lp[i] ^ 0x41]) + lp[i + 1 :]):
            try:
                packed.lp_decode(damaged)
            except packed.PackedError:
                pass
    with pytest.raises(packed.PackedError):
        packed.intset_decode((2).to_bytes(4, "little") + (2).to_bytes(4, "little") + b"\x05\x00\x01\x00")
    with pytest.raises(packed.PackedError):
        packed.zipmap_decode(b"\x01\x01a")
    with pytest.raises(packed.PackedError):
        packed.zl_decode(b"\x0b\x00\x00\x00\x0a\x00\x00\x00\x00\x00\xfe")


def test_quicklist_nodes_follow_the_fill_limit():
    values = [b"element-%d" % i for i in range(5000)]
    nodes = rdb._quicklist_nodes(values, -2)
    assert len(nodes) > 1
    assert all(len(n) <= 8192 for n in nodes)
    assert [v for n in nodes for v in packed.lp_strings(n)] == values
    assert len(rdb._quicklist_nodes(values, 100)) == 50


# ---------------------------------------------------------------------------
# A dataset with every type and encoding, built by commands


def dataset_commands(seed: int = 1) -> list[list[bytes | str | int]]:
    rnd = random.Random(seed)
    cmds: list[list] = [
        ["SET", "s:int", "12345"],
        ["SET", "s:neg", "-9876543210"],
        ["SET", "s:int32", "2147483647"],
        ["SET", "s:int64", "9223372036854775807"],
        ["SET", "s:toolong", "92233720368547758070"],
        ["SET", "s:lead0", "007"],
        ["SET", "s:minus0", "-0"],
        ["SET", "s:empty", ""],
        ["SET", "s:emb", "hello world"],
        ["SET", "s:raw", "r" * 100],
        ["SET", "s:compress", "a" * 5000],
        ["SET", "s:bin", bytes(range(256))],
        ["SET", "s:random", bytes(rnd.randrange(256) for _ in range(3000))],
        ["SET", "s:append", "x"],
        ["APPEND", "s:append", "yz"],
        ["SET", "s:float", "1"],
        ["INCRBYFLOAT", "s:float", "1.5"],
        ["SET", "s:ttl", "expiring", "PXAT", "4102444800000"],
        ["SET", b"k\x00bin\xff", "binary key"],
        ["SET", "1234", "numeric key"],
        ["SET", "x" * 300, "long key"],
        ["RPUSH", "l:small", "a", "b", "1", "-2", "c"],
        ["RPUSH", "l:big", *[b"element-%d" % i for i in range(2000)]],
        ["RPUSH", "l:ints", *[str(i * 1000 - 100000) for i in range(300)]],
        ["RPUSH", "l:huge", "h" * 20000, "small", "i" * 9000],
        ["LPUSH", "l:ttl", "x"],
        ["PEXPIREAT", "l:ttl", "4102444800123"],
        ["HSET", "h:small", "f1", "v1", "f2", "2", "f3", ""],
        ["HSET", "h:big", *[x for i in range(600) for x in (b"field%d" % i, b"value%d" % i)]],
        ["HSET", "h:longval", "f", "v" * 100],
        ["SADD", "set:i16", "1", "2", "3", "-5"],
        ["SADD", "set:i32", "1", "100000", "-100000"],
        ["SADD", "set:i64", "-9223372036854775808", "0", "9223372036854775807"],
        ["SADD", "set:strs", *[b"m%d" % i for i in range(20)]],
        ["SADD", "set:bigints", *[str(i) for i in range(600)]],
        ["ZADD", "z:small", "-inf", "bottom", "-3", "minus", "1", "one", "2.5", "two.five", "inf", "top", "0", "zero"],
        ["ZADD", "z:big", *[x for i in range(300) for x in (repr(i / 7), b"member%d" % i)]],
        ["ZADD", "z:longmember", "1", "m" * 100],
        ["ZADD", "z:ints", "4611686018427387904", "huge", "-17", "neg", "1e20", "e20"],
        ["PFADD", "hll:small", "a", "b", "c"],
        ["PFADD", "hll:dense", *[b"e%d" % i for i in range(5000)]],
        ["GEOADD", "geo", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
        ["SETBIT", "bits", "1000", "1"],
    ]
    for i in range(250):
        fields = ["idx", str(i), "payload", "p" * (i % 7)] if i % 5 else ["other", str(i)]
        cmds.append(["XADD", "stream", f"{1700000000000 + i // 10}-{i % 10}", *fields])
    cmds += [
        ["XDEL", "stream", "1700000000001-3", "1700000000020-0"],
        ["XGROUP", "CREATE", "stream", "g1", "0"],
        ["XGROUP", "CREATE", "stream", "g2", "$"],
        ["XGROUP", "CREATE", "stream", "g3", "1700000000010-0"],
        ["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "stream", ">"],
        ["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "stream", ">"],
        ["XACK", "stream", "g1", "1700000000000-1"],
        ["XGROUP", "CREATECONSUMER", "stream", "g1", "carol"],
        ["XADD", "s:empty-stream", "1-1", "f", "v"],
        ["XDEL", "s:empty-stream", "1-1"],
        ["XADD", "s:trimmed", "MAXLEN", "5", "*", "f", "v"],
        ["SELECT", "1"],
        ["SET", "db1:key", "in db 1"],
        ["RPUSH", "db1:list", "x"],
        ["SELECT", "15"],
        ["HSET", "db15:hash", "k", "v"],
        ["SELECT", "0"],
    ]
    return cmds


def run_on(send, cmds) -> None:
    for c in cmds:
        reply = send(*c)
        assert not isinstance(reply, Exception), (c, reply)


@pytest.fixture(scope="module")
def redis_ref():
    s = start_redis()
    c = Raw(s.port)
    yield s, c
    c.close()
    s.stop()
    shutil.rmtree(s.workdir, ignore_errors=True)


def _respdb_with_dataset() -> Engine:
    e = quiet_engine()
    db = Embedded(e)
    run_on(db.execute_raw, dataset_commands())
    return e


def test_dataset_round_trips_in_respdb():
    e = _respdb_with_dataset()
    data = save_bytes(e)
    fresh = quiet_engine()
    load_bytes(fresh, data)
    before, after = engine_keyspace(e), engine_keyspace(fresh)
    # Strings grown in place (APPEND) report "raw" until reloaded, as in Redis.
    assert without(after, "encoding") == without(before, "encoding")
    for b, a in zip(before, after, strict=True):
        if b["type"] != "string":
            assert a["encoding"] == b["encoding"], b["key"]
    s1, s2 = e.dbs[0].data[b"stream"], fresh.dbs[0].data[b"stream"]
    assert (s2.length, s2.last_id, s2.max_deleted, s2.entries_added) == (
        s1.length, s1.last_id, s1.max_deleted, s1.entries_added)  # fmt: skip
    for name, g in s1.groups.items():
        g2 = s2.groups[name]
        assert (g2.last_id, g2.entries_read) == (g.last_id, g.entries_read)
        assert [(k, n.consumer.name, n.time, n.count) for k, n in g2.pel.items()] == [
            (k, n.consumer.name, n.time, n.count) for k, n in g.pel.items()
        ]
        assert {c: (x.seen, list(x.pel)) for c, x in g2.consumers.items()} == {
            c: (x.seen, list(x.pel)) for c, x in g.consumers.items()
        }
    # and the keyspace part of the file is the same when written again (aux fields hold times),
    # hashtable sets aside (a Python set's order depends on its history)
    for eng in (e, fresh):
        for key in (b"set:strs", b"set:bigints"):
            eng.dbs[0].delete(key)
    data = save_bytes(e)
    again = save_bytes(fresh)
    assert again[again.index(b"\xfe\x00\xfb") : -8] == data[data.index(b"\xfe\x00\xfb") : -8]


def _xinfo_full(c: Raw, key: bytes) -> list:
    info = c.cmd("XINFO", "STREAM", key, "FULL")
    d = dict(zip(info[0::2], info[1::2], strict=True))
    groups = []
    for g in d[b"groups"]:
        gd = dict(zip(g[0::2], g[1::2], strict=True))
        cons = []
        for x in gd[b"consumers"]:
            xd = dict(zip(x[0::2], x[1::2], strict=True))
            cons.append((xd[b"name"], xd[b"seen-time"], xd[b"pel-count"], xd[b"pending"]))
        groups.append((gd[b"name"], gd[b"last-delivered-id"], gd[b"entries-read"], gd[b"lag"], gd[b"pending"], cons))
    return [d[b"length"], d[b"last-generated-id"], d[b"max-deleted-entry-id"], d[b"entries-added"],
            d[b"recorded-first-entry-id"], groups]  # fmt: skip


def test_respdb_file_passes_redis_check_rdb_and_loads_into_redis(tmp_path):
    exe = shutil.which("redis-check-rdb")
    if exe is None or shutil.which("redis-server") is None:
        pytest.skip("redis tools not installed")
    e = _respdb_with_dataset()
    path = tmp_path / "dump.rdb"
    path.write_bytes(save_bytes(e))
    out = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "RDB looks OK" in out.stdout
    s = start_redis("--dir", str(tmp_path), "--dbfilename", "dump.rdb")
    try:
        c = Raw(s.port)
        theirs = server_keyspace(c)
        fresh = quiet_engine()
        load_bytes(fresh, path.read_bytes())
        assert theirs == engine_keyspace(fresh)
        assert len(theirs) == sum(len(db.data) for db in e.dbs)
        # consumer groups as Redis sees them, against the same data built in respdb over TCP
        info = _xinfo_full(c, b"stream")
        assert info[0] == 248 and info[3] == 250 and len(info[5]) == 3
        c.close()
    finally:
        s.stop()


def test_redis_save_loads_into_respdb(redis_ref, tmp_path):
    s, c = redis_ref
    c.cmd("FLUSHALL")
    run_on(c.cmd, dataset_commands())
    assert c.cmd("SAVE") == b"OK"
    data = (Path(s.workdir) / "dump.rdb").read_bytes()
    e = quiet_engine()
    res = load_bytes(e, data)
    assert res.checksum_checked
    assert c.cmd("DEBUG", "RELOAD") == b"OK"  # Redis's own keyspace as it is after a load
    theirs = server_keyspace(c)
    assert engine_keyspace(e) == theirs
    # and respdb's own file of that data loads into respdb identically again
    again = quiet_engine()
    load_bytes(again, save_bytes(e))
    assert engine_keyspace(again) == theirs


def test_redis_save_without_compression_and_checksum_loads():
    s = start_redis("--rdbchecksum", "no", "--rdbcompression", "no")
    try:
        c = Raw(s.port)
        run_on(c.cmd, dataset_commands(2)[:30])
        assert c.cmd("SAVE") == b"OK"
        data = (Path(s.workdir) / "dump.rdb").read_bytes()
        assert data[-8:] == bytes(8)
        assert b"a" * 5000 in data
        e = quiet_engine()
        res = load_bytes(e, data)
        assert not res.checksum_checked
        assert c.cmd("DEBUG", "RELOAD") == b"OK"
        assert engine_keyspace(e) == server_keyspace(c)
        c.close()
    finally:
        s.stop()
        shutil.rmtree(s.workdir, ignore_errors=True)


def test_respdb_writes_what_redis_writes_for_deterministic_values(redis_ref, tmp_path):
    """Values whose layout does not depend on hash order serialize to the very same bytes."""
    s, c = redis_ref
    c.cmd("FLUSHALL")
    cmds = [x for x in dataset_commands() if x[0] in ("SET", "RPUSH", "ZADD", "SETBIT", "APPEND")]
    cmds += [["HSET", "h:small", "f1", "v1", "f2", "2"], ["SADD", "set:i32", "1", "100000", "-100000"]]
    run_on(c.cmd, cmds)
    e = quiet_engine()
    run_on(Embedded(e).execute_raw, cmds)
    for key in sorted(e.dbs[0].data):
        assert c.cmd("DUMP", key) == Embedded(e).execute("DUMP", key), key


@pytest.mark.parametrize("cfg", [{"rdbcompression": "no"}, {"rdbchecksum": "no"}, {"list-max-listpack-size": "5"}])
def test_writer_options(cfg, tmp_path):
    e = _respdb_with_dataset()
    for k, v in cfg.items():
        e.config.set(k, v)
    data = save_bytes(e)
    if cfg.get("rdbchecksum") == "no":
        assert data[-8:] == bytes(8)
    if cfg.get("rdbcompression") == "no":
        assert b"a" * 5000 in data
    fresh = quiet_engine()
    load_bytes(fresh, data)
    assert without(engine_keyspace(fresh), "encoding") == without(engine_keyspace(e), "encoding")
    exe = shutil.which("redis-check-rdb")
    if exe is not None:
        path = tmp_path / "x.rdb"
        path.write_bytes(data)
        out = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "RDB looks OK" in out.stdout, out.stdout


def test_load_conversions_follow_the_limits():
    """A file's encodings are re-decided by the loading server's limits, as Redis does."""
    e = _respdb_with_dataset()
    data = save_bytes(e)
    small = quiet_engine(**{
        "hash-max-listpack-entries": "2", "set-max-intset-entries": "3", "zset-max-listpack-entries": "3",
        "zset-max-listpack-value": "3", "hash-max-listpack-value": "1"})  # fmt: skip
    load_bytes(small, data)
    enc = {x["key"]: x["encoding"] for x in engine_keyspace(small) if x["db"] == 0}
    assert enc["h:small"] == "hashtable"  # listpack in the file, more entries than allowed
    assert enc["set:i16"] == "hashtable" and enc["set:i64"] == "intset"
    assert enc["z:small"] == "skiplist"
    big = quiet_engine(**{"zset-max-listpack-entries": "1000", "hash-max-listpack-entries": "1000"})
    load_bytes(big, data)
    enc = {x["key"]: x["encoding"] for x in engine_keyspace(big) if x["db"] == 0}
    assert enc["z:big"] == "listpack"  # a skiplist in the file, small enough to pack
    assert enc["h:big"] == "listpack"


def test_functions_travel_through_rdb(redis_ref):
    s, c = redis_ref
    c.cmd("FLUSHALL")
    c.cmd("FUNCTION", "FLUSH")
    code = b"#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)"
    assert c.cmd("FUNCTION", "LOAD", code) == b"mylib"
    c.cmd("SET", "k", "v")
    assert c.cmd("SAVE") == b"OK"
    data = (Path(s.workdir) / "dump.rdb").read_bytes()
    c.cmd("FUNCTION", "FLUSH")
    res = rdb.parse_rdb(data, 16, rdb.Limits())
    assert res.functions == [code]
    e = quiet_engine()
    p = e.persistence
    path = Path(s.workdir) / "dump.rdb"
    p.load_file(str(path))
    db = Embedded(e)
    assert db.execute("FCALL", "myfunc", 0, "hello") == b"hello"
    again = save_bytes(e)
    assert rdb.parse_rdb(again, 16, rdb.Limits()).functions == [code]


def test_big_dataset_timing_is_linear():
    """10k keys of each kind save and load in well under a second each (no quadratic path)."""
    e = quiet_engine()
    d = e.dbs[0].data
    for i in range(10000):
        d[b"key:%d" % i] = b"value:%d" % i
    db = Embedded(e)
    db.execute("RPUSH", "list", *[b"%d" % i for i in range(10000)])
    t0 = time.perf_counter()
    data = save_bytes(e)
    t1 = time.perf_counter()
    load_bytes(quiet_engine(), data)
    t2 = time.perf_counter()
    assert t1 - t0 < 2 and t2 - t1 < 2


def test_old_opcodes_and_stream_v1():
    """Seconds expiries, IDLE/FREQ, RESIZEDB, a "lua" aux, and a stream in the pre-7.0 layout
    (no first ID, tombstone ID, entries-added or per-group entries-read: derived as Redis does)."""
    e = quiet_engine()
    db = Embedded(e)
    for i in range(5):
        db.execute("XADD", "s", "1-%d" % (i + 1), "f", "v%d" % i)
    db.execute("XGROUP", "CREATE", "s", "g", "1-1")
    s = e.dbs[0].data[b"s"]
    nodes = [n for n in s.nodes if n.live]
    full = rdb.encode_value(s, False)[1]
    # the node part is identical in both layouts: copy it from the 7.0 encoding
    r = rdb.Reader(full)
    r.length()
    for _ in nodes:
        r.string()
        r.string()
    body = full[: r.pos]
    body += rdb.enc_len(5) + rdb.enc_len(1) + rdb.enc_len(5)  # length, last ID
    body += rdb.enc_len(1) + rdb.enc_str(b"g", False) + rdb.enc_len(1) + rdb.enc_len(1)  # group g at 1-1
    body += rdb.enc_len(0) + rdb.enc_len(0)  # no PEL, no consumers
    when = 2000000000  # old expiries are 32-bit seconds
    data = (
        b"REDIS0009"
        + b"\xfa\x03lua\x05x=1;y"
        + b"\xfe\x00\xfb\x02\x01"
        + b"\xfd" + when.to_bytes(4, "little") + b"\xf8\x05" + b"\x00\x01k\x01v"
        + b"\xf9\x07" + b"\x0f\x01s" + body
        + b"\xff"
    )  # fmt: skip
    data += crc64.crc64(data).to_bytes(8, "little")
    res = rdb.parse_rdb(data, 16, rdb.Limits(), now_ms=0)
    assert res.expires[0] == {b"k": when * 1000}
    assert res.access == {(0, b"k"): ("idle", 5), (0, b"s"): ("freq", 7)}
    st = res.dbs[0][b"s"]
    assert st.length == 5 and st.entries_added == 5 and st.max_deleted == 0
    assert [k & 0xFF for k, _ in st.iter_range(0, 1 << 128)] == [1, 2, 3, 4, 5]
    assert st.groups[b"g"].entries_read == 1  # estimated from the ID, as Redis does for old files
