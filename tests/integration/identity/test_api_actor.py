"""API-key authentication on the request path (``identity.api_key_auth`` and the
``api_actor`` dependency): read-only checks, and a ``last_used_at`` refresh that neither
fails nor blocks other requests when several race for it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.support.factories import create_api_key, create_org
from tsunagu.core.clock import utcnow
from tsunagu.core.crypto import token_digest
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.identity import service
from tsunagu.identity.api_key_auth import check_api_key, touch_api_key
from tsunagu.identity.dependencies import authenticate_bearer
from tsunagu.identity.errors import InvalidCredentials
from tsunagu.identity.models import ApiKey
from tsunagu.identity.service import Actor


def key_row(db: Session, plain: str) -> ApiKey:
    row = db.scalar(select(ApiKey).where(ApiKey.key_hash == token_digest(plain)))
    assert row is not None
    return row


class TestCheckApiKey:
    def test_valid_key_gives_its_actor(self, db: Session) -> None:
        org = create_org(db)
        plain = create_api_key(db, org, role="viewer")
        check = check_api_key(db, plain)
        assert (check.actor.organization_id, check.actor.role) == (org.id, "viewer")

    def test_revoked_key_is_rejected(self, db: Session) -> None:
        org = create_org(db)
        plain = create_api_key(db, org)
        key_row(db, plain).revoked_at = utcnow()
        db.flush()
        with pytest.raises(InvalidCredentials):
            check_api_key(db, plain)

    def test_key_without_the_prefix_is_rejected(self, db: Session) -> None:
        with pytest.raises(InvalidCredentials):
            check_api_key(db, "not-a-tsunagu-key")

    def test_check_does_not_write(self, db: Session) -> None:
        org = create_org(db)
        plain = create_api_key(db, org)
        assert check_api_key(db, plain).touch_due
        db.expire_all()
        assert key_row(db, plain).last_used_at is None


class TestTouchApiKey:
    def test_first_use_is_recorded(self, db: Session) -> None:
        org = create_org(db)
        plain = create_api_key(db, org)
        key_id = key_row(db, plain).id
        assert touch_api_key(db, key_id)
        db.expire_all()
        assert key_row(db, plain).last_used_at is not None

    def test_recent_use_is_not_rewritten(self, db: Session) -> None:
        org = create_org(db)
        plain = create_api_key(db, org)
        key_id = key_row(db, plain).id
        first = utcnow()
        touch_api_key(db, key_id, now=first)
        assert not touch_api_key(db, key_id, now=first + timedelta(seconds=5))
        assert not check_api_key(db, plain, now=first + timedelta(seconds=5)).touch_due

    def test_stale_use_is_rewritten(self, db: Session) -> None:
        org = create_org(db)
        plain = create_api_key(db, org)
        key_id = key_row(db, plain).id
        first = utcnow()
        touch_api_key(db, key_id, now=first)
        assert touch_api_key(db, key_id, now=first + service.LAST_USED_RESOLUTION)


@pytest.fixture
def sqlite_factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions on an SQLite file of their own: races need independent connections."""
    engine: Engine = make_engine(f"sqlite:///{tmp_path / 'race.db'}")
    migrate(engine)
    yield make_session_factory(engine)
    engine.dispose()


def bearer_credentials(plain: str) -> HTTPAuthorizationCredentials:
    return HTTPAuthorizationCredentials(scheme="Bearer", credentials=plain)


class TestApiActorOnSqlite:
    def test_concurrent_first_uses_of_a_key_are_all_authenticated(
        self, sqlite_factory: sessionmaker[Session]
    ) -> None:
        with unit_of_work(sqlite_factory) as db:
            org = create_org(db, slug="acme")
            plain = create_api_key(db, org, role="member")

        def one_request() -> Actor:
            return authenticate_bearer(sqlite_factory, sqlite_factory, plain).actor

        with ThreadPoolExecutor(max_workers=8) as pool:
            actors = list(pool.map(lambda _: one_request(), range(8)))
        assert {(a.organization_id, a.role) for a in actors} == {(org.id, "member")}
        with unit_of_work(sqlite_factory) as db:
            assert key_row(db, plain).last_used_at is not None

    def test_request_can_write_after_its_key_use_was_recorded(
        self, sqlite_factory: sessionmaker[Session]
    ) -> None:
        with unit_of_work(sqlite_factory) as db:
            org = create_org(db, slug="acme")
            plain = create_api_key(db, org, role="admin")
        actor = authenticate_bearer(sqlite_factory, sqlite_factory, plain).actor
        with unit_of_work(sqlite_factory) as request_db:
            service.create_api_key(
                request_db,
                organization=service.get_organization(request_db, actor.org_id),
                name="n",
            )
        with unit_of_work(sqlite_factory) as db:
            assert len(service.list_api_keys(db, actor)) == 2
            assert key_row(db, plain).last_used_at is not None
