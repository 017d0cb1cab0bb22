"""``GET /api/v1/cases``: Backlog's filters, sorting, paging and ``total``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.cases_api.helpers import CASES, Tenant, case, problem, project
from tests.support.factories import create_staff
from tsunagu.cases import service
from tsunagu.cases.models import Category, Milestone, Project
from tsunagu.core.clock import utcnow


def listed(client: TestClient, owner: Tenant, **params: Any) -> list[str]:
    response = client.get(CASES, params={"project": "SUP", **params}, headers=owner.member)
    assert response.status_code == 200, response.text
    return [item["key"] for item in response.json()["items"]]


class TestFilters:
    def test_status_filter_keeps_cases_in_those_statuses(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        in_progress = service.statuses(db, sup.id)[1]
        case(db, owner, sup, "未対応のまま")
        case(db, owner, sup, "処理中", status=in_progress.id)

        assert listed(client, owner, **{"statusId[]": str(in_progress.id)}) == ["SUP-2"]

    def test_assignee_filter_keeps_their_cases(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        user = create_staff(db, owner.org, role="admin")
        case(db, owner, sup, "担当あり", assignee=user.id)
        case(db, owner, sup, "担当なし")

        assert listed(client, owner, **{"assigneeId[]": str(user.id)}) == ["SUP-1"]

    def test_unassigned_keeps_cases_without_an_assignee(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        user = create_staff(db, owner.org, role="admin")
        case(db, owner, sup, "担当あり", assignee=user.id)
        case(db, owner, sup, "担当なし")

        assert listed(client, owner, unassigned="true") == ["SUP-2"]

    def test_issue_type_filter(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        bug = service.issue_types(db, sup.id)[1]
        case(db, owner, sup, "タスク")
        case(db, owner, sup, "バグ", issue_type=bug.id)

        assert listed(client, owner, **{"issueTypeId[]": str(bug.id)}) == ["SUP-2"]

    def test_priority_filter_takes_several_values(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "高", priority="high")
        case(db, owner, sup, "中")
        case(db, owner, sup, "低", priority="low")

        assert listed(client, owner, priority=["high", "low"], sort="issueKey", order="asc") == [
            "SUP-1",
            "SUP-3",
        ]

    def test_category_and_milestone_filters(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        category = Category(project_id=sup.id, name="窓口")
        milestone = Milestone(project_id=sup.id, name="12月")
        db.add_all([category, milestone])
        db.flush()
        case(db, owner, sup, "両方", category=category.id, milestone=milestone.id)
        case(db, owner, sup, "カテゴリーだけ", category=category.id)

        by_category = {"categoryId[]": str(category.id), "sort": "issueKey", "order": "asc"}
        assert listed(client, owner, **by_category) == ["SUP-1", "SUP-2"]
        assert listed(client, owner, **{"milestoneId[]": str(milestone.id)}) == ["SUP-1"]

    def test_parent_issue_filter_keeps_its_sub_cases(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        parent = case(db, owner, sup, "親")
        case(db, owner, sup, "子", parent=parent.id)
        case(db, owner, sup, "無関係")

        assert listed(client, owner, parentIssueId=str(parent.id)) == ["SUP-2"]

    def test_overdue_keeps_open_cases_past_their_due_date(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        closed = service.statuses(db, sup.id)[-1]
        case(db, owner, sup, "期限切れ", due_date="2020-01-01")
        case(db, owner, sup, "完了済み", due_date="2020-01-01", status=closed.id)
        case(db, owner, sup, "まだ先", due_date="2999-01-01")

        assert listed(client, owner, overdue="true") == ["SUP-1"]

    def test_due_date_window(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "11月", due_date="2026-11-15")
        case(db, owner, sup, "12月", due_date="2026-12-15")

        assert listed(client, owner, dueDateSince="2026-12-01", dueDateUntil="2026-12-31") == [
            "SUP-2"
        ]

    def test_created_window_is_in_days(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "今日")
        tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
        yesterday = (utcnow() - timedelta(days=2)).date().isoformat()

        assert listed(client, owner, createdSince=yesterday, createdUntil=tomorrow) == ["SUP-1"]
        assert listed(client, owner, createdSince=tomorrow) == []

    def test_without_project_every_visible_project_is_listed(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        eng = project(db, owner, "ENG")
        case(db, owner, sup, "サポート")
        case(db, owner, eng, "開発")

        response = client.get(CASES, params={"sort": "issueKey"}, headers=owner.member)

        assert sorted(i["key"] for i in response.json()["items"]) == ["ENG-1", "SUP-1"]


class TestPaging:
    def test_count_and_offset_page_through_with_the_total(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        for n in range(5):
            case(db, owner, sup, f"件{n}")

        response = client.get(
            CASES,
            params={"project": "SUP", "count": 2, "offset": 2, "sort": "issueKey", "order": "asc"},
            headers=owner.member,
        )

        body = response.json()
        assert [i["key"] for i in body["items"]] == ["SUP-3", "SUP-4"]
        assert (body["total"], body["count"], body["offset"]) == (5, 2, 2)

    def test_sorting_by_due_date_ascending_puts_cases_without_one_last(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "なし")
        case(db, owner, sup, "遅い", due_date="2026-12-20")
        case(db, owner, sup, "早い", due_date="2026-12-01")

        assert listed(client, owner, sort="dueDate", order="asc") == ["SUP-3", "SUP-2", "SUP-1"]

    @pytest.mark.parametrize(
        "params",
        [
            {"count": 101},
            {"count": 0},
            {"offset": -1},
            {"sort": "nonsense"},
            {"order": "sideways"},
            {"statusId[]": "not-a-uuid"},
            {"priority": "urgent"},
            {"dueDateSince": "2026-13-01"},
            {"createdUntil": "yesterday"},
            {"overdue": "perhaps"},
            {"keyword": "x" * 201},
            {"keyword": "\x00"},
            {"parentChild": "grandchildren"},
            {"statusId[]": ["00000000-0000-0000-0000-000000000000"] * 101},
        ],
    )
    @pytest.mark.usefixtures("sup")
    def test_bad_parameters_are_a_422_problem(
        self, client: TestClient, owner: Tenant, params: dict[str, Any]
    ) -> None:
        response = client.get(CASES, params={"project": "SUP", **params}, headers=owner.member)

        problem(response, 422)
