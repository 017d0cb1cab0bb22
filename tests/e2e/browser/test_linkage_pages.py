"""The collaboration pages in a real browser (Chromium), in Japanese and in English: the
maker's analyst asks the clean room a question and reads the chart, the table and the
promotion report; the retailer's privacy officer opens the record of sharing and finds the
question logged.  The charts are drawn by /static/linkage.js under the page's Content
Security Policy without a console error.

The live server holds one linkage world (``tests/e2e/linkage_pages/world.py``): a retailer
and a maker under an active, matched agreement, with orders before and during a promotion.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Screenshots
from tests.e2e.linkage_pages.world import PROMOTION, build_linkage_world
from tests.support.live import serving, staff_page
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings
from tsunagu.vault.keystore import close_keystores
from tsunagu.vault.service import Vault

pytestmark = pytest.mark.browser

LANGS = ("ja", "en")
TEXT = {
    "ja": {
        "nav": "企業間連携",
        "clean_room": "クリーンルーム",
        "promotion": "販促効果レポート",
        "record": "提供の記録",
        "dimension": "会員・非会員",
        "segment": "会員セグメント",
        "ask": "問い合わせる",
        "show": "レポートを表示する",
        "first": "販促の初日",
        "last": "販促の最終日",
        "spec": "会員セグメント別の人数",
        "propose": "提案する",
        "accept": "条件を承諾する",
    },
    "en": {
        "nav": "Collaborations",
        "clean_room": "Clean room",
        "promotion": "Promotion report",
        "record": "Record of sharing",
        "dimension": "Member or not",
        "segment": "Member segment",
        "ask": "Ask",
        "show": "Show the report",
        "first": "First day of the promotion",
        "last": "Last day of the promotion",
        "spec": "Persons by Member segment",
        "propose": "Propose",
        "accept": "Accept the terms",
    },
}


@dataclass(frozen=True)
class LinkageServer:
    url: str
    collab_name: str
    analyst: str
    analyst_name: str
    officer: str
    maker_admin: str
    maker_slug: str
    password: str


@pytest.fixture(scope="session")
def linkage_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LinkageServer]:
    home = tmp_path_factory.mktemp("linkage-live-home")
    # the page tests' world is small (groups of 3), as in tests/conftest.py's settings
    settings = Settings(
        home=home,
        secret_key="linkage-browser-test-secret",
        log_json=False,
        cleanroom_min_group_floor=1,
    )
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    with unit_of_work(make_session_factory(engine)) as db:
        world = build_linkage_world(db, settings, Vault.from_settings(settings))
        server = LinkageServer(
            url="",
            collab_name=world.collab.name,
            analyst=world.maker_analyst.email,
            analyst_name=world.maker_analyst.display_name,
            officer=world.retailer_admin.email,
            maker_admin=world.maker_admin.email,
            maker_slug=world.maker.slug,
            password=world.password,
        )
    engine.dispose()
    with serving(settings, "linkage-live-server") as url:
        yield LinkageServer(**{**server.__dict__, "url": url})
    close_keystores()


@dataclass
class SignedIn:
    page: Any
    errors: list[str]


@pytest.fixture
def signed_in(browser: Any, linkage_server: LinkageServer) -> Iterator[Any]:
    """``signed_in(lang, email)``: a page signed in as that staff user, collecting every
    console error and uncaught exception of the pages it visits."""
    contexts: list[Any] = []

    def make(lang: str, email: str) -> SignedIn:
        errors: list[str] = []

        def listen(page: Any) -> None:
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

        page = staff_page(
            browser,
            linkage_server.url,
            lang,
            email,
            linkage_server.password,
            contexts=contexts,
            before_sign_in=listen,
            viewport={"width": 1400, "height": 900},
        )
        return SignedIn(page, errors)

    yield make
    for context in contexts:
        context.close()


def open_collaboration(page: Any, server: LinkageServer, lang: str) -> None:
    page.get_by_role("link", name=TEXT[lang]["nav"], exact=True).click()
    page.get_by_role("link", name=server.collab_name).click()


@pytest.mark.parametrize("lang", LANGS)
class TestLinkageInBrowser:
    def test_the_analyst_asks_and_reads_the_chart_the_table_and_the_promotion_report(
        self, signed_in: Any, linkage_server: LinkageServer, lang: str, screenshots: Screenshots
    ) -> None:
        text = TEXT[lang]
        session = signed_in(lang, linkage_server.analyst)
        page = session.page
        open_collaboration(page, linkage_server, lang)
        page.get_by_role("link", name=text["clean_room"], exact=True).click()
        page.get_by_label(text["dimension"], exact=True).check()
        page.get_by_role("button", name=text["ask"], exact=True).click()
        chart = page.locator('[data-chart="answer-chart-data"]')
        expect(chart).to_have_attribute("data-rendered", "true")
        expect(chart.locator("canvas").first).to_be_visible()
        expect(page.locator("#answer-table tbody tr")).to_have_count(2)
        screenshots.take(page, f"answer-{lang}")

        page.get_by_role("link", name=text["promotion"], exact=True).click()
        page.get_by_label(text["first"]).fill(PROMOTION[0].isoformat())
        page.get_by_label(text["last"]).fill(PROMOTION[1].isoformat())
        page.get_by_role("button", name=text["show"], exact=True).click()
        expect(page.locator('tr[data-segment="loyal"] td.uplift')).to_have_text("+500")
        expect(page.locator('tr[data-segment="vip"] td.uplift')).to_have_text("—")
        for name in ("uplift-chart-data", "weekly-chart-data"):
            expect(page.locator(f'[data-chart="{name}"]')).to_have_attribute(
                "data-rendered", "true"
            )
        screenshots.take(page, f"promotion-{lang}")
        assert session.errors == []

    def test_the_privacy_officer_finds_the_question_in_the_record(
        self, signed_in: Any, linkage_server: LinkageServer, lang: str, screenshots: Screenshots
    ) -> None:
        text = TEXT[lang]
        analyst = signed_in(lang, linkage_server.analyst).page
        open_collaboration(analyst, linkage_server, lang)
        analyst.get_by_role("link", name=text["clean_room"], exact=True).click()
        analyst.get_by_label(text["segment"], exact=True).check()
        analyst.get_by_role("button", name=text["ask"], exact=True).click()
        expect(analyst.locator("#answer-table")).to_be_visible()

        session = signed_in(lang, linkage_server.officer)
        page = session.page
        open_collaboration(page, linkage_server, lang)
        page.get_by_role("link", name=text["record"], exact=True).click()
        latest = page.locator("#query-log tbody tr").first
        expect(latest).to_contain_text(text["spec"])
        expect(latest).to_contain_text(linkage_server.analyst_name)
        expect(page.locator("#provisions tbody tr").first).to_be_visible()
        expect(
            page.locator('#ledger-entries tr[data-kind="cleanroom.query"]').first
        ).to_be_visible()
        screenshots.take(page, f"record-{lang}")
        assert session.errors == []

    def test_one_admin_proposes_and_the_others_admin_accepts(
        self, signed_in: Any, linkage_server: LinkageServer, lang: str, screenshots: Screenshots
    ) -> None:
        text = TEXT[lang]
        name = f"browser proposal {lang}"
        proposer = signed_in(lang, linkage_server.officer)
        page = proposer.page
        page.goto(f"{linkage_server.url}/linkage/new")
        page.locator("#name").fill(name)
        page.locator("#partner").fill(linkage_server.maker_slug)
        page.locator('input[name="categories"]').first.check()
        page.locator('input[name="dimensions"]').first.check()
        page.locator('input[name="measures"]').first.check()
        page.locator("#expires_on").fill("2027-12-31")
        page.get_by_role("button", name=text["propose"], exact=True).click()
        expect(page.locator('#acceptance li[data-role="recipient"]')).to_have_attribute(
            "data-accepted", "false"
        )
        assert proposer.errors == []

        acceptor = signed_in(lang, linkage_server.maker_admin)
        page = acceptor.page
        page.get_by_role("link", name=TEXT[lang]["nav"], exact=True).click()
        page.get_by_role("link", name=name).click()
        page.get_by_role("button", name=text["accept"], exact=True).click()
        expect(page.locator('#acceptance li[data-accepted="false"]')).to_have_count(0)
        screenshots.take(page, f"accepted-{lang}")
        assert acceptor.errors == []
