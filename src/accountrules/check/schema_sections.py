"""Readers of the policy's sections (tables, churn, stages, actions, metrics, lint allowances,
monotonic declarations) into the spec's types."""

from __future__ import annotations

import difflib

from accountrules.check.policy_shapes import (
    ACTION,
    ACTION_RULE,
    ACTIONS,
    ALLOW_CODES,
    CHURN,
    CHURN_DEFAULT,
    CHURN_ROW,
    LINT,
    LINT_ALLOW,
    LINT_CODES,
    METRIC_SPEC,
    MONOTONIC,
    STAGES,
    TABLE,
    TABLE_ROW,
    TRANSITION,
    UNUSED_ALLOW,
)
from accountrules.check.schema_reader import _CODE, _ID, HIT_POLICIES, _duration_days, _Reader
from accountrules.check.shapes import Keys
from accountrules.check.spec import (
    ActionDef,
    Actions,
    LintAllow,
    Metric,
    Monotonic,
    Provenance,
    Row,
    Stages,
    Table,
)
from accountrules.errors import (
    PolicyReferenceError,
    SourceLocation,
    did_you_mean,
)
from accountrules.i18n import N_, Message
from accountrules.model.decision import Label
from accountrules.model.enums import ChurnKind, Priority, RiskLevel, Stage
from accountrules.parse.expr_parser import ComparisonShape
from accountrules.parse.yaml_source import RowNode, YNode


def _values(r: _Reader, node: YNode | None, what: str, at: SourceLocation) -> dict[str, Label]:
    out: dict[str, Label] = {}
    # refused values are reported here once: the checker then says nothing of the rows, default and
    # comparisons that name them (see policy_check.values_refused)
    if node is None:
        r.err(Message(N_("{what} needs 'values' (the codes it can produce)"), what=what), at)
        r.refused.add(f"{what}.values")
        return out
    if not r.mapping(node, f"{what}.values", node.value if isinstance(node.value, dict) else ()):
        r.refused.add(f"{what}.values")
        return out
    assert isinstance(node.value, dict)
    for code, v in node.value.items():
        if not _CODE.fullmatch(code):
            r.err(Message(N_("code {code!r} must start with a letter and hold letters, digits or '_'"),
                          code=code), node.loc_of_key(code))
            r.refused.add(f"{what}.values.{code}")
            continue
        label = r.label(v, f"{what}.values.{code}") if v.value is not None else None
        out[code] = label or Label(zh=code, en=code)
    return out


def _rows(r: _Reader, node: YNode | None, what: str, shape: Keys, *, output: str | None = None,
          choices: list[str] | None = None) -> tuple[Row, ...]:
    """Rows with an id, a condition and provenance; ``output`` names the key read into ``Row.then``."""
    rows: list[Row] = []
    seen: dict[str, YNode] = {}  # id -> its row
    risks = [x.value for x in RiskLevel]
    row_of, with_do = f"a row of {what}", "do" in shape.keys
    # A long table is tens of thousands of rows of one plain shape; per row, what holds for most is
    # tested first and read here, the rest goes through the reader's general methods (which report
    # what is wrong). Only the order of the tests differs: every check is made.
    allowed, required = frozenset(shape.allowed), frozenset(shape.required)
    # a row read by row_lines with just these keys (a long table) is taken from its parts, no mapping built
    plain_keys = ("id", "when", output)
    plain_ok = (output is not None and choices is None
                and set(plain_keys) <= allowed and required <= set(plain_keys))
    likely: ComparisonShape | None = None  # the shape of the last plain row's condition: the next one's, likely
    for item in _bounded_rows(r, r.seq(node, f"{what}.rows"), what):
        if plain_ok and type(item) is RowNode and item.run.keys == plain_keys:
            # cells as written: the id is its text whether YAML reads a number or not (as the general path takes
            # it); a condition or output must be text
            cell_id, cell_when, cell_then = item.row[1]
            run = item.run
            if run.is_text(1) and run.is_text(2) and _ID.fullmatch(cell_id) and cell_id not in seen:
                seen[cell_id] = item
                if likely is None or not likely.fits(cell_when):
                    likely = ComparisonShape.of(cell_when)
                # the row's and its condition's places made here (the same as RowNode.location and the
                # condition's node would give): this is the hot loop of a long table, one call less a place
                line, _, spans = item.row
                file = item.file
                when_at = SourceLocation(file, line + 1, run.value_column(spans, 1) + 1)
                rows.append(Row(cell_id, r.expr_text(cell_when, when_at, likely),
                                Provenance(None, (), SourceLocation(file, line + 1, run.row_column + 1)), cell_then,
                                None, (), ()))
                continue
        keys = item.value
        if type(keys) is not dict or not (keys.keys() <= allowed and required <= keys.keys()):
            if not r.keys(item, row_of, shape):
                continue
        assert isinstance(keys, dict)  # a mapping: checked just above
        id_node = keys.get("id")
        given = id_node.value if id_node is not None else None
        rid = str(given) if type(given) is int else given  # as the reader takes a number given as text
        if not isinstance(rid, str) or not _ID.fullmatch(rid):
            rid = r.ident(id_node, "row id")
            if rid is None:
                continue
        if rid in seen:
            r.errors.append(PolicyReferenceError(
                Message(N_("duplicate id {rid!r} in {what}"),
                        rid=rid, what=what), id_node.location if id_node else item.location,
                Message(N_("first defined at line {line}"), line=seen[rid].line)))
        seen[rid] = item
        then = None
        if output is not None:
            then_node = keys.get(output)
            if choices is not None:
                then = r.choice(then_node, output, choices, None)
            elif then_node is not None and type(then_node.value) is str:
                then = then_node.value
            else:
                then = r.text(then_node, output)
        risk = keys.get("risk")
        rows.append(Row(
            rid,
            r.expr(keys.get("when"), "when"),
            r.prov(item) if "description" in keys or "seed" in keys else Provenance(None, (), item.location),
            then,
            r.choice(risk, "risk", risks, None) if risk is not None else None,
            (),
            r.names(keys.get("do"), "do") if with_do else (),
        ))
    return tuple(rows)


def _bounded_rows(r: _Reader, items: list[YNode], what: str) -> list[YNode]:
    """``items``, or none (and a located error) when there are more than a table may hold."""
    limit = r.budget.limits.max_table_rows
    if len(items) <= limit:
        return items
    r.errors.append(r.budget.rows_error(len(items), what, items[limit].location))
    return []


def _table(r: _Reader, node: YNode, name: str, what: str) -> Table | None:
    # 'values' is required (TABLE.required), with its own message in _values
    if not r.mapping(node, what, TABLE.allowed):
        return None
    hit = r.choice(node.get("hit"), f"{what}.hit", HIT_POLICIES, "first") or "first"
    return Table(
        name=name, hit=hit, values=_values(r, node.get("values"), what, node.location),
        rows=_rows(r, node.get("rows"), what, TABLE_ROW, output="then"), location=node.location,
        default=r.text(node.get("default"), f"{what}.default"), label=r.label(node.get("label"), "label"),
    )


def _churn(r: _Reader, node: YNode) -> Table | None:
    if not r.keys(node, "churn", CHURN):
        return None
    kinds = [k.value for k in ChurnKind]
    # churn rows give kind: and risk: instead of then:
    rows = _rows(r, node.get("rows"), "churn", CHURN_ROW, output="kind", choices=kinds)
    default_kind, default_risk = "none", "low"
    d = node.get("default")
    if d is not None and r.keys(d, "churn.default", CHURN_DEFAULT):
        default_kind = r.choice(d.get("kind"), "kind", kinds, "none") or "none"
        default_risk = r.choice(d.get("risk"), "risk", [x.value for x in RiskLevel], "low") or "low"
    hit = r.choice(node.get("hit"), "churn.hit", HIT_POLICIES, "first") or "first"
    return Table(
        name="churn", hit=hit, values={k: Label(zh=k, en=k) for k in kinds}, rows=rows,
        location=node.location, default=default_kind, default_risk=default_risk,
        score=r.expr(node.get("score"), "score"),
    )


def _stages(r: _Reader, node: YNode) -> Stages | None:
    if not r.keys(node, "stages", STAGES):
        return None
    allowed_states = [s.value for s in Stage]
    states: dict[str, Label] = {}
    sn = node.get("states")
    if sn is not None and r.mapping(sn, "stages.states", allowed_states):
        assert isinstance(sn.value, dict)
        for code, v in sn.value.items():
            states[code] = (r.label(v, f"stages.states.{code}") if v.value is not None else None) or \
                Label(zh=code, en=code)
    start = r.text(node.get("start"), "stages.start") or ""
    otherwise = r.text(node.get("otherwise"), "stages.otherwise", "stay") or "stay"
    transitions: list[Row] = []
    seen: dict[str, SourceLocation] = {}
    for item in _bounded_rows(r, r.seq(node.get("transitions"), "stages.transitions"), "stages.transitions"):
        if not r.keys(item, "a transition", TRANSITION):
            continue
        tid = r.ident(item.get("id"), "transition id")
        if tid is None:
            continue
        if tid in seen:
            r.errors.append(PolicyReferenceError(Message(N_("duplicate transition id {tid!r}"), tid=tid), item.location,
                                                 Message(N_("first defined at line {line}"), line=seen[tid].line)))
        seen[tid] = item.location
        transitions.append(Row(
            id=tid, when=r.expr(item.get("when"), "when"), prov=r.prov(item),
            then=r.text(item.get("to"), "to"), sources=r.names(item.get("from"), "from"),
        ))
    start_node, otherwise_node = node.get("start"), node.get("otherwise")
    return Stages(states=states, start=start, otherwise=otherwise, transitions=tuple(transitions),
                  location=node.location, start_location=start_node.location if start_node else None,
                  otherwise_location=otherwise_node.location if otherwise_node else None)


def _actions(r: _Reader, node: YNode) -> Actions | None:
    if not r.keys(node, "actions", ACTIONS):
        return None
    catalog: dict[str, ActionDef] = {}
    cn = node.get("catalog")
    if cn is not None and r.mapping(cn, "actions.catalog", cn.value if isinstance(cn.value, dict) else ()):
        assert isinstance(cn.value, dict)
        for code, item in cn.value.items():
            if not _CODE.fullmatch(code):
                r.err(Message(N_("action code {code!r} must start with a letter and hold letters, digits or '_'"),
                              code=code),
                      cn.loc_of_key(code))
                continue
            if not r.keys(item, f"action {code}", ACTION):
                r.refused.add("actions." + code)  # its error is reported; the rules naming it are not
                continue
            catalog[code] = ActionDef(
                code=code,
                title=r.label(item.get("title"), "title") or Label(zh=code, en=code),
                owner=r.text(item.get("owner"), "owner") or "",
                priority=r.choice(item.get("priority"), "priority", [p.value for p in Priority], "medium")
                or "medium",
                due_days=_duration_days(r, item.get("due")),
                prov=r.prov(item),
            )
    rules = _rows(r, node.get("rules"), "actions", ACTION_RULE)
    return Actions(catalog=catalog, rules=rules, location=node.location)


def _metrics(r: _Reader, node: YNode | None) -> tuple[Metric, ...]:
    if node is None:
        return ()
    if not r.mapping(node, "metrics", node.value if isinstance(node.value, dict) else ()):
        return ()
    assert isinstance(node.value, dict)
    out = []
    for name, item in node.value.items():
        if not _CODE.fullmatch(name):
            r.err(Message(N_("metric name {name!r} must start with a letter and hold letters, digits or '_'"),
                          name=name),
                  node.loc_of_key(name))
            continue
        r.refused.add(name)  # until it is read below
        if isinstance(item.value, dict):
            if not r.keys(item, f"metric {name}", METRIC_SPEC):
                continue
            e = r.expr(item.get("expr"), f"metric {name}")
            if e is not None:
                out.append(Metric(name, e, r.label(item.get("label"), "label"), r.prov(item)))
                r.refused.discard(name)
        else:
            e = r.expr(item, f"metric {name}")
            if e is not None:
                out.append(Metric(name, e, None, Provenance(location=item.location)))
                r.refused.discard(name)
    return tuple(out)


def _lint(r: _Reader, node: YNode | None) -> tuple[LintAllow, ...]:
    """``lint: {allow: [{code: AR401, reason: ..., rule: optional-id}]}``: accepted findings, each with a reason."""
    if node is None or not r.keys(node, "lint", LINT):
        return ()
    out = []
    for item in r.seq(node.get("allow"), "lint.allow"):
        if not r.keys(item, "a lint allowance", LINT_ALLOW):
            continue
        code_node = item.get("code")
        code = r.text(code_node, "lint code")
        if code is not None and code_node is not None and code.upper() == UNUSED_ALLOW:
            # accepting "this allowance accepts nothing" would keep the stale allowance, and itself, forever
            r.errors.append(PolicyReferenceError(
                Message(N_("{code} (unused-allow) cannot be allowed: it reports an allowance that accepts no "
                           "finding, and the fix is always to delete that allowance"), code=code),
                code_node.location, Message(N_("delete the allowance {code} reports instead"), code=UNUSED_ALLOW)))
            code = None
        elif code is not None and code_node is not None and code not in LINT_CODES:
            # a typo would suppress nothing, silently: the finding meant stays active
            close = _closest_code(code)
            r.errors.append(PolicyReferenceError(
                Message(N_("unknown lint code {code!r}"), code=code), code_node.location,
                did_you_mean(close) if close else Message(N_("lint reports {codes}"), codes=", ".join(ALLOW_CODES))))
            code = None
        reason = r.text(item.get("reason"), "reason")
        if code is None or not reason or not reason.strip():
            if reason is not None and not reason.strip():
                r.err(Message(N_("a lint allowance needs a reason")), item.location)
            continue
        rule_node = item.get("rule")
        out.append(LintAllow(code=code, reason=reason.strip(), location=item.location,
                             rule=r.text(rule_node, "rule"), rule_location=rule_node.location if rule_node else None))
    return tuple(out)


def _closest_code(code: str) -> str | None:
    """The lint code ``code`` is most likely a typo of: itself in other case, or with two neighbouring
    characters swapped (AR430 for AR403, which difflib's ratio ties with AR304 and AR404), else the closest
    by difflib."""
    upper = code.upper()
    swaps = [upper[:i] + upper[i + 1] + upper[i] + upper[i + 2:] for i in range(len(upper) - 1)]
    close = [c for c in (upper, *swaps) if c in ALLOW_CODES] or difflib.get_close_matches(upper, ALLOW_CODES, n=1,
                                                                                           cutoff=0.6)
    return close[0] if close else None


def _monotonic(r: _Reader, node: YNode | None) -> tuple[Monotonic, ...]:
    out = []
    for item in r.seq(node, "monotonic"):
        if not r.keys(item, "a monotonic property", MONOTONIC):
            continue
        out.append(Monotonic(
            field=r.text(item.get("field"), "field") or "",
            direction=r.choice(item.get("direction"), "direction", ("increasing", "decreasing"), "increasing")
            or "increasing",
            output=r.text(item.get("output"), "output") or "",
            location=item.location,
        ))
    return tuple(out)


