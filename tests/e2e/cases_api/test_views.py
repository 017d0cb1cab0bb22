"""The views: overdue, counts by assignee and status, the board, and the Gantt window."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.cases_api.helpers import CASES, Tenant, case, problem
from tests.support.factories import create_staff
from tsunagu.cases import service
from tsunagu.cases.models import Project

VIEWS = f"{CASES}/views"


class TestOverdue:
    def test_open_cases_past_due_are_listed_most_overdue_first(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        closed = service.statuses(db, sup.id)[-1]
        case(db, owner, sup, "少し遅れ", due_date="2021-06-01")
        case(db, owner, sup, "大幅遅れ", due_date="2020-01-01")
        case(db, owner, sup, "完了", due_date="2020-01-01", status=closed.id)
        case(db, owner, sup, "未来", due_date="2999-01-01")

        response = client.get(f"{VIEWS}/overdue", headers=owner.member)

        assert response.status_code == 200, response.text
        body = response.json()
        assert [i["key"] for i in body["items"]] == ["SUP-2", "SUP-1"]
        assert body["total"] == 2


class TestByAssignee:
    def test_cases_are_counted_per_assignee_and_status(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        user = create_staff(db, owner.org, role="admin", display_name="田中")
        doing = service.statuses(db, sup.id)[1]
        case(db, owner, sup, "a", assignee=user.id)
        case(db, owner, sup, "b", assignee=user.id, status=doing.id)
        case(db, owner, sup, "c", assignee=user.id, status=doing.id)
        case(db, owner, sup, "d")

        response = client.get(
            f"{VIEWS}/by-assignee", params={"project": "SUP"}, headers=owner.member
        )

        rows = {
            (r["assignee"] or {}).get("name"): [
                (c["status"]["name"], c["count"]) for c in r["counts"]
            ]
            for r in response.json()["rows"]
        }
        assert rows == {"田中": [("未対応", 1), ("処理中", 2)], None: [("未対応", 1)]}


class TestBoard:
    def test_columns_are_the_statuses_with_counts_and_cards(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        doing = service.statuses(db, sup.id)[1]
        for n in range(3):
            case(db, owner, sup, f"未{n}")
        case(db, owner, sup, "処理中", status=doing.id)

        response = client.get(
            f"{VIEWS}/board", params={"project": "SUP", "cards": 2}, headers=owner.member
        )

        assert response.status_code == 200, response.text
        columns = response.json()["columns"]
        assert [(c["status"]["nameEn"], c["count"], len(c["cards"])) for c in columns] == [
            ("Open", 3, 2),
            ("In Progress", 1, 1),
            ("Resolved", 0, 0),
            ("Closed", 0, 0),
        ]

    def test_the_board_needs_one_project(self, client: TestClient, owner: Tenant) -> None:
        problem(client.get(f"{VIEWS}/board", headers=owner.member), 422)


class TestGantt:
    def test_cases_whose_span_meets_the_window_are_listed_by_start(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "12月後半", start_date="2026-12-20", due_date="2026-12-28")
        case(db, owner, sup, "11月から", start_date="2026-11-20", due_date="2026-12-05")
        case(db, owner, sup, "期限だけ", due_date="2026-12-10")
        case(db, owner, sup, "範囲外", start_date="2027-02-01", due_date="2027-02-10")
        case(db, owner, sup, "日付なし")

        response = client.get(
            f"{VIEWS}/gantt",
            params={"project": "SUP", "since": "2026-12-01", "until": "2026-12-31"},
            headers=owner.member,
        )

        body = response.json()
        assert [i["key"] for i in body["items"]] == ["SUP-2", "SUP-3", "SUP-1"]
        assert (body["since"], body["until"], body["total"]) == ("2026-12-01", "2026-12-31", 3)

    @pytest.mark.usefixtures("sup")
    def test_a_window_that_ends_before_it_starts_is_a_422_problem(
        self, client: TestClient, owner: Tenant
    ) -> None:
        response = client.get(
            f"{VIEWS}/gantt",
            params={"since": "2026-12-31", "until": "2026-12-01"},
            headers=owner.member,
        )

        problem(response, 422)

    @pytest.mark.parametrize(
        "params",
        [
            {"until": "0001-01-05"},
            {"since": "9999-12-31"},
            {"since": "2026-13-01"},
            {"since": "2026-12-01", "count": 1000},
        ],
    )
    def test_a_window_beyond_the_calendar_is_a_422_problem(
        self, client: TestClient, owner: Tenant, params: dict[str, str]
    ) -> None:
        problem(client.get(f"{VIEWS}/gantt", params=params, headers=owner.member), 422)
