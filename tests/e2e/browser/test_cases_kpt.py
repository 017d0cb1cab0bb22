"""KPT in a real browser (Chromium), in Japanese and in English: a member adds a Try to the
board, turns it into a case with one click and follows the link to the case's page.

The live server holds one KPT world per language (``tests/e2e/cases_kpt/world``), each
with its own organization, so the two languages never share data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.cases_kpt.world import build_kpt_world
from tests.e2e.conftest import Screenshots
from tests.support.live import serving, staff_page
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings

pytestmark = pytest.mark.browser

LANGS = ("ja", "en")
TEXT = {
    "ja": {"new_try": "新しい Try（試すこと） カード", "add": "追加", "make": "課題にする"},
    "en": {"new_try": "New Try card", "add": "Add", "make": "Make a case"},
}


@dataclass(frozen=True)
class KptServer:
    url: str
    emails: dict[str, str]
    boards: dict[str, str]
    password: str


@pytest.fixture(scope="module")
def kpt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KptServer]:
    home = tmp_path_factory.mktemp("kpt-live-home")
    settings = Settings(home=home, secret_key="kpt-browser-test-secret", log_json=False)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    emails: dict[str, str] = {}
    boards: dict[str, str] = {}
    password = ""
    with unit_of_work(make_session_factory(engine)) as db:
        for lang in LANGS:
            world = build_kpt_world(db, locale=lang)
            emails[lang] = world.member.email
            boards[lang] = str(world.board.id)
            password = world.password
    engine.dispose()
    with serving(settings, "kpt-live-server") as url:
        yield KptServer(url, emails, boards, password)


@pytest.fixture
def signed_in(browser: Any, kpt_server: KptServer) -> Iterator[Any]:
    """``signed_in(lang)``: a page signed in as that language's member."""
    contexts: list[Any] = []

    def make(lang: str) -> Any:
        return staff_page(
            browser,
            kpt_server.url,
            lang,
            kpt_server.emails[lang],
            kpt_server.password,
            contexts=contexts,
        )

    yield make
    for context in contexts:
        context.close()


@pytest.mark.parametrize("lang", LANGS)
class TestKptInBrowser:
    def test_a_try_becomes_a_case(
        self, signed_in: Any, kpt_server: KptServer, lang: str, screenshots: Screenshots
    ) -> None:
        text = TEXT[lang]
        page = signed_in(lang)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"/cases/kpt/{kpt_server.boards[lang]}")
        try_column = page.locator("#column-try")
        summary = f"問い合わせの手順書を作る ({lang})"
        try_column.get_by_label(text["new_try"]).fill(summary)
        try_column.get_by_role("button", name=text["add"], exact=True).click()
        card = page.locator("#column-try .kpt-card", has_text=summary)
        expect(card).to_have_count(1)
        screenshots.take(page, f"try-added-{lang}")
        card.get_by_role("button", name=text["make"]).click()
        link = page.locator("#column-try .kpt-card", has_text=summary).locator("a.case-link")
        expect(link).to_have_text(re.compile(r"SUP-\d+"))
        expect(
            page.locator("#column-try .kpt-card", has_text=summary).get_by_role(
                "button", name=text["make"]
            )
        ).to_have_count(0)
        screenshots.take(page, f"case-made-{lang}")
        link.click()
        expect(page).to_have_url(re.compile(r"/cases/view/SUP-\d+$"))
        expect(page.locator("body")).to_contain_text(summary)
        screenshots.take(page, f"case-page-{lang}")
        assert errors == []
