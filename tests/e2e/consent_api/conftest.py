"""Fixtures of the consent and vault API tests: two tenants (each with an admin and a
viewer key) and small helpers that go through the API the way a client does."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import bearer, create_api_key, create_org
from tsunagu.identity.models import Organization

NOTICE = "当社は、ご案内のためにメールアドレスを利用します。We use your e-mail for offers."
_refs = itertools.count(1)


@dataclass(frozen=True)
class Org:
    org: Organization
    admin_key: str
    viewer_key: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.admin_key)

    @property
    def viewer(self) -> dict[str, str]:
        return bearer(self.viewer_key)

    @property
    def slug(self) -> str:
        return self.org.slug


def make_org(db: Session, slug: str) -> Org:
    org = create_org(db, slug=slug)
    admin = create_api_key(db, org, role="admin")
    viewer = create_api_key(db, org, role="viewer", name="viewer key")
    db.commit()
    return Org(org=org, admin_key=admin, viewer_key=viewer)


@pytest.fixture
def acme(db: Session) -> Org:
    return make_org(db, "acme")


@pytest.fixture
def globex(db: Session) -> Org:
    return make_org(db, "globex")


def add_person(client: TestClient, org: Org, **fields: Any) -> str:
    body = {"ref": f"C-{next(_refs)}", "family_name": "山田", "given_name": "花子", **fields}
    response = client.post("/api/v1/persons", json=body, headers=org.headers)
    assert response.status_code == 201, response.text
    person_id: str = response.json()["id"]
    return person_id


def add_record(
    client: TestClient, org: Org, person: str, category: str = "contact.email", **payload: Any
) -> str:
    body = {"person": person, "category": category, "payload": payload or {"email": "h@x.jp"}}
    response = client.post("/api/v1/vault/records", json=body, headers=org.headers)
    assert response.status_code == 201, response.text
    record_id: str = response.json()["id"]
    return record_id


def consent_body(person: str, **overrides: Any) -> dict[str, Any]:
    return {
        "person": person,
        "purpose": "marketing",
        "categories": ["contact"],
        "evidence": {"notice_text": NOTICE, "method": "web-form"},
        **overrides,
    }


def add_consent(client: TestClient, org: Org, person: str, **overrides: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/consents", json=consent_body(person, **overrides), headers=org.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def read(
    client: TestClient, org: Org, person: str, purpose: str = "marketing", *categories: str
) -> Any:
    params = {"purpose": purpose, "category": list(categories) or ["contact.email"]}
    return client.get(f"/api/v1/vault/persons/{person}/records", params=params, headers=org.headers)
