"""/api/v1/crm/entities: create, list by stage, read with history, change details — each
organization sees only its own entities."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.api.test_shell import assert_problem
from tests.e2e.crm_api.helpers import entity, tenant
from tests.support.factories import bearer, create_staff
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault

URL = "/api/v1/crm/entities"
JAN = datetime(2026, 1, 5, tzinfo=UTC)
FEB = datetime(2026, 2, 2, tzinfo=UTC)


class TestCreateEntity:
    def test_creates_an_entity_without_a_stage(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db)

        response = client.post(
            URL,
            json={
                "ref": "C-001",
                "name": "株式会社つなぐ",
                "segments": {"industry": "製造業", "region": "関東"},
                "amount": 1_200_000,
                "close_date": "2026-03-31",
            },
            headers=bearer(key),
        )

        assert response.status_code == 201, response.text
        body = response.json()
        assert body["ref"] == "C-001"
        assert body["segments"] == {
            "industry": "製造業",
            "size": None,
            "channel": None,
            "region": "関東",
        }
        assert (body["amount"], body["close_date"]) == (1_200_000, "2026-03-31")
        assert (body["stage"], body["history"]) == (None, [])

    def test_a_taken_ref_is_409(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity(db, org, "C-001")

        response = client.post(URL, json={"ref": "C-001", "name": "x"}, headers=bearer(key))

        assert_problem(response, 409, "entity_ref_taken")

    def test_a_person_the_organization_does_not_know_is_404(
        self, client: TestClient, db: Session, vault: Vault
    ) -> None:
        other, _ = tenant(db)
        person = vault_service.register_person(
            db, vault, other, ref="P-1", family_name="山田", given_name="花子", actor="test"
        )
        _org, key = tenant(db)

        response = client.post(
            URL, json={"ref": "C-1", "name": "x", "person_id": str(person.id)}, headers=bearer(key)
        )

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"

    def test_an_owner_from_another_organization_is_422(
        self, client: TestClient, db: Session
    ) -> None:
        other, _ = tenant(db)
        stranger = create_staff(db, other)
        _org, key = tenant(db)

        response = client.post(
            URL,
            json={"ref": "C-1", "name": "x", "owner_user_id": str(stranger.id)},
            headers=bearer(key),
        )

        assert_problem(response, 422, "invalid_input")

    @pytest.mark.parametrize(
        "body",
        [{"ref": "C-1"}, {"ref": "C-1", "name": "x", "amount": -1}, {"ref": 5, "name": []}],
    )
    def test_a_body_of_the_wrong_shape_is_422(
        self, client: TestClient, db: Session, body: dict[str, object]
    ) -> None:
        _org, key = tenant(db)

        response = client.post(URL, json=body, headers=bearer(key))

        assert_problem(response, 422, "invalid_input")

    def test_malformed_json_is_a_problem(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db)

        response = client.post(
            URL,
            content=b'{"ref": ',
            headers={**bearer(key), "Content-Type": "application/json"},
        )

        assert 400 <= response.status_code < 500
        assert response.headers["content-type"] == "application/problem+json"

    def test_a_viewer_key_is_403(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db, role="viewer")

        response = client.post(URL, json={"ref": "C-1", "name": "x"}, headers=bearer(key))

        assert_problem(response, 403, "role_too_low")

    def test_without_a_key_is_401(self, client: TestClient) -> None:
        response = client.post(URL, json={"ref": "C-1", "name": "x"})

        assert_problem(response, 401, "not_authenticated")


class TestListEntities:
    def test_lists_the_organizations_entities_with_their_stage(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db, role="viewer")
        entity(db, org, "A", ("lead", JAN))
        entity(db, org, "B", ("lead", JAN), ("nurturing", FEB))
        entity(db, org, "C")
        other, _ = tenant(db)
        entity(db, other, "X", ("lead", JAN))

        response = client.get(URL, headers=bearer(key))

        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert [(i["ref"], i["stage"]) for i in items] == [
            ("A", "lead"),
            ("B", "nurturing"),
            ("C", None),
        ]

    def test_filters_by_current_stage(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity(db, org, "A", ("lead", JAN))
        entity(db, org, "B", ("lead", JAN), ("nurturing", FEB))

        response = client.get(URL, params={"stage": "lead"}, headers=bearer(key))

        assert [i["ref"] for i in response.json()["items"]] == ["A"]

    def test_finds_an_entity_by_its_ref(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity(db, org, "株式会社ひかり", ("lead", JAN))
        entity(db, org, "B")

        response = client.get(URL, params={"ref": "株式会社ひかり"}, headers=bearer(key))

        assert [(i["ref"], i["stage"]) for i in response.json()["items"]] == [
            ("株式会社ひかり", "lead")
        ]

    def test_pages_with_limit_and_offset(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        for ref in ("A", "B", "C"):
            entity(db, org, ref)

        first = client.get(URL, params={"limit": 2}, headers=bearer(key)).json()
        second = client.get(
            URL, params={"limit": 2, "offset": first["next_offset"]}, headers=bearer(key)
        ).json()

        assert [i["ref"] for i in first["items"]] == ["A", "B"]
        assert [i["ref"] for i in second["items"]] == ["C"]
        assert second["next_offset"] is None

    def test_an_unknown_stage_is_422(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db)

        response = client.get(URL, params={"stage": "nowhere"}, headers=bearer(key))

        assert_problem(response, 422, "invalid_input")

    def test_without_a_key_is_401(self, client: TestClient) -> None:
        assert_problem(client.get(URL), 401, "not_authenticated")


class TestGetEntity:
    def test_shows_the_current_stage_and_the_history(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db, role="viewer")
        entity_id = entity(db, org, "A", ("lead", JAN), ("qualified", FEB))

        response = client.get(f"{URL}/{entity_id}", headers=bearer(key))

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["stage"] == "qualified"
        assert body["stage_since"].startswith("2026-02-02")
        assert [
            (h["seq"], h["from_stage"], h["to_stage"], h["fast_pass"]) for h in body["history"]
        ] == [
            (1, None, "lead", False),
            (2, "lead", "qualified", True),
        ]

    def test_another_organizations_entity_is_404(self, client: TestClient, db: Session) -> None:
        other, _ = tenant(db)
        theirs = entity(db, other, "A")
        _org, key = tenant(db)

        response = client.get(f"{URL}/{theirs}", headers=bearer(key))

        assert_problem(response, 404, "entity_not_found")

    def test_an_unknown_id_is_404(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db)

        response = client.get(f"{URL}/{uuid.uuid4()}", headers=bearer(key))

        assert_problem(response, 404, "entity_not_found")

    def test_an_id_that_is_not_a_uuid_is_422(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db)

        response = client.get(f"{URL}/not-an-id", headers=bearer(key))

        assert_problem(response, 422, "invalid_input")


class TestUpdateEntity:
    def test_changes_only_the_fields_sent(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A")
        client.patch(
            f"{URL}/{entity_id}",
            json={"amount": 500_000, "segments": {"industry": "製造業", "size": "中堅"}},
            headers=bearer(key),
        )

        response = client.patch(
            f"{URL}/{entity_id}",
            json={"close_date": "2026-06-30", "segments": {"size": "大企業"}},
            headers=bearer(key),
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["amount"] == 500_000
        assert body["close_date"] == "2026-06-30"
        assert (body["segments"]["industry"], body["segments"]["size"]) == ("製造業", "大企業")

    def test_null_clears_a_field(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A")
        client.patch(f"{URL}/{entity_id}", json={"amount": 5}, headers=bearer(key))

        response = client.patch(f"{URL}/{entity_id}", json={"amount": None}, headers=bearer(key))

        assert response.json()["amount"] is None

    def test_null_segments_clear_every_segment(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A")
        client.patch(
            f"{URL}/{entity_id}",
            json={"segments": {"industry": "製造業", "region": "関西"}},
            headers=bearer(key),
        )

        response = client.patch(f"{URL}/{entity_id}", json={"segments": None}, headers=bearer(key))

        assert set(response.json()["segments"].values()) == {None}

    def test_sets_an_owner_of_the_organization(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        owner = create_staff(db, org)
        entity_id = entity(db, org, "A")

        response = client.patch(
            f"{URL}/{entity_id}", json={"owner_user_id": str(owner.id)}, headers=bearer(key)
        )

        assert response.json()["owner_user_id"] == str(owner.id)

    def test_a_stage_cannot_be_set_in_place(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A")

        response = client.patch(f"{URL}/{entity_id}", json={"stage": "won"}, headers=bearer(key))

        assert_problem(response, 422, "invalid_input")

    def test_another_organizations_entity_is_404(self, client: TestClient, db: Session) -> None:
        other, _ = tenant(db)
        theirs = entity(db, other, "A")
        _org, key = tenant(db)

        response = client.patch(f"{URL}/{theirs}", json={"amount": 1}, headers=bearer(key))

        assert_problem(response, 404, "entity_not_found")

    def test_a_viewer_key_is_403(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db, role="viewer")
        entity_id = entity(db, org, "A")

        response = client.patch(f"{URL}/{entity_id}", json={"amount": 1}, headers=bearer(key))

        assert_problem(response, 403, "role_too_low")
