"""The project pages: creating a project and every settings tab, in Japanese and English,
for signed-in staff, with CSRF, roles and other organizations' projects kept out."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.pages.conftest import csrf_of, sign_in_staff
from tests.support.factories import create_org, create_staff
from tsunagu.cases import service, settings
from tsunagu.identity.models import StaffUser
from tsunagu.identity.service import Actor

SETTINGS = "/cases/projects/SUP/settings"
TABS = ("general", "members", "statuses", "types", "categories", "milestones", "fields", "inquiry")


@dataclass(frozen=True)
class People:
    admin: StaffUser
    member: StaffUser
    org_slug: str
    org_id: uuid.UUID


@pytest.fixture
def people(db: Session) -> People:
    org = create_org(db, slug="minato")
    admin = create_staff(db, org, role="admin", display_name="佐藤 花子")
    member = create_staff(db, org, role="member", display_name="田中 一郎")
    actor = Actor(kind="staff", organization_id=org.id, role="admin", user_id=admin.id)
    project = service.create_project(db, actor, key="SUP", name="サポート")
    service.set_member(db, actor, project, member.id, "viewer")
    other = create_org(db)
    outsider = create_staff(db, other, role="admin")
    service.create_project(
        db,
        Actor(kind="staff", organization_id=other.id, role="admin", user_id=outsider.id),
        key="OTH",
        name="他社",
    )
    db.commit()
    return People(admin=admin, member=member, org_slug=org.slug, org_id=org.id)


@pytest.fixture
def admin(client: TestClient, people: People) -> TestClient:
    sign_in_staff(client, people.admin.email)
    return client


def post(
    client: TestClient, path: str, data: dict[str, str], *, token_from: str = SETTINGS
) -> httpx.Response:
    token = csrf_of(client.get(token_from).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


class TestNewProject:
    def test_the_form_speaks_japanese(self, admin: TestClient) -> None:
        page = admin.get("/cases/projects/new", headers={"Accept-Language": "ja"})
        assert "プロジェクトキー" in page.text

    def test_creating_a_project_lands_on_its_settings(self, admin: TestClient) -> None:
        response = post(
            admin,
            "/cases/projects",
            {"key": "eng", "name": "開発", "visibility": "internal"},
            token_from="/cases/projects/new",
        )
        assert (response.status_code, response.headers["location"]) == (
            303,
            "/cases/projects/ENG/settings?tab=general&saved=1",
        )

    def test_a_taken_key_is_explained(self, admin: TestClient) -> None:
        response = post(
            admin,
            "/cases/projects",
            {"key": "SUP", "name": "again"},
            token_from="/cases/projects/new",
        )
        assert response.status_code == 409
        assert 'id="settings-error"' in response.text

    def test_a_form_without_the_csrf_token_is_refused(self, admin: TestClient) -> None:
        response = admin.post("/cases/projects", data={"key": "XX", "name": "x"})
        assert response.status_code == 403

    def test_signed_out_visitors_are_sent_to_sign_in(self, client: TestClient) -> None:
        response = client.get("/cases/projects/new", follow_redirects=False)
        assert response.status_code == 303


class TestSettingsPage:
    @pytest.mark.parametrize("tab", TABS)
    def test_every_tab_renders_in_english(self, admin: TestClient, tab: str) -> None:
        response = admin.get(f"{SETTINGS}?tab={tab}", headers={"Accept-Language": "en"})
        assert response.status_code == 200
        assert re.search(rf'href="{SETTINGS}\?tab={tab}" aria-current="page"', response.text)

    def test_the_inquiry_tab_shows_the_public_address(
        self, admin: TestClient, people: People
    ) -> None:
        page = admin.get(f"{SETTINGS}?tab=inquiry")
        assert f"/inquiry/{people.org_slug}/SUP" in page.text

    def test_adding_a_status_puts_it_before_closed(self, admin: TestClient) -> None:
        response = post(
            admin,
            f"{SETTINGS}/statuses",
            {"name": "確認待ち", "name_en": "Waiting", "color": "#123456"},
        )
        assert response.status_code == 303
        page = admin.get(f"{SETTINGS}?tab=statuses", headers={"Accept-Language": "ja"})
        names = re.findall(r'data-status="([^"]+)"', page.text)
        assert names == ["未対応", "処理中", "処理済み", "確認待ち", "完了"]

    def test_a_refused_change_is_explained_in_japanese(self, admin: TestClient) -> None:
        response = post(admin, f"{SETTINGS}/statuses", {"name": "処理中", "color": "#123456"})
        assert response.status_code == 409
        assert "その名前はすでに使われています。" in response.text

    def test_the_inquiry_form_is_opened_with_its_notices(self, admin: TestClient) -> None:
        post(
            admin,
            f"{SETTINGS}/inquiry",
            {"enabled": "1", "notice_ja": "回答にのみ使います", "notice_en": "Used to answer"},
        )
        page = admin.get(f"{SETTINGS}?tab=inquiry")
        assert "回答にのみ使います" in page.text
        assert 'name="enabled" type="checkbox" value="1" checked' in page.text

    def test_a_custom_field_is_added_with_its_options(self, admin: TestClient) -> None:
        post(
            admin,
            f"{SETTINGS}/fields",
            {"name": "窓口", "kind": "single", "options": "本庁\n支所\n"},
        )
        page = admin.get(f"{SETTINGS}?tab=fields")
        assert "本庁\n支所</textarea>" in page.text

    def test_an_option_edited_on_its_line_renames_the_cases_values(
        self, admin: TestClient, db: Session, people: People
    ) -> None:
        field_id = self._field_with_a_case(db, people)
        post(
            admin,
            f"{SETTINGS}/fields/{field_id}",
            {"name": "窓口", "options": "本庁\nコールセンター"},
        )
        case = service.get_case(db, self._actor(people), "SUP-1")
        db.expire_all()
        assert service.field_values(db, case.id)[field_id] == "コールセンター"

    def test_removing_an_option_a_case_holds_is_refused(
        self, admin: TestClient, db: Session, people: People
    ) -> None:
        field_id = self._field_with_a_case(db, people)
        response = post(admin, f"{SETTINGS}/fields/{field_id}", {"name": "窓口", "options": "本庁"})
        assert response.status_code == 409
        assert "削除した選択肢を使っている課題があります" in response.text

    @staticmethod
    def _actor(people: People) -> Actor:
        return Actor(
            kind="staff", organization_id=people.org_id, role="admin", user_id=people.admin.id
        )

    def _field_with_a_case(self, db: Session, people: People) -> uuid.UUID:
        actor = self._actor(people)
        project = service.get_project(db, actor, "SUP")
        field = settings.add_custom_field(
            db, actor, project, name="窓口", kind="single", options=["本庁", "電話"]
        )
        service.create_case(db, actor, project, {"summary": "x", "custom_fields": {"窓口": "電話"}})
        db.commit()
        return field.id

    def test_a_member_is_added(self, admin: TestClient, people: People) -> None:
        post(admin, f"{SETTINGS}/members", {"user_id": str(people.admin.id), "role": "admin"})
        page = admin.get(f"{SETTINGS}?tab=members", headers={"Accept-Language": "en"})
        assert page.text.count("/remove") == 2

    def test_another_organizations_project_is_404(self, admin: TestClient) -> None:
        assert admin.get("/cases/projects/OTH/settings").status_code == 404

    def test_a_change_to_another_organizations_project_is_404(self, admin: TestClient) -> None:
        response = post(admin, "/cases/projects/OTH/settings/categories", {"name": "x"})
        assert response.status_code == 404

    def test_deleting_a_status_in_use_asks_for_a_substitute(
        self, admin: TestClient, db: Session, people: People
    ) -> None:
        actor = self._actor(people)
        project = service.get_project(db, actor, "SUP")
        extra = settings.add_status(db, actor, project, name="保留", color="#123456")
        service.create_case(db, actor, project, {"summary": "x", "status": extra.id})
        db.commit()
        response = post(admin, f"{SETTINGS}/statuses/{extra.id}/delete", {"substitute": ""})
        assert response.status_code == 409
        assert "使用中の課題があります。移動先を選んでください。" in response.text


class TestViewer:
    @pytest.fixture
    def viewer(self, client: TestClient, people: People) -> TestClient:
        sign_in_staff(client, people.member.email)
        return client

    def test_a_viewer_reads_the_settings_without_forms(self, viewer: TestClient) -> None:
        page = viewer.get(f"{SETTINGS}?tab=statuses", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        assert "needs the administrator role" in page.text
        assert 'action="/cases/projects/SUP/settings/statuses"' not in page.text

    def test_a_viewer_cannot_post_a_change(self, viewer: TestClient) -> None:
        token = csrf_of(viewer.get("/cases/projects/new").text)
        response = viewer.post(f"{SETTINGS}/categories", data={"name": "x", "csrf_token": token})
        assert response.status_code == 403
