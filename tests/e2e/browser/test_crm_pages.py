"""The pipeline pages in a real browser (Chromium), in Japanese and in English: the board,
moving an entity through the form, and the metrics pages drawing their ECharts charts
(served locally; drawn by /static/crm-charts.js under the page's Content Security Policy)
without a console error.

The live server holds one CRM world per language (``tests/e2e/crm_pages/world.py``), each
with its own organization and member, so the two languages never touch each other's data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Screenshots
from tests.e2e.crm_pages.world import build_crm_world
from tests.support.live import serving, staff_page
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings

pytestmark = pytest.mark.browser

LANGS = ("ja", "en")
TEXT = {
    "ja": {
        "pipeline": "パイプライン",
        "board": "パイプラインボード",
        "new_stage": "移動先のステージ",
        "reason": "理由",
        "record": "移動を記録する",
        "recorded": "移動を記録しました。",
        "opportunity": "商談",
        "lost": "失注",
        "reason_needed": "失注には理由が必要です",
    },
    "en": {
        "pipeline": "Pipeline",
        "board": "Pipeline board",
        "new_stage": "New stage",
        "reason": "Reason",
        "record": "Record the move",
        "recorded": "The move was recorded.",
        "opportunity": "Opportunity",
        "lost": "Lost",
        "reason_needed": "A move to lost needs a reason",
    },
}
#: each metrics page and the charts it must draw
CHART_PAGES = {
    "/crm/metrics": ("chart-balance", "chart-flow", "chart-sankey"),
    "/crm/funnel": ("chart-funnel", "chart-conversion", "chart-time", "chart-ageing"),
    "/crm/win-rates": ("chart-win-rate", "chart-segment"),
    "/crm/customer-success": ("chart-health",),
}


@dataclass(frozen=True)
class CrmServer:
    url: str
    member_emails: dict[str, str]
    qualified_ids: dict[str, str]
    opportunity_ids: dict[str, str]
    password: str


@pytest.fixture(scope="session")
def crm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrmServer]:
    home = tmp_path_factory.mktemp("crm-live-home")
    settings = Settings(home=home, secret_key="crm-browser-test-secret", log_json=False)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    emails: dict[str, str] = {}
    qualified: dict[str, str] = {}
    opportunity: dict[str, str] = {}
    password = ""
    with unit_of_work(make_session_factory(engine)) as db:
        for lang in LANGS:
            world = build_crm_world(db, member_locale=lang)
            emails[lang] = world.member.email
            qualified[lang] = str(world.entity("D-004").id)
            opportunity[lang] = str(world.entity("D-008").id)
            password = world.password
    engine.dispose()
    with serving(settings, "crm-live-server") as url:
        yield CrmServer(url, emails, qualified, opportunity, password)


def _console(errors: list[str], message: Any) -> None:
    """Keep every console error (a missing favicon, a CSP refusal, a script error …)."""
    if message.type == "error":
        errors.append(message.text)


@dataclass
class SignedIn:
    page: Any
    errors: list[str]


@pytest.fixture
def signed_in(browser: Any, crm_server: CrmServer) -> Iterator[Any]:
    """``signed_in(lang)``: a page signed in as that language's member, collecting every
    console error and uncaught exception of the pages it visits."""
    contexts: list[Any] = []

    def make(lang: str) -> SignedIn:
        errors: list[str] = []

        def listen(page: Any) -> None:
            page.on("console", lambda m: _console(errors, m))
            page.on("pageerror", lambda e: errors.append(str(e)))

        page = staff_page(
            browser,
            crm_server.url,
            lang,
            crm_server.member_emails[lang],
            crm_server.password,
            contexts=contexts,
            before_sign_in=listen,
            viewport={"width": 1400, "height": 900},
        )
        return SignedIn(page, errors)

    yield make
    for context in contexts:
        context.close()


@pytest.mark.parametrize("lang", LANGS)
class TestPipelineInBrowser:
    def test_the_board_shows_a_column_per_stage(
        self, signed_in: Any, lang: str, screenshots: Screenshots
    ) -> None:
        session = signed_in(lang)
        page = session.page
        page.get_by_role("link", name=TEXT[lang]["pipeline"], exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(TEXT[lang]["board"])
        expect(page.locator("#board-main .crm-column")).to_have_count(10)
        expect(page.locator("#board-side .crm-column")).to_have_count(4)
        expect(page.locator("#stage-dead_end [data-count]")).to_have_text("1")
        screenshots.take(page, f"board-{lang}")
        assert session.errors == []

    def test_moves_an_entity_through_the_form(
        self, signed_in: Any, crm_server: CrmServer, lang: str, screenshots: Screenshots
    ) -> None:
        text = TEXT[lang]
        session = signed_in(lang)
        page = session.page
        page.goto(f"/crm/entities/{crm_server.qualified_ids[lang]}")
        page.get_by_label(text["new_stage"]).select_option("opportunity")
        page.get_by_label(text["reason"]).fill("初回商談を実施 / first meeting held")
        page.get_by_role("button", name=text["record"]).click()
        expect(page.get_by_role("status")).to_contain_text(text["recorded"])
        expect(page.locator("#current-stage")).to_contain_text(text["opportunity"])
        expect(page.locator("#history li").first).to_contain_text("first meeting held")
        screenshots.take(page, f"moved-{lang}")
        assert session.errors == []

    def test_a_move_to_lost_without_reason_is_explained(
        self, signed_in: Any, crm_server: CrmServer, lang: str, screenshots: Screenshots
    ) -> None:
        text = TEXT[lang]
        page = signed_in(lang).page
        page.goto(f"/crm/entities/{crm_server.opportunity_ids[lang]}")
        page.get_by_label(text["new_stage"]).select_option("lost")
        page.get_by_role("button", name=text["record"]).click()
        expect(page.get_by_role("alert")).to_contain_text(text["reason_needed"])
        expect(page.locator("#current-stage")).to_contain_text(text["opportunity"])
        expect(page.locator("#history li")).to_have_count(2)
        screenshots.take(page, f"lost-needs-reason-{lang}")

    @pytest.mark.parametrize("path", list(CHART_PAGES))
    def test_the_metrics_pages_draw_their_charts(
        self, signed_in: Any, lang: str, path: str, screenshots: Screenshots
    ) -> None:
        session = signed_in(lang)
        page = session.page
        page.goto(path)
        for chart in CHART_PAGES[path]:
            container = page.locator(f"#{chart}")
            expect(container).to_have_attribute("data-rendered", "true")
            expect(container.locator("canvas").first).to_be_visible()
        screenshots.take(page, f"{path.strip('/').replace('/', '-')}-{lang}")
        assert session.errors == []
