"""Differential tests: the same commands to a real redis-server and to respdb, replies compared."""
