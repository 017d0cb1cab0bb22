"""Moves (POST /crm/entities/{id}/transitions), the export of events (GET /crm/transitions)
and the import of history (POST /crm/transitions/import)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.e2e.api.test_shell import assert_problem
from tests.e2e.crm_api.helpers import entity, tenant
from tests.support.factories import bearer
from tsunagu.crm.models import CrmCampaign, CrmTransition
from tsunagu.identity.models import Organization

JAN = datetime(2026, 1, 5, tzinfo=UTC)
FEB = datetime(2026, 2, 2, tzinfo=UTC)
CSV = {"Content-Type": "text/csv"}
IMPORT = "/api/v1/crm/transitions/import"
EXPORT = "/api/v1/crm/transitions"


def moves_url(entity_id: uuid.UUID) -> str:
    return f"/api/v1/crm/entities/{entity_id}/transitions"


def count(db: Session, org: Organization) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(CrmTransition)
            .where(CrmTransition.organization_id == org.id)
        )
        or 0
    )


def campaign(db: Session, org: Organization) -> uuid.UUID:
    row = CrmCampaign(
        organization_id=org.id,
        name="製造業DXセミナー",
        channel="seminar",
        starts_on=date(2026, 1, 1),
    )
    db.add(row)
    db.commit()
    return row.id


class TestMove:
    def test_appends_a_transition_and_says_if_it_is_a_fast_pass(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A", ("lead", JAN))

        response = client.post(
            moves_url(entity_id),
            json={"to_stage": "qualified", "at": "2026-02-02T10:00:00+09:00", "amount": 3_000_000},
            headers=bearer(key),
        )

        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["seq"], body["from_stage"], body["to_stage"]) == (2, "lead", "qualified")
        assert body["fast_pass"] is True
        assert body["amount"] == 3_000_000
        assert body["source"] == "api"
        assert body["at"].startswith("2026-02-02T01:00:00")

    def test_lost_without_a_reason_is_422_reason_required(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A", ("opportunity", JAN))

        response = client.post(moves_url(entity_id), json={"to_stage": "lost"}, headers=bearer(key))

        assert_problem(response, 422, "reason_required")
        assert count(db, org) == 1

    def test_lost_with_a_reason_is_recorded(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A", ("opportunity", JAN))

        response = client.post(
            moves_url(entity_id),
            json={"to_stage": "lost", "reason": "価格で競合に負けた"},
            headers=bearer(key),
        )

        assert response.status_code == 201
        assert response.json()["reason"] == "価格で競合に負けた"

    def test_a_move_the_model_forbids_is_422_invalid_transition(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A", ("lead", JAN))

        response = client.post(
            moves_url(entity_id), json={"to_stage": "lost", "reason": "x"}, headers=bearer(key)
        )

        assert_problem(response, 422, "invalid_transition")

    def test_an_unknown_stage_is_422(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A")

        response = client.post(moves_url(entity_id), json={"to_stage": "mars"}, headers=bearer(key))

        assert_problem(response, 422, "unknown_stage")

    def test_a_stale_from_stage_is_409(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A", ("lead", JAN), ("nurturing", FEB))

        response = client.post(
            moves_url(entity_id),
            json={"to_stage": "promising", "from_stage": "lead"},
            headers=bearer(key),
        )

        assert_problem(response, 409, "stale_stage")
        assert count(db, org) == 2

    def test_a_null_from_stage_expects_no_stage_yet(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A")

        response = client.post(
            moves_url(entity_id), json={"to_stage": "lead", "from_stage": None}, headers=bearer(key)
        )

        assert response.status_code == 201, response.text

    def test_a_move_dated_before_the_last_is_422(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A", ("lead", FEB))

        response = client.post(
            moves_url(entity_id),
            json={"to_stage": "nurturing", "at": "2026-01-01T00:00:00Z"},
            headers=bearer(key),
        )

        assert_problem(response, 422, "invalid_transition")

    def test_a_time_without_offset_is_422(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A")

        response = client.post(
            moves_url(entity_id),
            json={"to_stage": "lead", "at": "2026-01-01T00:00:00"},
            headers=bearer(key),
        )

        assert_problem(response, 422, "invalid_input")

    def test_credits_the_organizations_campaign(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A")
        campaign_id = campaign(db, org)

        response = client.post(
            moves_url(entity_id),
            json={"to_stage": "lead", "campaign_id": str(campaign_id)},
            headers=bearer(key),
        )

        assert response.json()["campaign_id"] == str(campaign_id)

    def test_another_organizations_campaign_is_404(self, client: TestClient, db: Session) -> None:
        other, _ = tenant(db)
        theirs = campaign(db, other)
        org, key = tenant(db)
        entity_id = entity(db, org, "A")

        response = client.post(
            moves_url(entity_id),
            json={"to_stage": "lead", "campaign_id": str(theirs)},
            headers=bearer(key),
        )

        assert_problem(response, 404, "campaign_not_found")

    def test_another_organizations_entity_is_404(self, client: TestClient, db: Session) -> None:
        other, _ = tenant(db)
        theirs = entity(db, other, "A")
        _org, key = tenant(db)

        response = client.post(moves_url(theirs), json={"to_stage": "lead"}, headers=bearer(key))

        assert_problem(response, 404, "entity_not_found")
        assert count(db, other) == 0

    def test_a_viewer_key_is_403(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db, role="viewer")
        entity_id = entity(db, org, "A")

        response = client.post(moves_url(entity_id), json={"to_stage": "lead"}, headers=bearer(key))

        assert_problem(response, 403, "role_too_low")

    def test_without_a_key_is_401(self, client: TestClient) -> None:
        response = client.post(moves_url(uuid.uuid4()), json={"to_stage": "lead"})

        assert_problem(response, 401, "not_authenticated")


class TestExport:
    def test_lists_the_organizations_events_oldest_first_with_refs(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db, role="viewer")
        entity(db, org, "B", ("lead", FEB))
        entity(db, org, "A", ("lead", JAN), ("nurturing", FEB))
        other, _ = tenant(db)
        entity(db, other, "X", ("lead", JAN))

        response = client.get(EXPORT, headers=bearer(key))

        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert (items[0]["entity_ref"], items[0]["to_stage"]) == ("A", "lead")
        assert sorted((i["entity_ref"], i["to_stage"]) for i in items) == [
            ("A", "lead"),
            ("A", "nurturing"),
            ("B", "lead"),
        ]

    def test_since_and_until_are_half_open(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity(db, org, "A", ("lead", JAN), ("nurturing", FEB))

        response = client.get(
            EXPORT,
            params={"since": "2026-01-05T00:00:00Z", "until": "2026-02-02T00:00:00Z"},
            headers=bearer(key),
        )

        assert [i["to_stage"] for i in response.json()["items"]] == ["lead"]

    def test_pages_with_a_cursor(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity(db, org, "A", ("lead", JAN), ("nurturing", FEB))
        entity(db, org, "B", ("lead", FEB))

        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, str | int] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = client.get(EXPORT, params=params, headers=bearer(key)).json()
            seen += [i["id"] for i in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break

        assert pages == 2
        assert len(seen) == len(set(seen)) == 3

    def test_a_cursor_not_given_out_is_422(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db)

        response = client.get(EXPORT, params={"cursor": "garbage!"}, headers=bearer(key))

        assert_problem(response, 422, "invalid_input")

    def test_a_since_without_offset_is_422(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db)

        response = client.get(EXPORT, params={"since": "2026-01-01T00:00"}, headers=bearer(key))

        assert_problem(response, 422, "invalid_input")

    def test_without_a_key_is_401(self, client: TestClient) -> None:
        assert_problem(client.get(EXPORT), 401, "not_authenticated")


class TestExportCsv:
    def test_answers_the_csv_the_import_reads_for_the_organization_only(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db, role="viewer")
        entity(db, org, "A", ("lead", JAN))
        other, _ = tenant(db)
        entity(db, other, "X", ("lead", JAN))

        response = client.get(EXPORT + ".csv", headers=bearer(key))

        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert response.content.decode("utf-8-sig").splitlines() == [
            "entity_id,from_stage,to_stage,at,amount",
            "A,,lead,2026-01-05T09:00:00+09:00,",
        ]

    def test_without_a_key_is_401(self, client: TestClient) -> None:
        assert_problem(client.get(EXPORT + ".csv"), 401, "not_authenticated")


GOOD = (
    "entity_id,from_stage,to_stage,at,amount\r\n"
    "C-1,,lead,2026-01-05T09:00:00+09:00,\r\n"
    "C-1,lead,promising,2026-01-20T09:00:00+09:00,\r\n"
)


class TestImport:
    def test_csv_body_imports_every_row(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)

        response = client.post(IMPORT, content=GOOD.encode(), headers={**bearer(key), **CSV})

        assert response.status_code == 201, response.text
        assert response.json() == {"imported": 2, "created_entities": 1, "encoding": "utf-8"}
        assert count(db, org) == 2

    def test_multipart_upload_in_cp932_is_read(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db)
        body = GOOD.replace("C-1", "株式会社髙橋")

        response = client.post(
            IMPORT,
            files={"file": ("history.csv", body.encode("cp932"), "text/csv")},
            headers=bearer(key),
        )

        assert response.status_code == 201, response.text
        assert response.json()["encoding"] == "cp932"

    def test_a_bad_row_imports_nothing_and_names_the_row(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db)
        body = GOOD + "C-1,lead,won,2026-02-01T09:00:00+09:00,\r\n"

        response = client.post(IMPORT, content=body.encode(), headers={**bearer(key), **CSV})

        problem = assert_problem(response, 422, "invalid_input")
        assert [(e["row"], e["column"]) for e in problem["errors"]] == [(4, "from_stage")]
        assert count(db, org) == 0

    def test_continues_an_entity_created_through_the_api(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db)
        entity(db, org, "C-1", ("lead", JAN))
        body = "entity_id,from_stage,to_stage,at\r\nC-1,lead,nurturing,2026-01-06T00:00:00Z\r\n"

        response = client.post(IMPORT, content=body.encode(), headers={**bearer(key), **CSV})

        assert response.json()["created_entities"] == 0
        assert count(db, org) == 2

    def test_a_viewer_key_is_403(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db, role="viewer")

        response = client.post(IMPORT, content=GOOD.encode(), headers={**bearer(key), **CSV})

        assert_problem(response, 403, "role_too_low")
        assert count(db, org) == 0

    def test_json_is_415(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db)

        response = client.post(
            IMPORT, content=b"{}", headers={**bearer(key), "Content-Type": "application/json"}
        )

        assert_problem(response, 415, "unsupported_media_type")

    @pytest.mark.parametrize("body", [b"", b"\x00\x01"])
    def test_an_empty_or_binary_body_is_422(
        self, client: TestClient, db: Session, body: bytes
    ) -> None:
        _org, key = tenant(db)

        response = client.post(IMPORT, content=body, headers={**bearer(key), **CSV})

        assert_problem(response, 422, "invalid_input")

    def test_without_a_key_is_401(self, client: TestClient) -> None:
        response = client.post(IMPORT, content=GOOD.encode(), headers=CSV)

        assert_problem(response, 401, "not_authenticated")
