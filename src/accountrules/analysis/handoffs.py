"""Hand-offs between sections: values produced and never handled, declared and never produced,
and params or metrics nobody reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from accountrules.analysis.context import Context, table_label
from accountrules.analysis.findings import Finding, RuleRef
from accountrules.analysis.realize import Env
from accountrules.analysis.tables import ref
from accountrules.check.policy_files import PolicyFiles
from accountrules.check.policy_schema import read_policy_partial
from accountrules.check.spec import PolicySpec, Row
from accountrules.compile.plan import CTable
from accountrules.errors import DecisionError
from accountrules.model.decision import Decision, Label
from accountrules.parse.expr_ast import Binary, Expr, InList, Literal, Name, Ref, walk

if TYPE_CHECKING:
    from accountrules.policy import Policy


def _consumers(ctx: Context, key: str) -> list[tuple[str, Row]]:
    """Later rules (section, row) whose condition reads output ``key``."""
    s = ctx.spec
    rows: list[tuple[str, Row]] = []
    sections: list[tuple[str, tuple[Row, ...]]] = [("segment:" + n, t.rows) for n, t in s.segments.items()]
    if s.tiers:
        sections.append(("tier", s.tiers.rows))
    if s.stages:
        sections.append(("stage", s.stages.transitions))
    if s.churn:
        sections.append(("churn", s.churn.rows))
    if s.actions:
        sections.append(("actions", s.actions.rules))
    for section, rs in sections:
        for r in rs:
            if r.when is not None and any(isinstance(n, Ref) and n.key == key for n in walk(r.when)):
                rows.append((section, r))
    return rows


def _named(e: Expr, key: str) -> tuple[set[Any], bool]:
    """Values of ``key`` a condition names, and whether it reads ``key`` in a way that covers every value."""
    named: set[Any] = set()
    generic = False
    for n in walk(e):
        if isinstance(n, Binary) and n.op in ("==", "!="):
            sides = (n.left, n.right)
            if any(isinstance(x, Ref) and x.key == key for x in sides):
                lit = [x for x in sides if isinstance(x, Literal)]
                if lit:
                    named.add(lit[0].value)
                else:
                    generic = True
        elif isinstance(n, InList) and isinstance(n.operand, Ref) and n.operand.key == key:
            named |= {i.value for i in n.items if isinstance(i, Literal)}
        elif isinstance(n, Binary) and any(isinstance(x, Ref) and x.key == key for x in (n.left, n.right)):
            generic = True
    refs = sum(1 for n in walk(e) if isinstance(n, Ref) and n.key == key)
    counted = sum(1 for n in walk(e) if isinstance(n, Binary | InList) and any(
        isinstance(x, Ref) and x.key == key for x in ((n.left, n.right) if isinstance(n, Binary) else (n.operand,))))
    return named, generic or refs > counted


def check_handoffs(ctx: Context) -> Iterator[Finding]:
    for t in ctx.tables():
        yield from _unhandled(ctx, t)
        if t.section != "churn":  # churn kinds are the model's fixed vocabulary, not declared by the policy
            yield from _never_produced(ctx, t)
    yield from _unhandled_stages(ctx)
    yield from _unused(ctx)


def _named_by_consumers(ctx: Context, key: str) -> tuple[list[tuple[str, Row]], set[Any] | None]:
    """Later rules reading ``key`` and the values they name; None when one reads every value alike."""
    consumers = _consumers(ctx, key)
    named: set[Any] = set()
    for _, r in consumers:
        assert r.when is not None
        n, generic = _named(r.when, key)
        if generic:
            return consumers, None
        named |= n
    return consumers, named


def _unhandled_stages(ctx: Context) -> Iterator[Finding]:
    st = ctx.plan.stages
    if st is None:
        return
    consumers, named = _named_by_consumers(ctx, "stage")
    if not consumers or named is None:
        return
    for value in st.states:
        if value in named:
            continue
        producers = [r for r in st.rows if r.row.then == value and ctx.fires(r.row.when)]
        boxes = ctx.region("stage", {value})

        def check(d: Decision | None, env: Env, err: DecisionError | None, value: str = value) -> dict[str, Any] | None:
            return {"stage": {"to": value}} if d is not None and env.get("stage") == value else None

        w = ctx.realizer.find(boxes, check)
        readers = ", ".join(r.id for _, r in consumers)
        yield Finding("AR401", Label(
            zh=f"阶段 {value!r} 可以被决定, 但读取 stage 的后续规则 ({readers}) 都没有处理它",
            en=f"stage {value!r} can be decided, but no later rule reading stage ({readers}) handles it"),
            (*(ref("stage", p) for p in producers),
             *([RuleRef("stage", value, ctx.spec.stages.location)] if not producers and ctx.spec.stages else []),
             *(RuleRef(sec, r.id, r.prov.location) for sec, r in consumers)),
            w, "confirmed" if w else "unknown", extra={"value": value})


def _unhandled(ctx: Context, t: CTable) -> Iterator[Finding]:
    consumers, named = _named_by_consumers(ctx, t.output_key)
    if not consumers or named is None:
        return
    decides = ctx.decides(t)
    for value in t.table.values:
        if value in named or (t.section == "churn" and value == "none"):  # 'none' is the absence of churn
            continue
        producers = [r for r, boxes in zip(t.rows, decides, strict=True) if r.row.then == value and boxes]
        if not producers:
            continue

        def check(d: Decision | None, env: Env, err: DecisionError | None, value: str = value) -> dict[str, Any] | None:
            got = env.get(t.output_key)
            if d is None or got != value:
                return None
            by = next((e.rule for e in d.trace if e.section == t.section), None)
            out: dict[str, Any] = {"fired": [by]} if by and not by.startswith("(") else {}
            if t.output_key == "tier":
                out["tier"] = value
            elif t.output_key == "churn.kind":
                out["churn"] = {"kind": value}
            else:
                out["segments"] = {t.output_key[len("segments."):]: value}
            return out

        boxes = [b for p, bs in zip(t.rows, decides, strict=True) if p in producers for b in bs]
        w = ctx.realizer.find(boxes, check)
        readers = ", ".join(r.id for _, r in consumers)
        label = table_label(t.table)
        yield Finding("AR401", Label(
            zh=f"{label} 的行 {', '.join(p.row.id for p in producers)} 产出 {value!r}, "
               f"但读取 {t.output_key} 的后续规则 "
               f"({readers}) 都没有处理 {value!r}",
            en=f"{', '.join(p.row.id for p in producers)} in {label} produce {value!r}, but no later rule reading "
               f"{t.output_key} ({readers}) handles {value!r}"),
            (*(ref(t.section, p) for p in producers), *(RuleRef(sec, r.id, r.prov.location) for sec, r in consumers)),
            w, "confirmed" if w else "unknown", extra={"value": value})


def _never_produced(ctx: Context, t: CTable) -> Iterator[Finding]:
    made = {r.row.then for r in t.rows} | {t.table.default}
    for value in t.table.values:
        if value not in made:
            label = table_label(t.table)
            yield Finding("AR402", Label(
                zh=f"{label} 声明了值 {value!r}, 但没有任何行(也不是默认值)产出它",
                en=f"{label} declares {value!r}, but no row (nor the default) produces it"),
                (RuleRef(t.section, f"{label}.values.{value}", t.table.location),), status="proven",
                extra={"value": value})


def _unused(ctx: Context) -> Iterator[Finding]:
    spec = ctx.spec
    read_metrics: set[str] = set()
    for e in ctx.expressions():
        read_metrics |= {n.key for n in walk(e) if isinstance(n, Ref) and n.kind == "metric"}
    for m in spec.metrics:
        if m.name not in read_metrics:
            yield Finding("AR404", Label(
                zh=f"指标 {m.name} 已定义, 但没有任何规则或其他指标读取它 (只出现在决策的 metrics 中)",
                en=f"metric {m.name} is defined but no rule or metric reads it (it only shows in Decision.metrics)"),
                (RuleRef("metrics", m.name, m.prov.location),), status="proven")
    raw = _unresolved(ctx.policy) if spec.params else None
    if raw is None:
        return
    used: set[str] = set()
    for e in _raw_expressions(raw):
        used |= {n.path[len("params."):] for n in walk(e) if isinstance(n, Name) and n.path.startswith("params.")}
    for p in spec.params:
        if p not in used:
            yield Finding("AR403", Label(
                zh=f"参数 {p} 已定义但没有任何表达式使用", en=f"parameter {p} is defined but no expression uses it"),
                (RuleRef("params", p, spec.locations.get("params." + p)),), status="proven")


def _raw_expressions(spec: PolicySpec) -> list[Expr]:
    from accountrules.check.policy_check import all_expressions

    return all_expressions(spec)


def _unresolved(policy: Policy) -> PolicySpec | None:
    """The policy as written (names not yet resolved), read again from the texts it was loaded from
    (never the disk): params are inlined as constants by the checker, so only the text says which
    of them an expression names."""
    if not policy.sources or policy.entry is None:
        return None
    raw, problems = read_policy_partial(policy.entry, files=PolicyFiles(policy.sources))
    return raw if not problems and raw.content_hash == policy.spec.content_hash else None
