"""Read policy YAML (one file, or a directory with includes and ``extends``) into a PolicySpec.

Structure problems are collected, not raised one at a time, so a business owner
sees every unknown key and missing value of a file in one run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from accountrules.check.limits import Budget
from accountrules.check.policy_files import PolicyFiles
from accountrules.check.policy_shapes import FIELD_SPEC, FIELD_TYPES, POLICY_FILE, POLICY_META
from accountrules.check.schema_reader import _CODE, _Reader  # noqa: E402
from accountrules.check.schema_sections import (  # noqa: E402
    _actions,
    _churn,
    _lint,
    _metrics,
    _monotonic,
    _stages,
    _table,
)
from accountrules.check.spec import (
    Actions,
    PolicySpec,
)
from accountrules.errors import (
    PolicyError,
    PolicyReferenceError,
    PolicySchemaError,
    SourceLocation,
    raise_collected,
)
from accountrules.i18n import N_, Message
from accountrules.model.decision import Label
from accountrules.parse.expr_parser import MAX_NUMBER
from accountrules.parse.yaml_source import YNode

T = TypeVar("T")

SECTIONS = ("segments", "tiers", "stages", "churn", "actions")
TOP_KEYS = POLICY_FILE.allowed
MAX_EXTENDS_DEPTH = 8


# -- assembling files -------------------------------------------------------------------------


@dataclasses.dataclass
class _Parts:
    """Top-level YNodes gathered from policy.yaml and its includes."""

    nodes: dict[str, YNode] = dataclasses.field(default_factory=dict)
    files: list[Path] = dataclasses.field(default_factory=list)


def _gather(r: _Reader, path: Path, files: PolicyFiles) -> _Parts:
    parts = _Parts()
    main = path / "policy.yaml" if files.is_dir(path) else path
    root = main.parent

    def take(file: Path) -> YNode | None:
        node = files.load(file, files.display(file))
        parts.files.append(file)
        if not r.mapping(node, f"{file.name} (top level)", TOP_KEYS):
            return None
        assert isinstance(node.value, dict)
        for key, value in node.value.items():
            if key == "include":
                if file != main:  # it would be ignored, and the files it names left unread
                    r.errors.append(PolicySchemaError(
                        Message(N_("'include' is read only in policy.yaml, not in a file it includes")),
                        node.loc_of_key(key), Message(N_("name every file in the include: list of policy.yaml"))))
                continue
            if key in parts.nodes:  # 'policy' too: a section file must not replace the name and version
                first = parts.nodes[key].location
                r.errors.append(PolicyReferenceError(
                    Message(N_("{key!r} is defined twice"),
                            key=key), node.loc_of_key(key), Message(N_("first at {first}"), first=first)))
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
                r.err(Message(N_("include: {bad}"), bad=bad), inc.location)
                continue
            target = files.resolve(root / name)
            if files.resolve(root) not in target.parents or not files.is_file(target):
                r.err(Message(N_("include {name!r} is not a file inside the policy directory"),
                              name=name), inc.location)
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
        return Message(N_("the path is empty"))
    if any(ord(c) < 32 or c == "\x7f" for c in name):
        return Message(N_("the path contains a control character (such as a null byte)"))
    if len(name) > _MAX_PATH or any(len(part.encode("utf-8", "surrogatepass")) > _MAX_NAME
                                    for part in name.split("/")):
        return Message(N_("the path is too long (at most {most_name} bytes a name, {most_path} characters in all)"),
                       most_name=_MAX_NAME, most_path=_MAX_PATH)
    if os.path.isabs(name):
        return Message(N_("the path must be relative to the policy"))
    return None


def read_policy(path: str | Path, *, files: PolicyFiles | None = None) -> PolicySpec:
    """Read and shape-check a policy; raise every structural problem together."""
    spec, errors = read_policy_partial(path, files=files)
    raise_collected(errors)
    return spec


def read_policy_partial(path: str | Path, *, files: PolicyFiles | None = None, budget: Budget | None = None,
                        _depth: int = 0, _root: Path | None = None) -> tuple[PolicySpec, list[PolicyError]]:
    """Read a policy, skipping the parts with structural problems and returning those problems.

    The checker then runs over what was readable, so one load reports schema, reference
    and type errors together. ``files`` is where the YAML comes from (default: the disk);
    pass a :class:`PolicyFiles` to record the texts read, or to read recorded texts again.
    ``budget`` counts what is read against :class:`~accountrules.check.limits.LoadLimits`
    (default: the default limits), over the whole ``extends:`` chain.
    """
    files = files if files is not None else PolicyFiles()
    budget = budget if budget is not None else Budget()
    p = Path(path)
    root = _root or p.parent
    files.confine(root)
    r = _Reader(budget)
    parts = _gather(r, p, files)
    raise_collected(r.errors)
    n = parts.nodes

    base: PolicySpec | None = None
    ext = n.get("extends")
    if ext is not None:
        target_text = r.text(ext, "extends") or ""
        bad = path_problem(target_text)
        if bad is not None:
            raise PolicySchemaError(Message(N_("extends: {bad}"), bad=bad), ext.location)
        main_dir = p if files.is_dir(p) else p.parent
        target = files.resolve(main_dir / target_text)
        if not files.within_roots(target):
            # refused before reading: a file outside the root never shows its content in an error
            raise PolicySchemaError(
                Message(N_("extends {target_text!r} leaves the folders a policy may extend from ({roots})"),
                        target_text=target_text, roots=', '.join(str(x) for x in files.roots)),
                ext.location,
                Message(N_("keep the base policy beside this one, or pass allow=[folder] to load_policy")),
            )
        if _depth >= MAX_EXTENDS_DEPTH:
            raise PolicySchemaError(Message(N_("extends chain is too long (a cycle?)")), ext.location)
        if not files.exists(target):
            raise PolicySchemaError(Message(N_("extends {target_text!r}: no such policy"),
                                            target_text=target_text), ext.location)
        base, base_errors = read_policy_partial(target, files=files, budget=budget, _depth=_depth + 1,
                                                 _root=root)
        r.errors.extend(base_errors)

    meta = n.get("policy")
    name = version = ""
    label: Label | None = None
    description: Label | None = None
    if meta is None:
        r.err(Message(N_("the policy needs a 'policy:' block with name, version and label")),
              SourceLocation(str(parts.files[0]) if parts.files else str(p), 1, 1))
    elif r.keys(meta, "policy", POLICY_META):
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
                r.keys(fnode, f"field {fname}", FIELD_SPEC)
            t = r.choice(ftype, f"type of field {fname}", FIELD_TYPES, None)
            if t is not None:
                fields[fname] = t

    metrics = _merge_named(base.metrics if base else (), _metrics(r, n.get("metrics")), lambda m: m.name)
    segments = dict(base.segments) if base else {}
    sn = n.get("segments")
    if sn is not None and r.mapping(sn, "segments", sn.value if isinstance(sn.value, dict) else ()):
        assert isinstance(sn.value, dict)
        for sname, snode in sn.value.items():
            if not _CODE.fullmatch(sname):
                r.err(Message(N_("segment name {sname!r} must start with a letter"), sname=sname), sn.loc_of_key(sname))
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
    lint_allow = (*(dataclasses.replace(a, inherited=True) for a in (base.lint_allow if base else ())),
                  *_lint(r, n.get("lint")))
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
        refused=frozenset(r.refused) | (base.refused if base else frozenset()),
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
        if not _CODE.fullmatch(key):
            r.err(Message(N_("parameter name {key!r} must start with a letter"), key=key), node.loc_of_key(key))
            continue
        r.refused.add("params." + key)  # until its value is taken below
        if isinstance(v.value, list | dict) or v.value is None:
            r.err(Message(N_("parameter {key!r} must be a number, text, true/false or a date"), key=key), v.location)
            continue
        if isinstance(v.value, int) and not isinstance(v.value, bool) and abs(v.value) > MAX_NUMBER:
            r.err(Message(N_("parameter {key!r} is out of range: whole numbers in policies lie within ±{max_number:,}"),
                          key=key, max_number=MAX_NUMBER),
                  v.location)
            continue
        if isinstance(v.value, float) and not math.isfinite(v.value):
            r.err(Message(N_("parameter {key!r} is out of range: it must be a finite number"), key=key), v.location)
            continue
        params[key] = v.value
        locations["params." + key] = v.location
        r.refused.discard("params." + key)
    return params, locations


def _merge_named(base: Iterable[T], own: Iterable[T], key: Callable[[T], str]) -> tuple[T, ...]:
    """Base items in order, replaced in place by own items of the same name; new ones appended."""
    merged = {key(x): x for x in base}
    for x in own:
        merged[key(x)] = x
    return tuple(merged.values())
