"""The server publishes checkpoints in the background: an entry appended by any domain is
covered by a signed checkpoint without anyone asking for one."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tsunagu.core.database import unit_of_work
from tsunagu.core.settings import Settings
from tsunagu.ledger import service
from tsunagu.ledger.entry import Entry
from tsunagu.web.app import create_app

#: how long to wait for the background thread before calling it broken (not a timing claim)
PATIENCE = 30.0


@pytest.fixture
def server(settings: Settings) -> Iterator[FastAPI]:
    """An app as ``tsunagu serve`` builds it: its own SQLite database, lifespan running."""
    app = create_app(settings)
    try:
        with TestClient(app):
            yield app
    finally:
        app.state.engine.dispose()


def published_size(app: FastAPI) -> int | None:
    with unit_of_work(app.state.session_factory) as session:
        latest = service.latest_checkpoint(session)
        return latest.size if latest is not None else None


class TestBackgroundPublisher:
    def test_runs_in_a_server(self, server: FastAPI) -> None:
        assert server.state.ledger_publisher is not None
        assert server.state.ledger_publisher.running

    @pytest.mark.usefixtures("client")
    def test_is_off_when_the_app_is_given_sessions(self, app: FastAPI) -> None:
        assert app.state.ledger_publisher is None

    def test_covers_an_appended_entry(self, server: FastAPI) -> None:
        with unit_of_work(server.state.session_factory) as session:
            service.append(session, [Entry(kind="access.allowed", org="acme") for _ in range(3)])
        deadline = time.monotonic() + PATIENCE
        while published_size(server) != 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert published_size(server) == 3

    def test_stops_with_the_server(self, settings: Settings) -> None:
        app = create_app(settings)
        try:
            with TestClient(app):
                publisher = app.state.ledger_publisher
            assert not publisher.running
        finally:
            app.state.engine.dispose()
