"""``GET /api/v1/cases/{key}`` shows everything; ``PATCH`` changes fields (and comments)
as one timeline event and answers that event."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.cases_api.helpers import CASES, Tenant, case, problem, project, tenant
from tests.support.factories import create_staff
from tsunagu.cases import service
from tsunagu.cases.models import CustomField, Project


def detail(client: TestClient, owner: Tenant, key: str = "SUP-1") -> dict[str, Any]:
    response = client.get(f"{CASES}/{key}", headers=owner.member)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestDetail:
    def test_the_detail_names_status_type_and_priority(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "申請", priority="low")

        body = detail(client, owner)

        assert body["status"]["name"] == "未対応"
        assert body["issueType"]["name"] == "タスク"
        assert body["priority"]["nameEn"] == "Low"

    def test_the_description_is_rendered_without_script(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x", description="**太字** <script>alert(1)</script>")

        body = detail(client, owner)

        assert "<strong>太字</strong>" in body["descriptionHtml"]
        assert "<script" not in body["descriptionHtml"]
        assert body["description"] == "**太字** <script>alert(1)</script>"

    def test_custom_field_values_are_shown_by_field(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        db.add(CustomField(project_id=sup.id, name="窓口", kind="single", options=["本庁", "支所"]))
        db.flush()
        case(db, owner, sup, "x", custom_fields={"窓口": "支所"})

        fields = detail(client, owner)["customFields"]

        assert [(f["name"], f["kind"], f["value"]) for f in fields] == [("窓口", "single", "支所")]

    def test_sub_cases_are_listed_as_children(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        parent = case(db, owner, sup, "親")
        case(db, owner, sup, "子", parent=parent.id)

        children = detail(client, owner)["children"]

        assert [(c["key"], c["summary"]) for c in children] == [("SUP-2", "子")]
        assert detail(client, owner, "SUP-2")["parentIssueKey"] == "SUP-1"

    def test_the_timeline_starts_with_the_creation(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")

        timeline = detail(client, owner)["timeline"]

        assert [(e["seq"], e["kind"]) for e in timeline] == [(1, "created")]

    def test_a_comment_is_shown_as_markdown_and_as_safe_html(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        made = case(db, owner, sup, "x")
        service.comment(db, owner.actor, made, "[link](javascript:alert(1)) *ok*")
        db.commit()

        comment = detail(client, owner)["comments"][0]

        assert comment["content"] == "[link](javascript:alert(1)) *ok*"
        assert "href" not in comment["html"]
        assert "<em>ok</em>" in comment["html"]

    def test_a_key_the_case_had_before_a_move_still_finds_it(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        eng = project(db, owner, "ENG")
        made = case(db, owner, sup, "移動する")
        service.escalate(db, owner.actor, made, eng, mode="move")
        db.commit()

        assert detail(client, owner, "SUP-1")["key"] == "ENG-1"

    @pytest.mark.usefixtures("sup")
    def test_an_unknown_key_answers_404(self, client: TestClient, owner: Tenant) -> None:
        problem(client.get(f"{CASES}/SUP-99", headers=owner.member), 404)

    @pytest.mark.usefixtures("sup")
    def test_something_that_is_not_a_key_answers_404(
        self, client: TestClient, owner: Tenant
    ) -> None:
        problem(client.get(f"{CASES}/hello", headers=owner.member), 404)


class TestUpdate:
    def test_a_status_change_is_an_event_from_to(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")
        doing = service.statuses(db, sup.id)[1]
        db.commit()

        response = client.patch(
            f"{CASES}/SUP-1", json={"statusId": str(doing.id)}, headers=owner.member
        )

        assert response.status_code == 200, response.text
        event = response.json()
        assert (event["seq"], event["kind"]) == (2, "changed")
        assert event["changes"] == [{"field": "status", "from": "未対応", "to": "処理中"}]

    def test_fields_and_a_comment_are_one_event(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")

        event = client.patch(
            f"{CASES}/SUP-1",
            json={"priority": "high", "dueDate": "2026-12-24", "comment": "急ぎです"},
            headers=owner.member,
        ).json()

        assert {c["field"] for c in event["changes"]} == {"priority", "dueDate"}
        assert event["commentId"] is not None
        assert detail(client, owner)["comments"][0]["content"] == "急ぎです"

    def test_null_clears_a_field(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x", due_date="2026-12-24")

        client.patch(f"{CASES}/SUP-1", json={"dueDate": None}, headers=owner.member)

        assert detail(client, owner)["dueDate"] is None

    def test_fields_not_sent_stay_as_they_were(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x", due_date="2026-12-24", priority="high")

        client.patch(f"{CASES}/SUP-1", json={"summary": "新しい件名"}, headers=owner.member)

        body = detail(client, owner)
        assert (body["summary"], body["dueDate"], body["priority"]["id"]) == (
            "新しい件名",
            "2026-12-24",
            "high",
        )

    def test_nothing_changed_answers_204_and_records_nothing(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")

        response = client.patch(f"{CASES}/SUP-1", json={"summary": "x"}, headers=owner.member)

        assert response.status_code == 204
        assert len(detail(client, owner)["timeline"]) == 1

    def test_a_parent_is_set_by_key(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "親")
        case(db, owner, sup, "子")

        event = client.patch(
            f"{CASES}/SUP-2", json={"parentIssue": "SUP-1"}, headers=owner.member
        ).json()

        assert event["changes"] == [{"field": "parentIssue", "from": None, "to": "SUP-1"}]

    def test_an_unknown_parent_is_a_422_problem(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "子")

        response = client.patch(
            f"{CASES}/SUP-1", json={"parentIssue": "SUP-9"}, headers=owner.member
        )

        assert "parentIssue" in problem(response, 422)["detail"]

    def test_a_start_after_the_due_date_is_a_422_problem(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x", due_date="2026-12-01")

        response = client.patch(
            f"{CASES}/SUP-1", json={"startDate": "2026-12-10"}, headers=owner.member
        )

        problem(response, 422)

    def test_notifying_someone_outside_the_project_is_a_422_problem(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        stranger = create_staff(db, tenant(db).org, role="admin")
        case(db, owner, sup, "x")
        db.commit()

        response = client.patch(
            f"{CASES}/SUP-1",
            json={"comment": "見てください", "notifiedUserId": [str(stranger.id)]},
            headers=owner.member,
        )

        problem(response, 422)

    def test_an_assignee_who_cannot_see_the_project_is_a_422_problem(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        outsider = create_staff(db, owner.org, role="member")  # internal project, no member
        case(db, owner, sup, "x")
        db.commit()

        response = client.patch(
            f"{CASES}/SUP-1", json={"assigneeId": str(outsider.id)}, headers=owner.member
        )

        problem(response, 422)

    def test_a_custom_field_change_is_on_the_event(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        db.add(CustomField(project_id=sup.id, name="窓口", kind="single", options=["本庁", "支所"]))
        db.flush()
        case(db, owner, sup, "x")

        event = client.patch(
            f"{CASES}/SUP-1", json={"customFields": {"窓口": "本庁"}}, headers=owner.member
        ).json()

        assert event["changes"] == [{"field": "custom:窓口", "from": None, "to": "本庁"}]

    def test_a_choice_the_field_does_not_offer_is_a_422_problem(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        db.add(CustomField(project_id=sup.id, name="窓口", kind="single", options=["本庁", "支所"]))
        db.flush()
        case(db, owner, sup, "x")

        response = client.patch(
            f"{CASES}/SUP-1", json={"customFields": {"窓口": "出張所"}}, headers=owner.member
        )

        assert "出張所" in problem(response, 422)["detail"]
