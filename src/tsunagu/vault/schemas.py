"""Pydantic shapes of the vault API (issue 5 §7).  Inputs forbid unknown fields.

A payload is any non-empty JSON object (at most ``MAX_PAYLOAD_BYTES`` once canonical); it
is sealed under the person's data key before it reaches the database.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

LegalBasis = Literal["consent", "contract", "legal-obligation", "vital-interest", "public-task"]
RequestKind = Literal["disclosure", "correction", "stop_use", "deletion"]


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PersonCreate(StrictInput):
    #: the organization's own reference (customer number); unique per organization
    ref: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    given_name: str = Field(min_length=1, max_length=100)
    family_name_kana: str | None = Field(default=None, max_length=100)
    given_name_kana: str | None = Field(default=None, max_length=100)
    birth_date: date | None = None
    email: EmailStr | None = None


class Created(BaseModel):
    id: uuid.UUID


class PersonOut(BaseModel):
    id: uuid.UUID
    #: the caller's reference for the person (``None`` when known only through consent)
    ref: str | None
    family_name: str
    given_name: str
    family_name_kana: str | None
    given_name_kana: str | None
    birth_date: date | None


class RecordCreate(StrictInput):
    person: uuid.UUID
    category: str = Field(min_length=1, max_length=100)
    payload: dict[str, Any]
    collected_at: AwareDatetime | None = None
    legal_basis: LegalBasis = "consent"


class RecordUpdate(StrictInput):
    payload: dict[str, Any]


class RecordVersionOut(BaseModel):
    id: uuid.UUID
    category: str
    version: int
    updated_at: datetime


class RequestOut(BaseModel):
    id: uuid.UUID
    person: uuid.UUID
    kind: str
    detail: str
    state: str
    created_at: datetime
    due_at: datetime
    answered_at: datetime | None
    answer: str | None


class RequestAnswer(StrictInput):
    answer: str = Field(min_length=1, max_length=4000)
    #: refuse the request (say why in ``answer``) instead of carrying it out
    reject: bool = False


class ProvisionOut(BaseModel):
    provided_at: datetime
    provider: str
    recipient: str
    #: the person's ledger pseudonym (a provision record names no one)
    subject: str
    purpose: str
    categories: list[str]
    confirmation: str
    ledger_index: int | None
    retain_until: date
