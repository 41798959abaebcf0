"""The stage statechart: unreachable stages, dead ends, shadowed transitions and flapping pairs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from accountrules.analysis.context import Context
from accountrules.analysis.domain import Box
from accountrules.analysis.findings import Finding, RuleRef
from accountrules.analysis.realize import Env
from accountrules.analysis.tables import ref
from accountrules.errors import DecisionError
from accountrules.model.decision import Decision, Label


def _moves(d: Decision | None) -> tuple[str | None, str | None]:
    if d is None or d.stage is None:
        return None, None
    return d.stage.transition, d.stage.to.value


def check_stages(ctx: Context) -> Iterator[Finding]:
    st, spec = ctx.plan.stages, ctx.spec.stages
    if st is None or spec is None:
        return
    sp = ctx.space
    live: dict[tuple[str, int], list[Box]] = {}  # (source, transition) -> where it is the one taken
    for s in st.states:
        before: list[Box] = []
        for i in st.by_source.get(s, ()):
            row = st.rows[i]
            mine = ctx.fires(row.row.when)
            taken = sp.subtract(mine, before)
            live[(s, i)] = taken
            if mine and not taken:
                culprits = [st.rows[k] for k in st.by_source[s] if k != i and (s, k) in live and live[(s, k)]]

                def check(d: Decision | None, env: Env, err: DecisionError | None,
                          row: Any = row) -> dict[str, Any] | None:
                    tr, to = _moves(d)
                    if row.cond is None or row.cond(env) is not True or tr is None or tr == row.row.id:
                        return None
                    return {"stage": {"to": to, "transition": tr}}

                w = ctx.realizer.find(mine, check, stage=s)
                yield Finding("AR303", Label(
                    zh=f"阶段 {s} 的迁移 {row.row.id} 命中时, 前面的迁移 ({', '.join(c.row.id for c in culprits)}) "
                       "总会先命中",
                    en=f"from {s}, transition {row.row.id} is always pre-empted by earlier transitions "
                       f"({', '.join(c.row.id for c in culprits)})"),
                    (ref("stage", row), *(ref("stage", c) for c in culprits)), w, "confirmed" if w else "unknown")
            before += mine
    # reachability from start over transitions that can be taken
    edges: dict[str, set[str]] = {s: set() for s in st.states}
    for (s, i), boxes in live.items():
        if boxes and st.rows[i].row.then:
            edges[s].add(st.rows[i].row.then or "")
    if st.otherwise != "stay":
        for s in st.states:
            edges[s].add(st.otherwise)
    seen, todo = {st.start}, [st.start]
    while todo:
        for n in edges.get(todo.pop(), ()):
            if n not in seen:
                seen.add(n)
                todo.append(n)
    for s in st.states:
        if s not in seen:
            yield Finding("AR301", Label(
                zh=f"阶段 {s} 无法从起始阶段 {st.start} 经任何可触发的迁移到达",
                en=f"stage {s} cannot be reached from start {st.start} by any transition that can fire"),
                (RuleRef("stage", s, spec.location),), status="proven")
        elif not (edges[s] - {s}):
            def stays(d: Decision | None, env: Env, err: DecisionError | None, s: str = s) -> dict[str, Any] | None:
                tr, to = _moves(d)
                return {"stage": {"to": s}} if to == s and tr is None else None

            w = ctx.realizer.find([{}], stays, stage=s)
            yield Finding("AR302", Label(
                zh=f"阶段 {s} 没有任何可触发的迁出, 进入后永远停留",
                en=f"stage {s} has no transition out that can fire; an account that enters it stays forever"),
                (RuleRef("stage", s, spec.location),), w, "confirmed" if w else "unknown")
    yield from _flapping(ctx, live)


def _flapping(ctx: Context, live: dict[tuple[str, int], list[Box]]) -> Iterator[Finding]:
    st = ctx.plan.stages
    assert st is not None
    sp = ctx.space
    for (a, i), there in live.items():
        b = st.rows[i].row.then
        if not there or b is None or b == a:
            continue
        for (b2, k), back in live.items():
            if b2 != b or st.rows[k].row.then != a or not back or (a, i) > (b2, k):
                continue
            both = sp.meet_all(there, back)
            if not both:
                continue
            t1, t2 = st.rows[i], st.rows[k]

            def check(d: Decision | None, env: Env, err: DecisionError | None,
                      t1: Any = t1) -> dict[str, Any] | None:
                tr, to = _moves(d)
                return {"stage": {"to": to, "transition": tr}} if tr == t1.row.id else None

            w = ctx.realizer.find(both, check, stage=a)
            if w is not None:
                back_w = dict(w.account)
                back_w["relationship"] = {**back_w.get("relationship", {}), "stage": b}
                from dataclasses import replace

                d2, _, _ = ctx.realizer.replay(replace(w, account=back_w))
                if _moves(d2)[0] != t2.row.id:
                    w = None
            yield Finding("AR304", Label(
                zh=f"同一账户在 {a} 时经 {t1.row.id} 进入 {b}, 在 {b} 时又经 {t2.row.id} 回到 {a}: 每次运行来回切换",
                en=f"the same account goes {a} -> {b} by {t1.row.id} and {b} -> {a} by {t2.row.id}: "
                   "it flaps run after run"),
                (ref("stage", t1), ref("stage", t2)), w, "confirmed" if w else "unknown",
                "; ".join(sp.describe(x) for x in both[:3]))
