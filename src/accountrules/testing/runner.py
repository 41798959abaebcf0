"""Run policy test cases on every available evaluator, and measure rule coverage.

:func:`run_case` decides one case (its account among the file's portfolio plus
itself, through ``decide_many`` with the evaluator named) and compares the decision
with the case's expectations; :func:`run_cases` does that for many cases and
evaluators and adds :class:`Coverage`, per evaluator and over all of them: which
rows, transitions and action rules (as listed by
:func:`accountrules.check.policy_check.all_rows`) decided at least one case.

Evaluator names are those of :mod:`accountrules.evaluate.registry`, plus ``all``
(every evaluator available here: compiled, durable when durable_rules imports and can
run the policy, vector when numpy imports) and ``both`` (compiled and durable).

Nothing here prints; :func:`format_result` and :func:`format_coverage` return text
for the CLI and the pytest plugin.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from accountrules.check.policy_check import all_rows
from accountrules.errors import DecisionError, PolicyLimitError, SourceLocation, refusal_reason
from accountrules.evaluate import registry
from accountrules.i18n import N_, Message, gettext_for, plural_of, translated
from accountrules.model.account import Account
from accountrules.model.decision import Decision
from accountrules.testing.cases import CaseFile, Expectation, ExpectedValue, PolicyCase

if TYPE_CHECKING:
    from accountrules.policy import Policy

__all__ = [
    "TEST_ENGINES",
    "CaseResult",
    "Coverage",
    "CoverageItem",
    "Mismatch",
    "RunReport",
    "SectionCoverage",
    "Status",
    "actual_value",
    "coverage_of",
    "decide_among",
    "decide_case",
    "default_engines",
    "durable_available",
    "format_coverage",
    "format_location",
    "format_result",
    "load_policy_for",
    "run_case",
    "run_cases",
    "summary_line",
    "vector_available",
]

Status = Literal["PASS", "FAIL", "ERROR"]
SCORE_REL_TOL = 1e-6
SCORE_ABS_TOL = 1e-9


TEST_ENGINES = (*registry.ENGINES, "all", "both")
"""What ``--engine`` of ``accountrules test`` and ``--accountrules-engine`` accept."""


def durable_available() -> bool:
    """True when the durable evaluator (``accountrules.evaluate.durable`` + durable_rules) can be imported."""
    return registry.available("durable")


def vector_available() -> bool:
    """True when the vector evaluator (``accountrules.evaluate.vector`` + numpy) can be imported."""
    return registry.available("vector")


def default_engines() -> tuple[str, ...]:
    """Every evaluator available here, compiled first."""
    optional = {"durable": durable_available, "vector": vector_available}
    return tuple(e for e in registry.EVALUATORS if e not in optional or optional[e]())


def load_policy_for(path: str | Path, engine: str | None = None) -> tuple[Policy, tuple[str, ...], str]:
    """Load a policy to run on ``engine`` (a name of :data:`TEST_ENGINES`; None is ``all``).
    Returns the policy, the evaluators to run, in :data:`~accountrules.evaluate.registry.EVALUATORS`
    order, and a note on why fewer run than ``all`` would (empty when there is nothing to say).

    With ``all``, an evaluator that is not installed, or durable on a policy past durable_rules'
    limits, is left out and the note says why; naming an evaluator raises
    :class:`~accountrules.errors.EngineUnavailableError` or
    :class:`~accountrules.errors.PolicyLimitError` instead. An unknown name raises
    :class:`~accountrules.errors.UnknownEngineError`.
    """
    from accountrules.policy import load_policy

    choice = "all" if engine is None else registry.check_engine(engine, TEST_ENGINES)
    if choice != "all":
        wanted = ("compiled", "durable") if choice == "both" else (choice,)
        optional = {"durable": durable_available, "vector": vector_available}
        for e in wanted:
            if e in optional and not optional[e]():
                raise registry.unavailable_error(e)
        policy = load_policy(path, engine="durable" if "durable" in wanted else "compiled")
        ran = tuple(policy.evaluators.prepare(e, batch=True) for e in wanted)
        return policy, tuple(e for e in registry.EVALUATORS if e in ran), ""
    notes: list[str] = []
    engines = ["compiled"]
    if not durable_available():
        policy = load_policy(path)
        notes.append("durable is not available here")
    else:
        try:
            policy = load_policy(path, engine="durable")
            engines.append("durable")
        except PolicyLimitError as e:
            policy = load_policy(path)
            notes.append(f"durable cannot run this policy ({e.message})")
    if vector_available():
        engines.append("vector")
    else:
        notes.append("vector is not available here: pip install 'accountrules[vector]'")
    note = "; ".join(notes)
    if note and engines == ["compiled"]:
        note += ", so only the compiled engine runs"
    return policy, tuple(engines), note


# -- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """An expectation the decision did not meet (``actual`` is what was decided, as shown)."""

    key: str
    expected: str
    actual: str
    location: SourceLocation | None = None

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.key}: expected {self.expected}, got {self.actual}"


@dataclass(frozen=True)
class CaseResult:
    case: PolicyCase
    engine: str
    status: Status
    mismatches: tuple[Mismatch, ...] = ()
    decision: Decision | None = None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "PASS"


def _show(v: ExpectedValue) -> str:
    if v is None:
        return Message(N_("(none)"))  # words, translated where the mismatch is shown
    if isinstance(v, tuple):
        return "[" + ", ".join(v) + "]"
    if isinstance(v, float):
        return f"{v:.6g}"
    return v


def actual_value(decision: Decision, key: str) -> ExpectedValue:
    """What ``decision`` holds for an expectation key (see :class:`.cases.Expectation`)."""
    if key == "tier":
        return decision.tier.code if decision.tier else None
    if key.startswith("segments."):
        seg = decision.segments.get(key[9:])
        return seg.code if seg else None
    if key.startswith("stage"):
        s = decision.stage
        if s is None:
            return None
        if key == "stage":
            return s.to.value
        if key == "stage.from":
            return s.from_.value if s.from_ is not None else None
        return s.transition
    if key.startswith("churn."):
        c = decision.churn
        if c is None:
            return None
        if key == "churn.kind":
            return c.kind.value
        if key == "churn.risk":
            return c.risk.value
        return c.score
    if key.startswith("actions"):
        return tuple(decision.action_codes())
    if key == "fired":
        return tuple(t.rule for t in decision.trace if t.note == "matched")
    raise ValueError(f"unknown expectation key {key!r}")


def _check(e: Expectation, decision: Decision) -> Mismatch | None:
    actual = actual_value(decision, e.key)
    expected = e.value
    ok: bool
    shown_expected = _show(expected)
    if e.key == "churn.score":
        if expected is None or actual is None:
            ok = expected is None and actual is None
        else:
            assert isinstance(expected, float) and isinstance(actual, float | int)
            ok = math.isclose(actual, expected, rel_tol=SCORE_REL_TOL, abs_tol=SCORE_ABS_TOL)
            shown_expected = Message("≈ {value}", value=shown_expected)
    elif e.key == "actions":
        assert isinstance(expected, tuple) and isinstance(actual, tuple)
        ok = set(expected) == set(actual)
        shown_expected = Message(N_("exactly {values}"), values=shown_expected)
    elif e.key == "actions.include":
        assert isinstance(expected, tuple) and isinstance(actual, tuple)
        missing = [c for c in expected if c not in actual]
        ok = not missing
        if missing:
            return Mismatch(e.key, Message(N_("{values} among the actions"), values=_show(expected)),
                            Message(N_("{values} (missing {missing})"), values=_show(actual),
                                    missing=", ".join(missing)), e.location)
    elif e.key == "actions.exclude":
        assert isinstance(expected, tuple) and isinstance(actual, tuple)
        present = [c for c in expected if c in actual]
        ok = not present
        if present:
            return Mismatch(e.key, Message(N_("none of {values}"), values=_show(expected)),
                            Message(N_("{values} (includes {present})"), values=_show(actual),
                                    present=", ".join(present)), e.location)
    elif e.key == "fired":
        assert isinstance(expected, tuple) and isinstance(actual, tuple)
        missing = [r for r in expected if r not in actual]
        ok = not missing
        if missing:
            return Mismatch(e.key, Message(N_("{values} in the trace"), values=_show(expected)),
                            Message(N_("rules {values} decided (missing {missing})"), values=_show(actual),
                                    missing=", ".join(missing)), e.location)
    else:
        ok = expected == actual
    return None if ok else Mismatch(e.key, shown_expected, _show(actual), e.location)


def decide_among(policy: Policy, accounts: Sequence[Account | Mapping[str, Any]], *, as_of: dt.date | None,
                 engine: str = "compiled") -> list[Decision | str]:
    """``decide_many`` over ``accounts``: per account its Decision, or the message of why it could
    not be decided (a row error, e.g. a ``unique`` table matching twice): a refusal's own message
    (``account 'X': <reason>``, a catalogue message), else the row error as text."""
    items = policy.decide_many(accounts, as_of=as_of, engine=engine)
    return [it if isinstance(it, Decision) else it.message if it.field is None else str(it) for it in items]


def decide_case(policy: Policy, case: PolicyCase, engine: str = "compiled") -> Decision:
    """The case account's decision, deciding it among the case file's portfolio plus itself
    (as ``decide_many`` does). Raises :class:`DecisionError` when it cannot be decided."""
    item = decide_among(policy, [*case.portfolio, case.given], as_of=case.as_of, engine=engine)[-1]
    if isinstance(item, str):
        raise DecisionError(refusal_reason(item), case.given.id)
    return item


def run_case(policy: Policy, case: PolicyCase, engine: str = "compiled") -> CaseResult:
    """Decide one case and compare. Errors while deciding give an ``ERROR`` result, never an exception."""
    try:
        decision = decide_case(policy, case, engine)
    except Exception as e:  # a test runner reports every failure as a result, as pytest does
        # a refusal keeps its catalogue message, so the report says it in the reader's language
        said = e.args[0] if isinstance(e, DecisionError) else str(e)
        return CaseResult(case, engine, "ERROR", error=Message("{kind}: {error}", kind=type(e).__name__, error=said))
    mismatches = tuple(m for e in case.expectations if (m := _check(e, decision)) is not None)
    return CaseResult(case, engine, "FAIL" if mismatches else "PASS", mismatches, decision)


# -- coverage -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageItem:
    section: str
    id: str
    location: SourceLocation | None


@dataclass(frozen=True)
class SectionCoverage:
    section: str
    total: int
    covered: int
    uncovered: tuple[CoverageItem, ...]

    @property
    def percent(self) -> float:
        return 100.0 if self.total == 0 else 100.0 * self.covered / self.total


@dataclass(frozen=True)
class Coverage:
    sections: tuple[SectionCoverage, ...]

    @property
    def total(self) -> int:
        return sum(s.total for s in self.sections)

    @property
    def covered(self) -> int:
        return sum(s.covered for s in self.sections)

    @property
    def percent(self) -> float:
        return 100.0 if self.total == 0 else 100.0 * self.covered / self.total

    @property
    def uncovered(self) -> tuple[CoverageItem, ...]:
        return tuple(i for s in self.sections for i in s.uncovered)


def coverage_of(policy: Policy, decisions: Iterable[Decision]) -> Coverage:
    """Which rows/transitions/action rules decided at least one of ``decisions``, per section."""
    fired: set[tuple[str, str]] = set()
    for d in decisions:
        fired.update((t.section, t.rule) for t in d.trace if t.note == "matched")
    sections = []
    for section, rows in all_rows(policy.spec).items():
        uncovered = tuple(CoverageItem(section, r.id, r.prov.location) for r in rows
                          if (section, r.id) not in fired)
        sections.append(SectionCoverage(section, len(rows), len(rows) - len(uncovered), uncovered))
    return Coverage(tuple(sections))


# -- many cases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunReport:
    """Every case's result on every evaluator. ``coverage`` counts the decisions of all
    evaluators together; ``coverage_by_engine`` those of each evaluator alone."""

    results: tuple[CaseResult, ...]
    coverage: Coverage
    engines: tuple[str, ...]
    load_errors: tuple[str, ...] = field(default=())
    coverage_by_engine: Mapping[str, Coverage] = field(default_factory=dict)

    @property
    def min_coverage(self) -> float:
        """The lowest coverage of any one evaluator (the union's when none is recorded)."""
        return min((c.percent for c in self.coverage_by_engine.values()), default=self.coverage.percent)

    @property
    def passed(self) -> int:
        return sum(r.status == "PASS" for r in self.results)

    @property
    def failed(self) -> int:
        return sum(r.status == "FAIL" for r in self.results)

    @property
    def errors(self) -> int:
        return sum(r.status == "ERROR" for r in self.results) + len(self.load_errors)

    @property
    def ok(self) -> bool:
        return bool(self.results) and self.failed == 0 and self.errors == 0


def summary_line(passed: int, failed: int, errors: int, _: Callable[[str], str] = str) -> str:
    """``N passed, N failed`` and ``, N errors`` only when there are any (``_`` translates)."""
    line = _("{passed} passed, {failed} failed").format(passed=passed, failed=failed)
    if not errors:
        return line
    return line + plural_of(", {errors} error", ", {errors} errors", errors, _).format(errors=errors)


def run_cases(policy: Policy, cases: Iterable[PolicyCase | CaseFile], engines: Sequence[str] = ("compiled",),
              *, load_errors: Sequence[str] = (),
              progress: Callable[[str, int, int | None], None] | None = None) -> RunReport:
    """Run every case on every engine (in that order); coverage is counted per engine and over all.

    When several engines run, a decision of a later engine that differs from the first
    engine's decision is a failure (key ``engines``): the evaluators must agree.
    ``progress("cases", done, total)`` is called after each case.
    """
    flat: list[PolicyCase] = []
    for c in cases:
        flat.extend(c.cases if isinstance(c, CaseFile) else (c,))
    results: list[CaseResult] = []
    for done, case in enumerate(flat, 1):
        if progress is not None:
            progress("cases", done - 1, len(flat))
        first: Decision | None = None
        for i, engine in enumerate(engines):
            r = run_case(policy, case, engine)
            if i == 0:
                first = r.decision
            elif first is not None and r.decision is not None and r.decision != first:
                r = CaseResult(case, engine, "FAIL", (*r.mismatches, Mismatch(
                    "engines", Message(N_("the same decision as {engine}"), engine=engines[0]),
                    _difference(first, r.decision))),
                    r.decision)
            results.append(r)
    if progress is not None:
        progress("cases", len(flat), len(flat))
    coverage = coverage_of(policy, (r.decision for r in results if r.decision is not None))
    by_engine = {e: coverage_of(policy, (r.decision for r in results if r.engine == e and r.decision is not None))
                 for e in engines}
    return RunReport(tuple(results), coverage, tuple(engines), tuple(load_errors), by_engine)


def _difference(a: Decision, b: Decision) -> str:
    da, db = a.model_dump(mode="json"), b.model_dump(mode="json")
    keys = [k for k in da if da[k] != db.get(k)]
    return Message(N_("a decision that differs in {keys}"), keys=", ".join(keys))


# -- text -----------------------------------------------------------------------------------------


def format_location(loc: SourceLocation | str | None) -> str:
    """``file:line:col`` (policy locations name files relative to the working directory, or absolute)."""
    if loc is None:
        return "?"
    return loc if isinstance(loc, str) else str(loc)


def _indent(text: str, prefix: str) -> list[str]:
    return [prefix + line for line in text.splitlines()]


# the status words of a case (its JSON report keeps PASS/FAIL/ERROR)
_STATUS = {"PASS": N_("PASS"), "FAIL": N_("FAIL"), "ERROR": N_("ERROR")}


def format_result(result: CaseResult, *, lang: str = "en",
                  details: bool | None = None) -> list[str]:
    """Lines describing a result: the status line, then (for failures, or when ``details``)
    the mismatches, the decision explained, and where the deciding rules are; in ``lang``."""
    _ = gettext_for(lang)
    case = result.case
    status = _(_STATUS[result.status]) if result.status in _STATUS else result.status
    lines = [f"{status:<5} [{result.engine}] {case.node_id}"]
    show = details if details is not None else result.status != "PASS"
    if not show:
        return lines
    if result.error:
        lines.append("      " + _("at {location}: {error}").format(location=case.location,
                                                                 error=translated(result.error, _)))
    for m in result.mismatches:
        where = f"{m.location}: " if m.location else ""
        lines.append("      " + where + _("{key}: expected {expected}, got {actual}").format(
            key=m.key, expected=translated(m.expected, _), actual=translated(m.actual, _)))
    d = result.decision
    if d is not None:
        lines.append("      " + _("decision:"))
        lines.extend(_indent(d.explain(lang), "        "))
        located = [t for t in d.trace if t.note == "matched" and t.location]
        if located:
            lines.append("      " + _("rules that decided:"))
            for t in located:
                loc = t.location
                assert loc is not None
                out = f" -> {t.output}" if t.output is not None else ""
                lines.append(f"        {t.section} {t.rule}{out}  ({loc})")
    return lines


def format_coverage(coverage: Coverage, *,
                    by_engine: Mapping[str, Coverage] | None = None, lang: str = "en") -> list[str]:
    """Coverage over all evaluators by section, what no case reached, and (with ``by_engine``
    naming more than one evaluator) each evaluator's own coverage; in ``lang``."""
    _ = gettext_for(lang)
    lines = [_("coverage: {covered} of {total} rules decided a case ({percent:.1f}%)").format(
        covered=coverage.covered, total=coverage.total, percent=coverage.percent)]
    width = max((len(s.section) for s in coverage.sections), default=8)
    for s in coverage.sections:
        lines.append(f"  {s.section:<{width}}  {s.covered:>3}/{s.total:<3} {s.percent:5.1f}%")
    if coverage.uncovered:
        lines.append(_("uncovered:"))
        idw = max(len(i.id) for i in coverage.uncovered)
        for i in coverage.uncovered:
            lines.append(f"  {i.section:<{width}}  {i.id:<{idw}}  {format_location(i.location)}")
    if by_engine and len(by_engine) > 1:
        lines.append(_("coverage per engine: ") + ", ".join(
            f"{e} {c.covered}/{c.total} ({c.percent:.1f}%)" for e, c in by_engine.items()))
    return lines
