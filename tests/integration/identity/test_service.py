"""identity.service against a real database: passwords, web sessions, API keys,
organizations and staff who work for more than one organization."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from tests.support.factories import DEFAULT_PASSWORD, create_api_key, create_org, create_staff
from tsunagu.core.errors import InvalidInput
from tsunagu.identity import service
from tsunagu.identity.api_key_auth import check_api_key, touch_api_key
from tsunagu.identity.errors import EmailTaken, InvalidCredentials, SessionExpired, SlugTaken

MAX_AGE = timedelta(hours=8)


class TestAuthenticateStaff:
    def test_right_password_signs_in(self, db: Session) -> None:
        org = create_org(db)
        user = create_staff(db, org, email="kana@example.com")
        signed_in, membership = service.authenticate_staff(
            db, email="Kana@Example.com ", password=DEFAULT_PASSWORD
        )
        assert signed_in.id == user.id
        assert membership.organization_id == org.id

    def test_wrong_password_is_rejected(self, db: Session) -> None:
        org = create_org(db)
        create_staff(db, org, email="kana@example.com")
        with pytest.raises(InvalidCredentials):
            service.authenticate_staff(db, email="kana@example.com", password="not the password")

    def test_unknown_email_is_rejected(self, db: Session) -> None:
        with pytest.raises(InvalidCredentials):
            service.authenticate_staff(db, email="nobody@example.com", password=DEFAULT_PASSWORD)


class TestWebSessions:
    def test_live_session_resolves_to_the_staff_actor(self, db: Session) -> None:
        org = create_org(db)
        user = create_staff(db, org, role="admin")
        membership = service.find_membership(db, org.id, user.id)
        _, token = service.start_web_session(db, max_age=MAX_AGE, user=user, membership=membership)
        _, actor = service.resolve_web_session(db, token, max_age=MAX_AGE)
        assert actor.kind == "staff"
        assert actor.organization_id == org.id
        assert actor.role == "admin"

    def test_expired_session_is_rejected(self, db: Session) -> None:
        org = create_org(db)
        user = create_staff(db, org)
        membership = service.find_membership(db, org.id, user.id)
        row, token = service.start_web_session(
            db, max_age=MAX_AGE, user=user, membership=membership
        )
        with pytest.raises(SessionExpired):
            service.resolve_web_session(
                db, token, max_age=MAX_AGE, now=row.expires_at + timedelta(seconds=1)
            )

    def test_ended_session_is_rejected(self, db: Session) -> None:
        person = service.create_person(db, family_name="山田", given_name="花子")
        _, token = service.start_web_session(db, max_age=MAX_AGE, person=person)
        service.end_web_session(db, token)
        with pytest.raises(SessionExpired):
            service.resolve_web_session(db, token, max_age=MAX_AGE)

    def test_unknown_token_is_rejected(self, db: Session) -> None:
        with pytest.raises(SessionExpired):
            service.resolve_web_session(db, "no-such-token", max_age=MAX_AGE)


class TestApiKeys:
    def test_key_authenticates_as_its_organization_and_role(self, db: Session) -> None:
        org = create_org(db)
        plain = create_api_key(db, org, role="viewer")
        actor = check_api_key(db, plain).actor
        assert actor.kind == "api_key"
        assert actor.organization_id == org.id
        assert actor.role == "viewer"

    def test_revoked_key_is_rejected(self, db: Session) -> None:
        org = create_org(db)
        plain = create_api_key(db, org, role="admin")
        actor = check_api_key(db, plain).actor
        assert actor.api_key_id is not None
        service.revoke_api_key(db, actor, actor.api_key_id)
        with pytest.raises(InvalidCredentials):
            check_api_key(db, plain)

    def test_use_records_last_used_at(self, db: Session) -> None:
        org = create_org(db)
        key, plain = service.create_api_key(db, organization=org, name="ci")
        assert key.last_used_at is None
        assert check_api_key(db, plain).touch_due
        touch_api_key(db, key.id)
        db.refresh(key)
        assert key.last_used_at is not None

    def test_only_the_digest_is_stored(self, db: Session) -> None:
        org = create_org(db)
        key, plain = service.create_api_key(db, organization=org, name="ci")
        assert key.key_hash != plain
        assert plain not in key.key_hash
        assert plain.startswith(key.prefix)


class TestPasswords:
    def test_too_short_password_is_refused(self) -> None:
        with pytest.raises(InvalidInput):
            service.hash_password("x" * (service.MIN_PASSWORD_LENGTH - 1))

    def test_staff_with_too_short_password_is_not_created(self, db: Session) -> None:
        org = create_org(db)
        with pytest.raises(InvalidInput):
            create_staff(db, org, password="short")


class TestOrganizations:
    def test_duplicate_slug_is_refused(self, db: Session) -> None:
        create_org(db, slug="acme")
        with pytest.raises(SlugTaken):
            create_org(db, slug="acme")

    def test_unknown_kind_is_refused(self, db: Session) -> None:
        with pytest.raises(InvalidInput):
            service.create_organization(db, slug="odd", name="Odd", kind="guild")


class TestStaffInSeveralOrganizations:
    def test_another_organization_cannot_pull_in_existing_staff(self, db: Session) -> None:
        first, second = create_org(db), create_org(db)
        create_staff(db, first, email="ren@example.com")
        with pytest.raises(EmailTaken):
            service.create_staff_user(
                db, organization=second, email="ren@example.com", password="whatever-pass-1"
            )

    def test_same_email_joins_a_second_organization(self, db: Session) -> None:
        first, second = create_org(db), create_org(db)
        user = create_staff(db, first, email="ren@example.com", role="admin")
        joined = create_staff(db, second, email="REN@example.com", password="ignored-password")
        assert joined.id == user.id
        assert {org.id for _, org in service.memberships_of(db, user.id)} == {first.id, second.id}

    def test_joining_keeps_the_original_password(self, db: Session) -> None:
        first, second = create_org(db, slug="first"), create_org(db, slug="second")
        create_staff(db, first, email="ren@example.com")
        create_staff(db, second, email="ren@example.com", password="another-password-1")
        _, membership = service.authenticate_staff(
            db, email="ren@example.com", password=DEFAULT_PASSWORD, org_slug="second"
        )
        assert membership.organization_id == second.id

    def test_roles_are_per_organization(self, db: Session) -> None:
        first, second = create_org(db), create_org(db)
        user = create_staff(db, first, email="ren@example.com", role="admin")
        create_staff(db, second, email="ren@example.com", role="viewer")
        first_membership = service.find_membership(db, first.id, user.id)
        second_membership = service.find_membership(db, second.id, user.id)
        assert first_membership is not None
        assert second_membership is not None
        assert (first_membership.role, second_membership.role) == ("admin", "viewer")
