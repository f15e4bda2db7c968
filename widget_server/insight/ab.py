"""The A/B test's arithmetic: rates and a two-proportion z-test, in plain Python.

The rule the dashboard states: a rate is compared only when each variant has at least
``MIN_IMPRESSIONS`` impressions and at least ``MIN_EVENTS`` successes and as many
failures (the usual condition for the normal approximation, n·p ≥ 5 and n·(1−p) ≥ 5);
below that it says "данных пока мало". Otherwise the pooled two-proportion z statistic
z = (p_B − p_A) / √(p(1−p)(1/n_A + 1/n_B)) gives Φ(z), read as "B is better than A with
probability Φ(z)" (and A better than B with 1 − Φ(z)), rounded to a whole percent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

MIN_IMPRESSIONS = 100
MIN_EVENTS = 5


@dataclass(frozen=True)
class Comparison:
    enough: bool
    rate_a: float | None
    rate_b: float | None
    z: float | None = None
    p_b_better: float | None = None  # Φ(z); None when there is too little data

    @property
    def leader(self) -> str | None:
        if self.p_b_better is None:
            return None
        return "b" if self.p_b_better >= 0.5 else "a"

    @property
    def leader_probability(self) -> int | None:
        """The leader's probability as a whole percent (97 for Φ(z) = 0.9712)."""
        if self.p_b_better is None:
            return None
        p = self.p_b_better if self.leader == "b" else 1 - self.p_b_better
        return int(math.floor(p * 100 + 0.5))


def rate(successes: int, trials: int) -> float | None:
    return successes / trials if trials else None


def compare(success_a: int, trials_a: int, success_b: int, trials_b: int) -> Comparison:
    """B against A on one rate (successes per trial, e.g. submits per impression)."""
    rate_a, rate_b = rate(success_a, trials_a), rate(success_b, trials_b)
    enough = all(
        (
            trials_a >= MIN_IMPRESSIONS,
            trials_b >= MIN_IMPRESSIONS,
            min(success_a, trials_a - success_a) >= MIN_EVENTS,
            min(success_b, trials_b - success_b) >= MIN_EVENTS,
        )
    )
    if not enough:
        return Comparison(False, rate_a, rate_b)
    pooled = (success_a + success_b) / (trials_a + trials_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    z = (rate_b - rate_a) / se
    return Comparison(True, rate_a, rate_b, z, NormalDist().cdf(z))
