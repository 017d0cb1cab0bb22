"""Fixtures of the case pages' tests: the cases world (``world.py``) committed, and
TestClients signed in through the real sign-in form as its member or its viewer."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.cases_pages.world import CasesWorld, build_cases_world
from tests.e2e.pages.conftest import sign_in_staff


@pytest.fixture
def cases_world(db: Session) -> CasesWorld:
    world = build_cases_world(db)
    db.commit()
    return world


@pytest.fixture
def member_client(client: TestClient, cases_world: CasesWorld) -> TestClient:
    sign_in_staff(client, cases_world.member.email)
    return client


@pytest.fixture
def viewer_client(client: TestClient, cases_world: CasesWorld) -> TestClient:
    sign_in_staff(client, cases_world.viewer.email)
    return client
