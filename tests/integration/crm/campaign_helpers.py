"""A small world for the campaign and contact tests: an organization, persons with and
without marketing consent, entities and their moves — through the real services."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tests.integration.consent.conftest import give
from tests.support.factories import create_org
from tsunagu.core.clock import utcnow
from tsunagu.crm import service as crm_service
from tsunagu.crm.models import CrmEntity
from tsunagu.identity.models import Organization, Person
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault

ACTOR = "api_key:test"
_refs = itertools.count(1)
#: a fixed past instant the histories start from (moves may not lie in the future)
T0 = utcnow().replace(microsecond=0) - timedelta(days=400)


def day(n: float) -> datetime:
    """``n`` days after ``T0``."""
    return T0 + timedelta(days=n)


@dataclass
class World:
    db: Session
    vault: Vault
    org: Organization

    def person(self, *, email: str | None = None, consent: bool = False) -> Person:
        n = next(_refs)
        person = vault_service.register_person(
            self.db,
            self.vault,
            self.org,
            ref=f"p-{n}-{uuid.uuid4().hex[:6]}",
            family_name="佐藤",
            given_name=f"太郎{n}",
            email=email or f"taro{n}@example.jp",
            actor=ACTOR,
        )
        if consent:
            give(self.db, self.vault, person.id, self.org, "marketing", ["contact.email"])
        return person

    def entity(self, *, person: Person | None = None, ref: str | None = None) -> CrmEntity:
        n = next(_refs)
        return crm_service.create_entity(
            self.db,
            self.org.id,
            ref=ref or f"e-{n}",
            name=f"株式会社{n}",
            person_id=person.id if person else None,
        )

    def moves(self, entity: CrmEntity, *steps: tuple[str, float]) -> None:
        """Move ``entity`` through ``(stage, day)`` steps in order."""
        for stage, when in steps:
            crm_service.move(
                self.db,
                self.org.id,
                entity.id,
                stage,
                actor=ACTOR,
                source="import",
                at=day(when),
            )


def new_world(db: Session, vault: Vault) -> World:
    return World(db, vault, create_org(db))
