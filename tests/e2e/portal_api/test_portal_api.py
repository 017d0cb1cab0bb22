"""The person's JSON API (``/api/v1/me/…``) through HTTP: authenticated by the portal
session cookie, every POST checked against the session's CSRF token in ``X-CSRF-Token``,
each endpoint answering for the signed-in person (or a current ward) only."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.pages.conftest import sign_in_staff
from tests.e2e.portal.conftest import PortalWorld
from tests.e2e.portal_api.conftest import Me, signed_in
from tests.support.factories import DEFAULT_PASSWORD, create_staff
from tsunagu.consent import decision as pdp
from tsunagu.consent import service as consent_service
from tsunagu.core.clock import utcnow
from tsunagu.identity import service as identity
from tsunagu.identity.service import Actor
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault

PROBLEM = "application/problem+json"


def _read(db: Session, vault: Vault, world: PortalWorld) -> vault_service.RecordsRead:
    """The shop's read of the person's e-mail for marketing (the consent's scope)."""
    return vault_service.read_records(
        db,
        vault,
        pdp.Reader(world.shop.id, world.shop.slug),
        world.person.id,
        purpose="marketing",
        categories=["contact.email"],
        actor="api_key:test",
    )


def _record_count(db: Session, vault: Vault, person_id: uuid.UUID) -> int:
    db.expire_all()
    return vault_service.subject_view(db, vault, person_id).count


class TestAuthentication:
    def test_without_a_session_is_401_problem_json(self, client: TestClient) -> None:
        response = client.get("/api/v1/me/records", follow_redirects=False)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["code"] == "portal_session_required"

    def test_an_unknown_session_cookie_is_401(self, client: TestClient) -> None:
        client.cookies.set("tsunagu_session", "not-a-live-session")
        response = client.get("/api/v1/me/consents", follow_redirects=False)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith(PROBLEM)

    def test_a_post_without_a_session_is_401(self, client: TestClient) -> None:
        response = client.post("/api/v1/me/erase", json={"confirm": "ERASE"})
        assert response.status_code == 401

    def test_a_staff_session_is_refused(
        self, client: TestClient, portal_world: PortalWorld, db: Session
    ) -> None:
        staff = create_staff(db, portal_world.shop, email=f"staff-{portal_world.shop.slug}@ex.jp")
        db.commit()
        sign_in_staff(client, staff.email)
        response = client.get("/api/v1/me/records")
        assert response.status_code == 403
        assert response.headers["content-type"].startswith(PROBLEM)

    def test_session_names_the_person_and_hands_out_the_csrf_token(
        self, me: Me, portal_world: PortalWorld
    ) -> None:
        body = me.client.get("/api/v1/me/session").json()
        assert body["person"]["id"] == str(portal_world.person.id)
        assert body["csrf_token"] == me.csrf_token
        assert body["wards"] == []


class TestCsrf:
    def test_a_post_without_the_header_is_refused_and_writes_nothing(
        self, me: Me, portal_world: PortalWorld, db: Session, vault: Vault
    ) -> None:
        response = me.client.post(
            "/api/v1/me/records", json={"category": "contact.phone", "payload": {"tel": "1"}}
        )
        assert response.status_code == 403
        assert response.json()["code"] == "csrf_failed"
        assert _record_count(db, vault, portal_world.person.id) == 3

    def test_a_wrong_token_is_refused_and_erases_nothing(
        self, me: Me, portal_world: PortalWorld, vault: Vault
    ) -> None:
        response = me.client.post(
            "/api/v1/me/erase", json={"confirm": "ERASE"}, headers={"X-CSRF-Token": "forged"}
        )
        assert response.status_code == 403
        assert vault.keystore.is_destroyed(portal_world.person.id) is False

    def test_a_withdrawal_without_the_header_leaves_the_consent_in_force(
        self, me: Me, portal_world: PortalWorld, db: Session, vault: Vault
    ) -> None:
        response = me.client.post(f"/api/v1/me/consents/{portal_world.consent_id}/withdraw")
        assert response.status_code == 403
        assert _read(db, vault, portal_world).decision.allow is True


class TestRecords:
    def test_lists_every_record_grouped_by_organization_and_category(
        self, me: Me, portal_world: PortalWorld
    ) -> None:
        groups = me.client.get("/api/v1/me/records").json()
        keys = {(g["organization"], g["category"]) for g in groups}
        assert keys == {
            (portal_world.shop.slug, "contact.email"),
            (portal_world.shop.slug, "purchase.order"),
            (portal_world.clinic.slug, "health.blood_pressure"),
        }
        (email,) = [g for g in groups if g["category"] == "contact.email"]
        (record,) = email["records"]
        assert record["payload"] == {"email": portal_world.person_email}
        assert {"id", "version", "source", "source_kind", "collected_at"} <= set(record)

    def test_never_lists_another_persons_records(self, me: Me, portal_world: PortalWorld) -> None:
        text = me.client.get("/api/v1/me/records").text
        assert portal_world.other_email not in text

    def test_adds_a_record_about_oneself(self, me: Me) -> None:
        response = me.client.post(
            "/api/v1/me/records",
            json={"category": "contact.phone", "payload": {"tel": "090-1234-5678"}},
            headers=me.headers,
        )
        assert response.status_code == 201
        groups = me.client.get("/api/v1/me/records").json()
        (own,) = [g for g in groups if g["organization"] is None]
        assert own["category"] == "contact.phone"
        assert own["records"][0]["id"] == response.json()["id"]
        assert own["records"][0]["source_kind"] == "person"

    def test_an_unknown_category_is_422(self, me: Me) -> None:
        response = me.client.post(
            "/api/v1/me/records",
            json={"category": "no.such", "payload": {"x": 1}},
            headers=me.headers,
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith(PROBLEM)

    def test_after_erasure_adding_is_409(self, me: Me) -> None:
        me.client.post("/api/v1/me/erase", json={"confirm": "ERASE"}, headers=me.headers)
        response = me.client.post(
            "/api/v1/me/records",
            json={"category": "contact.phone", "payload": {"tel": "1"}},
            headers=me.headers,
        )
        assert response.status_code == 409


class TestConsents:
    def test_lists_consents_with_state_recipient_purpose_and_receipts(
        self, me: Me, portal_world: PortalWorld
    ) -> None:
        (consent,) = me.client.get("/api/v1/me/consents").json()
        assert consent["id"] == str(portal_world.consent_id)
        assert consent["state"] == "given"
        assert consent["recipient"] == portal_world.shop.slug
        assert consent["purpose"] == "marketing"
        assert consent["categories"] == ["contact.email", "purchase.order"]
        assert consent["expires_at"] is None
        assert [r["event"] for r in consent["receipts"]] == ["given"]

    def test_withdrawal_denies_the_organizations_next_read(
        self, me: Me, portal_world: PortalWorld, db: Session, vault: Vault
    ) -> None:
        response = me.client.post(
            f"/api/v1/me/consents/{portal_world.consent_id}/withdraw", headers=me.headers
        )
        assert response.status_code == 200
        assert response.json()["state"] == "withdrawn"
        db.expire_all()
        read = _read(db, vault, portal_world)
        assert (read.decision.allow, read.decision.reason) == (False, "withdrawn")
        assert read.records == []

    def test_withdrawing_another_persons_consent_is_404(
        self, me: Me, portal_world: PortalWorld, db: Session
    ) -> None:
        response = me.client.post(
            f"/api/v1/me/consents/{portal_world.other_consent_id}/withdraw", headers=me.headers
        )
        assert response.status_code == 404
        assert response.headers["content-type"].startswith(PROBLEM)
        db.expire_all()
        assert consent_service.get_consent(db, portal_world.other_consent_id).state == "given"

    def test_narrowing_gives_a_new_consent_that_supersedes_the_old(
        self, me: Me, portal_world: PortalWorld, db: Session
    ) -> None:
        response = me.client.post(
            f"/api/v1/me/consents/{portal_world.consent_id}/narrow",
            json={"categories": ["contact.email"]},
            headers=me.headers,
        )
        assert response.status_code == 201
        new = response.json()
        assert (new["categories"], new["method"], new["given_by"]) == (
            ["contact.email"],
            "api",
            "person",
        )
        assert (new["recipient"], new["purpose"]) == (portal_world.shop.slug, "marketing")
        db.expire_all()
        old = consent_service.get_consent(db, portal_world.consent_id)
        assert (old.state, str(old.superseded_by_id)) == ("superseded", new["id"])

    def test_narrowing_cannot_widen(self, me: Me, portal_world: PortalWorld) -> None:
        response = me.client.post(
            f"/api/v1/me/consents/{portal_world.consent_id}/narrow",
            json={"categories": ["contact.email", "health.blood_pressure"]},
            headers=me.headers,
        )
        assert response.status_code == 422
        assert response.json()["code"] == "not_narrower"

    def test_narrowing_another_persons_consent_is_404(
        self, me: Me, portal_world: PortalWorld
    ) -> None:
        response = me.client.post(
            f"/api/v1/me/consents/{portal_world.other_consent_id}/narrow",
            json={"categories": ["contact.email"]},
            headers=me.headers,
        )
        assert response.status_code == 404

    def test_a_withdrawn_consent_cannot_be_narrowed(
        self, me: Me, portal_world: PortalWorld
    ) -> None:
        url = f"/api/v1/me/consents/{portal_world.consent_id}"
        me.client.post(f"{url}/withdraw", headers=me.headers)
        response = me.client.post(
            f"{url}/narrow", json={"categories": ["contact.email"]}, headers=me.headers
        )
        assert response.status_code == 409


class TestConsentRequests:
    def _ask(self, db: Session, world: PortalWorld) -> uuid.UUID:
        staff = create_staff(db, world.shop, role="member")
        actor = Actor(kind="staff", organization_id=world.shop.id, role="member", user_id=staff.id)
        row = consent_service.request_consent(
            db,
            actor,
            person_id=world.person.id,
            purpose="research-development",
            categories=["purchase.order"],
            notice_text="商品開発のために購入履歴を分析します。",
        )
        db.commit()
        return row.id

    def test_lists_pending_requests(self, me: Me, portal_world: PortalWorld, db: Session) -> None:
        request_id = self._ask(db, portal_world)
        (row,) = me.client.get("/api/v1/me/consent-requests").json()
        assert row["id"] == str(request_id)
        assert (row["organization"], row["purpose"]) == (
            portal_world.shop.slug,
            "research-development",
        )
        assert row["categories"] == ["purchase.order"]

    def test_accepting_gives_the_consent(
        self, me: Me, portal_world: PortalWorld, db: Session
    ) -> None:
        request_id = self._ask(db, portal_world)
        response = me.client.post(
            f"/api/v1/me/consent-requests/{request_id}", json={"accept": True}, headers=me.headers
        )
        assert response.status_code == 200
        body = response.json()
        assert body["state"] == "accepted"
        assert body["consent"]["purpose"] == "research-development"
        assert me.client.get("/api/v1/me/consent-requests").json() == []

    def test_declining_gives_nothing(self, me: Me, portal_world: PortalWorld, db: Session) -> None:
        request_id = self._ask(db, portal_world)
        response = me.client.post(
            f"/api/v1/me/consent-requests/{request_id}", json={"accept": False}, headers=me.headers
        )
        assert (response.json()["state"], response.json()["consent"]) == ("declined", None)
        db.expire_all()
        assert len(consent_service.consents_of_person(db, portal_world.person.id)) == 1

    def test_another_persons_request_is_404(
        self, client: TestClient, portal_world: PortalWorld, db: Session
    ) -> None:
        request_id = self._ask(db, portal_world)
        other = signed_in(client, portal_world.other_email)
        response = other.client.post(
            f"/api/v1/me/consent-requests/{request_id}",
            json={"accept": True},
            headers=other.headers,
        )
        assert response.status_code == 404


class TestGuardian:
    @pytest.fixture
    def ward(self, db: Session, vault: Vault, portal_world: PortalWorld) -> uuid.UUID:
        today = utcnow().date()
        minor = identity.create_person(
            db,
            family_name="山田",
            given_name="さくら",
            email=f"sakura-{portal_world.shop.slug}@example.jp",
            password=DEFAULT_PASSWORD,
        )
        minor.birth_date = date(today.year - 12, 1, 1)
        db.flush()
        consent_service.add_guardian(db, guardian_id=portal_world.person.id, minor_id=minor.id)
        consent_service.give_consent(
            db,
            vault.pseudonym_key,
            person_id=minor.id,
            recipient=portal_world.shop,
            purpose="marketing",
            categories=["contact.email", "purchase.order"],
            evidence=consent_service.Evidence(notice_text="案内", method="paper"),
            actor="api_key:test",
            given_by="organization",
        )
        db.commit()
        return minor.id

    def test_session_lists_the_wards(self, me: Me, ward: uuid.UUID) -> None:
        wards = me.client.get("/api/v1/me/session").json()["wards"]
        assert [w["id"] for w in wards] == [str(ward)]

    def test_lists_the_wards_consents(self, me: Me, ward: uuid.UUID) -> None:
        (consent,) = me.client.get(f"/api/v1/me/consents?for={ward}").json()
        assert consent["person"] == str(ward)

    def test_narrows_the_wards_consent_as_guardian(self, me: Me, ward: uuid.UUID) -> None:
        (consent,) = me.client.get(f"/api/v1/me/consents?for={ward}").json()
        response = me.client.post(
            f"/api/v1/me/consents/{consent['id']}/narrow?for={ward}",
            json={"categories": ["contact.email"]},
            headers=me.headers,
        )
        assert response.status_code == 201
        assert response.json()["given_by"] == "guardian"

    def test_withdraws_the_wards_consent_as_guardian(
        self, me: Me, ward: uuid.UUID, db: Session
    ) -> None:
        (consent,) = me.client.get(f"/api/v1/me/consents?for={ward}").json()
        response = me.client.post(
            f"/api/v1/me/consents/{consent['id']}/withdraw?for={ward}", headers=me.headers
        )
        assert response.status_code == 200
        db.expire_all()
        (receipt,) = [
            r
            for r in consent_service.receipts_of(db, uuid.UUID(consent["id"]))
            if r.event == "withdrawn"
        ]
        assert receipt.actor == "guardian"

    def test_a_stranger_cannot_act_for_the_ward(
        self, client: TestClient, ward: uuid.UUID, portal_world: PortalWorld
    ) -> None:
        other = signed_in(client, portal_world.other_email)
        assert other.client.get(f"/api/v1/me/consents?for={ward}").status_code == 404

    def test_the_wards_consent_needs_the_for_parameter(self, me: Me, ward: uuid.UUID) -> None:
        (consent,) = me.client.get(f"/api/v1/me/consents?for={ward}").json()
        response = me.client.post(
            f"/api/v1/me/consents/{consent['id']}/withdraw", headers=me.headers
        )
        assert response.status_code == 404


class TestUsage:
    def test_lists_the_ledger_entries_about_the_person(
        self, me: Me, portal_world: PortalWorld, db: Session, vault: Vault
    ) -> None:
        _read(db, vault, portal_world)
        db.commit()
        entries = me.client.get("/api/v1/me/usage").json()
        kinds = [e["kind"] for e in entries]
        assert "access.allowed" in kinds
        assert all(isinstance(e["index"], int) for e in entries)

    def test_never_lists_another_persons_entries(
        self, client: TestClient, portal_world: PortalWorld, db: Session, vault: Vault
    ) -> None:
        _read(db, vault, portal_world)
        db.commit()
        other = signed_in(client, portal_world.other_email)
        kinds = [e["kind"] for e in other.client.get("/api/v1/me/usage").json()]
        assert "access.allowed" not in kinds


class TestExport:
    def test_is_a_zip_attachment_with_everything(self, me: Me) -> None:
        response = me.client.post("/api/v1/me/export", headers=me.headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/zip"
        assert response.headers["content-disposition"].startswith("attachment")
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            document = json.loads(archive.read("tsunagu-export.json"))
        assert len(document["records"]) == 3

    def test_without_the_csrf_header_is_refused(self, me: Me) -> None:
        assert me.client.post("/api/v1/me/export").status_code == 403


class TestErase:
    def test_without_the_confirmation_is_422_and_erases_nothing(
        self, me: Me, portal_world: PortalWorld, vault: Vault
    ) -> None:
        response = me.client.post("/api/v1/me/erase", json={}, headers=me.headers)
        assert response.status_code == 422
        assert response.json()["code"] == "confirmation_required"
        assert vault.keystore.is_destroyed(portal_world.person.id) is False

    def test_answers_the_erasure_summary(self, me: Me) -> None:
        response = me.client.post("/api/v1/me/erase", json={"confirm": "ERASE"}, headers=me.headers)
        assert response.status_code == 200
        body = response.json()
        assert (body["records"], body["consents_withdrawn"], body["key_destroyed"]) == (3, 1, True)
        assert isinstance(body["ledger_index"], int)

    def test_then_records_are_empty_and_the_key_is_destroyed(
        self, me: Me, portal_world: PortalWorld, vault: Vault
    ) -> None:
        me.client.post("/api/v1/me/erase", json={"confirm": "ERASE"}, headers=me.headers)
        assert me.client.get("/api/v1/me/records").json() == []
        assert vault.keystore.is_destroyed(portal_world.person.id) is True


class TestRequests:
    def test_filed_request_is_listed_with_its_due_date(
        self, me: Me, portal_world: PortalWorld, db: Session
    ) -> None:
        response = me.client.post(
            "/api/v1/me/requests",
            json={
                "organization": portal_world.clinic.slug,
                "kind": "disclosure",
                "detail": "血圧の記録を開示してください",
            },
            headers=me.headers,
        )
        assert response.status_code == 201
        (row,) = me.client.get("/api/v1/me/requests").json()
        assert (row["id"], row["organization"], row["kind"]) == (
            response.json()["id"],
            portal_world.clinic.slug,
            "disclosure",
        )
        assert row["due_at"] > row["created_at"]
        (queued,) = vault_service.request_queue(db, portal_world.clinic.id)
        assert queued.person_id == portal_world.person.id

    def test_an_organization_that_holds_nothing_is_404(
        self, me: Me, portal_world: PortalWorld, db: Session
    ) -> None:
        stranger = identity.create_organization(
            db, slug=f"x-{portal_world.shop.slug}", name="無関係社", kind="company"
        )
        db.commit()
        response = me.client.post(
            "/api/v1/me/requests",
            json={"organization": stranger.slug, "kind": "deletion"},
            headers=me.headers,
        )
        assert response.status_code == 404
        assert vault_service.request_queue(db, stranger.id) == []

    def test_an_unknown_kind_is_422(self, me: Me, portal_world: PortalWorld) -> None:
        response = me.client.post(
            "/api/v1/me/requests",
            json={"organization": portal_world.clinic.slug, "kind": "anything"},
            headers=me.headers,
        )
        assert response.status_code == 422
