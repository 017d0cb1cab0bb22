"""Differential-privacy noise for clean-room results, calibrated and sampled with OpenDP.

Accounting for one query (docs/linkage/cleanroom.md explains it at length):

- The neighbouring datasets differ by **one person** (all of their orders).
- Each person's contribution to a cell is bounded in SQL before aggregation: 1 to ``persons``,
  at most ``orders_bound`` to ``orders``, at most ``amount_bound`` yen to ``amount_sum``.
- A person appears in at most ``K`` cells: ``K = 1`` when every dimension describes the
  person (the cells are disjoint in persons: *parallel composition*), else
  ``K = max_cells_per_person``, enforced in SQL.  The L1 sensitivity of a measure's vector of
  cells is ``K × bound``, the L2 sensitivity ``√K × bound``.
- The measures that are noised — ``persons`` always (the suppression re-check needs it),
  ``orders`` and ``amount_sum`` when asked or needed for ``amount_avg`` — split the query's ε
  equally (*sequential composition*).  ``amount_avg`` is post-processing of the noisy sum
  and the noisy order count and costs nothing more.
- Laplace: pure ε-DP, scale ``Δ1 / ε_m``.  Gaussian: (ε, δ)-DP through zero-concentrated DP:
  ``ρ = (√(ln 1/δ + ε) − √(ln 1/δ))²`` (so ``ε = ρ + 2√(ρ ln 1/δ)``), split equally,
  ``σ = Δ2 / √(2 ρ_m)``.

OpenDP builds the measurement (``make_laplace`` on an L1 vector space, ``make_gaussian`` on an
L2 vector space) and its privacy map confirms each measure's share before any value is
released.  OpenDP samples from a cryptographically secure source and cannot be seeded; a
``seed`` (tests, benchmarks) samples the same distributions from NumPy instead — never pass
one in production.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import opendp.prelude as dp

from tsunagu.linkage.rules import AnalysisRules, NoiseKind

dp.enable_features("contrib")

_SPACE_L1 = (dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float))
_SPACE_L2 = (dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l2_distance(T=float))
#: a scale is widened by this factor so that floating-point rounding in OpenDP's map never
#: reports a hair more than the share
_SLACK = 1 + 1e-9


def noised_measures(measures: Sequence[str]) -> tuple[str, ...]:
    """The measures that receive noise for a query asking ``measures`` (persons first)."""
    base = ["persons"]
    if "orders" in measures or "amount_avg" in measures:
        base.append("orders")
    if "amount_sum" in measures or "amount_avg" in measures:
        base.append("amount_sum")
    return tuple(base)


def zcdp_rho(epsilon: float, delta: float) -> float:
    """The ρ of zero-concentrated DP that gives (ε, δ)-DP: ε = ρ + 2√(ρ ln 1/δ)."""
    log = math.log(1 / delta)
    return (math.sqrt(log + epsilon) - math.sqrt(log)) ** 2


@dataclass(frozen=True)
class NoisePlan:
    """How one query's ε is spent: per noised measure, its sensitivity and noise scale."""

    kind: NoiseKind
    epsilon: float
    delta: float | None
    cells_per_person: int
    sensitivity: Mapping[str, float]
    scale: Mapping[str, float]

    def sample(self, measure: str, values: Sequence[float], *, seed: int | None) -> list[float]:
        """``values`` (one per released cell) with this plan's noise for ``measure``."""
        if not values:
            return []
        if seed is not None:
            rng = np.random.default_rng([seed, sorted(self.scale).index(measure)])
            noise = (
                rng.laplace(0.0, self.scale[measure], len(values))
                if self.kind == "laplace"
                else rng.normal(0.0, self.scale[measure], len(values))
            )
            return [float(v) + float(n) for v, n in zip(values, noise, strict=True)]
        measurement = _measurement(self.kind, self.scale[measure])
        return [float(v) for v in measurement([float(v) for v in values])]


def _measurement(kind: NoiseKind, scale: float) -> dp.Measurement:
    if kind == "laplace":
        return dp.m.make_laplace(*_SPACE_L1, scale=scale)
    return dp.m.make_gaussian(*_SPACE_L2, scale=scale)


def plan_noise(
    measures: Sequence[str], rules: AnalysisRules, *, epsilon: float, cells_per_person: int
) -> NoisePlan:
    """Calibrate the noise of one query spending ``epsilon`` (see the module docstring)."""
    base = noised_measures(measures)
    bound = {"persons": 1.0, "orders": float(rules.orders_bound), "amount_sum": rules.amount_bound}
    k = cells_per_person
    sensitivity: dict[str, float] = {}
    scale: dict[str, float] = {}
    if rules.noise == "laplace":
        share = epsilon / len(base)
        for m in base:
            sensitivity[m] = k * bound[m]
            scale[m] = sensitivity[m] / share * _SLACK
            spent = _measurement("laplace", scale[m]).map(sensitivity[m])  # type: ignore[no-untyped-call]
            if spent > share:  # pragma: no cover - OpenDP's map disagreeing would be a bug
                raise RuntimeError(f"OpenDP reports ε {spent} above the share {share}")
        return NoisePlan("laplace", epsilon, None, k, sensitivity, scale)
    rho_share = zcdp_rho(epsilon, rules.delta) / len(base)
    for m in base:
        sensitivity[m] = math.sqrt(k) * bound[m]
        scale[m] = sensitivity[m] / math.sqrt(2 * rho_share) * _SLACK
        spent = _measurement("gaussian", scale[m]).map(sensitivity[m])  # type: ignore[no-untyped-call]
        if spent > rho_share:  # pragma: no cover - as above
            raise RuntimeError(f"OpenDP reports ρ {spent} above the share {rho_share}")
    return NoisePlan("gaussian", epsilon, rules.delta, k, sensitivity, scale)
