"""Pydantic shapes of the consent API (issue 5 §7).  Inputs forbid unknown fields.

Category and purpose codes are checked by the service against the vocabulary (an unknown
one is a 422 naming it); here only their shape is.  Times must carry a zone.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tsunagu.identity.schemas import SLUG_PATTERN

#: a category code in dot notation (the vocabulary decides whether it exists)
CategoryCode = str
MAX_BATCH_PERSONS = 10_000


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EvidenceIn(StrictInput):
    """How the consent was obtained: the exact notice shown and the method."""

    notice_text: str = Field(min_length=1, max_length=100_000)
    method: str = Field(min_length=1, max_length=40)
    notice_version: str = Field(default="1", min_length=1, max_length=100)
    language: Literal["ja", "en"] = "ja"


class ConsentCreate(StrictInput):
    person: uuid.UUID
    purpose: str = Field(min_length=1, max_length=63)
    categories: list[CategoryCode] = Field(min_length=1, max_length=100)
    expires_at: AwareDatetime | None = None
    #: the organization the consent lets use the data; the caller when left out
    recipient: str | None = Field(default=None, pattern=SLUG_PATTERN, max_length=63)
    evidence: EvidenceIn


class ConsentCreated(BaseModel):
    id: uuid.UUID
    receipt: dict[str, Any]


class ReceiptSummary(BaseModel):
    id: uuid.UUID
    event: str
    actor: str
    created_at: datetime
    ledger_index: int | None
    #: hex SHA-256 of the receipt's canonical bytes (the ledger entry's ``refs.receipt``)
    sha256: str


class ConsentOut(BaseModel):
    id: uuid.UUID
    person: uuid.UUID
    recipient: str
    recorded_by: str | None
    purpose: str
    categories: list[str]
    #: the state now: a consent past its expiry is "expired" even before the sweep
    state: str
    given_by: str
    method: str
    given_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None
    superseded_by: uuid.UUID | None


class ConsentDetail(ConsentOut):
    receipts: list[ReceiptSummary]


class ConsentPage(BaseModel):
    items: list[ConsentOut]
    limit: int
    offset: int
    #: the offset of the next page, or ``None`` at the end
    next_offset: int | None


class WithdrawalOut(BaseModel):
    consent: ConsentOut
    receipt: dict[str, Any]


class DecideIn(StrictInput):
    person: uuid.UUID
    purpose: str = Field(min_length=1, max_length=63)
    categories: list[CategoryCode] = Field(min_length=1, max_length=100)


class DecisionOut(BaseModel):
    allow: bool
    consents: list[uuid.UUID]
    reason: str
    reason_text: str
    person: uuid.UUID
    purpose: str
    categories: list[str]
    at: datetime
    ledger_index: int | None


class DecideBatchIn(StrictInput):
    purpose: str = Field(min_length=1, max_length=63)
    categories: list[CategoryCode] = Field(min_length=1, max_length=100)
    persons: list[uuid.UUID] = Field(min_length=1, max_length=MAX_BATCH_PERSONS)


class BatchDecisionOut(BaseModel):
    purpose: str
    categories: list[str]
    at: datetime
    decisions: int
    allowed_count: int
    denied_count: int
    #: the persons that may be read, each with the consent that covers the read
    allowed: dict[uuid.UUID, uuid.UUID]
    ledger_indexes: list[int]


class PurposeOut(BaseModel):
    code: str
    #: ``True`` for the caller's own purpose, ``False`` for a default everyone may use
    own: bool
    dpv: str | None
    label_ja: str
    label_en: str
    description_ja: str
    description_en: str


class PurposeCreate(StrictInput):
    code: str = Field(min_length=2, max_length=63)
    label_ja: str = Field(min_length=1, max_length=200)
    label_en: str = Field(min_length=1, max_length=200)
    description_ja: str = Field(default="", max_length=4000)
    description_en: str = Field(default="", max_length=4000)
    dpv: str | None = Field(default=None, max_length=200)


class CategoryOut(BaseModel):
    code: str
    parent: str | None
    sensitive: bool
    label_ja: str
    label_en: str


class ConsentRequestCreate(StrictInput):
    person: uuid.UUID
    purpose: str = Field(min_length=1, max_length=63)
    categories: list[CategoryCode] = Field(min_length=1, max_length=100)
    notice_text: str = Field(min_length=1, max_length=100_000)
    message: str = Field(default="", max_length=4000)
    expires_at: AwareDatetime | None = None


class ConsentRequestOut(BaseModel):
    id: uuid.UUID
    person: uuid.UUID
    purpose: str
    categories: list[str]
    message: str
    state: str
    created_at: datetime
    expires_at: datetime | None
    answered_at: datetime | None
    consent: uuid.UUID | None
