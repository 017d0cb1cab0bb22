"""The webhooks page and the notification settings page, for signed-in staff."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.pages.conftest import csrf_of, sign_in_staff
from tests.support.factories import create_org, create_staff
from tsunagu.cases import service
from tsunagu.cases.models import NotificationSetting
from tsunagu.identity.models import StaffUser
from tsunagu.identity.service import Actor

HOOKS = "/cases/projects/SUP/webhooks"
NOTIFY = "/cases/settings/notifications"


@pytest.fixture
def people(db: Session) -> tuple[StaffUser, StaffUser]:
    org = create_org(db)
    admin = create_staff(db, org, role="admin")
    member = create_staff(db, org, role="member")
    actor = Actor(kind="staff", organization_id=org.id, role="admin", user_id=admin.id)
    project = service.create_project(db, actor, key="SUP", name="サポート")
    service.set_member(db, actor, project, member.id, "member")
    other = create_org(db)
    outsider = create_staff(db, other, role="admin")
    service.create_project(
        db,
        Actor(kind="staff", organization_id=other.id, role="admin", user_id=outsider.id),
        key="OTH",
        name="他社",
    )
    db.commit()
    return admin, member


@pytest.fixture
def admin(client: TestClient, people: tuple[StaffUser, StaffUser]) -> TestClient:
    sign_in_staff(client, people[0].email)
    return client


def post(client: TestClient, path: str, data: dict[str, str], token_from: str) -> httpx.Response:
    token = csrf_of(client.get(token_from).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


class TestWebhooksPage:
    def test_adding_a_webhook_shows_its_secret_once(self, admin: TestClient) -> None:
        added = post(admin, HOOKS, {"name": "Slack", "url": "https://example.org/h"}, HOOKS)
        again = admin.get(HOOKS)
        assert added.status_code == 201
        assert "whsec_" in added.text
        assert "Slack" in again.text
        assert "whsec_" not in again.text

    def test_a_bad_url_is_shown_with_the_reason_in_japanese(self, admin: TestClient) -> None:
        token = csrf_of(admin.get(HOOKS).text)
        page = admin.post(
            HOOKS,
            data={"name": "x", "url": "ftp://example.org", "csrf_token": token},
            headers={"Accept-Language": "ja"},
        )
        assert page.status_code == 422
        assert "入力内容を確認してください" in page.text

    def test_a_member_is_refused(
        self, client: TestClient, people: tuple[StaffUser, StaffUser]
    ) -> None:
        sign_in_staff(client, people[1].email)
        assert client.get(HOOKS).status_code == 403

    def test_another_organizations_project_is_not_found(self, admin: TestClient) -> None:
        assert admin.get("/cases/projects/OTH/webhooks").status_code == 404


class TestNotificationSettingsPage:
    def test_the_page_speaks_english(self, admin: TestClient) -> None:
        page = admin.get(NOTIFY, headers={"Accept-Language": "en"})
        assert "Send me e-mail notifications" in page.text

    def test_saving_stores_the_users_choice(
        self, admin: TestClient, db: Session, people: tuple[StaffUser, StaffUser]
    ) -> None:
        saved = post(
            admin, NOTIFY, {"email_enabled": "1", "on_due": "1", "remind_days_before": "3"}, NOTIFY
        )
        row = db.get(NotificationSetting, people[0].id)
        assert saved.status_code == 303
        assert row is not None
        assert (row.on_due, row.on_comment, row.remind_days_before) == (True, False, 3)

    def test_too_many_days_are_refused(self, admin: TestClient) -> None:
        response = post(admin, NOTIFY, {"remind_days_before": "99"}, NOTIFY)
        assert response.status_code == 422

    def test_signed_out_goes_to_sign_in(self, client: TestClient) -> None:
        response = client.get(NOTIFY, follow_redirects=False)
        assert response.status_code in (302, 303)
