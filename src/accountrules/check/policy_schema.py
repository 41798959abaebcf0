"""Read policy YAML (one file, or a directory with includes and ``extends``) into a PolicySpec.

Structure problems are collected, not raised one at a time, so a business owner
sees every unknown key and missing value of a file in one run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import math
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from accountrules.check.policy_files import PolicyFiles
from accountrules.check.spec import (
    ActionDef,
    Actions,
    LintAllow,
    Metric,
    Monotonic,
    PolicySpec,
    Provenance,
    Row,
    Stages,
    Table,
)
from accountrules.errors import (
    PolicyError,
    PolicyReferenceError,
    PolicySchemaError,
    SourceLocation,
    raise_collected,
)
from accountrules.model.decision import Label
from accountrules.model.enums import ChurnKind, Priority, RiskLevel, Stage
from accountrules.parse.expr_ast import BOOL, Expr, Literal
from accountrules.parse.expr_parser import MAX_NUMBER, parse_expression
from accountrules.parse.yaml_source import YNode

T = TypeVar("T")

SECTIONS = ("segments", "tiers", "stages", "churn", "actions")
TOP_KEYS = ("policy", "extends", "include", "params", "fields", "metrics", "monotonic", "lint", *SECTIONS)
HIT_POLICIES = ("unique", "first", "priority", "any")
FIELD_TYPES = ("number", "string", "bool", "date")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
MAX_EXTENDS_DEPTH = 8


class _Reader:
    """Walks YNodes, checking shapes and collecting errors."""

    def __init__(self) -> None:
        self.errors: list[PolicyError] = []

    def err(self, message: str, loc: SourceLocation, hint: str | None = None) -> None:
        self.errors.append(PolicySchemaError(message, loc, hint))

    def mapping(self, node: YNode, what: str, allowed: Iterable[str], required: Iterable[str] = ()) -> bool:
        if not isinstance(node.value, dict):
            self.err(f"{what} must be a mapping (key: value)", node.location)
            return False
        allowed = list(allowed)
        for key in node.value:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
                self.err(f"unknown key {key!r} in {what}", node.loc_of_key(key), hint)
        ok = True
        for key in required:
            if key not in node.value:
                self.err(f"{what} needs {key!r}", node.location)
                ok = False
        return ok

    def text(self, node: YNode | None, what: str, default: str | None = None) -> str | None:
        if node is None:
            return default
        if isinstance(node.value, bool) or node.value is None or isinstance(node.value, list | dict):
            self.err(f"{what} must be text", node.location)
            return default
        return str(node.value)

    def ident(self, node: YNode | None, what: str, pattern: re.Pattern[str] = _ID) -> str | None:
        value = self.text(node, what)
        if value is not None and node is not None and not pattern.match(value):
            self.err(f"{what} {value!r} must be letters, digits, '_' , '-' or '.'", node.location)
            return None
        return value

    def label(self, node: YNode | None, what: str) -> Label | None:
        if node is None:
            return None
        if isinstance(node.value, str):  # one text for both languages
            return Label(zh=node.value, en=node.value)
        if not self.mapping(node, what, ("zh", "en"), ("zh", "en")):
            return None
        zh, en = self.text(node.get("zh"), f"{what}.zh"), self.text(node.get("en"), f"{what}.en")
        return Label(zh=zh or "", en=en or "") if zh is not None and en is not None else None

    def seeds(self, node: YNode | None) -> tuple[str, ...]:
        if node is None:
            return ()
        items = node.value if isinstance(node.value, list) else [node]
        out = []
        for item in items:
            s = self.text(item, "seed")
            if s is not None:
                out.append(s)
        return tuple(out)

    def prov(self, node: YNode) -> Provenance:
        return Provenance(
            description=self.label(node.get("description"), "description"),
            seed=self.seeds(node.get("seed")),
            location=node.location,
        )

    def expr(self, node: YNode | None, what: str) -> Expr | None:
        if node is None:
            return None
        v = node.value
        if isinstance(v, bool):
            return Literal(node.location, v, BOOL)
        if isinstance(v, int | float | dt.date) or v is None or isinstance(v, list | dict):
            if isinstance(v, list | dict) or v is None:
                self.err(f"{what} must be an expression (text)", node.location)
                return None
            return parse_expression(str(v), node.location)
        try:
            return parse_expression(str(v), node.location)
        except PolicyError as e:
            self.errors.append(e)
            return None

    def seq(self, node: YNode | None, what: str) -> list[YNode]:
        if node is None:
            return []
        if not isinstance(node.value, list):
            self.err(f"{what} must be a list", node.location)
            return []
        return node.value

    def names(self, node: YNode | None, what: str) -> tuple[str, ...]:
        if node is None:
            return ()
        items = node.value if isinstance(node.value, list) else [node]
        return tuple(s for s in (self.text(i, what) for i in items) if s is not None)

    def choice(self, node: YNode | None, what: str, options: Iterable[str], default: str | None) -> str | None:
        value = self.text(node, what, default)
        opts = list(options)
        if node is not None and value is not None and value not in opts:
            close = difflib.get_close_matches(value, opts, n=1, cutoff=0.5)
            self.err(f"{what} {value!r} is not one of {', '.join(opts)}", node.location,
                     f"did you mean {close[0]!r}?" if close else None)
            return default
        return value


# a due date is as_of + due: past a century it is a typo, and far enough out it overflows the date type
MAX_DUE_DAYS = 36_500


def _duration_days(r: _Reader, node: YNode | None) -> int:
    if node is None:
        return 0
    v = node.value
    days: int | None = None
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        days = v
    m = re.fullmatch(r"(\d{1,9})([dw])", str(v)) if isinstance(v, str) else None
    if m:
        days = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
    if days is None:
        r.err(f"due must be a number of days like 7d or 2w, not {v!r}", node.location)
        return 0
    if days > MAX_DUE_DAYS:
        r.err(f"due is {days:,} days; at most {MAX_DUE_DAYS:,} (100 years) is allowed", node.location)
        return 0
    return days


# -- sections ---------------------------------------------------------------------------------


def _values(r: _Reader, node: YNode | None, what: str, at: SourceLocation) -> dict[str, Label]:
    out: dict[str, Label] = {}
    if node is None:
        r.err(f"{what} needs 'values' (the codes it can produce)", at)
        return out
    if not r.mapping(node, f"{what}.values", node.value if isinstance(node.value, dict) else ()):
        return out
    assert isinstance(node.value, dict)
    for code, v in node.value.items():
        if not _CODE.match(code):
            r.err(f"code {code!r} must start with a letter and hold letters, digits or '_'", node.loc_of_key(code))
            continue
        label = r.label(v, f"{what}.values.{code}") if v.value is not None else None
        out[code] = label or Label(zh=code, en=code)
    return out


def _rows(r: _Reader, node: YNode | None, what: str, extra_keys: tuple[str, ...], *, output: str | None = None,
          choices: list[str] | None = None, required: tuple[str, ...] = ("id",)) -> tuple[Row, ...]:
    """Rows with an id, a condition and provenance; ``output`` names the key read into ``Row.then``."""
    rows: list[Row] = []
    seen: dict[str, SourceLocation] = {}
    risks = [x.value for x in RiskLevel]
    for item in r.seq(node, f"{what}.rows"):
        if not r.mapping(item, f"a row of {what}", ("id", "when", "description", "seed", *extra_keys), required):
            continue
        rid = r.ident(item.get("id"), "row id")
        if rid is None:
            continue
        if rid in seen:
            id_node = item.get("id")
            r.errors.append(PolicyReferenceError(
                f"duplicate id {rid!r} in {what}", id_node.location if id_node else item.location,
                f"first defined at line {seen[rid].line}"))
        seen[rid] = item.location
        then = None
        if output is not None:
            then = (r.choice(item.get(output), output, choices, None) if choices is not None
                    else r.text(item.get(output), output))
        rows.append(Row(
            id=rid,
            when=r.expr(item.get("when"), "when"),
            prov=r.prov(item),
            then=then,
            risk=r.choice(item.get("risk"), "risk", risks, None),
            actions=r.names(item.get("do"), "do") if "do" in extra_keys else (),
        ))
    return tuple(rows)


def _table(r: _Reader, node: YNode, name: str, what: str) -> Table | None:
    if not r.mapping(node, what, ("hit", "values", "default", "rows", "label", "description", "seed")):
        return None
    hit = r.choice(node.get("hit"), f"{what}.hit", HIT_POLICIES, "first") or "first"
    return Table(
        name=name, hit=hit, values=_values(r, node.get("values"), what, node.location),
        rows=_rows(r, node.get("rows"), what, ("then",), output="then"), location=node.location,
        default=r.text(node.get("default"), f"{what}.default"), label=r.label(node.get("label"), "label"),
    )


def _churn(r: _Reader, node: YNode) -> Table | None:
    if not r.mapping(node, "churn", ("hit", "default", "rows", "score", "description", "seed")):
        return None
    kinds = [k.value for k in ChurnKind]
    # churn rows give kind: and risk: instead of then:
    rows = _rows(r, node.get("rows"), "churn", ("kind", "risk"), output="kind", choices=kinds,
                 required=("id", "kind", "risk"))
    default_kind, default_risk = "none", "low"
    d = node.get("default")
    if d is not None and r.mapping(d, "churn.default", ("kind", "risk")):
        default_kind = r.choice(d.get("kind"), "kind", kinds, "none") or "none"
        default_risk = r.choice(d.get("risk"), "risk", [x.value for x in RiskLevel], "low") or "low"
    hit = r.choice(node.get("hit"), "churn.hit", HIT_POLICIES, "first") or "first"
    return Table(
        name="churn", hit=hit, values={k: Label(zh=k, en=k) for k in kinds}, rows=rows,
        location=node.location, default=default_kind, default_risk=default_risk,
        score=r.expr(node.get("score"), "score"),
    )


def _stages(r: _Reader, node: YNode) -> Stages | None:
    if not r.mapping(node, "stages", ("states", "start", "otherwise", "transitions", "description", "seed"),
                     ("states", "start")):
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
    for item in r.seq(node.get("transitions"), "stages.transitions"):
        if not r.mapping(item, "a transition", ("id", "from", "to", "when", "description", "seed"),
                         ("id", "from", "to")):
            continue
        tid = r.ident(item.get("id"), "transition id")
        if tid is None:
            continue
        if tid in seen:
            r.errors.append(PolicyReferenceError(f"duplicate transition id {tid!r}", item.location,
                                                 f"first defined at line {seen[tid].line}"))
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
    if not r.mapping(node, "actions", ("catalog", "rules", "description", "seed")):
        return None
    catalog: dict[str, ActionDef] = {}
    cn = node.get("catalog")
    if cn is not None and r.mapping(cn, "actions.catalog", cn.value if isinstance(cn.value, dict) else ()):
        assert isinstance(cn.value, dict)
        for code, item in cn.value.items():
            if not _CODE.match(code):
                r.err(f"action code {code!r} must start with a letter and hold letters, digits or '_'",
                      cn.loc_of_key(code))
                continue
            if not r.mapping(item, f"action {code}", ("title", "owner", "priority", "due", "description", "seed"),
                             ("title", "owner")):
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
    rules = _rows(r, node.get("rules"), "actions", ("do",))
    return Actions(catalog=catalog, rules=rules, location=node.location)


def _metrics(r: _Reader, node: YNode | None) -> tuple[Metric, ...]:
    if node is None:
        return ()
    if not r.mapping(node, "metrics", node.value if isinstance(node.value, dict) else ()):
        return ()
    assert isinstance(node.value, dict)
    out = []
    for name, item in node.value.items():
        if not _CODE.match(name):
            r.err(f"metric name {name!r} must start with a letter and hold letters, digits or '_'",
                  node.loc_of_key(name))
            continue
        if isinstance(item.value, dict):
            if not r.mapping(item, f"metric {name}", ("expr", "label", "description", "seed"), ("expr",)):
                continue
            e = r.expr(item.get("expr"), f"metric {name}")
            if e is not None:
                out.append(Metric(name, e, r.label(item.get("label"), "label"), r.prov(item)))
        else:
            e = r.expr(item, f"metric {name}")
            if e is not None:
                out.append(Metric(name, e, None, Provenance(location=item.location)))
    return tuple(out)


_LINT_CODE = re.compile(r"^AR[0-9]{3}$")


def _lint(r: _Reader, node: YNode | None) -> tuple[LintAllow, ...]:
    """``lint: {allow: [{code: AR401, reason: ..., rule: optional-id}]}``: accepted findings, each with a reason."""
    if node is None or not r.mapping(node, "lint", ("allow",)):
        return ()
    out = []
    for item in r.seq(node.get("allow"), "lint.allow"):
        if not r.mapping(item, "a lint allowance", ("code", "reason", "rule"), ("code", "reason")):
            continue
        code = r.ident(item.get("code"), "lint code", _LINT_CODE)
        reason = r.text(item.get("reason"), "reason")
        if code is None or not reason or not reason.strip():
            if reason is not None and not reason.strip():
                r.err("a lint allowance needs a reason", item.location)
            continue
        out.append(LintAllow(code=code, reason=reason.strip(), location=item.location,
                             rule=r.text(item.get("rule"), "rule")))
    return tuple(out)


def _monotonic(r: _Reader, node: YNode | None) -> tuple[Monotonic, ...]:
    out = []
    for item in r.seq(node, "monotonic"):
        if not r.mapping(item, "a monotonic property", ("field", "direction", "output", "description"),
                         ("field", "output")):
            continue
        out.append(Monotonic(
            field=r.text(item.get("field"), "field") or "",
            direction=r.choice(item.get("direction"), "direction", ("increasing", "decreasing"), "increasing")
            or "increasing",
            output=r.text(item.get("output"), "output") or "",
            location=item.location,
        ))
    return tuple(out)


# -- assembling files -------------------------------------------------------------------------


@dataclasses.dataclass
class _Parts:
    """Top-level YNodes gathered from policy.yaml and its includes."""

    nodes: dict[str, YNode] = dataclasses.field(default_factory=dict)
    files: list[Path] = dataclasses.field(default_factory=list)


def _gather(r: _Reader, path: Path, display_root: Path, files: PolicyFiles) -> _Parts:
    parts = _Parts()
    main = path / "policy.yaml" if files.is_dir(path) else path
    root = main.parent

    def take(file: Path) -> YNode | None:
        node = files.load(file, files.display(file, display_root))
        parts.files.append(file)
        if not r.mapping(node, f"{file.name} (top level)", TOP_KEYS):
            return None
        assert isinstance(node.value, dict)
        for key, value in node.value.items():
            if key in ("include",):
                continue
            if key in parts.nodes and key != "policy":
                first = parts.nodes[key].location
                r.errors.append(PolicyReferenceError(
                    f"{key!r} is defined twice", node.loc_of_key(key), f"first at {first}"))
                continue
            parts.nodes[key] = value
        return node

    top = take(main)
    if top is not None:
        for inc in r.seq(top.get("include"), "include"):
            name = r.text(inc, "include")
            if name is None:
                continue
            bad = path_problem(name)
            if bad is not None:
                r.err(f"include: {bad}", inc.location)
                continue
            target = files.resolve(root / name)
            if files.resolve(root) not in target.parents or not files.is_file(target):
                r.err(f"include {name!r} is not a file inside the policy directory", inc.location)
                continue
            try:
                take(target)
            except PolicyError as e:
                r.errors.extend(e.errors)
    return parts


# path names come from policy text: refuse what the file system would choke on before it sees them
_MAX_NAME = 255
_MAX_PATH = 1024


def path_problem(name: str) -> str | None:
    """Why ``name`` is not a usable relative path for include/extends; None when it is."""
    if not name:
        return "the path is empty"
    if any(ord(c) < 32 or c == "\x7f" for c in name):
        return "the path contains a control character (such as a null byte)"
    if len(name) > _MAX_PATH or any(len(part.encode("utf-8", "surrogatepass")) > _MAX_NAME
                                    for part in name.split("/")):
        return f"the path is too long (at most {_MAX_NAME} bytes a name, {_MAX_PATH} characters in all)"
    if os.path.isabs(name):
        return "the path must be relative to the policy"
    return None


def read_policy(path: str | Path, *, files: PolicyFiles | None = None) -> PolicySpec:
    """Read and shape-check a policy; raise every structural problem together."""
    spec, errors = read_policy_partial(path, files=files)
    raise_collected(errors)
    return spec


def read_policy_partial(path: str | Path, *, files: PolicyFiles | None = None, _depth: int = 0,
                        _display_root: Path | None = None) -> tuple[PolicySpec, list[PolicyError]]:
    """Read a policy, skipping the parts with structural problems and returning those problems.

    The checker then runs over what was readable, so one load reports schema, reference
    and type errors together. ``files`` is where the YAML comes from (default: the disk);
    pass a :class:`PolicyFiles` to record the texts read, or to read recorded texts again.
    """
    files = files if files is not None else PolicyFiles()
    p = Path(path)
    display_root = _display_root or p.parent
    files.confine(display_root)
    r = _Reader()
    parts = _gather(r, p, display_root, files)
    raise_collected(r.errors)
    n = parts.nodes

    base: PolicySpec | None = None
    ext = n.get("extends")
    if ext is not None:
        target_text = r.text(ext, "extends") or ""
        bad = path_problem(target_text)
        if bad is not None:
            raise PolicySchemaError(f"extends: {bad}", ext.location)
        main_dir = p if files.is_dir(p) else p.parent
        target = files.resolve(main_dir / target_text)
        if not files.within_roots(target):
            # refused before reading: a file outside the root never shows its content in an error
            raise PolicySchemaError(
                f"extends {target_text!r} leaves the folders a policy may extend from "
                f"({', '.join(str(x) for x in files.roots)})",
                ext.location,
                "keep the base policy beside this one, or pass allow=[folder] to load_policy",
            )
        if _depth >= MAX_EXTENDS_DEPTH:
            raise PolicySchemaError("extends chain is too long (a cycle?)", ext.location)
        if not files.exists(target):
            raise PolicySchemaError(f"extends {target_text!r}: no such policy", ext.location)
        base, base_errors = read_policy_partial(target, files=files, _depth=_depth + 1, _display_root=display_root)
        r.errors.extend(base_errors)

    meta = n.get("policy")
    name = version = ""
    label: Label | None = None
    description: Label | None = None
    if meta is None:
        r.err("the policy needs a 'policy:' block with name, version and label",
              SourceLocation(str(parts.files[0]) if parts.files else str(p), 1, 1))
    elif r.mapping(meta, "policy", ("name", "version", "label", "description", "currency"),
                   ("name", "version", "label")):
        name = r.ident(meta.get("name"), "policy name") or ""
        version = r.text(meta.get("version"), "policy version") or ""
        label = r.label(meta.get("label"), "policy label")
        description = r.label(meta.get("description"), "policy description")

    params, locations = _params(r, n.get("params"), base)
    fields = dict(base.fields) if base else {}
    fn = n.get("fields")
    if fn is not None and r.mapping(fn, "fields", fn.value if isinstance(fn.value, dict) else ()):
        assert isinstance(fn.value, dict)
        for fname, fnode in fn.value.items():
            ftype = fnode.get("type") if isinstance(fnode.value, dict) else fnode
            if isinstance(fnode.value, dict):
                r.mapping(fnode, f"field {fname}", ("type", "description"), ("type",))
            t = r.choice(ftype, f"type of field {fname}", FIELD_TYPES, None)
            if t is not None:
                fields[fname] = t

    metrics = _merge_named(base.metrics if base else (), _metrics(r, n.get("metrics")), lambda m: m.name)
    segments = dict(base.segments) if base else {}
    sn = n.get("segments")
    if sn is not None and r.mapping(sn, "segments", sn.value if isinstance(sn.value, dict) else ()):
        assert isinstance(sn.value, dict)
        for sname, snode in sn.value.items():
            if not _CODE.match(sname):
                r.err(f"segment name {sname!r} must start with a letter", sn.loc_of_key(sname))
                continue
            seg = _table(r, snode, sname, f"segments.{sname}")
            if seg is not None:
                segments[sname] = seg

    tiers = _table(r, n["tiers"], "tier", "tiers") if "tiers" in n else (base.tiers if base else None)
    stages = _stages(r, n["stages"]) if "stages" in n else (base.stages if base else None)
    churn = _churn(r, n["churn"]) if "churn" in n else (base.churn if base else None)
    actions = _actions(r, n["actions"]) if "actions" in n else None
    if base and base.actions:
        actions = base.actions if actions is None else Actions(
            catalog={**base.actions.catalog, **actions.catalog},
            rules=_merge_named(base.actions.rules, actions.rules, lambda x: x.id),
            location=actions.location,
        )
    monotonic = _monotonic(r, n.get("monotonic")) if "monotonic" in n else (base.monotonic if base else ())
    lint_allow = (*(base.lint_allow if base else ()), *_lint(r, n.get("lint")))
    if label is None or not name or not version:
        raise_collected(r.errors)  # without metadata there is nothing sensible to check further

    sources = [*(base.sources if base else ()), *(str(files.resolve(f)) for f in parts.files)]
    digest = hashlib.sha256()
    for f in sources:
        digest.update(files.data(Path(f)))
    assert label is not None
    spec = PolicySpec(
        name=name, version=version, label=label, description=description, params=params, fields=fields,
        metrics=metrics, segments=segments, tiers=tiers, stages=stages, churn=churn, actions=actions,
        monotonic=monotonic, root=str(files.resolve(p if files.is_dir(p) else p.parent)), sources=tuple(sources),
        content_hash=digest.hexdigest(), locations=locations, lint_allow=lint_allow,
    )
    return spec, r.errors




def _params(r: _Reader, node: YNode | None, base: PolicySpec | None) -> tuple[dict[str, Any], dict[str, Any]]:
    params: dict[str, Any] = dict(base.params) if base else {}
    locations = dict(base.locations) if base else {}
    if node is None:
        return params, locations
    if not r.mapping(node, "params", node.value if isinstance(node.value, dict) else ()):
        return params, locations
    assert isinstance(node.value, dict)
    for key, v in node.value.items():
        if not _CODE.match(key):
            r.err(f"parameter name {key!r} must start with a letter", node.loc_of_key(key))
            continue
        if isinstance(v.value, list | dict) or v.value is None:
            r.err(f"parameter {key!r} must be a number, text, true/false or a date", v.location)
            continue
        if isinstance(v.value, int) and not isinstance(v.value, bool) and abs(v.value) > MAX_NUMBER:
            r.err(f"parameter {key!r} is out of range: whole numbers in policies lie within ±{MAX_NUMBER:,}",
                  v.location)
            continue
        if isinstance(v.value, float) and not math.isfinite(v.value):
            r.err(f"parameter {key!r} is out of range: it must be a finite number", v.location)
            continue
        params[key] = v.value
        locations["params." + key] = v.location
    return params, locations


def _merge_named(base: Iterable[T], own: Iterable[T], key: Callable[[T], str]) -> tuple[T, ...]:
    """Base items in order, replaced in place by own items of the same name; new ones appended."""
    merged = {key(x): x for x in base}
    for x in own:
        merged[key(x)] = x
    return tuple(merged.values())
