"""Building the demo world on a real database (SQLite and PostgreSQL): what it creates,
that building again creates nothing, and that its accounts can sign in."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.consent.models import Guardianship
from tsunagu.core.settings import Settings
from tsunagu.demo import DEMO_PASSWORD, PORTAL_PERSONS, build_world
from tsunagu.demo.linkage import scale_for
from tsunagu.demo.organizations import ORGANIZATIONS
from tsunagu.demo.persons import generate_persons
from tsunagu.identity import service
from tsunagu.identity.models import Membership, Organization, Person, StaffUser

#: small, so that each build (and its argon2 hashes) stays quick
PERSONS = 120
SEED = 11


def counts(db: Session) -> dict[str, int]:
    return {
        model.__tablename__: db.scalar(select(func.count()).select_from(model)) or 0
        for model in (Organization, StaffUser, Membership, Person)
    }


class TestBuildWorld:
    def test_creates_the_four_organizations_with_their_kinds(
        self, db: Session, settings: Settings
    ) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        kinds = {
            row.slug: row.kind for row in db.execute(select(Organization.slug, Organization.kind))
        }
        assert kinds == {org.slug: org.kind for org in ORGANIZATIONS}
        assert sorted(kinds.values()).count("municipality") == 1

    def test_creates_the_generated_and_the_portal_persons(
        self, db: Session, settings: Settings
    ) -> None:
        summary = build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        # every minor of the demo is a person of its own, with exactly one guardian
        minors = db.scalar(select(func.count()).select_from(Guardianship)) or 0
        # the retailer's customers of the linkage scenario are persons too
        customers = scale_for(PERSONS).customers
        assert counts(db)["persons"] == PERSONS + len(PORTAL_PERSONS) + minors + customers
        assert {r.name: r.created for r in summary.reports}["persons"] == PERSONS
        first = next(generate_persons(1, SEED))
        stored = db.get(Person, first.id)
        assert stored is not None
        assert (stored.family_name_kana, stored.address) == (first.family_name_kana, first.address)

    def test_building_again_creates_nothing(self, db: Session, settings: Settings) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)
        before = counts(db)

        again = build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        assert counts(db) == before
        assert all(report.created == 0 for report in again.reports)

    def test_staff_sign_in_with_the_demo_password_in_every_role(
        self, db: Session, settings: Settings
    ) -> None:
        summary = build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        roles = set()
        for staff in summary.staff[:4]:
            _user, membership = service.authenticate_staff(
                db, email=staff.email, password=DEMO_PASSWORD, org_slug=staff.org_slug
            )
            roles.add(membership.role)
        assert roles == {"owner", "admin", "member", "viewer"}

    def test_portal_persons_sign_in_with_the_demo_password(
        self, db: Session, settings: Settings
    ) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        for spec in PORTAL_PERSONS:
            person = service.authenticate_person(db, email=spec.email, password=DEMO_PASSWORD)
            assert person.family_name_kana == spec.family_name_kana
