"""The public inquiry form in a real browser (Chromium), in Japanese, as an outsider with
no account: fill in the form, tick the consent box, see the reference number, open the
follow-up link, read the status and send a reply — without a console error (the page
runs under the Content Security Policy, the honeypot hidden by a class)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.cases_inquiry.world import NOTICE_JA, build_inquiry_world
from tests.e2e.conftest import Screenshots
from tests.support.live import serving
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class InquiryServer:
    url: str
    form_path: str


@pytest.fixture(scope="module")
def inquiry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InquiryServer]:
    home = tmp_path_factory.mktemp("inquiry-live-home")
    settings = Settings(home=home, secret_key="inquiry-browser-test-secret", log_json=False)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    with unit_of_work(make_session_factory(engine)) as db:
        form_path = build_inquiry_world(db, slug="minato-support").form_url
    engine.dispose()
    with serving(settings, "inquiry-live-server") as url:
        yield InquiryServer(url, form_path)


class TestInquiryInBrowser:
    def test_an_outsider_sends_an_inquiry_and_follows_it(
        self, browser: Any, inquiry_server: InquiryServer, screenshots: Screenshots
    ) -> None:
        context = browser.new_context(locale="ja-JP", base_url=inquiry_server.url)
        context.set_default_timeout(15_000)
        errors: list[str] = []
        try:
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(inquiry_server.form_path)
            expect(page.get_by_role("heading", level=1)).to_contain_text("お問い合わせ")
            expect(page.locator("#inquiry-notice")).to_have_text(NOTICE_JA)
            expect(page.locator("#inquiry-website")).not_to_be_in_viewport()
            page.get_by_label("お名前").fill("山田 花子")
            page.get_by_label("メールアドレス").fill("hanako@example.jp")
            page.get_by_label("件名").fill("車庫証明の申請について")
            page.get_by_label("お問い合わせ内容").fill("申請書の **書き方** を教えてください。")
            page.get_by_label("上記の説明に同意します（任意）").check()
            screenshots.take(page, "form")
            page.get_by_role("button", name="送信する").click()

            reference = page.locator("#inquiry-reference")
            expect(reference).to_have_text(re.compile(r"^Q-[2-9A-Z]{8}$"))
            number = reference.inner_text()
            screenshots.take(page, "thanks")
            page.locator("#inquiry-follow-link").click()

            expect(page.locator("#inquiry-reference")).to_have_text(number)
            expect(page.locator("#inquiry-status")).to_have_text("未対応")
            expect(page.locator(".inquiry-message strong")).to_have_text("書き方")
            page.get_by_label("返信").fill("追加で質問があります。")
            page.get_by_role("button", name="返信を送信する").click()
            expect(page.locator("#inquiry-sent")).to_be_visible()
            expect(page.locator("#inquiry-thread")).to_contain_text("追加で質問があります。")
            screenshots.take(page, "follow")
            assert errors == []
        finally:
            context.close()
