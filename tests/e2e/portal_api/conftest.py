"""Fixtures of the person's JSON API: the personal portal's world (two organizations, a
person with records and a consent, a second person) and a client signed in as the person,
holding the session's CSRF token for the ``X-CSRF-Token`` header."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.e2e.pages.conftest import sign_in_person
from tests.e2e.portal.conftest import PortalWorld, portal_world

__all__ = ["Me", "me", "portal_world", "signed_in"]


@dataclass(frozen=True)
class Me:
    """A client signed in to the portal and the headers its POSTs need."""

    client: TestClient
    csrf_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf_token}


def signed_in(client: TestClient, email: str, lang: str = "ja") -> Me:
    client.cookies.set("lang", lang)
    sign_in_person(client, email)
    response = client.get("/api/v1/me/session")
    assert response.status_code == 200, response.text
    return Me(client, response.json()["csrf_token"])


@pytest.fixture
def me(client: TestClient, portal_world: PortalWorld) -> Me:
    return signed_in(client, portal_world.person_email)
