"""The endpoints beyond the contract: persons, record versions, consent lists and
receipts, the vocabulary, batch decisions, re-consent requests, persons' requests and the
APPI provision records."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.api.test_shell import assert_problem
from tests.e2e.consent_api.conftest import Org, add_consent, add_person, add_record, read
from tsunagu.ledger.service import tree_size
from tsunagu.vault import service as vault_service


class TestPersons:
    def test_get_shows_the_callers_ref(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme, ref="C-42")
        body = client.get(f"/api/v1/persons/{person}", headers=acme.headers).json()
        assert (body["id"], body["ref"], body["family_name"]) == (person, "C-42", "山田")

    def test_find_by_ref(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme, ref="C-43")
        found = client.get("/api/v1/persons", params={"ref": "C-43"}, headers=acme.headers)
        assert [p["id"] for p in found.json()] == [person]

    def test_an_unknown_id_is_a_404(self, client: TestClient, acme: Org) -> None:
        response = client.get(f"/api/v1/persons/{uuid.uuid4()}", headers=acme.headers)
        assert_problem(response, 404, "person_not_found")

    def test_a_recipient_of_a_consent_knows_the_person(
        self, client: TestClient, acme: Org, globex: Org
    ) -> None:
        person = add_person(client, acme)
        add_consent(client, acme, person, recipient="globex")
        body = client.get(f"/api/v1/persons/{person}", headers=globex.headers).json()
        assert (body["id"], body["ref"]) == (person, None)


class TestUpdateRecord:
    def test_makes_a_new_version_read_next(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        record = add_record(client, acme, person, email="old@example.jp")
        add_consent(client, acme, person)
        response = client.put(
            f"/api/v1/vault/records/{record}",
            json={"payload": {"email": "new@example.jp"}},
            headers=acme.headers,
        )
        assert response.status_code == 200
        assert response.json()["version"] == 2
        (view,) = read(client, acme, person).json()["records"]
        assert (view["version"], view["payload"]) == (2, {"email": "new@example.jp"})

    def test_only_the_source_may_update(self, client: TestClient, acme: Org, globex: Org) -> None:
        person = add_person(client, acme)
        record = add_record(client, acme, person)
        add_consent(client, acme, person, recipient="globex")
        response = client.put(
            f"/api/v1/vault/records/{record}", json={"payload": {"a": 1}}, headers=globex.headers
        )
        assert_problem(response, 404, "record_not_found")


class TestListConsents:
    def test_pages_newest_first(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        first = add_consent(client, acme, person)["id"]
        second = add_consent(client, acme, person, purpose="customer-care")["id"]
        page = client.get("/api/v1/consents", params={"limit": 1}, headers=acme.headers).json()
        assert ([c["id"] for c in page["items"]], page["next_offset"]) == ([second], 1)
        rest = client.get(
            "/api/v1/consents", params={"limit": 1, "offset": 1}, headers=acme.headers
        ).json()
        assert ([c["id"] for c in rest["items"]], rest["next_offset"]) == ([first], None)

    def test_a_new_consent_supersedes_the_one_in_force(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        old = add_consent(client, acme, person)["id"]
        new = add_consent(client, acme, person, categories=["contact", "purchase"])["id"]
        body = client.get(f"/api/v1/consents/{old}", headers=acme.headers).json()
        assert (body["state"], body["superseded_by"]) == ("superseded", new)


class TestReceipts:
    def test_detail_lists_every_receipt(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        consent = add_consent(client, acme, person)["id"]
        client.post(f"/api/v1/consents/{consent}/withdraw", headers=acme.headers)
        body = client.get(f"/api/v1/consents/{consent}", headers=acme.headers).json()
        assert [r["event"] for r in body["receipts"]] == ["given", "withdrawn"]
        assert all(len(r["sha256"]) == 64 for r in body["receipts"])

    def test_iso27560_is_the_receipt_issued(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        issued = add_consent(client, acme, person)
        receipt = issued["receipt"]["header"]["receipt_id"]
        response = client.get(
            f"/api/v1/consents/{issued['id']}/receipts/{receipt}", headers=acme.headers
        )
        assert response.json() == issued["receipt"]

    def test_kantara_form(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        issued = add_consent(client, acme, person)
        receipt = issued["receipt"]["header"]["receipt_id"]
        response = client.get(
            f"/api/v1/consents/{issued['id']}/receipts/{receipt}",
            params={"format": "kantara"},
            headers=acme.headers,
        )
        assert response.json()["version"] == "KI-CR-v1.1.0"

    def test_an_unknown_format_is_a_422(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        issued = add_consent(client, acme, person)
        receipt = issued["receipt"]["header"]["receipt_id"]
        response = client.get(
            f"/api/v1/consents/{issued['id']}/receipts/{receipt}",
            params={"format": "pdf"},
            headers=acme.headers,
        )
        assert_problem(response, 422, "invalid_input")


class TestVocabulary:
    def test_purposes_are_the_defaults_and_the_callers_own(
        self, client: TestClient, acme: Org
    ) -> None:
        created = client.post(
            "/api/v1/purposes",
            json={"code": "acme-club", "label_ja": "会員サービス", "label_en": "Members' club"},
            headers=acme.headers,
        )
        assert created.status_code == 201
        purposes = client.get("/api/v1/purposes", headers=acme.headers).json()
        own = {p["code"]: p["own"] for p in purposes}
        assert (own["marketing"], own["acme-club"]) == (False, True)

    def test_a_purpose_code_taken_is_a_409(self, client: TestClient, acme: Org) -> None:
        response = client.post(
            "/api/v1/purposes",
            json={"code": "marketing", "label_ja": "販促", "label_en": "Marketing"},
            headers=acme.headers,
        )
        assert_problem(response, 409, "purpose_taken")

    def test_categories_are_hierarchical(self, client: TestClient, acme: Org) -> None:
        categories = client.get("/api/v1/categories", headers=acme.headers).json()
        by_code = {c["code"]: c for c in categories}
        assert by_code["contact.email"]["parent"] == "contact"
        assert by_code["health"]["sensitive"] is True


class TestDecideBatch:
    def test_counts_and_lists_the_allowed(self, client: TestClient, acme: Org) -> None:
        yes = add_person(client, acme)
        no = add_person(client, acme)
        consent = add_consent(client, acme, yes)["id"]
        response = client.post(
            "/api/v1/consent/decide-batch",
            json={"purpose": "marketing", "categories": ["contact.email"], "persons": [yes, no]},
            headers=acme.headers,
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["allowed_count"], body["denied_count"]) == (1, 1)
        assert body["allowed"] == {yes: consent}

    def test_records_one_entry_per_outcome(
        self, client: TestClient, acme: Org, db: Session
    ) -> None:
        yes = add_person(client, acme)
        no = add_person(client, acme)
        add_consent(client, acme, yes)
        before = tree_size(db)
        body = client.post(
            "/api/v1/consent/decide-batch",
            json={"purpose": "marketing", "categories": ["contact"], "persons": [yes, no]},
            headers=acme.headers,
        ).json()
        assert tree_size(db) == before + 2
        assert len(body["ledger_indexes"]) == 2


class TestConsentRequests:
    def test_asks_the_person(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        response = client.post(
            "/api/v1/consent-requests",
            json={
                "person": person,
                "purpose": "personalisation",
                "categories": ["purchase.order"],
                "notice_text": "おすすめ表示のために購入履歴を利用します。",
                "message": "新しいサービスのご案内",
            },
            headers=acme.headers,
        )
        assert response.status_code == 201
        body = response.json()
        assert (body["state"], body["purpose"], body["categories"]) == (
            "pending",
            "personalisation",
            ["purchase.order"],
        )

    def test_an_unknown_category_is_a_422(self, client: TestClient, acme: Org) -> None:
        person = add_person(client, acme)
        response = client.post(
            "/api/v1/consent-requests",
            json={
                "person": person,
                "purpose": "marketing",
                "categories": ["shoe_size"],
                "notice_text": "ご案内",
            },
            headers=acme.headers,
        )
        assert_problem(response, 422, "unknown_category")


def _file_request(db: Session, org: Org, person: str, kind: str = "disclosure") -> str:
    row = vault_service.file_request(
        db, person_id=uuid.UUID(person), organization_id=org.org.id, kind=kind
    )
    db.commit()
    return str(row.id)


class TestPersonsRequests:
    def test_the_queue_lists_open_requests(
        self, client: TestClient, acme: Org, db: Session
    ) -> None:
        request_id = _file_request(db, acme, add_person(client, acme))
        queue = client.get("/api/v1/requests", headers=acme.headers).json()
        assert [(r["id"], r["state"], r["kind"]) for r in queue] == [
            (request_id, "open", "disclosure")
        ]

    def test_an_answer_closes_the_request(self, client: TestClient, acme: Org, db: Session) -> None:
        request_id = _file_request(db, acme, add_person(client, acme))
        response = client.post(
            f"/api/v1/requests/{request_id}/answer",
            json={"answer": "開示書面を郵送しました。"},
            headers=acme.headers,
        )
        assert response.json()["state"] == "answered"
        assert client.get("/api/v1/requests", headers=acme.headers).json() == []
        every = client.get("/api/v1/requests", params={"state": "all"}, headers=acme.headers)
        assert [r["state"] for r in every.json()] == ["answered"]

    def test_a_rejection_says_why(self, client: TestClient, acme: Org, db: Session) -> None:
        request_id = _file_request(db, acme, add_person(client, acme), kind="deletion")
        response = client.post(
            f"/api/v1/requests/{request_id}/answer",
            json={"answer": "法令により保存義務があります。", "reject": True},
            headers=acme.headers,
        )
        assert response.json()["state"] == "rejected"


class TestProvisions:
    @pytest.fixture
    def provided(self, client: TestClient, acme: Org, globex: Org) -> str:
        """acme's record read by globex under a consent naming globex."""
        person = add_person(client, acme)
        add_record(client, acme, person)
        add_consent(client, acme, person, recipient="globex")
        assert read(client, globex, person).status_code == 200
        return person

    @pytest.mark.usefixtures("provided")
    def test_both_parties_see_the_provision(
        self, client: TestClient, acme: Org, globex: Org
    ) -> None:
        for org in (acme, globex):
            (line,) = client.get("/api/v1/provisions", headers=org.headers).json()
            assert (line["provider"], line["recipient"]) == ("acme", "globex")
            assert line["categories"] == ["contact.email"]

    def test_names_the_person_only_by_pseudonym(
        self, client: TestClient, acme: Org, provided: str
    ) -> None:
        response = client.get("/api/v1/provisions", headers=acme.headers)
        assert provided not in response.text
        assert "山田" not in response.text

    @pytest.mark.usefixtures("provided")
    def test_csv_is_utf8_with_a_bom(self, client: TestClient, acme: Org) -> None:
        response = client.get("/api/v1/provisions.csv", headers=acme.headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.content.startswith("\ufeff".encode())
        lines = response.content.decode("utf-8-sig").splitlines()
        assert lines[0].startswith("提供年月日")
        assert len(lines) == 2
