"""Fixtures of the pipeline pages' tests: the CRM world (``world.py``) committed, and a
TestClient signed in as its member or its viewer through the real sign-in form."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.crm_pages.world import CrmWorld, build_crm_world
from tests.e2e.pages.conftest import sign_in_staff


@pytest.fixture
def crm_world(db: Session) -> CrmWorld:
    world = build_crm_world(db)
    db.commit()
    return world


@pytest.fixture
def member_client(client: TestClient, crm_world: CrmWorld) -> TestClient:
    sign_in_staff(client, crm_world.member.email)
    return client


@pytest.fixture
def viewer_client(client: TestClient, crm_world: CrmWorld) -> TestClient:
    sign_in_staff(client, crm_world.viewer.email)
    return client
