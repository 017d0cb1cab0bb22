"""The server-rendered pages of the identity domain, driven through TestClient: sign-in and
sign-out for staff and persons, CSRF, expired sessions, language choice, error pages."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.e2e.pages.conftest import World, csrf_of, sign_in_person, sign_in_staff
from tsunagu.core.settings import Settings
from tsunagu.identity import service
from tsunagu.identity.models import ApiKey, StaffUser, WebSession
from tsunagu.identity.web_auth import CSRF_COOKIE, SESSION_COOKIE


def _session_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(WebSession)) or 0


class TestRoot:
    def test_anonymous_visitor_is_sent_to_staff_sign_in(self, client: TestClient) -> None:
        response = client.get("/", follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/signin")

    def test_signed_in_staff_is_sent_to_dashboard(self, client: TestClient, world: World) -> None:
        sign_in_staff(client, world.admin.email)
        response = client.get("/", follow_redirects=False)
        assert response.headers["location"] == "/dashboard"


class TestStaffSignIn:
    def test_good_password_sets_an_httponly_session_cookie(
        self, client: TestClient, world: World
    ) -> None:
        token = csrf_of(client.get("/signin").text)
        response = client.post(
            "/signin",
            data={"email": world.admin.email, "password": world.password, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/dashboard"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "httponly" in cookie.lower()
        assert "samesite=lax" in cookie.lower()

    def test_dashboard_shows_organization_role_and_counts(
        self, client: TestClient, world: World
    ) -> None:
        sign_in_staff(client, world.admin.email)
        page = client.get("/dashboard")
        assert page.status_code == 200
        assert "つなぐ商店" in page.text
        assert "管理者" in page.text
        assert '<span class="number" id="staff-count">2</span>' in page.text

    def test_wrong_password_shows_the_form_again_with_401(
        self, client: TestClient, world: World
    ) -> None:
        token = csrf_of(client.get("/signin").text)
        response = client.post(
            "/signin",
            data={"email": world.admin.email, "password": "not the password", "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 401
        assert "メールアドレスまたはパスワードが正しくありません。" in response.text
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")

    def test_unknown_email_reads_exactly_like_a_wrong_password(
        self, client: TestClient, world: World
    ) -> None:
        def attempt(email: str) -> str:
            token = csrf_of(client.get("/signin").text)
            data = {"email": email, "password": "wrong password!!", "csrf_token": token}
            return client.post("/signin", data=data).text.replace(email, "EMAIL")

        assert attempt("nobody@example.com") == attempt(world.admin.email)

    def test_next_page_is_kept_through_sign_in(self, client: TestClient, world: World) -> None:
        first = client.get("/settings/api-keys", follow_redirects=False)
        assert first.headers["location"] == "/signin?next=/settings/api-keys"
        form = client.get(first.headers["location"]).text
        response = client.post(
            "/signin",
            data={
                "email": world.admin.email,
                "password": world.password,
                "csrf_token": csrf_of(form),
                "next": "/settings/api-keys",
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/settings/api-keys"

    def test_next_page_on_another_site_is_ignored(self, client: TestClient, world: World) -> None:
        token = csrf_of(client.get("/signin").text)
        data = {
            "email": world.admin.email,
            "password": world.password,
            "csrf_token": token,
            "next": "//evil.example/",
        }
        response = client.post("/signin", data=data, follow_redirects=False)
        assert response.headers["location"] == "/dashboard"


class TestCsrf:
    def test_sign_in_without_token_is_refused_and_creates_no_session(
        self, client: TestClient, world: World, db: Session
    ) -> None:
        client.get("/signin")
        before = _session_count(db)
        response = client.post(
            "/signin", data={"email": world.admin.email, "password": world.password}
        )
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
        assert _session_count(db) == before

    def test_token_without_its_cookie_is_refused(self, client: TestClient, world: World) -> None:
        token = csrf_of(client.get("/signin").text)
        client.cookies.delete(CSRF_COOKIE)
        response = client.post(
            "/signin",
            data={"email": world.admin.email, "password": world.password, "csrf_token": token},
        )
        assert response.status_code == 403

    def test_forged_cookie_is_refused(self, client: TestClient, world: World) -> None:
        client.cookies.set(CSRF_COOKIE, "attacker-token.forged-signature")
        response = client.post(
            "/signin",
            data={
                "email": world.admin.email,
                "password": world.password,
                "csrf_token": "attacker-token",
            },
        )
        assert response.status_code == 403

    def test_signed_in_form_without_session_token_changes_nothing(
        self, client: TestClient, world: World, db: Session
    ) -> None:
        sign_in_staff(client, world.admin.email)
        response = client.post("/settings/api-keys", data={"name": "sneaky", "role": "admin"})
        assert response.status_code == 403
        assert db.scalar(select(ApiKey).where(ApiKey.name == "sneaky")) is None

    def test_anonymous_token_is_not_accepted_once_signed_in(
        self, client: TestClient, world: World
    ) -> None:
        anonymous = csrf_of(client.get("/signin").text)
        sign_in_staff(client, world.admin.email)
        response = client.post(
            "/settings/api-keys",
            data={"name": "sneaky", "role": "admin", "csrf_token": anonymous},
        )
        assert response.status_code == 403


class TestSignOut:
    def test_old_cookie_is_useless_after_sign_out(self, client: TestClient, world: World) -> None:
        sign_in_staff(client, world.admin.email)
        old = client.cookies.get(SESSION_COOKIE)
        token = csrf_of(client.get("/dashboard").text)
        response = client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
        assert response.headers["location"] == "/signin"
        client.cookies.set(SESSION_COOKIE, old or "")
        again = client.get("/dashboard", follow_redirects=False)
        assert (again.status_code, again.headers["location"]) == (303, "/signin?next=/dashboard")

    def test_sign_out_without_token_keeps_the_session(
        self, client: TestClient, world: World
    ) -> None:
        sign_in_staff(client, world.admin.email)
        response = client.post("/signout", data={})
        assert response.status_code == 403
        assert client.get("/dashboard", follow_redirects=False).status_code == 200


class TestExpiredSession:
    def test_expired_session_redirects_to_sign_in(
        self, client: TestClient, world: World, db: Session
    ) -> None:
        membership = service.find_membership(db, world.org.id, world.admin.id)
        _, token = service.start_web_session(
            db, max_age=timedelta(seconds=-1), user=world.admin, membership=membership
        )
        db.commit()
        client.cookies.set(SESSION_COOKIE, token)
        response = client.get("/dashboard", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")


class TestSeparationOfStaffAndPersons:
    def test_person_cookie_cannot_open_the_dashboard(
        self, client: TestClient, world: World
    ) -> None:
        sign_in_person(client, world.person.email or "")
        response = client.get("/dashboard", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")

    def test_staff_cookie_cannot_open_the_portal(self, client: TestClient, world: World) -> None:
        sign_in_staff(client, world.admin.email)
        response = client.get("/portal", follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/portal/signin")


class TestPersonalPortal:
    def test_person_sees_own_name_in_kanji_and_kana_and_address(
        self, client: TestClient, world: World
    ) -> None:
        sign_in_person(client, world.person.email or "")
        page = client.get("/portal")
        assert page.status_code == 200
        assert "山田 太郎" in page.text
        assert "ヤマダ タロウ" in page.text
        assert "〒100-0001 東京都千代田区千代田1-1" in page.text

    def test_wrong_password_is_refused_with_401(self, client: TestClient, world: World) -> None:
        token = csrf_of(client.get("/portal/signin").text)
        response = client.post(
            "/portal/signin",
            data={"email": world.person.email, "password": "wrong password!!", "csrf_token": token},
        )
        assert response.status_code == 401
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")

    def test_person_sign_out_ends_the_session(self, client: TestClient, world: World) -> None:
        sign_in_person(client, world.person.email or "")
        token = csrf_of(client.get("/portal").text)
        client.post("/portal/signout", data={"csrf_token": token})
        response = client.get("/portal", follow_redirects=False)
        assert response.status_code == 303


class TestLanguage:
    def test_japanese_by_default(self, client: TestClient) -> None:
        page = client.get("/signin")
        assert '<html lang="ja">' in page.text
        assert "スタッフのサインイン" in page.text

    def test_english_from_accept_language(self, client: TestClient) -> None:
        page = client.get("/signin", headers={"Accept-Language": "en-US,en;q=0.9,ja;q=0.5"})
        assert '<html lang="en">' in page.text
        assert "Staff sign-in" in page.text

    def test_switcher_sets_the_lang_cookie_for_anonymous_visitors(self, client: TestClient) -> None:
        token = csrf_of(client.get("/signin").text)
        response = client.post(
            "/settings/language",
            data={"locale": "en", "next": "/signin", "csrf_token": token},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/signin"
        page = client.get("/signin", headers={"Accept-Language": "ja"})
        assert '<html lang="en">' in page.text

    def test_switcher_saves_the_signed_in_users_setting(
        self, client: TestClient, world: World, db: Session
    ) -> None:
        sign_in_staff(client, world.admin.email)
        token = csrf_of(client.get("/dashboard").text)
        client.post(
            "/settings/language",
            data={"locale": "en", "next": "/dashboard", "csrf_token": token},
        )
        db.expire_all()
        assert db.get(StaffUser, world.admin.id).locale == "en"  # type: ignore[union-attr]

    def test_users_own_setting_beats_accept_language(
        self, client: TestClient, world: World, db: Session
    ) -> None:
        world.member.locale = "en"
        db.commit()
        sign_in_staff(client, world.member.email)
        page = client.get("/dashboard", headers={"Accept-Language": "ja"})
        assert "Dashboard" in page.text
        assert "ダッシュボード" not in page.text

    def test_switcher_without_token_is_refused(self, client: TestClient) -> None:
        response = client.post("/settings/language", data={"locale": "en"})
        assert response.status_code == 403
        assert "lang=" not in response.headers.get("set-cookie", "")


class TestApiKeysPage:
    def test_admin_sees_a_new_key_once(self, client: TestClient, world: World) -> None:
        sign_in_staff(client, world.admin.email)
        token = csrf_of(client.get("/settings/api-keys").text)
        created = client.post(
            "/settings/api-keys", data={"name": "CRM 連携", "role": "viewer", "csrf_token": token}
        )
        assert created.status_code == 200
        assert 'id="new-key">tsk_' in created.text
        listed = client.get("/settings/api-keys")
        assert "CRM 連携" in listed.text
        assert 'id="new-key"' not in listed.text

    def test_admin_revokes_a_key(self, client: TestClient, world: World, db: Session) -> None:
        key, _ = service.create_api_key(db, organization=world.org, name="old key")
        db.commit()
        sign_in_staff(client, world.admin.email)
        token = csrf_of(client.get("/settings/api-keys").text)
        response = client.post(
            f"/settings/api-keys/{key.id}/revoke",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/settings/api-keys"
        db.expire_all()
        assert db.get(ApiKey, key.id).revoked_at is not None  # type: ignore[union-attr]

    def test_member_is_refused_with_an_html_page(self, client: TestClient, world: World) -> None:
        sign_in_staff(client, world.member.email)
        response = client.get("/settings/api-keys")
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")

    def test_key_of_another_organization_cannot_be_revoked(
        self, client: TestClient, world: World, db: Session
    ) -> None:
        other = service.create_organization(db, slug=f"other-{world.org.slug}", name="Other")
        key, _ = service.create_api_key(db, organization=other, name="theirs")
        db.commit()
        sign_in_staff(client, world.admin.email)
        token = csrf_of(client.get("/settings/api-keys").text)
        response = client.post(f"/settings/api-keys/{key.id}/revoke", data={"csrf_token": token})
        assert response.status_code == 404
        db.expire_all()
        assert db.get(ApiKey, key.id).revoked_at is None  # type: ignore[union-attr]


class TestErrorPages:
    def test_error_page_is_html_in_the_readers_language(self, client: TestClient) -> None:
        response = client.post(
            "/signin", data={"email": "x@example.com"}, headers={"Accept-Language": "en"}
        )
        assert response.headers["content-type"].startswith("text/html")
        assert "The form has expired" in response.text
        assert "Traceback" not in response.text

    def test_error_page_offers_the_way_back(self, client: TestClient, world: World) -> None:
        sign_in_staff(client, world.member.email)
        response = client.get("/settings/api-keys")
        assert "許可されていません" in response.text
        assert 'href="/"' in response.text


class TestSeveralOrganizations:
    def test_staff_chooses_the_organization_at_sign_in(
        self, client: TestClient, world: World, db: Session
    ) -> None:
        second = service.create_organization(
            db, slug=f"second-{world.org.slug}", name="第二病院", kind="hospital"
        )
        service.create_staff_user(
            db,
            organization=second,
            email=world.member.email,
            password="unused-password",
            role="viewer",
            join_existing=True,
        )
        db.commit()
        token = csrf_of(client.get("/signin").text)
        client.post(
            "/signin",
            data={
                "email": world.member.email,
                "password": world.password,
                "organization": second.slug,
                "csrf_token": token,
            },
        )
        page = client.get("/dashboard")
        assert "第二病院" in page.text
        assert "閲覧者" in page.text


class TestSecureCookies:
    def test_cookies_carry_secure_when_configured(
        self, app: FastAPI, settings: Settings, world: World
    ) -> None:
        app.state.settings = settings.model_copy(update={"secure_cookies": True})
        with TestClient(app, base_url="https://testserver") as client:
            form = client.get("/signin")
            assert "secure" in form.headers["set-cookie"].lower()
            response = client.post(
                "/signin",
                data={
                    "email": world.admin.email,
                    "password": world.password,
                    "csrf_token": csrf_of(form.text),
                },
                follow_redirects=False,
            )
        assert "secure" in response.headers["set-cookie"].lower()


class TestShell:
    def test_unknown_page_is_an_html_404(self, client: TestClient) -> None:
        response = client.get("/no-such-page")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "ページが見つかりません" in response.text

    def test_stylesheet_is_served_locally(self, client: TestClient) -> None:
        response = client.get("/static/tsunagu.css")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/css")

    def test_pages_load_nothing_from_other_sites(self, client: TestClient, world: World) -> None:
        sign_in_staff(client, world.admin.email)
        html = client.get("/dashboard").text
        assert re.findall(r'(?:src|href)="(?:https?:)?//', html) == []

    def test_every_input_has_a_label(self, client: TestClient) -> None:
        html = client.get("/signin").text
        visible = re.findall(r'<input id="([^"]+)"', html)
        assert visible
        for input_id in visible:
            assert f'<label for="{input_id}">' in html
