"""The activities and handoff API through the TestClient: the automatic rule, bulk
activities, the handoff inbox, rating and the report — and that another organization's ids
answer 404."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.crm_api.helpers import entity, tenant
from tests.support.factories import bearer
from tsunagu.crm import service

T1 = datetime(2026, 4, 1, 1, tzinfo=UTC)
T2 = datetime(2026, 4, 2, 1, tzinfo=UTC)
T3 = datetime(2026, 4, 7, 1, tzinfo=UTC)


def _handoff(db: Session) -> str:
    """A tenant's key; the tenant has one entity handed from inside sales to field sales."""
    org, key = tenant(db)
    entity(db, org, "A", ("qualified", T1), ("opportunity", T2))
    return key


def _pending(client: TestClient, key: str) -> list[dict[str, object]]:
    response = client.get("/api/v1/crm/handoffs", headers=bearer(key))
    assert response.status_code == 200
    body: list[dict[str, object]] = response.json()
    return body


class TestActivities:
    def test_an_inquiry_moves_a_lead_to_promising(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        made = entity(db, org, "A", ("lead", T1))
        response = client.post(
            f"/api/v1/crm/entities/{made}/activities",
            json={"kind": "inquiry", "at": T2.isoformat(), "note": "価格表を希望"},
            headers=bearer(key),
        )
        assert response.status_code == 201
        assert response.json()["transition"]["to_stage"] == "promising"

    def test_lists_the_entitys_activities_newest_first(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db)
        made = entity(db, org, "A")
        for kind, at in (("mail_click", T1), ("site_visit", T2)):
            client.post(
                f"/api/v1/crm/entities/{made}/activities",
                json={"kind": kind, "at": at.isoformat()},
                headers=bearer(key),
            )
        response = client.get(f"/api/v1/crm/entities/{made}/activities", headers=bearer(key))
        assert [a["kind"] for a in response.json()] == ["site_visit", "mail_click"]

    def test_bulk_activities_by_ref(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        entity(db, org, "A", ("lead", T1))
        entity(db, org, "B")
        response = client.post(
            "/api/v1/crm/activities",
            json={
                "activities": [
                    {"entity_ref": "A", "kind": "mail_click", "at": T2.isoformat()},
                    {"entity_ref": "B", "kind": "appointment", "at": T2.isoformat()},
                ]
            },
            headers=bearer(key),
        )
        assert response.status_code == 201
        assert (response.json()["recorded"], response.json()["moved"]) == (2, 2)

    def test_a_bad_bulk_row_is_a_problem_naming_the_row(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db)
        entity(db, org, "A")
        response = client.post(
            "/api/v1/crm/activities",
            json={
                "activities": [
                    {"entity_ref": "A", "kind": "mail_click", "at": T2.isoformat()},
                    {"entity_ref": "missing", "kind": "mail_click", "at": T2.isoformat()},
                ]
            },
            headers=bearer(key),
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["row"] for e in response.json()["errors"]] == [1]

    def test_a_time_without_offset_is_refused(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        made = entity(db, org, "A")
        response = client.post(
            f"/api/v1/crm/entities/{made}/activities",
            json={"kind": "inquiry", "at": "2026-04-01T10:00:00"},
            headers=bearer(key),
        )
        assert response.status_code == 422

    def test_a_viewer_key_cannot_record(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db, role="viewer")
        made = entity(db, org, "A")
        response = client.post(
            f"/api/v1/crm/entities/{made}/activities", json={"kind": "inquiry"},
            headers=bearer(key),
        )  # fmt: skip
        assert response.status_code == 403

    def test_another_tenants_entity_is_not_found(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db)
        theirs, _ = tenant(db)
        made = entity(db, theirs, "A")
        for response in (
            client.post(
                f"/api/v1/crm/entities/{made}/activities", json={"kind": "inquiry"},
                headers=bearer(key),
            ),
            client.get(f"/api/v1/crm/entities/{made}/activities", headers=bearer(key)),
        ):  # fmt: skip
            assert response.status_code == 404

    def test_without_a_key_nothing_is_answered(self, client: TestClient) -> None:
        assert client.get("/api/v1/crm/handoffs").status_code == 401


class TestHandoffs:
    def test_the_pending_handoff_is_listed_with_its_departments(
        self, client: TestClient, db: Session
    ) -> None:
        key = _handoff(db)
        (handoff,) = _pending(client, key)
        assert (handoff["from_stage"], handoff["to_stage"], handoff["receiving"]) == (
            "qualified",
            "opportunity",
            "field_sales",
        )

    def test_rating_moves_it_to_the_rated_list(self, client: TestClient, db: Session) -> None:
        key = _handoff(db)
        (handoff,) = _pending(client, key)
        response = client.post(
            f"/api/v1/crm/handoffs/{handoff['transition_id']}/rating",
            json={"rating": 4, "comment": "決裁者の情報あり"},
            headers=bearer(key),
        )
        assert response.status_code == 200
        assert _pending(client, key) == []
        rated = client.get("/api/v1/crm/handoffs?state=rated", headers=bearer(key)).json()
        assert [(h["rating"], h["comment"]) for h in rated] == [(4, "決裁者の情報あり")]

    def test_a_rating_outside_1_to_5_is_422(self, client: TestClient, db: Session) -> None:
        key = _handoff(db)
        (handoff,) = _pending(client, key)
        for value in (0, 6, "4", 3.5):
            response = client.post(
                f"/api/v1/crm/handoffs/{handoff['transition_id']}/rating",
                json={"rating": value},
                headers=bearer(key),
            )
            assert response.status_code == 422, value

    def test_a_move_that_is_not_a_handoff_is_422(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        made = entity(db, org, "A", ("lead", T1), ("nurturing", T2))
        last = service.history(db, org.id, made)[-1]
        response = client.post(
            f"/api/v1/crm/handoffs/{last.id}/rating", json={"rating": 3}, headers=bearer(key)
        )
        assert response.status_code == 422
        assert response.json()["code"] == "not_a_handoff"

    def test_another_tenants_handoff_is_404(self, client: TestClient, db: Session) -> None:
        key = _handoff(db)
        (handoff,) = _pending(client, key)
        _org, other_key = tenant(db)
        assert _pending(client, other_key) == []
        response = client.post(
            f"/api/v1/crm/handoffs/{handoff['transition_id']}/rating",
            json={"rating": 3},
            headers=bearer(other_key),
        )
        assert response.status_code == 404

    def test_an_unknown_state_is_422(self, client: TestClient, db: Session) -> None:
        key = _handoff(db)
        response = client.get("/api/v1/crm/handoffs?state=old", headers=bearer(key))
        assert response.status_code == 422


class TestReport:
    def test_counts_the_rated_handoff_in_its_week(self, client: TestClient, db: Session) -> None:
        key = _handoff(db)
        (handoff,) = _pending(client, key)
        client.post(
            f"/api/v1/crm/handoffs/{handoff['transition_id']}/rating",
            json={"rating": 2, "comment": "情報不足"},
            headers=bearer(key),
        )
        response = client.get(
            "/api/v1/crm/handoffs/report?period=week&start=2026-03-30&end=2026-04-13",
            headers=bearer(key),
        )
        assert response.status_code == 200
        body = response.json()
        assert [(p["start"], p["handoffs"], p["average"]) for p in body["periods"]] == [
            ("2026-03-30", 1, 2.0),
            ("2026-04-06", 0, None),
        ]
        assert body["by_source"][0]["comments"] == ["情報不足"]

    def test_an_end_before_the_start_is_422(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db)
        response = client.get(
            "/api/v1/crm/handoffs/report?start=2026-04-13&end=2026-04-01", headers=bearer(key)
        )
        assert response.status_code == 422

    def test_a_bad_period_is_422(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db)
        response = client.get("/api/v1/crm/handoffs/report?period=day", headers=bearer(key))
        assert response.status_code == 422

    def test_without_dates_the_last_weeks_are_reported(
        self, client: TestClient, db: Session
    ) -> None:
        _org, key = tenant(db)
        response = client.get("/api/v1/crm/handoffs/report", headers=bearer(key))
        assert response.status_code == 200
        assert len(response.json()["periods"]) in (12, 13)
