"""HyperLogLog internals and engine-level behaviour: register packing, lane-wise max, the sparse
editor against a plain register model, values written by Redis, propagation, and that the hot
paths do not walk all 16384 registers.

Replies and value bytes are compared with Redis in tests/differential/test_hyperloglog_diff.py.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from respdb.engine import Engine
from respdb.types import hyperloglog as H

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _registers(seed: int, top: int) -> bytes:
    rnd = random.Random(seed)
    return bytes(rnd.randrange(top) for _ in range(H.REGISTERS))


# 16384 register values below 1, 4, 16 or 64, from a seed (hypothesis shrinks the seed).
registers = st.builds(_registers, st.integers(0, 2**32), st.sampled_from([1, 4, 16, 64]))


@settings(max_examples=25, deadline=None)
@given(raw=registers)
def test_pack_unpack_round_trip(raw):
    packed = H.pack_dense(raw)
    assert len(packed) == H.DENSE_BYTES
    assert H.unpack_dense(packed) == raw
    v = bytearray(H.MAGIC + bytes(12)) + packed
    for i in (0, 1, 2, 3, 4, 5, 6, 7, 1000, 16381, 16382, 16383):
        assert H.dense_get(v, i) == raw[i]


def test_dense_set_leaves_neighbours_alone():
    v = bytearray(H.MAGIC + bytes(12) + b"\xff" * H.DENSE_BYTES)
    for i in (0, 1, 2, 3, 4, 5, 8190, 16382, 16383):
        H.dense_set(v, i, 5)
        assert H.dense_get(v, i) == 5
        for j in (i - 1, i + 1):
            if 0 <= j < H.REGISTERS:
                assert H.dense_get(v, j) == 63
        H.dense_set(v, i, 63)
    assert v == bytearray(H.MAGIC + bytes(12) + b"\xff" * H.DENSE_BYTES)


@settings(max_examples=25, deadline=None)
@given(a=registers, b=registers)
def test_raw_max_is_registerwise_max(a, b):
    assert H.raw_max(a, b) == bytes(max(x, y) for x, y in zip(a, b, strict=True))


@settings(max_examples=25, deadline=None)
@given(raw=registers)
def test_histogram_counts_every_register(raw):
    h = H.raw_histogram(raw)
    assert sum(h) == H.REGISTERS
    assert all(h[v] == raw.count(v) for v in range(64))


def test_pattern_length_bounds():
    for i in range(2000):
        idx, count = H.pat_len(b"%d" % i)
        assert 0 <= idx < H.REGISTERS and 1 <= count <= H.Q + 1


@settings(max_examples=40, deadline=None)
@given(
    sets=st.lists(st.tuples(st.integers(0, H.REGISTERS - 1), st.integers(1, 32)), max_size=300),
    limit=st.sampled_from([3000, 100, 40]),
)
def test_sparse_editor_matches_a_register_model(sets, limit):
    """Every edit leaves a body whose runs describe exactly the model's registers, until the
    editor asks for promotion (the body passing the limit)."""
    model = bytearray(H.REGISTERS)
    ed = H.SparseEditor(bytes(H.new_sparse()[H.HDR :]), lambda: limit)
    for idx, count in sets:
        try:
            changed = ed.set(idx, count)
        except H.Promote:
            assert ed.nbytes() <= limit
            break
        assert changed == (count > model[idx])
        model[idx] = max(model[idx], count)
        body = ed.body()
        assert H.HDR + len(body) == ed.nbytes() <= max(limit, H.HDR + 2)
        assert H.sparse_raw(body) == bytes(model)
        # The editor's own index agrees with a fresh decoding of its bytes.
        fresh = H.SparseEditor(body, lambda: limit)
        assert fresh.starts == ed.starts and fresh.xz == ed.xz


def test_sparse_histogram_and_validity():
    empty = bytes(H.new_sparse()[H.HDR :])
    assert H.sparse_histogram(empty)[0] == H.REGISTERS
    assert H.sparse_histogram(b"\x7f\xfe") is None  # one register short
    assert H.sparse_histogram(empty + b"\x00") is None
    with pytest.raises(H.Corrupt):
        H.sparse_raw(b"\x7f")
    assert H.decode_text(b"\x40\x63\x84\x00\x7f\x9a") == b"Z:100 v:2,1 z:1 Z:16283"


def _fixture_values():
    return json.loads((FIXTURES / "hll_values.json").read_text(encoding="utf-8"))["values"]


@pytest.mark.parametrize("entry", _fixture_values(), ids=lambda e: "%s-%s" % (e["key"], len(e["value"])))
def test_values_written_by_redis(entry):
    """PFCOUNT on a value Redis wrote gives what Redis gave (recorded in the fixture)."""
    e = Engine()
    c = e.new_client()
    value = entry["value"].encode("latin-1")
    assert H.is_hll(value)
    assert e.execute(c, [b"SET", b"k", value]) == b"+OK\r\n"
    assert e.execute(c, [b"PFCOUNT", b"k"]) == b":%d\r\n" % entry["pfcount"]
    h = H.histogram(value)
    assert h is not None and H.estimate(h) == entry["pfcount"]
    assert e.execute(c, [b"PFADD", b"k", b"a", b"b", b"c"]) in (b":0\r\n", b":1\r\n")
    assert e.execute(c, [b"PFCOUNT", b"k"]) == b":%d\r\n" % entry["pfcount_after_adding_a_b_c"]


def run(e, c, *args):
    return e.execute(c, [a.encode() if isinstance(a, str) else a for a in args])


def test_propagated_forms():
    e = Engine()
    c = e.new_client()
    out: list[list[bytes]] = []
    e.propagators.append(lambda dbid, argv: out.append(argv))
    run(e, c, "PFADD", "h", "a", "b")
    run(e, c, "PFADD", "h", "a")  # no register changed: nothing to propagate
    run(e, c, "PFCOUNT", "h")  # refreshes the cached cardinality: propagated as is
    run(e, c, "PFCOUNT", "h")  # cache valid: read-only
    run(e, c, "PFCOUNT", "h", "nokey")  # a scratch union: read-only
    run(e, c, "PFMERGE", "m", "h")
    run(e, c, "PFDEBUG", "ENCODING", "h")
    run(e, c, "PFDEBUG", "TODENSE", "h")
    run(e, c, "PFDEBUG", "TODENSE", "h")
    assert out == [
        [b"PFADD", b"h", b"a", b"b"],
        [b"PFCOUNT", b"h"],
        [b"PFMERGE", b"m", b"h"],
        [b"PFDEBUG", b"TODENSE", b"h"],
    ]


def test_watch_sees_cache_refresh():
    """PFCOUNT rewriting the cached cardinality touches WATCHed keys, as in Redis."""
    e = Engine()
    c = e.new_client()
    other = e.new_client()
    run(e, c, "PFADD", "h", "a")
    run(e, c, "WATCH", "h")
    run(e, other, "PFCOUNT", "h")
    run(e, c, "MULTI")
    run(e, c, "PING")
    assert run(e, c, "EXEC") in (b"*-1\r\n", b"_\r\n")


def test_dense_hot_paths_do_not_walk_every_register(monkeypatch):
    e = Engine()
    c = e.new_client()
    rnd = random.Random(3)
    run(e, c, "PFADD", "h", *[b"%d" % rnd.getrandbits(48) for _ in range(5000)])
    assert run(e, c, "PFDEBUG", "ENCODING", "h") == b"+dense\r\n"
    run(e, c, "PFCOUNT", "h")
    calls = {"unpack": 0, "hist": 0}
    real_unpack, real_hist = H.unpack_dense, H.raw_histogram

    def unpack(b):
        calls["unpack"] += 1
        return real_unpack(b)

    def hist(raw):
        calls["hist"] += 1
        return real_hist(raw)

    monkeypatch.setattr(H, "unpack_dense", unpack)
    monkeypatch.setattr(H, "raw_histogram", hist)
    for i in range(200):
        run(e, c, "PFADD", "h", b"x%d" % i)
        reply = run(e, c, "PFCOUNT", "h")
        assert reply.startswith(b":")
    assert calls == {"unpack": 0, "hist": 0}
    # The estimate from the kept histogram is the one a full recount gives.
    monkeypatch.undo()
    v = e.dbs[0].data[b"h"]
    assert reply == b":%d\r\n" % H.estimate(H.raw_histogram(H.unpack_dense(bytes(v[H.HDR :]))))


def test_sparse_editor_is_reused_across_commands(monkeypatch):
    e = Engine()
    c = e.new_client()
    run(e, c, "PFADD", "h", *[b"%d" % i for i in range(800)])
    assert run(e, c, "PFDEBUG", "ENCODING", "h") == b"+sparse\r\n"
    builds = []
    real = H.SparseEditor._load

    def load(self, body):
        builds.append(len(body))
        return real(self, body)

    monkeypatch.setattr(H.SparseEditor, "_load", load)
    for i in range(100):
        run(e, c, "PFADD", "h", b"y%d" % i)
    assert len(builds) <= 1
    # Another command rewriting the string in place makes the kept editor stale.
    run(e, c, "SETRANGE", "h", "20", "\x00")
    run(e, c, "PFADD", "h", "zzz")
    assert len(builds) <= 2


def test_selftest():
    e = Engine()
    c = e.new_client()
    assert run(e, c, "PFSELFTEST") == b"+OK\r\n"
