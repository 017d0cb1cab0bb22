"""The demo world's vault and consents (SQLite and PostgreSQL): records at every
organization under customer numbers, consents in every state, minors with guardians, and
the portal persons' full picture — built once more, nothing is added."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.consent import service as consent_service
from tsunagu.consent.models import Consent, Guardianship
from tsunagu.core.clock import utcnow
from tsunagu.core.settings import Settings
from tsunagu.demo import build_world
from tsunagu.demo.consents import plan
from tsunagu.demo.persons import generate_persons
from tsunagu.identity.models import Organization, Person, PersonLink
from tsunagu.vault import service as vault_service
from tsunagu.vault.models import ProvisionRecord, Record
from tsunagu.vault.service import Vault

PERSONS = 300
SEED = 11
HANAKO = "hanako.yamada@example.jp"
KENICHI = "kenichi.sato@example.jp"


def person_id(db: Session, email: str) -> uuid.UUID:
    found = db.scalar(select(Person.id).where(Person.email == email))
    assert found is not None
    return found


def states(db: Session, person: uuid.UUID) -> set[str]:
    now = utcnow()
    return {
        consent_service.effective_state(c, now)
        for c in db.scalars(select(Consent).where(Consent.person_id == person))
    }


class TestDemoVault:
    def test_every_organization_holds_records_under_its_own_customer_numbers(
        self, db: Session, settings: Settings
    ) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        rows = db.execute(
            select(Organization.slug, func.count(Record.id))
            .join(Record, Record.source_id == Organization.id)
            .group_by(Organization.slug)
        ).all()
        assert {slug for slug, n in rows if n > 0} == {
            "hikari-mart",
            "minamoto-foods",
            "sakura-motors",
            "tsunagino-city",
        }
        hikari = db.scalar(select(Organization).where(Organization.slug == "hikari-mart"))
        assert hikari is not None
        found = vault_service.person_by_ref(db, hikari.id, "HM-900001")
        assert found.email == HANAKO

    def test_consents_exist_in_every_state(self, db: Session, settings: Settings) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        counted = dict(
            db.execute(select(Consent.state, func.count()).group_by(Consent.state)).all()
        )
        assert set(counted) == {"given", "withdrawn", "expired", "superseded"}

    def test_minors_have_guardians_and_consents_given_by_them(
        self, db: Session, settings: Settings
    ) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        today = utcnow().date()
        for guardianship in db.scalars(select(Guardianship)):
            minor = db.get(Person, guardianship.minor_id)
            assert minor is not None
            assert consent_service.is_minor(minor, today)
        by_guardian = db.scalars(select(Consent).where(Consent.given_by == "guardian")).all()
        assert by_guardian
        assert all(
            consent_service.is_guardian_of(db, c.guardian_id, c.person_id, today)
            for c in by_guardian
            if c.guardian_id is not None
        )


class TestPortalPersonsPicture:
    def test_records_come_from_several_organizations_with_a_sensitive_one(
        self, db: Session, settings: Settings, vault: Vault
    ) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        view = vault_service.subject_view(db, vault, person_id(db, HANAKO))

        assert len(view.by_source) >= 3
        assert "health.blood_pressure" in view.by_source["tsunagino-city"]

    def test_each_has_consents_in_every_state(self, db: Session, settings: Settings) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        for email in (HANAKO, KENICHI):
            assert states(db, person_id(db, email)) == {
                "given",
                "withdrawn",
                "expired",
                "superseded",
            }

    def test_each_has_a_pending_reconsent_and_an_open_request(
        self, db: Session, settings: Settings
    ) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        for email in (HANAKO, KENICHI):
            me = person_id(db, email)
            assert consent_service.pending_requests(db, me)
            requests = vault_service.requests_of(db, me)
            assert [r.state for r in requests] == ["open"]

    def test_another_organization_read_their_data_under_consent(
        self, db: Session, settings: Settings
    ) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        provided = db.scalars(
            select(ProvisionRecord).where(ProvisionRecord.person_id == person_id(db, HANAKO))
        ).all()
        assert {(p.purpose, p.categories) for p in provided} >= {
            ("research-development", "purchase.order"),
            ("public-service", "licence.driving"),
        }

    def test_hanako_is_guardian_of_her_child(self, db: Session, settings: Settings) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        wards = consent_service.wards_of(db, person_id(db, HANAKO), utcnow().date())

        assert [(w.family_name, w.birth_date) for w in wards] == [("山田", date(2015, 8, 20))]


class TestRebuilding:
    def test_building_again_adds_no_record_link_or_consent(
        self, db: Session, settings: Settings
    ) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)
        models = (Record, PersonLink, Consent, Guardianship, Person, ProvisionRecord)
        before = [db.scalar(select(func.count()).select_from(m)) for m in models]

        again = build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        assert [db.scalar(select(func.count()).select_from(m)) for m in models] == before
        assert {r.name: r.created for r in again.reports}["consents"] == 0

    def test_the_plan_depends_only_on_the_seed(self) -> None:
        seeds = list(generate_persons(200, SEED))

        first, second = plan(seeds, SEED), plan(seeds, SEED)

        assert first.links == second.links
        assert [(e.at, e.kind, e.person_id) for e in first.events] == [
            (e.at, e.kind, e.person_id) for e in second.events
        ]
