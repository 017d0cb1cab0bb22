"""Helpers of the cases API tests: tenants with keys of a role, projects and cases made
through the real services (committed, so that the ``client`` sees them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import bearer, create_api_key, create_org
from tsunagu.cases import service
from tsunagu.cases.models import Case, Project
from tsunagu.identity.models import Organization
from tsunagu.identity.service import Actor

CASES = "/api/v1/cases"


@dataclass
class Tenant:
    org: Organization
    #: a member key, an admin key and a viewer key of the organization
    member: dict[str, str]
    admin: dict[str, str]
    viewer: dict[str, str]

    @property
    def actor(self) -> Actor:
        """An organization admin acting through the services (to set the stage)."""
        return Actor(kind="api_key", organization_id=self.org.id, role="admin")


def tenant(db: Session) -> Tenant:
    """A new organization with a member, an admin and a viewer key (committed)."""
    org = create_org(db)
    made = Tenant(
        org=org,
        member=bearer(create_api_key(db, org, role="member", name="member key")),
        admin=bearer(create_api_key(db, org, role="admin", name="admin key")),
        viewer=bearer(create_api_key(db, org, role="viewer", name="viewer key")),
    )
    db.commit()
    return made


def project(db: Session, owner: Tenant, key: str = "SUP", **options: Any) -> Project:
    """A project of the tenant (committed)."""
    made = service.create_project(db, owner.actor, key=key, name=f"{key} project", **options)
    db.commit()
    return made


def case(db: Session, owner: Tenant, in_project: Project, summary: str, **values: Any) -> Case:
    """A case in the project (committed)."""
    made = service.create_case(
        db, owner.actor, in_project, {"summary": summary, **values}, source="api"
    )
    db.commit()
    return made


def problem(response: Any, status: int) -> dict[str, Any]:
    """The problem+json body of an error answer with ``status`` (and a message)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["detail"]
    return body


def create(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post(CASES, json=body, headers=headers)
