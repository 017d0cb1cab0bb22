"""Verification anyone can run.

``verify_stored`` recomputes the whole log from the stored entries (leaf hashes, every stored
subtree hash, every signed checkpoint) and names the first index that does not fit.
``verify_remote`` checks a running instance through its HTTP API alone; it lives in
``auditor`` (standard library, ``merkle`` and ``note`` only, so third parties can copy it)
and is re-exported here.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.core.bulk import collector_paused
from tsunagu.ledger import merkle
from tsunagu.ledger.auditor import (
    Progress,
    RemoteError,
    RemoteLog,
    VerifyReport,
    decode_hashes,
    verify_remote,
)
from tsunagu.ledger.models import (
    LedgerCheckpoint,
    LedgerEntry,
    LedgerNode,
    LedgerState,
    split_node_key,
)
from tsunagu.ledger.note import NoteError, Verifier, open_checkpoint

__all__ = [
    "Progress",
    "RemoteError",
    "RemoteLog",
    "VerifyReport",
    "decode_hashes",
    "verify_remote",
    "verify_stored",
]


def verify_stored(
    session: Session, log: Verifier, *, progress: Progress | None = None
) -> VerifyReport:
    """Recompute the stored log; report the first bad index and every problem found."""
    with collector_paused():
        return _verify_stored(session, log, progress)


def _verify_stored(session: Session, log: Verifier, progress: Progress | None) -> VerifyReport:
    size = session.scalar(select(LedgerState.size).where(LedgerState.id == 1)) or 0
    report = VerifyReport(size=size)
    leaves: list[bytes] = []
    sha256 = hashlib.sha256
    expected = 0
    rows = session.execute(
        select(LedgerEntry.seq, LedgerEntry.leaf_input, LedgerEntry.leaf_hash)
        .order_by(LedgerEntry.seq)
        .execution_options(yield_per=20_000)
    )
    for seq, data, stored_hash in rows:
        if seq != expected:
            rows.close()
            kind = "missing" if seq > expected else "duplicated"
            report.bad(expected, f"entry {expected} is {kind}")
            return report
        h = sha256(b"\x00" + data).digest()
        if h != stored_hash:
            report.bad_leaves.append(seq)
            report.bad(seq, f"entry {seq} does not hash to its stored leaf hash")
        leaves.append(h)
        expected += 1
        if progress is not None and expected % 50_000 == 0:
            progress(expected, size)
    if expected != size:
        index = min(expected, size)
        report.bad(index, f"the log holds {expected} entries but records a size of {size}")
    tree = _tree_of(leaves)
    # ranges already known to be bad; a mismatch of a larger subtree that contains one of
    # them is its consequence, not a new finding
    bad_ranges: list[tuple[int, int]] = [(i, i) for i in report.bad_leaves]
    nodes = session.execute(
        select(LedgerNode.key, LedgerNode.hash)
        .order_by(LedgerNode.key)
        .execution_options(yield_per=50_000)
    )
    for key, stored in nodes:
        level, idx = split_node_key(key)
        first, last = idx << level, ((idx + 1) << level) - 1
        if level >= len(tree.levels) or idx >= len(tree.levels[level]):
            report.bad(first, f"a stored subtree ({level}, {idx}) covers no entries")
        elif tree.levels[level][idx] != stored:
            if any(first <= a and b <= last for a, b in bad_ranges):
                continue
            bad_ranges.append((first, last))
            report.bad(first, f"entries {first}..{last} do not match the stored tree")
    last_good = 0  # the largest signed size whose root the entries still produce
    for cp in session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size)):
        report.checkpoints += 1
        try:
            checkpoint, _ = open_checkpoint(cp.note, log)
        except NoteError as exc:
            report.bad(None, f"checkpoint of size {cp.size}: {exc}")
            continue
        if checkpoint.size > tree.size:
            report.bad(tree.size, f"checkpoint of size {checkpoint.size} covers missing entries")
        elif tree.root(checkpoint.size) != checkpoint.root:
            explained = report.first_bad_index is not None and (
                last_good <= report.first_bad_index < checkpoint.size
            )
            # without the original entries a signed root says only that something among
            # the entries after the last good signed size changed
            report.bad(
                None if explained else last_good,
                f"the entries no longer produce the signed root of size {checkpoint.size}: "
                f"an entry in {last_good}..{checkpoint.size - 1} was changed",
            )
        else:
            last_good = checkpoint.size
    if progress is not None:
        progress(size, size)
    return report


def _tree_of(leaves: list[bytes]) -> merkle.MemoryTree:
    """Every perfect subtree of the leaves, built a level at a time (much faster than
    appending leaf by leaf)."""
    tree = merkle.MemoryTree()
    tree.levels = [leaves]
    level = leaves
    sha256 = hashlib.sha256
    while len(level) >= 2:
        level = [
            sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
        tree.levels.append(level)
    return tree
