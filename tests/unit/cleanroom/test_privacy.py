"""Noise calibration: the ε of a query is split as documented and OpenDP confirms it."""

from __future__ import annotations

import math

import opendp.prelude as dp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsunagu.cleanroom.privacy import noised_measures, plan_noise, zcdp_rho
from tsunagu.linkage.rules import AnalysisRules

dp.enable_features("contrib")

RULES = AnalysisRules(
    dimensions=frozenset({"category"}),
    measures=frozenset({"persons", "orders", "amount_sum", "amount_avg"}),
    epsilon_per_query=1.0,
)


class TestNoisedMeasures:
    def test_persons_are_always_noised_for_the_suppression_recheck(self) -> None:
        assert noised_measures(["amount_sum"]) == ("persons", "amount_sum")

    def test_average_needs_the_noisy_sum_and_order_count(self) -> None:
        assert noised_measures(["amount_avg"]) == ("persons", "orders", "amount_sum")


class TestLaplace:
    def test_epsilon_is_split_equally_over_the_noised_measures(self) -> None:
        plan = plan_noise(["persons", "amount_sum"], RULES, epsilon=1.0, cells_per_person=1)
        assert plan.scale["persons"] == pytest.approx(2.0)
        assert plan.scale["amount_sum"] == pytest.approx(2 * RULES.amount_bound)

    def test_sensitivity_grows_with_the_cells_a_person_may_touch(self) -> None:
        plan = plan_noise(["persons"], RULES, epsilon=1.0, cells_per_person=5)
        assert plan.sensitivity["persons"] == 5
        assert plan.scale["persons"] == pytest.approx(5.0)


class TestGaussian:
    @given(st.floats(min_value=0.01, max_value=10), st.sampled_from([1e-5, 1e-7, 1e-9]))
    def test_rho_gives_back_epsilon(self, epsilon: float, delta: float) -> None:
        rho = zcdp_rho(epsilon, delta)
        assert rho + 2 * math.sqrt(rho * math.log(1 / delta)) == pytest.approx(epsilon)

    def test_opendp_confirms_the_query_stays_within_epsilon_delta(self) -> None:
        rules = AnalysisRules.from_agreement({**RULES.to_dict(), "noise": "gaussian"})
        plan = plan_noise(["persons"], rules, epsilon=1.0, cells_per_person=4)
        measurement = dp.m.make_gaussian(
            dp.vector_domain(dp.atom_domain(T=float, nan=False)),
            dp.l2_distance(T=float),
            scale=plan.scale["persons"],
        )
        profile = dp.c.make_zCDP_to_approxDP(measurement).map(plan.sensitivity["persons"])
        assert plan.sensitivity["persons"] == pytest.approx(2.0)  # √K × 1
        assert profile.epsilon(rules.delta) <= 1.0
