"""Fixtures for the consent specification tests: two organizations and persons.

Helpers here call the real services (no mocks); every database change is rolled back
after the test by the shared ``db`` fixture.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy.orm import Session

from tests.support.factories import create_org
from tsunagu.consent import service as consent_service
from tsunagu.consent.decision import Reader
from tsunagu.core.clock import utcnow
from tsunagu.identity.models import Organization, Person
from tsunagu.ledger import service as ledger
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault

EVIDENCE = consent_service.Evidence(
    notice_text="連絡先をマーケティングに利用します。We use your contact details for marketing.",
    method="web-form",
)
_refs = itertools.count(1)


@dataclass(frozen=True)
class Orgs:
    """The organization that holds the records (home) and another one (other)."""

    home: Organization
    other: Organization

    def reader(self, which: str) -> Reader:
        org = self.home if which == "home" else self.other
        return Reader(org.id, org.slug)


@pytest.fixture
def orgs(db: Session) -> Orgs:
    return Orgs(home=create_org(db), other=create_org(db))


def new_person(
    db: Session, vault: Vault, org: Organization, *, birth_date: date | None = None
) -> Person:
    """A person the organization registers under a fresh reference number."""
    return vault_service.register_person(
        db,
        vault,
        org,
        ref=f"ref-{next(_refs)}-{uuid.uuid4().hex[:6]}",
        family_name="山田",
        given_name="花子",
        birth_date=birth_date,
        actor="api_key:test",
    )


def give(
    db: Session,
    vault: Vault,
    person_id: uuid.UUID,
    recipient: Organization,
    purpose: str,
    categories: list[str],
    *,
    now: datetime | None = None,
    expires_at: datetime | None = None,
) -> consent_service.Issued:
    """The person gives a consent themself."""
    return consent_service.give_consent(
        db,
        vault.pseudonym_key,
        person_id=person_id,
        recipient=recipient,
        purpose=purpose,
        categories=categories,
        evidence=EVIDENCE,
        actor="person",
        given_by="person",
        expires_at=expires_at,
        now=now or utcnow(),
    )


def entry_at(db: Session, index: int) -> dict[str, Any]:
    """The ledger entry at ``index``, as JSON."""
    (leaf,) = ledger.get_entries(db, index, index, 1)
    data: dict[str, Any] = orjson.loads(leaf)
    return data


def last_entry(db: Session) -> dict[str, Any]:
    return entry_at(db, ledger.tree_size(db) - 1)
