"""Use cases of the identity domain.  Every function takes the session first and never
commits; the caller (request, CLI command) owns the transaction.

Principals: a request acts as an ``Actor`` — a staff user in an organization (web session),
an organization's API key, or a person (web session of the personal portal).
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tsunagu.core.clock import utcnow
from tsunagu.core.crypto import random_token, token_digest
from tsunagu.core.errors import InvalidInput
from tsunagu.identity.errors import (
    ApiKeyNotFound,
    EmailTaken,
    InvalidCredentials,
    OrganizationNotFound,
    PersonNotFound,
    RoleTooLow,
    SessionExpired,
    SlugTaken,
    StaffUserNotFound,
)
from tsunagu.identity.models import (
    API_KEY_ROLES,
    ORGANIZATION_KINDS,
    STAFF_ROLES,
    ApiKey,
    Membership,
    Organization,
    Person,
    StaffUser,
    WebSession,
)

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps "no such user" as slow as "wrong password"."""
    return _hasher.hash("tsunagu-timing-equaliser")


ROLE_RANK = {"viewer": 0, "member": 1, "admin": 2, "owner": 3}
API_KEY_PREFIX = "tsk_"
#: how stale ``last_used_at`` may get before a request writes it again
LAST_USED_RESOLUTION = timedelta(minutes=1)
MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: the organization they act for and with which role."""

    kind: Literal["staff", "api_key", "person"]
    organization_id: uuid.UUID | None
    role: str | None
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None

    def require_role(self, minimum: str) -> None:
        """Raise ``RoleTooLow`` unless the actor's role is at least ``minimum``."""
        if self.role is None or ROLE_RANK[self.role] < ROLE_RANK[minimum]:
            raise RoleTooLow(f"this action needs the {minimum} role or higher")

    @property
    def org_id(self) -> uuid.UUID:
        """The organization of a staff or API-key actor (persons have none)."""
        if self.organization_id is None:
            raise RoleTooLow("this action is for staff of an organization")
        return self.organization_id


# --- passwords -------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (too-short passwords are refused)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; takes the same time when there is no hash."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively and without surrounding blanks."""
    return email.strip().lower()


# --- organizations ---------------------------------------------------------------------


def create_organization(
    session: Session, *, slug: str, name: str, kind: str = "company", timezone: str = "Asia/Tokyo"
) -> Organization:
    if kind not in ORGANIZATION_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(ORGANIZATION_KINDS)}")
    if find_organization_by_slug(session, slug) is not None:
        raise SlugTaken(f"an organization with the slug {slug!r} already exists")
    org = Organization(slug=slug, name=name, kind=kind, timezone=timezone)
    session.add(org)
    session.flush()
    return org


def find_organization_by_slug(session: Session, slug: str) -> Organization | None:
    return session.scalar(select(Organization).where(Organization.slug == slug))


def get_organization_by_slug(session: Session, slug: str) -> Organization:
    org = find_organization_by_slug(session, slug)
    if org is None:
        raise OrganizationNotFound(f"no organization with the slug {slug!r}")
    return org


def get_organization(session: Session, org_id: uuid.UUID) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:
        raise OrganizationNotFound("no such organization")
    return org


def access_organization(session: Session, actor: Actor, org_id: uuid.UUID) -> Organization:
    """The organization ``org_id`` if the actor acts for it; otherwise not found."""
    if actor.organization_id != org_id:
        raise OrganizationNotFound("no such organization")
    return get_organization(session, org_id)


# --- staff users -----------------------------------------------------------------------


def create_staff_user(
    session: Session,
    *,
    organization: Organization,
    email: str,
    password: str,
    role: str = "member",
    display_name: str | None = None,
    locale: str | None = None,
    join_existing: bool = False,
) -> tuple[StaffUser, Membership]:
    """A new staff user with a membership in ``organization``.

    An e-mail already known as staff is refused, so no organization can pull another's
    staff into itself (nor learn their name).  Operators may let an existing staff user
    join a further organization with ``join_existing`` (the CLI's ``user create`` does);
    their password is left as it is.
    """
    if role not in STAFF_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(STAFF_ROLES)}")
    email = normalise_email(email)
    user = session.scalar(select(StaffUser).where(StaffUser.email == email))
    if user is None:
        user = StaffUser(
            email=email,
            display_name=display_name or email.split("@", 1)[0],
            password_hash=hash_password(password),
            locale=locale,
        )
        session.add(user)
        session.flush()
    elif not join_existing or find_membership(session, organization.id, user.id) is not None:
        raise EmailTaken(f"{email} is already registered as a staff account")
    membership = Membership(organization_id=organization.id, user_id=user.id, role=role)
    session.add(membership)
    session.flush()
    return user, membership


def find_membership(session: Session, org_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
    return session.scalar(
        select(Membership).where(
            Membership.organization_id == org_id, Membership.user_id == user_id
        )
    )


def staff_names(session: Session, organization_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """The organization's staff by id, as people read them (display name, else e-mail),
    sorted by name."""
    rows = session.execute(
        select(StaffUser.id, StaffUser.display_name, StaffUser.email)
        .join(Membership, Membership.user_id == StaffUser.id)
        .where(Membership.organization_id == organization_id)
        .order_by(StaffUser.display_name)
    ).all()
    return {row.id: row.display_name or row.email for row in rows}


def list_staff(session: Session, actor: Actor) -> list[tuple[StaffUser, Membership]]:
    """Staff of the actor's organization, by e-mail."""
    rows = session.execute(
        select(StaffUser, Membership)
        .join(Membership, Membership.user_id == StaffUser.id)
        .where(Membership.organization_id == actor.org_id)
        .order_by(StaffUser.email)
    ).all()
    return [(row[0], row[1]) for row in rows]


def access_staff_user(
    session: Session, actor: Actor, user_id: uuid.UUID
) -> tuple[StaffUser, Membership]:
    """A staff user of the actor's organization; another tenant's user is not found."""
    row = session.execute(
        select(StaffUser, Membership)
        .join(Membership, Membership.user_id == StaffUser.id)
        .where(Membership.organization_id == actor.org_id, StaffUser.id == user_id)
    ).first()
    if row is None:
        raise StaffUserNotFound("no such staff user in this organization")
    return row[0], row[1]


def memberships_of(session: Session, user_id: uuid.UUID) -> list[tuple[Membership, Organization]]:
    rows = session.execute(
        select(Membership, Organization)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(Membership.user_id == user_id)
        .order_by(Organization.name)
    ).all()
    return [(row[0], row[1]) for row in rows]


def authenticate_staff(
    session: Session, *, email: str, password: str, org_slug: str | None = None
) -> tuple[StaffUser, Membership]:
    """The staff user and the membership they sign in with, or ``InvalidCredentials``.

    Without ``org_slug`` the first organization (by name) of the user is chosen.
    """
    user = session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise InvalidCredentials("the e-mail address or the password is wrong")
    memberships = memberships_of(session, user.id)
    if org_slug:
        memberships = [(m, o) for m, o in memberships if o.slug == org_slug]
    if not memberships:
        raise InvalidCredentials("the e-mail address or the password is wrong")
    user.last_sign_in_at = utcnow()
    session.flush()
    return user, memberships[0][0]


# --- persons ---------------------------------------------------------------------------


def create_person(
    session: Session,
    *,
    family_name: str,
    given_name: str,
    email: str | None = None,
    password: str | None = None,
    family_name_kana: str | None = None,
    given_name_kana: str | None = None,
    locale: str | None = None,
) -> Person:
    if email is not None:
        email = normalise_email(email)
        if session.scalar(select(Person.id).where(Person.email == email)) is not None:
            raise EmailTaken(f"a person account with {email} already exists")
    person = Person(
        email=email,
        password_hash=hash_password(password) if password else None,
        family_name=family_name,
        given_name=given_name,
        family_name_kana=family_name_kana,
        given_name_kana=given_name_kana,
        locale=locale,
    )
    session.add(person)
    session.flush()
    return person


def get_person(session: Session, person_id: uuid.UUID) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise PersonNotFound("no such person")
    return person


def authenticate_person(session: Session, *, email: str, password: str) -> Person:
    person = session.scalar(select(Person).where(Person.email == normalise_email(email)))
    if not verify_password(person.password_hash if person else None, password) or person is None:
        raise InvalidCredentials("the e-mail address or the password is wrong")
    person.last_sign_in_at = utcnow()
    session.flush()
    return person


def count_persons(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Person)) or 0


# --- API keys --------------------------------------------------------------------------


def create_api_key(
    session: Session,
    *,
    organization: Organization,
    name: str,
    role: str = "member",
    created_by: uuid.UUID | None = None,
) -> tuple[ApiKey, str]:
    """A new API key; the plain key is returned here once and never stored."""
    if role not in API_KEY_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(API_KEY_ROLES)}")
    plain = API_KEY_PREFIX + random_token(32)
    key = ApiKey(
        organization_id=organization.id,
        name=name,
        role=role,
        prefix=plain[: len(API_KEY_PREFIX) + 6],
        key_hash=token_digest(plain),
        created_by_user_id=created_by,
    )
    session.add(key)
    session.flush()
    return key, plain


def list_api_keys(session: Session, actor: Actor) -> list[ApiKey]:
    return list(
        session.scalars(
            select(ApiKey)
            .where(ApiKey.organization_id == actor.org_id)
            .order_by(ApiKey.created_at.desc())
        )
    )


def access_api_key(session: Session, actor: Actor, key_id: uuid.UUID) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None or key.organization_id != actor.org_id:
        raise ApiKeyNotFound("no such API key in this organization")
    return key


def revoke_api_key(session: Session, actor: Actor, key_id: uuid.UUID) -> ApiKey:
    """Revoke a key of the actor's organization; revoking twice keeps the first time."""
    actor.require_role("admin")
    key = access_api_key(session, actor, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key


# --- web sessions ----------------------------------------------------------------------


def start_web_session(
    session: Session,
    *,
    max_age: timedelta,
    user: StaffUser | None = None,
    membership: Membership | None = None,
    person: Person | None = None,
) -> tuple[WebSession, str]:
    """A new signed-in session for a staff user (with a membership) or a person.

    Returns the row and the token for the cookie (only its digest is stored).
    """
    if (user is None) == (person is None):
        raise ValueError("a web session is for exactly one staff user or person")
    token = random_token(32)
    now = utcnow()
    row = WebSession(
        token_hash=token_digest(token),
        subject_kind="staff" if user else "person",
        user_id=user.id if user else None,
        organization_id=membership.organization_id if membership else None,
        person_id=person.id if person else None,
        csrf_token=random_token(24),
        created_at=now,
        last_seen_at=now,
        expires_at=now + max_age,
    )
    session.add(row)
    session.flush()
    return row, token


def resolve_web_session(
    session: Session, token: str, *, max_age: timedelta, now: datetime | None = None
) -> tuple[WebSession, Actor]:
    """The live session behind a cookie token, sliding its expiry; else ``SessionExpired``."""
    now = now or utcnow()
    row = session.scalar(select(WebSession).where(WebSession.token_hash == token_digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise SessionExpired("your session has ended; please sign in again")
    if now - row.last_seen_at >= LAST_USED_RESOLUTION:
        _slide_session(session, row, now, max_age)
    if row.subject_kind == "staff":
        if row.user_id is None or row.organization_id is None:
            raise SessionExpired("your session has ended; please sign in again")
        membership = find_membership(session, row.organization_id, row.user_id)
        if membership is None:
            raise SessionExpired("your membership has ended; please sign in again")
        actor = Actor(
            kind="staff",
            organization_id=row.organization_id,
            role=membership.role,
            user_id=row.user_id,
        )
    else:
        actor = Actor(kind="person", organization_id=None, role=None, person_id=row.person_id)
    return row, actor


def _slide_session(session: Session, row: WebSession, now: datetime, max_age: timedelta) -> None:
    """Extend a session's expiry; best-effort, since a read-mostly request (a GET on
    SQLite) may be refused the write when another writer got there first — the next
    request slides it then."""
    try:
        with session.begin_nested():
            session.execute(
                update(WebSession)
                .where(WebSession.id == row.id)
                .values(last_seen_at=now, expires_at=now + max_age)
                .execution_options(synchronize_session=False)
            )
    except OperationalError:
        return
    row.last_seen_at = now
    row.expires_at = now + max_age


def end_web_session(session: Session, token: str) -> None:
    """Sign out: the session can never be used again."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == token_digest(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()


def get_staff_user(session: Session, user_id: uuid.UUID) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise StaffUserNotFound("no such staff user")
    return user
