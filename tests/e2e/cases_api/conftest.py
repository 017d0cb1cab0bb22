"""Fixtures of the cases API tests: a tenant with keys and its support project."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.e2e.cases_api.helpers import Tenant, project, tenant
from tsunagu.cases.models import Project


@pytest.fixture
def owner(db: Session) -> Tenant:
    return tenant(db)


@pytest.fixture
def sup(db: Session, owner: Tenant) -> Project:
    return project(db, owner, "SUP")
