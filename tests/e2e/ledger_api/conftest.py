"""Fixtures of the ledger API tests: two organizations with API keys of each role, a way
to fill the ledger, and readers that check what the API serves against the log's key."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.support.factories import bearer, create_api_key, create_org
from tsunagu.core.settings import Settings
from tsunagu.identity.models import Organization
from tsunagu.ledger import service
from tsunagu.ledger.entry import Entry
from tsunagu.ledger.note import ALG_COSIGNATURE_V1, Checkpoint, Signer, Verifier, open_checkpoint
from tsunagu.web.app import create_app

PROBLEM_JSON = "application/problem+json"
LEDGER = "/api/v1/ledger"


@dataclass(frozen=True)
class Org:
    org: Organization
    admin_key: str
    member_key: str
    viewer_key: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.admin_key)


def make_org(db: Session, slug: str) -> Org:
    org = create_org(db, slug=slug)
    keys = {role: create_api_key(db, org, role=role) for role in ("admin", "member", "viewer")}
    db.commit()
    return Org(org, keys["admin"], keys["member"], keys["viewer"])


@pytest.fixture
def acme(db: Session) -> Org:
    return make_org(db, "acme")


@pytest.fixture
def globex(db: Session) -> Org:
    return make_org(db, "globex")


def fill(db: Session, count: int, *, org: str = "acme") -> list[service.Appended]:
    """Append ``count`` entries, as another domain would, and commit them."""
    appended = service.append(
        db,
        [
            Entry(kind="access.allowed", org=org, actor=f"api_key:{i}", purpose="support")
            for i in range(count)
        ],
    )
    db.commit()
    return appended


def witness_signer(name: str = "witness.example/w1", seed: int = 9) -> Signer:
    return Signer.from_seed(name, bytes([seed]) * 32, alg=ALG_COSIGNATURE_V1)


def log_verifier(client: TestClient) -> Verifier:
    response = client.get(f"{LEDGER}/key")
    assert response.status_code == 200
    return Verifier.from_vkey(response.text)


def signed_checkpoint(client: TestClient) -> tuple[Checkpoint, str]:
    """The checkpoint the API serves, verified under the key it publishes, and its note."""
    response = client.get(f"{LEDGER}/checkpoint")
    assert response.status_code == 200
    checkpoint, _ = open_checkpoint(response.text, log_verifier(client))
    return checkpoint, response.text


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    if code is not None:
        assert body["code"] == code
    return body


@pytest.fixture
def make_client(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session]
) -> Iterator[Any]:
    """Clients of apps built with other settings (``make_client(ledger_quorum=2)``)."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        changed = settings.model_copy(update=overrides)
        app: FastAPI = create_app(
            changed, engine=engine, session_factory=session_factory, run_migrations=False
        )
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
