"""The express tier table written three times — accountrules policy, GoRules ZEN decision table,
durable_rules ruleset — and the inputs they all read.

The six rows and the default are those of ``rulesets/express/tiers.yaml``; the thresholds are read
from ``rulesets/express/policy.yaml`` (``params``) so the three tables follow the shipped policy.
The two metrics the rows read (``profit_contribution`` and its portfolio percentile) are given as
input fields, so every engine evaluates exactly the same rows on exactly the same values.
Each engine receives the accounts in its native shape, prepared outside any timer: nested dicts
for accountrules and ZEN, flat messages for durable_rules (whose conditions name top-level keys).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

Cond = tuple[str, str, float]
# (row id, tier, conjunction of "field op param") in the order of rulesets/express/tiers.yaml
ROWS: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    ("lead-unprofitable", "lead", [("transactions.annual_profit", "<=", "lead_max_profit")]),
    ("lead-contribution-below-one", "lead", [("extra.profit_contribution", "<", "lead_min_contribution")]),
    ("platinum-top-contributor", "platinum", [
        ("extra.profit_contribution_pct", ">=", "platinum_min_percentile"),
        ("credit.overdue_payments", "<=", "platinum_max_overdue"),
        ("credit.arrears_ratio", "<=", "platinum_max_arrears_ratio")]),
    ("gold-upper-contributor", "gold", [
        ("extra.profit_contribution_pct", ">=", "gold_min_percentile"),
        ("credit.overdue_payments", "<=", "gold_max_overdue"),
        ("credit.arrears_ratio", "<=", "gold_max_arrears_ratio")]),
    ("gold-fast-growth", "gold", [
        ("extra.profit_contribution_pct", ">=", "growth_gold_min_percentile"),
        ("transactions.growth_rate", ">=", "gold_min_growth_rate"),
        ("credit.overdue_payments", "<=", "gold_max_overdue"),
        ("credit.arrears_ratio", "<=", "gold_max_arrears_ratio")]),
    ("iron-profitable", "iron", [("extra.profit_contribution", ">=", "lead_min_contribution")]),
]
DEFAULT = "iron"
TIERS = {"platinum": ("铂金层级", "Platinum"), "gold": ("黄金层级", "Gold"), "iron": ("钢铁层级", "Iron"),
         "lead": ("重铅层级", "Lead")}
INPUTS = sorted({f for _, _, conds in ROWS for f, _, _ in conds})


def params(express: Path) -> dict[str, float]:
    doc = yaml.safe_load((express / "policy.yaml").read_text(encoding="utf-8"))
    wanted = {p for _, _, conds in ROWS for _, _, p in conds}
    return {k: float(v) for k, v in doc["params"].items() if k in wanted}


def rows(p: dict[str, float]) -> list[tuple[str, str, list[Cond]]]:
    return [(rid, tier, [(f, op, p[name]) for f, op, name in conds]) for rid, tier, conds in ROWS]


# ---- accountrules ------------------------------------------------------------------------------------


def policy_doc(p: dict[str, float]) -> dict[str, Any]:
    """A standalone policy holding only the tier table; the two metrics are declared input fields."""
    extra = sorted({f.split(".", 1)[1] for f in INPUTS if f.startswith("extra.")})
    return {
        "policy": {"name": "express_tiers", "version": "1", "label": {"zh": "快递客户分级", "en": "express tiers"}},
        "fields": {m: "number" for m in extra},
        "params": {k: v for k, v in p.items()},
        "tiers": {
            "hit": "first",
            "values": {t: {"zh": zh, "en": en} for t, (zh, en) in TIERS.items()},
            "default": DEFAULT,
            "rows": [{"id": rid, "when": " and ".join(f"{f} {op} params.{name}" for f, op, name in conds),
                      "then": tier} for rid, tier, conds in ROWS],
        },
    }


def write_policy(p: dict[str, float], path: Path) -> Path:
    # JSON is YAML: the policy loader reads it as it reads the shipped files
    path.write_text(json.dumps(policy_doc(p), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


# ---- GoRules ZEN -----------------------------------------------------------------------------------------


def zen_graph(p: dict[str, float]) -> dict[str, Any]:
    """A JDM decision: input -> one decision table (hit policy first, catch-all last row) -> output."""
    col = {f: f"i{i}" for i, f in enumerate(INPUTS)}
    table_rows = []
    for rid, tier, conds in rows(p):
        cells: dict[str, list[str]] = {}
        for f, op, v in conds:
            cells.setdefault(col[f], []).append(f"{op} {v!r}")
        row = {"_id": rid, **{cid: "" for cid in col.values()}, "o": json.dumps(tier)}
        for cid, tests in cells.items():
            row[cid] = tests[0] if len(tests) == 1 else " and ".join("$ " + t for t in tests)
        table_rows.append(row)
    table_rows.append({"_id": "default", **{cid: "" for cid in col.values()}, "o": json.dumps(DEFAULT)})
    return {
        "contentType": "application/vnd.gorules.decision",
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
            {"id": "tiers", "type": "decisionTableNode", "name": "tiers", "position": {"x": 200, "y": 0},
             "content": {"hitPolicy": "first",
                         "inputs": [{"id": cid, "name": f, "field": f} for f, cid in col.items()],
                         "outputs": [{"id": "o", "name": "tier", "field": "tier"}], "rules": table_rows}},
            {"id": "out", "type": "outputNode", "name": "Response", "position": {"x": 400, "y": 0}},
        ],
        "edges": [{"id": "e1", "sourceId": "in", "targetId": "tiers", "type": "edge"},
                  {"id": "e2", "sourceId": "tiers", "targetId": "out", "type": "edge"}],
    }


# ---- durable_rules ---------------------------------------------------------------------------------------

_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


def flat_key(path: str) -> str:
    return path.replace(".", "__")


class DurableTiers:
    """The tier rows as a durable_rules ruleset, fed through the public ``Host.post``.

    The safe pattern of ``shared/engines/durable-rules.md``: a Host without its timer threads, a
    unique ruleset name, one fixed sid, a type discriminator in every condition, a unique ``id``
    per message, a lock around the session. Each row is a rule with ``pri`` = its position; an
    event is consumed by the first rule that fires, which is the ``first`` hit policy; the default
    is a catch-all rule last, so every message is handled.
    """

    def __init__(self, p: dict[str, float], name: str) -> None:
        from durable import engine

        class _Host(engine.Host):  # type: ignore[misc]
            def _run(self) -> None:  # no perpetual timer threads (durable engine.py:915-965)
                pass

        self._name = name
        self._host = _Host()
        self._lock = threading.Lock()
        self._hits: list[tuple[str, str]] = []
        ruleset: dict[str, Any] = {}
        for i, (rid, tier, conds) in enumerate([*rows(p), ("default", DEFAULT, [])]):
            tests: list[Any] = [{"_t": "acct"}] + [{_OPS[op]: {flat_key(f): v}} for f, op, v in conds]
            ruleset[rid] = {"all": [{"m": {"$and": tests}}], "pri": i + 1, "run": self._action(tier)}
        self._host.set_rulesets({name: ruleset})

    def _action(self, tier: str) -> Callable[[Any], None]:
        hits = self._hits

        def act(c: Any) -> None:
            hits.append((c.m.id, tier))

        return act

    def post(self, message: dict[str, Any]) -> str:
        """The tier of one account (a message from :func:`durable_messages`)."""
        with self._lock:
            self._hits.clear()
            self._host.post(self._name, message)
            return self._hits[0][1]

    def post_all(self, messages: list[dict[str, Any]]) -> list[str]:
        with self._lock:
            self._hits.clear()
            for m in messages:
                self._host.post(self._name, m)
            got = dict(self._hits)
            return [got[m["id"]] for m in messages]


# ---- inputs ------------------------------------------------------------------------------------------------


def flat_inputs(n: int, seed: int) -> dict[str, Any]:
    """Seeded values of the fields the rows read (~3% unknown each, NaN), as numpy columns."""
    rng = np.random.default_rng(seed)
    profit = np.round(rng.lognormal(13.0, 1.3, n) * rng.normal(0.08, 0.10, n), 2)
    contribution = np.round(profit / np.maximum(rng.lognormal(9.0, 1.0, n), 1.0), 4)
    cols = {
        "transactions.annual_profit": profit,
        "extra.profit_contribution": contribution,
        "extra.profit_contribution_pct": np.round(rng.random(n), 4),
        "credit.overdue_payments": rng.poisson(0.6, n).astype(np.float64),
        "credit.arrears_ratio": np.round(rng.beta(1.0, 12.0, n), 4),
        "transactions.growth_rate": np.round(rng.normal(0.05, 0.25, n), 4),
    }
    for k, v in cols.items():
        cols[k] = np.where(rng.random(n) < 0.03, np.nan, v)
    return cols


def nested_accounts(cols: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """Nested account dicts (unknown fields absent), ids ``T0``, ``T1``, ... ."""
    out: list[dict[str, Any]] = []
    ints = {"credit.overdue_payments"}
    lists = {k: v.tolist() for k, v in cols.items()}
    for i in range(n):
        acc: dict[str, Any] = {"id": f"T{i}"}
        for k, v in lists.items():
            x = v[i]
            if x != x:  # NaN: unknown
                continue
            group, name = k.split(".", 1)
            acc.setdefault(group, {})[name] = int(x) if k in ints else x
        out.append(acc)
    return out


def durable_messages(accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for a in accounts:
        m: dict[str, Any] = {"id": a["id"], "sid": "0", "_t": "acct"}
        for group, fields in a.items():
            if isinstance(fields, dict):
                for k, v in fields.items():
                    m[flat_key(f"{group}.{k}")] = v
        out.append(m)
    return out


def durable_available() -> str | None:
    try:
        import durable.engine  # noqa: F401
    except ImportError as e:
        return f"durable_rules not importable: {e}"
    return None


def zen_available() -> str | None:
    try:
        import zen  # noqa: F401
    except ImportError as e:
        return f"zen-engine not importable: {e}"
    return None
