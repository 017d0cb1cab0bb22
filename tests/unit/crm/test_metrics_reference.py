"""``crm.metrics.compute`` equals the naive reference on random histories (hypothesis).

Histories are valid under the default model (each move drawn from ``allows``): they pass
fast, recycle and return, end in dead end, lose, churn and renew into the next term.  Times
are on a three-hour grid anchored at Asia/Tokyo midnight (15:00 UTC), so events fall exactly
on period boundaries and on local midnight often; gaps of zero make ties.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.crm import reference as ref
from tsunagu.crm.metrics import MetricsQuery, compute
from tsunagu.crm.stages import DEFAULT_MODEL

MODEL = DEFAULT_MODEL
#: Monday 2026-01-05 00:00 in Tokyo
ORIGIN = datetime(2026, 1, 4, 15, 0, tzinfo=UTC)
STEP = timedelta(hours=3)
FIRST_STAGES = [k for k in MODEL.keys if MODEL.allows(None, k)]


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[ref.Move], list[ref.Entity]]:
    moves: list[ref.Move] = []
    entities: list[ref.Entity] = []
    for entity in range(draw(st.integers(1, 7))):
        entities.append(
            ref.Entity(
                industry=draw(st.sampled_from(["製造業", "小売", None])),
                amount=draw(st.none() | st.integers(0, 1_000_000)),
            )
        )
        at = ORIGIN + STEP * draw(st.integers(-60, 400))
        stage = draw(st.sampled_from(FIRST_STAGES))
        for seq in range(1, draw(st.integers(1, 9)) + 1):
            amount = draw(st.none() | st.integers(0, 1_000_000))
            moves.append(ref.Move(entity, seq, stage, at, amount))
            allowed = [k for k in MODEL.keys if MODEL.allows(stage, k)]
            if not allowed:
                break
            stage = draw(st.sampled_from(allowed))
            at += STEP * draw(st.sampled_from([0, 1, 5, 8, 56]) | st.integers(0, 400))
    return moves, entities


@st.composite
def queries(draw: st.DrawFn) -> MetricsQuery:
    start = date(2026, 1, 5) + timedelta(days=draw(st.integers(-12, 40)))
    return MetricsQuery(
        start=start,
        end=start + timedelta(days=draw(st.integers(1, 80))),
        period=draw(st.sampled_from(["week", "month"])),
        window_days=draw(st.sampled_from([1, 7, 30, 90])),
    )


def _stage_order(moves: list[ref.Move]) -> list[str]:
    """A stage code order that differs from the model's (codes are the data's own)."""
    seen = list(dict.fromkeys(m.stage for m in reversed(moves)))
    return seen + [k for k in MODEL.keys if k not in seen]


def _run(
    moves: list[ref.Move], entities: list[ref.Entity], query: MetricsQuery
) -> tuple[dict[str, Any], list[tuple[date, datetime]]]:
    result = compute(ref.to_events(moves, entities, _stage_order(moves)), MODEL, query)
    bounds = ref.boundaries(query.start, query.end, query.period, query.timezone)
    return result, bounds


EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class TestAgainstTheReference:
    @EXAMPLES
    @given(histories(), queries())
    def test_periods_cover_the_range(
        self, history: tuple[list[ref.Move], list[ref.Entity]], query: MetricsQuery
    ) -> None:
        result, bounds = _run(*history, query)
        assert [(p["start"], p["end"]) for p in result["periods"]] == [
            (a[0].isoformat(), b[0].isoformat()) for a, b in itertools.pairwise(bounds)
        ]

    @EXAMPLES
    @given(histories(), queries())
    def test_flow_and_balance_equal_the_reference(
        self, history: tuple[list[ref.Move], list[ref.Entity]], query: MetricsQuery
    ) -> None:
        moves, entities = history
        result, bounds = _run(moves, entities, query)
        for period, (lo, hi) in zip(result["periods"], itertools.pairwise(bounds), strict=True):
            expected_flow = ref.flow(moves, lo[1], hi[1])
            expected_balance = ref.balance(moves, hi[1])
            for key in MODEL.keys:
                assert period["flow"].get(key, 0) == expected_flow[key], (key, period["start"])
                assert period["balance"].get(key, 0) == expected_balance[key], (
                    key,
                    period["end"],
                )

    @EXAMPLES
    @given(histories(), queries())
    def test_conversion_equals_the_reference(
        self, history: tuple[list[ref.Move], list[ref.Entity]], query: MetricsQuery
    ) -> None:
        moves, entities = history
        result, bounds = _run(moves, entities, query)
        spans = list(itertools.pairwise(bounds))
        for kind in ("steps", "cumulative"):
            for step in result["conversion"][kind]:
                for point, (lo, hi) in zip(step["periods"], spans, strict=True):
                    cohort, converted = ref.conversion(
                        moves, MODEL, step["from"], step["to"], lo[1], hi[1], query.window_days
                    )
                    assert (point["cohort"], point["converted"]) == (cohort, converted), (
                        kind,
                        step["from"],
                        step["to"],
                        point["start"],
                    )

    @EXAMPLES
    @given(histories(), queries())
    def test_win_rate_equals_the_reference(
        self, history: tuple[list[ref.Move], list[ref.Entity]], query: MetricsQuery
    ) -> None:
        moves, entities = history
        result, bounds = _run(moves, entities, query)
        spans = list(itertools.pairwise(bounds))
        for point, (lo, hi) in zip(result["win_rate"]["periods"], spans, strict=True):
            won, lost, won_amount, lost_amount = ref.win_rate(moves, entities, lo[1], hi[1])
            assert (point["won"], point["lost"]) == (won, lost)
            assert (point["won_amount"], point["lost_amount"]) == (won_amount, lost_amount)
            assert point["rate"] == (None if won + lost == 0 else won / (won + lost))
        total = ref.win_rate(moves, entities, bounds[0][1], bounds[-1][1])
        win = result["win_rate"]
        assert (win["won"], win["lost"], win["won_amount"], win["lost_amount"]) == total

    @EXAMPLES
    @given(histories(), queries())
    def test_win_rate_by_segment_equals_the_reference(
        self, history: tuple[list[ref.Move], list[ref.Entity]], query: MetricsQuery
    ) -> None:
        moves, entities = history
        result, bounds = _run(moves, entities, query)
        for row in result["win_rate"]["by_segment"]["industry"]:
            mine = [m for m in moves if entities[m.entity].industry == row["value"]]
            won, lost, *_ = ref.win_rate(mine, entities, bounds[0][1], bounds[-1][1])
            assert (row["won"], row["lost"]) == (won, lost)

    @EXAMPLES
    @given(histories(), queries())
    def test_time_in_stage_equals_the_reference(
        self, history: tuple[list[ref.Move], list[ref.Entity]], query: MetricsQuery
    ) -> None:
        moves, entities = history
        result, bounds = _run(moves, entities, query)
        expected = ref.time_in_stage(moves, bounds[0][1], bounds[-1][1])
        assert set(result["time_in_stage"]) == set(expected)
        for stage, days in expected.items():
            got = result["time_in_stage"][stage]
            assert got["exits"] == len(days)
            assert got["median_days"] == pytest.approx(ref.quantile(days, 0.5), abs=1e-9)
            assert got["p90_days"] == pytest.approx(ref.quantile(days, 0.9), abs=1e-9)

    @EXAMPLES
    @given(histories(), queries(), st.sampled_from(["製造業", "小売"]))
    def test_a_segment_filter_equals_the_reference_on_that_segment(
        self,
        history: tuple[list[ref.Move], list[ref.Entity]],
        query: MetricsQuery,
        industry: str,
    ) -> None:
        moves, entities = history
        filtered = MetricsQuery(
            query.start,
            query.end,
            query.period,
            window_days=query.window_days,
            segment={"industry": industry},
        )
        result, bounds = _run(moves, entities, filtered)
        mine = [m for m in moves if entities[m.entity].industry == industry]
        for period, (_, hi) in zip(result["periods"], bounds[1:], strict=True):
            expected = ref.balance(mine, hi)
            assert {k: v for k, v in period["balance"].items() if v} == dict(expected)

    @EXAMPLES
    @given(histories(), queries())
    def test_ageing_equals_the_reference(
        self, history: tuple[list[ref.Move], list[ref.Entity]], query: MetricsQuery
    ) -> None:
        moves, entities = history
        result, _ = _run(moves, entities, query)
        # as of local midnight of the query's end
        as_of = datetime.combine(query.end, time(0), tzinfo=ZoneInfo(query.timezone))
        expected = ref.ageing(moves, as_of.astimezone(UTC))
        assert set(result["ageing"]) == set(expected)
        for stage, days in expected.items():
            got = result["ageing"][stage]
            assert got["count"] == len(days)
            assert got["median_days"] == pytest.approx(ref.quantile(days, 0.5), abs=1e-9)
            assert got["buckets"]["0-30"] == sum(1 for d in days if d < 31)

    @EXAMPLES
    @given(histories(), queries())
    def test_flows_equal_the_reference(
        self, history: tuple[list[ref.Move], list[ref.Entity]], query: MetricsQuery
    ) -> None:
        moves, entities = history
        result, bounds = _run(moves, entities, query)
        expected = ref.flows(moves, bounds[0][1], bounds[-1][1])
        assert {(f["from"], f["to"]): f["count"] for f in result["flows"]} == dict(expected)

    @EXAMPLES
    @given(histories(), queries())
    def test_customer_success_equals_the_reference(
        self, history: tuple[list[ref.Move], list[ref.Entity]], query: MetricsQuery
    ) -> None:
        moves, entities = history
        result, bounds = _run(moves, entities, query)
        expected = ref.customer_success(moves, entities, bounds[0][1], bounds[-1][1])
        got = result["customer_success"]
        assert {
            "renewals": got["renewals"],
            "churns": got["churns"],
            "renewal_amount": got["renewal_amount"],
            "churn_amount": got["churn_amount"],
            "expansion": got["expansion_amount"],
            "contraction": got["contraction_amount"],
        } == expected
