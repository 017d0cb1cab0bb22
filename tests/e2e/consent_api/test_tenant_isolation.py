"""Another organization's ids answer 404 on every endpoint — never its data."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.api.test_shell import assert_problem
from tests.e2e.consent_api.conftest import (
    Org,
    add_consent,
    add_person,
    add_record,
    consent_body,
    make_org,
    read,
)
from tsunagu.vault import service as vault_service


@pytest.fixture
def theirs(client: TestClient, globex: Org) -> dict[str, str]:
    """A person of globex with a record and a consent."""
    person = add_person(client, globex, ref="G-1")
    record = add_record(client, globex, person)
    consent = add_consent(client, globex, person)
    return {"person": person, "record": record, "consent": consent["id"]}


class TestAnotherOrganizationsPerson:
    def test_get_is_a_404(self, client: TestClient, acme: Org, theirs: dict[str, str]) -> None:
        response = client.get(f"/api/v1/persons/{theirs['person']}", headers=acme.headers)
        assert_problem(response, 404, "person_not_found")

    @pytest.mark.usefixtures("theirs")
    def test_their_ref_finds_nobody(self, client: TestClient, acme: Org) -> None:
        response = client.get("/api/v1/persons", params={"ref": "G-1"}, headers=acme.headers)
        assert response.json() == []

    def test_adding_a_record_is_a_404(
        self, client: TestClient, acme: Org, theirs: dict[str, str]
    ) -> None:
        response = client.post(
            "/api/v1/vault/records",
            json={"person": theirs["person"], "category": "contact.phone", "payload": {"p": 1}},
            headers=acme.headers,
        )
        assert_problem(response, 404, "person_not_found")

    def test_recording_a_consent_is_a_404(
        self, client: TestClient, acme: Org, theirs: dict[str, str]
    ) -> None:
        response = client.post(
            "/api/v1/consents", json=consent_body(theirs["person"]), headers=acme.headers
        )
        assert_problem(response, 404, "person_not_found")

    def test_deciding_is_a_404(self, client: TestClient, acme: Org, theirs: dict[str, str]) -> None:
        response = client.post(
            "/api/v1/consent/decide",
            json={"person": theirs["person"], "purpose": "marketing", "categories": ["contact"]},
            headers=acme.headers,
        )
        assert_problem(response, 404, "person_not_found")

    def test_reading_records_is_a_404(
        self, client: TestClient, acme: Org, theirs: dict[str, str]
    ) -> None:
        response = read(client, acme, theirs["person"], "marketing", "contact.email")
        assert_problem(response, 404, "person_not_found")
        assert "hanako" not in response.text

    def test_asking_for_consent_is_a_404(
        self, client: TestClient, acme: Org, theirs: dict[str, str]
    ) -> None:
        response = client.post(
            "/api/v1/consent-requests",
            json={
                "person": theirs["person"],
                "purpose": "marketing",
                "categories": ["contact"],
                "notice_text": "ご案内",
            },
            headers=acme.headers,
        )
        assert_problem(response, 404, "person_not_found")

    def test_a_batch_decision_allows_none_of_them(
        self, client: TestClient, acme: Org, theirs: dict[str, str]
    ) -> None:
        response = client.post(
            "/api/v1/consent/decide-batch",
            json={"purpose": "marketing", "categories": ["contact"], "persons": [theirs["person"]]},
            headers=acme.headers,
        )
        assert (response.json()["allowed"], response.json()["denied_count"]) == ({}, 1)


class TestAnotherOrganizationsRecord:
    def test_update_is_a_404(self, client: TestClient, acme: Org, theirs: dict[str, str]) -> None:
        response = client.put(
            f"/api/v1/vault/records/{theirs['record']}",
            json={"payload": {"email": "evil@x.jp"}},
            headers=acme.headers,
        )
        assert_problem(response, 404, "record_not_found")


class TestAnotherOrganizationsConsent:
    @pytest.mark.parametrize(
        ("method", "suffix"),
        [("GET", ""), ("POST", "/withdraw")],
    )
    def test_is_a_404(
        self, client: TestClient, acme: Org, theirs: dict[str, str], method: str, suffix: str
    ) -> None:
        response = client.request(
            method, f"/api/v1/consents/{theirs['consent']}{suffix}", headers=acme.headers
        )
        assert_problem(response, 404, "consent_not_found")

    def test_its_receipt_is_a_404(
        self, client: TestClient, acme: Org, globex: Org, theirs: dict[str, str]
    ) -> None:
        detail = client.get(f"/api/v1/consents/{theirs['consent']}", headers=globex.headers)
        receipt = detail.json()["receipts"][0]["id"]
        response = client.get(
            f"/api/v1/consents/{theirs['consent']}/receipts/{receipt}", headers=acme.headers
        )
        assert_problem(response, 404, "consent_not_found")

    def test_a_receipt_of_another_consent_is_a_404(
        self, client: TestClient, acme: Org, globex: Org, theirs: dict[str, str]
    ) -> None:
        detail = client.get(f"/api/v1/consents/{theirs['consent']}", headers=globex.headers)
        receipt = detail.json()["receipts"][0]["id"]
        mine = add_consent(client, acme, add_person(client, acme))["id"]
        response = client.get(f"/api/v1/consents/{mine}/receipts/{receipt}", headers=acme.headers)
        assert_problem(response, 404, "receipt_not_found")

    @pytest.mark.usefixtures("theirs")
    def test_it_is_not_in_the_list(self, client: TestClient, acme: Org) -> None:
        response = client.get("/api/v1/consents", headers=acme.headers)
        assert response.json()["items"] == []


class TestAnotherOrganizationsPurpose:
    def test_is_not_listed(self, client: TestClient, acme: Org, globex: Org) -> None:
        client.post(
            "/api/v1/purposes",
            json={"code": "globex-club", "label_ja": "会員", "label_en": "Club"},
            headers=globex.headers,
        )
        codes = [p["code"] for p in client.get("/api/v1/purposes", headers=acme.headers).json()]
        assert "globex-club" not in codes


def _file_request(db: Session, org: Org, person: str) -> str:
    """The person asks ``org`` for disclosure (in the portal, through the vault's service)."""
    row = vault_service.file_request(
        db, person_id=uuid.UUID(person), organization_id=org.org.id, kind="disclosure"
    )
    db.commit()
    return str(row.id)


class TestAnotherOrganizationsRequest:
    def test_is_not_in_the_queue(
        self, client: TestClient, acme: Org, globex: Org, db: Session, theirs: dict[str, str]
    ) -> None:
        _file_request(db, globex, theirs["person"])
        assert client.get("/api/v1/requests", headers=acme.headers).json() == []

    def test_answering_it_is_a_404(
        self, client: TestClient, acme: Org, globex: Org, db: Session, theirs: dict[str, str]
    ) -> None:
        request_id = _file_request(db, globex, theirs["person"])
        response = client.post(
            f"/api/v1/requests/{request_id}/answer", json={"answer": "done"}, headers=acme.headers
        )
        assert_problem(response, 404, "request_not_found")


class TestAnotherOrganizationsProvisions:
    def test_are_not_listed(self, client: TestClient, acme: Org, globex: Org, db: Session) -> None:
        # acme's record, read by globex under a consent naming globex: a provision
        person = add_person(client, acme)
        add_record(client, acme, person)
        add_consent(client, acme, person, recipient="globex")
        assert read(client, globex, person).status_code == 200
        initech = make_org(db, "initech")
        assert client.get("/api/v1/provisions", headers=initech.headers).json() == []
