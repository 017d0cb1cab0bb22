"""Fixtures of the collaboration and clean-room page tests: the linkage world
(``world.py``) committed, and a helper that signs a TestClient in as one of its staff."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.linkage_pages.world import LinkageWorld, build_linkage_world
from tests.e2e.pages.conftest import sign_in_staff
from tsunagu.core.settings import Settings
from tsunagu.identity.models import StaffUser
from tsunagu.vault.service import Vault


@pytest.fixture
def linkage_world(db: Session, settings: Settings, vault: Vault) -> LinkageWorld:
    world = build_linkage_world(db, settings, vault)
    db.commit()
    return world


@pytest.fixture
def signed_in(client: TestClient, linkage_world: LinkageWorld) -> Callable[[StaffUser], TestClient]:
    def sign_in(user: StaffUser) -> TestClient:
        sign_in_staff(client, user.email)
        return client

    return sign_in
