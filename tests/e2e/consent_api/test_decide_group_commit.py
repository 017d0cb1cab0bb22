"""``POST /consent/decide`` in a server: decisions' entries go through the group appender.

The other API tests bring their own sessions (one rolled-back connection), so their app
appends inline; this one runs the app as a server does — its own engine on an SQLite file,
the lifespan starting the publisher and the group appender.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.factories import bearer, create_api_key, create_org
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings
from tsunagu.ledger import service as ledger
from tsunagu.vault.keystore import close_keystores
from tsunagu.web.app import create_app

NOTICE = "ご案内のメールをお送りします。"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], Settings]]:
    settings = Settings(home=tmp_path / "home", secret_key="group-commit-test-secret")
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    with unit_of_work(make_session_factory(engine)) as db:
        headers = bearer(create_api_key(db, create_org(db, slug="shop")))
    engine.dispose()
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert app.state.ledger_appender is not None
        assert app.state.ledger_appender.running
        yield client, headers, settings
    close_keystores()


def _person_with_consent(client: TestClient, headers: dict[str, str], ref: str) -> str:
    person = client.post(
        "/api/v1/persons",
        json={"ref": ref, "family_name": "山田", "given_name": "花子"},
        headers=headers,
    ).json()["id"]
    response = client.post(
        "/api/v1/consents",
        json={
            "person": person,
            "purpose": "marketing",
            "categories": ["contact"],
            "evidence": {"notice_text": NOTICE, "method": "web-form"},
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return str(person)


def _decide(client: TestClient, headers: dict[str, str], person: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/consent/decide",
        json={"person": person, "purpose": "marketing", "categories": ["contact.email"]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestDecideThroughTheGroupAppender:
    def test_the_answer_names_the_committed_entry(
        self, server: tuple[TestClient, dict[str, str], Settings]
    ) -> None:
        client, headers, settings = server
        person = _person_with_consent(client, headers, "C-1")
        body = _decide(client, headers, person)
        assert body["allow"] is True
        engine = make_engine(settings.resolved_database_url())
        with make_session_factory(engine)() as db:
            leaf = ledger.get_entries(db, body["ledger_index"], body["ledger_index"], 1)[0]
        engine.dispose()
        assert b'"kind":"access.allowed"' in leaf

    def test_concurrent_decisions_get_distinct_entries(
        self, server: tuple[TestClient, dict[str, str], Settings]
    ) -> None:
        client, headers, _ = server
        person = _person_with_consent(client, headers, "C-2")
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda _: _decide(client, headers, person), range(40)))
        indexes = [a["ledger_index"] for a in answers]
        assert len(set(indexes)) == 40
        assert all(a["allow"] for a in answers)

    def test_an_unknown_person_is_refused_before_anything_is_queued(
        self, server: tuple[TestClient, dict[str, str], Settings]
    ) -> None:
        client, headers, _ = server
        response = client.post(
            "/api/v1/consent/decide",
            json={
                "person": "01000000-0000-7000-8000-000000000000",
                "purpose": "marketing",
                "categories": ["contact.email"],
            },
            headers=headers,
        )
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
