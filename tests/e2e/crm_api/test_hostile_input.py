"""Odd input to the pipeline API is a 4xx problem, never a 500: NUL characters, amounts
beyond the columns, times at the ends of the calendar."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.crm_api.helpers import entity, tenant
from tests.support.factories import bearer

ENTITIES = "/api/v1/crm/entities"


def assert_client_error(response: Any) -> None:
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


class TestHostileInput:
    @pytest.mark.parametrize(
        "body",
        [
            {"ref": "C\x001", "name": "x"},
            {"ref": "C-1", "name": "x\x00"},
            {"ref": "C-1", "name": "x", "segments": {"industry": "\x00"}},
            {"ref": "C-1", "name": "x", "amount": 10**30},
            {"ref": "C-1", "name": "x", "close_date": "0000-01-01"},
        ],
    )
    def test_creating_an_entity(
        self, client: TestClient, db: Session, body: dict[str, Any]
    ) -> None:
        _org, key = tenant(db)

        assert_client_error(client.post(ENTITIES, json=body, headers=bearer(key)))

    @pytest.mark.parametrize(
        "body",
        [
            {"to_stage": "lead", "reason": "\x00"},
            {"to_stage": "lead", "amount": 10**30},
            {"to_stage": "lead", "at": "0001-01-01T00:00:00+09:00"},
            {"to_stage": "lead", "at": "9999-12-31T23:59:59-05:00"},
            {"to_stage": "\x00"},
        ],
    )
    def test_moving_an_entity(self, client: TestClient, db: Session, body: dict[str, Any]) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A")

        response = client.post(
            f"{ENTITIES}/{entity_id}/transitions", json=body, headers=bearer(key)
        )

        assert_client_error(response)

    @pytest.mark.parametrize(
        "params",
        [
            {"since": "0001-01-01T00:00:00+09:00"},
            {"until": "9999-12-31T23:59:59-05:00"},
            {"cursor": "MDAwMS0wMS0wMVQwMDowMDowMCswOTowMHx4"},
        ],
    )
    def test_exporting_transitions(
        self, client: TestClient, db: Session, params: dict[str, str]
    ) -> None:
        _org, key = tenant(db)

        response = client.get("/api/v1/crm/transitions", params=params, headers=bearer(key))

        assert response.status_code < 500, response.text

    def test_an_import_with_an_amount_beyond_the_column(
        self, client: TestClient, db: Session
    ) -> None:
        _org, key = tenant(db)
        body = "entity_id,from_stage,to_stage,at,amount\nA,,lead,2026-01-01T00:00:00Z,1" + "0" * 30

        response = client.post(
            "/api/v1/crm/transitions/import",
            content=body.encode(),
            headers={**bearer(key), "Content-Type": "text/csv"},
        )

        assert_client_error(response)

    def test_an_import_at_the_start_of_the_calendar(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db)
        body = "entity_id,from_stage,to_stage,at\nA,,lead,0001-01-01T00:00:00+09:00\n"

        response = client.post(
            "/api/v1/crm/transitions/import",
            content=body.encode(),
            headers={**bearer(key), "Content-Type": "text/csv"},
        )

        assert_client_error(response)

    @pytest.mark.parametrize(
        "params",
        [
            {"start": "0001-01-01", "end": "0001-01-08"},
            {"start": "9999-12-01", "end": "9999-12-31", "period": "month"},
        ],
    )
    def test_metrics_at_the_ends_of_the_calendar(
        self, client: TestClient, db: Session, params: dict[str, str]
    ) -> None:
        _org, key = tenant(db, role="viewer")

        response = client.get("/api/v1/crm/metrics", params=params, headers=bearer(key))

        assert_client_error(response)

    @pytest.mark.parametrize(
        "body",
        [
            {"kind": "mail_click", "at": "0001-01-01T00:00:00+09:00"},
            {"kind": "mail_click", "at": "1800-01-01T00:00:00+09:00"},
            {"kind": "mail_click", "note": "\x00"},
        ],
    )
    def test_recording_an_activity(
        self, client: TestClient, db: Session, body: dict[str, Any]
    ) -> None:
        org, key = tenant(db)
        entity_id = entity(db, org, "A")

        response = client.post(f"{ENTITIES}/{entity_id}/activities", json=body, headers=bearer(key))

        assert_client_error(response)

    def test_recording_activities_in_bulk_before_1900(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db)
        entity(db, org, "A")
        body = {
            "activities": [
                {"entity_ref": "A", "kind": "mail_click", "at": "1800-01-01T00:00:00+09:00"}
            ]
        }

        response = client.post("/api/v1/crm/activities", json=body, headers=bearer(key))

        assert_client_error(response)

    @pytest.mark.parametrize(
        "body",
        [
            {"name": "展示会", "channel": "exhibition", "starts_on": "2026-01-05", "cost": 10**30},
            {"name": "展示会\x00", "channel": "exhibition", "starts_on": "2026-01-05"},
        ],
    )
    def test_creating_a_campaign(
        self, client: TestClient, db: Session, body: dict[str, Any]
    ) -> None:
        _org, key = tenant(db)

        response = client.post("/api/v1/crm/campaigns", json=body, headers=bearer(key))

        assert_client_error(response)

    def test_a_member_touched_at_the_start_of_the_calendar(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db)
        entity(db, org, "A")
        created = client.post(
            "/api/v1/crm/campaigns",
            json={"name": "展示会", "channel": "exhibition", "starts_on": "2026-01-05"},
            headers=bearer(key),
        )
        members = f"/api/v1/crm/campaigns/{created.json()['id']}/members"

        response = client.post(
            members,
            json={"refs": ["A"], "touched_at": "0001-01-01T00:00:00+09:00"},
            headers=bearer(key),
        )

        assert_client_error(response)
