"""(score, member) pairs kept in sorted-set order, for large sorted sets.

The pairs live in chunks of about LOAD elements, each chunk a pair of parallel sequences: the
scores in an `array('d')` (contiguous doubles, so a binary search touches no Python objects but
the probes) and the members in a list. This is the layout of sortedcontainers' SortedList with
the (score, member) tuples unpacked: no tuple and no float object per element, which halves
the memory of the order and keeps inserts into a million-element set near a microsecond.

Order is by score, then member bytes (Redis's skiplist order; -0.0 equals 0.0). Chunks are
found by binary search over each chunk's last pair. Positions (ranks) come from a Fenwick tree
over the chunk lengths, built on the first positional query and kept up to date by inserts and
removes until a chunk splits or merges, so ZRANK / ZRANGE stay O(log n) while a plain stream of
ZADDs never pays for it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator

LOAD = 500


class SortedPairs:
    __slots__ = ("_sc", "_mc", "_maxes", "_len", "_tree")

    def __init__(self, pairs: Iterable[tuple[float, bytes]] = ()) -> None:
        """`pairs` must already be in order, with distinct members."""
        self._sc: list[array] = []
        self._mc: list[list[bytes]] = []
        self._maxes: list[tuple[float, bytes]] = []  # last pair of each chunk
        self._len = 0
        self._tree: list[int] | None = None
        pairs = list(pairs)
        for k in range(0, len(pairs), LOAD):
            part = pairs[k : k + LOAD]
            self._sc.append(array("d", [s for s, _ in part]))
            self._mc.append([m for _, m in part])
            self._maxes.append(part[-1])
        self._len = len(pairs)

    def __len__(self) -> int:
        return self._len

    def copy(self) -> SortedPairs:
        new = SortedPairs()
        new._sc = [array("d", sc) for sc in self._sc]
        new._mc = [list(mc) for mc in self._mc]
        new._maxes = list(self._maxes)
        new._len = self._len
        return new

    # -- finding -------------------------------------------------------------

    def _chunk_for(self, s: float, m: bytes) -> int:
        maxes = self._maxes
        i = bisect_left(maxes, (s, m))
        return i if i < len(maxes) else len(maxes) - 1

    def _find(self, s: float, m: bytes) -> tuple[int, int]:
        """(chunk, index) where (s, m) is or would go."""
        i = self._chunk_for(s, m)
        sc = self._sc[i]
        lo = bisect_left(sc, s)
        if lo < len(sc) and sc[lo] == s:
            lo = bisect_left(self._mc[i], m, lo, bisect_right(sc, s, lo))
        return i, lo

    # -- positions (Fenwick tree over chunk lengths) -------------------------

    def _build_tree(self) -> list[int]:
        n = len(self._sc)
        tree = [0] * (n + 1)
        for i, sc in enumerate(self._sc, 1):
            tree[i] += len(sc)
            j = i + (i & -i)
            if j <= n:
                tree[j] += tree[i]
        self._tree = tree
        return tree

    def _prefix(self, i: int) -> int:
        """Elements in chunks [0, i)."""
        if i == 0:
            return 0
        if i == len(self._sc):
            return self._len
        tree = self._tree or self._build_tree()
        total = 0
        while i:
            total += tree[i]
            i &= i - 1
        return total

    def _tree_add(self, i: int, delta: int) -> None:
        tree = self._tree
        n = len(tree) - 1
        i += 1
        while i <= n:
            tree[i] += delta
            i += i & -i

    def _locate(self, pos: int) -> tuple[int, int]:
        """(chunk, index) of position 0 <= pos < len."""
        first = len(self._sc[0])
        if pos < first:
            return 0, pos
        last = len(self._sc[-1])
        if pos >= self._len - last:
            return len(self._sc) - 1, pos - (self._len - last)
        tree = self._tree or self._build_tree()
        n = len(tree) - 1
        k = 0
        bit = 1 << (n.bit_length() - 1)
        while bit:
            nk = k + bit
            if nk <= n and tree[nk] <= pos:
                k = nk
                pos -= tree[nk]
            bit >>= 1
        return k, pos

    def rank(self, s: float, m: bytes) -> int:
        """Position of a pair known to be present."""
        i, j = self._find(s, m)
        return self._prefix(i) + j

    def bisect_score(self, x: float) -> int:
        """How many pairs have a score below x."""
        if not self._len:
            return 0
        i = bisect_left(self._maxes, (x,))
        if i == len(self._maxes):
            return self._len
        return self._prefix(i) + bisect_left(self._sc[i], x)

    def bisect_members(self, pred) -> int:
        """First position whose member fails `pred`, for a predicate that holds on a prefix of
        the members (true when all scores are equal, as lexicographic ranges require)."""
        maxes = self._maxes
        i = bisect_left(maxes, True, key=lambda p: not pred(p[1]))
        if i == len(maxes):
            return self._len
        return self._prefix(i) + bisect_left(self._mc[i], True, key=lambda m: not pred(m))

    def at(self, pos: int) -> tuple[float, bytes]:
        i, j = self._locate(pos)
        return self._sc[i][j], self._mc[i][j]

    def first(self) -> tuple[float, bytes]:
        return self._sc[0][0], self._mc[0][0]

    def last(self) -> tuple[float, bytes]:
        return self._sc[-1][-1], self._mc[-1][-1]

    def pairs(self, lo: int, hi: int) -> list[tuple[float, bytes]]:
        """Pairs at positions [lo, hi) (clipped to the end), ascending."""
        hi = min(hi, self._len)
        lo = max(lo, 0)
        if hi <= lo:
            return []
        i, j = self._locate(lo)
        need = hi - lo
        sc = self._sc[i]
        if j + need <= len(sc):  # within one chunk
            return list(zip(sc[j : j + need], self._mc[i][j : j + need], strict=True))
        out: list[tuple[float, bytes]] = []
        sc_all, mc_all = self._sc, self._mc
        while need > 0:
            sc, mc = sc_all[i], mc_all[i]
            end = min(len(sc), j + need)
            out.extend(zip(sc[j:end], mc[j:end], strict=True))
            need -= end - j
            i += 1
            j = 0
        return out

    def __iter__(self) -> Iterator[tuple[float, bytes]]:
        for sc, mc in zip(self._sc, self._mc, strict=True):
            yield from zip(sc, mc, strict=True)

    def __reversed__(self) -> Iterator[tuple[float, bytes]]:
        for sc, mc in zip(reversed(self._sc), reversed(self._mc), strict=True):
            yield from zip(reversed(sc), reversed(mc), strict=True)

    # -- changing ------------------------------------------------------------

    def add(self, s: float, m: bytes) -> None:
        """Insert a pair whose member is not present."""
        maxes = self._maxes
        if not maxes:
            self._sc.append(array("d", (s,)))
            self._mc.append([m])
            maxes.append((s, m))
            self._len = 1
            self._tree = None
            return
        i = bisect_left(maxes, (s, m))
        if i == len(maxes):
            i -= 1
        sc = self._sc[i]
        mc = self._mc[i]
        j = bisect_left(sc, s)
        if j < len(sc) and sc[j] == s:
            j = bisect_left(mc, m, j, bisect_right(sc, s, j))
        sc.insert(j, s)
        mc.insert(j, m)
        self._len += 1
        n = len(mc)
        if j == n - 1:
            maxes[i] = (s, m)
        if n > 2 * LOAD:
            self._sc.insert(i + 1, sc[LOAD:])
            del sc[LOAD:]
            self._mc.insert(i + 1, mc[LOAD:])
            del mc[LOAD:]
            maxes.insert(i, (sc[-1], mc[-1]))
            self._tree = None
        elif self._tree is not None:
            self._tree_add(i, 1)

    def remove(self, s: float, m: bytes) -> None:
        """Remove a pair known to be present."""
        i, j = self._find(s, m)
        sc = self._sc[i]
        mc = self._mc[i]
        del sc[j]
        del mc[j]
        self._len -= 1
        if self._tree is not None:
            self._tree_add(i, -1)
        if j == len(mc) and mc:
            self._maxes[i] = (sc[-1], mc[-1])
        self._settle(i)

    def pop_front(self, k: int) -> list[tuple[float, bytes]]:
        """Remove the k lowest pairs; return them, lowest first."""
        sc = self._sc[0] if self._sc else ()
        if k >= len(sc):
            return self.delete(0, k)
        mc = self._mc[0]
        if k == 1:
            out = [(sc.pop(0), mc.pop(0))]
        else:
            out = list(zip(sc[:k], mc[:k], strict=True))
            del sc[:k]
            del mc[:k]
        self._len -= k
        if self._tree is not None:
            self._tree_add(0, -k)
        if len(mc) < LOAD // 4:
            self._settle(0)
        return out

    def pop_back(self, k: int) -> list[tuple[float, bytes]]:
        """Remove the k highest pairs; return them, highest first."""
        sc = self._sc[-1] if self._sc else ()
        n = len(sc)
        if k >= n:
            out = self.delete(max(0, self._len - k), self._len)
            out.reverse()
            return out
        mc = self._mc[-1]
        if k == 1:
            out = [(sc.pop(), mc.pop())]
        else:
            out = list(zip(sc[n - k :], mc[n - k :], strict=True))
            out.reverse()
            del sc[n - k :]
            del mc[n - k :]
        self._len -= k
        last = len(self._sc) - 1
        self._maxes[last] = (sc[-1], mc[-1])
        if self._tree is not None:
            self._tree_add(last, -k)
        if len(mc) < LOAD // 4:
            self._settle(last)
        return out

    def delete(self, lo: int, hi: int) -> list[tuple[float, bytes]]:
        """Remove positions [lo, hi); return the removed pairs."""
        lo = max(lo, 0)
        removed = self.pairs(lo, hi)
        if not removed:
            return removed
        hi = lo + len(removed)
        if len(removed) == self._len:
            self.__init__()
            return removed
        i, j = self._locate(lo)
        first = i
        need = hi - lo
        while need > 0:
            sc, mc = self._sc[i], self._mc[i]
            end = min(len(sc), j + need)
            del sc[j:end]
            del mc[j:end]
            need -= end - j
            if mc:
                self._maxes[i] = (sc[-1], mc[-1])
                i += 1
            else:
                del self._sc[i], self._mc[i], self._maxes[i]
            j = 0
        self._len -= len(removed)
        self._tree = None
        if i - 1 > first:
            self._settle(i - 1)  # the last chunk touched lost its head
        self._settle(first)  # the first one lost its tail (or was emptied)
        return removed

    def _settle(self, i: int) -> None:
        """Drop an empty chunk; merge a small one into a neighbour (splitting again if big)."""
        if i >= len(self._sc):
            return
        sc = self._sc[i]
        n = len(sc)
        if n == 0:
            del self._sc[i], self._mc[i], self._maxes[i]
            self._tree = None
            return
        if n >= LOAD // 4 or len(self._sc) == 1:
            return
        k = i - 1 if i > 0 else i  # merge chunks k and k+1
        a_sc, b_sc = self._sc[k], self._sc[k + 1]
        a_mc, b_mc = self._mc[k], self._mc[k + 1]
        a_sc.extend(b_sc)
        a_mc.extend(b_mc)
        self._maxes[k] = self._maxes[k + 1]
        del self._sc[k + 1], self._mc[k + 1], self._maxes[k + 1]
        if len(a_mc) > 2 * LOAD:
            half = len(a_mc) // 2
            self._sc.insert(k + 1, a_sc[half:])
            del a_sc[half:]
            self._mc.insert(k + 1, a_mc[half:])
            del a_mc[half:]
            self._maxes.insert(k, (a_sc[-1], a_mc[-1]))
        self._tree = None
