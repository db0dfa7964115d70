"""Lists in-process: the value forms, a model check, propagation, blocking through the engine, and scale."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from respdb.blocking import parse_timeout
from respdb.config import Config
from respdb.engine import Engine
from respdb.errors import CommandError
from respdb.types import lists as L


@pytest.fixture
def eng():
    return Engine(Config())


@pytest.fixture
def c(eng):
    return eng.new_client()


def run(eng, c, *args):
    return bytes(eng.execute(c, [a.encode() if isinstance(a, str) else a for a in args]))


def arr(*items: bytes | str) -> bytes:
    out = b"*%d\r\n" % len(items)
    for x in items:
        x = x.encode() if isinstance(x, str) else x
        out += b"$%d\r\n%b\r\n" % (len(x), x)
    return out


# -- value forms -------------------------------------------------------------


def test_forms_by_size():
    assert type(L.from_values([b"a"] * L.COMPACT_MAX_ENTRIES)) is L.ListPack
    assert type(L.from_values([b"a"] * (L.COMPACT_MAX_ENTRIES + 1))) is L.QuickList
    assert type(L.from_values([b"x" * 3000])) is L.QuickList  # past the byte limit
    assert L.from_values([]) is None
    odd = [b"", b"\r\n", b"$1\r\nx\r\n", b"\x00" * 5]
    for v in (L.from_values(odd), L.QuickList(L.item(x) for x in odd)):
        assert L.values_of(v) == odd
        assert L.length(v) == 4
        assert v.encoding() == "quicklist" and v.redis_type == "list"


def test_compact_form_is_its_own_lrange_reply():
    v = L.from_values([b"a", b"bc"])
    assert bytes(v) == b"*2\r\n$1\r\na\r\n$2\r\nbc\r\n"


@settings(max_examples=300, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["lpush", "rpush", "lpop", "rpop"]),
            st.integers(1, 40),
            st.sampled_from([b"", b"x", b"yy", b"z" * 100]),
        ),
        max_size=40,
    )
)
def test_push_pop_against_a_python_list(ops):
    v = None
    model: list[bytes] = []
    for op, n, x in ops:
        if op.endswith("push"):
            new = [L.item(x + b"%d" % i) for i in range(n)]
            left = op == "lpush"
            v = L.push_items(v, new, left)
            model = [L.element(i) for i in reversed(new)] + model if left else model + [L.element(i) for i in new]
        elif v is not None:
            left = op == "lpop"
            items, v = L.pop_items(v, n, left)
            k = len(items)
            expect = model[:k] if left else model[::-1][:k]
            assert [L.element(i) for i in items] == expect
            model = model[k:] if left else model[: len(model) - k]
        if v is None:
            assert model == []
        else:
            assert L.values_of(v) == model
            # the form follows the size rules
            if type(v) is L.ListPack:
                assert len(model) <= L.COMPACT_MAX_ENTRIES


def test_deque_shrinks_back_to_compact(eng, c):
    run(eng, c, "RPUSH", "l", *[str(i) for i in range(100)])
    assert type(eng.dbs[0].data[b"l"]) is L.QuickList
    run(eng, c, "RPOP", "l", "60")
    assert type(eng.dbs[0].data[b"l"]) is L.QuickList  # 40 left: above the shrink point
    for _ in range(8):
        run(eng, c, "RPOP", "l")
    assert type(eng.dbs[0].data[b"l"]) is L.ListPack
    assert run(eng, c, "LRANGE", "l", "0", "-1") == arr(*[str(i) for i in range(L.SHRINK_ENTRIES)])
    for _ in range(3):
        run(eng, c, "LPOP", "l")
    assert run(eng, c, "LLEN", "l") == b":29\r\n"


def test_copy_is_independent(eng, c):
    for n in (3, 200):
        run(eng, c, "DEL", "a", "b")
        run(eng, c, "RPUSH", "a", *[str(i) for i in range(n)])
        assert run(eng, c, "COPY", "a", "b") == b":1\r\n"
        run(eng, c, "LPUSH", "a", "new")
        run(eng, c, "LSET", "a", "5", "changed")
        assert run(eng, c, "LLEN", "b") == b":%d\r\n" % n
        assert run(eng, c, "LINDEX", "b", "0") == b"$1\r\n0\r\n"
        assert run(eng, c, "LPOS", "b", "changed") == b"$-1\r\n"


def test_ttl_kept_when_a_compact_list_is_replaced(eng, c):
    run(eng, c, "RPUSH", "l", "a", "b")
    run(eng, c, "EXPIRE", "l", "100")
    for cmd in (("LPUSH", "l", "x"), ("RPOP", "l"), ("LSET", "l", "0", "y"), ("LINSERT", "l", "AFTER", "y", "z"),
                ("LREM", "l", "1", "z"), ("LTRIM", "l", "0", "0"), ("RPUSH", "l", *["e"] * 80), ("LPOP", "l", "70")):  # fmt: skip
        run(eng, c, *cmd)
        assert run(eng, c, "TTL", "l") in (b":100\r\n", b":99\r\n"), cmd


# -- a model check through the commands ----------------------------------------

ELEMS = [b"a", b"b", b"", b"1", b"long" * 30]


@st.composite
def command(draw):
    e = draw(st.sampled_from(ELEMS))
    i = str(draw(st.integers(-70, 70)))
    return draw(
        st.sampled_from(
            [
                ("LPUSH", "k", e), ("RPUSH", "k", *[e] * draw(st.integers(1, 50))), ("LPOP", "k"), ("RPOP", "k"),
                ("LPOP", "k", str(draw(st.integers(0, 40)))), ("RPOP", "k", str(draw(st.integers(0, 40)))),
                ("LSET", "k", i, e), ("LINSERT", "k", "BEFORE", draw(st.sampled_from(ELEMS)), e),
                ("LINSERT", "k", "AFTER", draw(st.sampled_from(ELEMS)), e), ("LREM", "k", i, e), ("LTRIM", "k", i, "-1"),
                ("LTRIM", "k", "0", i), ("LMOVE", "k", "k", "LEFT", "RIGHT"), ("LMOVE", "k", "k", "RIGHT", "LEFT"),
            ]
        )
    )  # fmt: skip


def _model(model: list[bytes], cmd: tuple) -> None:
    name, *args = cmd
    n = len(model)

    def norm(i: int) -> int:
        return i + n if i < 0 else i

    if name == "LPUSH":
        model[:0] = [args[1]]
    elif name == "RPUSH":
        model.extend(args[1:])
    elif name in ("LPOP", "RPOP"):
        k = int(args[1]) if len(args) > 1 else 1
        if name == "LPOP":
            del model[:k]
        else:
            del model[max(0, n - k) :]
    elif name == "LSET":
        i = norm(int(args[1]))
        if 0 <= i < n:
            model[i] = args[2]
    elif name == "LINSERT":
        if args[2] in model:
            j = model.index(args[2])
            model.insert(j + (args[1] == "AFTER"), args[3])
    elif name == "LREM":
        cnt, x = int(args[1]), args[2]
        idx = [j for j, y in enumerate(model) if y == x]
        if cnt > 0:
            idx = idx[:cnt]
        elif cnt < 0:
            idx = idx[cnt:]
        for j in reversed(idx):
            del model[j]
    elif name == "LTRIM":
        s, e = norm(int(args[1])), norm(int(args[2]))
        s = max(s, 0)
        model[:] = [] if s > e or s >= n else model[s : e + 1]
    elif name == "LMOVE" and model:
        if args[2] == "LEFT":
            model.append(model.pop(0))
        else:
            model.insert(0, model.pop())


@settings(max_examples=150, deadline=None)
@given(cmds=st.lists(command(), max_size=40))
def test_commands_against_a_model(cmds):
    eng = Engine(Config())
    c = eng.new_client()
    model: list[bytes] = []
    for cmd in cmds:
        run(eng, c, *cmd)
        _model(model, cmd)
        assert run(eng, c, "LRANGE", "k", "0", "-1") == arr(*model), cmd
        assert run(eng, c, "LLEN", "k") == b":%d\r\n" % len(model)
        if model:
            assert run(eng, c, "LINDEX", "k", "-1") == arr(model[-1])[4:]
            assert run(eng, c, "LRANGE", "k", "2", "-3") == arr(*model[2 : len(model) - 2])
        else:
            assert run(eng, c, "EXISTS", "k") == b":0\r\n"


# -- propagation ----------------------------------------------------------------


def test_propagated_forms(eng, c):
    out: list[list[bytes]] = []
    eng.propagators.append(lambda dbid, argv: out.append(argv))
    run(eng, c, "RPUSH", "l", "a", "b", "c", "d", "e")
    run(eng, c, "BLPOP", "nokey", "l", "0")
    run(eng, c, "BRPOP", "l", "0")
    run(eng, c, "BLMOVE", "l", "m", "LEFT", "RIGHT", "0")
    run(eng, c, "BRPOPLPUSH", "m", "l", "0")
    run(eng, c, "LMPOP", "1", "l", "LEFT", "COUNT", "10")
    run(eng, c, "RPUSH", "l", "x")
    run(eng, c, "BLMPOP", "0", "1", "l", "RIGHT", "COUNT", "3")
    run(eng, c, "LPOP", "nokey")  # nothing changed: nothing propagated
    assert out == [
        [b"RPUSH", b"l", b"a", b"b", b"c", b"d", b"e"],
        [b"LPOP", b"l"],
        [b"RPOP", b"l"],
        [b"LMOVE", b"l", b"m", b"LEFT", b"RIGHT"],
        [b"RPOPLPUSH", b"m", b"l"],
        [b"LPOP", b"l", b"3"],
        [b"RPUSH", b"l", b"x"],
        [b"RPOP", b"l", b"1"],
    ]


def test_served_waiters_propagate_after_the_push(eng):
    out: list[tuple[int, list[bytes]]] = []
    eng.propagators.append(lambda dbid, argv: out.append((dbid, argv)))
    pusher, w1, w2 = eng.new_client(), eng.new_client(), eng.new_client()
    run(eng, w1, "SELECT", "3")
    assert run(eng, w1, "BLMOVE", "src", "dst", "RIGHT", "LEFT", "0") == b""
    run(eng, w2, "SELECT", "3")
    assert run(eng, w2, "BRPOP", "dst", "0") == b""
    assert eng.blocking.count == 2
    run(eng, pusher, "SELECT", "3")
    assert run(eng, pusher, "LPUSH", "src", "v") == b":1\r\n"
    assert w1.pushed == [b"$1\r\nv\r\n"] and w2.pushed == [arr("dst", "v")]
    assert out == [
        (3, [b"LPUSH", b"src", b"v"]),
        (3, [b"LMOVE", b"src", b"dst", b"RIGHT", b"LEFT"]),
        (3, [b"RPOP", b"dst"]),
    ]
    assert eng.blocking.count == 0 and not eng.dbs[3].blocking


def test_blocked_waiter_timeout_and_unblock_in_process(eng):
    w = eng.new_client()
    assert run(eng, w, "BLPOP", "k", "0.01") == b""
    time.sleep(0.02)
    eng.blocking.handle_timeouts()
    assert w.pushed == [b"*-1\r\n"] and w.bstate is None
    w.proto = 3
    run(eng, w, "BLMPOP", "0", "1", "k", "LEFT")
    assert eng.blocking.unblock(w, b"-UNBLOCKED x\r\n")
    assert w.pushed[-1] == b"-UNBLOCKED x\r\n"
    assert not eng.blocking.unblock(w, b"")


def test_multi_never_blocks(eng, c):
    run(eng, c, "MULTI")
    run(eng, c, "BLPOP", "k", "0")
    run(eng, c, "BLMOVE", "k", "d", "LEFT", "LEFT", "0")
    assert run(eng, c, "EXEC") == b"*2\r\n*-1\r\n$-1\r\n"
    assert eng.blocking.count == 0


# -- timeout parsing (values checked against redis-server 7.0.15) -------------------


@pytest.mark.parametrize(
    ("arg", "seconds"),
    [(b"0", 0.0), (b"0.05", 0.05), (b"0.0001", 0.001), (b"1e-9", 0.001), (b"-0.0001", 0.0), (b"-0", 0.0),
     (b"0x10", 16.0), (b"1.5", 1.5), (b"1e15", 0.0), (b"9223372036854775.806", 0.0)],
)  # fmt: skip
def test_parse_timeout(arg, seconds):
    assert parse_timeout(arg) == seconds


@pytest.mark.parametrize(
    ("arg", "err"),
    [(b"-1", "ERR timeout is negative"), (b"inf", "ERR timeout is negative"), (b"1e16", "ERR timeout is negative"),
     (b"9223372036854775.808", "ERR timeout is negative"), (b"nan", "ERR timeout is not a float or out of range"),
     (b" 1", "ERR timeout is not a float or out of range"), (b"", "ERR timeout is not a float or out of range"),
     (b"1e5000", "ERR timeout is not a float or out of range")],
)  # fmt: skip
def test_parse_timeout_errors(arg, err):
    with pytest.raises(CommandError) as ei:
        parse_timeout(arg)
    assert ei.value.msg == err


# -- scale ---------------------------------------------------------------------------


def test_million_element_list(eng, c):
    """Build 1M elements, then check that the end operations stay cheap (generous bounds)."""
    n = 1_000_000
    chunk = [b"%d" % i for i in range(1000)]
    for _ in range(n // 1000):
        eng.execute(c, [b"RPUSH", b"big", *chunk])
    assert run(eng, c, "LLEN", "big") == b":1000000\r\n"

    def per_op(*cmds: tuple, reps: int = 2000) -> float:
        t0 = time.perf_counter()
        for _ in range(reps):
            for cmd in cmds:
                run(eng, c, *cmd)
        return (time.perf_counter() - t0) / (reps * len(cmds))

    ends = per_op(("LPUSH", "big", "x"), ("RPOP", "big"), ("RPUSH", "big", "y"), ("LPOP", "big"),
                  ("LINDEX", "big", "3"), ("LINDEX", "big", "-3"), ("LSET", "big", "-2", "z"),
                  ("LRANGE", "big", "0", "9"), ("LRANGE", "big", "-10", "-1"))  # fmt: skip
    # O(1) at the ends: far below what touching a million elements would cost (several ms).
    assert ends < 200e-6, ends
    middle = per_op(("LINDEX", "big", "500000"), reps=50)
    assert middle < 5e-3, middle
    assert run(eng, c, "LINDEX", "big", "500000") == b"$1\r\n0\r\n"
    assert run(eng, c, "LRANGE", "big", "-3", "-1") == arr("997", "z", "y")
    assert run(eng, c, "LPOS", "big", "999", "MAXLEN", "2000") == b":999\r\n"
    assert run(eng, c, "LPOS", "big", "5", "RANK", "-1") == b":999005\r\n"
    assert run(eng, c, "LINSERT", "big", "AFTER", "3", "ins") == b":1000001\r\n"
    assert run(eng, c, "LREM", "big", "1", "ins") == b":1\r\n"
    assert run(eng, c, "LTRIM", "big", "1", "-2") == b"+OK\r\n"
    assert run(eng, c, "LLEN", "big") == b":999998\r\n"
    assert run(eng, c, "LTRIM", "big", "0", "4") == b"+OK\r\n"
    assert run(eng, c, "LRANGE", "big", "0", "-1") == arr("1", "2", "3", "4", "5")
