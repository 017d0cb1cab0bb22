"""GET /api/v1/crm/metrics: the report of a hand-built history with known numbers — periods
half-open in Japan time, flow into stages, balance at each period's end, conversion."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.api.test_shell import assert_problem
from tests.e2e.crm_api.helpers import entity, tenant
from tests.support.factories import bearer
from tsunagu.crm import service
from tsunagu.identity.models import Organization

URL = "/api/v1/crm/metrics"
JST = timezone(timedelta(hours=9))
WEEKS = {"start": "2026-01-05", "end": "2026-01-19", "period": "week"}


def jst(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, second, tzinfo=JST)


def history(db: Session, org: Organization) -> None:
    """Three entities, with events exactly on the Monday-midnight boundaries of Japan time.

    - A: lead on Mon 5 Jan 00:00 (the range's first instant), nurturing on Mon 12 Jan 00:00
      (the second week's first instant);
    - B: lead on Sun 11 Jan 23:59:59 (the first week's last second);
    - C: qualified (a fast pass) on Mon 12 Jan 00:00 Japan time — still 11 Jan in UTC.
    """
    entity(db, org, "A", ("lead", jst(5)), ("nurturing", jst(12)))
    entity(db, org, "B", ("lead", jst(11, 23, 59, 59)))
    entity(db, org, "C", ("qualified", jst(12)))


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {stage: n for stage, n in counts.items() if n}


def get(client: TestClient, key: str, **params: Any) -> dict[str, Any]:
    response = client.get(URL, params={**WEEKS, **params}, headers=bearer(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestMetricsPeriods:
    def test_periods_are_half_open_weeks_in_japan_time(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db, role="viewer")
        history(db, org)

        periods = get(client, key)["periods"]

        assert [(p["start"], p["end"]) for p in periods] == [
            ("2026-01-05", "2026-01-12"),
            ("2026-01-12", "2026-01-19"),
        ]

    def test_flow_counts_moves_into_each_stage_in_the_period(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db)
        history(db, org)

        periods = get(client, key)["periods"]

        assert [nonzero(p["flow"]) for p in periods] == [
            {"lead": 2},
            {"nurturing": 1, "qualified": 1},
        ]

    def test_balance_is_taken_at_each_periods_end(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        history(db, org)

        periods = get(client, key)["periods"]

        assert [nonzero(p["balance"]) for p in periods] == [
            {"lead": 2},
            {"lead": 1, "nurturing": 1, "qualified": 1},
        ]

    def test_months_cover_the_range(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        history(db, org)

        body = get(client, key, start="2026-01-10", end="2026-03-01", period="month")

        assert [(p["start"], p["end"]) for p in body["periods"]] == [
            ("2026-01-01", "2026-02-01"),
            ("2026-02-01", "2026-03-01"),
        ]
        assert nonzero(body["periods"][0]["flow"]) == {"lead": 2, "nurturing": 1, "qualified": 1}

    def test_a_segment_filter_keeps_only_its_entities(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db)
        history(db, org)
        service.entity_by_ref(db, org.id, "A").industry = "製造業"
        db.commit()

        periods = get(client, key, industry="製造業")["periods"]

        assert [nonzero(p["flow"]) for p in periods] == [{"lead": 1}, {"nurturing": 1}]

    def test_a_segment_changed_after_a_report_is_seen_by_the_next(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db, role="admin")
        history(db, org)
        get(client, key, industry="製造業")
        entity_id = service.entity_by_ref(db, org.id, "A").id
        client.patch(
            f"/api/v1/crm/entities/{entity_id}",
            json={"segments": {"industry": "製造業"}},
            headers=bearer(key),
        )

        periods = get(client, key, industry="製造業")["periods"]

        assert [nonzero(p["flow"]) for p in periods] == [{"lead": 1}, {"nurturing": 1}]

    def test_another_organizations_events_do_not_count(
        self, client: TestClient, db: Session
    ) -> None:
        other, _ = tenant(db)
        history(db, other)
        _org, key = tenant(db)

        periods = get(client, key)["periods"]

        assert all(nonzero(p["flow"]) == {} for p in periods)
        assert all(nonzero(p["balance"]) == {} for p in periods)


class TestMetricsConversion:
    def test_step_conversion_of_the_lead_cohort(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        history(db, org)

        steps = get(client, key)["conversion"]["steps"]

        first = steps[0]
        assert (first["from"], first["to"]) == ("lead", "nurturing")
        assert (first["cohort"], first["converted"], first["rate"]) == (2, 1, 0.5)

    def test_the_report_names_the_bottleneck_field(self, client: TestClient, db: Session) -> None:
        org, key = tenant(db)
        history(db, org)

        body = get(client, key)

        assert "bottleneck" in body
        assert body["bottleneck"] is None or {"from", "to", "rate"} <= set(body["bottleneck"])


class TestMetricsRefuses:
    @pytest.mark.parametrize(
        "params",
        [
            {"start": "2026-13-01"},
            {"end": "tomorrow"},
            {"period": "day"},
            {"start": "2026-01-19", "end": "2026-01-05"},
            {"window_days": 0},
            {"start": "2000-01-03", "end": "2026-01-05"},
        ],
    )
    def test_bad_dates_or_period_are_422(
        self, client: TestClient, db: Session, params: dict[str, str]
    ) -> None:
        _org, key = tenant(db)

        response = client.get(URL, params={**WEEKS, **params}, headers=bearer(key))

        assert_problem(response, 422, "invalid_input")

    def test_missing_dates_are_422(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db)

        response = client.get(URL, params={"period": "week"}, headers=bearer(key))

        assert_problem(response, 422, "invalid_input")

    def test_without_a_key_is_401(self, client: TestClient) -> None:
        assert_problem(client.get(URL, params=WEEKS), 401, "not_authenticated")
