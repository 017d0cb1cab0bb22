"""Watchers and escalation (copy or move to another project)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.cases_api.helpers import CASES, Tenant, case, problem, project, tenant
from tests.support.factories import create_staff
from tsunagu.cases.models import Project


class TestWatchers:
    def test_a_watcher_is_added_and_listed(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        user = create_staff(db, owner.org, role="admin", display_name="鈴木 一郎")
        case(db, owner, sup, "x")

        response = client.post(
            f"{CASES}/SUP-1/watchers", json={"userId": str(user.id)}, headers=owner.member
        )

        assert response.status_code == 200, response.text
        assert response.json() == [{"id": str(user.id), "name": "鈴木 一郎", "nameEn": None}]
        watchers = client.get(f"{CASES}/SUP-1", headers=owner.member).json()["watchers"]
        assert [w["id"] for w in watchers] == [str(user.id)]

    def test_a_watcher_is_removed(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        user = create_staff(db, owner.org, role="admin")
        case(db, owner, sup, "x")
        client.post(f"{CASES}/SUP-1/watchers", json={"userId": str(user.id)}, headers=owner.member)

        response = client.delete(f"{CASES}/SUP-1/watchers/{user.id}", headers=owner.member)

        assert response.status_code == 204
        assert client.get(f"{CASES}/SUP-1", headers=owner.member).json()["watchers"] == []

    def test_someone_of_another_tenant_cannot_watch(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        stranger = create_staff(db, tenant(db).org, role="admin")
        case(db, owner, sup, "x")

        response = client.post(
            f"{CASES}/SUP-1/watchers", json={"userId": str(stranger.id)}, headers=owner.member
        )

        problem(response, 422)


class TestEscalation:
    def test_a_copy_opens_a_case_in_the_target_project(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        project(db, owner, "ENG")
        case(db, owner, sup, "不具合の報告")

        response = client.post(
            f"{CASES}/SUP-1/escalate",
            json={"project": "ENG", "mode": "copy", "comment": "調査をお願いします"},
            headers=owner.member,
        )

        assert response.status_code == 201, response.text
        assert (response.json()["key"], response.json()["summary"]) == ("ENG-1", "不具合の報告")

    def test_a_copy_is_linked_both_ways(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        project(db, owner, "ENG")
        case(db, owner, sup, "不具合の報告")
        client.post(f"{CASES}/SUP-1/escalate", json={"project": "ENG"}, headers=owner.member)

        original = client.get(f"{CASES}/SUP-1", headers=owner.member).json()["links"]
        copy = client.get(f"{CASES}/ENG-1", headers=owner.member).json()["links"]

        assert [(link["relation"], link["label"]) for link in original] == [
            ("escalated_to", "ENG-1")
        ]
        assert [(link["relation"], link["label"]) for link in copy] == [("escalated_from", "SUP-1")]

    def test_a_move_gives_the_case_a_key_in_the_target_project(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        project(db, owner, "ENG")
        case(db, owner, sup, "移す")

        response = client.post(
            f"{CASES}/SUP-1/escalate", json={"project": "ENG", "mode": "move"}, headers=owner.member
        )

        assert response.status_code == 201
        assert response.json()["key"] == "ENG-1"
        assert client.get(f"{CASES}/SUP-1", headers=owner.member).json()["key"] == "ENG-1"

    def test_escalating_into_the_same_project_is_a_422_problem(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")

        response = client.post(
            f"{CASES}/SUP-1/escalate", json={"project": "SUP"}, headers=owner.member
        )

        problem(response, 422)

    def test_escalating_into_another_tenants_project_is_a_404_problem(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        other = tenant(db)
        project(db, other, "ENG")
        case(db, owner, sup, "x")

        response = client.post(
            f"{CASES}/SUP-1/escalate", json={"project": "ENG"}, headers=owner.member
        )

        problem(response, 404)

    def test_an_unknown_mode_is_a_422_problem(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        project(db, owner, "ENG")
        case(db, owner, sup, "x")

        response = client.post(
            f"{CASES}/SUP-1/escalate",
            json={"project": "ENG", "mode": "teleport"},
            headers=owner.member,
        )

        problem(response, 422)
