"""The privacy officer's pages in a real browser (Chromium), in Japanese and in English:
add a purpose, answer a person's request, download the provision CSV for the regulator.

The live server holds one privacy world per language (``world.py``), each with its own
organization and admin, so the two languages never touch each other's data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Screenshots
from tests.e2e.privacy_pages.world import build_privacy_world
from tests.support.live import serving, staff_page
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings
from tsunagu.vault.service import Vault

pytestmark = pytest.mark.browser

LANGS = ("ja", "en")
TEXT = {
    "ja": {
        "privacy": "個人情報保護管理",
        "catalogue": "データ項目と利用目的",
        "code": "コード",
        "label_ja": "名前(日本語)",
        "label_en": "名前(英語)",
        "add": "利用目的を追加する",
        "added": "を追加しました。",
        "requests": "本人からの請求",
        "answer": "本人への回答",
        "send": "回答する",
        "answered": "請求に回答しました。",
        "provisions": "第三者提供の記録",
        "csv": "個人情報保護委員会向けCSVをダウンロード",
    },
    "en": {
        "privacy": "Privacy management",
        "catalogue": "Categories and purposes",
        "code": "Code",
        "label_ja": "Name in Japanese",
        "label_en": "Name in English",
        "add": "Add the purpose",
        "added": "was added.",
        "requests": "Requests from persons",
        "answer": "Answer to the person",
        "send": "Send the answer",
        "answered": "The request was answered.",
        "provisions": "Provision records",
        "csv": "Download the CSV for the regulator",
    },
}


@dataclass(frozen=True)
class PrivacyServer:
    url: str
    admin_emails: dict[str, str]
    request_ids: dict[str, str]
    password: str


@pytest.fixture(scope="session")
def privacy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivacyServer]:
    home = tmp_path_factory.mktemp("privacy-live-home")
    settings = Settings(home=home, secret_key="privacy-browser-test-secret", log_json=False)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    emails: dict[str, str] = {}
    requests: dict[str, str] = {}
    password = ""
    with unit_of_work(make_session_factory(engine)) as db:
        vault = Vault.from_settings(settings)
        for lang in LANGS:
            world = build_privacy_world(db, vault, admin_locale=lang)
            emails[lang] = world.admin.email
            requests[lang] = str(world.request.id)
            password = world.password
    engine.dispose()
    with serving(settings, "privacy-live-server") as url:
        yield PrivacyServer(url, emails, requests, password)


@pytest.fixture
def signed_in(browser: Any, privacy_server: PrivacyServer) -> Iterator[Any]:
    """``signed_in(lang)``: a page signed in as that language's admin, on the dashboard."""
    contexts: list[Any] = []

    def make(lang: str) -> Any:
        return staff_page(
            browser,
            privacy_server.url,
            lang,
            privacy_server.admin_emails[lang],
            privacy_server.password,
            contexts=contexts,
            accept_downloads=True,
        )

    yield make
    for context in contexts:
        context.close()


@pytest.mark.parametrize("lang", LANGS)
class TestPrivacyOfficerInBrowser:
    def test_adds_a_purpose(self, signed_in: Any, lang: str, screenshots: Screenshots) -> None:
        text = TEXT[lang]
        page = signed_in(lang)
        page.get_by_role("link", name=text["catalogue"]).first.click()
        page.get_by_label(text["code"], exact=True).fill(f"loyalty-{lang}")
        page.get_by_label(text["label_ja"], exact=True).fill("ポイントプログラム")
        page.get_by_label(text["label_en"], exact=True).fill("Loyalty programme")
        page.get_by_role("button", name=text["add"]).click()
        expect(page.get_by_role("status")).to_contain_text(text["added"])
        expect(page.locator(f'#own-purposes tr[data-code="loyalty-{lang}"]')).to_be_visible()
        screenshots.take(page, f"purpose-added-{lang}")

    def test_answers_a_request(
        self,
        signed_in: Any,
        privacy_server: PrivacyServer,
        lang: str,
        screenshots: Screenshots,
    ) -> None:
        text = TEXT[lang]
        page = signed_in(lang)
        page.get_by_role("link", name=text["requests"]).first.click()
        expect(page.locator("li.request.overdue")).to_have_count(1)
        screenshots.take(page, f"queue-{lang}")
        item = page.locator(f"#request-{privacy_server.request_ids[lang]}")
        item.get_by_label(text["answer"]).fill("開示書面を郵送しました。 / Sent by post.")
        item.get_by_role("button", name=text["send"]).click()
        expect(page.get_by_role("status")).to_contain_text(text["answered"])
        expect(page.locator("#closed-requests")).to_contain_text("Sent by post.")
        screenshots.take(page, f"answered-{lang}")

    def test_downloads_the_provision_csv(
        self, signed_in: Any, lang: str, screenshots: Screenshots
    ) -> None:
        text = TEXT[lang]
        page = signed_in(lang)
        page.get_by_role("link", name=text["provisions"]).first.click()
        expect(page.locator("#provisions tbody tr")).to_have_count(1)
        screenshots.take(page, f"provisions-{lang}")
        with page.expect_download() as info:
            page.get_by_role("link", name=text["csv"]).click()
        download = info.value
        assert download.suggested_filename.startswith("provisions_start_")
        body = Path(download.path()).read_text(encoding="utf-8-sig")
        assert body.startswith("提供年月日 provided_at,")

    def test_shows_the_consent_chart(
        self, signed_in: Any, lang: str, screenshots: Screenshots
    ) -> None:
        page = signed_in(lang)
        page.goto("/privacy/consents")
        expect(page.locator("#consent-chart g.bar-group")).to_have_count(2)
        screenshots.take(page, f"consents-{lang}")
