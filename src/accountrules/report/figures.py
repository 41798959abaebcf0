"""The numbers of a portfolio report, computed from flat columns (never from HTML or Decision objects).

A :class:`Frame` holds the flat decision columns of the decided rows (``account_id``, ``tier``,
``segment.<name>``, ``stage_from``, ``stage``, ``churn_*``, ``actions``, the ``*_rule`` columns),
optionally the input fields the figures need (revenue, profit, relationship level, RFM scores),
the row errors and, for a few accounts, their explanations. :func:`portfolio_figures` turns it
into :class:`Figures`: plain dicts and lists that the page draws and the tests recompute.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from accountrules.check.spec import PolicySpec
from accountrules.report import aggregate as agg

REVENUE = "transactions.annual_revenue"
PROFIT = "transactions.annual_profit"
LEVEL = "relationship.level"
STAGE_ORDER = ("nurture", "initial", "stable", "strategic", "interrupted")
LEVEL_ORDER = ("outsider", "supplier", "friend", "partner")
KIND_ORDER = ("none", "voluntary", "competitor", "expelled", "value_decline")
RISK_ORDER = ("low", "medium", "high")
TIMELINE_DAYS = 90
TOP_AT_RISK = 20
NONE = "(none)"
DEFAULT = "(default)"


@dataclass
class Frame:
    """Flat columns of the decided rows, all of one length."""

    columns: dict[str, Any]  # column -> Arrow array (or list), one value per decided row
    as_of: dt.date
    today: dt.date
    inputs: dict[str, Any] = field(default_factory=dict)  # field path -> values (list or Arrow), aligned with columns
    unknown: dict[str, int] = field(default_factory=dict)  # field path -> rows where it was not given
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field, message) of each refused row
    explanations: dict[str, dict[str, str]] = field(default_factory=dict)  # account id -> lang -> text
    explainer: Callable[[int], dict[str, str]] | None = None  # row position -> lang -> text, on demand
    has_explanations: bool = True
    source: str = "batch"  # "batch" or "decisions"

    @property
    def n(self) -> int:
        return len(self.columns.get("account_id", ()))


@dataclass
class Figures:
    accounts: int
    errors: int
    pyramid: dict[str, dict[str, float]]  # tier -> accounts, revenue, profit
    lorenz: list[tuple[float, float]]  # (share of accounts, share of revenue), accounts by revenue desc
    top20_share: float | None
    segments: dict[str, dict[str, dict[str, float]]]  # segmentation -> value -> accounts, revenue
    rfm_grid: dict[tuple[int, int], dict[str, int]] | None  # (r, f) -> segment -> accounts
    funnel: dict[str, int]
    transitions: dict[tuple[str, str], int]  # (from, to) -> accounts, moves only
    levels: dict[str, int]
    churn_matrix: dict[tuple[str, str], int]  # (kind, risk) -> accounts
    churn_scores: list[tuple[float, float, int]]  # (low, high, accounts), ten buckets
    at_risk: list[dict[str, Any]]  # top accounts by revenue at stake
    actions: dict[str, int]
    owners: dict[str, int]
    timeline: dict[int, int]  # days from today (negative = overdue) -> open actions
    overdue: int
    rules: dict[str, dict[str, int]]  # section -> rule id -> accounts
    unused_rules: dict[str, list[str]]  # section -> rule ids that decided no account
    row_errors: dict[str, int]  # field -> refused rows
    unknown_fields: dict[str, int]
    notes: list[str] = field(default_factory=list)


def _ordered(counter: Mapping[str, Any], order: Sequence[str]) -> list[str]:
    first = [k for k in order if k in counter]
    return [*first, *sorted(set(counter) - set(first), key=str)]


def lorenz(values: Sequence[float], points: int = 100) -> tuple[list[tuple[float, float]], float | None]:
    """The cumulative revenue share against the share of accounts (largest first), and the share
    of the top 20% (``ceil(0.2 n)`` accounts); ``None`` when the total is not positive."""
    n = len(values)
    ordered = sorted(values, reverse=True)
    total = sum(ordered)
    if n == 0 or total <= 0:
        return [(0.0, 0.0), (1.0, 1.0)], None
    cum = [0.0]
    for v in ordered:
        cum.append(cum[-1] + v)
    top = sum(ordered[: math.ceil(0.2 * n)]) / total
    idx = sorted({round(i * n / points) for i in range(points + 1)})
    return [(i / n, cum[i] / total) for i in idx], top


def score_buckets(values: Sequence[float]) -> list[tuple[float, float, int]]:
    """Ten equal buckets ``(low, high, accounts)`` over 0-1 or 0-100 (whichever holds the scores, else
    0-max); the last bucket includes its upper edge."""
    top = max(values, default=0.0)
    hi = 1.0 if top <= 1 else 100.0 if top <= 100 else top
    width = hi / 10
    edges = [b * width for b in range(1, 10)]
    c = Counter(bisect_right(edges, v) for v in values)
    return [(b * width, hi if b == 9 else (b + 1) * width, c.get(b, 0)) for b in range(10)]


def _rule_universe(spec: PolicySpec) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, t in spec.segments.items():
        out[f"segment.{name}"] = [r.id for r in t.rows]
    if spec.tiers is not None:
        out["tier"] = [r.id for r in spec.tiers.rows]
    if spec.stages is not None:
        out["stage"] = [r.id for r in spec.stages.transitions]
    if spec.churn is not None:
        out["churn"] = [r.id for r in spec.churn.rows]
    if spec.actions is not None:
        out["actions"] = [r.id for r in spec.actions.rules]
    return out


_RULE_COLUMNS = {"tier": "tier_rule", "stage": "stage_transition", "churn": "churn_rule"}


def rule_counts(spec: PolicySpec, cols: Mapping[str, Sequence[Any]]) -> tuple[dict[str, dict[str, int]],
                                                                             dict[str, list[str]]]:
    """Accounts decided per rule, per section, and the rules that decided none.

    The flat columns do not name the action rules that fired, but a rule that fired put its
    actions on the account: an action rule none of whose actions appear decided no account.
    """
    universe = _rule_universe(spec)
    counts: dict[str, dict[str, int]] = {}
    unused: dict[str, list[str]] = {}
    for section, ids in universe.items():
        if section == "actions":
            seen = set(action_counts(cols.get("actions")))
            assert spec.actions is not None
            unused[section] = [r.id for r in spec.actions.rules if not set(r.actions) & seen]
            continue
        col = cols.get(_RULE_COLUMNS.get(section, section + "_rule"))
        if col is None:
            continue
        c = Counter(agg.counts(agg.keys(col)))  # counted in Arrow; the rows no rule decided are renamed after
        if NONE in c:
            c[DEFAULT] += c.pop(NONE)
        if section == "stage":
            c.pop(DEFAULT, None)  # no transition = the stage stayed; not a rule's decision
        counts[section] = {k: c[k] for k in _ordered(c, [*ids, DEFAULT])}
        unused[section] = [i for i in ids if i not in c]
    return counts, unused


def action_counts(actions: Any) -> Counter[str]:
    """How many accounts got each action code (``actions``: a list<string> column, Arrow or Python)."""
    if actions is None:
        return Counter()
    if isinstance(actions, list):
        return Counter(chain.from_iterable(acts for acts in actions if acts))
    return Counter(agg.list_counts(actions))


def _at_risk(frame: Frame, revenue: Any) -> list[dict[str, Any]]:
    """The accounts at high risk, or at medium risk with a churn kind, largest revenue first."""
    import pyarrow.compute as pc

    cols = frame.columns
    risk, kind = agg.keys(cols["churn_risk"]), agg.keys(cols["churn_kind"])
    mask = pc.or_(pc.equal(risk, "high"),
                  pc.and_(pc.equal(risk, "medium"), pc.invert(pc.is_in(kind, agg.array([NONE, "none"])))))
    risky = agg.positions(mask)
    if len(risky) == 0:  # none at risk (Arrow cannot take an empty, null-typed list of positions)
        return []
    ids = agg.array(cols["account_id"]).take(risky)
    rev = agg.array(revenue).take(risky) if revenue is not None else None
    # largest revenue first, then by account id: sorted in Arrow over the risky rows, the top kept
    order = agg.top_order(rev, ids, TOP_AT_RISK)
    picked = [risky[j] for j in order]
    tiers = cols.get("tier")
    got = {name: agg.array(cols[name]).take(picked).to_pylist()
           for name in ("account_id", "churn_kind", "churn_risk", "churn_score")}
    tier_of = agg.array(tiers).take(picked).to_pylist() if tiers is not None else [None] * len(picked)
    revs = rev.take(order).to_pylist() if rev is not None else [None] * len(picked)
    out = []
    for k, i in enumerate(picked):
        aid = str(got["account_id"][k])
        out.append({"account_id": aid, "revenue": revs[k], "kind": got["churn_kind"][k],
                    "risk": got["churn_risk"][k], "score": got["churn_score"][k], "tier": tier_of[k],
                    "explain": frame.explanations.get(aid)
                    or (frame.explainer(i) if frame.explainer is not None else {})})
    return out


def portfolio_figures(spec: PolicySpec, frame: Frame) -> Figures:
    """Every figure of the page; the per-row work runs in Arrow kernels (:mod:`.aggregate`)."""
    import pyarrow.compute as pc

    cols = frame.columns
    n = frame.n
    revenue = agg.amounts(frame.inputs[REVENUE]) if REVENUE in frame.inputs else None
    profit = agg.amounts(frame.inputs[PROFIT]) if PROFIT in frame.inputs else None
    notes: list[str] = []
    if revenue is None:
        notes.append("no_revenue")
    if not frame.has_explanations:
        notes.append("no_explanations")
    amounts = {k: v for k, v in (("revenue", revenue), ("profit", profit)) if v is not None}

    pyramid: dict[str, dict[str, float]] = {}
    if "tier" in cols:
        acc = agg.group_sums(agg.keys(cols["tier"]), amounts)
        for d in acc.values():
            d.setdefault("revenue", 0.0)
            d.setdefault("profit", 0.0)
        order = list(spec.tiers.values) if spec.tiers else []
        pyramid = {k: acc[k] for k in _ordered(acc, order)}
    curve, top20 = agg.lorenz(revenue) if revenue is not None else ([], None)

    segments: dict[str, dict[str, dict[str, float]]] = {}
    for name, table in spec.segments.items():
        col = cols.get(f"segment.{name}")
        if col is None:
            continue
        seg = agg.group_sums(agg.keys(col), {"revenue": revenue} if revenue is not None else {})
        for d in seg.values():
            d.setdefault("revenue", 0.0)
        segments[name] = {k: seg[k] for k in _ordered(seg, list(table.values))}

    rfm_grid: dict[tuple[int, int], dict[str, int]] | None = None
    if "metric.r_score" in frame.inputs and "metric.f_score" in frame.inputs:
        r, f = agg.array(frame.inputs["metric.r_score"]), agg.array(frame.inputs["metric.f_score"])
        rfm = agg.keys(cols.get("segment.rfm", [None] * n))
        import pyarrow as pa

        given = pc.and_(pc.is_valid(r), pc.is_valid(f))
        rf = pa.table({"r": pc.cast(r, pa.int64(), safe=False), "f": pc.cast(f, pa.int64(), safe=False),
                       "s": rfm}).filter(given)
        by = rf.group_by(["r", "f", "s"]).aggregate([([], "count_all")])
        rfm_grid = {}
        for rr, ff, ss, k in zip(*(by.column(c).to_pylist() for c in ("r", "f", "s", "count_all")), strict=True):
            rfm_grid.setdefault((rr, ff), {})[ss] = k

    funnel: dict[str, int] = {}
    transitions: dict[tuple[str, str], int] = {}
    if "stage" in cols:
        stage = agg.keys(cols["stage"])
        c = agg.counts(stage)
        funnel = {k: c[k] for k in _ordered(c, STAGE_ORDER)}
        origin = agg.keys(cols["stage_from"])
        moved = pc.and_(pc.is_valid(agg.array(cols["stage_transition"])), pc.not_equal(origin, stage))
        transitions = dict(sorted(agg.pair_counts(origin, stage, moved).items()))
    levels: dict[str, int] = {}
    if LEVEL in frame.inputs:
        c = agg.counts(agg.keys(frame.inputs[LEVEL], blank_is_none=True))
        levels = {k: c[k] for k in _ordered(c, LEVEL_ORDER)}

    churn_matrix: dict[tuple[str, str], int] = {}
    scores: list[tuple[float, float, int]] = []
    at_risk: list[dict[str, Any]] = []
    if "churn_kind" in cols:
        kind = agg.array(cols["churn_kind"])
        churn_matrix = agg.pair_counts(kind, agg.array(cols["churn_risk"]), pc.is_valid(kind))
        scores = agg.score_buckets(agg.finite_scores(cols["churn_score"]))
        at_risk = _at_risk(frame, revenue)

    actions = action_counts(cols.get("actions"))
    catalog = spec.actions.catalog if spec.actions else {}
    owners: Counter[str] = Counter()
    timeline: Counter[int] = Counter()
    for code, k in actions.items():
        act = catalog.get(code)
        if act is None:
            continue
        owners[act.owner] += k
        due = frame.as_of + dt.timedelta(days=act.due_days)
        timeline[(due - frame.today).days] += k
    overdue = sum(k for day, k in timeline.items() if day < 0)
    window = {d: k for d, k in sorted(timeline.items()) if d <= TIMELINE_DAYS}

    rules, unused = rule_counts(spec, cols)
    row_errors = dict(Counter(f or NONE for f, _ in frame.errors).most_common())
    unknown = {k: v for k, v in sorted(frame.unknown.items(), key=lambda kv: (-kv[1], kv[0])) if v}
    return Figures(
        accounts=n + len(frame.errors), errors=len(frame.errors), pyramid=pyramid, lorenz=curve,
        top20_share=top20, segments=segments, rfm_grid=rfm_grid, funnel=funnel, transitions=transitions,
        levels=levels, churn_matrix=churn_matrix, churn_scores=scores, at_risk=at_risk,
        actions={k: actions[k] for k in _ordered(actions, list(catalog))},
        owners=dict(owners.most_common()), timeline=window, overdue=overdue, rules=rules, unused_rules=unused,
        row_errors=row_errors, unknown_fields=unknown, notes=notes,
    )
