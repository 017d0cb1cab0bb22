"""The case pages in a real browser (Chromium), in Japanese and in English: a member
triages a case that came in through the inquiry form — assigns it to themselves, starts
it (In Progress), comments, escalates a copy to engineering, goes back by the link the
escalation left and closes the original — without a console error (a CSP refusal of an
inline style or script would be one).

The live server holds one cases world per language (``tests/e2e/cases_pages/world.py``),
each with its own organization, so the two languages never touch each other's data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.cases_pages.world import build_cases_world
from tests.e2e.conftest import Screenshots
from tests.support.live import serving, staff_page
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings

pytestmark = pytest.mark.browser

LANGS = ("ja", "en")
TEXT = {
    "ja": {
        "in_progress": "処理中",
        "closed": "完了",
        "save": "変更を保存",
        "updated": "課題を更新しました。",
        "add_comment": "コメントを追加",
        "escalate": "エスカレーションする",
        "escalated": "課題をエスカレーションしました",
    },
    "en": {
        "in_progress": "In Progress",
        "closed": "Closed",
        "save": "Save the changes",
        "updated": "The case was updated.",
        "add_comment": "Add the comment",
        "escalate": "Escalate the case",
        "escalated": "The case was escalated",
    },
}


@dataclass(frozen=True)
class CasesServer:
    url: str
    emails: dict[str, str]
    names: dict[str, str]
    password: str


@pytest.fixture(scope="session")
def cases_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CasesServer]:
    home = tmp_path_factory.mktemp("cases-live-home")
    settings = Settings(home=home, secret_key="cases-browser-test-secret", log_json=False)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    emails: dict[str, str] = {}
    names: dict[str, str] = {}
    password = ""
    with unit_of_work(make_session_factory(engine)) as db:
        for lang in LANGS:
            world = build_cases_world(db, locale=lang)
            emails[lang] = world.member.email
            names[lang] = world.member.display_name
            password = world.password
    engine.dispose()
    with serving(settings, "cases-live-server") as url:
        yield CasesServer(url, emails, names, password)


@pytest.mark.parametrize("lang", LANGS)
def test_a_member_triages_escalates_and_closes_an_inquiry(
    browser: Any, cases_server: CasesServer, lang: str, screenshots: Screenshots
) -> None:
    text = TEXT[lang]
    errors: list[str] = []
    contexts: list[Any] = []

    def listen(page: Any) -> None:
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

    try:
        page = staff_page(
            browser,
            cases_server.url,
            lang,
            cases_server.emails[lang],
            cases_server.password,
            contexts=contexts,
            before_sign_in=listen,
        )
        page.goto("/cases/view/SUP-4")
        expect(page.locator("#inquirer-name")).to_have_text("問合 花子")

        form = page.locator("#edit-form")
        form.locator("#assignee").select_option(label=cases_server.names[lang])
        form.locator("#status").select_option(label=text["in_progress"])
        page.get_by_role("button", name=text["save"]).click()
        expect(page.get_by_role("status")).to_have_text(text["updated"])
        expect(page.locator("#case-status")).to_have_text(text["in_progress"])
        expect(page.locator("#case-assignee")).to_have_text(cases_server.names[lang])

        page.locator("#comment-body").fill("再設定の手順を確認しています")
        page.get_by_role("button", name=text["add_comment"]).click()
        expect(page.locator("#timeline li").first).to_contain_text("再設定の手順を確認しています")
        screenshots.take(page, f"triaged-{lang}")

        page.locator("#escalate-target").select_option("ENG")
        page.locator("#escalate-comment").fill("ログイン処理の調査をお願いします")
        page.get_by_role("button", name=text["escalate"]).click()
        expect(page).to_have_url(f"{cases_server.url}/cases/view/ENG-1?notice=escalated")
        expect(page.get_by_role("status")).to_contain_text(text["escalated"])
        expect(page.locator("#timeline")).to_contain_text("ログイン処理の調査をお願いします")
        screenshots.take(page, f"escalated-{lang}")

        page.locator("#links").get_by_role("link", name="SUP-4").click()
        page.locator("#edit-form #status").select_option(label=text["closed"])
        page.get_by_role("button", name=text["save"]).click()
        expect(page.locator("#case-status")).to_have_text(text["closed"])
        expect(page.locator("#links")).to_contain_text("ENG-1")
        screenshots.take(page, f"closed-{lang}")
        assert errors == []
    finally:
        for context in contexts:
            context.close()
