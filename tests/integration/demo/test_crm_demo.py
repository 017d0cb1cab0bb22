"""The manufacturer's demo pipeline: drawn from the seed alone, every chain allowed by THE
MODEL and in time order, with fast passes, recycling, returns, dead ends, lost deals,
churn and renewals — and a bottleneck that shows in the last eight weeks.  Stored on
SQLite and PostgreSQL; built again, nothing is added."""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from tsunagu.crm.models import (
    CHANNELS,
    MEMBER_STATUSES,
    CrmActivity,
    CrmCampaign,
    CrmCampaignMember,
    CrmEntity,
    CrmHandoffRating,
    CrmTransition,
)
from tsunagu.crm.stages import DEFAULT_MODEL
from tsunagu.demo import crm
from tsunagu.demo.crm import (
    ANCHOR,
    BOTTLENECK_WEEKS,
    LOSS_REASONS,
    MANUFACTURER,
    Pipeline,
    crm_step,
    plan_pipeline,
)
from tsunagu.demo.organizations import ensure_organizations
from tsunagu.demo.staff import ensure_staff
from tsunagu.demo.world import WorldContext
from tsunagu.identity.models import Organization

SEED = 11
#: persons of the demo world: five entities each (2,000 entities, enough for the rates)
PERSONS = 400
COUNT = crm.entity_count(PERSONS)
ORG = uuid.UUID("01900000-0000-7000-8000-000000000001")
OWNERS = [uuid.UUID(f"01900000-0000-7000-8000-00000000000{i}") for i in (2, 3, 4)]
PLAN = plan_pipeline(ORG, OWNERS, COUNT, SEED)


def chains(rows: Iterable[Mapping[str, Any]]) -> dict[Any, list[Mapping[str, Any]]]:
    """The transitions of each entity, by seq."""
    found: dict[Any, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        found[row["entity_id"]].append(row)
    return {k: sorted(v, key=lambda r: r["seq"]) for k, v in found.items()}


def problems(chain: list[Mapping[str, Any]]) -> list[str]:
    """What is wrong with one entity's chain under the default model (nothing: [])."""
    found = []
    stage: str | None = None
    last: datetime | None = None
    for n, row in enumerate(chain, 1):
        if row["seq"] != n:
            found.append(f"seq {row['seq']} where {n} was due")
        if row["from_stage"] != stage:
            found.append(f"seq {n} comes from {row['from_stage']}, the entity was in {stage}")
        if not DEFAULT_MODEL.allows(stage, row["to_stage"]):
            found.append(f"seq {n}: {stage} → {row['to_stage']} is not allowed")
        if last is not None and row["at"] <= last:
            found.append(f"seq {n} is not after seq {n - 1}")
        stage, last = row["to_stage"], row["at"]
    return found


def moves(plan: Pipeline) -> set[tuple[str | None, str]]:
    return {(r["from_stage"], r["to_stage"]) for r in plan.transitions}


@pytest.fixture
def manufacturer(db: Session) -> Organization:
    organizations, _ = ensure_organizations(db)
    ensure_staff(db, organizations, password="tsunagu-demo-2026", seed=SEED)
    return organizations[MANUFACTURER]


def build(db: Session, organization: Organization) -> int:
    context = WorldContext(
        seed=SEED, person_count=PERSONS, organizations={MANUFACTURER: organization}
    )
    report = crm_step(db, context)
    db.flush()
    assert (report.name, report.total) == ("pipeline entities", COUNT)
    return report.created


def count(db: Session, model: Any) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


class TestPlan:
    def test_the_same_seed_gives_the_same_rows(self) -> None:
        again = plan_pipeline(ORG, OWNERS, COUNT, SEED)

        assert again == PLAN

    def test_another_seed_gives_other_rows(self) -> None:
        other = plan_pipeline(ORG, OWNERS, COUNT, SEED + 1)

        assert other.entities != PLAN.entities
        assert other.transitions != PLAN.transitions

    def test_entities_have_refs_names_and_every_segment(self) -> None:
        refs = [e["ref"] for e in PLAN.entities]

        assert refs == [f"MFR-{n:06d}" for n in range(1, COUNT + 1)]
        for column in ("name", "industry", "size", "channel", "region", "owner_user_id"):
            assert all(e[column] for e in PLAN.entities), column
        assert {e["owner_user_id"] for e in PLAN.entities} == set(OWNERS)
        assert all(e["amount"] > 0 for e in PLAN.entities)

    def test_every_chain_is_allowed_and_in_time_order(self) -> None:
        found = {k: p for k, c in chains(PLAN.transitions).items() if (p := problems(c))}

        assert found == {}
        assert len(chains(PLAN.transitions)) == COUNT

    def test_events_fall_in_the_two_years_before_the_anchor(self) -> None:
        times = [r["at"] for r in PLAN.transitions]

        assert min(times) >= ANCHOR - timedelta(days=crm.DAYS)
        assert max(times) < ANCHOR

    def test_about_five_events_per_entity(self) -> None:
        assert 4 * COUNT < len(PLAN.transitions) < 8 * COUNT

    def test_contains_fast_passes(self) -> None:
        fast = [
            r
            for r in PLAN.transitions
            if DEFAULT_MODEL.is_fast_pass(r["from_stage"], r["to_stage"])
        ]

        assert 0.05 * COUNT < len({r["entity_id"] for r in fast}) < 0.4 * COUNT
        assert {(None, "promising"), (None, "qualified"), ("nurturing", "qualified")} <= moves(PLAN)

    def test_contains_recycles_and_returns(self) -> None:
        assert {("nurturing", "recycle"), ("lost", "recycle")} <= moves(PLAN)
        assert {("recycle", "nurturing"), ("recycle", "promising")} <= moves(PLAN)

    def test_contains_dead_ends_with_reasons(self) -> None:
        dead = [r for r in PLAN.transitions if r["to_stage"] == "dead_end"]

        assert dead
        assert all(r["reason"] in crm.DEAD_END_REASONS for r in dead)

    def test_lost_deals_carry_a_loss_reason(self) -> None:
        lost = [r for r in PLAN.transitions if r["to_stage"] == "lost"]
        reasons = {r["reason"] for r in lost}

        assert lost
        assert reasons == {reason for reason, _ in LOSS_REASONS}

    def test_customers_renew_with_amounts_and_some_churn(self) -> None:
        renewals = [r for r in PLAN.transitions if r["to_stage"] == "renewal"]
        won = [r for r in PLAN.transitions if r["to_stage"] == "won"]

        assert all(r["amount"] and r["amount"] > 0 for r in [*won, *renewals])
        assert ("renewal", "adoption") in moves(PLAN)
        assert any(r["to_stage"] == "churned" for r in PLAN.transitions)

    def test_renewals_expand_and_contract(self) -> None:
        amounts: dict[Any, list[int]] = defaultdict(list)
        for row in PLAN.transitions:
            if row["to_stage"] in ("won", "renewal"):
                amounts[row["entity_id"]].append(row["amount"])
        steps = [b - a for v in amounts.values() for a, b in itertools.pairwise(v)]

        assert any(s > 0 for s in steps)
        assert any(s < 0 for s in steps)

    def test_campaign_members_were_touched_before_the_moves_credited_to_them(self) -> None:
        touched = {(m["campaign_id"], m["entity_id"]): m["touched_at"] for m in PLAN.members}
        credited = [r for r in PLAN.transitions if r["campaign_id"] is not None]

        assert credited
        assert all(touched[(r["campaign_id"], r["entity_id"])] < r["at"] for r in credited)

    def test_campaigns_cover_every_channel_with_costs(self) -> None:
        assert len(PLAN.campaigns) == crm.CAMPAIGNS
        assert {c["channel"] for c in PLAN.campaigns} == set(CHANNELS)
        assert all(c["cost"] > 0 for c in PLAN.campaigns)
        assert {m["status"] for m in PLAN.members} == set(MEMBER_STATUSES)

    def test_activities_come_just_before_the_moves_they_explain(self) -> None:
        kinds = {a["kind"] for a in PLAN.activities}

        assert kinds == {"mail_click", "site_visit", "material_request", "inquiry", "appointment"}

    def test_about_half_of_the_handoffs_are_rated(self) -> None:
        rated = {r["transition_id"] for r in PLAN.ratings}
        handoffs = [
            r["id"] for r in PLAN.transitions if (r["from_stage"], r["to_stage"]) in crm.RATED_STEPS
        ]

        assert rated <= set(handoffs)
        assert 0.4 * len(handoffs) < len(rated) < 0.6 * len(handoffs)
        assert any(r["comment"] for r in PLAN.ratings)

    def test_handoffs_of_entities_from_ads_are_rated_worse(self) -> None:
        channel = {e["id"]: e["channel"] for e in PLAN.entities}
        entity = {r["id"]: r["entity_id"] for r in PLAN.transitions}
        by_channel: dict[bool, list[int]] = defaultdict(list)
        for rating in PLAN.ratings:
            ads = channel[entity[rating["transition_id"]]] == "ads"
            by_channel[ads].append(rating["rating"])

        def mean(values: list[int]) -> float:
            return sum(values) / len(values)

        assert mean(by_channel[True]) < mean(by_channel[False]) - 0.3


class TestStored:
    def test_building_writes_the_planned_entities_and_their_history(
        self, db: Session, manufacturer: Organization
    ) -> None:
        created = build(db, manufacturer)

        assert created == COUNT
        assert count(db, CrmEntity) == COUNT
        assert count(db, CrmTransition) > 4 * COUNT
        assert count(db, CrmCampaign) == crm.CAMPAIGNS
        for model in (CrmCampaignMember, CrmActivity, CrmHandoffRating):
            assert count(db, model) > 0, model

    def test_building_again_creates_nothing(self, db: Session, manufacturer: Organization) -> None:
        build(db, manufacturer)
        before = [count(db, m) for m in (CrmEntity, CrmTransition, CrmCampaignMember)]

        assert build(db, manufacturer) == 0
        assert [count(db, m) for m in (CrmEntity, CrmTransition, CrmCampaignMember)] == before

    def test_the_same_seed_stores_the_same_rows(
        self, db: Session, manufacturer: Organization
    ) -> None:
        build(db, manufacturer)
        owners = crm.entity_owners(db, manufacturer.id)
        plan = plan_pipeline(manufacturer.id, owners, COUNT, SEED)

        stored = db.execute(
            select(CrmEntity.ref, CrmTransition.seq, CrmTransition.to_stage, CrmTransition.at)
            .join(CrmEntity, CrmEntity.id == CrmTransition.entity_id)
            .where(CrmEntity.ref.in_(["MFR-000001", "MFR-000777", "MFR-002000"]))
        ).all()
        ref = {e["id"]: e["ref"] for e in plan.entities}
        planned = {
            (ref[r["entity_id"]], r["seq"], r["to_stage"], r["at"])
            for r in plan.transitions
            if ref[r["entity_id"]] in ("MFR-000001", "MFR-000777", "MFR-002000")
        }
        assert {tuple(row) for row in stored} == planned

    def test_every_stored_chain_is_allowed_by_the_default_model(
        self, db: Session, manufacturer: Organization
    ) -> None:
        build(db, manufacturer)

        rows = db.execute(
            select(
                CrmTransition.entity_id,
                CrmTransition.seq,
                CrmTransition.from_stage,
                CrmTransition.to_stage,
                CrmTransition.at,
            ).where(CrmTransition.organization_id == manufacturer.id)
        ).mappings()
        found = {k: p for k, c in chains(map(dict, rows)).items() if (p := problems(c))}

        assert found == {}

    def test_the_bottleneck_shows_in_the_last_eight_weeks(
        self, db: Session, manufacturer: Organization
    ) -> None:
        build(db, manufacturer)
        cut = ANCHOR - timedelta(weeks=BOTTLENECK_WEEKS)
        before = cut - timedelta(weeks=52)

        def rate(source: str, target: str, start: datetime, end: datetime) -> float:
            """Moves source → target per entry into source, both in [start, end)."""
            at = CrmTransition.at
            moved, entered = db.execute(
                select(
                    func.sum(
                        case(
                            (
                                and_(
                                    CrmTransition.from_stage == source,
                                    CrmTransition.to_stage == target,
                                ),
                                1,
                            ),
                            else_=0,
                        )
                    ),
                    func.sum(case((CrmTransition.to_stage == source, 1), else_=0)),
                ).where(CrmTransition.organization_id == manufacturer.id, at >= start, at < end)
            ).one()
            return float(moved) / float(entered)

        recent = rate("qualified", "opportunity", cut, ANCHOR)
        trailing = rate("qualified", "opportunity", before, cut)
        assert recent < 0.5 * trailing
        # the steps before it hold
        for source, target in (("nurturing", "promising"), ("promising", "qualified")):
            assert rate(source, target, cut, ANCHOR) > 0.75 * rate(source, target, before, cut)
