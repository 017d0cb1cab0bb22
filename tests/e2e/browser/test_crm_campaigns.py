"""The campaign pages in a real browser (Chromium), in Japanese and in English: the
results table, creating a campaign, moving a member's status, the consent-filtered
audience count, and the channel heatmap drawn by the locally served ECharts under the CSP.

The live server holds one campaign world per language (``tests/e2e/crm_campaigns/world``),
each with its own organization and admin, so the two languages never share data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Screenshots
from tests.e2e.crm_campaigns.world import build_campaign_world
from tests.support.factories import DEFAULT_PASSWORD
from tests.support.live import serving, staff_page
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings
from tsunagu.vault.service import Vault

pytestmark = pytest.mark.browser

LANGS = ("ja", "en")
TEXT = {
    "ja": {
        "name": "名前",
        "channel": "チャネル",
        "first_day": "開始日",
        "cost": "費用（円）",
        "create": "キャンペーンを作成する",
        "created": "キャンペーンを作成しました。",
        "empty_audience": "0件中0件",
        "audience": "2件中1件",
        "change": "変更",
        "changed": "メンバーのステータスを変更しました。",
        "registered": "申込済み",
    },
    "en": {
        "name": "Name",
        "channel": "Channel",
        "first_day": "First day",
        "cost": "Cost (yen)",
        "create": "Create the campaign",
        "created": "The campaign was created.",
        "empty_audience": "0 of 0",
        "audience": "1 of 2",
        "change": "Change",
        "changed": "The member's status was changed.",
        "registered": "Registered",
    },
}


@dataclass(frozen=True)
class CampaignServer:
    url: str
    admin_emails: dict[str, str]
    seminars: dict[str, str]
    silent: dict[str, str]


@pytest.fixture(scope="session")
def campaign_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CampaignServer]:
    home = tmp_path_factory.mktemp("crm-campaigns-live-home")
    settings = Settings(home=home, secret_key="crm-campaigns-browser-secret", log_json=False)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    emails: dict[str, str] = {}
    seminars: dict[str, str] = {}
    silent: dict[str, str] = {}
    with unit_of_work(make_session_factory(engine)) as db:
        vault = Vault.from_settings(settings)
        for lang in LANGS:
            world = build_campaign_world(db, vault, admin_locale=lang)
            emails[lang] = world.admin.email
            seminars[lang] = str(world.seminar.id)
            silent[lang] = str(world.silent.id)
    engine.dispose()
    with serving(settings, "crm-campaigns-live-server") as url:
        yield CampaignServer(url, emails, seminars, silent)


@pytest.fixture
def signed_in(browser: Any, campaign_server: CampaignServer) -> Iterator[Any]:
    """``signed_in(lang)``: a page signed in as that language's admin; console errors
    (a CSP violation among them) are collected on ``page.errors``."""
    contexts: list[Any] = []

    def make(lang: str) -> Any:
        errors: list[str] = []

        def listen(page: Any) -> None:
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        page = staff_page(
            browser,
            campaign_server.url,
            lang,
            campaign_server.admin_emails[lang],
            DEFAULT_PASSWORD,
            contexts=contexts,
            before_sign_in=listen,
        )
        page.errors = errors
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.mark.parametrize("lang", LANGS)
class TestCampaignPagesInBrowser:
    def test_creates_a_campaign_from_the_results_page(
        self, signed_in: Any, campaign_server: CampaignServer, lang: str, screenshots: Screenshots
    ) -> None:
        text = TEXT[lang]
        page = signed_in(lang)
        page.goto("/crm/campaigns")
        row = page.locator(f'tr[data-campaign="{campaign_server.seminars[lang]}"]')
        expect(row.locator("td.cost-per-move")).to_have_text("80,000")
        screenshots.take(page, f"campaigns-{lang}")
        form = page.locator("#create-campaign")
        form.get_by_label(text["name"], exact=True).fill(f"ウェビナー {lang}")
        form.get_by_label(text["channel"], exact=True).select_option("webinar")
        form.get_by_label(text["first_day"], exact=True).fill("2026-10-01")
        form.get_by_label(text["cost"], exact=True).fill("20000")
        form.get_by_role("button", name=text["create"]).click()
        expect(page.get_by_role("status")).to_contain_text(text["created"])
        expect(page.locator("#audience-count")).to_contain_text(text["empty_audience"])
        screenshots.take(page, f"created-{lang}")

    def test_moves_a_member_forward_and_counts_the_audience(
        self, signed_in: Any, campaign_server: CampaignServer, lang: str, screenshots: Screenshots
    ) -> None:
        text = TEXT[lang]
        page = signed_in(lang)
        page.goto(f"/crm/campaigns/{campaign_server.seminars[lang]}")
        expect(page.locator("#audience-count")).to_contain_text(text["audience"])
        row = page.locator(f'tr[data-entity="{campaign_server.silent[lang]}"]')
        row.locator("select").select_option("registered")
        row.get_by_role("button", name=text["change"]).click()
        expect(page.get_by_role("status")).to_contain_text(text["changed"])
        expect(row.locator("td.member-status")).to_have_text(text["registered"])
        screenshots.take(page, f"member-moved-{lang}")

    def test_draws_the_channel_heatmap(
        self, signed_in: Any, lang: str, screenshots: Screenshots
    ) -> None:
        page = signed_in(lang)
        page.goto("/crm/channels")
        expect(page.locator("#channel-map[data-rendered='true'] svg")).to_have_count(1)
        expect(page.locator('tr[data-channel="seminar"] td[data-stage="promising"]')).to_have_text(
            "1"
        )
        screenshots.take(page, f"channels-{lang}")
        assert page.errors == []
