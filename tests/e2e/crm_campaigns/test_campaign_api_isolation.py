"""Another tenant's campaign or entity answers 404 on every endpoint; bad input is 4xx."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.crm_campaigns.conftest import Tenant
from tests.e2e.crm_campaigns.test_campaign_api import API, create

ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("PATCH", "", {"cost": 1}),
    ("DELETE", "", None),
    ("GET", "/members", None),
    ("POST", "/members", {"refs": ["X"]}),
    ("PATCH", "/members", {"refs": ["X"], "status": "registered"}),
    ("GET", "/report", None),
    ("GET", "/audience", None),
]


class TestTenantIsolation:
    @pytest.mark.parametrize(("method", "suffix", "body"), ENDPOINTS)
    def test_another_tenants_campaign_is_not_found(
        self,
        client: TestClient,
        home: Tenant,
        other: Tenant,
        method: str,
        suffix: str,
        body: dict[str, Any] | None,
    ) -> None:
        theirs = create(client, other)
        response = client.request(
            method, f"{API}/campaigns/{theirs}{suffix}", json=body, headers=home.headers
        )
        assert response.status_code == 404
        assert response.json()["code"] == "campaign_not_found"

    def test_another_tenants_entity_cannot_be_added(
        self, client: TestClient, home: Tenant, other: Tenant, db: Session
    ) -> None:
        theirs = other.world.entity()
        db.commit()
        campaign_id = create(client, home)
        response = client.post(
            f"{API}/campaigns/{campaign_id}/members",
            json={"entities": [str(theirs.id)]},
            headers=home.headers,
        )
        assert response.status_code == 404

    def test_another_tenants_moves_stay_out_of_the_channel_report(
        self, client: TestClient, home: Tenant, other: Tenant, db: Session
    ) -> None:
        entity = other.world.entity()
        other.world.moves(entity, ("lead", 1))
        db.commit()
        campaign_id = create(client, other)
        client.post(
            f"{API}/campaigns/{campaign_id}/members",
            json={"entities": [str(entity.id)], "touched_at": "2020-01-01T00:00:00+09:00"},
            headers=other.headers,
        )
        assert client.get(f"{API}/channels/report", headers=home.headers).json()["counts"] == {}


class TestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            {"name": "x", "channel": "radio", "starts_on": "2026-04-01"},
            {"name": "x", "channel": "mail", "starts_on": "2026-04-01", "cost": -5},
            {"name": "", "channel": "mail", "starts_on": "2026-04-01"},
            {"name": "x", "channel": "mail", "starts_on": "April"},
            {"name": "x", "channel": "mail", "starts_on": "2026-04-01", "colour": "red"},
            {"name": "x", "channel": "mail", "starts_on": "2026-04-02", "ends_on": "2026-04-01"},
            {"name": "x", "channel": "mail", "starts_on": "2026-04-01", "purpose": "nope"},
        ],
    )
    def test_a_bad_campaign_is_refused(
        self, client: TestClient, home: Tenant, body: dict[str, Any]
    ) -> None:
        response = client.post(f"{API}/campaigns", json=body, headers=home.headers)
        assert response.status_code == 422

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"entities": ["not-a-uuid"]},
            {"refs": ["A"], "touched_at": "2026-04-01T10:00:00"},
            {"refs": ["A"], "status": "maybe"},
        ],
    )
    def test_bad_members_are_refused(
        self, client: TestClient, home: Tenant, body: dict[str, Any]
    ) -> None:
        campaign_id = create(client, home)
        response = client.post(
            f"{API}/campaigns/{campaign_id}/members", json=body, headers=home.headers
        )
        assert response.status_code == 422

    def test_an_unknown_ref_is_not_found(self, client: TestClient, home: Tenant) -> None:
        campaign_id = create(client, home)
        response = client.post(
            f"{API}/campaigns/{campaign_id}/members", json={"refs": ["nope"]}, headers=home.headers
        )
        assert response.status_code == 404

    @pytest.mark.parametrize("window", ["-1", "99999", "x"])
    def test_a_bad_window_is_refused(self, client: TestClient, home: Tenant, window: str) -> None:
        response = client.get(f"{API}/channels/report?window_days={window}", headers=home.headers)
        assert response.status_code == 422

    def test_a_malformed_campaign_id_is_refused(self, client: TestClient, home: Tenant) -> None:
        response = client.get(f"{API}/campaigns/{uuid.uuid4().hex[:8]}", headers=home.headers)
        assert response.status_code == 422
