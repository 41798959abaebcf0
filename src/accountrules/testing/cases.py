"""Policy test cases: ``<policy>/tests/*.yaml`` read into checked :class:`PolicyCase` objects.

A case file (see the end of ``docs/policy-language.md``)::

    portfolio: [...]          # optional accounts every case of the file is decided among
    as_of: 2026-06-30         # optional default decision date
    cases:
      - name: ...
        seed: [T1]            # optional concept ids
        description: ...      # optional, text or {zh, en}
        as_of: 2026-06-30     # optional
        given: {id: A1, ...}  # an Account
        expect: {tier, segments, stage, churn, actions, fired}   # any subset

Everything is checked against the policy when the file is read: unknown keys, a
``given`` that is not a valid account, and expectations naming a tier, segment,
stage, transition, action or rule id the policy does not have are reported together
(as :class:`~accountrules.errors.PolicyErrors`) with file, line and column.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from accountrules.check.shapes import check_mapping
from accountrules.errors import (
    AccountValidationError,
    PolicyError,
    PolicyReferenceError,
    PolicySchemaError,
    SourceLocation,
    did_you_mean,
    raise_collected,
)
from accountrules.evaluate.accounts import env_of, error_message
from accountrules.i18n import N_, Message
from accountrules.model.account import Account
from accountrules.model.decision import Label
from accountrules.model.enums import ChurnKind, RiskLevel
from accountrules.parse.yaml_source import YNode, load_yaml_file
from accountrules.parse.ynode import SpelledNumber
from accountrules.testing.case_fired import fired_problems, rule_places
from accountrules.testing.case_model import CaseAccountError, CaseFile, Expectation, ExpectedValue, PolicyCase
from accountrules.testing.case_shapes import CASE, CASE_FILE, EXPECT, EXPECT_ACTIONS, EXPECT_CHURN, EXPECT_STAGE

if TYPE_CHECKING:
    from accountrules.policy import Policy

__all__ = [
    "CASE_FILE_KEYS",
    "CASE_KEYS",
    "EXPECT_KEYS",
    "CaseAccountError",
    "CaseFile",
    "Expectation",
    "ExpectedValue",
    "PolicyCase",
    "default_case_paths",
    "is_case_file",
    "load_case_file",
    "parse_case_file",
]

# the keys come from the declared shapes, which the JSON Schema of case files is generated from
CASE_FILE_KEYS = CASE_FILE.allowed
CASE_KEYS = CASE.allowed
EXPECT_KEYS = EXPECT.allowed
_STAGE_KEYS = EXPECT_STAGE.allowed
_CHURN_KEYS = EXPECT_CHURN.allowed
_ACTION_KEYS = EXPECT_ACTIONS.allowed

def is_case_file(node: YNode) -> bool:
    """A YAML document is a case file when it is a mapping with a ``cases:`` key."""
    return isinstance(node.value, dict) and "cases" in node.value


def default_case_paths(policy_path: str | Path) -> list[Path]:
    """``POLICY/tests/*.yaml`` (and ``*.yml``); for a single-file policy, the tests beside it."""
    p = Path(policy_path)
    base = p if p.is_dir() else p.parent
    tests = base / "tests"
    if not tests.is_dir():
        return []
    return sorted([*tests.glob("*.yaml"), *tests.glob("*.yml")])


def load_case_file(path: str | Path, policy: Policy, *, display_name: str | None = None) -> CaseFile:
    """Read and check one case file against ``policy``; raise every problem of the file together."""
    node = load_yaml_file(path, display_name=display_name)
    if not is_case_file(node):
        raise PolicySchemaError(Message(N_("this is not a test-case file: it has no top-level 'cases:' list")),
                                node.location, Message(N_("see 'Test cases' at the end of docs/policy-language.md")))
    return parse_case_file(node, policy)


def parse_case_file(node: YNode, policy: Policy) -> CaseFile:
    """Check a parsed case file (see :func:`is_case_file`) against ``policy``."""
    r = _CaseReader(policy)
    return r.file(node)


# -- reading --------------------------------------------------------------------------------------


def _hint(word: str, options: Iterable[str]) -> str | None:
    opts = list(options)
    close = difflib.get_close_matches(word, opts, n=1, cutoff=0.5)
    if close:
        return did_you_mean(close[0])
    if opts and len(opts) <= 12:
        return Message(N_("one of: {names}"), names=", ".join(opts))
    return None


def _descend(node: YNode, path: Sequence[str | int], key_at_end: bool) -> SourceLocation:
    """The location of ``path`` inside ``node``; the deepest existing part when it is missing."""
    current = node
    for i, step in enumerate(path):
        last = i == len(path) - 1
        if isinstance(current.value, dict) and isinstance(step, str) and step in current.value:
            if last and key_at_end:
                return current.loc_of_key(step)
            current = current.value[step]
        elif isinstance(current.value, list) and isinstance(step, int) and 0 <= step < len(current.value):
            current = current.value[step]
        else:
            break
    return current.location


class _CaseReader:
    def __init__(self, policy: Policy):
        self.policy = policy
        self.spec = policy.spec
        self.errors: list[PolicyError] = []
        self.rule_places = rule_places(self.spec)

    # -- generic shapes
    def err(self, message: str, loc: SourceLocation, hint: str | None = None) -> None:
        self.errors.append(PolicySchemaError(message, loc, hint))

    def ref_err(self, message: str, loc: SourceLocation, hint: str | None = None) -> None:
        self.errors.append(PolicyReferenceError(message, loc, hint))

    def mapping(self, node: YNode, what: str, allowed: Sequence[str], required: Sequence[str] = ()) -> bool:
        return check_mapping(node, what, allowed, required, self.errors)

    def text(self, node: YNode | None, what: str) -> str | None:
        if node is None:
            return None
        if isinstance(node.value, bool | list | dict) or node.value is None:
            self.err(Message(N_("{what} must be text"), what=what), node.location)
            return None
        return node.spelling if isinstance(node, SpelledNumber) else str(node.value)  # name: 1.10 is '1.10'

    def codes(self, node: YNode | None, what: str) -> tuple[str, ...] | None:
        if node is None:
            return None
        items = node.value if isinstance(node.value, list) else None
        if items is None:
            self.err(Message(N_("{what} must be a list"), what=what), node.location,
                     Message(N_("write it as [a, b] or as lines starting with '- '")))
            return None
        out = []
        for item in items:
            t = self.text(item, Message(N_("an entry of {what}"), what=what))
            if t is not None:
                out.append(t)
        return tuple(out)

    def date(self, node: YNode | None, what: str) -> dt.date | None:
        if node is None:
            return None
        v = node.value
        if isinstance(v, dt.date):
            return v
        if isinstance(v, str):
            try:
                return dt.date.fromisoformat(v)
            except ValueError:
                pass
        self.err(Message(N_("{what} must be a date (YYYY-MM-DD)"), what=what), node.location)
        return None

    def label(self, node: YNode | None) -> Label | None:
        if node is None:
            return None
        if isinstance(node.value, str):
            return Label(zh=node.value, en=node.value)
        if not self.mapping(node, "description", ("zh", "en"), ("zh", "en")):
            return None
        zh, en = self.text(node.get("zh"), "description.zh"), self.text(node.get("en"), "description.en")
        return Label(zh=zh, en=en) if zh is not None and en is not None else None

    # -- accounts
    def account(self, node: YNode, what: str) -> Account | None:
        if not isinstance(node.value, dict):
            self.errors.append(CaseAccountError(Message(N_("{what} must be an account (a mapping with at least 'id')"),
                                                        what=what),
                                                node.location))
            return None
        data = node.plain()
        try:
            acc = Account.model_validate(data)
        except ValidationError as e:
            for err in e.errors():
                steps = tuple(err["loc"])
                path = ".".join(str(p) for p in steps) or "(account)"
                where = _descend(node, steps, key_at_end=err["type"] == "extra_forbidden")
                hint = _field_hint(steps) if err["type"] == "extra_forbidden" and steps else None
                self.errors.append(CaseAccountError(Message(N_("{what} is not a valid account: {path}: {msg}"),
                                                            what=what, path=path, msg=error_message(err)),
                                                    where, hint, problems=[(path, err["msg"])]))
            return None
        declared = self.spec.fields
        extra = node.get("extra")
        for name in acc.extra:
            if name not in declared:
                self.errors.append(CaseAccountError(
                    Message(N_("{what}: extra.{name} is not a field the policy declares under 'fields:'"),
                            what=what, name=name),
                    extra.loc_of_key(name) if extra is not None else node.location,
                    _hint(name, declared) or Message(N_("declare it under 'fields:' in the policy")),
                    problems=[(f"extra.{name}", "not declared")]))
        try:
            env_of(acc, self.policy.plan.extra_fields)
        except AccountValidationError as e:
            for field, msg in e.problems:
                where = _descend(node, field.split("."), key_at_end=False)
                self.errors.append(CaseAccountError(Message(N_("{what} is not a valid account: {field}: {msg}"),
                                                            what=what, field=field, msg=msg), where,
                                                    problems=[(field, msg)]))
            return None
        return acc

    # -- the file
    def file(self, node: YNode) -> CaseFile:
        path = node.location.file
        portfolio: list[Account] = []
        as_of: dt.date | None = None
        cases: list[PolicyCase] = []
        if self.mapping(node, Message(N_("a test-case file")), CASE_FILE_KEYS, CASE_FILE.required):
            ids: dict[str, SourceLocation] = {}
            pnode = node.get("portfolio")
            if pnode is not None and not isinstance(pnode.value, list):
                self.err(Message(N_("portfolio must be a list of accounts")), pnode.location)
            elif pnode is not None:
                assert isinstance(pnode.value, list)
                for i, item in enumerate(pnode.value):
                    acc = self.account(item, Message(N_("portfolio account {number}"), number=i + 1))
                    if acc is None:
                        continue
                    if acc.id in ids:
                        self.ref_err(Message(N_("portfolio account id {id!r} is used twice"), id=acc.id),
                                     item.location, Message(N_("first at {where}"), where=ids[acc.id]))
                        continue
                    ids[acc.id] = item.location
                    portfolio.append(acc)
            as_of = self.date(node.get("as_of"), "as_of")
            cnode = node.get("cases")
            assert cnode is not None
            if not isinstance(cnode.value, list):
                self.err(Message(N_("cases must be a list")), cnode.location,
                                    Message(N_("start each case with '- name: ...'")))
            else:
                names: dict[str, SourceLocation] = {}
                for item in cnode.value:
                    case = self.case(item, path, tuple(portfolio), as_of, ids)
                    if case is None:
                        continue
                    if case.name in names:
                        self.ref_err(Message(N_("case name {name!r} is used twice in this file"), name=case.name),
                                     case.location,
                                     Message(N_("first at {where}; names identify cases in reports"),
                                             where=names[case.name]))
                        continue
                    names[case.name] = case.location
                    cases.append(case)
        raise_collected(self.errors)
        return CaseFile(path=path, portfolio=tuple(portfolio), as_of=as_of, cases=tuple(cases))

    def case(self, node: YNode, path: str, portfolio: tuple[Account, ...], file_as_of: dt.date | None,
             portfolio_ids: Mapping[str, SourceLocation]) -> PolicyCase | None:
        if not self.mapping(node, Message(N_("a case")), CASE_KEYS, CASE.required):
            return None
        before = len(self.errors)
        name = self.text(node.get("name"), Message(N_("case name")))
        label = Message(N_("case {name!r}"), name=name) if name else Message(N_("case"))
        seed: tuple[str, ...] = ()
        snode = node.get("seed")
        if snode is not None and isinstance(snode.value, list):
            seed = self.codes(snode, "seed") or ()
        elif snode is not None:
            one = self.text(snode, "seed")
            seed = (one,) if one is not None else ()
        description = self.label(node.get("description"))
        as_of = self.date(node.get("as_of"), "as_of")
        gnode = node.get("given")
        assert gnode is not None
        given = self.account(gnode, Message(N_("{case}: given"), case=label))
        if given is not None and given.id in portfolio_ids:
            self.ref_err(Message(N_("{case}: given account id {id!r} is also a portfolio account"),
                                 case=label, id=given.id),
                         _descend(gnode, ["id"], key_at_end=False),
                         Message(N_("portfolio account at {where}; give the case account its own id"),
                                 where=portfolio_ids[given.id]))
        enode = node.get("expect")
        expectations = self.expect(enode) if enode is not None else ()
        if name is None or given is None or len(self.errors) > before:
            return None
        return PolicyCase(name=name, file=path, location=node.location, given=given, portfolio=portfolio,
                          as_of=as_of or file_as_of, expectations=tuple(expectations), seed=seed,
                          description=description)

    # -- expectations
    def expect(self, node: YNode) -> list[Expectation]:
        if node.value is None:
            return []
        if not self.mapping(node, "expect", EXPECT_KEYS):
            return []
        out: list[Expectation] = []
        spec = self.spec
        v = node.get("tier")
        if v is not None:
            if spec.tiers is None:
                self.ref_err(Message(N_("expect.tier: the policy has no tiers")), node.loc_of_key("tier"))
            else:
                code = self.code_or_null(v, "tier", list(spec.tiers.values))
                if code is not False:
                    out.append(Expectation("tier", code, v.location))
        v = node.get("segments")
        if v is not None and not isinstance(v.value, dict):
            self.err(Message(N_("expect.segments must be a mapping of segment name to code")), v.location)
        elif v is not None:
            assert isinstance(v.value, dict)
            for seg, cnode in v.value.items():
                if seg not in spec.segments:
                    self.ref_err(Message(N_("expect.segments: the policy has no segment {name!r}"), name=seg),
                                 v.loc_of_key(seg),
                                 _hint(seg, spec.segments))
                    continue
                code = self.code_or_null(cnode, Message(N_("segment {name}"), name=seg),
                                         list(spec.segments[seg].values))
                if code is not False:
                    out.append(Expectation("segments." + seg, code, cnode.location))
        v = node.get("stage")
        if v is not None:
            out.extend(self.stage(v, node.loc_of_key("stage")))
        v = node.get("churn")
        if v is not None:
            out.extend(self.churn(v, node.loc_of_key("churn")))
        v = node.get("actions")
        if v is not None:
            out.extend(self.actions(v, node.loc_of_key("actions")))
        v = node.get("fired")
        if v is not None:
            ids = self.codes(v, "expect.fired")
            if ids is not None:
                problems = fired_problems(ids, v.value if isinstance(v.value, list) else [], self.rule_places, _hint)
                self.errors.extend(problems)
                if not problems:
                    out.append(Expectation("fired", ids, v.location))
        return out

    def code_or_null(self, node: YNode, what: str, values: Sequence[str]) -> str | None | bool:
        """The code (or None for 'no value'); False when it is wrong (an error was recorded)."""
        if node.value is None:
            return None
        code = self.text(node, Message(N_("expected {what}"), what=what))
        if code is None:
            return False
        if code not in values:
            self.ref_err(Message(N_("expected {what} {code!r} is not one of its values"), what=what, code=code),
                         node.location,
                         _hint(code, values))
            return False
        return code

    def stage(self, node: YNode, key_loc: SourceLocation) -> list[Expectation]:
        st = self.spec.stages
        if st is None:
            self.ref_err(Message(N_("expect.stage: the policy has no stages")), key_loc)
            return []
        states = list(st.states)
        if node.value is None:
            self.err(Message(N_("expect.stage cannot be null: every decision has a stage")), node.location)
            return []
        if not isinstance(node.value, dict):
            code = self.code_or_null(node, "stage", states)
            return [] if not isinstance(code, str) else [Expectation("stage", code, node.location)]
        if not self.mapping(node, "expect.stage", _STAGE_KEYS):
            return []
        out: list[Expectation] = []
        to = node.get("to")
        if to is not None:
            code = self.code_or_null(to, "stage", states)
            if code is not False and code is not None:
                out.append(Expectation("stage", code, to.location))
            elif code is None:
                self.err(Message(N_("expect.stage.to cannot be null: every decision has a stage")), to.location)
        frm = node.get("from")
        if frm is not None:
            code = self.code_or_null(frm, "stage.from", states)
            if code is not False:
                out.append(Expectation("stage.from", code, frm.location))
        tr = node.get("transition")
        if tr is not None:
            ids = [t.id for t in st.transitions]
            code = self.code_or_null(tr, "stage.transition", ids)
            if code is not False:
                out.append(Expectation("stage.transition", code, tr.location))
        return out

    def churn(self, node: YNode, key_loc: SourceLocation) -> list[Expectation]:
        if self.spec.churn is None:
            self.ref_err(Message(N_("expect.churn: the policy has no churn section")), key_loc)
            return []
        if not self.mapping(node, "expect.churn", _CHURN_KEYS):
            return []
        out: list[Expectation] = []
        kind = node.get("kind")
        if kind is not None:
            code = self.code_or_null(kind, "churn.kind", [k.value for k in ChurnKind])
            if code is not False:
                out.append(Expectation("churn.kind", code, kind.location))
        risk = node.get("risk")
        if risk is not None:
            code = self.code_or_null(risk, "churn.risk", [k.value for k in RiskLevel])
            if code is not False:
                out.append(Expectation("churn.risk", code, risk.location))
        score = node.get("score")
        if score is not None:
            sv = score.value
            if sv is None:
                out.append(Expectation("churn.score", None, score.location))
            elif isinstance(sv, int | float) and not isinstance(sv, bool) and self.spec.churn.score is None:
                # no decision of this policy has a score: the case would only fail when run, comparing with null
                self.ref_err(Message(N_("expect.churn.score: the churn section defines no 'score:'")), score.location)
            elif isinstance(sv, int | float) and not isinstance(sv, bool):
                out.append(Expectation("churn.score", float(sv), score.location))
            else:
                self.err(Message(N_("expect.churn.score must be a number (compared approximately) or null")),
                         score.location)
        return out

    def actions(self, node: YNode, key_loc: SourceLocation) -> list[Expectation]:
        acts = self.spec.actions
        if acts is None:
            self.ref_err(Message(N_("expect.actions: the policy has no actions")), key_loc)
            return []
        catalog = list(acts.catalog)

        def checked(n: YNode, key: str) -> Expectation | None:
            codes = self.codes(n, f"expect.{key}")
            if codes is None:
                return None
            items = n.value if isinstance(n.value, list) else []
            ok = True
            for code, item in zip(codes, items, strict=False):
                if code not in acts.catalog:
                    ok = False
                    self.ref_err(Message(N_("expect.{key}: the policy has no action {code!r}"), key=key, code=code),
                                 item.location,
                                 _hint(code, catalog))
            return Expectation(key, codes, n.location) if ok else None

        if isinstance(node.value, list):
            e = checked(node, "actions")
            return [e] if e is not None else []
        if not self.mapping(node, "expect.actions", _ACTION_KEYS):
            return []
        out = []
        for key in _ACTION_KEYS:
            sub = node.get(key)
            if sub is not None:
                e = checked(sub, "actions." + key)
                if e is not None:
                    out.append(e)
        return out


def _field_hint(loc: tuple[Any, ...]) -> str | None:
    from accountrules.model.fields import FIELDS

    path = ".".join(str(p) for p in loc if isinstance(p, str))
    group = path.rsplit(".", 1)[0] if "." in path else ""
    options = [p for p in FIELDS if (p.rsplit(".", 1)[0] if "." in p else "") == group]
    if not group:
        options = sorted({p.split(".", 1)[0] for p in FIELDS} | {"id", "name", "contacts", "extra"})
        return _hint(path, options)
    close = difflib.get_close_matches(path, options, n=1, cutoff=0.6)
    return did_you_mean(close[0]) if close else None
