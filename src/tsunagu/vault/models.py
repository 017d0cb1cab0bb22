"""Tables of the vault: records and their versions, requests, provision records.

Payloads are only ever stored sealed (AES-256-GCM under the person's data key, which lives
in the separate key store, see ``keystore``).  Nothing outside ``tsunagu.vault`` may import
this module — an import contract in ``pyproject.toml`` says so — so the only way to a
payload is through ``vault.service``, which asks the policy decision point first.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.clock import UTCDateTime, utcnow
from tsunagu.core.database import Base
from tsunagu.core.ids import new_id

SOURCE_KINDS = ("api", "import", "person", "demo")
LEGAL_BASES = ("consent", "contract", "legal-obligation", "vital-interest", "public-task")
REQUEST_KINDS = ("disclosure", "correction", "stop_use", "deletion")
REQUEST_STATES = ("open", "answered", "rejected")


class Record(Base):
    """One piece of personal data about a person, of one category, from one source."""

    __tablename__ = "vault_records"
    __table_args__ = (
        CheckConstraint(f"source_kind IN {SOURCE_KINDS}", name="source_kind"),
        CheckConstraint(f"legal_basis IN {LEGAL_BASES}", name="legal_basis"),
        Index("ix_vault_records_person", "person_id", "category"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(ForeignKey("data_categories.code"))
    #: the organization it came from (``None``: entered by the person)
    source_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    source_kind: Mapped[str] = mapped_column(String(12))
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    legal_basis: Mapped[str] = mapped_column(String(20), default="consent")
    consent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("consents.id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecordVersion(Base):
    """A sealed payload of one version of a record (versions are never overwritten)."""

    __tablename__ = "vault_record_versions"

    record_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vault_records.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    #: SHA-256 of the sealed bytes: what a ledger entry names as "the version read"
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    actor: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubjectRequest(Base):
    """A request a person makes of an organization (APPI arts. 33–35), with a due date."""

    __tablename__ = "subject_requests"
    __table_args__ = (
        CheckConstraint(f"kind IN {REQUEST_KINDS}", name="kind"),
        CheckConstraint(f"state IN {REQUEST_STATES}", name="state"),
        Index("ix_subject_requests_queue", "organization_id", "state", "due_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(12))
    detail: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(80))
    answer: Mapped[str | None] = mapped_column(Text)


class ProvisionRecord(Base):
    """APPI third-party provision record (第三者提供記録): one per person and provision."""

    __tablename__ = "provision_records"
    __table_args__ = (
        Index("ix_provision_records_provider", "provider_id", "provided_at"),
        Index("ix_provision_records_recipient", "recipient_id", "provided_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    provider_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    recipient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    #: kept as a bare id (no foreign key): the record outlives an erasure for 3 years
    person_id: Mapped[uuid.UUID] = mapped_column(index=True)
    purpose: Mapped[str] = mapped_column(String(63))
    #: space-separated category codes provided
    categories: Mapped[str] = mapped_column(Text)
    #: how consent was confirmed (consent ids, or "recipient-obtained" for 個人関連情報)
    confirmation: Mapped[str] = mapped_column(Text)
    provided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)
    retain_until: Mapped[date] = mapped_column(Date)
