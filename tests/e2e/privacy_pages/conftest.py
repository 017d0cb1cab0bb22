"""Fixtures of the privacy pages' tests: the privacy world (``world.py``) committed, and
a TestClient signed in as its admin or its member through the real sign-in form."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.pages.conftest import sign_in_staff
from tests.e2e.privacy_pages.world import PrivacyWorld, build_privacy_world
from tsunagu.vault.service import Vault


@pytest.fixture
def privacy_world(db: Session, vault: Vault) -> PrivacyWorld:
    world = build_privacy_world(db, vault)
    db.commit()
    return world


@pytest.fixture
def admin_client(client: TestClient, privacy_world: PrivacyWorld) -> TestClient:
    sign_in_staff(client, privacy_world.admin.email)
    return client


@pytest.fixture
def member_client(client: TestClient, privacy_world: PrivacyWorld) -> TestClient:
    sign_in_staff(client, privacy_world.member.email)
    return client
