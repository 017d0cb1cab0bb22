"""Handoff feedback in a real browser (Chromium), in Japanese and in English: the member
of the receiving department rates a handoff from the inbox, and the report draws the
average rating per period with ECharts (served locally, under the page's CSP).

The live server holds one handoff world per language (``tests/e2e/crm_handoffs/world``),
each with its own organization and member, so the two languages never share data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Screenshots
from tests.e2e.crm_handoffs.world import build_handoff_world
from tests.support.live import serving, staff_page
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings

pytestmark = pytest.mark.browser

LANGS = ("ja", "en")
TEXT = {
    "ja": {
        "inbox": "評価待ちの引き継ぎ",
        "rating": "4 — 良い",
        "comment": "コメント",
        "save": "評価を保存する",
        "saved": "評価を保存しました。",
        "report": "引き継ぎの評価レポート",
    },
    "en": {
        "inbox": "Handoffs to rate",
        "rating": "4 — good",
        "comment": "Comment",
        "save": "Save the rating",
        "saved": "the rating was saved.",
        "report": "Handoff report",
    },
}


@dataclass(frozen=True)
class HandoffServer:
    url: str
    emails: dict[str, str]
    handoffs: dict[str, str]
    password: str


@pytest.fixture(scope="module")
def handoff_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HandoffServer]:
    home = tmp_path_factory.mktemp("handoff-live-home")
    settings = Settings(home=home, secret_key="handoff-browser-test-secret", log_json=False)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    emails: dict[str, str] = {}
    handoffs: dict[str, str] = {}
    password = ""
    with unit_of_work(make_session_factory(engine)) as db:
        for lang in LANGS:
            world = build_handoff_world(db, member_locale=lang)
            emails[lang] = world.member.email
            handoffs[lang] = str(world.handoffs["H-002"].id)
            password = world.password
    engine.dispose()
    with serving(settings, "handoff-live-server") as url:
        yield HandoffServer(url, emails, handoffs, password)


@pytest.fixture
def signed_in(browser: Any, handoff_server: HandoffServer) -> Iterator[Any]:
    """``signed_in(lang)``: a page signed in as that language's member, on the dashboard."""
    contexts: list[Any] = []

    def make(lang: str) -> Any:
        return staff_page(
            browser,
            handoff_server.url,
            lang,
            handoff_server.emails[lang],
            handoff_server.password,
            contexts=contexts,
        )

    yield make
    for context in contexts:
        context.close()


@pytest.mark.parametrize("lang", LANGS)
class TestHandoffFeedbackInBrowser:
    def test_rates_a_handoff(
        self, signed_in: Any, handoff_server: HandoffServer, lang: str, screenshots: Screenshots
    ) -> None:
        text = TEXT[lang]
        page = signed_in(lang)
        page.goto("/crm/handoffs")
        expect(page.get_by_role("heading", level=1)).to_have_text(text["inbox"])
        screenshots.take(page, f"inbox-{lang}")
        item = page.locator(f"#handoff-{handoff_server.handoffs[lang]}")
        item.get_by_label(text["rating"]).check()
        item.get_by_label(text["comment"]).fill("決裁者と予算が明確 / budget confirmed")
        item.get_by_role("button", name=text["save"]).click()
        expect(page.get_by_role("status")).to_contain_text(text["saved"])
        expect(page.locator(f"#handoff-{handoff_server.handoffs[lang]}")).to_have_count(0)
        expect(page.locator("#rated-handoffs")).to_contain_text("budget confirmed")
        screenshots.take(page, f"rated-{lang}")

    def test_the_report_draws_the_chart(
        self, signed_in: Any, lang: str, screenshots: Screenshots
    ) -> None:
        text = TEXT[lang]
        page = signed_in(lang)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto("/crm/handoffs/report?period=month")
        expect(page.get_by_role("heading", level=1)).to_have_text(text["report"])
        expect(page.locator("#handoff-chart[data-rendered='true'] svg")).to_have_count(1)
        expect(page.locator("#report-periods tbody tr").first).to_be_visible()
        screenshots.take(page, f"report-{lang}")
        assert errors == []
