"""Fixtures of the KPT page tests: the KPT world (``world.py``) committed, and TestClients
signed in through the real sign-in form as its member or its viewer."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.cases_kpt.world import KptWorld, build_kpt_world
from tests.e2e.pages.conftest import sign_in_staff


@pytest.fixture
def kpt_world(db: Session) -> KptWorld:
    world = build_kpt_world(db)
    db.commit()
    return world


@pytest.fixture
def member_client(client: TestClient, kpt_world: KptWorld) -> TestClient:
    sign_in_staff(client, kpt_world.member.email)
    return client


@pytest.fixture
def viewer_client(client: TestClient, kpt_world: KptWorld) -> TestClient:
    sign_in_staff(client, kpt_world.viewer.email)
    return client
