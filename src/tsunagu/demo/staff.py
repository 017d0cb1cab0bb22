"""Staff of the demo organizations: one user per role in each, all with the demo password.

Addresses are ``<role>@<slug>.example.jp`` (example.jp is reserved by JPRS and never
delivers mail).  The password is printed by ``tsunagu demo`` and written in docs/demo.md:
it is demo data, not a secret.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.demo.names import FAMILY_NAMES, FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES
from tsunagu.demo.organizations import ORGANIZATIONS
from tsunagu.demo.passwords import demo_password_hash
from tsunagu.demo.progress import NO_PROGRESS, Progress
from tsunagu.identity import service as identity
from tsunagu.identity.models import Membership, Organization, StaffUser

ROLES = ("owner", "admin", "member", "viewer")


@dataclass(frozen=True, slots=True)
class DemoStaff:
    org_slug: str
    email: str
    role: str
    display_name: str


def demo_staff(seed: int) -> list[DemoStaff]:
    """Every demo staff user, in a fixed order, with names drawn from ``seed``."""
    # a seeded generator on purpose: the demo must be reproducible, not secret
    rng = random.Random(seed)  # noqa: S311
    people = []
    for org in ORGANIZATIONS:
        for role in ROLES:
            family = rng.choice(FAMILY_NAMES)
            given = rng.choice(MALE_GIVEN_NAMES if rng.random() < 0.5 else FEMALE_GIVEN_NAMES)
            people.append(
                DemoStaff(
                    org_slug=org.slug,
                    email=f"{role}@{org.slug}.example.jp",
                    role=role,
                    display_name=f"{family.kanji} {given.kanji}",
                )
            )
    return people


def ensure_staff(
    session: Session,
    organizations: dict[str, Organization],
    *,
    password: str,
    seed: int,
    progress: Progress = NO_PROGRESS,
) -> tuple[list[DemoStaff], int]:
    """Create the staff users and memberships that are missing; return them and the new count."""
    people = demo_staff(seed)
    created = 0
    progress.start("staff users", len(people))
    for person in people:
        progress.advance(1)
        org = organizations[person.org_slug]
        user = session.scalar(select(StaffUser).where(StaffUser.email == person.email))
        if user is None:
            # not identity.create_staff_user: that would hash the same password 16 times
            user = StaffUser(
                email=person.email,
                display_name=person.display_name,
                password_hash=demo_password_hash(password),
                locale="ja",
            )
            session.add(user)
            session.flush()
        elif identity.find_membership(session, org.id, user.id) is not None:
            continue
        session.add(Membership(organization_id=org.id, user_id=user.id, role=person.role))
        created += 1
    session.flush()
    return people, created
