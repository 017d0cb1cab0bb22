"""The personal portal's data pages through HTTP (TestClient): my data, consents (withdraw,
narrow, re-consent requests, receipts, guardians), export, erasure and requests — each for
the signed-in person only, every POST CSRF-checked."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.pages.conftest import csrf_of, sign_in_person
from tests.e2e.portal.conftest import PortalWorld
from tests.support.factories import DEFAULT_PASSWORD, create_staff
from tsunagu.consent import decision as pdp
from tsunagu.consent import service as consent_service
from tsunagu.core.clock import utcnow
from tsunagu.identity import service as identity
from tsunagu.identity.service import Actor
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault


def _signed_in(client: TestClient, world: PortalWorld, lang: str = "ja") -> str:
    client.cookies.set("lang", lang)
    sign_in_person(client, world.person_email)
    return csrf_of(client.get("/portal/data").text)


def _read(db: Session, vault: Vault, world: PortalWorld) -> vault_service.RecordsRead:
    return vault_service.read_records(
        db,
        vault,
        pdp.Reader(world.shop.id, world.shop.slug),
        world.person.id,
        purpose="marketing",
        categories=["contact.email"],
        actor="api_key:test",
    )


class TestMyData:
    def test_sign_in_is_required(self, client: TestClient) -> None:
        response = client.get("/portal/data", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/portal/signin"

    def test_shows_records_grouped_by_organization(
        self, client: TestClient, portal_world: PortalWorld
    ) -> None:
        _signed_in(client, portal_world)
        html = client.get("/portal/data").text
        assert "つなぐ商店" in html
        assert "みなと診療所" in html
        assert "緑茶 500ml" in html
        assert "要配慮" in html

    def test_never_shows_another_persons_records(
        self, client: TestClient, portal_world: PortalWorld
    ) -> None:
        _signed_in(client, portal_world)
        html = client.get("/portal/data").text
        assert portal_world.other_email not in html
        assert portal_world.person_email in html

    def test_english_page_uses_english_labels(
        self, client: TestClient, portal_world: PortalWorld
    ) -> None:
        _signed_in(client, portal_world, "en")
        html = client.get("/portal/data").text
        assert "My data" in html
        assert "Sensitive (要配慮)" in html

    def test_links_the_portal_stylesheet(
        self, client: TestClient, portal_world: PortalWorld
    ) -> None:
        _signed_in(client, portal_world)
        html = client.get("/portal/data").text
        assert '<link rel="stylesheet" href="/static/portal-data.css">' in html
        assert client.get("/static/portal-data.css").status_code == 200


class TestWithdrawConsent:
    def test_next_read_is_denied(
        self, client: TestClient, portal_world: PortalWorld, db: Session, vault: Vault
    ) -> None:
        token = _signed_in(client, portal_world)
        assert _read(db, vault, portal_world).decision.allow is True
        response = client.post(
            f"/portal/consents/{portal_world.consent_id}/withdraw",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert _read(db, vault, portal_world).decision.allow is False

    def test_without_csrf_token_is_refused(
        self, client: TestClient, portal_world: PortalWorld, db: Session, vault: Vault
    ) -> None:
        _signed_in(client, portal_world)
        response = client.post(f"/portal/consents/{portal_world.consent_id}/withdraw", data={})
        assert response.status_code == 403
        assert _read(db, vault, portal_world).decision.allow is True

    def test_another_persons_consent_is_not_found(
        self, client: TestClient, portal_world: PortalWorld
    ) -> None:
        token = _signed_in(client, portal_world)
        response = client.post(
            f"/portal/consents/{portal_world.other_consent_id}/withdraw",
            data={"csrf_token": token},
        )
        assert response.status_code == 404

    def test_withdrawn_consent_cannot_be_withdrawn_again(
        self, client: TestClient, portal_world: PortalWorld
    ) -> None:
        token = _signed_in(client, portal_world)
        url = f"/portal/consents/{portal_world.consent_id}/withdraw"
        client.post(url, data={"csrf_token": token})
        response = client.post(url, data={"csrf_token": token})
        assert response.status_code == 409
        assert 'id="consent-error"' in response.text


class TestNarrowConsent:
    def test_new_consent_covers_only_the_chosen_categories(
        self, client: TestClient, portal_world: PortalWorld, db: Session, vault: Vault
    ) -> None:
        token = _signed_in(client, portal_world)
        response = client.post(
            f"/portal/consents/{portal_world.consent_id}/narrow",
            data={"csrf_token": token, "categories": ["purchase.order"]},
            follow_redirects=False,
        )
        assert response.status_code == 303
        db.expire_all()
        states = {
            c.id: c.state for c in consent_service.consents_of_person(db, portal_world.person.id)
        }
        assert states[portal_world.consent_id] == "superseded"
        assert _read(db, vault, portal_world).decision.allow is False

    def test_no_category_chosen_is_explained_and_changes_nothing(
        self, client: TestClient, portal_world: PortalWorld, db: Session
    ) -> None:
        token = _signed_in(client, portal_world)
        response = client.post(
            f"/portal/consents/{portal_world.consent_id}/narrow", data={"csrf_token": token}
        )
        assert response.status_code == 422
        assert 'id="consent-error"' in response.text
        db.expire_all()
        consent = consent_service.get_consent(db, portal_world.consent_id)
        assert consent.state == "given"

    def test_another_persons_consent_is_not_found(
        self, client: TestClient, portal_world: PortalWorld
    ) -> None:
        token = _signed_in(client, portal_world)
        response = client.post(
            f"/portal/consents/{portal_world.other_consent_id}/narrow",
            data={"csrf_token": token, "categories": ["contact.email"]},
        )
        assert response.status_code == 404


class TestConsentsPage:
    def test_lists_the_persons_consents(
        self, client: TestClient, portal_world: PortalWorld
    ) -> None:
        _signed_in(client, portal_world)
        html = client.get("/portal/consents").text
        assert f'data-consent="{portal_world.consent_id}"' in html
        assert f'data-consent="{portal_world.other_consent_id}"' not in html

    def test_expired_consent_shows_as_expired(
        self, client: TestClient, portal_world: PortalWorld, db: Session, vault: Vault
    ) -> None:
        issued = consent_service.give_consent(
            db,
            vault.pseudonym_key,
            person_id=portal_world.person.id,
            recipient=portal_world.clinic,
            purpose="service-provision",
            categories=["health.blood_pressure"],
            evidence=consent_service.Evidence(notice_text="診療のため", method="paper"),
            actor="api_key:test",
            given_by="organization",
            expires_at=utcnow() + timedelta(days=1),
        )
        # the day has passed (moved back in the row rather than waiting for the clock)
        issued.consent.given_at = utcnow() - timedelta(days=2)
        issued.consent.expires_at = utcnow() - timedelta(seconds=1)
        db.commit()
        _signed_in(client, portal_world)
        html = client.get("/portal/consents").text
        assert f'data-consent="{issued.consent.id}" data-state="expired"' in html
        db.refresh(issued.consent)
        assert issued.consent.state == "expired"

    def test_receipt_is_iso_27560_json(
        self, client: TestClient, portal_world: PortalWorld, db: Session
    ) -> None:
        _signed_in(client, portal_world)
        (row,) = consent_service.receipts_of(db, portal_world.consent_id)
        response = client.get(
            f"/portal/consents/{portal_world.consent_id}/receipts/{row.id}?download=true"
        )
        assert response.status_code == 200
        assert response.json() == json.loads(row.body)
        assert response.headers["content-disposition"].startswith("attachment")

    def test_receipt_is_available_as_kantara(
        self, client: TestClient, portal_world: PortalWorld, db: Session
    ) -> None:
        _signed_in(client, portal_world)
        (row,) = consent_service.receipts_of(db, portal_world.consent_id)
        response = client.get(
            f"/portal/consents/{portal_world.consent_id}/receipts/{row.id}?format=kantara"
        )
        assert response.status_code == 200
        assert response.json()["version"].startswith("KI-CR-v1.1")

    def test_another_persons_receipt_is_not_found(
        self, client: TestClient, portal_world: PortalWorld, db: Session
    ) -> None:
        _signed_in(client, portal_world)
        (row,) = consent_service.receipts_of(db, portal_world.other_consent_id)
        response = client.get(f"/portal/consents/{portal_world.other_consent_id}/receipts/{row.id}")
        assert response.status_code == 404


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

    def test_accepting_gives_the_consent(
        self, client: TestClient, portal_world: PortalWorld, db: Session
    ) -> None:
        request_id = self._ask(db, portal_world)
        token = _signed_in(client, portal_world)
        assert "商品開発のために" in client.get("/portal/consents").text
        response = client.post(
            f"/portal/consent-requests/{request_id}",
            data={"csrf_token": token, "decision": "accept"},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert consent_service.pending_requests(db, portal_world.person.id) == []
        assert len(consent_service.consents_of_person(db, portal_world.person.id)) == 2

    def test_declining_gives_nothing(
        self, client: TestClient, portal_world: PortalWorld, db: Session
    ) -> None:
        request_id = self._ask(db, portal_world)
        token = _signed_in(client, portal_world)
        client.post(
            f"/portal/consent-requests/{request_id}",
            data={"csrf_token": token, "decision": "decline"},
        )
        assert consent_service.pending_requests(db, portal_world.person.id) == []
        assert len(consent_service.consents_of_person(db, portal_world.person.id)) == 1


class TestGuardian:
    def _ward(self, db: Session, world: PortalWorld) -> uuid.UUID:
        today = utcnow().date()
        minor = identity.create_person(
            db,
            family_name="山田",
            given_name="さくら",
            email=f"sakura-{world.shop.slug}@example.jp",
            password=DEFAULT_PASSWORD,
        )
        minor.birth_date = date(today.year - 12, 1, 1)
        db.flush()
        consent_service.add_guardian(db, guardian_id=world.person.id, minor_id=minor.id)
        db.commit()
        return minor.id

    def test_guardian_sees_the_switch_and_the_wards_consents(
        self, client: TestClient, portal_world: PortalWorld, db: Session
    ) -> None:
        ward = self._ward(db, portal_world)
        _signed_in(client, portal_world)
        assert f"/portal/consents?for={ward}" in client.get("/portal/consents").text
        html = client.get(f"/portal/consents?for={ward}").text
        assert 'id="guardian-notice"' in html

    def test_guardian_narrows_the_wards_consent_as_guardian(
        self, client: TestClient, portal_world: PortalWorld, db: Session, vault: Vault
    ) -> None:
        ward = self._ward(db, portal_world)
        old = consent_service.give_consent(
            db,
            vault.pseudonym_key,
            person_id=ward,
            recipient=portal_world.shop,
            purpose="marketing",
            categories=["contact.email", "purchase.order"],
            evidence=consent_service.Evidence(notice_text="案内", method="paper"),
            actor="api_key:test",
            given_by="organization",
        ).consent
        db.commit()
        token = _signed_in(client, portal_world)
        response = client.post(
            f"/portal/consents/{old.id}/narrow",
            data={"csrf_token": token, "categories": ["contact.email"]},
            follow_redirects=False,
        )
        assert response.headers["location"].endswith(f"for={ward}")
        db.expire_all()
        (new,) = [c for c in consent_service.consents_of_person(db, ward) if c.state == "given"]
        assert (new.given_by, new.guardian_id) == ("guardian", portal_world.person.id)

    def test_a_stranger_cannot_act_for_the_ward(
        self, client: TestClient, portal_world: PortalWorld, db: Session
    ) -> None:
        ward = self._ward(db, portal_world)
        sign_in_person(client, portal_world.other_email)
        assert client.get(f"/portal/consents?for={ward}").status_code == 404

    def test_minor_sees_that_the_guardian_manages_consent(
        self, client: TestClient, portal_world: PortalWorld, db: Session
    ) -> None:
        self._ward(db, portal_world)
        sign_in_person(client, f"sakura-{portal_world.shop.slug}@example.jp")
        assert 'id="minor-notice"' in client.get("/portal/consents").text


class TestExport:
    def test_is_a_zip_with_json_and_csv(
        self, client: TestClient, portal_world: PortalWorld
    ) -> None:
        token = _signed_in(client, portal_world)
        response = client.post("/portal/export", data={"csrf_token": token})
        assert response.status_code == 200
        assert response.headers["content-disposition"].startswith("attachment")
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            names = set(archive.namelist())
            document = json.loads(archive.read("tsunagu-export.json"))
        assert {"tsunagu-export.json", "records.csv", "consents.csv"} <= names
        assert len(document["records"]) == 3

    def test_without_csrf_token_is_refused(
        self, client: TestClient, portal_world: PortalWorld
    ) -> None:
        _signed_in(client, portal_world)
        assert client.post("/portal/export", data={}).status_code == 403


class TestErase:
    def test_wrong_confirmation_erases_nothing(
        self, client: TestClient, portal_world: PortalWorld, vault: Vault
    ) -> None:
        token = _signed_in(client, portal_world)
        response = client.post("/portal/erase", data={"csrf_token": token, "confirm": "はい"})
        assert response.status_code == 422
        assert vault.keystore.is_destroyed(portal_world.person.id) is False

    def test_erasure_then_data_page_says_erased(
        self, client: TestClient, portal_world: PortalWorld, vault: Vault
    ) -> None:
        token = _signed_in(client, portal_world)
        response = client.post("/portal/erase", data={"csrf_token": token, "confirm": "削除"})
        assert response.status_code == 200
        assert 'id="data-erased"' in response.text
        assert vault.keystore.is_destroyed(portal_world.person.id) is True

    def test_without_csrf_token_is_refused(
        self, client: TestClient, portal_world: PortalWorld, vault: Vault
    ) -> None:
        _signed_in(client, portal_world)
        response = client.post("/portal/erase", data={"confirm": "削除"})
        assert response.status_code == 403
        assert vault.keystore.is_destroyed(portal_world.person.id) is False


class TestRequests:
    def test_filed_request_is_listed_with_due_date(
        self, client: TestClient, portal_world: PortalWorld, db: Session
    ) -> None:
        token = _signed_in(client, portal_world)
        response = client.post(
            "/portal/requests",
            data={
                "csrf_token": token,
                "organization": str(portal_world.clinic.id),
                "kind": "disclosure",
                "detail": "血圧の記録を開示してください",
            },
        )
        assert response.status_code == 200
        assert 'id="request-filed"' in response.text
        (row,) = vault_service.request_queue(db, portal_world.clinic.id)
        assert row.person_id == portal_world.person.id
        assert 'data-kind="disclosure"' in response.text

    def test_organization_that_holds_nothing_is_refused(
        self, client: TestClient, portal_world: PortalWorld, db: Session
    ) -> None:
        stranger = identity.create_organization(
            db, slug=f"x-{portal_world.shop.slug}", name="無関係社", kind="company"
        )
        db.commit()
        token = _signed_in(client, portal_world)
        response = client.post(
            "/portal/requests",
            data={"csrf_token": token, "organization": str(stranger.id), "kind": "deletion"},
        )
        assert response.status_code == 404
        assert vault_service.request_queue(db, stranger.id) == []

    def test_without_csrf_token_is_refused(
        self, client: TestClient, portal_world: PortalWorld
    ) -> None:
        _signed_in(client, portal_world)
        response = client.post(
            "/portal/requests",
            data={"organization": str(portal_world.clinic.id), "kind": "disclosure"},
        )
        assert response.status_code == 403
