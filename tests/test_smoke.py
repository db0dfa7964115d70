"""A first end-to-end check: redis-py over TCP against a running respdb."""


def test_set_get_roundtrip(r):
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"
    assert r.incr("n") == 1
    assert r.incrby("n", 41) == 42


def test_resp3_hello(r3):
    assert r3.set("k", "v")
    assert r3.get("k") == b"v"
    assert r3.get("missing") is None
