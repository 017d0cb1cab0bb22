"""Saved searches through the API: API keys have no user of their own, so they name the
staff user whose searches they read or change (``userId``)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.cases_api.helpers import CASES, Tenant, problem, tenant
from tests.support.factories import create_staff
from tsunagu.identity.models import StaffUser

SAVED = f"{CASES}/saved-searches"


def save(
    client: TestClient, headers: dict[str, str], user: StaffUser, name: str, **query: Any
) -> Any:
    return client.post(
        SAVED, json={"userId": str(user.id), "name": name, "query": query}, headers=headers
    )


class TestSavedSearches:
    def test_a_saved_search_is_listed_for_its_user(
        self, client: TestClient, db: Session, owner: Tenant
    ) -> None:
        user = create_staff(db, owner.org)
        db.commit()

        created = save(client, owner.member, user, "自分の未完了", project="SUP", notClosed="true")

        assert created.status_code == 201, created.text
        listed = client.get(SAVED, params={"userId": str(user.id)}, headers=owner.member).json()
        assert [(s["name"], s["query"]) for s in listed] == [
            ("自分の未完了", {"project": ["SUP"], "notClosed": ["true"]})
        ]

    def test_another_users_searches_are_not_listed(
        self, client: TestClient, db: Session, owner: Tenant
    ) -> None:
        user, other = create_staff(db, owner.org), create_staff(db, owner.org)
        db.commit()
        save(client, owner.member, user, "私の")

        listed = client.get(SAVED, params={"userId": str(other.id)}, headers=owner.member)

        assert listed.json() == []

    def test_a_saved_search_is_deleted(
        self, client: TestClient, db: Session, owner: Tenant
    ) -> None:
        user = create_staff(db, owner.org)
        db.commit()
        made = save(client, owner.member, user, "消す").json()

        response = client.delete(f"{SAVED}/{made['id']}", headers=owner.member)

        assert response.status_code == 204
        assert client.get(SAVED, params={"userId": str(user.id)}, headers=owner.member).json() == []

    def test_a_name_used_by_the_same_user_is_a_409_problem(
        self, client: TestClient, db: Session, owner: Tenant
    ) -> None:
        user = create_staff(db, owner.org)
        db.commit()
        save(client, owner.member, user, "同じ名前")

        problem(save(client, owner.member, user, "同じ名前"), 409)

    def test_a_parameter_the_list_does_not_have_is_a_422_problem(
        self, client: TestClient, db: Session, owner: Tenant
    ) -> None:
        user = create_staff(db, owner.org)
        db.commit()

        response = save(client, owner.member, user, "変", colour="red")

        assert "colour" in problem(response, 422)["detail"]

    def test_without_a_user_the_key_is_told_to_name_one(
        self, client: TestClient, owner: Tenant
    ) -> None:
        body = problem(client.get(SAVED, headers=owner.member), 422)

        assert body["errors"][0]["loc"] == ["query", "userId"]

    def test_a_user_of_another_tenant_is_a_404_problem(
        self, client: TestClient, db: Session, owner: Tenant
    ) -> None:
        stranger = create_staff(db, tenant(db).org)
        db.commit()

        problem(client.get(SAVED, params={"userId": str(stranger.id)}, headers=owner.member), 404)
        problem(save(client, owner.member, stranger, "他社"), 404)

    def test_another_tenants_saved_search_cannot_be_deleted(
        self, client: TestClient, db: Session, owner: Tenant
    ) -> None:
        other = tenant(db)
        user = create_staff(db, other.org)
        db.commit()
        made = save(client, other.member, user, "他社の").json()

        problem(client.delete(f"{SAVED}/{made['id']}", headers=owner.member), 404)

    def test_a_viewer_key_cannot_save(self, client: TestClient, db: Session, owner: Tenant) -> None:
        user = create_staff(db, owner.org)
        db.commit()

        problem(save(client, owner.viewer, user, "見るだけ"), 403)
