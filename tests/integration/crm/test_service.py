"""The pipeline core against a real database: entities, moves appended as events with the
next seq, the current stage derived from them, and the checks a move must pass."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from tests.support.factories import create_org, create_staff
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput
from tsunagu.crm import service
from tsunagu.crm.campaigns import create_campaign
from tsunagu.crm.errors import (
    CampaignNotFound,
    EntityNotFound,
    EntityRefTaken,
    InvalidTransition,
    ReasonRequired,
    StaleStage,
    UnknownStage,
)
from tsunagu.crm.stages import DEFAULT_MODEL, DEFAULT_STAGES, model_from_rows
from tsunagu.identity.models import Organization, Person

JAN = datetime(2026, 1, 5, tzinfo=UTC)


def new_entity(db: Session, org: Organization, ref: str = "A-1") -> uuid.UUID:
    return service.create_entity(db, org.id, ref=ref, name="株式会社あさひ").id


class TestEntities:
    def test_a_new_entity_has_no_stage(self, db: Session) -> None:
        org = create_org(db)

        entity_id = new_entity(db, org)

        assert service.current(db, entity_id) is None

    def test_a_ref_is_unique_within_an_organization(self, db: Session) -> None:
        org = create_org(db)
        new_entity(db, org)

        with pytest.raises(EntityRefTaken):
            new_entity(db, org)

    def test_two_organizations_may_use_the_same_ref(self, db: Session) -> None:
        new_entity(db, create_org(db))

        assert new_entity(db, create_org(db))

    def test_another_tenants_entity_is_not_found(self, db: Session) -> None:
        theirs = new_entity(db, create_org(db))
        org = create_org(db)

        with pytest.raises(EntityNotFound):
            service.get_entity(db, org.id, theirs)

    def test_another_tenants_history_is_not_found(self, db: Session) -> None:
        theirs = new_entity(db, create_org(db))
        org = create_org(db)

        with pytest.raises(EntityNotFound):
            service.history(db, org.id, theirs)

    def test_a_negative_amount_is_refused(self, db: Session) -> None:
        org = create_org(db)

        with pytest.raises(InvalidInput):
            service.create_entity(db, org.id, ref="A", name="x", amount=-1)


class TestMove:
    def test_each_move_appends_the_next_seq_from_the_current_stage(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)

        first = service.move(db, org.id, entity_id, "lead", actor="t", at=JAN)
        second = service.move(db, org.id, entity_id, "qualified", actor="t", at=JAN + timedelta(1))

        assert (first.seq, first.from_stage) == (1, None)
        assert (second.seq, second.from_stage, second.to_stage) == (2, "lead", "qualified")

    def test_the_current_stage_is_the_last_moves_stage(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)
        service.move(db, org.id, entity_id, "lead", actor="t", at=JAN)
        service.move(db, org.id, entity_id, "nurturing", actor="t", at=JAN + timedelta(1))

        here = service.current(db, entity_id)

        assert here is not None
        assert (here.stage, here.seq, here.at) == ("nurturing", 2, JAN + timedelta(1))

    def test_the_history_keeps_every_event_in_order(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)
        for day, stage in enumerate(("lead", "nurturing", "recycle", "promising")):
            service.move(db, org.id, entity_id, stage, actor="t", at=JAN + timedelta(day))

        history = service.history(db, org.id, entity_id)

        assert [(t.seq, t.to_stage) for t in history] == [
            (1, "lead"),
            (2, "nurturing"),
            (3, "recycle"),
            (4, "promising"),
        ]

    def test_stage_counts_count_entities_by_current_stage(self, db: Session) -> None:
        org = create_org(db)
        for ref, stages in (("A", ["lead"]), ("B", ["lead", "nurturing"]), ("C", [])):
            entity_id = new_entity(db, org, ref)
            for day, stage in enumerate(stages):
                service.move(db, org.id, entity_id, stage, actor="t", at=JAN + timedelta(day))

        assert service.stage_counts(db, org.id) == {"lead": 1, "nurturing": 1}

    def test_a_stale_expected_stage_is_refused(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)
        service.move(db, org.id, entity_id, "lead", actor="t", at=JAN)

        with pytest.raises(StaleStage):
            service.move(db, org.id, entity_id, "nurturing", actor="t", expected_from="promising")

    def test_expecting_no_stage_for_a_new_entity_passes(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)

        moved = service.move(db, org.id, entity_id, "lead", actor="t", expected_from=None)

        assert moved.seq == 1

    def test_time_going_backwards_is_refused(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)
        service.move(db, org.id, entity_id, "lead", actor="t", at=JAN)

        with pytest.raises(InvalidTransition):
            service.move(db, org.id, entity_id, "nurturing", actor="t", at=JAN - timedelta(1))

    def test_a_move_at_the_same_instant_is_accepted(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)
        service.move(db, org.id, entity_id, "lead", actor="t", at=JAN)

        moved = service.move(db, org.id, entity_id, "dead_end", actor="t", at=JAN)

        assert moved.seq == 2

    def test_a_move_in_the_future_is_refused(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)

        with pytest.raises(InvalidInput):
            service.move(db, org.id, entity_id, "lead", actor="t", at=utcnow() + timedelta(hours=1))

    def test_a_naive_time_is_refused(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)

        with pytest.raises(InvalidInput):
            service.move(db, org.id, entity_id, "lead", actor="t", at=datetime(2026, 1, 5))  # noqa: DTZ001

    def test_lost_needs_a_reason(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)
        service.move(db, org.id, entity_id, "opportunity", actor="t", at=JAN)

        with pytest.raises(ReasonRequired):
            service.move(db, org.id, entity_id, "lost", actor="t", reason="  ")

    def test_lost_from_an_import_needs_no_reason(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)
        service.move(db, org.id, entity_id, "opportunity", actor="t", at=JAN)

        moved = service.move(db, org.id, entity_id, "lost", actor="t", source="import")

        assert moved.to_stage == "lost"

    def test_a_move_the_model_forbids_is_refused(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)
        service.move(db, org.id, entity_id, "lead", actor="t", at=JAN)

        with pytest.raises(InvalidTransition):
            service.move(db, org.id, entity_id, "churned", actor="t")

    def test_nothing_moves_out_of_dead_end(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)
        service.move(db, org.id, entity_id, "lead", actor="t", at=JAN)
        service.move(db, org.id, entity_id, "dead_end", actor="t", at=JAN)

        with pytest.raises(InvalidTransition, match="terminal"):
            service.move(db, org.id, entity_id, "nurturing", actor="t")

    def test_an_unknown_stage_is_refused(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)

        with pytest.raises(UnknownStage):
            service.move(db, org.id, entity_id, "mars", actor="t")

    def test_another_tenants_entity_cannot_be_moved(self, db: Session) -> None:
        theirs = new_entity(db, create_org(db))
        org = create_org(db)

        with pytest.raises(EntityNotFound):
            service.move(db, org.id, theirs, "lead", actor="t")

        assert service.current(db, theirs) is None


class TestStageModelStorage:
    def test_an_organization_without_rows_uses_the_default(self, db: Session) -> None:
        assert service.load_model(db, create_org(db).id) == DEFAULT_MODEL

    def test_a_saved_model_is_loaded_back(self, db: Session) -> None:
        org = create_org(db)
        model = model_from_rows(DEFAULT_STAGES, [("opportunity", "lost")])

        service.save_model(db, org.id, model)

        assert service.load_model(db, org.id) == model

    def test_a_model_dropping_a_used_stage_is_refused(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)
        service.move(db, org.id, entity_id, "recycle", actor="t", at=JAN)
        stages = [s for s in DEFAULT_STAGES if s.key != "recycle"]
        stages.append(replace(next(s for s in DEFAULT_STAGES if s.key == "recycle"), key="parked"))

        with pytest.raises(InvalidInput, match="recycle"):
            service.save_model(db, org.id, model_from_rows(stages))

    def test_moves_follow_the_organizations_own_model(self, db: Session) -> None:
        org = create_org(db)
        service.save_model(db, org.id, model_from_rows(DEFAULT_STAGES, [("opportunity", "lost")]))
        entity_id = new_entity(db, org)
        service.move(db, org.id, entity_id, "lead", actor="t", at=JAN)

        with pytest.raises(InvalidTransition):
            service.move(db, org.id, entity_id, "recycle", actor="t")


class TestInputsFromOtherTenants:
    def test_a_person_the_organization_does_not_know_is_refused(self, db: Session) -> None:
        org = create_org(db)
        stranger = Person(family_name="山田", given_name="花子")
        db.add(stranger)
        db.flush()

        with pytest.raises(InvalidInput, match="known to you"):
            service.create_entity(db, org.id, ref="A", name="x", person_id=stranger.id)

    def test_an_owner_who_is_not_staff_of_the_organization_is_refused(self, db: Session) -> None:
        org = create_org(db)
        outsider = create_staff(db, create_org(db))

        with pytest.raises(InvalidInput, match="not staff"):
            service.create_entity(db, org.id, ref="A", name="x", owner_user_id=outsider.id)

    def test_a_move_credited_to_another_tenants_campaign_is_refused(self, db: Session) -> None:
        org, other = create_org(db), create_org(db)
        theirs = create_campaign(
            db, other.id, name="展示会", channel="exhibition", starts_on=JAN.date()
        )
        entity_id = new_entity(db, org)

        with pytest.raises(CampaignNotFound):
            service.move(db, org.id, entity_id, "lead", actor="t", campaign_id=theirs.id)


class TestUnstorableInput:
    def test_a_move_dated_before_1900_is_refused(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)

        with pytest.raises(InvalidInput, match="1900"):
            service.move(db, org.id, entity_id, "lead", actor="t", at=datetime(1, 1, 1, tzinfo=UTC))

    def test_a_nul_character_in_a_name_is_refused(self, db: Session) -> None:
        org = create_org(db)

        with pytest.raises(InvalidInput, match="NUL"):
            service.create_entity(db, org.id, ref="A", name="a\x00b")

    def test_a_nul_character_in_a_reason_is_refused(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)

        with pytest.raises(InvalidInput, match="NUL"):
            service.move(db, org.id, entity_id, "lead", actor="t", reason="\x00")

    def test_an_amount_beyond_the_column_is_refused(self, db: Session) -> None:
        org = create_org(db)
        entity_id = new_entity(db, org)

        with pytest.raises(InvalidInput, match="larger than"):
            service.move(db, org.id, entity_id, "lead", actor="t", amount=10**30)

    def test_an_entity_amount_beyond_the_column_is_refused(self, db: Session) -> None:
        org = create_org(db)

        with pytest.raises(InvalidInput, match="larger than"):
            service.create_entity(db, org.id, ref="A", name="x", amount=10**30)
