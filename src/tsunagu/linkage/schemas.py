"""Shapes of the collaborations API (``/api/v1/linkage``) and the clean room's API.

Nothing here carries a person: datasets answer with their counts and digest, a match run
with counts, a query with its released cells and counts.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TermsIn(BaseModel):
    """A sharing agreement's terms."""

    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(max_length=63, description="a purpose code of the vocabulary")
    categories: list[str] = Field(min_length=1, max_length=50)
    rules: dict[str, Any] = Field(
        description="analysis rules: dimensions, measures, min_group_size (default 50), "
        "epsilon_per_query, noise …"
    )
    forbidden_uses_ja: str = Field(default="", max_length=10_000)
    forbidden_uses_en: str = Field(default="", max_length=10_000)
    expires_at: datetime
    budget_epsilon: float | None = Field(default=None, gt=0)


class ParticipantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization: str = Field(max_length=63, description="the organization's slug")
    role: Literal["provider", "recipient"]


class CollaborationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    participants: list[ParticipantIn] = Field(min_length=2, max_length=2)
    terms: TermsIn


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(
        description="the version of the terms you read and accept (refused if no longer current)"
    )


class TermsOut(BaseModel):
    purpose: str
    categories: list[str]
    rules: dict[str, Any]
    forbidden_uses_ja: str
    forbidden_uses_en: str
    expires_at: datetime
    budget_epsilon: float | None


class ParticipantOut(BaseModel):
    organization: str
    role: str
    accepted: bool
    accepted_version: int | None
    accepted_at: datetime | None


class CollaborationOut(BaseModel):
    id: uuid.UUID
    name: str
    #: proposed, active, expired or ended (expiry derived at the time of the request)
    status: str
    version: int
    terms: TermsOut
    participants: list[ParticipantOut]
    created_at: datetime
    activated_at: datetime | None
    budget_spent: float


class DatasetOut(BaseModel):
    kind: str
    rows: int
    sha256: str
    uploaded_at: datetime
    ledger_index: int | None


class MatchIn(BaseModel):
    """How to match (the body of ``POST …/match`` is optional: keyed pseudonyms)."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["pseudonym", "probabilistic"] = Field(
        default="pseudonym",
        description="pseudonym: exact keyed pseudonyms; probabilistic: Splink, for typos, "
        "moves and name changes",
    )
    threshold: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="probabilistic only: link pairs at or above this match probability "
        "(default: the best expected F1)",
    )


class MatchRunOut(BaseModel):
    id: uuid.UUID
    ran_at: datetime
    version: int
    method: str
    #: the provider's whole customer table — shown to the provider only: it counts people
    #: who did not consent, and nothing about them may reach the recipient
    customers: int | None
    consenting: int
    members: int
    matched: int
    by_rule: dict[str, int]
    #: probabilistic runs: the chosen threshold (null for keyed pseudonyms)
    threshold: float | None
    #: probabilistic runs: counts and the model's estimated precision, recall and F1 by
    #: threshold, and how many pairs are borderline — never an identifier
    quality: dict[str, Any] | None
    ledger_index: int | None


class QueryOut(BaseModel):
    """A clean-room answer: released cells and what the release cost."""

    id: uuid.UUID
    cells: list[dict[str, Any]]
    suppressed: int
    persons: int
    epsilon_spent: float
    sql: str
    ledger_index: int | None


class QueryLogOut(BaseModel):
    id: uuid.UUID
    asked_at: datetime
    actor: str
    spec: dict[str, Any]
    cells_released: int
    cells_suppressed: int
    persons: int
    epsilon_spent: float
    ledger_index: int | None


class BudgetOut(BaseModel):
    total: float | None
    spent: float
    remaining: float | None
    epsilon_per_query: float | None
    queries: int


__all__ = [
    "AcceptIn",
    "BudgetOut",
    "CollaborationCreate",
    "CollaborationOut",
    "DatasetOut",
    "MatchIn",
    "MatchRunOut",
    "ParticipantIn",
    "ParticipantOut",
    "QueryLogOut",
    "QueryOut",
    "TermsIn",
    "TermsOut",
]
