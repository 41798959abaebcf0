"""Decision tables and action rules: gaps, overlaps, shadowed, masked, duplicate, subsumed and
unsatisfiable rows (the box analysis of Calvanese et al.)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from accountrules.analysis.context import Context, table_label
from accountrules.analysis.domain import Box, BoxIndex, bits
from accountrules.analysis.findings import Finding, RuleRef
from accountrules.analysis.realize import Env
from accountrules.compile.plan import CRow, CTable
from accountrules.errors import DecisionError
from accountrules.i18n import gettext_for
from accountrules.model.decision import Decision, Label

log = logging.getLogger(__name__)
MAX_GAPS = 256


def ref(section: str, r: CRow) -> RuleRef:
    return RuleRef(section, r.row.id, r.row.prov.location)


def _output(d: Decision, t: CTable) -> Any:
    if t.section == "tier":
        return d.tier.code if d.tier else None
    if t.section == "churn":
        return d.churn.kind.value if d.churn else None
    seg = d.segments.get(t.section[len("segment:"):])
    return seg.code if seg else None


def _decided_by(d: Decision, t: CTable) -> str | None:
    for e in d.trace:
        if e.section == t.section:
            return e.rule
    return None


def _expect_key(t: CTable) -> str:
    return "tier" if t.section == "tier" else "churn" if t.section == "churn" else "segments"


def _expectation(d: Decision, t: CTable) -> dict[str, Any]:
    out = _output(d, t)
    if t.section == "tier":
        return {"tier": out}
    if t.section == "churn":
        return {"churn": {"kind": out}}
    return {"segments": {t.section[len("segment:"):]: out}}


def check_tables(ctx: Context) -> Iterator[Finding]:
    for t in ctx.tables():
        yield from _unsat(ctx, t.section, t.rows)
        if t.table.default is None:
            yield from _gaps(ctx, t)
        if t.hit == "first":
            yield from _shadowed(ctx, t)
        elif t.hit == "priority":
            yield from _masked(ctx, t)
        else:
            yield from _overlaps(ctx, t)
    yield from _unsat(ctx, "actions", ctx.plan.action_rules)
    yield from _action_redundancy(ctx)
    if ctx.plan.stages is not None:
        yield from _unsat(ctx, "stage", ctx.plan.stages.rows)


def _unsat(ctx: Context, section: str, rows: tuple[CRow, ...]) -> Iterator[Finding]:
    for r in rows:
        if r.row.when is not None and not ctx.fires(r.row.when):
            yield Finding("AR205", Label(
                zh=f"{section} 规则 {r.row.id} 的条件在任何账户上都不可能为真 (考虑字段取值范围、类型与参数)",
                en=f"the condition of {section} rule {r.row.id} is true for no account "
                   "(given field bounds, types and params)"),
                (ref(section, r),), status="proven")


def _gaps(ctx: Context, t: CTable) -> Iterator[Finding]:
    cover = [b for r in t.rows for b in ctx.fires(r.row.when)]
    gaps = ctx.space.subtract([{}], cover)[:MAX_GAPS]
    if not gaps:
        return

    def check(d: Decision | None, env: Env, err: DecisionError | None) -> dict[str, Any] | None:
        if d is None or _output(d, t) is not None:
            return None
        return _expectation(d, t)

    w = ctx.realizer.find(gaps, check)
    where = "; ".join(ctx.space.describe(g) for g in gaps[:3])
    where_zh = "; ".join(ctx.space.describe(g, gettext_for("zh")) for g in gaps[:3])
    more = f" (+{len(gaps) - 3})" if len(gaps) > 3 else ""
    label = table_label(t.table)
    yield Finding("AR101", Label(
        zh=f"{label} 没有默认值, 而以下区域没有任何行命中: {where_zh}{more}",
        en=f"{label} has no default, and no row matches where {where}{more}"),
        (RuleRef(t.section, label, t.table.location),), w, "confirmed" if w else "unknown", where + more)


Check = Callable[[Decision | None, Env, DecisionError | None], dict[str, Any] | None]


def _confirm_beaten(t: CTable, r: CRow) -> Check:
    def check(d: Decision | None, env: Env, err: DecisionError | None) -> dict[str, Any] | None:
        if d is None or r.cond is None or r.cond(env) is not True:
            return None
        by = _decided_by(d, t)
        if by is None or by == r.row.id:
            return None
        return {**_expectation(d, t), "fired": [by]}
    return check


def _index(ctx: Context, rows: tuple[CRow, ...]) -> tuple[BoxIndex, list[int], list[int]]:
    """An index over every box of ``rows``, the row of each box, and the first box of each row."""
    boxes: list[Box] = []
    owner: list[int] = []
    start: list[int] = []
    for i, r in enumerate(rows):
        start.append(len(boxes))
        mine = ctx.fires(r.row.when)
        boxes.extend(mine)
        owner.extend([i] * len(mine))
    return BoxIndex(ctx.space, boxes), owner, start


def _touching_rows(index: BoxIndex, owner: list[int], mine: list[Box], below: int | None = None) -> list[int]:
    hits = 0
    for b in mine:
        hits |= index.touching(b)
    if below is not None:
        hits &= (1 << below) - 1
    return sorted({owner[i] for i in bits(hits)})


def _shadowed(ctx: Context, t: CTable) -> Iterator[Finding]:
    sp = ctx.space
    index, owner, start = _index(ctx, t.rows)
    for j, r in enumerate(t.rows):
        mine = ctx.fires(r.row.when)
        # only earlier rows that touch this one can cover it
        culprits = [t.rows[i] for i in _touching_rows(index, owner, mine, start[j])]
        near = [b for e in culprits for b in ctx.fires(e.row.when)]
        if mine and near and not sp.subtract(mine, near):
            same = next((e for e in culprits if _same(ctx, e, r)), None)
            w = ctx.realizer.find(mine, _confirm_beaten(t, r))
            if same is not None:
                yield Finding("AR203", Label(
                    zh=f"{r.row.id} 与前面的 {same.row.id} 条件相同, 在 first 表中永远不会决定结果",
                    en=f"{r.row.id} has the same condition as the earlier {same.row.id} and never decides "
                       "this 'first' table"),
                    (ref(t.section, r), ref(t.section, same)), w, "confirmed" if w else "unknown")
            else:
                names = ", ".join(e.row.id for e in culprits)
                yield Finding("AR201", Label(
                    zh=f"{r.row.id} 命中的每个账户都已被前面的行 ({names}) 命中, 它永远不会决定结果",
                    en=f"every account {r.row.id} matches is matched by earlier rows ({names}); it never decides"),
                    (ref(t.section, r), *(ref(t.section, e) for e in culprits)), w, "confirmed" if w else "unknown")


def _same(ctx: Context, a: CRow, b: CRow) -> bool:
    sp = ctx.space
    x, y = ctx.fires(a.row.when), ctx.fires(b.row.when)
    return all(sp.covered(p, y) for p in x) and all(sp.covered(q, x) for q in y)


def _masked(ctx: Context, t: CTable) -> Iterator[Finding]:
    sp = ctx.space
    for j, r in enumerate(t.rows):
        mine = ctx.fires(r.row.when)
        rank = t.rank.get(r.row.then or "", 1 << 30)
        better = [e for i, e in enumerate(t.rows) if i != j and (
            t.rank.get(e.row.then or "", 1 << 30) < rank or (t.rank.get(e.row.then or "", 1 << 30) == rank and i < j))]
        cover = [b for e in better for b in ctx.fires(e.row.when)]
        if mine and cover and all(sp.covered(b, cover) for b in mine):
            culprits = [e for e in better if any(sp.intersects(a, b) for a in mine for b in ctx.fires(e.row.when))]
            w = ctx.realizer.find(mine, _confirm_beaten(t, r))
            names = ", ".join(e.row.id for e in culprits)
            yield Finding("AR202", Label(
                zh=f"{r.row.id} 命中时总有优先级更高的行 ({names}) 同时命中, 它永远不会决定结果",
                en=f"whenever {r.row.id} matches, a higher-priority row ({names}) matches too; it never decides"),
                (ref(t.section, r), *(ref(t.section, e) for e in culprits)), w, "confirmed" if w else "unknown")


def _overlaps(ctx: Context, t: CTable) -> Iterator[Finding]:
    sp = ctx.space
    rows = t.rows
    fires = [ctx.fires(r.row.when) for r in rows]
    index, owner, _ = _index(ctx, rows)
    for i in range(len(rows)):
        for j in _touching_rows(index, owner, fires[i]):
            if j <= i:
                continue
            a, b = rows[i], rows[j]
            if t.hit == "any" and a.row.then == b.row.then:
                if fires[j] and all(sp.covered(x, fires[i]) for x in fires[j]):
                    yield from _subsumed_any(ctx, t, a, b, fires[j])
                continue
            both = sp.meet_all(fires[i], fires[j])
            if not both:
                continue
            ids = {a.row.id, b.row.id}

            def check(d: Decision | None, env: Env, err: DecisionError | None,
                      ids: set[str] = ids) -> dict[str, Any] | None:
                return {"error": True} if err is not None and ids <= set(err.rules) else None

            w = ctx.realizer.find(both, check)
            if t.hit == "unique":
                yield Finding("AR102", Label(
                    zh=f"unique 表 {table_label(t.table)} 的 {a.row.id} 与 {b.row.id} 会同时命中同一账户",
                    en=f"{a.row.id} and {b.row.id} of the 'unique' table {table_label(t.table)} "
                       "match the same account"),
                    (ref(t.section, a), ref(t.section, b)), w, "confirmed" if w else "unknown",
                    "; ".join(sp.describe(x) for x in both[:3]))
            else:
                yield Finding("AR103", Label(
                    zh=f"any 表 {table_label(t.table)} 的 {a.row.id} ({a.row.then}) 与 {b.row.id} ({b.row.then}) "
                       "重叠但输出不同",
                    en=f"{a.row.id} ({a.row.then}) and {b.row.id} ({b.row.then}) of the 'any' table "
                       f"{table_label(t.table)} overlap and disagree"),
                    (ref(t.section, a), ref(t.section, b)), w, "confirmed" if w else "unknown",
                    "; ".join(sp.describe(x) for x in both[:3]))


def _subsumed_any(ctx: Context, t: CTable, big: CRow, small: CRow, boxes: list[Box]) -> Iterator[Finding]:
    def check(d: Decision | None, env: Env, err: DecisionError | None) -> dict[str, Any] | None:
        ok = d is not None and big.cond is not None and big.cond(env) is True
        return _expectation(d, t) if ok and d is not None else None

    w = ctx.realizer.find(boxes, check)
    yield Finding("AR204", Label(
        zh=f"{small.row.id} 的条件包含于 {big.row.id} 且输出相同, 可以删除",
        en=f"{small.row.id} lies within {big.row.id} with the same output; it can be removed"),
        (ref(t.section, small), ref(t.section, big)), w, "confirmed" if w else "unknown")


def _action_redundancy(ctx: Context) -> Iterator[Finding]:
    sp = ctx.space
    rules = ctx.plan.action_rules
    fires = [ctx.fires(r.row.when) for r in rules]
    for j, small in enumerate(rules):
        if not fires[j]:
            continue
        for i, big in enumerate(rules):
            if i == j or not set(small.row.actions) <= set(big.row.actions):
                continue
            if not all(sp.covered(x, fires[i]) for x in fires[j]):
                continue
            same = set(small.row.actions) == set(big.row.actions) and all(sp.covered(x, fires[j]) for x in fires[i])
            if same and j < i:
                continue  # one finding per duplicate pair, on the later rule

            def check(d: Decision | None, env: Env, err: DecisionError | None,
                      a: CRow = small, b: CRow = big) -> dict[str, Any] | None:
                if d is None:
                    return None
                fired = {e.rule for e in d.trace if e.section == "actions"}
                return {"fired": [b.row.id, a.row.id]} if {a.row.id, b.row.id} <= fired else None

            w = ctx.realizer.find(fires[j], check)
            code = "AR203" if same else "AR204"
            msg = (Label(zh=f"行动规则 {small.row.id} 与 {big.row.id} 条件和行动都相同",
                         en=f"action rule {small.row.id} has the same condition and actions as {big.row.id}")
                   if same else
                   Label(zh=f"行动规则 {small.row.id} 命中时 {big.row.id} 必然命中且已包含其全部行动, "
                            "它从不增加任何行动",
                         en=f"whenever action rule {small.row.id} fires, {big.row.id} fires too and opens all its "
                            "actions; it never adds anything"))
            yield Finding(code, msg, (ref("actions", small), ref("actions", big)), w,
                          "confirmed" if w else "unknown")
            break
