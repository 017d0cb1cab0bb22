"""Fixtures of the handoff pages' tests: the handoff world committed, and TestClients signed
in as its member or its viewer through the real sign-in form."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.crm_handoffs.world import HandoffWorld, build_handoff_world
from tests.e2e.pages.conftest import sign_in_staff


@pytest.fixture
def handoff_world(db: Session) -> HandoffWorld:
    world = build_handoff_world(db)
    db.commit()
    return world


@pytest.fixture
def member_client(client: TestClient, handoff_world: HandoffWorld) -> TestClient:
    sign_in_staff(client, handoff_world.member.email)
    return client


@pytest.fixture
def viewer_client(client: TestClient, handoff_world: HandoffWorld) -> TestClient:
    sign_in_staff(client, handoff_world.viewer.email)
    return client
