"""A committed retailer × maker world with API keys of each role, and a collaboration made
through the API (see ``tests.integration.linkage.scenario`` for the persons)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.integration.linkage import scenario
from tests.integration.linkage.scenario import Scenario
from tests.support.factories import bearer, create_api_key, create_org
from tsunagu.vault.service import Vault

API = "/api/v1/linkage/collaborations"
CLEANROOM = "/api/v1/cleanroom/collaborations"


@dataclass
class World:
    sc: Scenario
    keys: dict[str, dict[str, str]]

    def terms(self) -> dict[str, Any]:
        t = scenario.terms()
        return {
            "purpose": t.purpose,
            "categories": list(t.categories),
            "rules": dict(t.rules),
            "forbidden_uses_ja": t.forbidden_uses_ja,
            "forbidden_uses_en": t.forbidden_uses_en,
            "expires_at": t.expires_at.isoformat(),
            "budget_epsilon": t.budget_epsilon,
        }

    def proposal(self) -> dict[str, Any]:
        return {
            "name": "購買 × 会員",
            "participants": [
                {"organization": self.sc.retailer.slug, "role": "provider"},
                {"organization": self.sc.maker.slug, "role": "recipient"},
            ],
            "terms": self.terms(),
        }


@pytest.fixture
def world(db: Session, vault: Vault) -> World:
    sc = scenario.build(db, vault)
    outsider = create_org(db)
    keys = {
        "retailer_admin": bearer(create_api_key(db, sc.retailer, role="admin")),
        "retailer_member": bearer(create_api_key(db, sc.retailer, role="member")),
        "maker_admin": bearer(create_api_key(db, sc.maker, role="admin")),
        "maker_member": bearer(create_api_key(db, sc.maker, role="member")),
        "maker_viewer": bearer(create_api_key(db, sc.maker, role="viewer")),
        "outsider": bearer(create_api_key(db, outsider, role="admin")),
    }
    db.commit()
    return World(sc=sc, keys=keys)


def propose(client: TestClient, world: World) -> str:
    response = client.post(API, json=world.proposal(), headers=world.keys["retailer_admin"])
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def activate(client: TestClient, world: World) -> str:
    cid = propose(client, world)
    response = client.post(
        f"{API}/{cid}/accept", json={"version": 1}, headers=world.keys["maker_admin"]
    )
    assert response.status_code == 200, response.text
    return cid


def upload_all(client: TestClient, world: World, cid: str) -> None:
    csv = {"Content-Type": "text/csv"}
    for kind, data, key, headers in (
        ("customers", world.sc.customers_csv(), "retailer_member", csv),
        ("orders", world.sc.orders_csv(), "retailer_member", csv),
        (
            "members",
            world.sc.members_jsonl(),
            "maker_member",
            {"Content-Type": "application/x-ndjson"},
        ),
    ):
        response = client.post(
            f"{API}/{cid}/datasets/{kind}", content=data, headers={**world.keys[key], **headers}
        )
        assert response.status_code == 200, response.text


def matched(client: TestClient, world: World) -> str:
    cid = activate(client, world)
    upload_all(client, world, cid)
    response = client.post(f"{API}/{cid}/match", headers=world.keys["retailer_admin"])
    assert response.status_code == 201, response.text
    return cid
