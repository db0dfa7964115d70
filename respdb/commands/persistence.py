"""Persistence commands: SAVE, BGSAVE, LASTSAVE, DUMP, RESTORE."""

from __future__ import annotations

import time

from respdb import errors, notify
from respdb.commands.args import get_int
from respdb.commands.table import command
from respdb.errors import CommandError
from respdb.persistence import rdb
from respdb.resp import OK, bulk, integer, null, simple
from respdb.types.corrupt import Corrupt

GENERIC = notify.GENERIC
BUSYKEY = "BUSYKEY Target key name already exists."
BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_FORMAT = "ERR Bad data format"


@command("save")
def cmd_save(c, argv):
    p = c.engine.persistence
    if p.child_pid != -1 or c.engine.replication.child_pid != -1:  # (a replica's snapshot is an RDB child)
        raise CommandError("ERR Background save already in progress")
    p.rdb_saves += 1
    if not p.save():
        raise CommandError("ERR")
    return OK


@command("bgsave")
def cmd_bgsave(c, argv):
    schedule = False
    if len(argv) > 1:
        if len(argv) == 2 and argv[1].lower() == b"schedule":
            schedule = True
        else:
            raise CommandError(errors.SYNTAX)
    p = c.engine.persistence
    if p.child_pid != -1 or c.engine.replication.child_pid != -1:  # (a replica's snapshot is an RDB child)
        raise CommandError("ERR Background save already in progress")
    if c.in_multi:
        # Redis never forks from inside EXEC: the save is left to the cron.
        p.bgsave_scheduled = True
        return simple("Background saving scheduled")
    if c.engine.aof.child_pid != -1:  # an AOF rewrite is running
        if schedule:
            p.bgsave_scheduled = True
            return simple("Background saving scheduled")
        raise CommandError(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. "
            "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible."
        )
    if p.bgsave():
        return simple("Background saving started")
    raise CommandError("ERR")


@command("lastsave")
def cmd_lastsave(c, argv):
    return integer(c.engine.persistence.lastsave)


@command("dump")
def cmd_dump(c, argv):
    v = c.db.read(argv[1])  # a read lookup: the access is noted and counted, as in Redis
    if v is None:
        return null(c.proto)
    cfg = c.engine.config
    return bulk(rdb.dump_payload(v, cfg["rdbcompression"] == "yes", cfg.get_int("list-max-listpack-size")))


@command("restore")
def cmd_restore(c, argv):
    e = c.engine
    db = c.db
    key = argv[1]
    replace = absttl = False
    idle = freq = -1
    j = 4
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        more = n - j - 1
        if opt == b"replace":
            replace = True
        elif opt == b"absttl":
            absttl = True
        elif opt == b"idletime" and more >= 1 and freq == -1:
            idle = get_int(argv[j + 1])
            if idle < 0:
                raise CommandError("ERR Invalid IDLETIME value, must be >= 0")
            j += 1
        elif opt == b"freq" and more >= 1 and idle == -1:
            freq = get_int(argv[j + 1])
            if freq < 0 or freq > 255:
                raise CommandError("ERR Invalid FREQ value, must be >= 0 and <= 255")
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    if not replace and db.peek(key) is not None:
        raise CommandError(BUSYKEY)
    ttl = get_int(argv[2])
    if ttl < 0:
        raise CommandError("ERR Invalid TTL value, must be >= 0")
    payload = argv[3]
    if not rdb.verify_payload(payload, not e.__dict__.get("skip_checksum_validation")):  # DEBUG SET-SKIP-...
        raise CommandError(BAD_PAYLOAD)
    try:
        value = rdb.load_payload(payload, rdb.Limits(e.config, e, _deep_restore(c)))
    except rdb.RDBError as err:
        # Redis's rdbReportError in a RESTORE: logged at verbose level, the command fails
        e.log("verbose", "Internal error in RDB reading offset 0, function at rdb.c:0 -> %s" % rdb.redis_reason(err))
        raise CommandError(BAD_FORMAT) from None
    except rdb.EmptyKey:
        raise CommandError(BAD_FORMAT) from None
    deleted = replace and db.delete(key)
    now = int(time.time() * 1000)
    if ttl and not absttl:
        ttl += now
    if ttl and e.already_expired(ttl, now):
        # Already expired: nothing is stored; a replaced key is gone (and propagated as such).
        if deleted:
            lazy = e.config["lazyfree-lazy-server-del"] == "yes"
            c.propagate_as([b"UNLINK" if lazy else b"DEL", key])
            e.written(db, key, "del", GENERIC)
        return OK
    db.set(key, value)
    if type(value) is Corrupt:
        e.corrupt_values = True
        e.update_gates()
    if ttl:
        db.set_expire(key, ttl)
        if not absttl:
            c.propagate_as([argv[0], key, b"%d" % ttl, *argv[3:], b"ABSTTL"])
    _set_access(db, key, idle, freq)
    e.written(db, key, "restore", GENERIC)
    e.blocking.signal_ready(db, key)
    return OK


def _deep_restore(c) -> bool:
    """Whether RESTORE sanitizes its payload deeply: sanitize-dump-payload yes; with `clients`,
    for everyone but the master, the AOF and users with skip-sanitize-payload."""
    from respdb.acl import SKIP_SANITIZE

    mode = c.engine.config["sanitize-dump-payload"]
    if mode != "clients":
        return mode == "yes"
    if c.kind in ("master", "aof"):
        return False
    user = c.engine.acl.users.get(c.user)
    return user is None or not user.flags & SKIP_SANITIZE


def _set_access(db, key: bytes, idle: int, freq: int) -> None:
    """objectSetLRUOrLFU: IDLETIME under an LRU (or no) policy, FREQ under an LFU one."""
    from respdb import lfu
    from respdb.keyspace import Database

    if Database.lfu:
        if freq >= 0:
            db.set_access_field(key, (lfu.minutes() << 8) | freq)
    elif idle >= 0:
        db.set_idle(key, idle)
