"""Use cases of the ledger: append, prove, checkpoint, cosign, verify.

Appends run in the caller's transaction (the entry of an action commits with the action)
and are batched: one locked update of ``ledger_state``, O(log n) reads of the right edge of
the tree, then one multi-row insert of the entries and one of the completed subtree hashes.
Proofs read O(log n) stored hashes in two queries: the algorithms of ``merkle`` run once
with a probe that records which subtrees they need, and once on the fetched hashes.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from tsunagu.core.bulk import collector_paused
from tsunagu.core.clock import utcnow
from tsunagu.ledger import merkle
from tsunagu.ledger.entry import Entry, format_time
from tsunagu.ledger.errors import (
    CheckpointNotFound,
    CosignatureRejected,
    LeafNotFound,
    LedgerInconsistent,
    ProofNotAvailable,
)
from tsunagu.ledger.models import (
    LedgerAlarm,
    LedgerCheckpoint,
    LedgerCosignature,
    LedgerEntry,
    LedgerState,
    LedgerSubjectKey,
    LedgerSubjectSet,
    LedgerWitness,
    lookup_key,
    node_key,
    split_node_key,
)
from tsunagu.ledger.note import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    parse_note,
    sign_checkpoint,
    verify_cosignature,
)

T = TypeVar("T")
_ZERO = bytes(32)
#: batches at least this large append with the garbage collector paused (``core.bulk``)
BULK = 1000


@dataclass(frozen=True, slots=True)
class Appended:
    index: int
    leaf_hash: bytes


# --- appending -------------------------------------------------------------------------


def tree_size(session: Session) -> int:
    return session.scalar(select(LedgerState.size).where(LedgerState.id == 1)) or 0


def _reserve(session: Session, count: int) -> int:
    """Lock the ledger and reserve ``count`` indexes; returns the first one."""
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    # raw SQL: this runs once per append, on the hot path of every recorded decision
    new_size = connection.exec_driver_sql(
        f"UPDATE ledger_state SET size = size + {mark} WHERE id = 1 RETURNING size",  # noqa: S608
        (count,),
    ).scalar()
    if new_size is None:  # a database migrated before the state row existed
        session.add(LedgerState(id=1, size=count))
        session.flush()
        return 0
    return int(new_size) - count


def append(
    session: Session, entries: Sequence[Entry], *, now: datetime | None = None
) -> list[Appended]:
    """Append ``entries`` in order, in the caller's transaction."""
    if not entries:
        return []
    now = now or utcnow()
    now_text = format_time(now)
    with collector_paused() if len(entries) >= BULK else nullcontext():
        return append_encoded(session, [(e, e.encode(now, now_text)) for e in entries])


def append_encoded(session: Session, encoded: Sequence[tuple[Entry, bytes]]) -> list[Appended]:
    start = _reserve(session, len(encoded))
    # the right edge of the tree before this batch: perfect subtrees, largest first
    edge_keys = merkle.perfect_subtrees(0, start)
    known = _fetch_nodes(session, edge_keys)
    stack: list[bytes] = [known[key] for key in edge_keys]
    entry_rows: list[tuple[object, ...]] = []
    node_rows: list[tuple[object, ...]] = []
    set_rows: list[tuple[object, ...]] = []
    key_rows: list[tuple[int, int]] = []
    out: list[Appended] = []
    sha256 = hashlib.sha256
    seq = start
    for entry, data in encoded:
        h = sha256(b"\x00" + data).digest()
        single = entry.subject.get("pseudonym") if entry.subject else None
        if not isinstance(single, str):
            single = None
        entry_rows.append(
            (
                seq,
                data,
                h,
                lookup_key(h),
                entry.kind,
                entry.org,
                single,
                None if single is None else lookup_key(single.encode()),
            )
        )
        if entry.members:
            members = sorted(set(entry.members))
            set_rows.append((seq, b"".join(members)))
            key_rows.extend((lookup_key(m), seq) for m in members)
        out.append(Appended(seq, h))
        # a new leaf closes one perfect subtree per trailing 1 bit of its index
        stack.append(h)
        count, level = seq + 1, 0
        while count & 1 == 0:
            right = stack.pop()
            parent = sha256(b"\x01" + stack.pop() + right).digest()
            stack.append(parent)
            level += 1
            node_rows.append((node_key(level, seq >> level), parent))
            count >>= 1
        seq += 1
    _insert_many(session, "ledger_entries", _ENTRY_COLUMNS, entry_rows)
    _insert_many(session, "ledger_nodes", ("key", "hash"), node_rows)
    _insert_many(session, "ledger_subject_sets", ("seq", "members"), set_rows)
    key_rows.sort()  # appends in key order to the clustered index
    _insert_many(session, "ledger_subject_keys", ("key", "seq"), key_rows)
    return out


_ENTRY_COLUMNS = (
    "seq",
    "leaf_input",
    "leaf_hash",
    "leaf_key",
    "kind",
    "org",
    "subject",
    "subject_key",
)


def _insert_many(
    session: Session, table: str, columns: Sequence[str], rows: Sequence[tuple[object, ...]]
) -> None:
    """One DB-API executemany: the ledger's hot path skips SQLAlchemy's per-row work."""
    if not rows:
        return
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 (fixed names)
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    connection.exec_driver_sql(sql, rows)


# --- reading stored hashes ---------------------------------------------------------------


def _fetch_nodes(session: Session, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Stored hashes of the given subtrees — leaves from the entries, the rest from the
    nodes — in one round trip (a proof's hot path: plain DB-API, no ORM)."""
    keys = set(keys)
    if not keys:
        return {}
    leaves = [idx for level, idx in keys if level == 0]
    inner = [node_key(level, idx) for level, idx in keys if level > 0]
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    parts: list[str] = []
    if leaves:
        parts.append(
            "SELECT 0, seq, leaf_hash FROM ledger_entries "  # noqa: S608 (placeholders only)
            f"WHERE seq IN ({', '.join([mark] * len(leaves))})"
        )
    if inner:
        parts.append(
            "SELECT 1, key, hash FROM ledger_nodes "  # noqa: S608 (placeholders only)
            f"WHERE key IN ({', '.join([mark] * len(inner))})"
        )
    found: dict[tuple[int, int], bytes] = {}
    for is_node, key, h in connection.exec_driver_sql(
        " UNION ALL ".join(parts), tuple(leaves + inner)
    ):
        found[split_node_key(key) if is_node else (0, key)] = bytes(h)
    missing = keys - found.keys()
    if missing:
        raise LedgerInconsistent(
            f"the stored tree lacks {len(missing)} subtree hash(es), e.g. {min(missing)}"
        )
    return found


def _with_nodes(session: Session, compute: Callable[[merkle.NodeReader], T]) -> T:
    wanted: set[tuple[int, int]] = set()

    def probe(level: int, idx: int) -> bytes:
        wanted.add((level, idx))
        return _ZERO

    compute(probe)
    nodes = _fetch_nodes(session, wanted)
    return compute(lambda level, idx: nodes[(level, idx)])


def root_at(session: Session, size: int) -> bytes:
    return _with_nodes(session, lambda reader: merkle.tree_root(size, reader))


def inclusion_proof(session: Session, index: int, size: int) -> list[bytes]:
    _check_size(session, size)
    if not 0 <= index < size:
        raise ProofNotAvailable(f"leaf {index} is not in a tree of size {size}")
    return _with_nodes(session, lambda reader: merkle.inclusion_proof(index, size, reader))


def find_leaf_index(session: Session, leaf_hash: bytes, size: int) -> int:
    seq = session.scalar(
        select(LedgerEntry.seq)
        .where(
            LedgerEntry.leaf_key == lookup_key(leaf_hash),
            LedgerEntry.leaf_hash == leaf_hash,
            LedgerEntry.seq < size,
        )
        .order_by(LedgerEntry.seq)
        .limit(1)
    )
    if seq is None:
        raise LeafNotFound(f"no entry with that leaf hash in the first {size} entries")
    return int(seq)


def consistency_proof(session: Session, first: int, second: int) -> list[bytes]:
    _check_size(session, second)
    if not 0 <= first <= second:
        raise ProofNotAvailable(f"no consistency proof from size {first} to size {second}")
    return _with_nodes(session, lambda reader: merkle.consistency_proof(first, second, reader))


def _check_size(session: Session, size: int) -> None:
    published = latest_checkpoint(session)
    limit = published.size if published else 0
    if size < 0 or size > limit:
        raise ProofNotAvailable(f"tree size {size} is beyond the latest checkpoint's size {limit}")


def get_entries(session: Session, start: int, end: int, page_size: int) -> list[bytes]:
    """Leaf inputs ``start..end`` inclusive, at most ``page_size`` of them."""
    size = tree_size(session)
    if start < 0 or end < start or start >= size:
        raise ProofNotAvailable(f"no entries in the range {start}..{end} (size {size})")
    end = min(end, size - 1, start + page_size - 1)
    rows = session.scalars(
        select(LedgerEntry.leaf_input)
        .where(LedgerEntry.seq >= start, LedgerEntry.seq <= end)
        .order_by(LedgerEntry.seq)
    )
    return list(rows)


def entries_about(
    session: Session, pseudonym_b64: str, limit: int = 500
) -> list[tuple[int, bytes]]:
    """(index, leaf input) of every entry about one person, single or in a bulk set."""
    direct = select(LedgerEntry.seq).where(
        LedgerEntry.subject_key == lookup_key(pseudonym_b64.encode()),
        LedgerEntry.subject == pseudonym_b64,
    )
    bulk = select(LedgerSubjectKey.seq).where(
        LedgerSubjectKey.key == lookup_key(base64.b64decode(pseudonym_b64))
    )
    rows = session.execute(
        select(LedgerEntry.seq, LedgerEntry.leaf_input)
        .where(or_(LedgerEntry.seq.in_(direct), LedgerEntry.seq.in_(bulk)))
        .order_by(LedgerEntry.seq.desc())
        .limit(limit)
    )
    return [(int(seq), data) for seq, data in rows]


def subject_set_members(session: Session, seq: int) -> list[bytes]:
    """The sorted pseudonyms of a bulk entry's set of persons (empty for other entries)."""
    blob = session.scalar(select(LedgerSubjectSet.members).where(LedgerSubjectSet.seq == seq))
    data = bytes(blob or b"")
    return [data[i : i + 32] for i in range(0, len(data), 32)]


# --- checkpoints -----------------------------------------------------------------------


def log_signer(origin: str, seed: bytes) -> Signer:
    return Signer.from_seed(origin, seed)


def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    return session.scalar(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1))


def publish_checkpoint(session: Session, signer: Signer) -> LedgerCheckpoint:
    """A signed checkpoint of the current tree (the existing one when nothing changed)."""
    size = tree_size(session)
    latest = latest_checkpoint(session)
    if latest is not None and latest.size == size:
        return latest
    root = root_at(session, size)
    note = sign_checkpoint(Checkpoint(signer.name, size, root), signer)
    row = LedgerCheckpoint(size=size, root=root, note=note)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another process published this size first
        return get_checkpoint_by_size(session, size)
    return row


def current_checkpoint(session: Session, signer: Signer) -> LedgerCheckpoint | None:
    """The latest checkpoint, publishing one first when the tree has grown since.

    Best-effort on a read-mostly session (a GET on SQLite does not hold the write lock):
    when another writer got there first, the latest published checkpoint is returned and
    the server's publisher covers the newer entries within a second.
    """
    latest = latest_checkpoint(session)
    if latest is not None and latest.size == tree_size(session):
        return latest
    try:
        with session.begin_nested():
            return publish_checkpoint(session, signer)
    except OperationalError:
        return latest_checkpoint(session)


def checkpoint_history(session: Session, limit: int = 20) -> list[LedgerCheckpoint]:
    return list(
        session.scalars(
            select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(limit)
        )
    )


def checkpoint_with_cosignatures(session: Session, checkpoint: LedgerCheckpoint) -> str:
    """The signed note followed by every witness cosignature line it received."""
    lines = session.scalars(
        select(LedgerCosignature.line)
        .where(LedgerCosignature.checkpoint_id == checkpoint.id)
        .order_by(LedgerCosignature.created_at)
    )
    return checkpoint.note + "".join(lines)


def get_checkpoint_by_size(session: Session, size: int) -> LedgerCheckpoint:
    row = session.scalar(select(LedgerCheckpoint).where(LedgerCheckpoint.size == size))
    if row is None:
        raise CheckpointNotFound(f"no checkpoint of size {size}")
    return row


# --- witnesses -------------------------------------------------------------------------


def register_witness(
    session: Session, vkey: str, organization_id: uuid.UUID | None = None
) -> LedgerWitness:
    try:
        verifier = Verifier.from_vkey(vkey)
    except NoteError as exc:
        raise CosignatureRejected(f"not a witness key: {exc}") from exc
    if verifier.alg != ALG_COSIGNATURE_V1:
        raise CosignatureRejected("a witness key must be a cosignature/v1 (0x04) key")
    existing = session.scalar(select(LedgerWitness).where(LedgerWitness.name == verifier.name))
    if existing is not None:
        existing.vkey = vkey.strip()
        existing.active = True
        existing.organization_id = organization_id or existing.organization_id
        session.flush()
        return existing
    row = LedgerWitness(name=verifier.name, vkey=vkey.strip(), organization_id=organization_id)
    session.add(row)
    session.flush()
    return row


def list_witnesses(session: Session) -> list[LedgerWitness]:
    return list(session.scalars(select(LedgerWitness).order_by(LedgerWitness.name)))


def add_cosignatures(session: Session, cosigned_note: str) -> LedgerCheckpoint:
    """Store the valid cosignature lines of registered witnesses found in ``cosigned_note``."""
    try:
        note = parse_note(cosigned_note)
        checkpoint = Checkpoint.parse_text(note.text)
    except NoteError as exc:
        raise CosignatureRejected(str(exc)) from exc
    row = get_checkpoint_by_size(session, checkpoint.size)
    if row.root != checkpoint.root or row.note.split("\n\n", 1)[0] + "\n" != note.text:
        raise CosignatureRejected("the cosigned checkpoint is not one this log published")
    witnesses = {w.name: w for w in list_witnesses(session) if w.active}
    accepted = 0
    for sig in note.signatures:
        witness = witnesses.get(sig.name)
        if witness is None:
            continue
        timestamp = verify_cosignature(note.text, sig, Verifier.from_vkey(witness.vkey))
        if timestamp is None:
            continue
        exists = session.scalar(
            select(LedgerCosignature.id).where(
                LedgerCosignature.checkpoint_id == row.id,
                LedgerCosignature.witness_id == witness.id,
            )
        )
        if exists is None:
            session.add(
                LedgerCosignature(
                    checkpoint_id=row.id,
                    witness_id=witness.id,
                    timestamp=timestamp,
                    line=sig.line(),
                )
            )
        accepted += 1
    if accepted == 0:
        raise CosignatureRejected("no valid cosignature of a registered witness")
    session.flush()
    return row


def cosignature_count(session: Session, checkpoint: LedgerCheckpoint) -> int:
    rows = session.scalars(
        select(LedgerCosignature.witness_id).where(LedgerCosignature.checkpoint_id == checkpoint.id)
    )
    return len(set(rows))


def raise_alarm(session: Session, source: str, detail: str) -> LedgerAlarm:
    row = LedgerAlarm(source=source, detail=detail)
    session.add(row)
    session.flush()
    return row


def recent_alarms(session: Session, limit: int = 20) -> list[LedgerAlarm]:
    return list(
        session.scalars(select(LedgerAlarm).order_by(LedgerAlarm.created_at.desc()).limit(limit))
    )
