"""POST /api/v1/vault/records/import: records from a CSV body or upload, for the calling
organization's customer numbers only — all rows or none."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.e2e.api.test_shell import assert_problem
from tests.support.factories import bearer, create_api_key, create_org
from tsunagu.identity.models import Organization
from tsunagu.vault import service
from tsunagu.vault.models import Record
from tsunagu.vault.service import Vault

URL = "/api/v1/vault/records/import"
GOOD = "顧客番号,区分,field:email\r\nC-1,contact.email,hanako@example.jp\r\n"
CSV = {"Content-Type": "text/csv"}


def tenant(db: Session, vault: Vault, slug: str, role: str = "member") -> tuple[Organization, str]:
    org = create_org(db, slug=slug)
    service.register_person(
        db, vault, org, ref="C-1", family_name="山田", given_name="花子", actor="test"
    )
    key = create_api_key(db, org, role=role)
    db.commit()
    return org, key


def records_of(db: Session, org: Organization) -> int:
    return (
        db.scalar(select(func.count()).select_from(Record).where(Record.source_id == org.id)) or 0
    )


class TestRecordsImport:
    def test_csv_body_stores_the_records(
        self, client: TestClient, db: Session, vault: Vault
    ) -> None:
        org, key = tenant(db, vault, "hikari")

        response = client.post(URL, content=GOOD.encode(), headers={**bearer(key), **CSV})

        assert response.status_code == 201, response.text
        assert response.json() == {"imported": 1, "encoding": "utf-8"}
        assert records_of(db, org) == 1

    def test_multipart_upload_in_cp932_is_read(
        self, client: TestClient, db: Session, vault: Vault
    ) -> None:
        org, key = tenant(db, vault, "hikari")

        response = client.post(
            URL,
            files={"file": ("records.csv", GOOD.encode("cp932"), "text/csv")},
            headers=bearer(key),
        )

        assert response.status_code == 201, response.text
        assert response.json()["encoding"] == "cp932"
        assert records_of(db, org) == 1

    def test_bad_row_stores_nothing_and_lists_it(
        self, client: TestClient, db: Session, vault: Vault
    ) -> None:
        org, key = tenant(db, vault, "hikari")
        body = GOOD + "C-2,contact.email,x@example.jp\r\n"

        response = client.post(URL, content=body.encode(), headers={**bearer(key), **CSV})

        problem = assert_problem(response, 422, "invalid_input")
        assert problem["errors"] == [
            {"row": 3, "column": "顧客番号", "reason": "no person has this customer number here"}
        ]
        assert records_of(db, org) == 0

    def test_another_tenants_customer_numbers_are_unknown(
        self, client: TestClient, db: Session, vault: Vault
    ) -> None:
        other, _ = tenant(db, vault, "sakura")
        org = create_org(db, slug="hikari")
        key = create_api_key(db, org, role="member")
        db.commit()

        response = client.post(URL, content=GOOD.encode(), headers={**bearer(key), **CSV})

        assert_problem(response, 422, "invalid_input")
        assert records_of(db, other) == 0

    def test_without_a_key_is_401(self, client: TestClient) -> None:
        response = client.post(URL, content=GOOD.encode(), headers=CSV)

        assert_problem(response, 401, "not_authenticated")

    def test_viewer_key_is_403(self, client: TestClient, db: Session, vault: Vault) -> None:
        org, key = tenant(db, vault, "hikari", role="viewer")

        response = client.post(URL, content=GOOD.encode(), headers={**bearer(key), **CSV})

        assert_problem(response, 403, "role_too_low")
        assert records_of(db, org) == 0

    @pytest.mark.parametrize("media_type", ["application/json", "image/png"])
    def test_other_content_types_are_415(
        self, client: TestClient, db: Session, vault: Vault, media_type: str
    ) -> None:
        _org, key = tenant(db, vault, "hikari")

        response = client.post(
            URL, content=b"{}", headers={**bearer(key), "Content-Type": media_type}
        )

        assert_problem(response, 415, "unsupported_media_type")
