"""Fixtures of the ledger pages' tests.

- ``ledger_world``: an organization with staff, two persons with portal accounts, and a
  ledger holding entries about each of them (single-subject entries and one bulk entry whose
  set holds the first person), appended with the app's own pseudonym key — for the
  TestClient page tests;
- ``ledger_server``: the demo world (small) served by uvicorn on 127.0.0.1, with the demo's
  usage history in its ledger — for the browser tests, which reuse the Chromium and
  screenshot fixtures of ``tests/e2e/browser``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from sqlalchemy.orm import Session

from tests.e2e.browser.conftest import (  # the fixtures are shared with the sign-in tests
    _free_port,
    browser,
    screenshots,
)
from tests.support.factories import DEFAULT_PASSWORD, create_org, create_staff
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings
from tsunagu.demo import DEMO_PASSWORD, PORTAL_PERSONS, build_world
from tsunagu.identity import service as identity
from tsunagu.identity.models import Organization, Person, StaffUser
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import Entry, pseudonym, single_subject
from tsunagu.web.app import create_app

__all__ = ["browser", "screenshots"]

BULK_OTHERS = 40


@dataclass(frozen=True)
class LedgerWorld:
    org: Organization
    other_org: Organization
    admin: StaffUser
    viewer: StaffUser
    person: Person
    other_person: Person
    person_email: str
    other_email: str
    password: str = DEFAULT_PASSWORD


def _person(db: Session, family: str, given: str, email: str) -> Person:
    return identity.create_person(
        db, family_name=family, given_name=given, email=email, password=DEFAULT_PASSWORD
    )


@pytest.fixture
def ledger_world(db: Session, settings: Settings) -> LedgerWorld:
    org = create_org(db, name="つなぐ商店", kind="company")
    other_org = create_org(db, name="べつの保険株式会社", kind="company")
    admin = create_staff(db, org, role="admin")
    viewer = create_staff(db, org, role="viewer")
    person = _person(db, "山田", "太郎", f"taro-{org.slug}@example.jp")
    other = _person(db, "鈴木", "次郎", f"jiro-{org.slug}@example.jp")
    key = settings.resolved_ledger_pseudonym_key()
    crowd = [pseudonym(key, uuid.uuid4()) for _ in range(BULK_OTHERS)]
    ledger.append(
        db,
        [
            Entry(
                kind="consent.given",
                org=org.slug,
                actor="person",
                purpose="marketing.personalised_offers",
                categories=("contact.email", "purchase.order"),
                subject=single_subject(key, person.id),
            ),
            Entry(
                kind="access.allowed",
                org=org.slug,
                actor=f"staff:{admin.id}",
                purpose="marketing.personalised_offers",
                categories=("purchase.order",),
                subject=single_subject(key, person.id),
            ),
            Entry(
                kind="access.denied",
                org=other_org.slug,
                actor="api_key:1",
                purpose="marketing.direct_mail",
                categories=("health.checkup",),
                subject=single_subject(key, other.id),
            ),
            Entry(
                kind="cleanroom.query",
                org=org.slug,
                actor=f"staff:{admin.id}",
                purpose="analytics.product_improvement",
                categories=("purchase.order",),
                members=(pseudonym(key, person.id), *crowd),
            ),
        ],
    )
    db.commit()
    return LedgerWorld(
        org,
        other_org,
        admin,
        viewer,
        person,
        other,
        person_email=f"taro-{org.slug}@example.jp",
        other_email=f"jiro-{org.slug}@example.jp",
    )


# --- the live server of the browser tests ---------------------------------------------------


@dataclass(frozen=True)
class LedgerServer:
    url: str
    settings: Settings
    #: two staff users (demo staff speak Japanese; the English test switches its own)
    staff_emails: tuple[str, str]
    person_emails: tuple[str, ...]
    password: str = DEMO_PASSWORD


@pytest.fixture(scope="session")
def ledger_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerServer]:
    home = tmp_path_factory.mktemp("ledger-live-home")
    settings = Settings(home=home, secret_key="ledger-browser-test-secret", log_json=False)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    with unit_of_work(make_session_factory(engine)) as db:
        summary = build_world(db, person_count=400, settings=settings)
    engine.dispose()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws="none",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, name="ledger-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    try:
        yield LedgerServer(
            url=f"http://127.0.0.1:{port}",
            settings=settings,
            staff_emails=(summary.staff[0].email, summary.staff[1].email),
            person_emails=tuple(p.email for p in PORTAL_PERSONS),
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def open_ledger_page(browser: Any, ledger_server: LedgerServer) -> Iterator[Any]:
    """``open_ledger_page(locale)``: a page in a fresh browser context of the live server."""
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
