"""Fixtures of the browser tests: tsunagu served by uvicorn on 127.0.0.1 and Debian's
Chromium driven by Playwright (sync API).

The live server runs ``create_app(Settings(home=tmp))`` on an SQLite file in a background
thread; its world (an organization, an admin, a person) is written through the identity
services and committed before the first request.  Screenshots of every page a test visits
go to ``artifacts/screenshots/<test>-<step>.png`` (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.live import serving
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings
from tsunagu.identity import service

PASSWORD = "browser-test-password-2026"


@dataclass(frozen=True)
class LiveServer:
    url: str
    staff_email: str
    person_email: str
    password: str = PASSWORD


def _seed(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    with unit_of_work(make_session_factory(engine)) as db:
        org = service.create_organization(
            db, slug="minato-city", name="港みらい市", kind="municipality"
        )
        service.create_staff_user(
            db,
            organization=org,
            email="suzuki@minato-city.example.jp",
            password=PASSWORD,
            role="admin",
            display_name="鈴木 一郎",
        )
        person = service.create_person(
            db,
            family_name="高橋",
            given_name="美咲",
            family_name_kana="タカハシ",
            given_name_kana="ミサキ",
            email="misaki@example.jp",
            password=PASSWORD,
        )
        person.postal_code = "231-0001"
        person.address = "神奈川県横浜市中区新港1-1-1"
    engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("live-home")
    settings = Settings(home=home, secret_key="browser-test-secret-key", log_json=False)
    _seed(settings)
    with serving(settings) as url:
        yield LiveServer(
            url=url,
            staff_email="suzuki@minato-city.example.jp",
            person_email="misaki@example.jp",
        )


def new_page(browser: Any, live_server: LiveServer, locale: str) -> Any:
    """A page in a fresh browser context (own cookies) speaking ``locale``."""
    context = browser.new_context(
        locale=locale, base_url=live_server.url, viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(15_000)
    return context.new_page()


@pytest.fixture
def open_page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """``open_page(locale)`` gives a page in a fresh context; contexts close after the test."""
    contexts: list[Any] = []

    def make(locale: str) -> Any:
        page = new_page(browser, live_server, locale)
        contexts.append(page.context)
        return page

    yield make
    for context in contexts:
        context.close()
