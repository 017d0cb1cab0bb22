"""Fixtures of the ledger pages' tests.

- ``ledger_world``: an organization with staff, two persons with portal accounts, and a
  ledger holding entries about each of them (single-subject entries and one bulk entry whose
  set holds the first person), appended with the app's own pseudonym key — for the
  TestClient page tests;
- the live server of the browser tests is in ``live.py`` (they run under
  ``tests/e2e/browser``, whose session-wide Chromium they share: Playwright's sync API
  runs once per process).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from tests.support.factories import DEFAULT_PASSWORD, create_org, create_staff
from tsunagu.core.settings import Settings
from tsunagu.identity import service as identity
from tsunagu.identity.models import Organization, Person, StaffUser
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import Entry, pseudonym, single_subject

BULK_OTHERS = 40


@dataclass(frozen=True)
class LedgerWorld:
    org: Organization
    other_org: Organization
    admin: StaffUser
    viewer: StaffUser
    person: Person
    other_person: Person
    person_email: str
    other_email: str
    password: str = DEFAULT_PASSWORD


def _person(db: Session, family: str, given: str, email: str) -> Person:
    return identity.create_person(
        db, family_name=family, given_name=given, email=email, password=DEFAULT_PASSWORD
    )


@pytest.fixture
def ledger_world(db: Session, settings: Settings) -> LedgerWorld:
    org = create_org(db, name="つなぐ商店", kind="company")
    other_org = create_org(db, name="べつの保険株式会社", kind="company")
    admin = create_staff(db, org, role="admin")
    viewer = create_staff(db, org, role="viewer")
    person = _person(db, "山田", "太郎", f"taro-{org.slug}@example.jp")
    other = _person(db, "鈴木", "次郎", f"jiro-{org.slug}@example.jp")
    key = settings.resolved_ledger_pseudonym_key()
    crowd = [pseudonym(key, uuid.uuid4()) for _ in range(BULK_OTHERS)]
    ledger.append(
        db,
        [
            Entry(
                kind="consent.given",
                org=org.slug,
                actor="person",
                purpose="marketing.personalised_offers",
                categories=("contact.email", "purchase.order"),
                subject=single_subject(key, person.id),
            ),
            Entry(
                kind="access.allowed",
                org=org.slug,
                actor=f"staff:{admin.id}",
                purpose="marketing.personalised_offers",
                categories=("purchase.order",),
                subject=single_subject(key, person.id),
            ),
            Entry(
                kind="access.denied",
                org=other_org.slug,
                actor="api_key:1",
                purpose="marketing.direct_mail",
                categories=("health.checkup",),
                subject=single_subject(key, other.id),
            ),
            Entry(
                kind="cleanroom.query",
                org=org.slug,
                actor=f"staff:{admin.id}",
                purpose="analytics.product_improvement",
                categories=("purchase.order",),
                members=(pseudonym(key, person.id), *crowd),
            ),
            Entry(
                kind="provision",
                org=org.slug,
                actor=f"staff:{admin.id}",
                purpose="analytics.product_improvement",
                categories=("purchase.order",),
                subject=single_subject(key, person.id),
                refs={"recipient": other_org.slug},
            ),
        ],
    )
    db.commit()
    return LedgerWorld(
        org,
        other_org,
        admin,
        viewer,
        person,
        other,
        person_email=f"taro-{org.slug}@example.jp",
        other_email=f"jiro-{org.slug}@example.jp",
    )
