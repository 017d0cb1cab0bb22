"""The contract of issue 8: ``POST /api/v1/cases`` by project key answers ``201`` with
the case's key; ``GET /api/v1/cases?project=SUP`` answers ``200 {"items": [...], …}``."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.cases_api.helpers import CASES, Tenant, case, create
from tests.support.factories import create_staff
from tsunagu.cases import service
from tsunagu.cases.models import Project


class TestCreateContract:
    @pytest.mark.usefixtures("sup")
    def test_a_case_is_created_with_the_first_key_of_the_project(
        self, client: TestClient, owner: Tenant
    ) -> None:
        response = create(
            client, owner.member, project="SUP", summary="車庫証明の申請", description="詳細"
        )

        assert response.status_code == 201, response.text
        body = response.json()
        assert body["key"] == "SUP-1"
        assert body["summary"] == "車庫証明の申請"
        assert body["description"] == "詳細"

    @pytest.mark.usefixtures("sup")
    def test_the_next_case_takes_the_next_number(self, client: TestClient, owner: Tenant) -> None:
        create(client, owner.member, project="SUP", summary="一件目")

        response = create(client, owner.member, project="SUP", summary="二件目")

        assert response.json()["key"] == "SUP-2"

    @pytest.mark.usefixtures("sup")
    def test_the_project_key_is_case_insensitive(self, client: TestClient, owner: Tenant) -> None:
        response = create(client, owner.member, project="sup", summary="小文字")

        assert response.status_code == 201
        assert response.json()["project"]["key"] == "SUP"

    def test_optional_fields_come_back_with_their_names(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        user = create_staff(db, owner.org, role="admin", display_name="山田 花子")
        bug = service.issue_types(db, sup.id)[1]
        db.commit()

        response = create(
            client,
            owner.member,
            project="SUP",
            summary="不具合",
            issueTypeId=str(bug.id),
            priority="high",
            assigneeId=str(user.id),
            startDate="2026-12-01",
            dueDate="2026-12-10",
            estimatedHours=2.5,
        )

        body = response.json()
        assert response.status_code == 201, response.text
        assert body["issueType"] == {"id": str(bug.id), "name": "バグ", "nameEn": "Bug"}
        assert body["priority"] == {"id": "high", "name": "高", "nameEn": "High"}
        assert body["assignee"]["name"] == "山田 花子"
        assert (body["startDate"], body["dueDate"]) == ("2026-12-01", "2026-12-10")
        assert body["estimatedHours"] == 2.5
        assert body["status"]["nameEn"] == "Open"

    @pytest.mark.usefixtures("sup")
    def test_the_creator_is_the_api_key(self, client: TestClient, owner: Tenant) -> None:
        body = create(client, owner.member, project="SUP", summary="x").json()

        assert body["createdUser"] == {"id": None, "name": "API: member key", "nameEn": None}
        assert body["source"] == "api"

    @pytest.mark.usefixtures("sup")
    def test_the_key_is_also_given_as_backlogs_issue_key(
        self, client: TestClient, owner: Tenant
    ) -> None:
        body = create(client, owner.member, project="SUP", summary="x").json()

        assert (body["issueKey"], body["keyId"]) == ("SUP-1", 1)


class TestListContract:
    def test_the_list_of_a_project_has_items_with_key_and_summary(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "申請の確認")

        response = client.get(CASES, params={"project": "SUP"}, headers=owner.member)

        assert response.status_code == 200
        body = response.json()
        assert [(i["key"], i["summary"]) for i in body["items"]] == [("SUP-1", "申請の確認")]
        assert (body["total"], body["count"], body["offset"]) == (1, 20, 0)

    def test_an_unknown_project_answers_404(self, client: TestClient, owner: Tenant) -> None:
        response = client.get(CASES, params={"project": "NOPE"}, headers=owner.member)

        assert response.status_code == 404
