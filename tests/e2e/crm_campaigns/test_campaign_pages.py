"""The campaign pages (TestClient): results, the audience count, forms, isolation."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.crm_campaigns.world import CampaignWorld, build_campaign_world
from tests.e2e.pages.conftest import csrf_of, sign_in_staff
from tests.support.factories import create_org, create_staff
from tsunagu.vault.service import Vault

JA = {"Accept-Language": "ja"}
EN = {"Accept-Language": "en"}


@pytest.fixture
def cw(db: Session, vault: Vault) -> CampaignWorld:
    world = build_campaign_world(db, vault)
    db.commit()
    return world


@pytest.fixture
def admin(client: TestClient, cw: CampaignWorld) -> TestClient:
    sign_in_staff(client, cw.admin.email)
    return client


def _cells(html: str, row_marker: str) -> str:
    start = html.index(row_marker)
    return html[start : html.index("</tr>", start)]


class TestCampaignList:
    def test_results_show_forward_moves_and_cost_per_move(
        self, admin: TestClient, cw: CampaignWorld
    ) -> None:
        html = admin.get("/crm/campaigns", headers=EN).text
        row = _cells(html, f'data-campaign="{cw.seminar.id}"')
        assert '<td class="num forward-moves">1</td>' in row
        assert '<td class="num cost-per-move">80,000</td>' in row

    @pytest.mark.parametrize(
        ("headers", "word"), [(JA, "キャンペーンの成果"), (EN, "Campaign results")]
    )
    def test_page_speaks_the_language(
        self, admin: TestClient, headers: dict[str, str], word: str
    ) -> None:
        assert word in admin.get("/crm/campaigns", headers=headers).text

    def test_create_form_leads_to_the_new_campaign(self, admin: TestClient) -> None:
        token = csrf_of(admin.get("/crm/campaigns").text)
        response = admin.post(
            "/crm/campaigns",
            data={
                "csrf_token": token,
                "name": "秋のウェビナー",
                "channel": "webinar",
                "starts_on": "2026-10-01",
                "cost": "20000",
                "purpose": "marketing",
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert "秋のウェビナー" in admin.get(response.headers["location"]).text

    def test_a_bad_form_is_shown_again_with_422(self, admin: TestClient) -> None:
        token = csrf_of(admin.get("/crm/campaigns").text)
        response = admin.post(
            "/crm/campaigns",
            data={
                "csrf_token": token,
                "name": "x",
                "channel": "mail",
                "starts_on": "2026-10-02",
                "ends_on": "2026-10-01",
            },
        )
        assert response.status_code == 422
        assert 'role="alert"' in response.text

    def test_a_form_without_csrf_is_refused(self, admin: TestClient) -> None:
        response = admin.post(
            "/crm/campaigns",
            data={"name": "x", "channel": "mail", "starts_on": "2026-10-01"},
        )
        assert response.status_code == 403

    def test_a_viewer_cannot_create(self, client: TestClient, cw: CampaignWorld) -> None:
        sign_in_staff(client, cw.viewer.email)
        token = csrf_of(client.get("/crm/campaigns").text)
        response = client.post(
            "/crm/campaigns",
            data={"csrf_token": token, "name": "x", "channel": "mail", "starts_on": "2026-10-01"},
        )
        assert response.status_code == 403

    def test_signed_out_visitors_are_sent_to_sign_in(self, client: TestClient) -> None:
        response = client.get("/crm/campaigns", follow_redirects=False)
        assert response.status_code in (302, 303)
        assert response.headers["location"].startswith("/signin")


class TestCampaignDetail:
    def test_audience_count_leaves_out_the_non_consenting(
        self, admin: TestClient, cw: CampaignWorld
    ) -> None:
        html = admin.get(f"/crm/campaigns/{cw.seminar.id}", headers=EN).text
        assert "1 of 2 may be contacted for Marketing." in html

    def test_audience_count_in_japanese(self, admin: TestClient, cw: CampaignWorld) -> None:
        html = admin.get(f"/crm/campaigns/{cw.seminar.id}", headers=JA).text
        assert "2件中1件に「マーケティング」の目的で連絡できます。" in html

    def test_status_form_moves_a_member_forward(self, admin: TestClient, cw: CampaignWorld) -> None:
        url = f"/crm/campaigns/{cw.seminar.id}"
        token = csrf_of(admin.get(url).text)
        response = admin.post(
            f"{url}/members/status",
            data={"csrf_token": token, "entity_id": str(cw.silent.id), "status": "registered"},
            follow_redirects=False,
        )
        assert response.status_code == 303
        row = _cells(admin.get(url).text, f'data-entity="{cw.silent.id}"')
        assert 'data-status="registered"' in row

    def test_a_backward_status_is_refused(self, admin: TestClient, cw: CampaignWorld) -> None:
        url = f"/crm/campaigns/{cw.seminar.id}"
        token = csrf_of(admin.get(url).text)
        admin.post(
            f"{url}/members/status",
            data={"csrf_token": token, "entity_id": str(cw.silent.id), "status": "attended"},
        )
        response = admin.post(
            f"{url}/members/status",
            data={"csrf_token": token, "entity_id": str(cw.silent.id), "status": "invited"},
        )
        assert response.status_code == 422

    def test_members_are_added_by_ref(self, admin: TestClient, cw: CampaignWorld) -> None:
        url = f"/crm/campaigns/{cw.seminar.id}"
        token = csrf_of(admin.get(url).text)
        response = admin.post(
            f"{url}/members",
            data={"csrf_token": token, "refs": f"INITECH-{cw.world.org.slug}"},
        )
        assert response.status_code == 200
        assert len(re.findall(r"<tr data-entity=", response.text)) == 3


class TestChannelPage:
    def test_table_and_chart_data_hold_the_move(self, admin: TestClient) -> None:
        html = admin.get("/crm/channels", headers=EN).text
        row = _cells(html, 'data-channel="seminar"')
        assert '<td class="num" data-stage="promising">1</td>' in row
        assert 'id="channel-map-data"' in html
        assert "/static/vendor/echarts-6.1.0.min.js" in html

    def test_a_bad_window_is_refused(self, admin: TestClient) -> None:
        assert admin.get("/crm/channels?window_days=-3").status_code == 422


class TestPageIsolation:
    @pytest.fixture
    def theirs(self, db: Session, vault: Vault) -> CampaignWorld:
        world = build_campaign_world(db, vault)
        db.commit()
        return world

    def test_another_tenants_campaign_is_not_found(
        self, admin: TestClient, theirs: CampaignWorld
    ) -> None:
        assert admin.get(f"/crm/campaigns/{theirs.seminar.id}").status_code == 404

    def test_another_tenants_campaign_is_not_listed(
        self, admin: TestClient, theirs: CampaignWorld
    ) -> None:
        assert str(theirs.seminar.id) not in admin.get("/crm/campaigns").text

    def test_another_tenants_member_cannot_be_changed(
        self, admin: TestClient, theirs: CampaignWorld
    ) -> None:
        token = csrf_of(admin.get("/crm/campaigns").text)
        response = admin.post(
            f"/crm/campaigns/{theirs.seminar.id}/members/status",
            data={"csrf_token": token, "entity_id": str(theirs.silent.id), "status": "registered"},
        )
        assert response.status_code == 404

    def test_another_tenants_entities_cannot_be_added(
        self, admin: TestClient, cw: CampaignWorld, theirs: CampaignWorld
    ) -> None:
        url = f"/crm/campaigns/{cw.seminar.id}"
        token = csrf_of(admin.get(url).text)
        response = admin.post(
            f"{url}/members", data={"csrf_token": token, "refs": theirs.silent.ref}
        )
        assert response.status_code == 404

    def test_another_tenants_moves_are_not_on_the_map(
        self, client: TestClient, theirs: CampaignWorld, db: Session
    ) -> None:
        empty = create_staff(db, create_org(db))
        db.commit()
        sign_in_staff(client, empty.email)
        row = _cells(client.get("/crm/channels").text, 'data-channel="seminar"')
        assert theirs.seminar.channel == "seminar"
        assert '<td class="num" data-stage="promising">0</td>' in row
