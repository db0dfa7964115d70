"""Streams: entries in listpack-shaped nodes, plus consumer groups.

Redis keeps a stream as a radix tree of listpacks ("nodes"). Which entries share a node is
visible to clients: `MAXLEN ~` / `MINID ~` only drop whole nodes, XINFO STREAM reports the
number of nodes and of radix tree nodes, and what an XADD propagates after approximate
trimming depends on it. So the node boundaries here are Redis's own: a node starts a new
listpack when the tail one holds `stream-node-max-entries` entries (live or deleted) or would
pass `stream-node-max-bytes`, and the byte size of each node is computed the way listpack
encodes it (integers that look like integers, string headers, back-lengths), without building
the bytes.

A node keeps its live entries as two lists (entry IDs as int keys, `ms << 64 | seq`, and their
flat field/value tuples), so that reads never step over deleted ones, and apart from them its
tombstones: like Redis, XDEL and exact trimming only flag an entry deleted inside its listpack,
which keeps it (fields, values and all) until the whole node goes, either when its last live
entry is deleted or when trimming drops the node. The tombstones are kept only to be written
back: RDB files and DUMP payloads carry them with the deleted flag, exactly as Redis lays them
out, and loading such a payload keeps them, so a RESTOREd stream DUMPs to the same bytes and
keeps Redis's node fill. Counters (live, deleted, the last ID appended, the listpack byte size)
decide where the next node starts. The tail node stays unpacked; a node that stops being the
tail is packed with marshal (live entries and tombstones in one bytes object, about 35 bytes an
entry instead of ~200), and unpacked again when a command touches it.
Finding an ID is a bisect over the node start IDs and then over the node's keys:
O(log n) to seek, O(1) amortized to append, O(m) to read m entries.

Consumer groups keep their pending entries list (PEL) in a SortedDict keyed by ID, and each
consumer its own SortedDict over the same NACK objects, as Redis's two radix trees do.
"""

from __future__ import annotations

import marshal
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from sortedcontainers import SortedDict

MAX64 = (1 << 64) - 1
MAX_ID = (MAX64 << 64) | MAX64
INVALID_ENTRIES_READ = -1  # Redis's SCG_INVALID_ENTRIES_READ


def id_bytes(k: int) -> bytes:
    return b"%d-%d" % (k >> 64, k & MAX64)


def entry_reply(k: int, fv: tuple) -> bytes:
    """One entry as Redis replies it: [id, [field, value, ...]]."""
    idb = b"%d-%d" % (k >> 64, k & MAX64)
    if len(fv) == 2:  # the usual single field: one format operation
        f, v = fv
        return b"*2\r\n$%d\r\n%b\r\n*2\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(idb), idb, len(f), f, len(v), v)
    head = b"*2\r\n$%d\r\n%b\r\n*%d\r\n" % (len(idb), idb, len(fv))
    return head + b"".join([b"$%d\r\n%b\r\n" % (len(x), x) for x in fv])


# ---------------------------------------------------------------------------
# Listpack sizes (what lpBytes() would say), for Redis's node boundaries.

_LP_EMPTY = 7  # header (total bytes + count) and the end byte
_INTLIKE = re.compile(rb"-?[1-9][0-9]{0,19}|0")
_INT_START = frozenset(b"-0123456789")


def _backlen(n: int) -> int:
    if n <= 127:
        return 1
    if n < 16383:
        return 2
    if n < 2097151:
        return 3
    if n < 268435455:
        return 4
    return 5


def lp_int_size(v: int) -> int:
    """Bytes of an integer listpack element (encoding plus back-length)."""
    if 0 <= v <= 127:
        return 2
    if -4096 <= v <= 4095:
        return 3
    if -32768 <= v <= 32767:
        return 4
    if -8388608 <= v <= 8388607:
        return 5
    if -2147483648 <= v <= 2147483647:
        return 6
    return 10


def lp_str_size(b: bytes) -> int:
    """Bytes of a string listpack element; strings that are int64 numbers are stored as integers."""
    n = len(b)
    if n and n <= 20 and b[0] in _INT_START:
        if b.isdigit() and (b[0] != 48 or n == 1) or _INTLIKE.fullmatch(b):
            v = int(b)
            if -(1 << 63) <= v < (1 << 63):
                return lp_int_size(v)
    if n < 64:
        enc = 1 + n
    elif n < 4096:
        enc = 2 + n
    else:
        enc = 5 + n
    return enc + _backlen(enc)


def _signed64(v: int) -> int:
    v &= MAX64
    return v - (1 << 64) if v >> 63 else v


# ---------------------------------------------------------------------------
# Nodes


class Node:
    """One listpack's worth of entries. `keys`/`vals` (live entries) and `dead` (tombstones:
    sorted (id, fv) pairs, None when there are none) are None while packed into `blob`."""

    __slots__ = ("master", "fields", "keys", "vals", "dead", "blob", "deleted", "live", "body", "last", "enc")

    def __init__(self, master: int, fields: tuple) -> None:
        self.master = master  # ID of the node's first entry (the radix tree key)
        self.fields = fields  # the master entry's field names
        self.keys: list[int] | None = []
        self.vals: list[tuple] | None = []
        self.dead: list[tuple[int, tuple]] | None = None
        self.blob: bytes | None = None
        self.live = 0
        self.deleted = 0  # tombstones Redis still keeps in this listpack
        self.last = master  # ID of the last entry appended (deleted or not)
        # Replies for `keys`/`vals` (entry_reply), built when the node is first read while unpacked.
        self.enc: list[bytes] | None = None
        # Listpack bytes except the live/deleted counters at its head.
        body = _LP_EMPTY + lp_int_size(len(fields)) + 2  # num-fields and the 0 terminator
        for f in fields:
            body += lp_str_size(f)
        self.body = body

    def nbytes(self) -> int:
        return self.body + lp_int_size(self.live) + lp_int_size(self.deleted)

    def view(self) -> tuple[list[int], list[tuple]]:
        """(keys, vals) of the live entries for reading; do not change them."""
        if self.keys is not None:
            return self.keys, self.vals  # type: ignore[return-value]
        t = marshal.loads(self.blob)  # type: ignore[arg-type]
        return t if len(t) == 2 else t[:2]

    def tombstones(self) -> list[tuple[int, tuple]]:
        """The deleted entries the listpack still holds, (id, fv) ascending; do not change them."""
        if self.keys is not None:
            return self.dead or []
        t = marshal.loads(self.blob)  # type: ignore[arg-type]
        return t[2] if len(t) == 3 else []

    def unpack(self) -> None:
        if self.keys is None:
            t = marshal.loads(self.blob)  # type: ignore[arg-type]
            self.keys, self.vals = t[0], t[1]
            self.dead = t[2] if len(t) == 3 else None
            self.blob = None

    def pack(self) -> None:
        if self.keys is not None:
            dead = self.dead
            self.blob = marshal.dumps((self.keys, self.vals, dead) if dead else (self.keys, self.vals))
            self.keys = self.vals = self.dead = None
        self.enc = None

    def bury(self, pairs: list[tuple[int, tuple]]) -> None:
        """Keep entries just deleted (ascending) as tombstones (the node must be unpacked)."""
        dead = self.dead
        if not dead:
            self.dead = pairs
            return
        merge = pairs[0][0] < dead[-1][0]
        dead += pairs
        if merge:
            dead.sort(key=_first)  # two sorted runs: one linear merge

    def encoded(self) -> list[bytes]:
        """The replies of the node's entries (the node must be unpacked)."""
        enc = self.enc
        if enc is None:
            enc = self.enc = [entry_reply(k, fv) for k, fv in zip(self.keys, self.vals, strict=True)]  # type: ignore[arg-type]
        return enc

    def copy(self) -> Node:
        n = Node.__new__(Node)
        n.master, n.fields, n.live, n.deleted, n.body, n.last = (
            self.master, self.fields, self.live, self.deleted, self.body, self.last)  # fmt: skip
        n.enc = None
        if self.keys is not None:
            n.keys, n.vals, n.blob = list(self.keys), list(self.vals), None  # type: ignore[arg-type]
            n.dead = list(self.dead) if self.dead else None
        else:
            n.keys = n.vals = n.dead = None
            n.blob = self.blob
        return n


def _first(pair: tuple) -> int:
    return pair[0]


# ---------------------------------------------------------------------------
# Consumer groups


class NACK:
    """A pending entry: who has it, when it was last delivered, how many times."""

    __slots__ = ("consumer", "time", "count")

    def __init__(self, consumer: Consumer | None, time: int, count: int = 1) -> None:
        self.consumer = consumer
        self.time = time
        self.count = count


class Consumer:
    __slots__ = ("name", "seen", "pel")

    def __init__(self, name: bytes, seen: int) -> None:
        self.name = name
        self.seen = seen
        self.pel: SortedDict = SortedDict()


class Group:
    __slots__ = ("last_id", "entries_read", "pel", "consumers")

    def __init__(self, last_id: int, entries_read: int) -> None:
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel: SortedDict = SortedDict()  # id -> NACK
        self.consumers: dict[bytes, Consumer] = {}

    def sorted_consumers(self) -> list[Consumer]:
        """In Redis's radix tree order (bytewise by name)."""
        cs = self.consumers
        return [cs[k] for k in sorted(cs)]

    def copy(self) -> Group:
        g = Group(self.last_id, self.entries_read)
        for name, cons in self.consumers.items():
            nc = Consumer(name, cons.seen)
            g.consumers[name] = nc
        for k, nack in self.pel.items():
            owner = g.consumers[nack.consumer.name] if nack.consumer is not None else None
            n2 = NACK(owner, nack.time, nack.count)
            g.pel[k] = n2
            if owner is not None:
                owner.pel[k] = n2
        return g


# ---------------------------------------------------------------------------
# The stream


class Stream:
    redis_type = "stream"

    __slots__ = ("nodes", "starts", "length", "last_id", "max_deleted", "entries_added", "groups", "_open")

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.starts: list[int] = []  # nodes[i].master, for bisect
        self.length = 0
        self.last_id = 0
        self.max_deleted = 0
        self.entries_added = 0
        self.groups: dict[bytes, Group] | None = None
        self._open: list[Node] = []  # non-tail nodes unpacked for changes, packed again later

    def encoding(self) -> str:
        return "stream"

    def copy(self) -> Stream:
        s = Stream()
        s.nodes = [n.copy() for n in self.nodes]
        for n in s.nodes[:-1]:
            n.pack()
        s.starts = list(self.starts)
        s.length, s.last_id, s.max_deleted, s.entries_added = (
            self.length, self.last_id, self.max_deleted, self.entries_added)  # fmt: skip
        if self.groups is not None:
            s.groups = {name: g.copy() for name, g in self.groups.items()}
        return s

    # -- node bookkeeping ------------------------------------------------------

    def _edit(self, node: Node) -> None:
        """Unpack `node` to read or change it. The last few nodes unpacked stay so (reads and
        trims tend to come back to the same head nodes); older ones are packed again."""
        if node.keys is not None:
            return
        node.unpack()
        opened = self._open
        opened.append(node)
        if len(opened) > 8:
            old = opened.pop(0)
            if self.nodes and old is not self.nodes[-1] and old.keys is not None:
                old.pack()

    def _lists(self, node: Node) -> tuple[list[int], list[tuple]]:
        if node.keys is None:
            self._edit(node)
        return node.keys, node.vals  # type: ignore[return-value]

    def _drop_node(self, i: int) -> None:
        node = self.nodes.pop(i)
        del self.starts[i]
        if node in self._open:
            self._open.remove(node)

    # -- adding ----------------------------------------------------------------

    def append(self, k: int, fv: tuple, max_bytes: int, max_entries: int, total: int | None = None) -> None:
        """Add entry `k` (greater than last_id) with flat fields/values `fv`, as streamAppendItem.
        `total` is the summed length of the fields and values, when the caller has it."""
        nodes = self.nodes
        node = nodes[-1] if nodes else None
        if node is not None:
            limit = max_bytes if 0 < max_bytes <= (1 << 30) else (1 << 30)
            if total is None:
                total = sum(map(len, fv))
            full = max_entries and node.live + node.deleted >= max_entries
            if full or node.nbytes() + total >= limit:
                node = None
        fields = fv[0::2]
        if node is None:
            if nodes:
                tail = nodes[-1]
                if tail in self._open:
                    self._open.remove(tail)
                tail.pack()
            node = Node(k, fields)
            nodes.append(node)
            self.starts.append(k)
            same = True
        else:
            same = fields == node.fields
        master = node.master
        # flags, ms and seq deltas from the master entry, [num-fields, fields], values, lp-count
        d_ms = (k >> 64) - (master >> 64)
        d_seq = (k & MAX64) - (master & MAX64)
        size = 2 + (2 if 0 <= d_ms <= 127 else lp_int_size(_signed64(d_ms)))
        size += 2 if 0 <= d_seq <= 127 else lp_int_size(_signed64(d_seq))
        nf = len(fields)
        if same:
            if nf == 1:
                size += lp_str_size(fv[1])
            else:
                for x in fv[1::2]:
                    size += lp_str_size(x)
            size += 2 if nf <= 124 else lp_int_size(nf + 3)
        else:
            size += lp_int_size(nf)
            for x in fv:
                size += lp_str_size(x)
            size += lp_int_size(2 * nf + 4)
        node.body += size
        if node.keys is None:
            self._edit(node)
        node.keys.append(k)  # type: ignore[union-attr]
        node.vals.append(fv)  # type: ignore[union-attr]
        if node.enc is not None:
            node.enc.append(entry_reply(k, fv))
        node.live += 1
        node.last = k
        self.length += 1
        self.entries_added += 1
        self.last_id = k

    # -- reading ---------------------------------------------------------------

    def _first_node(self, start: int) -> int:
        i = bisect_right(self.starts, start) - 1
        return i if i > 0 else 0

    def iter_range(self, start: int, end: int) -> Iterator[tuple[int, tuple]]:
        """Live entries with start <= id <= end, ascending."""
        nodes = self.nodes
        starts = self.starts
        i = self._first_node(start)
        n = len(nodes)
        while i < n:
            if starts[i] > end:
                return
            node = nodes[i]
            i += 1
            if not node.live:
                continue
            keys, vals = self._lists(node)
            j = bisect_left(keys, start) if keys and keys[0] < start else 0
            m = len(keys)
            while j < m:
                k = keys[j]
                if k > end:
                    return
                yield k, vals[j]
                j += 1

    def _slices(self, start: int, end: int, count: int, rev: bool):
        """(node, keys, lo, hi) runs of live entries with start <= id <= end, in order, at
        most `count` entries in all (0: no limit). Whole runs of a node are sliced at once."""
        if start > end:
            return
        nodes = self.nodes
        starts = self.starts
        taken = 0
        if not rev:
            i = self._first_node(start)
            n = len(nodes)
            while i < n and starts[i] <= end:
                node = nodes[i]
                i += 1
                if not node.live:
                    continue
                keys = self._lists(node)[0]
                m = len(keys)
                lo = bisect_left(keys, start) if keys[0] < start else 0
                hi = bisect_right(keys, end) if keys[-1] > end else m
                if count and hi - lo > count - taken:
                    hi = lo + count - taken
                if lo < hi:
                    taken += hi - lo
                    yield node, lo, hi
                if hi < m or (count and taken >= count):
                    return
            return
        i = bisect_right(starts, end) - 1
        while i >= 0:
            node = nodes[i]
            i -= 1
            if not node.live:
                continue
            keys = self._lists(node)[0]
            lo = bisect_left(keys, start) if keys[0] < start else 0
            hi = bisect_right(keys, end) if keys[-1] > end else len(keys)
            if count and hi - lo > count - taken:
                lo = hi - (count - taken)
            if lo < hi:
                taken += hi - lo
                yield node, lo, hi
            if lo > 0 or (count and taken >= count) or node.master < start:
                return

    def range(self, start: int, end: int, count: int = 0, rev: bool = False) -> list[tuple[int, tuple]]:
        """Live entries with start <= id <= end, at most `count` (0: all), ascending or descending."""
        out: list[tuple[int, tuple]] = []
        for node, lo, hi in self._slices(start, end, count, rev):
            keys, vals = self._lists(node)
            if rev:
                out.extend(zip(reversed(keys[lo:hi]), reversed(vals[lo:hi]), strict=True))
            else:
                out.extend(zip(keys[lo:hi], vals[lo:hi], strict=True))
        return out

    def range_replies(self, start: int, end: int, count: int = 0, rev: bool = False) -> list[bytes]:
        """Like range(), but the entries' replies (from each node's cache of them)."""
        out: list[bytes] = []
        for node, lo, hi in self._slices(start, end, count, rev):
            run = node.encoded()[lo:hi]
            out += reversed(run) if rev else run
        return out

    def get(self, k: int) -> tuple | None:
        i = bisect_right(self.starts, k) - 1
        if i < 0:
            return None
        node = self.nodes[i]
        if not node.live or k > node.last:
            return None
        keys, vals = self._lists(node)
        j = bisect_left(keys, k)
        if j < len(keys) and keys[j] == k:
            return vals[j]
        return None

    def first_valid_id(self) -> int | None:
        for node in self.nodes:
            if node.live:
                return self._lists(node)[0][0]
        return None

    def last_valid_id(self) -> int | None:
        for node in reversed(self.nodes):
            if node.live:
                return self._lists(node)[0][-1]
        return None

    def first_id(self) -> int:
        """Redis's recorded first entry ID (0-0 when empty)."""
        k = self.first_valid_id()
        return 0 if k is None else k

    def first_id_with_tombstones(self) -> int:
        """The first entry a listpack still holds, deleted or not; (max, max) when no node."""
        return self.nodes[0].master if self.nodes else MAX_ID

    # -- deleting --------------------------------------------------------------

    def delete(self, k: int) -> bool:
        """XDEL one ID: mark it deleted (drop the node when nothing live is left)."""
        i = bisect_right(self.starts, k) - 1
        if i < 0:
            return False
        node = self.nodes[i]
        if not node.live or k > node.last:
            return False
        keys, vals = self._lists(node)
        j = bisect_left(keys, k)
        if j >= len(keys) or keys[j] != k:
            return False
        if node.live == 1:
            self._drop_node(i)  # Redis frees the listpack with its last live entry
        else:
            node.bury([(k, vals[j])])
            del keys[j]
            del vals[j]
            if node.enc is not None:
                del node.enc[j]
            node.live -= 1
            node.deleted += 1
        self.length -= 1
        return True

    def trim(self, maxlen: int | None, minid: int | None, approx: bool, limit: int) -> int:
        """streamTrim: MAXLEN (maxlen set) or MINID (minid set); returns how many were removed."""
        deleted = 0
        nodes = self.nodes
        gone = 0  # whole nodes removed from the front
        try:
            while gone < len(nodes):
                if maxlen is not None and self.length <= maxlen:
                    break
                node = nodes[gone]
                entries = node.live
                if limit and deleted + entries > limit:
                    break
                if maxlen is not None:
                    remove = self.length - entries >= maxlen
                else:
                    remove = node.last < minid  # type: ignore[operator]
                if remove:
                    gone += 1
                    self.length -= entries
                    deleted += entries
                    continue
                if approx:
                    break
                deleted += self._trim_inside(node, maxlen, minid)
                break
        finally:
            if gone:
                for node in nodes[:gone]:
                    if node in self._open:
                        self._open.remove(node)
                del nodes[:gone]
                del self.starts[:gone]
        return deleted

    def _trim_inside(self, node: Node, maxlen: int | None, minid: int | None) -> int:
        """Exact trimming inside the first node that stays: mark its oldest entries deleted."""
        self._edit(node)
        keys = node.keys
        vals = node.vals
        if maxlen is not None:
            n = min(self.length - maxlen, len(keys))  # type: ignore[arg-type]
        else:
            n = bisect_left(keys, minid)  # type: ignore[arg-type]
        if n:
            node.bury(list(zip(keys[:n], vals[:n], strict=True)))  # type: ignore[index]
            del keys[:n]  # type: ignore[index]
            del vals[:n]  # type: ignore[index]
            if node.enc is not None:
                del node.enc[:n]
            node.live -= n
            node.deleted += n
            self.length -= n
        return n

    # -- XINFO -----------------------------------------------------------------

    def rax_nodes(self) -> int:
        return rax_nodes_of(self.starts)


def rax_nodes_of(starts: list[int]) -> int:
    """How many nodes Redis's radix tree has for these node keys (16-byte big-endian IDs).

    A compressed radix tree over keys of one length has: the root, one node per key, one per
    branching prefix other than the root, and one per compressed chain that starts right below a
    branching prefix."""
    keys = [k.to_bytes(16, "big") for k in starts]
    n = len(keys)
    if n == 0:
        return 1
    branches = set()
    for a, b in zip(keys, keys[1:], strict=False):
        p = 0
        while a[p] == b[p]:
            p += 1
        branches.add(a[:p])
    children = (n - 1) + len(branches)
    branch_children = sum(1 for q in branches if q and q[:-1] in branches)
    leaf_children = sum(1 for k in keys if k[:15] in branches)
    chains = children - branch_children - leaf_children
    return 1 + n + len(branches - {b""}) + chains


# ---------------------------------------------------------------------------
# Consumer group arithmetic (Redis 7.0's entries-read and lag tracking)


def range_has_tombstones(s: Stream, start: int | None, end: int | None = None) -> bool:
    if not s.length or not s.max_deleted:
        return False
    if s.first_id() > s.max_deleted:
        return False
    lo = 0 if start is None else start
    hi = MAX_ID if end is None else end
    return lo <= s.max_deleted <= hi


def estimate_distance(s: Stream, k: int) -> int:
    """streamEstimateDistanceFromFirstEverEntry: the entries-read counter of ID `k`, or -1."""
    if not s.entries_added:
        return 0
    if not s.length and k <= s.last_id:
        return s.entries_added
    if k == s.last_id:
        return s.entries_added
    if k > s.last_id:
        return INVALID_ENTRIES_READ
    first = s.first_id()
    if not s.max_deleted or s.max_deleted < first:
        if k < first:
            return s.entries_added - s.length
        if k == first:
            return s.entries_added - s.length + 1
    return INVALID_ENTRIES_READ


def group_lag(s: Stream, g: Group) -> int | None:
    if not s.entries_added:
        return 0
    if g.entries_read != INVALID_ENTRIES_READ and not range_has_tombstones(s, g.last_id):
        return s.entries_added - g.entries_read
    er = estimate_distance(s, g.last_id)
    if er != INVALID_ENTRIES_READ:
        return s.entries_added - er
    return None


def note_delivered(s: Stream, g: Group, k: int) -> None:
    """The group's last delivered ID moves to `k` (greater than it): keep entries_read."""
    if g.entries_read != INVALID_ENTRIES_READ and not range_has_tombstones(s, k):
        g.entries_read += 1
    elif s.entries_added:
        g.entries_read = estimate_distance(s, k)
    g.last_id = k
