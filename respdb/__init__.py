"""respdb: a Redis-compatible data store written in Python."""

__version__ = "0.1.0"

# The Redis version respdb behaves as (clients gate features on it).
REDIS_VERSION = "7.0.15"
