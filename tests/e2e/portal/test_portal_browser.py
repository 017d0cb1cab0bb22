"""The personal portal's data pages in a real browser (Chromium), in Japanese and English:
see my data, withdraw a consent and see the organization's next read denied, download the
export, erase everything.  Each test signs in a fresh person of a small world served by
uvicorn on 127.0.0.1 (an SQLite file in a temporary home)."""

from __future__ import annotations

import itertools
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.conftest import Screenshots
from tests.e2e.portal.conftest import seed_person
from tests.support.factories import DEFAULT_PASSWORD
from tests.support.live import serving
from tsunagu.consent import decision as pdp
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings
from tsunagu.identity import service as identity
from tsunagu.identity.models import Organization, Person
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault

pytestmark = pytest.mark.browser

LOCALES = {"ja": "ja-JP", "en": "en-US"}
TEXT = {
    "ja": {
        "email": "メールアドレス",
        "password": "パスワード",
        "sign_in": "サインイン",
        "my_data": "私のデータ",
        "withdraw": "この同意を撤回する",
        "download": "ダウンロード（ZIP）",
        "confirm": "確認のため「削除」と入力してください",
        "word": "削除",
        "erase": "すべてのデータを削除する",
        "erased": "あなたのデータが消去されました",
    },
    "en": {
        "email": "E-mail address",
        "password": "Password",
        "sign_in": "Sign in",
        "my_data": "My data",
        "withdraw": "Withdraw this consent",
        "download": "Download (ZIP)",
        "confirm": "Type ERASE to confirm",
        "word": "ERASE",
        "erase": "Erase all my data",
        "erased": "Your data was erased",
    },
}
_numbers = itertools.count(1)


@dataclass(frozen=True)
class PortalServer:
    url: str
    settings: Settings
    factory: sessionmaker[Session]
    shop_id: Any
    clinic_id: Any


@dataclass(frozen=True)
class Someone:
    person: Person
    email: str
    shop: Organization


@pytest.fixture(scope="session")
def portal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalServer]:
    home = tmp_path_factory.mktemp("portal-live-home")
    settings = Settings(home=home, secret_key="portal-browser-test-secret", log_json=False)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as db:
        shop = identity.create_organization(
            db, slug="tsunagu-shop", name="つなぐ商店", kind="company"
        )
        clinic = identity.create_organization(
            db, slug="minato-clinic", name="みなと診療所", kind="hospital"
        )
        ids = (shop.id, clinic.id)
    try:
        with serving(settings, "portal-live-server") as url:
            yield PortalServer(url, settings, factory, *ids)
    finally:
        engine.dispose()


@pytest.fixture
def someone(portal_server: PortalServer) -> Someone:
    """A fresh person with records at both organizations and a consent to the shop."""
    number = next(_numbers)
    email = f"person-{number}@example.jp"
    with unit_of_work(portal_server.factory) as db:
        shop = db.get_one(Organization, portal_server.shop_id)
        clinic = db.get_one(Organization, portal_server.clinic_id)
        person, _ = seed_person(
            db,
            Vault.from_settings(portal_server.settings),
            shop,
            clinic,
            email=email,
            family="山田",
            given=f"花子{number}",
        )
    return Someone(person, email, shop)


@pytest.fixture
def open_page(browser: Any, portal_server: PortalServer) -> Iterator[Any]:
    contexts: list[Any] = []

    def make(lang: str) -> Any:
        context = browser.new_context(
            locale=LOCALES[lang],
            base_url=portal_server.url,
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _sign_in(page: Any, lang: str, email: str) -> None:
    text = TEXT[lang]
    page.goto("/portal/signin")
    page.get_by_label(text["email"], exact=True).fill(email)
    page.get_by_label(text["password"], exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name=text["sign_in"], exact=True).click()
    expect(page).to_have_url(re.compile(r"/portal$"))


def _shop_reads(server: PortalServer, who: Someone) -> bool:
    """Whether the shop's next read of the person's e-mail address is allowed."""
    with unit_of_work(server.factory) as db:
        read = vault_service.read_records(
            db,
            Vault.from_settings(server.settings),
            pdp.Reader(who.shop.id, who.shop.slug),
            who.person.id,
            purpose="marketing",
            categories=["contact.email"],
            actor="api_key:test",
        )
        return read.decision.allow


@pytest.mark.parametrize("lang", ["ja", "en"])
class TestPortalInTheBrowser:
    def test_person_sees_their_data(
        self, open_page: Any, someone: Someone, lang: str, screenshots: Screenshots
    ) -> None:
        page = open_page(lang)
        _sign_in(page, lang, someone.email)
        page.get_by_role("link", name=TEXT[lang]["my_data"], exact=True).first.click()
        expect(page.get_by_role("heading", name=TEXT[lang]["my_data"], level=1)).to_be_visible()
        expect(page.get_by_role("heading", name="みなと診療所")).to_be_visible()
        expect(page.get_by_text("緑茶 500ml")).to_be_visible()
        screenshots.take(page, f"data-{lang}")

    def test_withdrawal_denies_the_next_read(
        self,
        open_page: Any,
        someone: Someone,
        portal_server: PortalServer,
        lang: str,
        screenshots: Screenshots,
    ) -> None:
        assert _shop_reads(portal_server, someone) is True
        page = open_page(lang)
        _sign_in(page, lang, someone.email)
        page.goto("/portal/consents")
        screenshots.take(page, f"consents-{lang}")
        page.get_by_role("button", name=TEXT[lang]["withdraw"]).click()
        expect(page.locator("#consent-done")).to_be_visible()
        expect(page.locator("section.consent").first).to_have_attribute("data-state", "withdrawn")
        screenshots.take(page, f"withdrawn-{lang}")
        assert _shop_reads(portal_server, someone) is False

    def test_export_downloads_the_archive(
        self, open_page: Any, someone: Someone, lang: str
    ) -> None:
        page = open_page(lang)
        _sign_in(page, lang, someone.email)
        page.goto("/portal/export")
        with page.expect_download() as info:
            page.get_by_role("button", name=TEXT[lang]["download"]).click()
        download = info.value
        assert download.suggested_filename.endswith(".zip")
        with zipfile.ZipFile(download.path()) as archive:
            document = json.loads(archive.read("tsunagu-export.json"))
        assert document["person"]["id"] == str(someone.person.id)

    def test_erasure_leaves_nothing_to_see(
        self, open_page: Any, someone: Someone, lang: str, screenshots: Screenshots
    ) -> None:
        page = open_page(lang)
        _sign_in(page, lang, someone.email)
        page.goto("/portal/erase")
        page.get_by_label(TEXT[lang]["confirm"]).fill(TEXT[lang]["word"])
        page.get_by_role("button", name=TEXT[lang]["erase"]).click()
        expect(page.locator("#data-erased")).to_contain_text(TEXT[lang]["erased"])
        expect(page.get_by_text("緑茶 500ml")).to_have_count(0)
        screenshots.take(page, f"erased-{lang}")
