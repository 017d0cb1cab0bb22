"""Fixtures of the personal portal's data pages: a world of two organizations holding
records about a person (one sensitive), the person's consent to the first organization,
and a second person with a consent of their own (for the other-person cases)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from tests.support.factories import DEFAULT_PASSWORD, create_org
from tsunagu.consent import service as consent_service
from tsunagu.identity import service as identity
from tsunagu.identity.models import Organization, Person
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault

NOTICE = "つなぐ商店からお得な情報をお送りします。"


@dataclass(frozen=True)
class PortalWorld:
    shop: Organization
    clinic: Organization
    person: Person
    other: Person
    consent_id: uuid.UUID
    other_consent_id: uuid.UUID
    person_email: str
    other_email: str
    password: str = DEFAULT_PASSWORD


def seed_person(
    db: Session,
    vault: Vault,
    shop: Organization,
    clinic: Organization,
    *,
    email: str,
    family: str,
    given: str,
) -> tuple[Person, uuid.UUID]:
    """A person with a portal account, records at both organizations and a marketing
    consent to ``shop`` for e-mail and purchases."""
    person = identity.create_person(
        db, family_name=family, given_name=given, email=email, password=DEFAULT_PASSWORD
    )
    for org, category, payload in (
        (shop, "contact.email", {"email": email}),
        (shop, "purchase.order", {"item": "緑茶 500ml", "quantity": 2}),
        (clinic, "health.blood_pressure", {"systolic": 128, "diastolic": 82}),
    ):
        vault_service.create_record(
            db,
            vault,
            person_id=person.id,
            category=category,
            payload=payload,
            source=org,
            source_kind="api",
            actor="api_key:test",
        )
    issued = consent_service.give_consent(
        db,
        vault.pseudonym_key,
        person_id=person.id,
        recipient=shop,
        purpose="marketing",
        categories=["contact.email", "purchase.order"],
        evidence=consent_service.Evidence(notice_text=NOTICE, method="web-form"),
        actor="api_key:test",
        given_by="organization",
        recorded_by=shop,
    )
    return person, issued.consent.id


@pytest.fixture
def portal_world(db: Session, vault: Vault) -> PortalWorld:
    shop = create_org(db, name="つなぐ商店", kind="company")
    clinic = create_org(db, name="みなと診療所", kind="hospital")
    email = f"hanako-{shop.slug}@example.jp"
    other_email = f"jiro-{shop.slug}@example.jp"
    person, consent_id = seed_person(
        db, vault, shop, clinic, email=email, family="山田", given="花子"
    )
    other, other_consent_id = seed_person(
        db, vault, shop, clinic, email=other_email, family="鈴木", given="次郎"
    )
    db.commit()
    return PortalWorld(
        shop, clinic, person, other, consent_id, other_consent_id, email, other_email
    )
