"""Activities and the automatic stage rules (``crm.activities``) on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.factories import create_org
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput
from tsunagu.crm import activities, service
from tsunagu.crm.activities import ActivityIn, kind_label, record_activities, record_activity
from tsunagu.crm.errors import CampaignNotFound, EntityNotFound
from tsunagu.crm.models import CrmActivity, CrmCampaign, CrmEntity, CrmTransition
from tsunagu.identity.models import Organization

T0 = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)


def _entity(db: Session, org: Organization, ref: str = "E-1") -> CrmEntity:
    return service.create_entity(db, org.id, ref=ref, name=f"株式会社{ref}")


def _at(days: int) -> datetime:
    return T0 + timedelta(days=days)


def _stage(db: Session, entity: CrmEntity) -> str | None:
    here = service.current(db, entity.id)
    return here.stage if here else None


def _path(db: Session, entity: CrmEntity, *stages: str) -> None:
    for day, stage in enumerate(stages):
        service.move(db, entity.organization_id, entity.id, stage, actor="test", at=_at(day),
                     reason="test")  # fmt: skip


@pytest.fixture
def org(db: Session) -> Organization:
    return create_org(db)


class TestFirstStage:
    def test_an_entity_without_a_stage_starts_in_the_rules_stage(
        self, db: Session, org: Organization
    ) -> None:
        entity = _entity(db, org)
        recorded = record_activity(db, org.id, entity.id, kind="inquiry", at=_at(0))
        assert recorded.transition is not None
        assert (recorded.transition.from_stage, recorded.transition.to_stage) == (
            None,
            "promising",
        )

    def test_a_kind_without_a_rule_leaves_the_entity_without_a_stage(
        self, db: Session, org: Organization
    ) -> None:
        entity = _entity(db, org)
        recorded = record_activity(db, org.id, entity.id, kind="meeting", at=_at(0))
        assert recorded.transition is None
        assert _stage(db, entity) is None


class TestForwardOnly:
    def test_a_click_moves_a_lead_into_nurturing(self, db: Session, org: Organization) -> None:
        entity = _entity(db, org)
        _path(db, entity, "lead")
        record_activity(db, org.id, entity.id, kind="mail_click", at=_at(5))
        assert _stage(db, entity) == "nurturing"

    def test_an_appointment_fast_passes_a_lead_into_qualified(
        self, db: Session, org: Organization
    ) -> None:
        entity = _entity(db, org)
        _path(db, entity, "lead")
        record_activity(db, org.id, entity.id, kind="appointment", at=_at(5))
        assert _stage(db, entity) == "qualified"

    def test_a_click_never_moves_a_qualified_contact_back(
        self, db: Session, org: Organization
    ) -> None:
        entity = _entity(db, org)
        _path(db, entity, "lead", "qualified")
        recorded = record_activity(db, org.id, entity.id, kind="mail_click", at=_at(5))
        assert recorded.transition is None
        assert _stage(db, entity) == "qualified"

    def test_a_repeat_of_the_same_kind_does_not_move_again(
        self, db: Session, org: Organization
    ) -> None:
        entity = _entity(db, org)
        _path(db, entity, "nurturing")
        assert (
            record_activity(db, org.id, entity.id, kind="site_visit", at=_at(5)).transition is None
        )

    def test_a_customer_is_not_moved_by_a_click(self, db: Session, org: Organization) -> None:
        entity = _entity(db, org)
        _path(db, entity, "opportunity", "won", "onboarding")
        record_activity(db, org.id, entity.id, kind="mail_click", at=_at(5))
        assert _stage(db, entity) == "onboarding"

    def test_a_lost_deal_is_not_moved_by_an_inquiry(self, db: Session, org: Organization) -> None:
        entity = _entity(db, org)
        _path(db, entity, "opportunity", "lost")
        record_activity(db, org.id, entity.id, kind="inquiry", at=_at(5))
        assert _stage(db, entity) == "lost"

    def test_an_activity_dated_before_the_last_move_is_recorded_without_a_move(
        self, db: Session, org: Organization
    ) -> None:
        entity = _entity(db, org)
        _path(db, entity, "lead", "nurturing")
        recorded = record_activity(
            db, org.id, entity.id, kind="inquiry", at=_at(0) - timedelta(hours=1)
        )
        assert recorded.transition is None
        assert recorded.activity.transition_id is None


class TestRecycleReturn:
    def test_a_recycled_contact_who_clicks_returns_to_nurturing(
        self, db: Session, org: Organization
    ) -> None:
        entity = _entity(db, org)
        _path(db, entity, "lead", "promising", "recycle")
        record_activity(db, org.id, entity.id, kind="mail_click", at=_at(5))
        assert _stage(db, entity) == "nurturing"

    def test_a_recycled_contact_who_sets_an_appointment_returns_to_qualified(
        self, db: Session, org: Organization
    ) -> None:
        entity = _entity(db, org)
        _path(db, entity, "promising", "recycle")
        record_activity(db, org.id, entity.id, kind="appointment", at=_at(5))
        assert _stage(db, entity) == "qualified"


class TestTerminal:
    @pytest.mark.parametrize("kind", ["mail_click", "inquiry", "appointment"])
    def test_a_dead_end_is_never_moved(self, db: Session, org: Organization, kind: str) -> None:
        entity = _entity(db, org)
        _path(db, entity, "lead", "dead_end")
        assert record_activity(db, org.id, entity.id, kind=kind, at=_at(5)).transition is None
        assert _stage(db, entity) == "dead_end"

    def test_a_churned_customer_is_never_moved(self, db: Session, org: Organization) -> None:
        entity = _entity(db, org)
        _path(db, entity, "won", "onboarding", "churned")
        record_activity(db, org.id, entity.id, kind="inquiry", at=_at(5))
        assert _stage(db, entity) == "churned"


class TestTheRecordedMove:
    def test_the_transition_is_the_rules_and_linked_on_the_activity(
        self, db: Session, org: Organization
    ) -> None:
        entity = _entity(db, org)
        _path(db, entity, "lead")
        recorded = record_activity(db, org.id, entity.id, kind="material_request", at=_at(3))
        assert recorded.transition is not None
        assert recorded.transition.source == "rule"
        assert recorded.transition.actor == "rule:material_request"
        assert recorded.activity.transition_id == recorded.transition.id

    def test_the_move_is_credited_to_the_activitys_campaign(
        self, db: Session, org: Organization
    ) -> None:
        campaign = CrmCampaign(
            organization_id=org.id, name="春の展示会", channel="exhibition", starts_on=T0.date()
        )
        db.add(campaign)
        entity = _entity(db, org)
        recorded = record_activity(
            db, org.id, entity.id, kind="inquiry", at=_at(1), campaign_id=campaign.id
        )
        assert recorded.transition is not None
        assert recorded.transition.campaign_id == campaign.id


class TestValidation:
    def test_another_organizations_entity_is_not_found(
        self, db: Session, org: Organization
    ) -> None:
        other = _entity(db, create_org(db), "X-1")
        with pytest.raises(EntityNotFound):
            record_activity(db, org.id, other.id, kind="inquiry", at=_at(0))

    def test_another_organizations_campaign_is_not_found(
        self, db: Session, org: Organization
    ) -> None:
        theirs = CrmCampaign(
            organization_id=create_org(db).id, name="x", channel="mail", starts_on=T0.date()
        )
        db.add(theirs)
        db.flush()
        entity = _entity(db, org)
        with pytest.raises(CampaignNotFound):
            record_activity(db, org.id, entity.id, kind="inquiry", at=_at(0), campaign_id=theirs.id)

    @pytest.mark.parametrize("kind", ["", "Mail Click", "メール", "x" * 41])
    def test_a_kind_not_written_like_a_key_is_refused(
        self, db: Session, org: Organization, kind: str
    ) -> None:
        entity = _entity(db, org)
        with pytest.raises(InvalidInput):
            record_activity(db, org.id, entity.id, kind=kind, at=_at(0))

    def test_a_free_kind_is_accepted_and_shown_as_written(
        self, db: Session, org: Organization
    ) -> None:
        entity = _entity(db, org)
        recorded = record_activity(db, org.id, entity.id, kind="booth_visit", at=_at(0))
        assert kind_label(recorded.activity.kind, "ja") == "booth_visit"

    def test_a_future_activity_is_refused(self, db: Session, org: Organization) -> None:
        entity = _entity(db, org)
        with pytest.raises(InvalidInput):
            record_activity(db, org.id, entity.id, kind="inquiry", at=utcnow() + timedelta(hours=1))


class TestBulk:
    def test_rules_apply_per_entity_in_time_order(self, db: Session, org: Organization) -> None:
        a, b = _entity(db, org, "A"), _entity(db, org, "B")
        _path(db, b, "lead")
        result = record_activities(
            db,
            org.id,
            [
                ActivityIn(kind="inquiry", at=_at(10), entity_ref="A"),
                ActivityIn(kind="mail_click", at=_at(9), entity_ref="A"),
                ActivityIn(kind="mail_click", at=_at(9), entity_id=b.id),
            ],
        )
        assert result.recorded == 3
        assert [(m.from_stage, m.to_stage) for m in result.moves if m.entity_id == a.id] == [
            (None, "nurturing"),
            ("nurturing", "promising"),
        ]
        assert _stage(db, b) == "nurturing"

    def test_each_activity_links_the_transition_it_caused(
        self, db: Session, org: Organization
    ) -> None:
        a = _entity(db, org, "A")
        result = record_activities(
            db,
            org.id,
            [
                ActivityIn(kind="mail_click", at=_at(1), entity_id=a.id),
                ActivityIn(kind="mail_click", at=_at(2), entity_id=a.id),
            ],
        )
        linked = db.scalars(
            select(CrmActivity.transition_id)
            .where(CrmActivity.entity_id == a.id)
            .order_by(CrmActivity.at)
        ).all()
        assert linked == [result.moves[0].transition_id, None]

    def test_the_transitions_continue_the_entitys_sequence(
        self, db: Session, org: Organization
    ) -> None:
        a = _entity(db, org, "A")
        _path(db, a, "lead", "nurturing")
        record_activities(db, org.id, [ActivityIn(kind="appointment", at=_at(5), entity_id=a.id)])
        seqs = db.scalars(
            select(CrmTransition.seq)
            .where(CrmTransition.entity_id == a.id)
            .order_by(CrmTransition.seq)
        ).all()
        assert seqs == [1, 2, 3]

    def test_one_bad_row_records_nothing_and_names_the_row(
        self, db: Session, org: Organization
    ) -> None:
        a = _entity(db, org, "A")
        with pytest.raises(InvalidInput) as caught:
            record_activities(
                db,
                org.id,
                [
                    ActivityIn(kind="mail_click", at=_at(1), entity_id=a.id),
                    ActivityIn(kind="mail_click", at=_at(1), entity_ref="nobody"),
                ],
            )
        assert [e["row"] for e in caught.value.errors] == [1]
        assert db.scalar(select(CrmActivity.id).where(CrmActivity.entity_id == a.id)) is None

    def test_another_organizations_entity_is_a_bad_row(
        self, db: Session, org: Organization
    ) -> None:
        theirs = _entity(db, create_org(db), "A")
        with pytest.raises(InvalidInput):
            record_activities(
                db, org.id, [ActivityIn(kind="mail_click", at=_at(1), entity_id=theirs.id)]
            )

    def test_more_than_the_limit_is_refused(self, db: Session, org: Organization) -> None:
        row = ActivityIn(kind="mail_click", at=_at(1), entity_id=uuid.uuid4())
        with pytest.raises(InvalidInput):
            record_activities(db, org.id, [row] * (activities.MAX_BULK + 1))
