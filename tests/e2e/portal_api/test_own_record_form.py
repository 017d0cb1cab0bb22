"""The data page's form for a record about oneself (``POST /portal/data/records``): the
person files a record under a category, CSRF-checked like every portal form."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.pages.conftest import csrf_of, sign_in_person
from tests.e2e.portal.conftest import PortalWorld
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault

FORM = "/portal/data/records"


def _signed_in(client: TestClient, world: PortalWorld, lang: str = "ja") -> str:
    client.cookies.set("lang", lang)
    sign_in_person(client, world.person_email)
    return csrf_of(client.get("/portal/data").text)


def _own_records(db: Session, vault: Vault, world: PortalWorld) -> list[vault_service.RecordView]:
    db.expire_all()
    view = vault_service.subject_view(db, vault, world.person.id)
    return [r for records in view.by_source.get(None, {}).values() for r in records]


class TestOwnRecordForm:
    def test_the_data_page_offers_the_form(
        self, client: TestClient, portal_world: PortalWorld
    ) -> None:
        _signed_in(client, portal_world, "en")
        html = client.get("/portal/data").text
        assert f'action="{FORM}"' in html
        assert "Add a record about yourself" in html

    def test_adds_the_record_and_shows_it(
        self, client: TestClient, portal_world: PortalWorld, db: Session, vault: Vault
    ) -> None:
        token = _signed_in(client, portal_world)
        response = client.post(
            FORM, data={"csrf_token": token, "category": "contact.phone", "value": "090-1111-2222"}
        )
        assert response.status_code == 200
        assert 'id="own-record-added"' in response.text
        assert "090-1111-2222" in response.text
        (record,) = _own_records(db, vault, portal_world)
        assert (record.category, record.payload, record.source_kind) == (
            "contact.phone",
            {"value": "090-1111-2222"},
            "person",
        )

    def test_without_csrf_token_is_refused_and_writes_nothing(
        self, client: TestClient, portal_world: PortalWorld, db: Session, vault: Vault
    ) -> None:
        _signed_in(client, portal_world)
        response = client.post(FORM, data={"category": "contact.phone", "value": "090"})
        assert response.status_code == 403
        assert _own_records(db, vault, portal_world) == []

    def test_an_empty_value_shows_the_page_again_with_the_reason(
        self, client: TestClient, portal_world: PortalWorld, db: Session, vault: Vault
    ) -> None:
        token = _signed_in(client, portal_world)
        response = client.post(
            FORM, data={"csrf_token": token, "category": "contact.phone", "value": " "}
        )
        assert response.status_code == 422
        assert 'id="own-record-error"' in response.text
        assert _own_records(db, vault, portal_world) == []

    def test_an_unknown_category_is_refused(
        self, client: TestClient, portal_world: PortalWorld, db: Session, vault: Vault
    ) -> None:
        token = _signed_in(client, portal_world)
        response = client.post(
            FORM, data={"csrf_token": token, "category": "no.such", "value": "x"}
        )
        assert response.status_code == 422
        assert _own_records(db, vault, portal_world) == []

    def test_without_a_session_is_refused(self, client: TestClient) -> None:
        response = client.post(FORM, data={"category": "contact.phone"}, follow_redirects=False)
        assert response.status_code == 403

    def test_is_not_offered_after_erasure(
        self, client: TestClient, portal_world: PortalWorld
    ) -> None:
        token = _signed_in(client, portal_world)
        html = client.post("/portal/erase", data={"csrf_token": token, "confirm": "削除"}).text
        assert 'id="data-erased"' in html
        assert f'action="{FORM}"' not in html
