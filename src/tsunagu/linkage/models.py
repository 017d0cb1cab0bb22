"""Tables of collaborations: the agreement, its participants, datasets, matches, queries.

A collaboration is two or more organizations under one sharing agreement.  The agreement's
terms (purpose, categories, analysis rules, forbidden uses, expiry, privacy budget) live on
the collaboration row with a ``version``; an acceptance names the version it accepted, so
terms changed after acceptance are simply not accepted (every participant accepts again).

What must stay true:

* ``status`` is ``active`` only while every participant accepted the current version;
  expiry is not stored as a status but derived from ``expires_at`` at every use
  (``service.effective_status``);
* the datasets are Parquet files under the home folder; rows here only describe them;
* the match table (``linkage_matches``) holds pseudonymous ids only — the provider's
  person pseudonym and the recipient's member pseudonym under the collaboration's key —
  never a name, an identifier or a person id;
* a clean-room query log row (``cleanroom_queries``) says what was asked and how much was
  released (counts and ε), never a released value's persons.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.clock import UTCDateTime, utcnow
from tsunagu.core.database import Base
from tsunagu.core.ids import new_id

STATUSES = ("proposed", "active", "ended")
ROLES = ("provider", "recipient")
DATASET_KINDS = ("customers", "orders", "members")


class Collaboration(Base):
    """Organizations working together under one agreement (its current terms inline)."""

    __tablename__ = "linkage_collaborations"
    __table_args__ = (
        CheckConstraint("status IN ('proposed', 'active', 'ended')", name="status"),
        CheckConstraint("version >= 1", name="version"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    #: the terms' version; an acceptance counts only for the version it names
    version: Mapped[int] = mapped_column(Integer, default=1)
    proposed_by_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    purpose: Mapped[str] = mapped_column(String(63))
    #: sorted category codes the recipient may be given aggregates of
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: ``AnalysisRules.to_dict()``: dimensions, measures, minimum group size, ε per query
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    forbidden_uses_ja: Mapped[str] = mapped_column(Text, default="")
    forbidden_uses_en: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: total ε the recipient may spend on noisy answers (None: no budget, no noise)
    budget_epsilon: Mapped[float | None] = mapped_column(Float)
    budget_spent: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Participant(Base):
    """An organization in a collaboration, its role, and its admin's acceptance."""

    __tablename__ = "linkage_participants"
    __table_args__ = (
        UniqueConstraint("collaboration_id", "organization_id"),
        CheckConstraint("role IN ('provider', 'recipient')", name="role"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    collaboration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("linkage_collaborations.id", ondelete="CASCADE")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    #: the terms' version this organization's admin accepted (None: not yet)
    accepted_version: Mapped[int | None] = mapped_column(Integer)
    #: the ledger's label of who accepted (``staff:<uuid>`` or ``api_key:<uuid>``)
    accepted_by: Mapped[str | None] = mapped_column(String(100))
    accepted_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)


class Dataset(Base):
    """A table uploaded to a collaboration (stored as Parquet in the home folder)."""

    __tablename__ = "linkage_datasets"
    __table_args__ = (
        UniqueConstraint("collaboration_id", "kind"),
        CheckConstraint("kind IN ('customers', 'orders', 'members')", name="kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    collaboration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("linkage_collaborations.id", ondelete="CASCADE")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int] = mapped_column(Integer)
    #: SHA-256 of the stored Parquet file (hex)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)


class MatchRun(Base):
    """One matching run of a collaboration: counts only."""

    __tablename__ = "linkage_match_runs"
    __table_args__ = (Index("ix_linkage_match_runs_collaboration", "collaboration_id", "ran_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    collaboration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("linkage_collaborations.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100))
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    customers: Mapped[int] = mapped_column(Integer)
    #: customers whose consent covered the collaboration at ``ran_at`` (the only ones matched)
    consenting: Mapped[int] = mapped_column(Integer)
    members: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer)
    #: matched pairs by the pseudonym rule that joined them
    by_rule: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    #: the ledger entries of the consent batch (allowed, denied) and of the match itself
    consent_ledger_indexes: Mapped[list[int]] = mapped_column(JSON, default=list)
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)
    #: ``pseudonym`` (keyed pseudonyms joined exactly) or ``probabilistic`` (Splink)
    method: Mapped[str] = mapped_column(String(16), default="pseudonym", server_default="pseudonym")
    #: a probabilistic run's match-quality report (counts, threshold, estimated precision,
    #: recall and F1, the number of borderline pairs); never an identifier.  Null for
    #: keyed pseudonyms.
    quality: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Match(Base):
    """A linked pair: pseudonyms under the collaboration's key, nothing else."""

    __tablename__ = "linkage_matches"

    run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("linkage_match_runs.id", ondelete="CASCADE"), primary_key=True
    )
    provider_pid: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipient_pid: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(40))


class CleanroomQuery(Base):
    """The log of the clean room: what was asked, how much was released, what it cost."""

    __tablename__ = "cleanroom_queries"
    __table_args__ = (Index("ix_cleanroom_queries_collaboration", "collaboration_id", "asked_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    collaboration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("linkage_collaborations.id", ondelete="CASCADE")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    actor: Mapped[str] = mapped_column(String(100))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    cells_released: Mapped[int] = mapped_column(Integer)
    cells_suppressed: Mapped[int] = mapped_column(Integer)
    #: distinct persons in the released cells (the size of the ledger entry's set)
    persons: Mapped[int] = mapped_column(Integer)
    epsilon_spent: Mapped[float] = mapped_column(Float, default=0.0)
    sql: Mapped[str] = mapped_column(Text, default="")
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)
