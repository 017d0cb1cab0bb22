"""identity.dependencies without a database: the role gate of the API."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tsunagu.identity.dependencies import require_role
from tsunagu.identity.errors import RoleTooLow
from tsunagu.identity.service import Actor


def key_actor(role: str) -> Actor:
    return Actor(kind="api_key", organization_id=uuid.uuid4(), role=role, api_key_id=uuid.uuid4())


class TestRequireRole:
    @pytest.mark.parametrize("role", ["admin", "owner"])
    def test_role_at_or_above_the_minimum_passes(self, role: str) -> None:
        actor = key_actor(role)
        assert asyncio.run(require_role("admin")(actor)) is actor

    @pytest.mark.parametrize("role", ["viewer", "member"])
    def test_role_below_the_minimum_is_refused(self, role: str) -> None:
        with pytest.raises(RoleTooLow):
            asyncio.run(require_role("admin")(key_actor(role)))

    def test_unknown_role_name_is_a_programming_error(self) -> None:
        with pytest.raises(ValueError, match="unknown role"):
            require_role("superuser")
