"""identity.dependencies without a database: the role gate of the API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from tsunagu.identity.api_key_auth import ApiKeyCache, OrganizationSnapshot, Principal
from tsunagu.identity.dependencies import require_role
from tsunagu.identity.errors import RoleTooLow
from tsunagu.identity.service import Actor

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh event loop in a thread of its own (the test process may
    already run a loop in this thread: Playwright's sync API does)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def key_actor(role: str) -> Actor:
    return Actor(kind="api_key", organization_id=uuid.uuid4(), role=role, api_key_id=uuid.uuid4())


class TestRequireRole:
    @pytest.mark.parametrize("role", ["admin", "owner"])
    def test_role_at_or_above_the_minimum_passes(self, role: str) -> None:
        actor = key_actor(role)
        assert run(require_role("admin")(actor)) is actor

    @pytest.mark.parametrize("role", ["viewer", "member"])
    def test_role_below_the_minimum_is_refused(self, role: str) -> None:
        with pytest.raises(RoleTooLow):
            run(require_role("admin")(key_actor(role)))

    def test_unknown_role_name_is_a_programming_error(self) -> None:
        with pytest.raises(ValueError, match="unknown role"):
            require_role("superuser")


def key_principal(role: str) -> Principal:
    actor = key_actor(role)
    assert actor.organization_id is not None
    organization = OrganizationSnapshot(
        id=actor.organization_id,
        slug="acme",
        name="Acme",
        kind="company",
        timezone="Asia/Tokyo",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return Principal(actor, organization)


class TestApiKeyCache:
    def test_cached_actor_is_returned_until_it_expires(self) -> None:
        cache = ApiKeyCache(ttl=5)
        principal = key_principal("member")
        cache.put("digest", principal, now=100.0)
        assert cache.get("digest", now=104.9) is principal
        assert cache.get("digest", now=105.0) is None

    def test_forgetting_a_key_drops_it_at_once(self) -> None:
        cache = ApiKeyCache(ttl=5)
        principal = key_principal("member")
        cache.put("digest", principal, now=100.0)
        assert principal.actor.api_key_id is not None
        cache.forget(principal.actor.api_key_id)
        assert cache.get("digest", now=100.0) is None

    def test_zero_ttl_turns_the_cache_off(self) -> None:
        cache = ApiKeyCache(ttl=0)
        cache.put("digest", key_principal("member"), now=100.0)
        assert cache.get("digest", now=100.0) is None
