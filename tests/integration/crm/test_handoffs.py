"""Handoff feedback (``crm.handoffs``): what a handoff is, rating it, and the reports —
with numbers computed by hand — on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from tests.support.factories import create_org
from tsunagu.crm import service
from tsunagu.crm.errors import TransitionNotFound
from tsunagu.crm.handoffs import (
    EDIT_WINDOW,
    HandoffReport,
    InvalidRating,
    NotAHandoff,
    RatingClosed,
    handoff_pairs,
    handoffs,
    rate,
    report,
    report_range,
)
from tsunagu.crm.models import CrmCampaign, CrmCampaignMember, CrmEntity, CrmTransition
from tsunagu.crm.stages import DEFAULT_MODEL
from tsunagu.identity.models import Organization

TOKYO = ZoneInfo("Asia/Tokyo")


def jst(day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A time in April 2026, Tokyo."""
    return datetime(2026, 4, day, hour, minute, tzinfo=TOKYO)


def _entity(db: Session, org: Organization, ref: str) -> CrmEntity:
    return service.create_entity(db, org.id, ref=ref, name=f"株式会社{ref}")


def _move(
    db: Session,
    entity: CrmEntity,
    stage: str,
    at: datetime,
    actor: str = "staff:test",
    campaign: CrmCampaign | None = None,
) -> CrmTransition:
    return service.move(
        db,
        entity.organization_id,
        entity.id,
        stage,
        actor=actor,
        at=at,
        campaign_id=campaign.id if campaign else None,
    )


@pytest.fixture
def org(db: Session) -> Organization:
    return create_org(db)


class TestWhatIsAHandoff:
    def test_the_handoffs_of_the_model_are_the_forward_moves_across_departments(self) -> None:
        pairs = {(a, b): (g, r) for a, b, g, r in handoff_pairs(DEFAULT_MODEL)}
        assert pairs[("promising", "qualified")] == ("marketing", "inside_sales")
        assert pairs[("qualified", "opportunity")] == ("inside_sales", "field_sales")
        assert pairs[("won", "onboarding")] == ("field_sales", "customer_success")

    def test_a_fast_pass_across_departments_is_a_handoff(self) -> None:
        pairs = {(a, b): (g, r) for a, b, g, r in handoff_pairs(DEFAULT_MODEL)}
        assert pairs[("nurturing", "opportunity")] == ("marketing", "field_sales")

    @pytest.mark.parametrize(
        "move",
        [("lead", "nurturing"), ("opportunity", "won"), ("recycle", "qualified"),
         ("renewal", "adoption"), ("opportunity", "lost")],
    )  # fmt: skip
    def test_moves_within_a_department_or_off_the_main_line_are_not(
        self, move: tuple[str, str]
    ) -> None:
        assert move not in {(a, b) for a, b, _g, _r in handoff_pairs(DEFAULT_MODEL)}


class TestPending:
    def test_lists_unrated_handoffs_newest_first(self, db: Session, org: Organization) -> None:
        a, b = _entity(db, org, "A"), _entity(db, org, "B")
        _move(db, a, "promising", jst(1))
        first = _move(db, a, "qualified", jst(2))
        _move(db, b, "qualified", jst(1))
        second = _move(db, b, "opportunity", jst(3))
        assert [h.transition_id for h in handoffs(db, org.id)] == [second.id, first.id]

    def test_an_entitys_first_event_is_not_a_handoff(self, db: Session, org: Organization) -> None:
        _move(db, _entity(db, org, "A"), "opportunity", jst(1))
        assert handoffs(db, org.id) == []

    def test_a_rated_handoff_leaves_the_pending_list(self, db: Session, org: Organization) -> None:
        a = _entity(db, org, "A")
        _move(db, a, "qualified", jst(1))
        moved = _move(db, a, "opportunity", jst(2))
        rate(db, org.id, moved.id, rating=4, rater="staff:x")
        assert handoffs(db, org.id) == []
        assert [h.rating for h in handoffs(db, org.id, state="rated")] == [4]

    def test_shows_the_departments_and_the_fast_pass(self, db: Session, org: Organization) -> None:
        a = _entity(db, org, "A")
        _move(db, a, "nurturing", jst(1))
        _move(db, a, "opportunity", jst(2))
        (handoff,) = handoffs(db, org.id)
        assert (handoff.giving, handoff.receiving, handoff.fast_pass) == (
            "marketing",
            "field_sales",
            True,
        )

    def test_another_organizations_handoffs_never_appear(
        self, db: Session, org: Organization
    ) -> None:
        theirs = _entity(db, create_org(db), "A")
        _move(db, theirs, "qualified", jst(1))
        _move(db, theirs, "opportunity", jst(2))
        assert handoffs(db, org.id, state="all") == []


class TestRate:
    @pytest.fixture
    def handoff(self, db: Session, org: Organization) -> CrmTransition:
        a = _entity(db, org, "A")
        _move(db, a, "qualified", jst(1))
        return _move(db, a, "opportunity", jst(2))

    def test_stores_the_rating_and_the_comment(
        self, db: Session, org: Organization, handoff: CrmTransition
    ) -> None:
        row = rate(db, org.id, handoff.id, rating=3, comment="  予算が未確認 ", rater="staff:x")
        assert (row.rating, row.comment, row.rated_by) == (3, "予算が未確認", "staff:x")

    @pytest.mark.parametrize("value", [0, 6, -1, True, "3", 2.5, None])
    def test_a_rating_outside_1_to_5_is_refused(
        self, db: Session, org: Organization, handoff: CrmTransition, value: object
    ) -> None:
        with pytest.raises(InvalidRating):
            rate(db, org.id, handoff.id, rating=value, rater="staff:x")

    def test_whoever_handed_over_cannot_rate_the_handoff(
        self, db: Session, org: Organization, handoff: CrmTransition
    ) -> None:
        with pytest.raises(InvalidRating, match="receiving side"):
            rate(db, org.id, handoff.id, rating=5, rater=handoff.actor)

    def test_a_comment_with_a_nul_character_is_refused(
        self, db: Session, org: Organization, handoff: CrmTransition
    ) -> None:
        with pytest.raises(InvalidRating):
            rate(db, org.id, handoff.id, rating=3, comment="\x00", rater="staff:x")

    def test_a_too_long_comment_is_refused(
        self, db: Session, org: Organization, handoff: CrmTransition
    ) -> None:
        with pytest.raises(InvalidRating):
            rate(db, org.id, handoff.id, rating=3, comment="x" * 2001, rater="staff:x")

    def test_a_move_that_is_not_a_handoff_cannot_be_rated(
        self, db: Session, org: Organization
    ) -> None:
        a = _entity(db, org, "A")
        _move(db, a, "lead", jst(1))
        inside = _move(db, a, "nurturing", jst(2))
        with pytest.raises(NotAHandoff):
            rate(db, org.id, inside.id, rating=3, rater="staff:x")

    def test_another_organizations_handoff_is_not_found(
        self, db: Session, handoff: CrmTransition
    ) -> None:
        with pytest.raises(TransitionNotFound):
            rate(db, create_org(db).id, handoff.id, rating=3, rater="staff:x")

    def test_the_rater_may_change_the_rating_within_the_window(
        self, db: Session, org: Organization, handoff: CrmTransition
    ) -> None:
        first = datetime(2026, 4, 3, tzinfo=UTC)
        rate(db, org.id, handoff.id, rating=2, rater="staff:x", now=first)
        row = rate(
            db, org.id, handoff.id, rating=4, comment="後で確認できた", rater="staff:x",
            now=first + EDIT_WINDOW,
        )  # fmt: skip
        assert (row.rating, row.comment) == (4, "後で確認できた")

    def test_after_the_window_the_rating_is_closed(
        self, db: Session, org: Organization, handoff: CrmTransition
    ) -> None:
        first = datetime(2026, 4, 3, tzinfo=UTC)
        rate(db, org.id, handoff.id, rating=2, rater="staff:x", now=first)
        with pytest.raises(RatingClosed):
            rate(
                db, org.id, handoff.id, rating=4, rater="staff:x",
                now=first + EDIT_WINDOW + timedelta(seconds=1),
            )  # fmt: skip

    def test_someone_else_cannot_change_the_rating(
        self, db: Session, org: Organization, handoff: CrmTransition
    ) -> None:
        rate(db, org.id, handoff.id, rating=2, rater="staff:x")
        with pytest.raises(RatingClosed):
            rate(db, org.id, handoff.id, rating=5, rater="staff:y")


class TestReportRange:
    def test_weeks_start_on_monday_and_cover_the_last_day(self) -> None:
        assert report_range(date(2026, 4, 8), date(2026, 4, 14), "week") == (
            date(2026, 4, 6),
            date(2026, 4, 20),
        )

    def test_months_cover_whole_months(self) -> None:
        assert report_range(date(2026, 11, 15), date(2027, 1, 1), "month") == (
            date(2026, 11, 1),
            date(2027, 1, 1),
        )


class TestReport:
    """Two weeks from Monday 6 April 2026 (Tokyo):

    ======  =======================  ==============  ========  ======  ====================
    entity  handoff                  at (JST)        actor     rating  campaigns
    ======  =======================  ==============  ========  ======  ====================
    A       promising → qualified    Mon 6 00:30     staff:a   5 good  Y touched at the
                                                                       same instant (no)
    B       promising → qualified    Tue 7 10:00     staff:a   2 thin  Y touched 1 Apr
    C       qualified → opportunity  Tue 14 10:00    staff:b   4       X credited + touched
    D       nurturing → opportunity  Wed 15 10:00    staff:b   —       Y touched 20 Apr (no)
    E       won → onboarding         Sun 5 23:30     —         (before the range)
    F       lead → nurturing         Wed 8           —         (not a handoff)
    ======  =======================  ==============  ========  ======  ====================
    """

    @pytest.fixture
    def result(self, db: Session, org: Organization) -> HandoffReport:
        x = CrmCampaign(organization_id=org.id, name="X 展示会", channel="exhibition",
                        starts_on=date(2026, 3, 1))  # fmt: skip
        y = CrmCampaign(organization_id=org.id, name="Y メール", channel="mail",
                        starts_on=date(2026, 3, 1))  # fmt: skip
        db.add_all([x, y])
        db.flush()
        a, b, c, d, e, f = (_entity(db, org, ref) for ref in "ABCDEF")
        _move(db, a, "promising", jst(1))
        ta = _move(db, a, "qualified", jst(6, 0, 30), actor="staff:a")
        _move(db, b, "promising", jst(1))
        tb = _move(db, b, "qualified", jst(7), actor="staff:a")
        _move(db, c, "qualified", jst(1))
        tc = _move(db, c, "opportunity", jst(14), actor="staff:b", campaign=x)
        _move(db, d, "nurturing", jst(1))
        _move(db, d, "opportunity", jst(15), actor="staff:b")
        _move(db, e, "won", jst(1))
        te = _move(db, e, "onboarding", jst(5, 23, 30))
        _move(db, f, "lead", jst(1))
        _move(db, f, "nurturing", jst(8))
        db.add_all(
            [
                CrmCampaignMember(campaign_id=y.id, entity_id=a.id, touched_at=jst(6, 0, 30)),
                CrmCampaignMember(campaign_id=y.id, entity_id=b.id, touched_at=jst(1)),
                CrmCampaignMember(campaign_id=x.id, entity_id=c.id, touched_at=jst(2)),
                CrmCampaignMember(campaign_id=y.id, entity_id=d.id, touched_at=jst(20)),
            ]
        )
        rate(db, org.id, ta.id, rating=5, comment="good", rater="staff:r", now=jst(16))
        rate(db, org.id, tb.id, rating=2, comment="thin", rater="staff:r", now=jst(17))
        rate(db, org.id, tc.id, rating=4, rater="staff:r", now=jst(18))
        rate(db, org.id, te.id, rating=1, comment="outside", rater="staff:r", now=jst(18))
        db.flush()
        return report(db, org.id, start=date(2026, 4, 6), end=date(2026, 4, 20), period="week")

    def test_totals(self, result: HandoffReport) -> None:
        assert (result.total.handoffs, result.total.rated) == (4, 3)
        assert result.total.average == pytest.approx(11 / 3)
        assert result.total.low_share == pytest.approx(1 / 3)

    def test_latest_comments_come_newest_first(self, result: HandoffReport) -> None:
        assert result.total.comments == ("thin", "good")

    def test_per_period(self, result: HandoffReport) -> None:
        weeks = [
            (p.start, p.end, p.figures.handoffs, p.figures.rated, p.figures.average,
             p.figures.low_share)
            for p in result.by_period
        ]  # fmt: skip
        assert weeks == [
            (date(2026, 4, 6), date(2026, 4, 13), 2, 2, 3.5, 0.5),
            (date(2026, 4, 13), date(2026, 4, 20), 2, 1, 4.0, 0.0),
        ]

    def test_per_source(self, result: HandoffReport) -> None:
        rows = {
            (r.giving, r.from_stage, r.to_stage): (r.figures.handoffs, r.figures.average)
            for r in result.by_source
        }
        assert rows == {
            ("marketing", "promising", "qualified"): (2, 3.5),
            ("inside_sales", "qualified", "opportunity"): (1, 4.0),
            ("marketing", "nurturing", "opportunity"): (1, None),
        }

    def test_per_department(self, result: HandoffReport) -> None:
        rows = {(r.giving, r.receiving): r.figures.handoffs for r in result.by_department}
        assert rows == {
            ("marketing", "inside_sales"): 2,
            ("inside_sales", "field_sales"): 1,
            ("marketing", "field_sales"): 1,
        }

    def test_per_actor(self, result: HandoffReport) -> None:
        rows = {
            r.actor: (r.figures.handoffs, r.figures.rated, r.figures.average)
            for r in result.by_actor
        }
        assert rows == {"staff:a": (2, 2, 3.5), "staff:b": (2, 1, 4.0)}

    def test_per_campaign_counts_credits_and_earlier_touches(self, result: HandoffReport) -> None:
        rows = {
            r.name: (r.figures.handoffs, r.credited, r.figures.average, r.figures.low_share)
            for r in result.by_campaign
        }
        assert rows == {"X 展示会": (1, 1, 4.0, 0.0), "Y メール": (1, 0, 2.0, 1.0)}

    @pytest.mark.usefixtures("result")
    def test_a_month_holds_the_handoffs_of_all_its_days(
        self, db: Session, org: Organization
    ) -> None:
        monthly = report(db, org.id, start=date(2026, 4, 1), end=date(2026, 5, 1), period="month")
        (april,) = monthly.by_period
        assert (april.start, april.figures.handoffs, april.figures.rated) == (
            date(2026, 4, 1),
            5,
            4,
        )

    @pytest.mark.usefixtures("result")
    def test_another_organization_sees_nothing(self, db: Session) -> None:
        theirs = report(
            db, create_org(db).id, start=date(2026, 4, 6), end=date(2026, 4, 20), period="week"
        )
        assert theirs.total.handoffs == 0
        assert [p.figures.handoffs for p in theirs.by_period] == [0, 0]
