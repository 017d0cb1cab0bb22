"""Plain typed factories for tests: an organization, staff, an API key in one line each.

They call the identity services (so the data is what production would write) and only
flush; call ``db.commit()`` before using the ``client`` fixture (in tests it only releases
a savepoint).  Passwords are hashed with argon2 (~50 ms): make few staff users.
"""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from tsunagu.identity import service
from tsunagu.identity.models import Organization, StaffUser

DEFAULT_PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def _unique(stem: str) -> str:
    return f"{stem}-{next(_counter)}"


def create_org(
    db: Session, *, slug: str | None = None, name: str | None = None, kind: str = "company"
) -> Organization:
    """An organization with a unique slug unless one is given."""
    slug = slug or _unique("org")
    return service.create_organization(db, slug=slug, name=name or slug.title(), kind=kind)


def create_api_key(
    db: Session, org: Organization, *, role: str = "admin", name: str = "test key"
) -> str:
    """A new API key of ``org``; returns the plain key (``Authorization: Bearer KEY``)."""
    _, plain = service.create_api_key(db, organization=org, name=name, role=role)
    return plain


def create_staff(
    db: Session,
    org: Organization,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    role: str = "member",
    display_name: str | None = None,
) -> StaffUser:
    """A staff user with a membership in ``org`` (an existing e-mail joins ``org``, as an
    operator may let it)."""
    email = email or f"{_unique('staff')}@example.com"
    user, _ = service.create_staff_user(
        db,
        organization=org,
        email=email,
        password=password,
        role=role,
        display_name=display_name,
        join_existing=True,
    )
    return user


def bearer(key: str) -> dict[str, str]:
    """Request headers that authenticate with ``key``."""
    return {"Authorization": f"Bearer {key}"}
