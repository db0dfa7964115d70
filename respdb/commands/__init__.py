"""Command handlers, one module per Redis group; `load_all()` registers them."""


def load_all() -> None:
    from respdb.commands import connection, introspection, keys, server, strings  # noqa: F401
