"""Tables of the ledger.  ``ledger_entries`` is append-only: no code path updates or
deletes a row, and database triggers refuse it too (see the migration)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.clock import UTCDateTime, utcnow
from tsunagu.core.database import Base
from tsunagu.core.ids import new_id

#: a 64-bit integer key that on SQLite is the table's rowid (declared exactly INTEGER), so
#: appends update one B-tree instead of two
RowId = BigInteger().with_variant(Integer(), "sqlite")


class LedgerState(Base):
    """One row: the number of entries.  Appends lock it first, so they serialise."""

    __tablename__ = "ledger_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=False)
    leaf_input: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: ``lookup_key(leaf_hash)``, indexed: an 8-byte integer is far cheaper to index than
    #: the 32-byte hash (look-ups compare the full hash too)
    leaf_key: Mapped[int] = mapped_column(BigInteger, index=True)
    # kind and org are kept for readers' filters; not indexed, to keep appends cheap
    kind: Mapped[str] = mapped_column(String(64))
    org: Mapped[str | None] = mapped_column(String(63))
    #: base64 pseudonym of the one person an entry is about (bulk entries: see subjects)
    subject: Mapped[str | None] = mapped_column(String(44))
    #: ``lookup_key`` of the subject's pseudonym, indexed for the person's portal
    subject_key: Mapped[int | None] = mapped_column(BigInteger, index=True)


NODE_LEVEL_SHIFT = 48


def lookup_key(value: bytes) -> int:
    """The first 8 bytes of a hash or pseudonym as a signed 64-bit integer (an index key)."""
    return int.from_bytes(value[:8], "big", signed=True)


def node_key(level: int, idx: int) -> int:
    """One integer for a subtree, so a proof's hashes come back in one ``IN`` query."""
    return (level << NODE_LEVEL_SHIFT) | idx


def split_node_key(key: int) -> tuple[int, int]:
    return key >> NODE_LEVEL_SHIFT, key & ((1 << NODE_LEVEL_SHIFT) - 1)


class LedgerNode(Base):
    """The hash of the perfect subtree over leaves [idx·2^level, (idx+1)·2^level), level ≥ 1,
    keyed by ``node_key(level, idx)``."""

    __tablename__ = "ledger_nodes"

    key: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerSubjectSet(Base):
    """The persons of a bulk entry: their sorted 32-byte pseudonyms, concatenated.

    One row per bulk entry (a set of a million persons is one 32 MB value, not a million
    rows); the portal loads it to give a person the inclusion proof of their pseudonym."""

    __tablename__ = "ledger_subject_sets"

    seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("ledger_entries.seq"), primary_key=True, autoincrement=False
    )
    members: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerSubjectKey(Base):
    """Which bulk entries a person is in: ``lookup_key(pseudonym)`` → entry.

    Two 8-byte integers per member, clustered by key (no row id on SQLite), so finding a
    person's bulk entries is one index range and appending a million members is cheap."""

    __tablename__ = "ledger_subject_keys"
    __table_args__ = ({"sqlite_with_rowid": False},)

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class LedgerCheckpoint(Base):
    __tablename__ = "ledger_checkpoints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LedgerWitness(Base):
    """A witness whose cosignatures count towards the quorum."""

    __tablename__ = "ledger_witnesses"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    vkey: Mapped[str] = mapped_column(String(400))
    #: the partner organization running it, by id (the ledger sits below identity)
    organization_id: Mapped[uuid.UUID | None] = mapped_column()
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerCosignature(Base):
    __tablename__ = "ledger_cosignatures"
    __table_args__ = (UniqueConstraint("checkpoint_id", "witness_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    checkpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ledger_checkpoints.id"), index=True
    )
    witness_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_witnesses.id"))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    line: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerAlarm(Base):
    """Something a witness or a verification found wrong; shown in the staff console."""

    __tablename__ = "ledger_alarms"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
