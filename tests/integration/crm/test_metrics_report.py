"""Pipeline metrics against a real database: events read into Arrow (cached per
organization), the report over them, and one organization's events never in another's."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from tests.support.factories import create_org, create_staff
from tsunagu.core.errors import InvalidInput
from tsunagu.crm import metrics, service
from tsunagu.crm.models import CrmTarget
from tsunagu.identity.models import Organization

#: Monday 2026-01-05 00:00 in Tokyo
MONDAY = datetime(2026, 1, 4, 15, 0, tzinfo=UTC)
WEEKS = metrics.MetricsQuery(date(2026, 1, 5), date(2026, 1, 19))


def walk(
    db: Session,
    org: Organization,
    ref: str,
    *steps: tuple[str, timedelta, int | None],
    industry: str | None = None,
    amount: int | None = None,
) -> uuid.UUID:
    """An entity that moves through ``steps`` (stage, time after MONDAY, amount)."""
    entity = service.create_entity(
        db, org.id, ref=ref, name=f"株式会社{ref}", industry=industry, amount=amount
    )
    for stage, offset, value in steps:
        service.move(
            db,
            org.id,
            entity.id,
            stage,
            actor="test",
            source="import",
            at=MONDAY + offset,
            amount=value,
        )
    return entity.id


def pipeline(db: Session, org: Organization) -> None:
    day = timedelta(days=1)
    walk(db, org, "A", ("lead", 0 * day, None), ("nurturing", 2 * day, None),
         ("qualified", 8 * day, None), ("opportunity", 9 * day, None),
         ("won", 10 * day, 3_000_000), industry="製造業")  # fmt: skip
    walk(db, org, "B", ("lead", 1 * day, None), ("dead_end", 3 * day, None))
    walk(db, org, "C", ("opportunity", -3 * day, None), ("lost", 12 * day, None),
         industry="小売", amount=500_000)  # fmt: skip


class TestLoadEvents:
    def test_reads_every_transition_and_entity_of_the_organization(self, db: Session) -> None:
        org = create_org(db)
        pipeline(db, org)

        events = metrics.load_events(db, org.id)

        assert events.transitions.num_rows == 9
        assert events.entities.num_rows == 3
        assert set(events.stages) == {
            "lead", "nurturing", "qualified", "opportunity", "won", "dead_end", "lost"
        }  # fmt: skip

    def test_transitions_come_in_entity_and_seq_order(self, db: Session) -> None:
        org = create_org(db)
        for ref in ("C", "A", "B"):
            walk(db, org, ref, ("lead", timedelta(0), None), ("nurturing", timedelta(1), None))

        rows = metrics.load_events(db, org.id).transitions.select(["entity", "seq"]).to_pylist()

        assert [(r["entity"], r["seq"]) for r in rows] == [(e, s) for e in range(3) for s in (1, 2)]

    def test_another_organizations_events_are_never_read(self, db: Session) -> None:
        org, other = create_org(db), create_org(db)
        pipeline(db, org)
        walk(db, other, "X", ("lead", timedelta(0), None))

        events = metrics.load_events(db, other.id)

        assert events.transitions.num_rows == 1
        assert events.entities.num_rows == 1

    def test_a_new_move_is_seen_on_the_next_load(self, db: Session) -> None:
        org = create_org(db)
        entity = walk(db, org, "A", ("lead", timedelta(0), None))
        metrics.load_events(db, org.id)
        service.move(db, org.id, entity, "nurturing", actor="test", at=MONDAY + timedelta(1))

        events = metrics.load_events(db, org.id)

        assert events.transitions.num_rows == 2

    def test_until_leaves_later_moves_out(self, db: Session) -> None:
        org = create_org(db)
        pipeline(db, org)

        events = metrics.load_events(db, org.id, until=MONDAY + timedelta(days=2))

        assert events.transitions.num_rows == 3  # A lead, B lead, C opportunity

    def test_configured_targets_come_with_the_events(self, db: Session) -> None:
        org = create_org(db)
        db.add(CrmTarget(organization_id=org.id, from_stage="lead", to_stage="nurturing", rate=0.4))
        db.flush()

        assert metrics.load_events(db, org.id).targets == {("lead", "nurturing"): 0.4}


class TestReport:
    def test_flow_and_balance_per_week(self, db: Session) -> None:
        org = create_org(db)
        pipeline(db, org)

        result = metrics.report(db, org.id, WEEKS)

        first, second = result["periods"]
        assert (first["start"], first["end"], second["end"]) == (
            "2026-01-05", "2026-01-12", "2026-01-19"
        )  # fmt: skip
        assert {k: v for k, v in first["flow"].items() if v} == {
            "lead": 2, "nurturing": 1, "dead_end": 1
        }  # fmt: skip
        assert {k: v for k, v in first["balance"].items() if v} == {
            "nurturing": 1, "dead_end": 1, "opportunity": 1
        }  # fmt: skip
        assert {k: v for k, v in second["balance"].items() if v} == {
            "won": 1, "dead_end": 1, "lost": 1
        }  # fmt: skip

    def test_win_rate_by_count_and_amount(self, db: Session) -> None:
        org = create_org(db)
        pipeline(db, org)

        win = metrics.report(db, org.id, WEEKS)["win_rate"]

        assert (win["won"], win["lost"], win["won_amount"], win["lost_amount"]) == (
            1, 1, 3_000_000, 500_000
        )  # fmt: skip
        assert win["amount_rate"] == pytest.approx(3_000_000 / 3_500_000)

    def test_another_organizations_events_are_never_counted(self, db: Session) -> None:
        org, other = create_org(db), create_org(db)
        pipeline(db, other)
        walk(db, org, "Z", ("lead", timedelta(hours=1), None))

        result = metrics.report(db, org.id, WEEKS)

        assert sum(result["periods"][0]["flow"].values()) == 1
        assert result["win_rate"]["won"] == 0

    def test_an_organization_without_events_gets_zeros(self, db: Session) -> None:
        org = create_org(db)

        result = metrics.report(db, org.id, WEEKS)

        assert all(v == 0 for p in result["periods"] for v in p["balance"].values())
        assert result["bottleneck"] is None

    def test_owners_are_uuids_and_filter_the_report(self, db: Session) -> None:
        org = create_org(db)
        owner = create_staff(db, org)
        mine = service.create_entity(db, org.id, ref="O", name="株式会社O", owner_user_id=owner.id)
        service.move(db, org.id, mine.id, "lead", actor="test", at=MONDAY)
        walk(db, org, "P", ("lead", timedelta(hours=2), None))
        query = metrics.MetricsQuery(WEEKS.start, WEEKS.end, segment={"owner": str(owner.id)})

        result = metrics.report(db, org.id, query)

        assert result["periods"][0]["flow"]["lead"] == 1
        events = metrics.load_events(db, org.id)
        assert str(owner.id) in events.entities["owner"].to_pylist()

    def test_an_edited_segment_is_seen_on_the_next_report(self, db: Session) -> None:
        org = create_org(db)
        entity = walk(db, org, "A", ("lead", timedelta(hours=1), None), industry="小売")
        metrics.load_events(db, org.id)
        service.get_entity(db, org.id, entity).industry = "製造業"
        db.flush()
        query = metrics.MetricsQuery(WEEKS.start, WEEKS.end, segment={"industry": "製造業"})

        result = metrics.report(db, org.id, query)

        assert result["periods"][0]["flow"]["lead"] == 1

    def test_an_invalid_query_is_refused(self, db: Session) -> None:
        org = create_org(db)

        with pytest.raises(InvalidInput, match="start must be before end"):
            metrics.report(db, org.id, metrics.MetricsQuery(date(2026, 2, 1), date(2026, 1, 1)))
