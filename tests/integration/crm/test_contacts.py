"""Contacts through the consent decision point: single reads and campaign audiences."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from tests.integration.consent.conftest import last_entry
from tests.integration.crm.campaign_helpers import ACTOR, World, new_world
from tsunagu.consent import service as consent_service
from tsunagu.consent.errors import UnknownPurpose
from tsunagu.crm import campaigns, contacts
from tsunagu.ledger import service as ledger
from tsunagu.vault.service import Vault


@pytest.fixture
def world(db: Session, vault: Vault) -> World:
    return new_world(db, vault)


class TestReadContact:
    def test_consenting_person_is_read_with_the_vault_email(self, world: World) -> None:
        person = world.person(email="hanako@example.jp", consent=True)
        contact = contacts.read_contact(
            world.db, world.vault, organization_id=world.org.id, person_id=person.id, actor=ACTOR
        )
        assert contact is not None
        assert contact.email == "hanako@example.jp"

    def test_allowed_read_is_a_ledger_entry(self, world: World) -> None:
        person = world.person(consent=True)
        contact = contacts.read_contact(
            world.db, world.vault, organization_id=world.org.id, person_id=person.id, actor=ACTOR
        )
        assert contact is not None
        assert last_entry(world.db)["kind"] == "access.allowed"

    def test_person_without_consent_is_denied_and_recorded(self, world: World) -> None:
        person = world.person(consent=False)
        size = ledger.tree_size(world.db)
        contact = contacts.read_contact(
            world.db, world.vault, organization_id=world.org.id, person_id=person.id, actor=ACTOR
        )
        assert contact is None
        assert ledger.tree_size(world.db) == size + 1
        assert last_entry(world.db)["kind"] == "access.denied"

    def test_unknown_purpose_is_refused(self, world: World) -> None:
        person = world.person(consent=True)
        with pytest.raises(UnknownPurpose):
            contacts.read_contact(
                world.db,
                world.vault,
                organization_id=world.org.id,
                person_id=person.id,
                actor=ACTOR,
                purpose="no-such-purpose",
            )


class TestAudience:
    def test_only_consenting_persons_are_in_the_audience(self, world: World) -> None:
        yes = world.entity(person=world.person(consent=True))
        no = world.entity(person=world.person(consent=False))
        nobody = world.entity()
        allowed = contacts.audience(
            world.db,
            world.vault,
            organization_id=world.org.id,
            entity_ids=[yes.id, no.id, nobody.id],
            actor=ACTOR,
        )
        assert allowed == [yes.id]

    def test_one_bulk_decision_writes_one_entry_per_outcome(self, world: World) -> None:
        entities = [world.entity(person=world.person(consent=True)) for _ in range(3)]
        entities += [world.entity(person=world.person(consent=False)) for _ in range(2)]
        size = ledger.tree_size(world.db)
        contacts.audience(
            world.db,
            world.vault,
            organization_id=world.org.id,
            entity_ids=[e.id for e in entities],
            actor=ACTOR,
        )
        assert ledger.tree_size(world.db) == size + 2

    def test_withdrawal_leaves_every_campaign_audience_by_itself(self, world: World) -> None:
        person = world.person(consent=True)
        entity = world.entity(person=person)
        ids = []
        for channel in ("seminar", "mail"):
            campaign = campaigns.create_campaign(
                world.db, world.org.id, name=channel, channel=channel, starts_on=date(2026, 1, 1)
            )
            campaigns.add_members(world.db, world.org.id, campaign.id, [entity.id])
            ids.append(campaign.id)
        key = world.vault.pseudonym_key

        def sizes() -> list[int]:
            return [
                len(
                    campaigns.campaign_audience(world.db, key, world.org.id, c, actor=ACTOR).allowed
                )
                for c in ids
            ]

        assert sizes() == [1, 1]
        (consent,) = consent_service.consents_of_person(world.db, person.id)
        consent_service.withdraw_consent(world.db, key, consent, actor="person")
        assert sizes() == [0, 0]

    def test_another_organizations_entities_are_never_in_the_audience(
        self, world: World, db: Session, vault: Vault
    ) -> None:
        other = new_world(db, vault)
        theirs = other.entity(person=other.person(consent=True))
        allowed = contacts.audience(
            world.db,
            world.vault,
            organization_id=world.org.id,
            entity_ids=[theirs.id],
            actor=ACTOR,
        )
        assert allowed == []

    def test_dry_count_writes_no_ledger_entry(self, world: World) -> None:
        entity = world.entity(person=world.person(consent=True))
        size = ledger.tree_size(world.db)
        result = contacts.decide_audience(
            world.db,
            world.vault.pseudonym_key,
            organization_id=world.org.id,
            entity_ids=[entity.id],
            actor=ACTOR,
            record=False,
        )
        assert (result.asked, len(result.allowed)) == (1, 1)
        assert ledger.tree_size(world.db) == size
