"""The webhooks API: admins only, tenants apart, bad input refused; notification settings
refused to API keys (they have no user)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import bearer, create_api_key, create_org, create_staff
from tsunagu.cases import service
from tsunagu.identity.models import Organization
from tsunagu.identity.service import Actor

HOOKS = "/api/v1/cases/projects/SUP/webhooks"


@pytest.fixture
def org(db: Session) -> Organization:
    org = create_org(db)
    owner = create_staff(db, org, role="owner")
    actor = Actor(kind="staff", organization_id=org.id, role="owner", user_id=owner.id)
    service.create_project(db, actor, key="SUP", name="サポート", visibility="cross_department")
    db.commit()
    return org


@pytest.fixture
def admin(db: Session, org: Organization) -> dict[str, str]:
    key = create_api_key(db, org, role="admin")
    db.commit()
    return bearer(key)


def add_hook(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post(
        HOOKS, json={"name": "Slack", "url": "https://example.org/hook", **body}, headers=headers
    )


class TestWebhooks:
    def test_a_new_webhook_shows_its_secret_once(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        created = add_hook(client, admin, events=["case.created"])
        listed = client.get(HOOKS, headers=admin)
        assert created.status_code == 201
        assert created.json()["secret"].startswith("whsec_")
        assert [h["name"] for h in listed.json()] == ["Slack"]
        assert "secret" not in listed.json()[0]

    def test_a_non_http_url_is_refused_with_a_clear_422(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        response = add_hook(client, admin, url="file:///etc/passwd")
        assert response.status_code == 422
        assert "http" in response.json()["detail"]

    def test_an_unknown_field_is_refused(self, client: TestClient, admin: dict[str, str]) -> None:
        assert add_hook(client, admin, secret="mine").status_code == 422

    def test_a_member_key_may_not_manage_webhooks(
        self, client: TestClient, db: Session, org: Organization
    ) -> None:
        member = bearer(create_api_key(db, org, role="member"))
        db.commit()
        assert add_hook(client, member).status_code == 403

    def test_another_organizations_key_sees_no_project(
        self, client: TestClient, db: Session, admin: dict[str, str]
    ) -> None:
        hook_id = add_hook(client, admin).json()["id"]
        other = bearer(create_api_key(db, create_org(db), role="admin"))
        db.commit()
        assert client.get(HOOKS, headers=other).status_code == 404
        assert client.delete(f"{HOOKS}/{hook_id}", headers=other).status_code == 404
        assert client.get(f"{HOOKS}/{hook_id}/deliveries", headers=other).status_code == 404

    def test_a_deleted_webhook_is_gone(self, client: TestClient, admin: dict[str, str]) -> None:
        hook_id = add_hook(client, admin).json()["id"]
        assert client.delete(f"{HOOKS}/{hook_id}", headers=admin).status_code == 204
        assert client.get(HOOKS, headers=admin).json() == []
        assert client.delete(f"{HOOKS}/{hook_id}", headers=admin).status_code == 404

    def test_a_case_created_by_api_is_in_the_delivery_log_and_can_be_redelivered(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        hook_id = add_hook(client, admin).json()["id"]
        created = client.post(
            "/api/v1/cases", json={"project": "SUP", "summary": "x"}, headers=admin
        )
        log = client.get(f"{HOOKS}/{hook_id}/deliveries", headers=admin).json()
        assert created.status_code == 201
        (entry,) = log
        again = client.post(
            f"/api/v1/cases/projects/SUP/deliveries/{entry['id']}/redeliver", headers=admin
        )
        assert (entry["event"], entry["state"]) == ("case.created", "pending")
        assert again.status_code == 201
        assert again.json()["payload"] == entry["payload"]

    def test_an_unknown_delivery_answers_404(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        response = client.post(
            "/api/v1/cases/projects/SUP/deliveries/00000000-0000-0000-0000-000000000000/redeliver",
            headers=admin,
        )
        assert response.status_code == 404

    def test_a_malformed_id_answers_422(self, client: TestClient, admin: dict[str, str]) -> None:
        assert client.get(f"{HOOKS}/not-an-id/deliveries", headers=admin).status_code == 422


class TestNotificationSettings:
    def test_an_api_key_has_no_notification_settings(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        response = client.get("/api/v1/cases/notification-settings", headers=admin)
        assert response.status_code == 403
        assert "API key" in response.json()["detail"]

    def test_without_a_key_the_answer_is_401(self, client: TestClient) -> None:
        assert client.get("/api/v1/cases/notification-settings").status_code == 401
