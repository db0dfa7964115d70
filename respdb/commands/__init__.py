"""Command handlers, one module per Redis group; `load_all()` registers them."""


def load_all() -> None:
    from respdb.commands import connection, introspection, keys, lists, pubsub, server, strings, transactions  # noqa: F401
