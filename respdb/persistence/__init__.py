"""Persistence in Redis's own formats.

- `rdb`: RDB version 10 files and DUMP payloads (reader and writer);
- `packed`: listpack / ziplist / zipmap / intset blobs found inside them;
- `lzf`, `crc64`: the compression and checksum Redis uses;
- `snapshot`: SAVE / BGSAVE / save points / shutdown saving / start-up loading for an engine;
- `functions`: function libraries carried by RDB files, to and from respdb.scripting.
"""
