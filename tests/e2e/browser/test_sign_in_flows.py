"""Sign-in and sign-out in a real browser (Chromium), for staff and persons, in Japanese
and in English, and once with the keyboard alone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import LiveServer
from tests.e2e.conftest import Screenshots

pytestmark = pytest.mark.browser

TEXT = {
    "ja": {
        "email": "メールアドレス",
        "password": "パスワード",
        "sign_in": "サインイン",
        "sign_out": "サインアウト",
        "dashboard": "ダッシュボード",
        "my_page": "マイページ",
        "staff_sign_in": "スタッフのサインイン",
        "portal_sign_in": "個人ポータルへのサインイン",
        "kind": "自治体",
        "role": "管理者",
    },
    "en": {
        "email": "E-mail address",
        "password": "Password",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "dashboard": "Dashboard",
        "my_page": "My page",
        "staff_sign_in": "Staff sign-in",
        "portal_sign_in": "Personal portal sign-in",
        "kind": "Municipality",
        "role": "Administrator",
    },
}
LOCALES = {"ja": "ja-JP", "en": "en-US"}


def _sign_in(page: Any, text: dict[str, str], email: str, password: str) -> None:
    page.get_by_label(text["email"], exact=True).fill(email)
    page.get_by_label(text["password"], exact=True).fill(password)
    page.get_by_role("button", name=text["sign_in"], exact=True).click()


@pytest.mark.parametrize("lang", ["ja", "en"])
class TestStaffSignInFlow:
    def test_staff_signs_in_sees_the_dashboard_and_signs_out(
        self, lang: str, open_page: Any, live_server: LiveServer, screenshots: Screenshots
    ) -> None:
        text = TEXT[lang]
        page = open_page(LOCALES[lang])
        page.goto("/dashboard")
        expect(page).to_have_url(f"{live_server.url}/signin?next=/dashboard")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.get_by_role("heading", level=1)).to_have_text(text["staff_sign_in"])
        screenshots.take(page, "signin")

        _sign_in(page, text, live_server.staff_email, live_server.password)
        expect(page).to_have_url(f"{live_server.url}/dashboard")
        expect(page.get_by_role("heading", level=1)).to_have_text(text["dashboard"])
        expect(page.get_by_text("港みらい市").first).to_be_visible()
        expect(page.get_by_text(text["kind"], exact=True)).to_be_visible()
        expect(page.get_by_text(text["role"], exact=True)).to_be_visible()
        screenshots.take(page, "dashboard")

        page.get_by_role("button", name=text["sign_out"]).click()
        expect(page).to_have_url(f"{live_server.url}/signin")
        screenshots.take(page, "signed-out")
        page.goto("/dashboard")
        expect(page).to_have_url(f"{live_server.url}/signin?next=/dashboard")

    def test_wrong_password_keeps_the_staff_user_out(
        self, lang: str, open_page: Any, live_server: LiveServer, screenshots: Screenshots
    ) -> None:
        text = TEXT[lang]
        page = open_page(LOCALES[lang])
        page.goto("/signin")
        _sign_in(page, text, live_server.staff_email, "not-the-password-at-all")
        expect(page.get_by_role("alert")).to_be_visible()
        expect(page).to_have_url(f"{live_server.url}/signin")
        screenshots.take(page, "wrong-password")


@pytest.mark.parametrize("lang", ["ja", "en"])
class TestPersonSignInFlow:
    def test_person_signs_in_sees_the_portal_and_signs_out(
        self, lang: str, open_page: Any, live_server: LiveServer, screenshots: Screenshots
    ) -> None:
        text = TEXT[lang]
        page = open_page(LOCALES[lang])
        page.goto("/portal")
        expect(page).to_have_url(f"{live_server.url}/portal/signin")
        expect(page.get_by_role("heading", level=1)).to_have_text(text["portal_sign_in"])
        screenshots.take(page, "signin")

        _sign_in(page, text, live_server.person_email, live_server.password)
        expect(page).to_have_url(f"{live_server.url}/portal")
        expect(page.get_by_role("heading", level=1)).to_have_text(text["my_page"])
        expect(page.locator("#person-name")).to_have_text("高橋 美咲")
        expect(page.locator("#person-kana")).to_have_text("タカハシ ミサキ")
        screenshots.take(page, "portal")

        page.get_by_role("button", name=text["sign_out"]).click()
        expect(page).to_have_url(f"{live_server.url}/portal/signin")
        screenshots.take(page, "signed-out")
        page.goto("/portal")
        expect(page).to_have_url(f"{live_server.url}/portal/signin")


class TestKeyboardOnly:
    def test_staff_signs_in_with_tab_and_enter(
        self, open_page: Any, live_server: LiveServer, screenshots: Screenshots
    ) -> None:
        page = open_page(LOCALES["ja"])
        page.goto("/signin")
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="本文へスキップ")).to_be_focused()
        for _ in range(20):
            if page.evaluate("document.activeElement.id") == "email":
                break
            page.keyboard.press("Tab")
        expect(page.get_by_label("メールアドレス", exact=True)).to_be_focused()
        page.keyboard.type(live_server.staff_email)
        page.keyboard.press("Tab")
        expect(page.get_by_label("パスワード", exact=True)).to_be_focused()
        page.keyboard.type(live_server.password)
        screenshots.take(page, "typed")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{live_server.url}/dashboard")
        screenshots.take(page, "dashboard")


class TestLanguageSwitcher:
    def test_switching_to_english_changes_the_page(
        self, open_page: Any, live_server: LiveServer, screenshots: Screenshots
    ) -> None:
        page = open_page(LOCALES["ja"])
        page.goto("/signin")
        expect(page.get_by_role("heading", level=1)).to_have_text("スタッフのサインイン")
        page.get_by_role("button", name="English").click()
        expect(page).to_have_url(f"{live_server.url}/signin")
        expect(page.get_by_role("heading", level=1)).to_have_text("Staff sign-in")
        screenshots.take(page, "english")


class TestApiKeysPage:
    def test_admin_creates_a_key_and_sees_it_once(
        self, open_page: Any, live_server: LiveServer, screenshots: Screenshots
    ) -> None:
        text = TEXT["ja"]
        page = open_page(LOCALES["ja"])
        page.goto("/signin")
        _sign_in(page, text, live_server.staff_email, live_server.password)
        page.get_by_role("navigation").get_by_role("link", name="API キー").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("API キー")
        page.get_by_label("名前", exact=True).fill("基幹システム連携")
        page.get_by_label("ロール", exact=True).select_option("viewer")
        page.get_by_role("button", name="キーを作成する").click()
        expect(page.locator("#new-key")).to_contain_text("tsk_")
        expect(page.get_by_role("cell", name="基幹システム連携", exact=True)).to_be_visible()
        screenshots.take(page, "created")
        page.goto("/settings/api-keys")
        expect(page.locator("#new-key")).to_have_count(0)
