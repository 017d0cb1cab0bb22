"""Helpers of the pipeline API tests: a tenant with a key of a role, entities with history."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from tests.support.factories import create_api_key, create_org
from tsunagu.crm import service
from tsunagu.identity.models import Organization


def tenant(db: Session, role: str = "member") -> tuple[Organization, str]:
    """A new organization and a plain API key of ``role`` (committed)."""
    org = create_org(db)
    key = create_api_key(db, org, role=role)
    db.commit()
    return org, key


def entity(db: Session, org: Organization, ref: str, *moves: tuple[str, datetime]) -> uuid.UUID:
    """An entity of ``org`` moved through ``moves`` (stage, at), committed."""
    made = service.create_entity(db, org.id, ref=ref, name=f"株式会社{ref}")
    for stage, at in moves:
        service.move(db, org.id, made.id, stage, actor="test", at=at, reason="理由")
    db.commit()
    return made.id
