"""Fixtures of the campaign API and page tests: two tenants, each with an admin and a
viewer key, and a world written through the real services (committed before requests)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from tests.integration.crm.campaign_helpers import World
from tests.support.factories import bearer, create_api_key, create_org
from tsunagu.vault.service import Vault


@dataclass(frozen=True)
class Tenant:
    world: World
    admin_key: str
    viewer_key: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.admin_key)

    @property
    def viewer(self) -> dict[str, str]:
        return bearer(self.viewer_key)


def make_tenant(db: Session, vault: Vault) -> Tenant:
    org = create_org(db)
    admin = create_api_key(db, org, role="admin")
    viewer = create_api_key(db, org, role="viewer", name="viewer key")
    db.commit()
    return Tenant(World(db, vault, org), admin, viewer)


@pytest.fixture
def home(db: Session, vault: Vault) -> Tenant:
    return make_tenant(db, vault)


@pytest.fixture
def other(db: Session, vault: Vault) -> Tenant:
    return make_tenant(db, vault)
