"""The live server of the ledger pages' browser tests: the demo world (small) served by
uvicorn on 127.0.0.1, with the demo's usage history in its ledger.

``tests/e2e/browser/test_ledger_pages.py`` wraps these in fixtures, so that the tests run
beside the sign-in tests' session-wide Chromium (Playwright's sync API starts once per
process; a second ``browser`` fixture in this folder would collide with it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.live import serving
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings
from tsunagu.demo import DEMO_PASSWORD, PORTAL_PERSONS, build_world


@dataclass(frozen=True)
class LedgerServer:
    url: str
    settings: Settings
    #: two staff users (demo staff speak Japanese; the English test switches its own)
    staff_emails: tuple[str, str]
    person_emails: tuple[str, ...]
    password: str = DEMO_PASSWORD


def serve_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerServer]:
    """Build the demo world in a fresh home and serve it until the generator is closed."""
    home = tmp_path_factory.mktemp("ledger-live-home")
    settings = Settings(home=home, secret_key="ledger-browser-test-secret", log_json=False)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    with unit_of_work(make_session_factory(engine)) as db:
        summary = build_world(db, person_count=400, settings=settings)
    engine.dispose()
    with serving(settings, "ledger-live-server") as url:
        yield LedgerServer(
            url=url,
            settings=settings,
            staff_emails=(summary.staff[0].email, summary.staff[1].email),
            person_emails=tuple(p.email for p in PORTAL_PERSONS),
        )


def page_opener(browser: Any, ledger_server: LedgerServer) -> Iterator[Any]:
    """Yields ``make(locale)``: a page in a fresh browser context; contexts close after."""
    contexts: list[Any] = []

    def make(locale: str) -> Any:
        context = browser.new_context(
            locale=locale, base_url=ledger_server.url, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
