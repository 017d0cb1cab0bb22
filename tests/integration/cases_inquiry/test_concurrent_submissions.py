"""Requests carrying the same rendering of the form at the same moment, each in its own
transaction on its own connection, open one case and all answer one reference.

They run on a database of their own (an SQLite file, or a PostgreSQL database created for
the test), because the transactions must really commit, which the shared rolled-back test
database cannot allow.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from tests.e2e.cases_inquiry.world import NOTICE_JA, build_inquiry_world
from tsunagu.cases import inquiry
from tsunagu.cases.models import Case, Inquiry, Project
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings
from tsunagu.vault.service import Vault

THREADS = 4


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'race.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    name = f"inquiry_race_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(postgres_url).set(database=name).render_as_string(False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def race(engine: Engine, settings: Settings, vault: Vault) -> tuple[int, list[str], list[str]]:
    """Send one rendering from ``THREADS`` threads at once: (cases, stored references,
    references answered)."""
    migrate(engine)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as db:
        project_id = build_inquiry_world(db).project.id
    form = inquiry.check_form(
        {
            "name": "山田 花子",
            "email": "hanako@example.jp",
            "subject": "同時送信",
            "message": "二度押しました。",
            "idempotency_key": "one-rendering",
        },
        consent=True,
        locale="ja",
    )
    start = threading.Barrier(THREADS)
    answered: list[str] = []

    def send() -> None:
        start.wait()
        with unit_of_work(factory) as db:
            project = db.get(Project, project_id)
            assert project is not None
            done = inquiry.submit_inquiry(
                db, vault, project, form, notice=(NOTICE_JA, "ja"), settings=settings
            )
            answered.append(done.inquiry.reference)

    threads = [threading.Thread(target=send) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with unit_of_work(factory) as db:
        cases = int(db.scalar(select(func.count()).select_from(Case)) or 0)
        stored = list(db.scalars(select(Inquiry.reference)))
    return cases, stored, answered


class TestConcurrentSubmissions:
    def test_on_sqlite_the_same_key_sent_at_once_opens_one_case(
        self, sqlite_engine: Engine, settings: Settings, vault: Vault
    ) -> None:
        cases, stored, answered = race(sqlite_engine, settings, vault)
        assert cases == 1
        assert answered == stored * THREADS

    def test_on_postgresql_the_same_key_sent_at_once_opens_one_case(
        self, postgres_engine: Engine, settings: Settings, vault: Vault
    ) -> None:
        cases, stored, answered = race(postgres_engine, settings, vault)
        assert cases == 1
        assert answered == stored * THREADS
