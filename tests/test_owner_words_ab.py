"""Issue 28, part 12: the A/B panel's "B лучше A с вероятностью 97 %" is a real probability.

It used to be Φ(z) of a two-proportion z-test, which is not the probability that B is
better. Now it is P(p_B > p_A) for Beta(1 + successes, 1 + failures) posteriors, computed
exactly; the expected values below come from closed forms, from integrating the two
densities numerically, and from a seeded Monte Carlo run, never from the code under test.
"""

from __future__ import annotations

import math
import random
from statistics import NormalDist

import pytest

from widget_server.admin.funnel import verdict
from widget_server.admin.i18n import use_language
from widget_server.insight.ab import compare, probability_b_better


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # No data on either side: the two posteriors are the same, a coin toss.
        ((0, 0, 0, 0), 1 / 2),
        ((37, 400, 37, 400), 1 / 2),
        # A is uniform, B is Beta(k + 1, 1): P(B > A) = E[p_B] = (k + 1) / (k + 2).
        ((0, 0, 1, 1), 2 / 3),
        ((0, 0, 3, 3), 4 / 5),
        # B is Beta(1, k + 1): E[p_B] = 1 / (k + 2).
        ((0, 0, 0, 3), 1 / 5),
    ],
)
def test_the_probability_matches_closed_forms(counts, expected):
    assert probability_b_better(*counts) == pytest.approx(expected, abs=1e-12)


def beta_integral(sa, na, sb, nb, steps: int = 40_000) -> float:
    """∫ f_B(x) F_A(x) dx by the midpoint rule: an independent way to the same number."""

    def log_density(x, a, b):
        return (
            (a - 1) * math.log(x)
            + (b - 1) * math.log1p(-x)
            + math.lgamma(a + b)
            - math.lgamma(a)
            - math.lgamma(b)
        )

    h = 1 / steps
    below = total = 0.0
    for k in range(steps):
        x = (k + 0.5) * h
        cell_a = math.exp(log_density(x, 1 + sa, 1 + na - sa)) * h
        total += math.exp(log_density(x, 1 + sb, 1 + nb - sb)) * h * (below + cell_a / 2)
        below += cell_a
    return total


@pytest.mark.parametrize(
    "counts", [(100, 1000, 130, 1000), (10, 1000, 25, 1000), (30, 250, 22, 180), (7, 120, 5, 140)]
)
def test_the_probability_matches_integrating_the_two_posteriors(counts):
    assert probability_b_better(*counts) == pytest.approx(beta_integral(*counts), abs=2e-5)


def test_the_probability_matches_a_seeded_monte_carlo_run():
    sa, na, sb, nb = 100, 1000, 130, 1000
    rng = random.Random(28)
    draws = 200_000
    wins = sum(
        rng.betavariate(1 + sb, 1 + nb - sb) > rng.betavariate(1 + sa, 1 + na - sa)
        for _ in range(draws)
    )
    # The run's standard error is √(p(1−p)/n) ≈ 0.0003: four of them either side.
    assert probability_b_better(sa, na, sb, nb) == pytest.approx(wins / draws, abs=0.0012)
    assert probability_b_better(sa, na, sb, nb) == pytest.approx(0.98217, abs=1e-5)


def test_the_probability_stays_exact_where_the_terms_underflow_a_float():
    # Thousands of successes: each term of the sum is far below 1e-308 on its own.
    p = probability_b_better(5000, 9_000_000, 5200, 9_000_000)
    # Beta posteriors this large are normal to many digits: the approximation agrees.
    mean_a, mean_b = 5001 / 9_000_002, 5201 / 9_000_002
    sd = math.sqrt(mean_a * (1 - mean_a) / 9_000_003 + mean_b * (1 - mean_b) / 9_000_003)
    assert p == pytest.approx(NormalDist().cdf((mean_b - mean_a) / sd), abs=1e-3)
    assert 0.97 < p < 0.98


def test_the_probability_is_not_the_z_tests_phi_of_z():
    # Few successes in samples of different sizes, where the z-test's Φ(z) (0.932) and
    # the posterior (0.920) part ways by a whole point of the percentage shown.
    sa, na, sb, nb = 5, 100, 95, 1000
    pooled = (sa + sb) / (na + nb)
    z = (sb / nb - sa / na) / math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    result = compare(sa, na, sb, nb)
    assert result.p_b_better == pytest.approx(beta_integral(sa, na, sb, nb), abs=2e-5)
    assert abs(result.p_b_better - NormalDist().cdf(z)) > 0.01


@pytest.fixture
def page_language(app):
    def speak(lang):
        context = app.test_request_context("/admin/")
        context.push()
        use_language(lang)
        return context

    contexts = []
    yield lambda lang: contexts.append(speak(lang))
    for context in reversed(contexts):
        context.pop()


def test_the_verdict_states_the_posterior_probability_in_the_owners_locale(page_language):
    page_language("ru")
    assert verdict(compare(100, 1000, 130, 1000)) == "B лучше A с вероятностью 98\xa0%"
    assert verdict(compare(130, 1000, 100, 1000)) == "A лучше B с вероятностью 98\xa0%"
    # 0.9947 would round to 99 % or, a little further, to a certainty no sample gives.
    assert verdict(compare(10, 1000, 25, 1000)) == "B лучше A с вероятностью больше 99\xa0%"
    assert verdict(compare(50, 1000, 50, 1000)) == "разницы пока не видно"
    assert verdict(compare(1, 10, 2, 10)) == "данных пока мало"
