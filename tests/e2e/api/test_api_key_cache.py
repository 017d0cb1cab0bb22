"""The API-key cache on the request path: fast, yet a key revoked here is refused at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.support.factories import bearer, create_api_key, create_org
from tsunagu.core.settings import Settings
from tsunagu.web.app import create_app


@pytest.fixture
def cached_client(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session]
) -> Iterator[TestClient]:
    app: FastAPI = create_app(
        settings.model_copy(update={"api_key_cache_seconds": 60}),
        engine=engine,
        session_factory=session_factory,
        run_migrations=False,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


class TestApiKeyCache:
    def test_key_revoked_through_the_api_is_refused_at_once(
        self, cached_client: TestClient, db: Session
    ) -> None:
        org = create_org(db)
        admin = create_api_key(db, org, role="admin")
        doomed = create_api_key(db, org, role="viewer")
        db.commit()
        # the key works, so its actor is now cached
        assert cached_client.get("/api/v1/me", headers=bearer(doomed)).status_code == 200
        listed = cached_client.get("/api/v1/api-keys", headers=bearer(admin)).json()
        (doomed_id,) = [k["id"] for k in listed if k["role"] == "viewer"]
        revoked = cached_client.delete(f"/api/v1/api-keys/{doomed_id}", headers=bearer(admin))
        assert revoked.status_code == 200
        assert cached_client.get("/api/v1/me", headers=bearer(doomed)).status_code == 401

    def test_unknown_key_is_never_cached_as_valid(self, cached_client: TestClient) -> None:
        for _ in range(2):
            response = cached_client.get("/api/v1/me", headers=bearer("tsk_unknown"))
            assert response.status_code == 401
