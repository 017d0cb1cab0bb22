"""The demo world's usage history in the ledger (SQLite and PostgreSQL): what it records
about the portal persons, that it is written once, and that the log it makes verifies."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.core.settings import Settings
from tsunagu.demo import PORTAL_PERSONS, build_world
from tsunagu.demo.ledger import CLEANROOM_SIZE, demo_entries
from tsunagu.identity.models import Person
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import b64, pseudonym
from tsunagu.ledger.note import Verifier
from tsunagu.ledger.verify import verify_stored
from tsunagu.web.ledger_pages import log_signer

PERSONS = 350
SEED = 5


def _portal_person(db: Session, number: int) -> Person:
    person = db.scalar(select(Person).where(Person.email == PORTAL_PERSONS[number].email))
    assert person is not None
    return person


def _kinds_about(db: Session, settings: Settings, person: Person) -> list[str]:
    me = b64(pseudonym(settings.resolved_ledger_pseudonym_key(), person.id))
    return [json.loads(data)["kind"] for _index, data in ledger.entries_about(db, me)]


class TestDemoLedger:
    def test_every_portal_person_has_a_history_with_a_clean_room_query(
        self, db: Session, settings: Settings
    ) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        for number in range(len(PORTAL_PERSONS)):
            kinds = _kinds_about(db, settings, _portal_person(db, number))
            assert {"consent.given", "consent.withdrawn", "access.allowed", "access.denied"} <= set(
                kinds
            )
            # the demo's own history has one; the linkage scenario adds real ones for 花子
            assert kinds.count("cleanroom.query") >= 1

    def test_the_clean_room_query_covers_a_few_hundred_persons(
        self, db: Session, settings: Settings
    ) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        me = pseudonym(settings.resolved_ledger_pseudonym_key(), _portal_person(db, 0).id)
        bulk = [
            index
            for index, data in ledger.entries_about(db, b64(me))
            if json.loads(data)["kind"] == "cleanroom.query"
        ]
        sets = [ledger.subject_set_members(db, index) for index in bulk]
        assert CLEANROOM_SIZE in [len(members) for members in sets]
        assert all(me in members for members in sets)

    def test_building_again_writes_no_entry(self, db: Session, settings: Settings) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)
        size = ledger.tree_size(db)

        again = build_world(db, seed=SEED, person_count=PERSONS, settings=settings)

        assert ledger.tree_size(db) == size
        assert {r.name: r.created for r in again.reports}["ledger entries"] == 0

    def test_the_log_it_writes_verifies_under_a_published_checkpoint(
        self, db: Session, settings: Settings
    ) -> None:
        build_world(db, seed=SEED, person_count=PERSONS, settings=settings)
        signer = log_signer(settings)

        report = verify_stored(db, Verifier(signer.name, signer.public_key))

        checkpoint = ledger.latest_checkpoint(db)
        assert checkpoint is not None
        assert checkpoint.size == ledger.tree_size(db) == report.size
        assert report.problems == []


class TestDemoEntries:
    def test_the_same_seed_gives_the_same_history(self) -> None:
        portal = [uuid.UUID(int=1), uuid.UUID(int=2)]
        others = [uuid.UUID(int=100 + i) for i in range(200)]
        key = bytes(32)

        first = demo_entries(portal, others, key, SEED)
        second = demo_entries(portal, others, key, SEED)

        assert first == second
        assert [e.time for e in first] == sorted(e.time for e in first if e.time)
