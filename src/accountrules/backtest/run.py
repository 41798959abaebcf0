"""``backtest()``: had this policy run on T, how well would it have matched what happened after T?"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import numpy as np

from accountrules.backtest.baselines import BGNBDBaseline, bgnbd_baseline, hiatus_baseline
from accountrules.backtest.flags import AT_RISK, RULE_COLUMNS, flag_masks, flag_row, revenue_at_stake, rule_rows
from accountrules.backtest.history import Bools
from accountrules.backtest.log import BacktestInputError
from accountrules.backtest.prepare import Prepared, as_policy, prepare
from accountrules.backtest.result import BacktestResult, FlagRow, ScoreMeasures
from accountrules.backtest.scores import compare, score_measures
from accountrules.backtest.stability import decide_again, stability
from accountrules.features import ColumnMap, InputFormat
from accountrules.features.orders import arrow
from accountrules.i18n import N_, Message
from accountrules.io.schema import output_columns
from accountrules.io.tables import Progress
from accountrules.model.enums import ChurnKind
from accountrules.policy import Policy

__all__ = ["READ_COLUMNS", "backtest", "decide_at"]

POLICY_SCORE = "policy"
READ_COLUMNS: tuple[str, ...] = ("tier", "stage", "churn_kind", "churn_risk", "churn_score",
                                 *(column for _, column in RULE_COLUMNS))
"""The flat columns a backtest reads of the decisions at T (the flags, the rules, the outcome table)."""
HIATUS = "hiatus"
BGNBD = "bgnbd"
BGNBD_QUIET = "bgnbd_quiet"


def decide_at(policy: Policy, prepared: Prepared, *, engine: str = "auto",
              names: Iterable[str] | None = None) -> tuple[dict[str, list[Any]], Bools]:
    """The policy's flat output columns at T for the decided accounts (``names``: only those of them the
    policy has, besides ``row`` and ``account_id``; each column asked for is turned into Python values),
    and the mask (over ``prepared.ids``) of the accounts it could decide."""
    result = policy.decide_many(prepared.features, as_of=prepared.as_of, engine=engine, trace=False)
    if names is not None:
        has = set(output_columns(policy.plan))
        names = [n for n in names if n in has]
    cols: dict[str, list[Any]] = result.columns(names=names)
    decided = np.zeros(len(prepared.ids), dtype=np.bool_)
    decided[np.asarray(cols["row"], dtype=np.int64) - 1] = True
    return cols, decided


def backtest(
    policy: Policy | str | os.PathLike[str],
    orders: Any,
    *,
    as_of: date,
    horizon: int | str | timedelta,
    columns: ColumnMap | None = None,
    format: InputFormat | None = None,
    log_end: date | None = None,
    window_days: int | None = None,
    decline_share: float = 0.5,
    clip_horizon: bool = False,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    engine: str = "auto",
    progress: Progress | None = None,
) -> BacktestResult:
    """Backtest ``policy`` on the order log ``orders`` at ``as_of`` (T) over ``horizon``.

    ``horizon``: days (int), a timedelta, or ``"26w"``/``"182d"``. The account fields at T are
    derived from the orders up to T with a window of ``window_days`` (default: the horizon, so
    ``revenue_previous`` is the same-length window before). ``log_end`` is the day the log is
    complete to (default: its last order); T + horizon must not pass it. ``decline_share``: the
    value-decline outcome is horizon revenue at or below this share of the window before T.
    ``clip_horizon``: a horizon running past the log's end is cut there (``horizon_days`` in the
    result is what was observed, ``horizon_requested_days`` what was asked) instead of refused.
    ``n_resamples``/``level``/``seed``: the bootstrap intervals. See ``docs/backtest.md``.
    ``progress(phase, done, total)``: ``"reading"`` and ``"grouping"`` (rows, see
    :func:`~accountrules.features.derive_features`), then ``"backtesting"`` counted in steps:
    deciding at T, the baselines, each score's bootstrap, deciding at T + horizon.
    """
    pol = as_policy(policy)
    prep = prepare(orders, as_of=as_of, horizon=horizon, columns=columns, format=format, log_end=log_end,
                   window_days=window_days, decline_share=decline_share, clip_horizon=clip_horizon,
                   progress=progress)
    # deciding at T, 2 baselines, 4 bootstraps (a score the policy or the fit does not give is a step
    # done at once), deciding again: the total is known before the first
    steps = [0, 8]

    def step(n: int = 1) -> None:
        steps[0] += n
        if progress is not None:
            progress("backtesting", steps[0], steps[1])

    if progress is not None:
        progress("backtesting", 0, steps[1])
    cols, decided = decide_at(pol, prep, engine=engine, names=READ_COLUMNS)
    step()
    refused = int(np.count_nonzero(~decided))
    if not decided.any():
        raise BacktestInputError(Message(N_("the policy could not decide any account at T")))
    out = prep.outcomes.only(decided) if refused else prep.outcomes
    keep = prep.included.copy()
    keep[np.flatnonzero(prep.included)[~decided]] = False
    ids = [a for a, d in zip(prep.ids, decided, strict=True) if d]
    t = prep.as_of_day
    hiatus = hiatus_baseline(prep.history, keep, t, prep.horizon_days)
    step()
    bg = bgnbd_baseline(prep.history, keep, t, prep.horizon_days)
    scores: list[ScoreMeasures] = []
    comparisons = []
    y = out.churned
    policy_score = _policy_score(cols)
    fitted = bg if isinstance(bg, BGNBDBaseline) else None
    step()
    if policy_score is not None:
        scores.append(score_measures(POLICY_SCORE, y, policy_score, n_resamples=n_resamples, level=level, seed=seed))
    step()
    scores.append(score_measures(HIATUS, y, hiatus.score, n_resamples=n_resamples, level=level, seed=seed))
    step()
    if fitted is not None:
        scores.append(score_measures(BGNBD, y, fitted.score, n_resamples=n_resamples, level=level, seed=seed))
        step()
        scores.append(score_measures(BGNBD_QUIET, y, fitted.quiet, n_resamples=n_resamples, level=level, seed=seed))
        step()
    else:
        step(2)
    if policy_score is not None:
        baselines = {HIATUS: hiatus.score}
        if fitted is not None:
            baselines.update({BGNBD: fitted.score, BGNBD_QUIET: fitted.quiet})
        comparisons = compare(POLICY_SCORE, y, policy_score, baselines, level=level)
    masks = flag_masks(cols, [k.value for k in ChurnKind])
    flags: list[FlagRow] = [flag_row(name, m, out) for name, m in masks.items()]
    hiatus_flag = f"{HIATUS}:recency>{hiatus.days}d"
    if hiatus.flagged is not None:
        flags.append(flag_row(hiatus_flag, hiatus.flagged, out))
    if fitted is not None:
        flags.append(flag_row(f"{BGNBD}:p_alive<0.5", fitted.p_alive < 0.5, out))
        flags.append(flag_row(f"{BGNBD}:p_no_purchase>0.5", fitted.quiet > 0.5, out))
    revenue = [revenue_at_stake(name, masks[name], out) for name in (AT_RISK, "kind:any") if name in masks]
    if hiatus.flagged is not None:
        revenue.append(revenue_at_stake(hiatus_flag, hiatus.flagged, out))
    stop = prep.as_of + timedelta(days=prep.horizon_days)
    at_t: dict[str, list[Any]] = {k: cols[k] for k in ("tier", "stage") if k in cols}
    later = decide_again(pol, prep.log.table, prep.log.columns, ids, at_t, as_of=stop,
                         window_days=prep.window_days, engine=engine) if at_t else {}
    step()
    stab = [stability(k, at_t[k], later[k]) for k in ("tier", "stage") if k in at_t and k in later]
    table = _outcome_table(ids, cols, out, hiatus.score, hiatus.flagged, fitted, later)
    return BacktestResult(
        policy=f"{pol.name} {pol.version}", as_of=prep.as_of, horizon_days=prep.horizon_days,
        horizon_requested_days=prep.horizon_requested,
        window_days=prep.window_days, log_start=prep.log.start, log_end=prep.log.end, decline_share=decline_share,
        exclusions=prep.exclusions(refused), churn_rate=float(y.mean()), decline_rate=float(out.value_decline.mean()),
        flags=flags, rules=rule_rows(cols, out), scores=scores, comparisons=comparisons, revenue=revenue,
        stability=stab, hiatus_days=hiatus.days,
        hiatus_validation={"as_of": _iso(hiatus.chosen_at), "horizon_days": hiatus.validation_days,
                           "accounts": hiatus.accounts_used, "problem": hiatus.problem,
                           "balanced_accuracy": None if hiatus.choice is None else hiatus.choice.balanced_accuracy},
        bgnbd_params={} if fitted is None else {k: float(getattr(fitted.params, k)) for k in ("r", "alpha", "a", "b")},
        bgnbd_problem=bg if isinstance(bg, str) else None,
        n_resamples=n_resamples, level=level, outcomes=table,
    )


def _policy_score(cols: dict[str, list[Any]]) -> Any:
    if "churn_score" not in cols:
        return None
    raw = cols["churn_score"]
    if any(v is None for v in raw):
        # an unknown score is the policy saying nothing: it ranks with the lowest, as 0 points would
        return np.asarray([0.0 if v is None else float(v) for v in raw], dtype=np.float64)
    return np.asarray(raw, dtype=np.float64)


def _iso(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=int(day))).isoformat()


def _outcome_table(ids: list[str], cols: dict[str, list[Any]], out: Any, recency: Any, hiatus_flag: Any,
                   bg: BGNBDBaseline | None, later: dict[str, list[Any]]) -> Any:
    """One row per account of the backtest: the decision at T, the baselines, the outcome."""
    pa = arrow().pa
    data: dict[str, Any] = {"account_id": pa.array(ids, pa.string())}
    for name in ("tier", "stage", "churn_kind", "churn_risk", "churn_score", "churn_rule"):
        if name in cols:
            data[name] = pa.array(cols[name])
    data["recency_days"] = pa.array(np.asarray(recency, dtype=np.int64))
    if hiatus_flag is not None:
        data["hiatus_flag"] = pa.array(np.asarray(hiatus_flag, dtype=np.bool_))
    if bg is not None:
        data["p_alive"] = pa.array(np.round(bg.p_alive, 6))
        data["p_no_purchase"] = pa.array(np.round(bg.quiet, 6))
    data["prior_revenue"] = pa.array(np.round(out.prior_revenue, 2))
    data["horizon_purchases"] = pa.array(out.horizon_purchases)
    data["horizon_revenue"] = pa.array(np.round(out.horizon_revenue, 2))
    data["churned"] = pa.array(out.churned)
    data["value_decline"] = pa.array(out.value_decline)
    for name in ("tier", "stage"):
        if name in later:
            data[f"{name}_after"] = pa.array(later[name], pa.string())
    return pa.table(data)

