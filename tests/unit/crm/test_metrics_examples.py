"""``crm.metrics.compute`` on small histories whose numbers are worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.unit.crm import reference as ref
from tsunagu.core.errors import InvalidInput
from tsunagu.crm.metrics import MetricsQuery, compute
from tsunagu.crm.stages import DEFAULT_MODEL

#: Monday 2026-01-05 00:00 in Tokyo
MONDAY = datetime(2026, 1, 4, 15, 0, tzinfo=UTC)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


def run(
    walks: list[list[tuple[str, timedelta] | tuple[str, timedelta, int]]],
    query: MetricsQuery,
    *,
    amounts: list[int | None] | None = None,
    targets: dict[tuple[str, str], float] | None = None,
) -> dict[str, Any]:
    """``compute`` over entities that each walk the (stage, time after MONDAY[, amount])."""
    moves = [
        ref.Move(e, seq, step[0], MONDAY + step[1], step[2] if len(step) > 2 else None)  # type: ignore[misc]
        for e, walk in enumerate(walks)
        for seq, step in enumerate(walk, start=1)
    ]
    entities = [ref.Entity(amount=a) for a in (amounts or [None] * len(walks))]
    events = ref.to_events(moves, entities, DEFAULT_MODEL.keys)
    return compute(events, DEFAULT_MODEL, query, targets=targets)


def weeks(n: int, window_days: int = 90) -> MetricsQuery:
    start = date(2026, 1, 5)
    return MetricsQuery(start, start + timedelta(days=7 * n), window_days=window_days)


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


class TestPeriods:
    def test_weeks_start_on_monday_and_cover_the_range(self) -> None:
        result = compute(
            ref.to_events([], [], ()),
            DEFAULT_MODEL,
            MetricsQuery(date(2026, 1, 7), date(2026, 1, 13)),
        )

        assert [(p["start"], p["end"]) for p in result["periods"]] == [
            ("2026-01-05", "2026-01-12"),
            ("2026-01-12", "2026-01-19"),
        ]

    def test_months_start_on_the_first(self) -> None:
        query = MetricsQuery(date(2026, 1, 20), date(2026, 3, 1), period="month")

        result = compute(ref.to_events([], [], ()), DEFAULT_MODEL, query)

        assert [p["start"] for p in result["periods"]] == ["2026-01-01", "2026-02-01"]
        assert result["end"] == "2026-03-01"

    def test_a_move_at_tokyo_midnight_belongs_to_the_period_it_opens(self) -> None:
        # 15:00 UTC on Sunday is 00:00 on Monday in Tokyo
        result = run([[("lead", WEEK - timedelta(seconds=1))], [("lead", WEEK)]], weeks(2))

        assert [p["flow"]["lead"] for p in result["periods"]] == [1, 1]
        assert result["periods"][0]["balance"]["lead"] == 1


class TestFlowAndBalance:
    def test_balance_moves_with_every_transition(self) -> None:
        result = run(
            [
                [("lead", 0 * DAY), ("nurturing", 1 * DAY), ("promising", 8 * DAY)],
                [("qualified", 2 * DAY), ("opportunity", 9 * DAY), ("lost", 10 * DAY)],
            ],
            weeks(2),
        )

        first, second = result["periods"]
        assert nonzero(first["flow"]) == {"lead": 1, "nurturing": 1, "qualified": 1}
        assert nonzero(first["balance"]) == {"nurturing": 1, "qualified": 1}
        assert nonzero(second["flow"]) == {"promising": 1, "opportunity": 1, "lost": 1}
        assert nonzero(second["balance"]) == {"promising": 1, "lost": 1}

    def test_history_before_the_range_counts_in_the_balance_not_the_flow(self) -> None:
        result = run([[("lead", -30 * DAY), ("nurturing", -20 * DAY)]], weeks(1))

        assert nonzero(result["periods"][0]["flow"]) == {}
        assert nonzero(result["periods"][0]["balance"]) == {"nurturing": 1}


class TestConversion:
    def test_step_and_cumulative_within_the_window(self) -> None:
        result = run(
            [
                [("lead", 0 * DAY), ("nurturing", 2 * DAY), ("promising", 5 * DAY)],
                [("lead", 1 * DAY), ("qualified", 3 * DAY)],  # a fast pass converts too
                [("lead", 1 * DAY), ("recycle", 2 * DAY), ("nurturing", 40 * DAY)],  # too late
                [("lead", 2 * DAY), ("dead_end", 3 * DAY)],
            ],
            weeks(1, window_days=30),
        )

        steps = {(s["from"], s["to"]): s for s in result["conversion"]["steps"]}
        lead = steps[("lead", "nurturing")]
        assert (lead["cohort"], lead["converted"], lead["rate"]) == (4, 2, 0.5)
        nurturing = steps[("nurturing", "promising")]
        assert (nurturing["cohort"], nurturing["converted"]) == (1, 1)
        cumulative = {s["to"]: s for s in result["conversion"]["cumulative"]}
        assert cumulative["promising"]["converted"] == 2
        assert cumulative["qualified"]["converted"] == 1
        assert cumulative["opportunity"]["converted"] == 0

    def test_a_later_move_at_the_same_instant_converts(self) -> None:
        # history imported with dates only: lead and nurturing at the same instant, in order
        result = run([[("lead", 0 * DAY), ("nurturing", 0 * DAY)]], weeks(1))

        step = result["conversion"]["steps"][0]
        assert (step["cohort"], step["converted"]) == (1, 1)

    def test_an_empty_cohort_has_no_rate(self) -> None:
        result = run([[("lead", 0 * DAY)]], weeks(1))

        step = result["conversion"]["steps"][1]
        assert (step["cohort"], step["rate"]) == (0, None)

    def test_a_re_entry_in_the_same_period_counts_once_from_the_first(self) -> None:
        result = run(
            [[("nurturing", 0 * DAY), ("recycle", 1 * DAY), ("nurturing", 2 * DAY)]],
            weeks(1, window_days=1),
        )

        step = next(s for s in result["conversion"]["steps"] if s["from"] == "nurturing")
        assert (step["cohort"], step["converted"]) == (1, 0)


class TestTimeInStageAndAgeing:
    def test_median_and_p90_of_closed_spans(self) -> None:
        result = run(
            [
                [("lead", 0 * DAY), ("nurturing", 1 * DAY)],
                [("lead", 0 * DAY), ("nurturing", 3 * DAY)],
                [("lead", 0 * DAY), ("nurturing", 11 * DAY)],
            ],
            weeks(2),
        )

        lead = result["time_in_stage"]["lead"]
        assert lead["exits"] == 3
        assert lead["median_days"] == pytest.approx(3.0)
        assert lead["p90_days"] == pytest.approx(3 + 0.8 * 8)
        assert "nurturing" not in result["time_in_stage"]  # still open

    def test_ageing_buckets_the_balance_at_the_end(self) -> None:
        # the range ends 2026-04-13 (Tokyo): 98 days after MONDAY
        result = run(
            [
                [("lead", 0 * DAY)],
                [("lead", 60 * DAY)],
                [("lead", 97 * DAY)],
                [("lead", 100 * DAY)],
            ],
            weeks(14),
        )

        lead = result["ageing"]["lead"]
        assert lead["count"] == 3
        assert lead["buckets"] == {"0-30": 1, "31-90": 1, "91-180": 1, "181+": 0}
        assert lead["median_days"] == pytest.approx(38.0)


class TestWinRate:
    def test_by_count_and_by_amount(self) -> None:
        result = run(
            [
                [("opportunity", 0 * DAY), ("won", 1 * DAY, 900)],
                [("opportunity", 0 * DAY), ("won", 2 * DAY)],  # the entity's amount
                [("opportunity", 0 * DAY), ("lost", 3 * DAY)],  # no amount anywhere: 0
                [("opportunity", 0 * DAY), ("lost", 3 * DAY, 500)],
            ],
            weeks(1),
            amounts=[1, 100, None, 7],
        )

        win = result["win_rate"]
        assert (win["won"], win["lost"], win["rate"]) == (2, 2, 0.5)
        assert (win["won_amount"], win["lost_amount"]) == (1000, 500)
        assert win["amount_rate"] == pytest.approx(1000 / 1500)

    def test_no_decisions_means_no_rate(self) -> None:
        result = run([[("opportunity", 0 * DAY)]], weeks(1))

        assert (result["win_rate"]["rate"], result["win_rate"]["amount_rate"]) == (None, None)


class TestCustomerSuccess:
    def test_renewal_churn_expansion_and_nrr(self) -> None:
        cs = [("onboarding", 1 * DAY), ("implementation", 2 * DAY), ("adoption", 3 * DAY)]
        result = run(
            [
                [("won", 0 * DAY, 1000), *cs, ("renewal", 8 * DAY, 1200)],  # expansion 200
                [("won", 0 * DAY, 1000), *cs, ("renewal", 8 * DAY)],  # renewed flat
                [("won", 0 * DAY, 800), *cs, ("renewal", 8 * DAY, 500)],  # contraction 300
                [("won", 0 * DAY, 500), *cs, ("churned", 9 * DAY)],
            ],
            weeks(2),
        )

        got = result["customer_success"]
        assert (got["renewals"], got["churns"]) == (3, 1)
        assert got["renewal_rate"] == pytest.approx(0.75)
        assert got["renewal_amount"] == 2700
        assert got["churn_amount"] == 500
        assert (got["expansion_amount"], got["contraction_amount"]) == (200, 300)
        assert got["nrr"] == pytest.approx(2700 / 3300)
        assert got["amount_renewal_rate"] == pytest.approx((2800 - 300) / 3300)


class TestFlows:
    def test_every_kind_of_move_is_named(self) -> None:
        result = run(
            [
                [("lead", 0 * DAY), ("nurturing", 1 * DAY), ("qualified", 2 * DAY)],
                [("lead", 0 * DAY), ("recycle", 1 * DAY), ("nurturing", 2 * DAY)],
                [("opportunity", 0 * DAY), ("lost", 1 * DAY)],
                [("lead", 0 * DAY), ("dead_end", 1 * DAY)],
                [("adoption", 0 * DAY), ("renewal", 1 * DAY), ("adoption", 2 * DAY)],
                [("adoption", 0 * DAY), ("churned", 1 * DAY)],
            ],
            weeks(1),
        )

        kinds = {(f["from"], f["to"]): (f["kind"], f["fast_pass"]) for f in result["flows"]}
        assert kinds[("lead", "nurturing")] == ("forward", False)
        assert kinds[("nurturing", "qualified")] == ("fast_pass", True)
        assert kinds[("lead", "recycle")] == ("recycle", False)
        assert kinds[("recycle", "nurturing")] == ("return", False)
        assert kinds[("opportunity", "lost")] == ("lost", False)
        assert kinds[("lead", "dead_end")] == ("dead_end", False)
        assert kinds[("renewal", "adoption")] == ("next_term", False)
        assert kinds[("adoption", "churned")] == ("churned", False)
        assert kinds[(None, "opportunity")] == ("first", True)
        assert kinds[(None, "lead")] == ("first", False)


def funnel(leads: list[int], converted: list[int]) -> list[list[tuple[str, timedelta]]]:
    """Each week ``leads[w]`` leads, of which ``converted[w]`` reach nurturing a day later."""
    walks: list[list[tuple[str, timedelta]]] = []
    for w, (n, c) in enumerate(zip(leads, converted, strict=True)):
        for i in range(n):
            walk = [("lead", w * WEEK + timedelta(hours=1))]
            if i < c:
                walk.append(("nurturing", w * WEEK + DAY))
            walks.append(walk)
    return walks


class TestBottleneck:
    # weeks 1-4: 10 leads, 8 nurtured (80 %); week 5: 20 leads, 5 nurtured (25 %); week 6 is
    # not mature with a 7-day window, so week 5 is the one judged
    WALKS = funnel([10, 10, 10, 10, 20, 3], [8, 8, 8, 8, 5, 1])

    def test_the_step_furthest_below_its_trailing_average(self) -> None:
        result = run(self.WALKS, weeks(6, window_days=7))

        neck = result["bottleneck"]
        assert (neck["from"], neck["to"], neck["period_start"]) == (
            "lead",
            "nurturing",
            "2026-02-02",
        )
        assert (neck["cohort"], neck["converted"], neck["rate"]) == (20, 5, 0.25)
        assert neck["target"] == pytest.approx(0.8)
        assert neck["target_source"] == "trailing_average"
        assert neck["relative_shortfall"] == pytest.approx(1 - 0.25 / 0.8)
        assert "20" in neck["why_en"]
        assert "20" in neck["why_ja"]

    def test_a_configured_target_takes_precedence(self) -> None:
        result = run(self.WALKS, weeks(6, window_days=7), targets={("nurturing", "promising"): 0.5})

        neck = result["bottleneck"]
        assert (neck["from"], neck["to"], neck["target_source"]) == (
            "nurturing",
            "promising",
            "configured",
        )
        assert neck["relative_shortfall"] == pytest.approx(1.0)

    def test_no_step_below_target_means_no_bottleneck(self) -> None:
        result = run(funnel([10] * 6, [8] * 6), weeks(6, window_days=7))

        assert result["bottleneck"] is None


class TestTrend:
    def test_each_point_carries_its_change(self) -> None:
        result = run(funnel([10, 10, 10, 10, 20, 3], [0] * 6), weeks(6))

        series = next(s for s in result["trend"]["series"] if s["metric"] == "flow.lead")
        assert [p["value"] for p in series["points"]] == [10, 10, 10, 10, 20, 3]
        assert [p["change"] for p in series["points"]] == [None, 0, 0, 0, 10, -17]

    def test_a_sudden_change_is_flagged_against_the_weeks_before(self) -> None:
        result = run(funnel([10, 10, 10, 10, 20, 3], [0] * 6), weeks(6))

        flags = [f for f in result["trend"]["flags"] if f["metric"] == "flow.lead"]
        # week 6 (3) is 9.5 below its baseline 12.5, within 3 sd (4.33) of weeks 2-5
        assert [(f["start"], f["value"], f["baseline"]) for f in flags] == [
            ("2026-02-02", 20, 10.0)
        ]


class TestValidation:
    @pytest.mark.parametrize(
        ("query", "message"),
        [
            (MetricsQuery(date(2026, 2, 1), date(2026, 1, 1)), "start must be before end"),
            (MetricsQuery(date(2020, 1, 1), date(2026, 1, 1)), "at most 262"),
            (MetricsQuery(date(2026, 1, 1), date(2026, 2, 1), period="day"), "unknown period"),  # type: ignore[arg-type]
            (MetricsQuery(date(2026, 1, 1), date(2026, 2, 1), timezone="Mars/Base"), "time zone"),
            (MetricsQuery(date(2026, 1, 1), date(2026, 2, 1), segment={"colour": "red"}), "colour"),
            (MetricsQuery(date(2026, 1, 1), date(2026, 2, 1), window_days=0), "window_days"),
            (MetricsQuery(date(1, 1, 1), date(1, 1, 8)), "must lie between"),
            (MetricsQuery(date(9999, 12, 1), date(9999, 12, 31), period="month"), "lie between"),
        ],
    )
    def test_a_bad_query_is_refused_with_a_clear_message(
        self, query: MetricsQuery, message: str
    ) -> None:
        with pytest.raises(InvalidInput, match=message):
            query.validate()
