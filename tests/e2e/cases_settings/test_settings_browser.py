"""In Chromium, in Japanese: an administrator creates a project through the form and adds a
custom status, which lands just before 完了 (Closed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.live import serving, staff_page
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings
from tsunagu.identity import service

pytestmark = pytest.mark.browser

EMAIL = "kato@cases-settings.example.jp"
PASSWORD = "cases-settings-browser-2026"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(
        home=tmp_path_factory.mktemp("cases-settings-home"),
        secret_key="cases-settings-browser-secret",
        log_json=False,
    )
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    with unit_of_work(make_session_factory(engine)) as db:
        org = service.create_organization(db, slug="kita-city", name="北市", kind="municipality")
        service.create_staff_user(
            db,
            organization=org,
            email=EMAIL,
            password=PASSWORD,
            role="admin",
            display_name="加藤 恵",
        )
    engine.dispose()
    with serving(settings, "cases-settings-live") as url:
        yield url


class TestProjectSettingsInChromium:
    def test_create_a_project_and_add_a_custom_status(self, browser: Any, server: str) -> None:
        contexts: list[Any] = []
        try:
            page = staff_page(browser, server, "ja", EMAIL, PASSWORD, contexts=contexts)
            page.goto("/cases/projects/new")
            page.get_by_label("プロジェクトキー").fill("TRY")
            page.get_by_label("プロジェクト名").fill("窓口改善")
            page.get_by_role("button", name="プロジェクトを作成").click()
            expect(page).to_have_url(f"{server}/cases/projects/TRY/settings?tab=general&saved=1")
            page.get_by_role("link", name="状態").click()
            page.get_by_label("新しい状態の名前").fill("確認待ち")
            page.get_by_role("button", name="状態を追加").click()
            expect(page.locator("#settings-saved")).to_have_text("保存しました。")
            rows = page.locator("#status-table tbody tr")
            expect(rows).to_have_count(5)
            assert [rows.nth(i).get_attribute("data-status") for i in range(5)] == [
                "未対応",
                "処理中",
                "処理済み",
                "確認待ち",
                "完了",
            ]
        finally:
            for context in contexts:
                context.close()
