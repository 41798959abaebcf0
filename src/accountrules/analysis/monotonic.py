"""Declared monotonicity (``monotonic:``), refuted statically where the field is compared directly.

For ``field increasing -> output``: look for a region where the output takes a higher value and a
region where it takes a lower one that agree on every other variable, with the field lower in the
first. Realised as two accounts that differ only in the field, decided by the compiled evaluator,
that is a counterexample. Where the field reaches the output only through metrics or opaque terms
the boxes cannot tell, and ``accountrules check`` (the property search) remains the judge.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from accountrules.analysis.context import Context
from accountrules.analysis.domain import Box, bits
from accountrules.analysis.findings import Finding, RuleRef
from accountrules.analysis.realize import Env, Witness
from accountrules.check.spec import Monotonic
from accountrules.errors import DecisionError
from accountrules.model.decision import Decision, Label

MAX_PAIRS = 200


def _order(ctx: Context, output: str) -> list[str] | None:
    spec = ctx.spec
    if output == "tier" and spec.tiers is not None:
        return list(spec.tiers.values)
    if output.startswith("segments.") and output[9:] in spec.segments:
        return list(spec.segments[output[9:]].values)
    if output == "churn.risk" and spec.churn is not None:
        return ["high", "medium", "low"]
    return None


def _value(d: Decision | None, output: str) -> str | None:
    if d is None:
        return None
    if output == "tier":
        return d.tier.code if d.tier else None
    if output == "churn.risk":
        return d.churn.risk.value if d.churn else None
    seg = d.segments.get(output[9:])
    return seg.code if seg else None


def _expect(output: str, value: str) -> dict[str, Any]:
    if output == "tier":
        return {"tier": value}
    if output == "churn.risk":
        return {"churn": {"risk": value}}
    return {"segments": {output[9:]: value}}


def check_monotonic(ctx: Context) -> Iterator[Finding]:
    for m in ctx.spec.monotonic:
        f = _refute(ctx, m)
        if f is not None:
            yield f


def _refute(ctx: Context, m: Monotonic) -> Finding | None:
    order = _order(ctx, m.output)
    key = m.field
    if order is None or key not in ctx.space.vars or ctx.space.vars[key].origin != "field":
        return None
    var = ctx.space.vars[key]
    increasing = m.direction == "increasing"
    regions = {v: [b for b in ctx.region(m.output, {v}) for b in ctx.expand(b)] for v in order}
    tried = 0
    for hi_i, hi in enumerate(order):
        for lo in order[hi_i + 1:]:
            for b1 in regions[hi]:
                for b2 in regions[lo]:
                    tried += 1
                    if tried > MAX_PAIRS:
                        return None
                    w = _pair(ctx, m, var.universe, b1, b2, hi, lo, increasing)
                    if w is not None:
                        way, zh_way = ("raising", "增加") if increasing else ("lowering", "减少")
                        zh_direction = "递增" if increasing else "递减"
                        return Finding("AR501", Label(
                            zh=f"声明 {m.field} {zh_direction} -> {m.output} 不成立: 其他条件相同时{zh_way} "
                               f"{m.field}, {m.output} 从 {hi} 降为 {lo}",
                            en=f"declared {m.field} {m.direction} -> {m.output} does not hold: all else equal, "
                               f"{way} {m.field} lowers {m.output} from {hi} to {lo}"),
                            (RuleRef("monotonic", f"{m.field}->{m.output}", m.location),), w, "confirmed")
    return None


def _pair(ctx: Context, m: Monotonic, universe: int, b1: Box, b2: Box, hi: str, lo: str,
          increasing: bool) -> Witness | None:
    key = m.field
    rest1 = {k: v for k, v in b1.items() if k != key}
    rest2 = {k: v for k, v in b2.items() if k != key}
    common = ctx.space.meet(rest1, rest2)
    if common is None:
        return None
    cells_hi = [i for i in bits(b1.get(key, universe)) if i > 0]  # cell 0 is null
    cells_lo = [i for i in bits(b2.get(key, universe)) if i > 0]
    var = ctx.space.vars[key]
    for i in cells_hi:
        for j in cells_lo:
            # increasing: a higher field value gives the lower output; decreasing: a lower one does
            if (j <= i) if increasing else (j >= i):
                continue

            def check(d: Decision | None, env: Env, err: DecisionError | None) -> dict[str, Any] | None:
                return _expect(m.output, hi) if _value(d, m.output) == hi else None

            first = ctx.realizer.find([{**common, key: 1 << i}], check, limit=4)
            if first is None:
                continue
            group, _, name = key.partition(".")
            other = {**first.account, group: {**first.account.get(group, {}), name: _plain(var.cells[j].rep)},
                     "id": "W2"}
            second = replace(first, account=other, expect=_expect(m.output, lo))
            d2, _, _ = ctx.realizer.replay(second)
            if _value(d2, m.output) == lo:
                return replace(first, more=((other, second.expect),))
    return None


def _plain(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v
