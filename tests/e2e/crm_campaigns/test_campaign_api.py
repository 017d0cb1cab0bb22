"""The campaign API: create, members, reports, the consent-filtered audience."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.crm_campaigns.conftest import Tenant
from tests.integration.crm.campaign_helpers import day
from tsunagu.consent import service as consent_service
from tsunagu.ledger import service as ledger

API = "/api/v1/crm"
CAMPAIGN = {"name": "春の展示会", "channel": "exhibition", "starts_on": "2026-04-01", "cost": 60000}


def create(client: TestClient, tenant: Tenant, **fields: Any) -> str:
    response = client.post(f"{API}/campaigns", json={**CAMPAIGN, **fields}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    campaign_id: str = response.json()["id"]
    return campaign_id


class TestCampaignCrud:
    def test_a_created_campaign_is_listed(self, client: TestClient, home: Tenant) -> None:
        campaign_id = create(client, home)
        listed = client.get(f"{API}/campaigns", headers=home.viewer).json()
        assert [c["id"] for c in listed] == [campaign_id]

    def test_patch_changes_the_cost(self, client: TestClient, home: Tenant) -> None:
        campaign_id = create(client, home)
        response = client.patch(
            f"{API}/campaigns/{campaign_id}", json={"cost": 1}, headers=home.headers
        )
        assert response.json()["cost"] == 1

    def test_patch_with_null_end_clears_it(self, client: TestClient, home: Tenant) -> None:
        campaign_id = create(client, home, ends_on="2026-04-03")
        response = client.patch(
            f"{API}/campaigns/{campaign_id}", json={"ends_on": None}, headers=home.headers
        )
        assert response.json()["ends_on"] is None

    def test_a_deleted_campaign_is_gone(self, client: TestClient, home: Tenant) -> None:
        campaign_id = create(client, home)
        assert (
            client.delete(f"{API}/campaigns/{campaign_id}", headers=home.headers).status_code == 204
        )
        assert client.get(f"{API}/campaigns/{campaign_id}", headers=home.headers).status_code == 404

    def test_a_viewer_key_cannot_create(self, client: TestClient, home: Tenant) -> None:
        response = client.post(f"{API}/campaigns", json=CAMPAIGN, headers=home.viewer)
        assert response.status_code == 403

    def test_without_a_key_the_list_is_refused(self, client: TestClient) -> None:
        assert client.get(f"{API}/campaigns").status_code == 401


class TestMembers:
    def test_members_are_added_by_ref_and_moved_forward(
        self, client: TestClient, home: Tenant, db: Session
    ) -> None:
        home.world.entity(ref="ACME-1")
        db.commit()
        campaign_id = create(client, home)
        url = f"{API}/campaigns/{campaign_id}/members"
        added = client.post(url, json={"refs": ["ACME-1"]}, headers=home.headers)
        moved = client.patch(
            url, json={"refs": ["ACME-1"], "status": "registered"}, headers=home.headers
        )
        listed = client.get(url, headers=home.headers).json()
        assert added.json() == {"added": 1, "already": 0}
        assert moved.json() == {"updated": 1}
        assert [(m["ref"], m["status"]) for m in listed] == [("ACME-1", "registered")]

    def test_a_backward_status_is_a_problem(
        self, client: TestClient, home: Tenant, db: Session
    ) -> None:
        home.world.entity(ref="ACME-2")
        db.commit()
        campaign_id = create(client, home)
        url = f"{API}/campaigns/{campaign_id}/members"
        client.post(url, json={"refs": ["ACME-2"], "status": "attended"}, headers=home.headers)
        response = client.patch(
            url, json={"refs": ["ACME-2"], "status": "invited"}, headers=home.headers
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "invalid_member_status"


class TestReports:
    def test_report_counts_a_forward_move_and_its_cost(
        self, client: TestClient, home: Tenant, db: Session
    ) -> None:
        entity = home.world.entity()
        home.world.moves(entity, ("lead", 1), ("nurturing", 3))
        db.commit()
        campaign_id = create(client, home, cost=30000)
        client.post(
            f"{API}/campaigns/{campaign_id}/members",
            json={"entities": [str(entity.id)], "touched_at": day(2).isoformat()},
            headers=home.headers,
        )
        report = client.get(f"{API}/campaigns/{campaign_id}/report", headers=home.viewer).json()
        assert (report["members"], report["forward_moves"]) == (1, 1)
        assert report["cost_per_forward_move"] == 30000

    def test_channel_report_maps_the_move(
        self, client: TestClient, home: Tenant, db: Session
    ) -> None:
        entity = home.world.entity()
        home.world.moves(entity, ("lead", 1), ("promising", 3))
        db.commit()
        campaign_id = create(client, home, channel="webinar")
        client.post(
            f"{API}/campaigns/{campaign_id}/members",
            json={"entities": [str(entity.id)], "touched_at": day(2).isoformat()},
            headers=home.headers,
        )
        body = client.get(f"{API}/channels/report", headers=home.viewer).json()
        assert body["counts"] == {"webinar": {"promising": 1}}


class TestAudience:
    def test_audience_is_the_consenting_members_and_is_recorded(
        self, client: TestClient, home: Tenant, db: Session
    ) -> None:
        yes = home.world.entity(person=home.world.person(consent=True))
        no = home.world.entity(person=home.world.person(consent=False))
        db.commit()
        campaign_id = create(client, home)
        client.post(
            f"{API}/campaigns/{campaign_id}/members",
            json={"entities": [str(yes.id), str(no.id)]},
            headers=home.headers,
        )
        size = ledger.tree_size(db)
        body = client.get(f"{API}/campaigns/{campaign_id}/audience", headers=home.viewer).json()
        assert (body["members"], body["entities"]) == (2, [str(yes.id)])
        assert ledger.tree_size(db) == size + 2

    def test_a_withdrawal_empties_the_audience(
        self, client: TestClient, home: Tenant, db: Session
    ) -> None:
        person = home.world.person(consent=True)
        entity = home.world.entity(person=person)
        db.commit()
        campaign_id = create(client, home)
        client.post(
            f"{API}/campaigns/{campaign_id}/members",
            json={"entities": [str(entity.id)]},
            headers=home.headers,
        )
        (consent,) = consent_service.consents_of_person(db, person.id)
        consent_service.withdraw_consent(
            db, home.world.vault.pseudonym_key, consent, actor="person"
        )
        db.commit()
        body = client.get(f"{API}/campaigns/{campaign_id}/audience", headers=home.viewer).json()
        assert body["entities"] == []
