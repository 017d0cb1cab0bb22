"""Analysis rules from an agreement, and the privacy budget."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsunagu.demo.linkage import agreement_terms
from tsunagu.linkage.errors import BudgetExhausted, RulesInvalid
from tsunagu.linkage.rules import AnalysisRules, Budget, validate_agreement_rules

AGREEMENT = {
    "dimensions": ["category", "age_band"],
    "measures": ["persons", "amount_sum"],
    "min_group_size": 50,
    "epsilon_per_query": 0.5,
    "noise": "gaussian",
}


class TestFromAgreement:
    def test_round_trips_through_to_dict(self) -> None:
        rules = AnalysisRules.from_agreement(AGREEMENT)
        assert AnalysisRules.from_agreement(rules.to_dict()) == rules

    def test_defaults_to_a_minimum_group_of_fifty(self) -> None:
        rules = AnalysisRules.from_agreement({"dimensions": [], "measures": ["persons"]})
        assert rules.min_group_size == 50

    def test_refuses_an_unknown_key(self) -> None:
        with pytest.raises(RulesInvalid, match="min_group"):
            AnalysisRules.from_agreement({**AGREEMENT, "min_group": 5})

    def test_refuses_an_identifier_as_a_dimension(self) -> None:
        with pytest.raises(RulesInvalid, match="pid"):
            AnalysisRules.from_agreement({**AGREEMENT, "dimensions": ["pid"]})

    def test_refuses_a_group_size_below_one(self) -> None:
        with pytest.raises(RulesInvalid):
            AnalysisRules.from_agreement({**AGREEMENT, "min_group_size": 0})

    def test_refuses_a_non_positive_epsilon(self) -> None:
        with pytest.raises(RulesInvalid):
            AnalysisRules.from_agreement({**AGREEMENT, "epsilon_per_query": 0})

    def test_population_floor_defaults_to_twice_the_group_size(self) -> None:
        assert AnalysisRules.from_agreement(AGREEMENT).population_floor == 100

    def test_refuses_a_string_for_a_boolean(self) -> None:
        with pytest.raises(RulesInvalid, match="JSON boolean"):
            AnalysisRules.from_agreement({**AGREEMENT, "require_noise": "false"})


class TestValidateAgreementRules:
    def test_a_budget_makes_noise_required(self) -> None:
        rules = validate_agreement_rules(AGREEMENT, budget_epsilon=5.0)
        assert rules["require_noise"] is True

    def test_returns_the_normalised_rules(self) -> None:
        rules = validate_agreement_rules(AGREEMENT, budget_epsilon=5.0)
        assert AnalysisRules.from_agreement(rules).min_group_size == 50

    def test_epsilon_per_query_without_a_total_budget_is_refused(self) -> None:
        with pytest.raises(RulesInvalid, match="needs a total privacy budget"):
            validate_agreement_rules(AGREEMENT)

    def test_a_budget_without_epsilon_per_query_is_refused(self) -> None:
        no_eps = {k: v for k, v in AGREEMENT.items() if k != "epsilon_per_query"}
        with pytest.raises(RulesInvalid, match="ε per query"):
            validate_agreement_rules(no_eps, budget_epsilon=5.0)

    def test_rules_without_noise_or_budget_stay_exact(self) -> None:
        exact = {"dimensions": ["age_band"], "measures": ["persons"]}
        assert validate_agreement_rules(exact)["require_noise"] is False

    @pytest.mark.parametrize("size", [1, 5, 9])
    def test_a_minimum_group_below_ten_is_refused(self, size: int) -> None:
        with pytest.raises(RulesInvalid, match="at least 10"):
            validate_agreement_rules({**AGREEMENT, "min_group_size": size}, budget_epsilon=5.0)

    def test_a_minimum_group_of_ten_is_accepted(self) -> None:
        rules = validate_agreement_rules({**AGREEMENT, "min_group_size": 10}, budget_epsilon=5.0)
        assert rules["min_group_size"] == 10

    def test_a_string_boolean_is_refused(self) -> None:
        with pytest.raises(RulesInvalid):
            validate_agreement_rules({**AGREEMENT, "require_noise": "false"}, budget_epsilon=5.0)

    def test_the_demos_terms_validate(self) -> None:
        terms = agreement_terms()
        rules = validate_agreement_rules(terms.rules, terms.budget_epsilon)
        assert rules["require_noise"] is True


class TestBudget:
    def test_charge_returns_the_budget_after_the_query(self) -> None:
        assert Budget(total=1.0).charge(0.25) == Budget(total=1.0, spent=0.25)

    def test_exhausted_budget_refuses_a_further_noisy_query(self) -> None:
        budget = Budget(total=1.0)
        for _ in range(4):
            budget = budget.charge(0.25)
        with pytest.raises(BudgetExhausted, match="privacy budget") as refused:
            budget.charge(0.25)
        assert refused.value.status_code == 409
        assert refused.value.code == "budget_exhausted"

    def test_a_charge_above_what_is_left_is_refused(self) -> None:
        with pytest.raises(BudgetExhausted):
            Budget(total=1.0, spent=0.9).charge(0.2)

    @given(st.lists(st.floats(min_value=0.01, max_value=1.0), max_size=40))
    def test_spent_never_exceeds_the_total(self, charges: list[float]) -> None:
        budget = Budget(total=2.0)
        for epsilon in charges:
            try:
                budget = budget.charge(epsilon)
            except BudgetExhausted:
                continue
        assert budget.spent <= budget.total * (1 + 1e-9)
