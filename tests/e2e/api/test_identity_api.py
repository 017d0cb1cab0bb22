"""The identity JSON API under /api/v1: who am I, the organization, staff, API keys —
authentication, roles and tenant isolation on every endpoint."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.e2e.api.conftest import Tenant
from tests.e2e.api.test_shell import assert_problem
from tests.support.factories import bearer, create_api_key, create_org, create_staff
from tsunagu.core.crypto import token_digest
from tsunagu.identity.models import ApiKey

#: every identity endpoint, with ``{id}`` where an object of the caller's tenant goes
ENDPOINTS = [
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/organization"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/{user_id}"),
    ("GET", "/api/v1/api-keys"),
    ("POST", "/api/v1/api-keys"),
    ("GET", "/api/v1/api-keys/{key_id}"),
    ("DELETE", "/api/v1/api-keys/{key_id}"),
]
NEW_USER = {
    "email": "new.person@example.com",
    "display_name": "New Person",
    "role": "member",
    "password": "a long enough passphrase",
}


def key_id_of(db: Session, plain: str) -> uuid.UUID:
    found = db.scalar(select(ApiKey.id).where(ApiKey.key_hash == token_digest(plain)))
    assert found is not None
    return found


class TestAuthentication:
    @pytest.mark.parametrize(("method", "path"), ENDPOINTS)
    def test_revoked_key_is_rejected(
        self, client: TestClient, db: Session, tenant: Tenant, method: str, path: str
    ) -> None:
        revoked = create_api_key(db, tenant.org, role="admin")
        db.commit()
        key_id = key_id_of(db, revoked)
        assert client.delete(f"/api/v1/api-keys/{key_id}", headers=tenant.headers).is_success
        url = path.format(user_id=uuid.uuid4(), key_id=key_id)
        response = client.request(method, url, headers=bearer(revoked))
        assert_problem(response, 401, "invalid_credentials")
        assert response.headers["www-authenticate"].startswith("Bearer")

    def test_unknown_key_is_rejected(self, client: TestClient) -> None:
        response = client.get("/api/v1/me", headers=bearer("tsk_" + "x" * 43))
        assert_problem(response, 401, "invalid_credentials")

    def test_other_scheme_is_rejected(self, client: TestClient, tenant: Tenant) -> None:
        response = client.get("/api/v1/me", headers={"Authorization": f"Basic {tenant.admin_key}"})
        assert_problem(response, 401, "not_authenticated")

    def test_successful_use_sets_last_used_at(
        self, client: TestClient, db: Session, tenant: Tenant
    ) -> None:
        key_id = key_id_of(db, tenant.admin_key)
        response = client.get(f"/api/v1/api-keys/{key_id}", headers=tenant.headers)
        assert response.json()["last_used_at"] is not None


class TestMe:
    def test_me_names_the_key_its_role_and_organization(
        self, client: TestClient, db: Session, tenant: Tenant
    ) -> None:
        body = client.get("/api/v1/me", headers=tenant.headers).json()
        assert body["kind"] == "api_key"
        assert body["role"] == "admin"
        assert body["api_key_id"] == str(key_id_of(db, tenant.admin_key))
        assert body["organization"]["slug"] == "acme"


class TestOrganization:
    def test_organization_is_the_keys_own(self, client: TestClient, tenant: Tenant) -> None:
        body = client.get("/api/v1/organization", headers=tenant.headers).json()
        assert body["id"] == str(tenant.org.id)
        assert body["kind"] == "company"


class TestStaffUsers:
    def test_admin_creates_a_staff_user(self, client: TestClient, tenant: Tenant) -> None:
        response = client.post("/api/v1/users", json=NEW_USER, headers=tenant.headers)
        assert response.status_code == 201
        body = response.json()
        assert body["email"] == NEW_USER["email"]
        assert body["role"] == "member"
        assert "password" not in body
        assert "password_hash" not in body

    def test_created_user_can_be_read_back(self, client: TestClient, tenant: Tenant) -> None:
        created = client.post("/api/v1/users", json=NEW_USER, headers=tenant.headers).json()
        response = client.get(f"/api/v1/users/{created['id']}", headers=tenant.headers)
        assert response.json()["display_name"] == "New Person"

    def test_same_email_twice_is_a_conflict(
        self, client: TestClient, db: Session, tenant: Tenant
    ) -> None:
        create_staff(db, tenant.org, email=NEW_USER["email"])
        db.commit()
        response = client.post("/api/v1/users", json=NEW_USER, headers=tenant.headers)
        assert_problem(response, 409, "email_taken")

    def test_another_tenants_staff_cannot_be_pulled_in(
        self, client: TestClient, db: Session, tenant: Tenant
    ) -> None:
        other = create_org(db)
        create_staff(db, other, email=NEW_USER["email"], display_name="秘密の名前")
        db.commit()
        response = client.post("/api/v1/users", json=NEW_USER, headers=tenant.headers)
        assert_problem(response, 409, "email_taken")
        assert "秘密の名前" not in response.text
        assert other.slug not in response.text

    @pytest.mark.parametrize("role", ["member", "viewer"])
    def test_lower_roles_cannot_create_users(
        self, client: TestClient, db: Session, tenant: Tenant, role: str
    ) -> None:
        key = create_api_key(db, tenant.org, role=role)
        db.commit()
        response = client.post("/api/v1/users", json=NEW_USER, headers=bearer(key))
        assert_problem(response, 403, "role_too_low")

    def test_admin_cannot_grant_owner(self, client: TestClient, tenant: Tenant) -> None:
        response = client.post(
            "/api/v1/users", json={**NEW_USER, "role": "owner"}, headers=tenant.headers
        )
        assert_problem(response, 403, "role_too_low")

    def test_list_holds_only_the_organizations_staff(
        self, client: TestClient, db: Session, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        create_staff(db, tenant.org, email="ours@example.com")
        create_staff(db, other_tenant.org, email="theirs@example.com")
        db.commit()
        key = create_api_key(db, tenant.org, role="viewer")
        db.commit()
        body = client.get("/api/v1/users", headers=bearer(key)).json()
        assert [user["email"] for user in body] == ["ours@example.com"]

    def test_another_tenants_user_is_not_found(
        self, client: TestClient, db: Session, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs = create_staff(db, other_tenant.org)
        db.commit()
        response = client.get(f"/api/v1/users/{theirs.id}", headers=tenant.headers)
        assert_problem(response, 404, "staff_user_not_found")


class TestApiKeys:
    def test_created_key_is_shown_once_and_works(self, client: TestClient, tenant: Tenant) -> None:
        response = client.post(
            "/api/v1/api-keys", json={"name": "ci", "role": "viewer"}, headers=tenant.headers
        )
        assert response.status_code == 201
        created = response.json()
        assert created["key"].startswith(created["prefix"])
        again = client.get(f"/api/v1/api-keys/{created['id']}", headers=tenant.headers).json()
        assert "key" not in again
        assert client.get("/api/v1/me", headers=bearer(created["key"])).json()["role"] == "viewer"

    def test_key_is_stored_only_as_a_digest(
        self, client: TestClient, db: Session, tenant: Tenant
    ) -> None:
        plain = client.post("/api/v1/api-keys", json={"name": "ci"}, headers=tenant.headers).json()[
            "key"
        ]
        rows = db.execute(text("SELECT * FROM api_keys")).all()
        stored = " ".join(str(value) for row in rows for value in row)
        assert plain not in stored
        assert token_digest(plain) in stored

    def test_revoked_key_no_longer_authenticates(
        self, client: TestClient, db: Session, tenant: Tenant
    ) -> None:
        doomed = create_api_key(db, tenant.org, role="member")
        db.commit()
        key_id = key_id_of(db, doomed)
        assert client.get("/api/v1/me", headers=bearer(doomed)).status_code == 200
        response = client.delete(f"/api/v1/api-keys/{key_id}", headers=tenant.headers)
        assert response.status_code == 200
        assert response.json()["revoked_at"] is not None
        assert_problem(client.get("/api/v1/me", headers=bearer(doomed)), 401, "invalid_credentials")

    @pytest.mark.usefixtures("other_tenant")
    def test_list_holds_only_the_organizations_keys(
        self, client: TestClient, db: Session, tenant: Tenant
    ) -> None:
        body = client.get("/api/v1/api-keys", headers=tenant.headers).json()
        assert [key["id"] for key in body] == [str(key_id_of(db, tenant.admin_key))]

    @pytest.mark.parametrize("role", ["member", "viewer"])
    def test_lower_roles_cannot_create_keys(
        self, client: TestClient, db: Session, tenant: Tenant, role: str
    ) -> None:
        key = create_api_key(db, tenant.org, role=role)
        db.commit()
        response = client.post("/api/v1/api-keys", json={"name": "x"}, headers=bearer(key))
        assert_problem(response, 403, "role_too_low")

    @pytest.mark.parametrize("role", ["member", "viewer"])
    def test_lower_roles_cannot_revoke_keys(
        self, client: TestClient, db: Session, tenant: Tenant, role: str
    ) -> None:
        key = create_api_key(db, tenant.org, role=role)
        db.commit()
        target = key_id_of(db, tenant.admin_key)
        response = client.delete(f"/api/v1/api-keys/{target}", headers=bearer(key))
        assert_problem(response, 403, "role_too_low")

    def test_another_tenants_key_is_not_found(
        self, client: TestClient, db: Session, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs = key_id_of(db, other_tenant.admin_key)
        response = client.get(f"/api/v1/api-keys/{theirs}", headers=tenant.headers)
        assert_problem(response, 404, "api_key_not_found")

    def test_another_tenants_key_cannot_be_revoked(
        self, client: TestClient, db: Session, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs = key_id_of(db, other_tenant.admin_key)
        response = client.delete(f"/api/v1/api-keys/{theirs}", headers=tenant.headers)
        assert_problem(response, 404, "api_key_not_found")
        assert client.get("/api/v1/me", headers=other_tenant.headers).status_code == 200
