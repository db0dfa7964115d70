"""Session fixtures for differential tests: one connection pair per protocol version."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import Pair


def pytest_collection_modifyitems(items):
    for item in items:
        if "/differential/" in str(item.fspath):
            item.add_marker(pytest.mark.differential)


@pytest.fixture(scope="session")
def pair2(redis_server, respdb_server) -> Iterator[Pair]:
    p = Pair(redis_server.port, respdb_server.port, proto=2)
    yield p
    p.close()


@pytest.fixture(scope="session")
def pair3(redis_server, respdb_server) -> Iterator[Pair]:
    p = Pair(redis_server.port, respdb_server.port, proto=3)
    yield p
    p.close()


@pytest.fixture(scope="session", params=[2, 3], ids=["resp2", "resp3"])
def pair(request) -> Pair:
    """The pair for each protocol in turn; not reset (hypothesis tests reset per example)."""
    return request.getfixturevalue("pair%d" % request.param)


@pytest.fixture
def p(pair: Pair) -> Pair:
    """A pair on empty servers, connections on db 0."""
    pair.reset()
    return pair
