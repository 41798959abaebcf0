"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

Each customer buys at a Poisson rate λ ~ Gamma(r, α) while alive, and after each purchase drops out
with probability p ~ Beta(a, b). A customer is summarised by ``frequency`` x (repeat purchases),
``recency`` t_x (time of the last purchase, measured from the first) and ``T`` (time from the first
purchase to the end of observation), all in one time unit. Parameters are fitted by maximum
likelihood (the likelihood is FHL's equation 6, written in logs with ``gammaln``/``betaln``).

Our own fit rather than a library's. Checked on Python 3.11, 3.12 and 3.13 with numpy 2.4–2.5,
pandas 3.1, scipy 1.17–1.18: ``lifetimes`` still runs and fits the same values, but it is
unmaintained (last release 0.11.3, 2020) and pulls pandas, autograd and dill into the install;
``btyd`` 0.1a1 does not import (it pins autograd 1.4, which imports the removed
``inspect.getargspec``). ``pymc-marketing`` (checked on 3.11) installs ~800 MB (PyMC, PyTensor), and
its MAP fit takes over a minute and, with its default priors, lands elsewhere (a 0.706, b 2.092).
Ours reproduces FHL's published CDNOW estimates (tests/test_bgnbd.py).

For a churn score, :func:`p_no_purchase` is the model's own probability of "no order in the next t";
1 − :func:`p_alive` ranks customers without a repeat purchase as certainly alive (the model lets
customers drop out only after a purchase).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from accountrules.io.optional import require

FloatArray = NDArray[np.float64]


def _scipy(module: str) -> Any:
    """``scipy.<module>``, imported when first needed: importing this module (and the command line,
    which registers ``backtest`` among its commands) costs no scipy, and a missing scipy names the
    ``backtest`` extra."""
    return require(f"scipy.{module}", "the BG/NBD model")


# the optimiser works on log-parameters, clipped so exp() neither overflows nor reaches 0
_LOG_BOUND = 30.0
# largest gradient component (of the mean log-likelihood in log-parameters) accepted as a maximum:
# loose enough for a maximum approached along a ridge to infinity (e.g. a, b → ∞ with a/(a+b) fixed:
# every customer with the same dropout probability), where BFGS stops on precision loss
_GRADIENT_TOLERANCE = 1e-4


@dataclass(frozen=True)
class BGNBDParams:
    """Gamma(r, α) purchase rates (α in the data's time unit) and Beta(a, b) dropout probabilities."""

    r: float
    alpha: float
    a: float
    b: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _customers(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The three summaries as float arrays of one shape, checked: x ≥ 0 whole, 0 ≤ t_x ≤ T, all finite."""
    x, t_x, age = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
    try:
        x, t_x, age = np.broadcast_arrays(x, t_x, age)
    except ValueError as e:
        raise ValueError(f"frequency, recency and T differ in shape: {x.shape}, {t_x.shape}, {age.shape}") from e
    checks = (
        (np.isfinite(x) & np.isfinite(t_x) & np.isfinite(age), "not finite"),
        ((x >= 0) & (x == np.floor(x)), "frequency is not a whole number ≥ 0"),
        (t_x >= 0, "recency is negative"),
        (t_x <= age, "recency exceeds T"),
    )
    for ok, what in checks:
        if not np.all(ok):
            bad = np.flatnonzero(~np.asarray(ok).ravel())
            raise ValueError(f"{what} for {bad.size} customer(s), first at position {int(bad[0])}")
    return x, t_x, age


def _log_likelihood_terms(log_params: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray,
                          gradient: bool = False) -> tuple[FloatArray, FloatArray | None]:
    """Per-customer log-likelihood (FHL eq. 6) at ``exp(log_params)`` = (r, α, a, b) and, if asked, its
    gradient with respect to the log-parameters (4 × customers).

    ℓ = C + log(e^S + δ(x>0) e^D): C is common to both ways of having bought x times, S is
    "still alive at T", D "dropped out right after the last purchase" (impossible when x = 0).
    """
    special = _scipy("special")
    r, alpha, a, b = np.exp(log_params)
    repeat = x > 0
    xr = x[repeat]
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) - special.betaln(a, b)
    log_age, log_last = np.log(alpha + age), np.log(alpha + t_x[repeat])
    still_alive = special.betaln(a, b + x) - (r + x) * log_age
    dropped = np.full_like(x, -np.inf)
    dropped[repeat] = special.betaln(a + 1, b + xr - 1) - (r + xr) * log_last
    mixture = np.logaddexp(still_alive, dropped)
    terms: FloatArray = common + mixture
    if not gradient:
        return terms, None
    # the weights of the two ways in the mixture, summing to 1
    w_alive = np.exp(still_alive - mixture)
    w_dropped = np.exp(dropped[repeat] - mixture[repeat])
    psi = special.digamma
    psi_abx = psi(a + b + x)
    d_r = psi(r + x) - psi(r) + np.log(alpha) - w_alive * log_age
    d_alpha = r / alpha - w_alive * (r + x) / (alpha + age)
    d_a = psi(a + b) - psi(a) + w_alive * (psi(a) - psi_abx)
    d_b = psi(a + b) - psi(b) + w_alive * (psi(b + x) - psi_abx)
    d_r[repeat] -= w_dropped * log_last
    d_alpha[repeat] -= w_dropped * (r + xr) / (alpha + t_x[repeat])
    d_a[repeat] += w_dropped * (psi(a + 1) - psi_abx[repeat])
    d_b[repeat] += w_dropped * (psi(b + xr - 1) - psi_abx[repeat])
    # chain rule to log-parameters: ∂ℓ/∂log p = p · ∂ℓ/∂p
    grad: FloatArray = np.stack([r * d_r, alpha * d_alpha, a * d_a, b * d_b])
    return terms, grad


def log_likelihood(params: BGNBDParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> float:
    """The BG/NBD log-likelihood of the customers' summaries under ``params``."""
    x, t_x, age = _customers(frequency, recency, T)
    logs = np.log([params.r, params.alpha, params.a, params.b])
    return float(_log_likelihood_terms(logs, x, t_x, age)[0].sum())


def _starting_point(x: FloatArray, age: FloatArray) -> FloatArray:
    """log (r, α, a, b) to start from: r = 1 and α = T / x over the whole base (a rate λ ≈ Σx/ΣT, which
    ignores dropout and so errs low, but has the right scale whatever the time unit); a = b = 1."""
    rate = max(float(x.sum()), 1.0) / max(float(age.sum()), np.finfo(np.float64).tiny)
    start: FloatArray = np.log(np.array([1.0, 1.0 / rate, 1.0, 1.0]))
    return start


def fit_bgnbd(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> BGNBDParams:
    """Maximum-likelihood BG/NBD parameters for customers summarised by (x, t_x, T).

    Identical summaries are counted once with a weight (in weeks or days most customers share a
    few values), and BFGS with the exact gradient searches log-parameters, so each stays positive.
    Raises ``ValueError`` on malformed summaries, on an empty input, when no customer bought again or
    none was observed for any time, and when the search ends where the likelihood is not flat.

    When the likelihood keeps rising towards a limit of the model (customers so alike that rates do
    not vary, or no one drops out), the parameters returned lie far along it, e.g. r and α both in
    the hundred thousands with r/α the common rate: the predictions are the limit's.
    """
    x, t_x, age = _customers(frequency, recency, T)
    if x.size == 0:
        raise ValueError("no customers to fit")
    # without these the likelihood has no maximum: it keeps rising as a parameter runs off to 0 or ∞
    if not np.any(x > 0):
        raise ValueError("no customer has a repeat purchase: BG/NBD cannot estimate dropout")
    if not np.any(age > 0):
        raise ValueError("every customer has T = 0: no time observed to estimate purchase rates from")
    # t_x does not enter the likelihood when x = 0: zero it so those rows collapse together
    t_x = np.where(x > 0, t_x, 0.0)
    rows, weight = np.unique(np.column_stack([x.ravel(), t_x.ravel(), age.ravel()]), axis=0, return_counts=True)
    ux, ut, ua = rows[:, 0], rows[:, 1], rows[:, 2]
    scale = float(weight.sum())

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        # the mean negative log-likelihood: a gradient of order 1 whatever the number of customers.
        # Clipped log-parameters keep exp() finite when a line search strides far out.
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            terms, grad = _log_likelihood_terms(np.clip(log_params, -_LOG_BOUND, _LOG_BOUND), ux, ut, ua, True)
        assert grad is not None
        value = -float(weight @ terms) / scale
        if not np.isfinite(value):
            return np.inf, np.zeros(4)
        return value, -(grad @ weight) / scale

    # BFGS rather than L-BFGS-B: same few iterations with the exact gradient, and no BLAS calls whose
    # thread pool, on a busy machine, cost more than the whole likelihood
    result = _scipy("optimize").minimize(objective, _starting_point(x, age), jac=True, method="BFGS",
                                         options={"gtol": 1e-9, "maxiter": 1000})
    # BFGS also stops on "precision loss" when the last digits of the likelihood are noise: a maximum
    # all the same if the gradient has vanished
    converged = result.success or float(np.max(np.abs(result.jac))) < _GRADIENT_TOLERANCE
    inside = np.all(np.isfinite(result.x)) and np.all(np.abs(result.x) < _LOG_BOUND - 1)
    if not (converged and inside):
        raise ValueError("BG/NBD fit found no maximum of the likelihood (too few customers, or too alike, "
                         f"to estimate four parameters): {result.message}")
    r, alpha, a, b = (float(v) for v in np.exp(result.x))
    return BGNBDParams(r=r, alpha=alpha, a=a, b=b)


def _alive(params: BGNBDParams, x: FloatArray, t_x: FloatArray, age: FloatArray) -> FloatArray:
    """P(alive at T | x, t_x, T) = 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
    (Fader, Hardie & Lee's note "Computing P(alive) using the BG/NBD model", 2008), in logs so that
    the odds of a frequent buyer long silent cannot overflow."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    log_odds = np.full_like(x, -np.inf)
    xr = x[repeat]
    log_odds[repeat] = (np.log(a) - np.log(b + xr - 1)
                        + (r + xr) * (np.log(alpha + age[repeat]) - np.log(alpha + t_x[repeat])))
    alive: FloatArray = np.exp(-np.logaddexp(0.0, log_odds))
    return alive


def p_alive(params: BGNBDParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
    """P(the customer is still alive at T | x, t_x, T). Exactly 1 with no repeat purchase (x = 0): in
    BG/NBD a customer can only drop out right after a purchase."""
    x, t_x, age = _customers(frequency, recency, T)
    return _alive(params, x, t_x, age)


def _check_params(params: BGNBDParams) -> None:
    values = (params.r, params.alpha, params.a, params.b)
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"BG/NBD parameters must be finite and positive: {params}")


def _horizon(t: ArrayLike) -> FloatArray:
    span = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(span) & (span >= 0)):
        raise ValueError("the horizon t must be finite and ≥ 0")
    return span


def _purchases_if_alive(r: float, alpha: float, a: FloatArray, b: FloatArray, span: FloatArray, x: FloatArray,
                        age: FloatArray) -> FloatArray:
    """E[purchases in (T, T+t]] for a customer alive at T with x repeat purchases (FHL eq. 10's
    numerator): (a+b+x−1)/(a−1) · [1 − (1−z)^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; z)], z = t/(α+T+t).

    Euler's transformation rewrites (1−z)^(r+x) · ₂F₁(r+x, b+x; c; z) as (1−z)^(a−1) · ₂F₁(c−r−x, a−1; c; z):
    the same value, but the first form multiplies a vanishing power by a ₂F₁ that overflows for
    frequent buyers over long horizons (x ≈ 200, z ≈ 0.98), while the second's ₂F₁ stays near 1.
    """
    c = a + b + x - 1
    z = span / (alpha + age + span)
    power = np.exp((a - 1) * (np.log(alpha + age) - np.log(alpha + age + span)))
    hyper = _scipy("special").hyp2f1(a + b - 1 - r, a - 1, c, z)
    result: FloatArray = c / (a - 1) * (1 - power * hyper)
    return result


# half-width of the symmetric step around a singular point: an O(h²) error, far below the model's
_STEP = 1e-6
# Gauss–Legendre nodes of the quadrature fallback: within ~2e-4 (relative) of the closed form
_NODES = 128


def _expected_if_alive_by_quadrature(params: BGNBDParams, span: FloatArray, x: FloatArray,
                                     age: FloatArray) -> FloatArray:
    """:func:`_purchases_if_alive` by quadrature, for parameters where ₂F₁ fails (a + b in the
    thousands, as fits along a ridge to infinity give).

    Given alive, λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x); a customer with (λ, p) buys on average
    (1 − e^(−λpt))/p times in t (FHL eq. 7 at that customer). The mean over λ is
    g(p) = (1 − (1 + p·t/(α+T))^−(r+x))/p, bounded and smooth on [0, 1], and the mean over p is
    taken as ∫₀¹ g(Q(v)) dv, Q the Beta(a, b+x) quantile function, on Gauss–Legendre nodes.
    """
    nodes, weights = np.polynomial.legendre.leggauss(_NODES)
    v, w = (nodes + 1) / 2, weights / 2
    levels, level = np.unique(x, return_inverse=True)
    p = _scipy("special").betaincinv(params.a, params.b + levels[:, None], v[None, :])[level.ravel()]
    u = (span / (params.alpha + age))[:, None]
    k = (params.r + x)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(p > 0, -np.expm1(-k * np.log1p(p * u)) / p, k * u)
    result: FloatArray = g @ w
    return result


def _expected_if_alive(params: BGNBDParams, span: FloatArray, x: FloatArray, age: FloatArray) -> FloatArray:
    """:func:`_purchases_if_alive`, also where its formula cannot be evaluated as written.

    Three such places lie in a set of measure zero but are reachable with round parameters: a = 1
    (0/0), a+b+x−1 = 0 (a pole of ₂F₁ cancelled by the factor in front) and x+r−a+1 a whole number
    with z near 1 (where scipy's ₂F₁ returns NaN). The expectation is smooth in a through all three,
    so there it is the mean of its values a small step below and above a. Whatever is still not
    finite (₂F₁ with parameters in the thousands) comes from the quadrature.
    """
    a = np.full_like(x, params.a)
    b = np.full_like(x, params.b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        result = _purchases_if_alive(params.r, params.alpha, a, b, span, x, age)
        singular = ~np.isfinite(result) | (np.abs(a - 1) < _STEP) | (np.abs(a + b + x - 1) < _STEP)
        if singular.any():
            step = min(_STEP, params.a / 2)
            an, bn, sn, xn, tn = a[singular], b[singular], span[singular], x[singular], age[singular]
            below = _purchases_if_alive(params.r, params.alpha, an - step, bn, sn, xn, tn)
            above = _purchases_if_alive(params.r, params.alpha, an + step, bn, sn, xn, tn)
            result[singular] = (below + above) / 2
    failed = ~np.isfinite(result)
    if failed.any():
        result[failed] = _expected_if_alive_by_quadrature(params, span[failed], x[failed], age[failed])
    return result


def p_no_purchase(params: BGNBDParams, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike,
                  T: ArrayLike) -> FloatArray:
    """P(no purchase in (T, T+t] | x, t_x, T): the model's own probability of the backtest's "churned".

    Dead, or alive and not buying for t: 1 − P(alive) + P(alive) · ((α+T)/(α+T+t))^(r+x), since given
    alive the rate λ is Gamma(r+x, α+T) and the wait for the next purchase exponential in λ. Unlike
    1 − P(alive), it does not call a customer without repeat purchases certainly alive: BG/NBD gives
    those P(alive) = 1, yet they are the likeliest to stay silent."""
    _check_params(params)
    x, t_x, age = _customers(frequency, recency, T)
    x, t_x, age, span = np.broadcast_arrays(x, t_x, age, _horizon(t))
    alive = _alive(params, np.array(x), np.array(t_x), np.array(age))
    quiet = np.exp((params.r + x) * (np.log(params.alpha + age) - np.log(params.alpha + age + span)))
    result: FloatArray = 1 - alive + alive * quiet
    return result


def expected_purchases(params: BGNBDParams, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike,
                       T: ArrayLike) -> FloatArray:
    """E[purchases in (T, T+t] | x, t_x, T] (FHL eq. 10), ``t`` in the summaries' time unit; broadcast
    over ``t`` and the customers."""
    _check_params(params)
    x, t_x, age = _customers(frequency, recency, T)
    x, t_x, age, span = (np.array(v) for v in np.broadcast_arrays(x, t_x, age, _horizon(t)))
    shape = x.shape
    x, t_x, age, span = (v.ravel() for v in (x, t_x, age, span))
    expected = _expected_if_alive(params, span, x, age) * _alive(params, x, t_x, age)
    result: FloatArray = expected.reshape(shape)
    return result


def expected_purchases_unconditional(params: BGNBDParams, t: ArrayLike) -> float | FloatArray:
    """E[X(t)]: purchases over a new customer's first ``t`` time units after the first (FHL eq. 9),
    which is eq. 10 at x = t_x = T = 0. A float for a scalar ``t``, an array otherwise."""
    span = _horizon(t)
    expected = expected_purchases(params, span, 0, 0.0, 0.0)
    if expected.ndim == 0:
        return float(expected)
    return expected


__all__ = [
    "BGNBDParams",
    "expected_purchases",
    "expected_purchases_unconditional",
    "fit_bgnbd",
    "log_likelihood",
    "p_alive",
    "p_no_purchase",
]
