"""Tables of the consent domain: the vocabulary, consents, receipts, guardianships.

A consent's scope is recipient × purpose × categories × expiry.  Its categories are rows of
``consent_categories`` so that the policy decision point can test coverage in SQL, for one
person or for millions at once.  Other domains refer to these rows by id only.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.clock import UTCDateTime, utcnow
from tsunagu.core.database import Base
from tsunagu.core.ids import new_id

CONSENT_STATES = ("given", "withdrawn", "superseded", "expired")
GIVEN_BY = ("person", "guardian", "organization")
RECEIPT_EVENTS = ("given", "withdrawn", "superseded", "expired")
REQUEST_STATES = ("pending", "accepted", "declined")


class DataCategory(Base):
    """One category of personal data, in dot notation (``contact.email``)."""

    __tablename__ = "data_categories"

    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    parent: Mapped[str | None] = mapped_column(String(100))
    #: 要配慮個人情報 (special care-required personal information)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    label_ja: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Purpose(Base):
    """Why data is used; the defaults (no organization) follow the W3C DPV."""

    __tablename__ = "purposes"
    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    #: ``None`` for the seeded defaults every organization may use
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(63))
    dpv: Mapped[str | None] = mapped_column(String(200))
    label_ja: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    description_ja: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Consent(Base):
    """A person lets ``recipient`` use ``categories`` for ``purpose`` until ``expires_at``."""

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint(f"state IN {CONSENT_STATES}", name="state"),
        CheckConstraint(f"given_by IN {GIVEN_BY}", name="given_by"),
        Index("ix_consents_scope", "recipient_id", "purpose_id", "state"),
        Index("ix_consents_person", "person_id", "recipient_id", "purpose_id", "state"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    recipient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    purpose_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purposes.id"))
    #: the organization that recorded it (``None``: the person, in the portal)
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    actor: Mapped[str] = mapped_column(String(80))
    given_by: Mapped[str] = mapped_column(String(12))
    guardian_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL")
    )
    state: Mapped[str] = mapped_column(String(12), default="given")
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("consents.id", ondelete="SET NULL")
    )
    #: how the notice was shown and the consent obtained (portal, web-form, paper, …)
    method: Mapped[str] = mapped_column(String(40))
    notice_hash: Mapped[str | None] = mapped_column(String(64))
    notice_version: Mapped[str | None] = mapped_column(String(100))
    notice_language: Mapped[str | None] = mapped_column(String(8))


class ConsentCategory(Base):
    __tablename__ = "consent_categories"

    consent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("consents.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(ForeignKey("data_categories.code"), primary_key=True)


class ConsentReceipt(Base):
    """The receipt issued for one change of a consent; its hash is in the ledger entry."""

    __tablename__ = "consent_receipts"
    __table_args__ = (CheckConstraint(f"event IN {RECEIPT_EVENTS}", name="event"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    consent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("consents.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(12))
    body: Mapped[str] = mapped_column(Text)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: who caused the change, as the ledger names actors ("person", "guardian", …)
    actor: Mapped[str] = mapped_column(String(80))
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Guardianship(Base):
    """A guardian may consent for a minor until the minor comes of age (``ends_on``)."""

    __tablename__ = "guardianships"
    __table_args__ = (UniqueConstraint("guardian_id", "minor_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    guardian_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    minor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    ends_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentRequest(Base):
    """An organization asks a person for (new or wider) consent: the re-consent flow."""

    __tablename__ = "consent_requests"
    __table_args__ = (
        CheckConstraint(f"state IN {REQUEST_STATES}", name="state"),
        Index("ix_consent_requests_person", "person_id", "state"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    purpose_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purposes.id"))
    #: space-separated category codes asked for
    categories: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message: Mapped[str] = mapped_column(Text, default="")
    notice_text: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(12), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("consents.id", ondelete="SET NULL")
    )
