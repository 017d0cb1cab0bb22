"""Fixtures of the API tests: an organization with an admin API key, and a second tenant."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from tests.support.factories import create_api_key, create_org
from tsunagu.identity.models import Organization


@dataclass(frozen=True)
class Tenant:
    org: Organization
    #: the plain key of an admin API key of ``org``
    admin_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}


def make_tenant(db: Session, slug: str) -> Tenant:
    org = create_org(db, slug=slug)
    key = create_api_key(db, org, role="admin")
    db.commit()
    return Tenant(org=org, admin_key=key)


@pytest.fixture
def tenant(db: Session) -> Tenant:
    return make_tenant(db, "acme")


@pytest.fixture
def other_tenant(db: Session) -> Tenant:
    return make_tenant(db, "globex")
