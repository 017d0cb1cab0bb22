"""Who may call the consent and vault API: no key → 401; a viewer key reads but never
writes (403, and nothing is written)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.api.test_shell import assert_problem
from tests.e2e.consent_api.conftest import Org, add_consent, add_person, consent_body
from tsunagu.ledger.service import tree_size

_ID = str(uuid.uuid4())
ROUTES = [
    ("POST", "/api/v1/persons"),
    ("GET", "/api/v1/persons?ref=C-1"),
    ("GET", f"/api/v1/persons/{_ID}"),
    ("POST", "/api/v1/vault/records"),
    ("PUT", f"/api/v1/vault/records/{_ID}"),
    ("GET", f"/api/v1/vault/persons/{_ID}/records?purpose=marketing&category=contact"),
    ("POST", "/api/v1/consents"),
    ("GET", "/api/v1/consents"),
    ("GET", f"/api/v1/consents/{_ID}"),
    ("GET", f"/api/v1/consents/{_ID}/receipts/{_ID}"),
    ("POST", f"/api/v1/consents/{_ID}/withdraw"),
    ("POST", "/api/v1/consent/decide"),
    ("POST", "/api/v1/consent/decide-batch"),
    ("GET", "/api/v1/purposes"),
    ("POST", "/api/v1/purposes"),
    ("GET", "/api/v1/categories"),
    ("POST", "/api/v1/consent-requests"),
    ("GET", "/api/v1/requests"),
    ("POST", f"/api/v1/requests/{_ID}/answer"),
    ("GET", "/api/v1/provisions"),
    ("GET", "/api/v1/provisions.csv"),
]


class TestWithoutCredentials:
    @pytest.mark.parametrize(("method", "path"), ROUTES)
    def test_is_a_401(self, client: TestClient, method: str, path: str) -> None:
        response = client.request(method, path, json={})
        assert_problem(response, 401, "not_authenticated")
        assert response.headers["www-authenticate"].startswith("Bearer")


def _writes(person: str, consent: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("POST", "/api/v1/persons", {"ref": "V-1", "family_name": "山田", "given_name": "太郎"}),
        (
            "POST",
            "/api/v1/vault/records",
            {"person": person, "category": "contact.email", "payload": {"email": "a@b.jp"}},
        ),
        ("POST", "/api/v1/consents", consent_body(person)),
        ("POST", f"/api/v1/consents/{consent}/withdraw", {}),
        ("POST", "/api/v1/purposes", {"code": "loyalty", "label_ja": "会員", "label_en": "Club"}),
        (
            "POST",
            "/api/v1/consent-requests",
            {
                "person": person,
                "purpose": "marketing",
                "categories": ["contact"],
                "notice_text": "ご案内に利用します",
            },
        ),
    ]


class TestViewerKey:
    @pytest.mark.parametrize("index", range(6))
    def test_cannot_write(self, client: TestClient, acme: Org, db: Session, index: int) -> None:
        person = add_person(client, acme)
        consent = add_consent(client, acme, person)["id"]
        method, path, body = _writes(person, consent)[index]
        before = tree_size(db)
        response = client.request(method, path, json=body, headers=acme.viewer)
        assert_problem(response, 403, "role_too_low")
        assert tree_size(db) == before

    def test_cannot_update_a_record(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        record = client.post(
            "/api/v1/vault/records",
            json={"person": person, "category": "contact.email", "payload": {"email": "a@b.jp"}},
            headers=acme.headers,
        ).json()["id"]
        response = client.put(
            f"/api/v1/vault/records/{record}", json={"payload": {"x": 1}}, headers=acme.viewer
        )
        assert_problem(response, 403, "role_too_low")

    def test_may_read_consents(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        consent = add_consent(client, acme, person)["id"]
        response = client.get(f"/api/v1/consents/{consent}", headers=acme.viewer)
        assert response.status_code == 200

    def test_may_ask_for_a_decision(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        response = client.post(
            "/api/v1/consent/decide",
            json={"person": person, "purpose": "marketing", "categories": ["contact"]},
            headers=acme.viewer,
        )
        assert response.status_code == 200
