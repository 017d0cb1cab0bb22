"""The contract of issue 5 §7: each form, with its exact status code and JSON shape."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.api.test_shell import assert_problem
from tests.e2e.consent_api.conftest import (
    Org,
    add_consent,
    add_person,
    add_record,
    consent_body,
    read,
)
from tsunagu.ledger.service import tree_size


class TestRegisterPerson:
    def test_answers_201_with_the_id(self, client: TestClient, acme: Org) -> None:
        response = client.post(
            "/api/v1/persons",
            json={"ref": "C-1", "family_name": "山田", "given_name": "花子"},
            headers=acme.headers,
        )
        assert response.status_code == 201
        assert set(response.json()) == {"id"}
        uuid.UUID(response.json()["id"])

    def test_takes_the_optional_fields(self, client: TestClient, acme: Org) -> None:
        person = add_person(
            client,
            acme,
            family_name_kana="ヤマダ",
            given_name_kana="ハナコ",
            birth_date="1990-04-01",
            email="Hanako@Example.JP",
        )
        body = client.get(f"/api/v1/persons/{person}", headers=acme.headers).json()
        assert body["family_name_kana"] == "ヤマダ"
        assert body["birth_date"] == "1990-04-01"

    def test_the_same_ref_again_is_a_409(self, client: TestClient, acme: Org) -> None:
        add_person(client, acme, ref="C-dup")
        response = client.post(
            "/api/v1/persons",
            json={"ref": "C-dup", "family_name": "佐藤", "given_name": "一郎"},
            headers=acme.headers,
        )
        assert_problem(response, 409, "ref_taken")

    def test_another_organization_may_use_the_same_ref(
        self, client: TestClient, acme: Org, globex: Org
    ) -> None:
        add_person(client, acme, ref="C-7")
        assert add_person(client, globex, ref="C-7")


class TestCreateRecord:
    def test_answers_201_with_the_id(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        response = client.post(
            "/api/v1/vault/records",
            json={
                "person": person,
                "category": "contact.phone",
                "payload": {"phone": "0312345678"},
            },
            headers=acme.headers,
        )
        assert response.status_code == 201
        assert set(response.json()) == {"id"}


class TestGiveConsent:
    def test_answers_201_with_id_and_receipt(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        response = client.post("/api/v1/consents", json=consent_body(person), headers=acme.headers)
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"id", "receipt"}
        assert body["receipt"]["header"]["record_id"] == body["id"]
        assert body["receipt"]["header"]["record_state"] == "given"

    def test_the_recipient_defaults_to_the_caller(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        consent = add_consent(client, acme, person)
        body = client.get(f"/api/v1/consents/{consent['id']}", headers=acme.headers).json()
        assert body["recipient"] == "acme"
        assert body["recorded_by"] == "acme"
        assert body["given_by"] == "organization"

    def test_may_name_another_recipient(self, client: TestClient, acme: Org, globex: Org) -> None:
        person = add_person(client, acme)
        consent = add_consent(client, acme, person, recipient="globex")
        body = client.get(f"/api/v1/consents/{consent['id']}", headers=globex.headers).json()
        assert body["recipient"] == "globex"
        assert body["recorded_by"] == "acme"

    def test_takes_an_expiry_in_the_future(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        consent = add_consent(client, acme, person, expires_at="2999-01-01T00:00:00+09:00")
        body = client.get(f"/api/v1/consents/{consent['id']}", headers=acme.headers).json()
        assert body["expires_at"].startswith("2998-12-31T15:00:00")


class TestWithdrawConsent:
    def test_answers_200_with_the_consent_and_the_withdrawal_receipt(
        self, client: TestClient, acme: Org
    ) -> None:
        person = add_person(client, acme)
        consent = add_consent(client, acme, person)
        response = client.post(f"/api/v1/consents/{consent['id']}/withdraw", headers=acme.headers)
        assert response.status_code == 200
        body = response.json()
        assert body["consent"]["state"] == "withdrawn"
        assert body["receipt"]["header"]["record_state"] == "withdrawn"

    def test_the_next_read_is_denied(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        add_record(client, acme, person)
        consent = add_consent(client, acme, person)
        assert read(client, acme, person).status_code == 200
        client.post(f"/api/v1/consents/{consent['id']}/withdraw", headers=acme.headers)
        body = assert_problem(read(client, acme, person), 403, "consent_required")
        assert body["errors"][0]["reason"] == "withdrawn"

    def test_twice_is_a_409(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        consent = add_consent(client, acme, person)
        client.post(f"/api/v1/consents/{consent['id']}/withdraw", headers=acme.headers)
        response = client.post(f"/api/v1/consents/{consent['id']}/withdraw", headers=acme.headers)
        assert_problem(response, 409, "consent_not_active")


class TestDecide:
    def test_allows_with_the_covering_consent(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        consent = add_consent(client, acme, person)
        response = client.post(
            "/api/v1/consent/decide",
            json={"person": person, "purpose": "marketing", "categories": ["contact.email"]},
            headers=acme.headers,
        )
        assert response.status_code == 200
        body = response.json()
        assert body["allow"] is True
        assert body["consents"] == [consent["id"]]
        assert body["reason"] == "consent_covers"
        assert isinstance(body["ledger_index"], int)

    def test_denies_without_consent_saying_why(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        response = client.post(
            "/api/v1/consent/decide",
            json={"person": person, "purpose": "marketing", "categories": ["contact"]},
            headers=acme.headers,
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["allow"], body["consents"], body["reason"]) == (False, [], "no_consent")
        assert body["reason_text"]

    def test_each_call_adds_a_ledger_entry(
        self, client: TestClient, acme: Org, db: Session
    ) -> None:
        person = add_person(client, acme)
        before = tree_size(db)
        for _ in range(2):
            client.post(
                "/api/v1/consent/decide",
                json={"person": person, "purpose": "marketing", "categories": ["contact"]},
                headers=acme.headers,
            )
        assert tree_size(db) == before + 2


class TestReadRecords:
    def test_allowed_answers_the_decision_and_the_records(
        self, client: TestClient, acme: Org
    ) -> None:
        person = add_person(client, acme)
        record = add_record(client, acme, person, email="hanako@example.jp")
        add_consent(client, acme, person)
        response = read(client, acme, person)
        assert response.status_code == 200
        body = response.json()
        assert body["decision"]["allow"] is True
        assert [r["id"] for r in body["records"]] == [record]
        assert body["records"][0]["payload"] == {"email": "hanako@example.jp"}

    def test_repeated_categories_are_read_together(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        add_record(client, acme, person)
        add_record(client, acme, person, "contact.phone", phone="0312345678")
        add_consent(client, acme, person)
        body = read(client, acme, person, "marketing", "contact.email", "contact.phone").json()
        assert sorted(r["category"] for r in body["records"]) == ["contact.email", "contact.phone"]

    def test_denied_is_a_403_consent_required_with_the_reason(
        self, client: TestClient, acme: Org
    ) -> None:
        person = add_person(client, acme)
        add_record(client, acme, person)
        body = assert_problem(read(client, acme, person), 403, "consent_required")
        assert body["errors"][0]["reason"] == "no_consent"
        assert "records" not in body

    def test_a_denied_read_is_in_the_ledger(
        self, client: TestClient, acme: Org, db: Session
    ) -> None:
        person = add_person(client, acme)
        before = tree_size(db)
        read(client, acme, person)
        assert tree_size(db) == before + 1

    def test_a_category_outside_the_consent_is_denied(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        add_consent(client, acme, person, categories=["contact.email"])
        body = assert_problem(
            read(client, acme, person, "marketing", "contact.phone"), 403, "consent_required"
        )
        assert body["errors"][0]["reason"] == "categories_not_covered"

    def test_a_person_unknown_to_the_caller_is_a_404(self, client: TestClient, acme: Org) -> None:
        assert_problem(read(client, acme, str(uuid.uuid4())), 404, "person_not_found")
