"""Verification anyone can run.

``verify_stored`` recomputes the whole log from the stored entries (leaf hashes, every stored
subtree hash, every signed checkpoint) and names the first index that does not fit.
``verify_remote`` checks a running instance through its HTTP API alone — the log's signed
checkpoint, all entries against its root, and the server's own proofs — using only the
standard library, ``merkle`` and ``note`` (whose single dependency is an Ed25519 library), so
third parties can audit a tsunagu ledger without trusting tsunagu's code beyond this file.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.ledger import merkle
from tsunagu.ledger.models import (
    LedgerCheckpoint,
    LedgerEntry,
    LedgerNode,
    LedgerState,
    split_node_key,
)
from tsunagu.ledger.note import NoteError, Verifier, open_checkpoint

Progress = Callable[[int, int], None]


@dataclass
class VerifyReport:
    size: int
    checkpoints: int = 0
    first_bad_index: int | None = None
    problems: list[str] = field(default_factory=list)
    bad_leaves: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def bad(self, index: int | None, problem: str) -> None:
        if index is not None and (self.first_bad_index is None or index < self.first_bad_index):
            self.first_bad_index = index
        self.problems.append(problem)


def verify_stored(
    session: Session, log: Verifier, *, progress: Progress | None = None
) -> VerifyReport:
    """Recompute the stored log; report the first bad index and every problem found."""
    size = session.scalar(select(LedgerState.size).where(LedgerState.id == 1)) or 0
    report = VerifyReport(size=size)
    tree = merkle.MemoryTree()
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
        h = merkle.leaf_hash(data)
        if h != stored_hash:
            report.bad_leaves.append(seq)
            report.bad(seq, f"entry {seq} does not hash to its stored leaf hash")
        tree.append(h)
        expected += 1
        if progress is not None and expected % 50_000 == 0:
            progress(expected, size)
    if expected != size:
        index = min(expected, size)
        report.bad(index, f"the log holds {expected} entries but records a size of {size}")
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


# --- remote ------------------------------------------------------------------------------


class RemoteError(Exception):
    """The remote log could not be read."""


@dataclass
class RemoteLog:
    base_url: str
    api_key: str | None = None
    timeout: float = 30.0

    def get(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        url = self.base_url.rstrip("/") + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        if not url.startswith(("http://", "https://")):
            raise RemoteError(f"not an http(s) URL: {self.base_url}")
        request = urllib.request.Request(url)  # noqa: S310 (scheme checked above)
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310
                body: bytes = resp.read()
                return body
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:200]
            raise RemoteError(f"GET {path} answered {exc.code}: {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise RemoteError(f"cannot reach {self.base_url}: {exc}") from exc

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return json.loads(self.get(path, params))
        except json.JSONDecodeError as exc:
            raise RemoteError(f"GET {path} did not answer JSON") from exc


def verify_remote(
    remote: RemoteLog, log_vkey: str | None = None, *, progress: Progress | None = None
) -> VerifyReport:
    """Check a running log through its HTTP API alone.

    Without ``log_vkey`` the key the server publishes is used (trust on first use): pin
    the key you were given out of band to rule out a server that lies about its key.
    """
    log = Verifier.from_vkey(log_vkey or remote.get("/api/v1/ledger/key").decode())
    checkpoint, _ = open_checkpoint(remote.get("/api/v1/ledger/checkpoint").decode(), log)
    report = VerifyReport(size=checkpoint.size, checkpoints=1)
    tree = merkle.MemoryTree()
    while tree.size < checkpoint.size:
        page = remote.get_json(
            "/api/v1/ledger/get-entries",
            {"start": tree.size, "end": checkpoint.size - 1},
        )
        entries = page.get("entries") if isinstance(page, dict) else None
        if not entries:
            report.bad(tree.size, f"the server returned no entry at {tree.size}")
            return report
        for item in entries:
            tree.append(merkle.leaf_hash(base64.b64decode(item["leaf_input"])))
        if progress is not None:
            progress(tree.size, checkpoint.size)
    if tree.root(checkpoint.size) != checkpoint.root:
        report.bad(0, "the entries served do not produce the signed root")
        return report
    for index in sorted({0, checkpoint.size // 2, checkpoint.size - 1} - {-1}):
        if index < 0 or index >= checkpoint.size:
            continue
        leaf = tree.node(0, index)
        proof = remote.get_json(
            "/api/v1/ledger/get-proof-by-hash",
            {"hash": base64.b64encode(leaf).decode(), "tree_size": checkpoint.size},
        )
        path = [base64.b64decode(p) for p in proof["audit_path"]]
        if not merkle.verify_inclusion(
            leaf, int(proof["leaf_index"]), checkpoint.size, path, checkpoint.root
        ):
            report.bad(index, f"the server's inclusion proof for entry {index} does not verify")
    first = checkpoint.size // 2
    if 0 < first < checkpoint.size:
        consistency = remote.get_json(
            "/api/v1/ledger/get-sth-consistency", {"first": first, "second": checkpoint.size}
        )
        path = [base64.b64decode(p) for p in consistency["consistency"]]
        if not merkle.verify_consistency(
            first, checkpoint.size, tree.root(first), checkpoint.root, path
        ):
            report.bad(None, "the server's consistency proof does not verify")
    return report
