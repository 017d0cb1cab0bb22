"""The stage model of THE MODEL (pure): every rule of the default model from issue 7,
the departments a forward move hands over between, and what makes a model invalid."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import pytest

from tsunagu.crm.stages import DEFAULT_MODEL, DEFAULT_STAGES, Stage, StageModel, model_from_rows

M = DEFAULT_MODEL
MAIN = (
    "lead",
    "nurturing",
    "promising",
    "qualified",
    "opportunity",
    "won",
    "onboarding",
    "implementation",
    "adoption",
    "renewal",
)
PRESALE = MAIN[:5]
CUSTOMER_SUCCESS = MAIN[6:]
ALL = (*MAIN, "lost", "churned", "recycle", "dead_end")


def stages_without(key: str) -> tuple[Stage, ...]:
    return tuple(s for s in DEFAULT_STAGES if s.key != key)


def stages_with(key: str, **changes: object) -> tuple[Stage, ...]:
    return tuple(replace(s, **changes) if s.key == key else s for s in DEFAULT_STAGES)  # type: ignore[arg-type]


class TestDefaultModelShape:
    def test_the_main_line_runs_from_lead_to_renewal(self) -> None:
        assert M.main_line == MAIN

    def test_every_stage_of_the_issue_is_there(self) -> None:
        assert set(M.keys) == set(ALL)

    def test_presale_and_customer_success_split_at_won(self) -> None:
        assert (M.presale, M.customer_success) == (PRESALE, CUSTOMER_SUCCESS)

    @pytest.mark.parametrize(
        ("department", "keys"),
        [
            ("marketing", {"lead", "nurturing", "promising"}),
            ("inside_sales", {"qualified"}),
            ("field_sales", {"opportunity", "won", "lost"}),
            ("customer_success", {"onboarding", "implementation", "adoption", "renewal"}),
        ],
    )
    def test_each_department_owns_its_stages(self, department: str, keys: set[str]) -> None:
        assert {k: M.stage(k).department for k in keys} == dict.fromkeys(keys, department)

    def test_every_stage_has_an_entry_criterion_in_both_languages(self) -> None:
        assert all(s.criterion_ja and s.criterion_en for s in M.stages)

    @pytest.mark.parametrize("role", ["won", "lost", "churned", "renewal", "recycle", "dead_end"])
    def test_each_role_belongs_to_the_stage_of_its_name(self, role: str) -> None:
        assert M.by_role(role) == role  # type: ignore[arg-type]


class TestForwardMoves:
    @pytest.mark.parametrize(("a", "b"), list(pairwise(MAIN)))
    def test_the_next_main_stage_is_allowed_and_no_fast_pass(self, a: str, b: str) -> None:
        assert M.allows(a, b)
        assert not M.is_fast_pass(a, b)

    @pytest.mark.parametrize(
        ("a", "b"), [("lead", "promising"), ("nurturing", "opportunity"), ("lead", "won")]
    )
    def test_a_skip_is_allowed_and_a_fast_pass(self, a: str, b: str) -> None:
        assert M.allows(a, b)
        assert M.is_fast_pass(a, b)

    @pytest.mark.parametrize(("a", "b"), [("nurturing", "lead"), ("won", "opportunity")])
    def test_backwards_on_the_main_line_is_refused(self, a: str, b: str) -> None:
        assert not M.allows(a, b)

    def test_staying_in_the_same_stage_is_not_a_move(self) -> None:
        assert not M.allows("lead", "lead")


class TestFirstEvent:
    def test_starting_in_lead_is_no_fast_pass(self) -> None:
        assert M.allows(None, "lead")
        assert not M.is_fast_pass(None, "lead")

    @pytest.mark.parametrize("key", MAIN[1:])
    def test_starting_past_lead_is_a_fast_pass(self, key: str) -> None:
        assert M.allows(None, key)
        assert M.is_fast_pass(None, key)

    @pytest.mark.parametrize("key", ["dead_end", "churned"])
    def test_no_entity_starts_in_a_terminal_stage(self, key: str) -> None:
        assert not M.allows(None, key)

    @pytest.mark.parametrize("key", ["recycle", "lost"])
    def test_a_side_stage_may_be_first_and_is_no_fast_pass(self, key: str) -> None:
        assert M.allows(None, key)
        assert not M.is_fast_pass(None, key)


class TestSideMoves:
    @pytest.mark.parametrize("key", [*PRESALE, "lost"])
    def test_recycle_from_any_stage_before_won(self, key: str) -> None:
        assert M.allows(key, "recycle")

    @pytest.mark.parametrize("key", [*PRESALE, "lost", "recycle"])
    def test_dead_end_from_any_stage_before_won(self, key: str) -> None:
        assert M.allows(key, "dead_end")

    @pytest.mark.parametrize("key", ["won", *CUSTOMER_SUCCESS])
    def test_no_recycle_or_dead_end_from_won_on(self, key: str) -> None:
        assert not M.allows(key, "recycle")
        assert not M.allows(key, "dead_end")

    def test_opportunity_may_be_lost(self) -> None:
        assert M.allows("opportunity", "lost")

    @pytest.mark.parametrize("key", ["lead", "nurturing", "promising", "qualified"])
    def test_only_an_opportunity_is_lost(self, key: str) -> None:
        assert not M.allows(key, "lost")

    def test_lost_goes_to_recycle(self) -> None:
        assert M.allows("lost", "recycle")

    def test_lost_does_not_come_back_to_the_main_line_directly(self) -> None:
        assert not M.allows("lost", "opportunity")

    @pytest.mark.parametrize("key", ["nurturing", "promising", "qualified", "opportunity"])
    def test_recycle_returns_to_nurturing_or_a_later_presale_stage(self, key: str) -> None:
        assert M.allows("recycle", key)

    def test_a_return_from_recycle_is_no_fast_pass(self) -> None:
        assert not M.is_fast_pass("recycle", "qualified")

    @pytest.mark.parametrize("key", ["lead", "won", "onboarding"])
    def test_recycle_does_not_return_to_lead_or_past_the_sale(self, key: str) -> None:
        assert not M.allows("recycle", key)

    def test_renewal_returns_to_adoption_for_the_next_term(self) -> None:
        assert M.allows("renewal", "adoption")

    @pytest.mark.parametrize("key", CUSTOMER_SUCCESS)
    def test_any_customer_success_stage_may_churn(self, key: str) -> None:
        assert M.allows(key, "churned")

    @pytest.mark.parametrize("key", [*PRESALE, "won"])
    def test_churn_is_only_from_customer_success(self, key: str) -> None:
        assert not M.allows(key, "churned")


class TestTerminalStages:
    @pytest.mark.parametrize("terminal", ["dead_end", "churned"])
    @pytest.mark.parametrize("target", ALL)
    def test_nothing_leaves_a_terminal_stage(self, terminal: str, target: str) -> None:
        assert not M.allows(terminal, target)

    def test_only_dead_end_and_churned_are_terminal(self) -> None:
        assert {s.key for s in M.stages if s.terminal} == {"dead_end", "churned"}

    def test_an_unknown_stage_is_never_allowed(self) -> None:
        assert not M.allows("lead", "mars")
        assert not M.allows("mars", "lead")
        assert not M.allows(None, "mars")


class TestHandoff:
    @pytest.mark.parametrize(
        ("a", "b", "handoff"),
        [
            ("promising", "qualified", ("marketing", "inside_sales")),
            ("qualified", "opportunity", ("inside_sales", "field_sales")),
            ("won", "onboarding", ("field_sales", "customer_success")),
            ("nurturing", "opportunity", ("marketing", "field_sales")),
        ],
    )
    def test_a_forward_move_across_departments_is_a_handoff(
        self, a: str, b: str, handoff: tuple[str, str]
    ) -> None:
        assert M.handoff(a, b) == handoff

    @pytest.mark.parametrize(
        ("a", "b"),
        [
            ("lead", "nurturing"),
            (None, "qualified"),
            ("opportunity", "lost"),
            ("recycle", "qualified"),
            ("renewal", "adoption"),
        ],
    )
    def test_other_moves_hand_nothing_over(self, a: str | None, b: str) -> None:
        assert M.handoff(a, b) is None


class TestModelValidation:
    def test_the_default_rebuilt_from_rows_is_the_same_model(self) -> None:
        assert model_from_rows(DEFAULT_STAGES) == M

    def test_duplicate_keys_are_refused(self) -> None:
        with pytest.raises(ValueError, match="unique"):
            StageModel((*DEFAULT_STAGES, DEFAULT_STAGES[0]), M.extra_moves)

    def test_a_gap_in_the_main_line_is_refused(self) -> None:
        with pytest.raises(ValueError, match="without gaps"):
            StageModel(stages_with("renewal", position=12), M.extra_moves)

    def test_a_missing_role_is_refused(self) -> None:
        with pytest.raises(ValueError, match="role 'dead_end'"):
            StageModel(stages_without("dead_end"), frozenset())

    def test_two_stages_with_one_role_are_refused(self) -> None:
        with pytest.raises(ValueError, match="role 'won'"):
            StageModel(stages_with("opportunity", role="won"), M.extra_moves)

    def test_won_as_a_side_stage_is_refused(self) -> None:
        stages = tuple(
            replace(s, position=None)
            if s.key == "won"
            else replace(s, position=s.position - 1)
            if s.position is not None and s.position > 5
            else s
            for s in DEFAULT_STAGES
        )
        with pytest.raises(ValueError, match="won stage must be on the main line"):
            StageModel(stages, frozenset())

    def test_lost_on_the_main_line_is_refused(self) -> None:
        with pytest.raises(ValueError, match="lost stage must be a side stage"):
            StageModel(stages_with("lost", position=10), M.extra_moves)

    def test_a_move_naming_an_unknown_stage_is_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown stage"):
            StageModel(DEFAULT_STAGES, frozenset({("lead", "mars")}))

    def test_a_custom_model_allows_only_its_listed_side_moves(self) -> None:
        model = model_from_rows(DEFAULT_STAGES, [("opportunity", "lost")])

        assert model.allows("opportunity", "lost")
        assert model.allows("lead", "qualified")
        assert not model.allows("lead", "recycle")
