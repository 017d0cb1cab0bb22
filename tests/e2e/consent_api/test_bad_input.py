"""Bad input gets a clear 4xx problem naming what is wrong, and writes nothing (no row, no
ledger entry)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.e2e.api.test_shell import assert_problem
from tests.e2e.consent_api.conftest import Org, add_person, consent_body, read
from tsunagu.consent.models import Consent
from tsunagu.ledger.service import tree_size


def _consents(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Consent)) or 0


@pytest.fixture
def person(client: TestClient, acme: Org) -> str:
    return add_person(client, acme)


class TestBadConsent:
    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"categories": ["contact", "shoe_size"]}, "unknown_category"),
            ({"purpose": "no-such-purpose"}, "unknown_purpose"),
            ({"expires_at": "2001-01-01T00:00:00Z"}, "expiry_in_past"),
            ({"expires_at": "2999-01-01T00:00:00"}, "invalid_input"),
            ({"evidence": {"method": "web-form"}}, "invalid_input"),
            ({"evidence": {"notice_text": "x", "method": "web-form", "x": 1}}, "invalid_input"),
            ({"categories": []}, "invalid_input"),
            ({"colour": "blue"}, "invalid_input"),
            ({"recipient": "nobody-here"}, "unknown_recipient"),
        ],
    )
    def test_is_a_422_and_writes_nothing(
        self,
        client: TestClient,
        acme: Org,
        db: Session,
        person: str,
        overrides: dict[str, Any],
        code: str,
    ) -> None:
        before = (tree_size(db), _consents(db))
        response = client.post(
            "/api/v1/consents", json=consent_body(person, **overrides), headers=acme.headers
        )
        assert_problem(response, 422, code)
        assert (tree_size(db), _consents(db)) == before

    def test_without_evidence_is_a_422_naming_it(
        self, client: TestClient, acme: Org, person: str
    ) -> None:
        body = consent_body(person)
        del body["evidence"]
        response = client.post("/api/v1/consents", json=body, headers=acme.headers)
        problem = assert_problem(response, 422, "invalid_input")
        assert "evidence" in str(problem["errors"])

    def test_a_purpose_of_another_organization_is_a_422(
        self, client: TestClient, acme: Org, globex: Org, db: Session, person: str
    ) -> None:
        created = client.post(
            "/api/v1/purposes",
            json={"code": "globex-club", "label_ja": "会員", "label_en": "Club"},
            headers=globex.headers,
        )
        assert created.status_code == 201
        before = _consents(db)
        response = client.post(
            "/api/v1/consents",
            json=consent_body(person, purpose="globex-club"),
            headers=acme.headers,
        )
        assert_problem(response, 422, "unknown_purpose")
        assert _consents(db) == before

    def test_the_recipients_own_purpose_is_accepted(
        self, client: TestClient, acme: Org, globex: Org, person: str
    ) -> None:
        client.post(
            "/api/v1/purposes",
            json={"code": "globex-club", "label_ja": "会員", "label_en": "Club"},
            headers=globex.headers,
        )
        response = client.post(
            "/api/v1/consents",
            json=consent_body(person, purpose="globex-club", recipient="globex"),
            headers=acme.headers,
        )
        assert response.status_code == 201

    def test_malformed_json_is_a_400(self, client: TestClient, acme: Org, db: Session) -> None:
        before = _consents(db)
        response = client.post(
            "/api/v1/consents",
            content=b'{"person": ',
            headers={**acme.headers, "Content-Type": "application/json"},
        )
        assert_problem(response, 400, "malformed_json")
        assert _consents(db) == before


class TestBadRecord:
    def test_an_unknown_category_is_a_422(self, client: TestClient, acme: Org, person: str) -> None:
        response = client.post(
            "/api/v1/vault/records",
            json={"person": person, "category": "shoe_size", "payload": {"eu": 38}},
            headers=acme.headers,
        )
        body = assert_problem(response, 422, "unknown_category")
        assert body["errors"][0]["value"] == "shoe_size"

    def test_an_empty_payload_is_a_422(self, client: TestClient, acme: Org, person: str) -> None:
        response = client.post(
            "/api/v1/vault/records",
            json={"person": person, "category": "contact.email", "payload": {}},
            headers=acme.headers,
        )
        assert_problem(response, 422, "invalid_input")

    def test_an_unknown_field_is_a_422(self, client: TestClient, acme: Org, person: str) -> None:
        response = client.post(
            "/api/v1/vault/records",
            json={"person": person, "category": "contact.email", "payload": {"a": 1}, "z": 0},
            headers=acme.headers,
        )
        assert_problem(response, 422, "invalid_input")


class TestBadPerson:
    def test_a_missing_name_is_a_422(self, client: TestClient, acme: Org) -> None:
        response = client.post("/api/v1/persons", json={"ref": "C-9"}, headers=acme.headers)
        assert_problem(response, 422, "invalid_input")

    def test_a_malformed_email_is_a_422(self, client: TestClient, acme: Org) -> None:
        response = client.post(
            "/api/v1/persons",
            json={"ref": "C-9", "family_name": "山田", "given_name": "花子", "email": "nope"},
            headers=acme.headers,
        )
        assert_problem(response, 422, "invalid_input")


class TestBadRead:
    def test_an_unknown_category_is_a_422_and_no_ledger_entry(
        self, client: TestClient, acme: Org, db: Session, person: str
    ) -> None:
        before = tree_size(db)
        assert_problem(
            read(client, acme, person, "marketing", "shoe_size"), 422, "unknown_category"
        )
        assert tree_size(db) == before

    def test_without_a_purpose_is_a_422(self, client: TestClient, acme: Org, person: str) -> None:
        response = client.get(
            f"/api/v1/vault/persons/{person}/records",
            params={"category": "contact"},
            headers=acme.headers,
        )
        assert_problem(response, 422, "invalid_input")

    def test_an_unknown_category_to_decide_is_a_422(
        self, client: TestClient, acme: Org, person: str
    ) -> None:
        response = client.post(
            "/api/v1/consent/decide",
            json={"person": person, "purpose": "marketing", "categories": ["shoe_size"]},
            headers=acme.headers,
        )
        assert_problem(response, 422, "unknown_category")

    def test_a_batch_over_10000_persons_is_a_422(self, client: TestClient, acme: Org) -> None:
        persons = [str(uuid.uuid4()) for _ in range(10_001)]
        response = client.post(
            "/api/v1/consent/decide-batch",
            json={"purpose": "marketing", "categories": ["contact"], "persons": persons},
            headers=acme.headers,
        )
        assert_problem(response, 422, "invalid_input")
