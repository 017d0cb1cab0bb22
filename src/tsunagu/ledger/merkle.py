"""The Merkle tree of RFC 9162 §2.1 — pure, no I/O.

Hashes::

    leaf   = SHA-256(0x00 ‖ entry bytes)
    node   = SHA-256(0x01 ‖ left ‖ right)
    MTH({}) = SHA-256("")

A tree of ``n`` leaves splits at ``k``, the largest power of two smaller than ``n``.  Every
subtree the algorithms need is either *perfect and aligned* (``2**level`` leaves starting at a
multiple of ``2**level`` — storage keeps these, addressed as ``(level, index)``) or lies on
the right edge of a smaller tree, where it is the right-folded hash of the perfect subtrees
that the binary digits of its size pick out.  So a proof reads O(log n) stored hashes
through a ``NodeReader`` and never scans the leaves.

Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) step by step,
including the inner "shift right until the low bit is set" loops.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: ``reader(level, index)`` → hash of the perfect subtree over leaves
#: ``[index * 2**level, (index + 1) * 2**level)``
NodeReader = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A request for a proof that cannot exist (index or sizes out of range)."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n`` ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH of a whole tree given its leaf hashes, in one pass with a stack of subtrees."""
    if not hashes:
        return EMPTY_ROOT
    stack: list[bytes] = []
    for count, h in enumerate(hashes, start=1):
        stack.append(h)
        # merge once for every trailing zero bit of the new count: equal perfect subtrees
        c = count
        while c & 1 == 0:
            right = stack.pop()
            stack[-1] = node_hash(stack[-1], right)
            c >>= 1
    root = stack.pop()
    while stack:
        root = node_hash(stack.pop(), root)
    return root


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """The perfect aligned subtrees, left to right, whose fold is MTH(D[start:end]).

    Valid for the ranges RFC 9162's recursions produce: ``start`` is a multiple of the
    largest power of two not above ``end - start`` … in practice, any range starting at a
    multiple of a power of two at least as large as its biggest part.
    """
    parts: list[tuple[int, int]] = []
    size = end - start
    pos = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            parts.append((level, pos >> level))
            pos += 1 << level
    return parts


def range_hash(start: int, end: int, reader: NodeReader) -> bytes:
    """MTH(D[start:end]) from stored perfect subtrees (O(log n) reads)."""
    if end <= start:
        return EMPTY_ROOT
    parts = perfect_subtrees(start, end)
    result = reader(*parts[-1])
    for level, index in reversed(parts[:-1]):
        result = node_hash(reader(level, index), result)
    return result


def tree_root(size: int, reader: NodeReader) -> bytes:
    return range_hash(0, size, reader)


def inclusion_proof(index: int, size: int, reader: NodeReader) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(range_hash(start + k, end, reader))
            end = start + k
        else:
            path.append(range_hash(start, start + k, reader))
            start += k
    path.reverse()  # the recursion appends on the way back up: leaf level first
    return path


def consistency_proof(first: int, second: int, reader: NodeReader) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1 (empty when sizes are equal or 0)."""
    if not 0 <= first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    if first == 0 or first == second:
        return []
    out: list[bytes] = []
    start, end, m, complete = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                out.append(range_hash(start, end, reader))
            break
        k = _split(n)
        if m <= k:
            out.append(range_hash(start + k, end, reader))
            end = start + k
        else:
            out.append(range_hash(start, start + k, reader))
            start += k
            m -= k
            complete = False
    out.reverse()
    return out


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` place ``leaf`` at ``index`` of the tree ``root``?"""
    if index < 0 or index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if len(p) != HASH_SIZE or sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree ``second_root`` an extension of ``first_root``?"""
    if first < 0 or second < first:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        # every tree extends the empty one; a proof of it must be empty
        return not proof and first_root == EMPTY_ROOT
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


class MemoryTree:
    """Leaf hashes and every perfect subtree kept in lists — the reference the stored tree
    is compared with in tests, and the in-memory tree of the verifier."""

    def __init__(self) -> None:
        self.levels: list[list[bytes]] = [[]]

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> None:
        """Add a leaf hash, completing every perfect subtree it closes."""
        self.levels[0].append(leaf)
        level, index = 0, len(self.levels[0]) - 1
        while index & 1:
            if len(self.levels) == level + 1:
                self.levels.append([])
            parent = node_hash(self.levels[level][index - 1], self.levels[level][index])
            self.levels[level + 1].append(parent)
            level += 1
            index >>= 1

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        return tree_root(self.size if size is None else size, self.node)
