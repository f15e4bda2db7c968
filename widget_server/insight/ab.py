"""The A/B test's arithmetic: rates and the probability that one variant is better.

The dashboard says "B лучше A с вероятностью 97 %", and that number is what it claims:
the Bayesian probability that B's true rate is higher than A's, given what was counted.
Each variant's rate starts from a uniform prior, so after ``s`` successes in ``n`` trials it
is Beta(1 + s, 1 + n − s); P(p_B > p_A) for two Beta posteriors has an exact finite sum
(Evan Miller, "Formulas for Bayesian A/B Testing"), computed below. (A z-test's Φ(z) or
p-value is not such a probability, which is why this module no longer uses one.)

The rule the dashboard states: a rate is compared only when each variant has at least
``MIN_IMPRESSIONS`` impressions and at least ``MIN_EVENTS`` successes and as many
failures; below that it says "данных пока мало", so that a few early requests are not
read as a verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_IMPRESSIONS = 100
MIN_EVENTS = 5


@dataclass(frozen=True)
class Comparison:
    enough: bool
    rate_a: float | None
    rate_b: float | None
    p_b_better: float | None = None  # P(p_B > p_A); None when there is too little data

    @property
    def leader(self) -> str | None:
        if self.p_b_better is None:
            return None
        return "b" if self.p_b_better >= 0.5 else "a"

    @property
    def leader_probability(self) -> float | None:
        """The probability that the leader is really the better one (0.5 to 1)."""
        if self.p_b_better is None:
            return None
        return self.p_b_better if self.leader == "b" else 1 - self.p_b_better


def rate(successes: int, trials: int) -> float | None:
    return successes / trials if trials else None


def _log_beta(x: float, y: float) -> float:
    return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)


def _p_second_better(alpha_1: int, beta_1: int, alpha_2: int, beta_2: int) -> float:
    """P(X₂ > X₁) for X₁ ~ Beta(α₁, β₁), X₂ ~ Beta(α₂, β₂), integer α₂: the sum over
    i < α₂ of B(α₁ + i, β₁ + β₂) / ((β₂ + i) · B(1 + i, β₂) · B(α₁, β₁)).

    Term i + 1 is term i times (α₁ + i)(β₂ + i) / ((α₁ + β₁ + β₂ + i)(1 + i)), so the
    terms are built in logarithms (they underflow a float long before the sum does) and
    added with the largest factored out.
    """
    log_term = _log_beta(alpha_1, beta_1 + beta_2) - _log_beta(alpha_1, beta_1)  # i = 0
    logs = [log_term]
    for i in range(alpha_2 - 1):
        log_term += math.log((alpha_1 + i) * (beta_2 + i)) - math.log(
            (alpha_1 + beta_1 + beta_2 + i) * (1 + i)
        )
        logs.append(log_term)
    top = max(logs)
    return math.exp(top) * math.fsum(math.exp(v - top) for v in logs)


def probability_b_better(success_a: int, trials_a: int, success_b: int, trials_b: int) -> float:
    """P(p_B > p_A) with p ~ Beta(1 + successes, 1 + failures) for each variant, exactly."""
    a = (1 + success_a, 1 + trials_a - success_a)
    b = (1 + success_b, 1 + trials_b - success_b)
    # The sum has α₂ terms: run it over the variant with fewer successes (ties have
    # probability zero, so P(B > A) = 1 − P(A > B)).
    p = _p_second_better(*a, *b) if b[0] <= a[0] else 1 - _p_second_better(*b, *a)
    return min(1.0, max(0.0, p))


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
    return Comparison(
        True, rate_a, rate_b, probability_b_better(success_a, trials_a, success_b, trials_b)
    )
