"""POST /api/v1/users/import: staff from a CSV body or upload — all rows or none, per tenant."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.api.conftest import Tenant
from tests.e2e.api.test_shell import assert_problem
from tests.support.factories import bearer, create_api_key, create_staff
from tsunagu.core.settings import Settings
from tsunagu.identity.models import Membership, Organization, StaffUser
from tsunagu.web.app import create_app

URL = "/api/v1/users/import"
GOOD = (
    "メールアドレス,氏名,役割\r\n"
    "sato@example.jp,佐藤 花子,member\r\n"
    "takahashi@example.jp,髙橋 一郎,viewer\r\n"
)
CSV = {"Content-Type": "text/csv"}


def members(db: Session, org: Organization) -> dict[str, str]:
    rows = db.execute(
        select(StaffUser.email, Membership.role)
        .join(Membership, Membership.user_id == StaffUser.id)
        .where(Membership.organization_id == org.id)
    ).all()
    return {str(email): str(role) for email, role in rows}


def staff_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(StaffUser)) or 0


class TestImportUsers:
    def test_csv_body_adds_every_row(self, client: TestClient, db: Session, tenant: Tenant) -> None:
        response = client.post(URL, content=GOOD.encode(), headers={**tenant.headers, **CSV})
        assert response.status_code == 201
        assert response.json() == {"imported": 2, "encoding": "utf-8"}
        assert members(db, tenant.org) == {
            "sato@example.jp": "member",
            "takahashi@example.jp": "viewer",
        }

    def test_cp932_named_by_the_charset_parameter_is_accepted(
        self, client: TestClient, db: Session, tenant: Tenant
    ) -> None:
        response = client.post(
            URL,
            content=GOOD.encode("cp932"),
            headers={**tenant.headers, "Content-Type": "text/csv; charset=Shift_JIS"},
        )
        assert response.status_code == 201
        assert response.json()["encoding"] == "cp932"
        name = db.scalar(
            select(StaffUser.display_name).where(StaffUser.email == "takahashi@example.jp")
        )
        assert name == "髙橋 一郎"

    def test_encoding_query_parameter_forces_the_encoding(
        self, client: TestClient, tenant: Tenant
    ) -> None:
        response = client.post(
            URL + "?encoding=cp932",
            content=GOOD.encode("cp932"),
            headers={**tenant.headers, **CSV},
        )
        assert response.status_code == 201
        assert response.json() == {"imported": 2, "encoding": "cp932"}

    def test_multipart_upload_is_accepted(
        self, client: TestClient, db: Session, tenant: Tenant
    ) -> None:
        response = client.post(
            URL,
            files={"file": ("staff.csv", GOOD.encode("cp932"), "text/csv")},
            headers=tenant.headers,
        )
        assert response.status_code == 201
        assert set(members(db, tenant.org)) == {"sato@example.jp", "takahashi@example.jp"}

    def test_multipart_without_the_file_field_is_a_422(
        self, client: TestClient, tenant: Tenant
    ) -> None:
        response = client.post(
            URL, data={"other": "x"}, files={"x": ("a", b"b")}, headers=tenant.headers
        )
        assert_problem(response, 422, "invalid_input")

    def test_row_errors_are_a_422_and_nothing_is_written(
        self, client: TestClient, db: Session, tenant: Tenant
    ) -> None:
        before = staff_count(db)
        data = "email,role\nok@example.jp,member\nbad-address,member\nok2@example.jp,chief\n"
        response = client.post(URL, content=data.encode(), headers={**tenant.headers, **CSV})
        body = assert_problem(response, 422, "invalid_input")
        assert body["errors"] == [
            {"row": 3, "column": "email", "reason": "'bad-address' is not an e-mail address"},
            {
                "row": 4,
                "column": "role",
                "reason": "'chief' is not one of owner, admin, member, viewer",
            },
        ]
        assert staff_count(db) == before
        assert members(db, tenant.org) == {}

    def test_an_admin_key_cannot_import_owners(self, client: TestClient, tenant: Tenant) -> None:
        response = client.post(
            URL, content=b"email,role\nboss@example.jp,owner\n", headers={**tenant.headers, **CSV}
        )
        body = assert_problem(response, 422, "invalid_input")
        assert body["errors"][0]["column"] == "role"

    def test_json_is_an_unsupported_media_type(self, client: TestClient, tenant: Tenant) -> None:
        response = client.post(URL, json={"email": "x@example.jp"}, headers=tenant.headers)
        assert_problem(response, 415, "unsupported_media_type")

    def test_empty_body_is_a_422(self, client: TestClient, tenant: Tenant) -> None:
        response = client.post(URL, content=b"", headers={**tenant.headers, **CSV})
        assert_problem(response, 422, "invalid_input")


@pytest.fixture
def small_client(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session]
) -> Iterator[TestClient]:
    """A client of an app that accepts bodies of at most 200 bytes."""
    small = settings.model_copy(update={"max_body_bytes": 200})
    app = create_app(small, engine=engine, session_factory=session_factory, run_migrations=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


class TestLimits:
    def test_file_over_the_limit_is_a_413_and_nothing_is_written(
        self, small_client: TestClient, db: Session, tenant: Tenant
    ) -> None:
        before = staff_count(db)
        data = "email\n" + "".join(f"user{i}@example.jp\n" for i in range(40))
        response = small_client.post(URL, content=data.encode(), headers={**tenant.headers, **CSV})
        assert_problem(response, 413, "payload_too_large")
        assert staff_count(db) == before

    def test_upload_over_the_limit_is_a_413(self, small_client: TestClient, tenant: Tenant) -> None:
        data = "email\n" + "".join(f"user{i}@example.jp\n" for i in range(40))
        response = small_client.post(
            URL, files={"file": ("big.csv", data.encode(), "text/csv")}, headers=tenant.headers
        )
        assert_problem(response, 413, "payload_too_large")


class TestAccess:
    def test_without_a_key_is_a_401(self, client: TestClient) -> None:
        response = client.post(URL, content=GOOD.encode(), headers=CSV)
        assert_problem(response, 401, "not_authenticated")

    @pytest.mark.parametrize("role", ["viewer", "member"])
    def test_below_admin_is_a_403_and_nothing_is_written(
        self, client: TestClient, db: Session, tenant: Tenant, role: str
    ) -> None:
        key = create_api_key(db, tenant.org, role=role)
        db.commit()
        response = client.post(URL, content=GOOD.encode(), headers={**bearer(key), **CSV})
        assert_problem(response, 403, "role_too_low")
        assert members(db, tenant.org) == {}

    def test_staff_of_another_tenant_cannot_be_pulled_in(
        self, client: TestClient, db: Session, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        create_staff(db, other_tenant.org, email="sato@example.jp", role="owner")
        db.commit()
        response = client.post(URL, content=GOOD.encode(), headers={**tenant.headers, **CSV})
        body = assert_problem(response, 422, "invalid_input")
        assert body["errors"] == [
            {
                "row": 2,
                "column": "メールアドレス",
                "reason": "is already registered as a staff account",
            }
        ]
        assert other_tenant.org.slug not in response.text
        assert other_tenant.org.name not in response.text
        assert members(db, other_tenant.org) == {"sato@example.jp": "owner"}
        assert members(db, tenant.org) == {}

    def test_an_import_by_another_tenant_leaves_this_one_unchanged(
        self, client: TestClient, db: Session, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        create_staff(db, tenant.org, email="mine@example.jp", role="admin")
        db.commit()
        response = client.post(URL, content=GOOD.encode(), headers={**other_tenant.headers, **CSV})
        assert response.status_code == 201
        assert members(db, tenant.org) == {"mine@example.jp": "admin"}
        assert set(members(db, other_tenant.org)) == {"sato@example.jp", "takahashi@example.jp"}
