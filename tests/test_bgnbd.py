"""BG/NBD: our fit reproduces Fader, Hardie & Lee (2005) on the CDNOW calibration summary, and the
model's functions keep their invariants (P(alive) a probability, 1 without repeat purchases,
falling as the last purchase recedes; expected purchases non-negative and growing with the horizon).

The published figures: r = 0.243, α = 4.414, a = 0.793, b = 2.426 with log-likelihood −9582.4
(FHL 2005, section 5), and 1.226 expected purchases over the next 39 weeks for a customer with
x = 2, t_x = 30.43, T = 38.86 (their worked example; tests/data/cdnow/README.md).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountrules.backtest.bgnbd import (
    BGNBDParams,
    expected_purchases,
    expected_purchases_unconditional,
    fit_bgnbd,
    log_likelihood,
    p_alive,
    p_no_purchase,
)
from cdnow_data import cdnow_file

PUBLISHED = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


@pytest.fixture(scope="module")
def summary() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = np.genfromtxt(cdnow_file("cdnow_customers_summary.csv"), delimiter=",", names=True)
    assert len(table) == 2357
    return table["frequency"], table["recency"], table["T"]


@pytest.fixture(scope="module")
def fitted(summary: tuple[np.ndarray, np.ndarray, np.ndarray]) -> BGNBDParams:
    return fit_bgnbd(*summary)


def test_fit_reproduces_the_published_parameters(fitted: BGNBDParams) -> None:
    got = {k: round(v, 3) for k, v in fitted.to_dict().items()}
    assert got == PUBLISHED.to_dict()


def test_fit_reaches_the_published_log_likelihood(summary: tuple[np.ndarray, np.ndarray, np.ndarray],
                                                   fitted: BGNBDParams) -> None:
    best = log_likelihood(fitted, *summary)
    assert round(best, 1) == -9582.4
    # the published (rounded) parameters are no better than the maximum
    assert log_likelihood(PUBLISHED, *summary) <= best


def test_worked_example_expects_1_226_purchases(fitted: BGNBDParams) -> None:
    got = expected_purchases(fitted, 39, 2, 30.43, 38.86)
    assert got.shape == ()
    assert round(float(got), 3) == 1.226


def test_fit_is_unit_free(summary: tuple[np.ndarray, np.ndarray, np.ndarray], fitted: BGNBDParams) -> None:
    """α is a time scale: the same customers in days give α × 7 and the same r, a, b."""
    x, t_x, age = summary
    in_days = fit_bgnbd(x, t_x * 7, age * 7)
    assert in_days.alpha == pytest.approx(fitted.alpha * 7, rel=1e-4)
    for name in ("r", "a", "b"):
        assert getattr(in_days, name) == pytest.approx(getattr(fitted, name), rel=1e-4)


def simulate(truth: BGNBDParams, n: int, horizon: float, holdout: float,
             seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers drawn from the model itself, all first buying at 0: repeat purchases x and the time
    of the last t_x up to ``horizon``, and the purchases in (horizon, horizon + holdout]."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(truth.r, 1 / truth.alpha, n)
    drop = rng.beta(truth.a, truth.b, n)
    x, t_x, later = np.zeros(n), np.zeros(n), np.zeros(n)
    clock = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        clock[active] += rng.exponential(1 / rate[active])
        before = active & (clock <= horizon)
        x[before] += 1
        t_x[before] = clock[before]
        later[active & (clock > horizon) & (clock <= horizon + holdout)] += 1
        bought = active & (clock <= horizon + holdout)
        # each purchase is followed by dropout with probability p
        active = bought & (rng.random(n) >= drop)
    return x, t_x, later


def test_fit_recovers_simulated_parameters() -> None:
    """Independent of the CDNOW data: on customers drawn from the model the fit finds the truth, and
    the predictions for the holdout match what the simulated customers did."""
    truth = BGNBDParams(r=0.5, alpha=6.0, a=0.8, b=3.0)
    horizon, holdout = 52.0, 26.0
    x, t_x, later = simulate(truth, 20_000, horizon, holdout, seed=7)
    got = fit_bgnbd(x, t_x, np.full(x.size, horizon))
    assert got.r == pytest.approx(truth.r, rel=0.1)
    assert got.alpha == pytest.approx(truth.alpha, rel=0.15)
    assert got.a == pytest.approx(truth.a, rel=0.15)
    assert got.b == pytest.approx(truth.b, rel=0.2)
    # the holdout, in aggregate and among customers without a repeat purchase (P(alive) = 1 for them)
    age = np.full(x.size, horizon)
    quiet = p_no_purchase(truth, holdout, x, t_x, age)
    expected = expected_purchases(truth, holdout, x, t_x, age)
    for group in (np.ones(x.size, dtype=bool), x == 0, x >= 3):
        observed = later[group] == 0
        # a binomial standard error or two either side
        assert quiet[group].mean() == pytest.approx(observed.mean(), abs=3 * observed.std() / group.sum() ** 0.5)
        assert expected[group].mean() == pytest.approx(later[group].mean(), rel=0.08)


def test_customers_all_alike_give_the_limit_of_the_model() -> None:
    """Five purchases in ten weeks each, all still buying at the end: no variation in rates and no
    dropout in sight. The likelihood rises towards that limit; the fit goes far along it and predicts
    what the limit does (a rate of 0.5 a week, everyone alive)."""
    got = fit_bgnbd([5, 5, 5], [10, 10, 10], [10, 10, 10])
    assert got.r / got.alpha == pytest.approx(0.5, rel=1e-3)
    assert float(p_alive(got, 5, 10, 10)) == pytest.approx(1.0, abs=1e-3)
    assert float(expected_purchases(got, 10, 5, 10, 10)) == pytest.approx(5.0, rel=1e-2)


def test_unconditional_expectation_matches_the_conditional_one_for_a_new_customer() -> None:
    """A customer seen at T = 0 (x = 0, t_x = 0) is a new customer: E[Y(t) | 0, 0, 0] = E[X(t)]."""
    params = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    horizons = np.array([1.0, 13.0, 39.0, 78.0])
    conditional = expected_purchases(params, horizons, 0, 0.0, 0.0)
    unconditional = expected_purchases_unconditional(params, horizons)
    assert isinstance(unconditional, np.ndarray)
    np.testing.assert_allclose(conditional, unconditional, rtol=1e-10)
    assert isinstance(expected_purchases_unconditional(params, 39), float)


@pytest.mark.parametrize(("frequency", "recency", "age", "message"), [
    ([1, -1], [0, 0], [1, 1], "frequency is not a whole number"),
    ([1.5], [0.5], [1], "frequency is not a whole number"),
    ([1], [2], [1], "recency exceeds T"),
    ([1], [-0.1], [1], "recency is negative"),
    ([1], [np.nan], [1], "not finite"),
    ([1, 2], [0, 0, 0], [1], "differ in shape"),
])
def test_malformed_summaries_are_refused(frequency: list[float], recency: list[float], age: list[float],
                                         message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_bgnbd(frequency, recency, age)


@pytest.mark.parametrize(("frequency", "recency", "age", "message"), [
    ([], [], [], "no customers"),
    ([0, 0, 0], [0, 0, 0], [10, 20, 30], "no customer has a repeat purchase"),
    ([1, 0], [0, 0], [0, 0], "T = 0"),
    # one customer: four parameters and nothing to pin them
    ([3], [5], [10], "no maximum"),
])
def test_bases_without_a_maximum_are_refused(frequency: list[float], recency: list[float], age: list[float],
                                             message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_bgnbd(frequency, recency, age)


params_st = st.builds(
    BGNBDParams,
    r=st.floats(0.05, 5.0), alpha=st.floats(0.1, 50.0),
    a=st.floats(0.05, 5.0).filter(lambda v: abs(v - 1) > 1e-3), b=st.floats(0.05, 10.0),
)
age_st = st.floats(0.5, 100.0)


@st.composite
def customers(draw: st.DrawFn) -> tuple[int, float, float]:
    age = draw(age_st)
    x = draw(st.integers(0, 40))
    t_x = draw(st.floats(0.0, age)) if x > 0 else 0.0
    return x, t_x, age


@settings(max_examples=100, deadline=None)
@given(params_st, customers())
def test_p_alive_is_a_probability_and_one_without_repeat_purchases(params: BGNBDParams,
                                                                   customer: tuple[int, float, float]) -> None:
    x, t_x, age = customer
    alive = float(p_alive(params, x, t_x, age))
    assert 0.0 <= alive <= 1.0
    if x == 0:
        assert alive == 1.0
    # whatever t_x says when x = 0, it does not count
    assert float(p_alive(params, 0, age / 2, age)) == 1.0


@settings(max_examples=100, deadline=None)
@given(params_st, age_st, st.integers(1, 40), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_p_alive_grows_with_recency(params: BGNBDParams, age: float, x: int, u: float, v: float) -> None:
    """For fixed x and T, a later last purchase means a customer more likely still alive."""
    early, late = sorted((u * age, v * age))
    alive = p_alive(params, [x, x], [early, late], [age, age])
    assert alive[0] <= alive[1] + 1e-12


@settings(max_examples=100, deadline=None)
@given(params_st, customers(), st.floats(0.0, 100.0), st.floats(0.0, 100.0))
def test_expected_purchases_are_non_negative_and_grow_with_the_horizon(
        params: BGNBDParams, customer: tuple[int, float, float], s: float, t: float) -> None:
    x, t_x, age = customer
    short, long = sorted((s, t))
    got = expected_purchases(params, np.array([short, long]), x, t_x, age)
    assert np.all(np.isfinite(got))
    assert got[0] >= -1e-9
    assert got[0] <= got[1] * (1 + 1e-9) + 1e-9
    new = expected_purchases_unconditional(params, np.array([short, long]))
    assert isinstance(new, np.ndarray)
    assert new[0] >= -1e-9 and new[0] <= new[1] * (1 + 1e-9) + 1e-9


@settings(max_examples=100, deadline=None)
@given(params_st, customers(), st.floats(0.0, 100.0), st.floats(0.0, 100.0))
def test_p_no_purchase_is_bounded_and_falls_with_the_horizon(
        params: BGNBDParams, customer: tuple[int, float, float], s: float, t: float) -> None:
    x, t_x, age = customer
    short, long = sorted((s, t))
    quiet = p_no_purchase(params, np.array([short, long]), x, t_x, age)
    dead = 1 - float(p_alive(params, x, t_x, age))
    # dead customers stay silent, and the silent are a subset as the window grows
    assert dead - 1e-12 <= quiet[1] <= quiet[0] + 1e-12 <= 1 + 2e-12
    # Markov's inequality: P(at least one purchase) ≤ E[purchases]
    expected = expected_purchases(params, long, x, t_x, age)
    assert 1 - quiet[1] <= float(expected) * (1 + 1e-7) + 1e-9


def test_p_no_purchase_limits() -> None:
    params = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert float(p_no_purchase(params, 0.0, 2, 30.43, 38.86)) == pytest.approx(1.0)
    # a new customer: the NBD zero class, (α/(α+t))^r (FHL eq. 8 at x = 0)
    assert float(p_no_purchase(params, 39.0, 0, 0.0, 0.0)) == pytest.approx((4.414 / 43.414) ** 0.243)
    # over a very long window only the dead stay silent
    far = float(p_no_purchase(params, 1e12, 2, 30.43, 38.86))
    assert far == pytest.approx(1 - float(p_alive(params, 2, 30.43, 38.86)), abs=1e-3)


def test_nothing_is_expected_over_no_time() -> None:
    params = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert float(expected_purchases(params, 0.0, 3, 10.0, 20.0)) == 0.0
    assert expected_purchases_unconditional(params, 0.0) == 0.0


def test_expectations_refuse_parameters_outside_the_model() -> None:
    with pytest.raises(ValueError, match="positive"):
        expected_purchases(BGNBDParams(r=-1, alpha=1, a=0.5, b=1), 1.0, 0, 0.0, 1.0)
    with pytest.raises(ValueError, match="horizon"):
        expected_purchases_unconditional(BGNBDParams(r=1, alpha=1, a=0.5, b=1), -1.0)


@pytest.mark.parametrize(("a", "b", "x"), [(1.0, 2.0, 3), (1.0, 0.5, 0), (0.25, 0.75, 0), (0.5, 0.5, 0)])
def test_removable_singularities_give_the_limit(a: float, b: float, x: int) -> None:
    """At a = 1 (a 0/0) and at a+b+x−1 = 0 (a pole of ₂F₁) the formula has a finite limit: the value
    there lies between the values just either side, and close to both."""
    t_x = 5.0 if x else 0.0

    def at(a: float, b: float) -> float:
        return float(expected_purchases(BGNBDParams(r=0.5, alpha=3.0, a=a, b=b), 10.0, x, t_x, 12.0))

    h = 1e-3
    limit = at(a, b)
    moved = (at(a - h, b), at(a + h, b)) if a == 1.0 else (at(a, b - h), at(a, b + h))
    assert np.isfinite(limit)
    assert min(moved) - 1e-9 <= limit <= max(moved) + 1e-9
    assert limit == pytest.approx(sum(moved) / 2, rel=1e-4)


def mixture_expectation(params: BGNBDParams, t: float, x: int, t_x: float, age: float) -> float:
    """E[purchases in (T, T+t]] from the model's definition, by numerical integration: alive with
    P(alive); then λ ~ Gamma(r+x, α+T), p ~ Beta(a, b+x), and (1 − e^(−λpt))/p purchases on average,
    whose mean over λ is (1 − (1 + p·t/(α+T))^−(r+x))/p."""
    integrate = pytest.importorskip("scipy.integrate")
    stats = pytest.importorskip("scipy.stats")
    u, k = t / (params.alpha + age), params.r + x
    dist = stats.beta(params.a, params.b + x)

    def g(p: float) -> float:
        return float(-np.expm1(-k * np.log1p(p * u)) / p) if p > 0 else k * u

    inner = integrate.quad(lambda p: g(p) * dist.pdf(p), 0, 1, limit=200)[0]
    return inner * float(p_alive(params, x, t_x, age))


@settings(max_examples=40, deadline=None)
# a > 1: the Beta density stays bounded at 0, where quad would otherwise miss mass
@given(st.builds(BGNBDParams, r=st.floats(0.05, 5.0), alpha=st.floats(0.1, 50.0), a=st.floats(1.05, 5.0),
                 b=st.floats(0.5, 10.0)),
       customers(), st.floats(0.5, 100.0))
def test_closed_form_matches_the_model_by_integration(params: BGNBDParams, customer: tuple[int, float, float],
                                                      t: float) -> None:
    """FHL's closed form (eq. 10, through ₂F₁) against integrating the model directly."""
    x, t_x, age = customer
    got = float(expected_purchases(params, t, x, t_x, age))
    assert got == pytest.approx(mixture_expectation(params, t, x, t_x, age), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("params", [BGNBDParams(r=0.168, alpha=6.13, a=1.43e3, b=1.75e3),
                                    BGNBDParams(r=0.168, alpha=6.13, a=1.43e5, b=1.75e5)])
def test_dropout_probabilities_all_alike_still_give_expectations(params: BGNBDParams) -> None:
    """a and b in the thousands (a fit along the ridge where every customer drops out with the same
    probability): ₂F₁ fails there, the quadrature fallback answers. With p concentrated at its mean m,
    the expectation is that at p = m."""
    x, t_x, age, t = np.array([0, 2, 10]), np.array([0.0, 30.43, 20.0]), np.array([30.0, 38.86, 40.0]), 39.0
    got = expected_purchases(params, t, x, t_x, age)
    m = params.a / (params.a + params.b + x)
    u, k = t / (params.alpha + age), params.r + x
    at_mean = -np.expm1(-k * np.log1p(m * u)) / m * p_alive(params, x, t_x, age)
    np.testing.assert_allclose(got, at_mean, rtol=3e-3)


def test_scipy_is_imported_only_when_the_model_is_used() -> None:
    """Importing the building blocks (as the command line does, registering ``backtest``) costs no
    scipy; without scipy, the model's first use names the extra to install."""
    code = (
        "import sys\n"
        "import accountrules.backtest.bgnbd as m, accountrules.backtest.measures, accountrules.backtest.hiatus\n"
        "assert 'scipy' not in sys.modules, 'scipy imported early'\n"
        "sys.modules['scipy'] = None\n"
        "try:\n"
        "    m.fit_bgnbd([1, 0], [2.0, 0.0], [10.0, 10.0])\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("MissingDependencyError")
    assert "accountrules[backtest]" in done.stdout
