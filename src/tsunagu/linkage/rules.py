"""Analysis rules of a sharing agreement, and the privacy budget (pure, no I/O).

An agreement allows a set of *dimensions* (what results may be broken down by) and
*measures* (what may be counted or summed).  Everything else is refused.  The rules also fix
the minimum number of distinct persons in a released cell, the per-person contribution bounds
that make sums safe (and differential privacy's sensitivity finite), and the optional noise.

What must stay true:

- a dimension or measure outside :data:`DIMENSIONS` / :data:`MEASURES` can never be allowed;
  identifiers (pid, order id, names, contact data) are not dimensions at all;
- ``min_group_size`` ≥ 1, bounds > 0, ε > 0 where given;
- an agreement's rules (:func:`validate_agreement_rules`, what a proposal must pass) are
  stricter: ``min_group_size`` ≥ :data:`MIN_GROUP_FLOOR` (10; default 50), ε per query only
  together with a total privacy budget (else the same noisy question could be asked and
  averaged without end), and a budget makes noise required (``require_noise``);
- booleans are JSON booleans (``"false"`` is refused, never read as true);
- :class:`Budget` never goes past its total: :meth:`Budget.charge` raises instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

from tsunagu.linkage.errors import BudgetExhausted, RulesInvalid

#: dimensions a query may group by; each is a column of the clean room's input tables
DIMENSIONS: frozenset[str] = frozenset(
    {"category", "age_band", "prefecture", "segment", "week", "promotion_period", "member"}
)
#: dimensions that describe the person (one value per person); the others describe an order
PERSON_DIMENSIONS: frozenset[str] = frozenset({"age_band", "prefecture", "segment", "member"})
#: measures: distinct persons, orders, sum and average (per order) of amounts
MEASURES: frozenset[str] = frozenset({"persons", "orders", "amount_sum", "amount_avg"})
#: filters a query may use
FILTERS: frozenset[str] = frozenset({"category", "prefecture", "period"})

NoiseKind = Literal["laplace", "gaussian"]
#: the least minimum group size an agreement may set
MIN_GROUP_FLOOR = 10


def _strings(value: Any, what: str) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise RulesInvalid(f"'{what}' must be a list of names.")
    if not all(isinstance(v, str) for v in value):
        raise RulesInvalid(f"'{what}' must be a list of names.")
    return frozenset(value)


@dataclass(frozen=True)
class AnalysisRules:
    """What an agreement lets a recipient ask of the clean room.

    ``amount_bound`` (yen) and ``orders_bound`` cap one person's contribution to one cell:
    their amounts in the cell are summed, then clipped to ``amount_bound``; their orders are
    counted, then clipped to ``orders_bound``.  ``max_cells_per_person`` caps how many cells
    one person may appear in when noise is on and a dimension describes orders (category,
    week, promotion period).  ``min_population`` is the least number of distinct persons the
    filters may leave (default: twice ``min_group_size``).  ``require_noise`` refuses queries
    without noise.  ``delta`` is δ of (ε, δ)-DP for Gaussian noise.
    """

    dimensions: frozenset[str]
    measures: frozenset[str]
    min_group_size: int = 50
    epsilon_per_query: float | None = None
    noise: NoiseKind = "laplace"
    filters: frozenset[str] = FILTERS
    amount_bound: float = 100_000.0
    orders_bound: int = 20
    max_cells_per_person: int = 5
    min_population: int | None = None
    require_noise: bool = False
    delta: float = 1e-7
    #: category values a filter may name; None: any category (they are coarse by nature)
    filter_categories: frozenset[str] | None = field(default=None)

    def __post_init__(self) -> None:
        if unknown := self.dimensions - DIMENSIONS:
            raise RulesInvalid(
                f"Unknown dimensions in the rules: {', '.join(sorted(unknown))}. "
                f"Allowed: {', '.join(sorted(DIMENSIONS))}."
            )
        if unknown := self.measures - MEASURES:
            raise RulesInvalid(
                f"Unknown measures in the rules: {', '.join(sorted(unknown))}. "
                f"Allowed: {', '.join(sorted(MEASURES))}."
            )
        if unknown := self.filters - FILTERS:
            raise RulesInvalid(f"Unknown filters in the rules: {', '.join(sorted(unknown))}.")
        if self.min_group_size < 1:
            raise RulesInvalid("The minimum group size must be at least 1.")
        if self.epsilon_per_query is not None and not (
            math.isfinite(self.epsilon_per_query) and self.epsilon_per_query > 0
        ):
            raise RulesInvalid("ε per query must be a positive number.")
        if self.noise not in ("laplace", "gaussian"):
            raise RulesInvalid("Noise must be 'laplace' or 'gaussian'.")
        if not (math.isfinite(self.amount_bound) and self.amount_bound > 0):
            raise RulesInvalid("The amount bound must be a positive number of yen.")
        if self.orders_bound < 1 or self.max_cells_per_person < 1:
            raise RulesInvalid("Contribution bounds must be at least 1.")
        if self.min_population is not None and self.min_population < self.min_group_size:
            raise RulesInvalid("The minimum population cannot be below the minimum group size.")
        if not 0 < self.delta < 1:
            raise RulesInvalid("δ must lie strictly between 0 and 1.")
        if self.require_noise and self.epsilon_per_query is None:
            raise RulesInvalid("Rules that require noise must set ε per query.")

    @property
    def population_floor(self) -> int:
        """Least number of distinct persons a query's filters may leave."""
        return self.min_population if self.min_population is not None else 2 * self.min_group_size

    @classmethod
    def from_agreement(cls, data: Mapping[str, Any]) -> AnalysisRules:
        """The rules from an agreement's JSON (keys as :meth:`to_dict` writes them).

        Unknown keys are refused so that a typo never silently loosens a rule.
        """
        known = {
            "dimensions",
            "measures",
            "min_group_size",
            "epsilon_per_query",
            "noise",
            "filters",
            "amount_bound",
            "orders_bound",
            "max_cells_per_person",
            "min_population",
            "require_noise",
            "delta",
            "filter_categories",
        }
        if unknown := set(data) - known:
            raise RulesInvalid(f"Unknown keys in the analysis rules: {', '.join(sorted(unknown))}.")
        if "dimensions" not in data or "measures" not in data:
            raise RulesInvalid("The analysis rules must list 'dimensions' and 'measures'.")
        kwargs: dict[str, Any] = {
            "dimensions": _strings(data["dimensions"], "dimensions"),
            "measures": _strings(data["measures"], "measures"),
        }
        if "filters" in data:
            kwargs["filters"] = _strings(data["filters"], "filters")
        if data.get("filter_categories") is not None:
            kwargs["filter_categories"] = _strings(data["filter_categories"], "filter_categories")
        for key, kind in (
            ("min_group_size", int),
            ("orders_bound", int),
            ("max_cells_per_person", int),
            ("min_population", int),
            ("amount_bound", float),
            ("epsilon_per_query", float),
            ("delta", float),
        ):
            value = data.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise RulesInvalid(f"'{key}' must be a number.")
            if kind is int and value != int(value):
                raise RulesInvalid(f"'{key}' must be a whole number.")
            kwargs[key] = kind(value)
        if "noise" in data:
            kwargs["noise"] = cast(NoiseKind, data["noise"])
        if "require_noise" in data:
            if not isinstance(data["require_noise"], bool):
                raise RulesInvalid("'require_noise' must be true or false (a JSON boolean).")
            kwargs["require_noise"] = data["require_noise"]
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; ``from_agreement(to_dict())`` gives the same rules back."""
        return {
            "dimensions": sorted(self.dimensions),
            "measures": sorted(self.measures),
            "min_group_size": self.min_group_size,
            "epsilon_per_query": self.epsilon_per_query,
            "noise": self.noise,
            "filters": sorted(self.filters),
            "amount_bound": self.amount_bound,
            "orders_bound": self.orders_bound,
            "max_cells_per_person": self.max_cells_per_person,
            "min_population": self.min_population,
            "require_noise": self.require_noise,
            "delta": self.delta,
            "filter_categories": None
            if self.filter_categories is None
            else sorted(self.filter_categories),
        }


def validate_agreement_rules(
    data: Mapping[str, Any], budget_epsilon: float | None = None
) -> dict[str, Any]:
    """The analysis rules of a proposed agreement, checked and normalised (JSON-ready).

    ``budget_epsilon`` is the agreement's total privacy budget (None: no budget).  Beyond
    :meth:`AnalysisRules.from_agreement` this requires ``min_group_size`` ≥
    :data:`MIN_GROUP_FLOOR`, refuses ε per query without a total budget, and with a budget
    sets ``require_noise`` (noise-free questions are refused).  Raises :class:`RulesInvalid`
    with a message the proposer can act on.
    """
    rules = AnalysisRules.from_agreement(data)
    if rules.min_group_size < MIN_GROUP_FLOOR:
        raise RulesInvalid(
            f"The minimum group size must be at least {MIN_GROUP_FLOOR} persons "
            "(50, as Google Ads Data Hub, unless there is a reason to go lower)."
        )
    if budget_epsilon is not None and isinstance(budget_epsilon, bool):
        raise RulesInvalid("The privacy budget must be a number.")
    if budget_epsilon is None:
        if rules.epsilon_per_query is not None or rules.require_noise:
            raise RulesInvalid(
                "ε per query needs a total privacy budget: without one the same noisy question "
                "could be asked again and again and the answers averaged. Set a total budget, "
                "or remove ε per query for an agreement without noise."
            )
        return rules.to_dict()
    if not (math.isfinite(budget_epsilon) and budget_epsilon > 0):
        raise RulesInvalid("The privacy budget must be a positive total ε.")
    if rules.epsilon_per_query is None:
        raise RulesInvalid("A privacy budget needs ε per query (what each noisy question spends).")
    if rules.epsilon_per_query > budget_epsilon:
        raise RulesInvalid("ε per query cannot exceed the total privacy budget.")
    return replace(rules, require_noise=True).to_dict()


@dataclass(frozen=True)
class Budget:
    """A collaboration's privacy budget: ``total`` ε, of which ``spent`` is used.

    Immutable: :meth:`charge` returns the budget after a query, or raises
    :class:`BudgetExhausted` when the query would spend more than is left.
    """

    total: float
    spent: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.total) and self.total >= 0):
            raise RulesInvalid("A privacy budget must be a non-negative number.")
        if self.spent < 0:
            raise RulesInvalid("Spent budget cannot be negative.")

    @property
    def remaining(self) -> float:
        """ε still available (never negative)."""
        return max(0.0, self.total - self.spent)

    def charge(self, epsilon: float) -> Budget:
        """The budget after spending ``epsilon``; raises if that would exceed the total."""
        if not (math.isfinite(epsilon) and epsilon > 0):
            raise RulesInvalid("A query must spend a positive ε.")
        # a relative tolerance so that ten charges of 0.1 fit a budget of 1.0
        if self.spent + epsilon > self.total * (1 + 1e-9):
            raise BudgetExhausted(
                f"This noisy query needs ε = {epsilon:g} but only ε = {self.remaining:g} of "
                f"the agreement's privacy budget (ε = {self.total:g}) is left. No further noisy "
                "queries can run under this agreement; ask the data provider to agree a new "
                "budget."
            )
        return replace(self, spent=self.spent + epsilon)
