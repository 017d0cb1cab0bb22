"""The rules of issue 5 "Must hold", one behaviour per test, through the services."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from tests.integration.consent.conftest import (
    EVIDENCE,
    Orgs,
    entry_at,
    give,
    last_entry,
    new_person,
)
from tsunagu.consent import decision as pdp
from tsunagu.consent import service as consent_service
from tsunagu.consent.errors import (
    ExpiryInPast,
    MinorMustUseGuardian,
    NotGuardian,
    UnknownCategory,
    UnknownPurpose,
)
from tsunagu.core.clock import utcnow
from tsunagu.identity.models import Organization, Person
from tsunagu.identity.service import Actor
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import b64
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault

ACTOR = "api_key:test"


def add_record(
    db: Session, vault: Vault, person: Person, category: str, source: Organization
) -> None:
    vault_service.create_record(
        db,
        vault,
        person_id=person.id,
        category=category,
        payload={"value": f"{category} of {person.id}"},
        source=source,
        source_kind="api",
        actor=ACTOR,
    )


def read(
    db: Session,
    vault: Vault,
    orgs: Orgs,
    person: Person,
    categories: list[str],
    *,
    purpose: str = "marketing",
    reader: str = "home",
    at: datetime | None = None,
) -> vault_service.RecordsRead:
    return vault_service.read_records(
        db,
        vault,
        orgs.reader(reader),
        person.id,
        purpose=purpose,
        categories=categories,
        actor=ACTOR,
        at=at,
    )


@pytest.fixture
def person(db: Session, vault: Vault, orgs: Orgs) -> Person:
    someone = new_person(db, vault, orgs.home)
    add_record(db, vault, someone, "contact.email", orgs.home)
    add_record(db, vault, someone, "contact.phone", orgs.home)
    return someone


class TestWithdrawal:
    def test_the_very_next_read_is_denied(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        issued = give(db, vault, person.id, orgs.home, "marketing", ["contact"])
        assert read(db, vault, orgs, person, ["contact.email"]).records
        consent_service.withdraw_consent(db, vault.pseudonym_key, issued.consent, actor="person")
        after = read(db, vault, orgs, person, ["contact.email"])
        assert after.records == []
        assert after.decision.reason == "withdrawn"


class TestExpiry:
    def test_an_expired_consent_denies(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        now = utcnow()
        give(
            db,
            vault,
            person.id,
            orgs.home,
            "marketing",
            ["contact"],
            now=now,
            expires_at=now + timedelta(hours=1),
        )
        result = read(db, vault, orgs, person, ["contact.email"], at=now + timedelta(hours=2))
        assert not result.decision.allow
        assert result.decision.reason == "expired"
        assert result.records == []

    def test_expire_due_marks_it_expired_with_an_entry_and_a_receipt(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        now = utcnow()
        issued = give(
            db,
            vault,
            person.id,
            orgs.home,
            "marketing",
            ["contact"],
            now=now,
            expires_at=now + timedelta(hours=1),
        )
        later = now + timedelta(hours=2)
        assert consent_service.expire_due(db, vault.pseudonym_key, now=later) >= 1
        consent = consent_service.get_consent(db, issued.consent.id)
        assert consent.state == "expired"
        receipt = consent_service.receipts_of(db, consent.id)[-1]
        assert receipt.event == "expired"
        assert receipt.ledger_index is not None
        entry = entry_at(db, receipt.ledger_index)
        assert entry["kind"] == "consent.expired"
        assert entry["refs"]["consent"] == str(consent.id)


class TestPurposeChange:
    def test_another_purpose_is_denied_until_re_consent(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        give(db, vault, person.id, orgs.home, "marketing", ["contact"])
        before = read(db, vault, orgs, person, ["contact.email"], purpose="research-development")
        give(db, vault, person.id, orgs.home, "research-development", ["contact"])
        after = read(db, vault, orgs, person, ["contact.email"], purpose="research-development")
        assert (before.decision.allow, before.decision.reason) == (False, "purpose_not_consented")
        assert after.decision.allow
        assert [r.category for r in after.records] == ["contact.email"]


class TestNarrowing:
    def test_the_narrower_consent_supersedes_the_old_one(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        wide = give(db, vault, person.id, orgs.home, "marketing", ["contact"])
        narrow = give(db, vault, person.id, orgs.home, "marketing", ["contact.email"])
        old = consent_service.get_consent(db, wide.consent.id)
        assert old.state == "superseded"
        assert old.superseded_by_id == narrow.consent.id
        assert old.ended_at is not None

    def test_reads_of_the_dropped_category_are_denied(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        give(db, vault, person.id, orgs.home, "marketing", ["contact"])
        give(db, vault, person.id, orgs.home, "marketing", ["contact.email"])
        dropped = read(db, vault, orgs, person, ["contact.phone"])
        kept = read(db, vault, orgs, person, ["contact.email"])
        assert dropped.records == []
        assert not dropped.decision.allow
        assert kept.decision.allow


class TestNoPooling:
    def test_separate_consents_do_not_combine_into_one_read(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        # one recipient and purpose has one consent in force (a new one supersedes), so
        # the two separate consents differ in purpose: A covers e-mail, B covers phone
        give(db, vault, person.id, orgs.home, "marketing", ["contact.email"])
        give(db, vault, person.id, orgs.home, "service-provision", ["contact.phone"])
        for purpose in ("marketing", "service-provision"):
            both = read(
                db, vault, orgs, person, ["contact.email", "contact.phone"], purpose=purpose
            )
            assert not both.decision.allow
            assert both.decision.reason == "categories_not_covered"
            assert both.records == []


class TestRecipient:
    def test_a_consent_to_another_recipient_does_not_help(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        give(db, vault, person.id, orgs.home, "marketing", ["contact"])
        result = read(db, vault, orgs, person, ["contact.email"], reader="other")
        assert not result.decision.allow
        assert result.decision.reason == "no_consent"


class TestReasons:
    def test_no_consent_at_all(self, db: Session, vault: Vault, orgs: Orgs, person: Person) -> None:
        assert read(db, vault, orgs, person, ["contact.email"]).decision.reason == "no_consent"

    def test_a_consent_for_another_purpose_only(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        give(db, vault, person.id, orgs.home, "service-provision", ["contact"])
        result = read(db, vault, orgs, person, ["contact.email"])
        assert result.decision.reason == "purpose_not_consented"

    def test_a_covering_consent_gives_its_id(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        issued = give(db, vault, person.id, orgs.home, "marketing", ["contact"])
        result = read(db, vault, orgs, person, ["contact.email"])
        assert result.decision.reason == "consent_covers"
        assert result.decision.consent_ids == (issued.consent.id,)


class TestExpiredReason:
    def test_stays_expired_after_the_sweep(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        now = utcnow()
        give(
            db,
            vault,
            person.id,
            orgs.home,
            "marketing",
            ["contact"],
            now=now,
            expires_at=now + timedelta(hours=1),
        )
        later = now + timedelta(hours=2)
        consent_service.expire_due(db, vault.pseudonym_key, now=later, person_id=person.id)
        result = read(db, vault, orgs, person, ["contact.email"], at=later)
        assert result.decision.reason == "expired"


class TestGuardians:
    BIRTH = date(2012, 6, 1)
    CHILDHOOD = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)

    def test_a_minor_cannot_consent_themself(self, db: Session, vault: Vault, orgs: Orgs) -> None:
        minor = new_person(db, vault, orgs.home, birth_date=self.BIRTH)
        with pytest.raises(MinorMustUseGuardian):
            give(db, vault, minor.id, orgs.home, "marketing", ["contact"], now=self.CHILDHOOD)

    def test_the_guardian_can(self, db: Session, vault: Vault, orgs: Orgs) -> None:
        minor = new_person(db, vault, orgs.home, birth_date=self.BIRTH)
        parent = new_person(db, vault, orgs.home, birth_date=date(1980, 1, 1))
        consent_service.add_guardian(
            db, guardian_id=parent.id, minor_id=minor.id, today=self.CHILDHOOD.date()
        )
        issued = consent_service.give_consent(
            db,
            vault.pseudonym_key,
            person_id=minor.id,
            recipient=orgs.home,
            purpose="marketing",
            categories=["contact"],
            evidence=EVIDENCE,
            actor="guardian",
            given_by="guardian",
            guardian_id=parent.id,
            now=self.CHILDHOOD,
        )
        assert issued.consent.given_by == "guardian"
        assert issued.consent.guardian_id == parent.id

    def test_the_guardian_cannot_after_the_minor_turns_18(
        self, db: Session, vault: Vault, orgs: Orgs
    ) -> None:
        minor = new_person(db, vault, orgs.home, birth_date=self.BIRTH)
        parent = new_person(db, vault, orgs.home, birth_date=date(1980, 1, 1))
        consent_service.add_guardian(
            db, guardian_id=parent.id, minor_id=minor.id, today=self.CHILDHOOD.date()
        )
        adult_day = datetime(2030, 6, 2, 9, 0, tzinfo=UTC)
        with pytest.raises(NotGuardian):
            consent_service.give_consent(
                db,
                vault.pseudonym_key,
                person_id=minor.id,
                recipient=orgs.home,
                purpose="marketing",
                categories=["contact"],
                evidence=EVIDENCE,
                actor="guardian",
                given_by="guardian",
                guardian_id=parent.id,
                now=adult_day,
            )

    def test_the_former_minor_consents_themself_at_18(
        self, db: Session, vault: Vault, orgs: Orgs
    ) -> None:
        minor = new_person(db, vault, orgs.home, birth_date=self.BIRTH)
        adult_day = datetime(2030, 6, 1, 9, 0, tzinfo=UTC)
        issued = give(db, vault, minor.id, orgs.home, "marketing", ["contact"], now=adult_day)
        assert issued.consent.given_by == "person"


class TestDecideMany:
    def test_agrees_with_decide_for_each_person(
        self, db: Session, vault: Vault, orgs: Orgs
    ) -> None:
        rng = random.Random(5)
        persons = [new_person(db, vault, orgs.home) for _ in range(12)]
        for p in persons:
            cats = rng.choice([["contact"], ["contact.email"], ["contact.phone"], []])
            if cats:
                give(
                    db, vault, p.id, orgs.home, rng.choice(["marketing", "service-provision"]), cats
                )
        reader = orgs.reader("home")
        batch = pdp.decide_many(
            db,
            vault.pseudonym_key,
            reader,
            "marketing",
            ["contact.email"],
            actor=ACTOR,
            person_ids=[p.id for p in persons],
        )
        for p in rng.sample(persons, 8):
            single = pdp.decide(
                db,
                vault.pseudonym_key,
                reader,
                p.id,
                "marketing",
                ["contact.email"],
                actor=ACTOR,
            )
            assert (p.id in batch.allowed) is single.allow
            assert (p.id in batch.denied) is not single.allow

    def test_writes_one_entry_per_outcome_counting_its_persons(
        self, db: Session, vault: Vault, orgs: Orgs
    ) -> None:
        persons = [new_person(db, vault, orgs.home) for _ in range(5)]
        for p in persons[:3]:
            give(db, vault, p.id, orgs.home, "marketing", ["contact"])
        batch = pdp.decide_many(
            db,
            vault.pseudonym_key,
            orgs.reader("home"),
            "marketing",
            ["contact.email"],
            actor=ACTOR,
            person_ids=[p.id for p in persons],
        )
        kinds = {
            entry_at(db, i)["kind"]: entry_at(db, i)["subject"]["count"]
            for i in batch.ledger_indexes
        }
        assert kinds == {"access.allowed": 3, "access.denied": 2}


class TestProvisionRecords:
    def test_reading_another_orgs_record_writes_one_with_a_ledger_entry(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        add_record(db, vault, person, "purchase.order", orgs.other)
        give(db, vault, person.id, orgs.home, "marketing", ["purchase"])
        read(db, vault, orgs, person, ["purchase.order"])
        (line,) = vault_service.provision_records(db, vault, orgs.other.id)
        assert (line.provider, line.recipient) == (orgs.other.slug, orgs.home.slug)
        assert line.ledger_index is not None
        entry = entry_at(db, line.ledger_index)
        assert entry["kind"] == "provision"
        assert entry["org"] == orgs.other.slug
        assert entry["refs"]["recipient"] == orgs.home.slug

    def test_reading_own_records_writes_none(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        give(db, vault, person.id, orgs.home, "marketing", ["contact"])
        size = ledger.tree_size(db)
        read(db, vault, orgs, person, ["contact.email"])
        assert vault_service.provision_records(db, vault, orgs.home.id) == []
        assert ledger.tree_size(db) == size + 1
        assert last_entry(db)["kind"] == "access.allowed"

    def test_a_denied_read_writes_none(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        add_record(db, vault, person, "purchase.order", orgs.other)
        read(db, vault, orgs, person, ["purchase.order"])
        assert vault_service.provision_records(db, vault, orgs.other.id) == []


class TestReceipts:
    def test_every_receipt_digest_is_its_ledger_entrys_receipt_ref(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        first = give(db, vault, person.id, orgs.home, "marketing", ["contact"])
        second = give(db, vault, person.id, orgs.home, "marketing", ["contact.email"])
        consent_service.withdraw_consent(db, vault.pseudonym_key, second.consent, actor="person")
        receipts = consent_service.receipts_of(db, first.consent.id) + consent_service.receipts_of(
            db, second.consent.id
        )
        assert sorted(r.event for r in receipts) == ["given", "given", "superseded", "withdrawn"]
        for receipt in receipts:
            assert receipt.ledger_index is not None
            assert entry_at(db, receipt.ledger_index)["refs"]["receipt"] == b64(receipt.digest)

    def test_every_receipt_digest_is_the_hash_of_its_stored_body(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        issued = give(db, vault, person.id, orgs.home, "marketing", ["contact"])
        consent_service.withdraw_consent(db, vault.pseudonym_key, issued.consent, actor="person")
        for receipt in consent_service.receipts_of(db, issued.consent.id):
            assert hashlib.sha256(receipt.body.encode()).digest() == receipt.digest


def _consent_count(db: Session, person: Person) -> int:
    return len(consent_service.consents_of_person(db, person.id))


class TestBadInputWritesNothing:
    def test_an_unknown_category_is_refused(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        size = ledger.tree_size(db)
        with pytest.raises(UnknownCategory):
            give(db, vault, person.id, orgs.home, "marketing", ["contact.fax"])
        assert ledger.tree_size(db) == size
        assert _consent_count(db, person) == 0

    def test_a_purpose_of_another_organization_is_refused(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        admin = Actor(kind="api_key", organization_id=orgs.other.id, role="admin")
        consent_service.create_purpose(
            db, admin, code="loyalty-club", label_ja="会員クラブ", label_en="Loyalty club"
        )
        size = ledger.tree_size(db)
        with pytest.raises(UnknownPurpose):
            give(db, vault, person.id, orgs.home, "loyalty-club", ["contact"])
        assert ledger.tree_size(db) == size
        assert _consent_count(db, person) == 0

    def test_an_expiry_in_the_past_is_refused(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        now = utcnow()
        size = ledger.tree_size(db)
        with pytest.raises(ExpiryInPast):
            give(
                db,
                vault,
                person.id,
                orgs.home,
                "marketing",
                ["contact"],
                now=now,
                expires_at=now - timedelta(seconds=1),
            )
        assert ledger.tree_size(db) == size
        assert _consent_count(db, person) == 0

    def test_a_read_of_an_unknown_category_is_refused(
        self, db: Session, vault: Vault, orgs: Orgs, person: Person
    ) -> None:
        give(db, vault, person.id, orgs.home, "marketing", ["contact"])
        size = ledger.tree_size(db)
        with pytest.raises(UnknownCategory):
            read(db, vault, orgs, person, ["contact.fax"])
        assert ledger.tree_size(db) == size


class TestLargeBatches:
    def test_a_batch_beyond_the_in_list_size_decides_the_same(
        self, db: Session, vault: Vault, orgs: Orgs
    ) -> None:
        consenting = [new_person(db, vault, orgs.home) for _ in range(3)]
        for p in consenting:
            give(db, vault, p.id, orgs.home, "marketing", ["contact"])
        outsider = new_person(db, vault, orgs.home)
        give(db, vault, outsider.id, orgs.home, "marketing", ["contact"])
        strangers = [uuid.uuid4() for _ in range(600)]
        wanted = [p.id for p in consenting] + strangers
        batch = pdp.decide_many(
            db,
            vault.pseudonym_key,
            orgs.reader("home"),
            "marketing",
            ["contact.email"],
            actor=ACTOR,
            person_ids=wanted,
        )
        assert set(batch.allowed) == {p.id for p in consenting}
        assert batch.denied == frozenset(strangers)
