"""What changes for whom: decide one portfolio with two policies and list the differences.

A business owner runs this before a policy change ships (like Gainsight's "preview
results"): which accounts change tier, segment, stage, churn or actions, and how many
of each move there are.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from accountrules.batch.errors import RowError
from accountrules.errors import MissingDependencyError
from accountrules.i18n import translated
from accountrules.io.columns import ColumnMapping
from accountrules.io.optional import require
from accountrules.io.recorded_day import batch_day
from accountrules.io.schema import moved_columns
from accountrules.model.decision import Decision
from accountrules.policy import Policy

if TYPE_CHECKING:
    from accountrules.batch.result import BatchResult


@dataclass(frozen=True, slots=True)
class Change:
    """One difference for one account: ``what`` changed from ``old`` to ``new`` (with the rule ids that
    decided each, where a rule did)."""

    account_id: str
    # tier | segment:<name> | stage | churn.kind | churn.risk | action+ | action- | refused (old and new are
    # then why each policy refused the account, None where it decided it)
    what: str
    old: str | None
    new: str | None
    old_rule: str | None = None
    new_rule: str | None = None


@dataclass
class ImpactReport:
    """Every change between two versions on one portfolio, and the rows both refuse alike."""

    old: str  # "name version"
    new: str
    accounts: int
    changes: list[Change] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)  # rows both policies refuse, for the same reason

    @property
    def changed_accounts(self) -> int:
        return len({c.account_id for c in self.changes})

    def moves(self) -> Counter[tuple[str, str | None, str | None]]:
        """How many accounts make each (what, old, new) move."""
        return Counter((c.what, c.old, c.new) for c in self.changes)

    def summary_lines(self, _: Callable[[str], str] = str) -> list[str]:
        """The counts of each move; ``_`` translates the words (a catalogue's ``gettext``)."""
        lines = [_("{changed} of {accounts} accounts change from {old} to {new}").format(
            changed=self.changed_accounts, accounts=self.accounts, old=self.old, new=self.new)]
        for (what, old, new), n in sorted(self.moves().items(), key=lambda kv: (kv[0][0], -kv[1])):
            if what.startswith("action"):
                sign = _("gains action {code}") if what == "action+" else _("loses action {code}")
                lines.append(f"  {n:>6}  " + sign.format(code=new or old))
            elif what == "refused":
                said = (_("newly refused: {reason}").format(reason=translated(new, _)) if old is None
                        else _("no longer refused: {reason}").format(reason=translated(old, _)) if new is None
                        else _("refused for another reason: {old} -> {new}").format(old=translated(old, _),
                                                                                    new=translated(new, _)))
                lines.append(f"  {n:>6}  {said}")
            else:  # a value one version does not have (a new segment table, no tier) reads "(none)", not None
                none = _("(none)")
                lines.append(f"  {n:>6}  {what}: {none if old is None else old} -> {none if new is None else new}")
        if self.errors:
            lines.append("  " + _("{count} rows could not be decided by either policy (see errors)").format(
                count=len(self.errors)))
        return lines

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (what ``accountrules diff --format json`` prints)."""
        return {
            "old": self.old, "new": self.new, "accounts": self.accounts,
            "changed_accounts": self.changed_accounts,
            "moves": [{"what": w, "old": o, "new": n, "accounts": c}
                      for (w, o, n), c in sorted(self.moves().items(), key=lambda kv: (kv[0][0], -kv[1]))],
            "changes": [{"account_id": c.account_id, "what": c.what, "old": c.old, "new": c.new,
                         "old_rule": c.old_rule, "new_rule": c.new_rule} for c in self.changes],
            "errors": [e.to_dict() for e in self.errors],
        }


def _tagged(progress: Callable[[str, str, int, int | None], None] | None,
            which: str) -> Callable[[str, int, int | None], None] | None:
    if progress is None:
        return None
    return lambda phase, done, total: progress(which, phase, done, total)


def _outputs(d: Decision) -> dict[str, tuple[str | None, str | None]]:
    out: dict[str, tuple[str | None, str | None]] = {}
    if d.tier is not None:
        out["tier"] = (d.tier.code, d.tier.rule)
    for name, seg in d.segments.items():
        out["segment:" + name] = (seg.code, seg.rule)
    if d.stage is not None:
        out["stage"] = (d.stage.to.value, d.stage.transition)
    if d.churn is not None:
        out["churn.kind"] = (d.churn.kind.value, d.churn.rule)
        out["churn.risk"] = (d.churn.risk.value, d.churn.rule)
    return out


def _names(old: Policy, new: Policy) -> tuple[str, str]:
    """"name version" of each; with the start of the source hash when those read the same (an owner
    previews a change before bumping the version), so the summary does not say "from x 1.0 to x 1.0"."""
    a, b = f"{old.name} {old.version}", f"{new.name} {new.version}"
    if a == b and old.ref.hash != new.ref.hash:
        return f"{a} ({old.ref.hash[:12]})", f"{b} ({new.ref.hash[:12]})"
    return a, b


def compare(old: Decision, new: Decision) -> list[Change]:
    a, b = _outputs(old), _outputs(new)
    changes = []
    for key in dict.fromkeys([*a, *b]):
        (ov, orule), (nv, nrule) = a.get(key, (None, None)), b.get(key, (None, None))
        if ov != nv:
            changes.append(Change(old.account_id, key, ov, nv, orule, nrule))
    old_actions, new_actions = set(old.action_codes()), set(new.action_codes())
    for code in new.action_codes():
        if code not in old_actions:
            changes.append(Change(old.account_id, "action+", None, code))
    for code in old.action_codes():
        if code not in new_actions:
            changes.append(Change(old.account_id, "action-", code, None))
    return changes


def impact(old: Policy, new: Policy, accounts: Iterable[Any] | str, *, as_of: dt.date | None = None,
           engine: str = "auto", columns: ColumnMapping | None = None,
           progress: Callable[[str, str, int, int | None], None] | None = None) -> ImpactReport:
    """Decide ``accounts`` (anything ``decide_many`` takes, read with ``columns``) with both policies and
    compare. ``engine``: as ``decide_many``'s (``auto``, the default, is the fastest proven evaluator
    installed; every evaluator gives the same changes). ``progress(which, phase, done, total)``:
    ``which`` is ``"old"`` or ``"new"``."""
    return compare_results(*decide_both(old, new, accounts, as_of=as_of, engine=engine, columns=columns,
                                        progress=progress))


def decide_both(old: Policy, new: Policy, accounts: Iterable[Any] | str, *, as_of: dt.date | None = None,
                engine: str = "auto", columns: ColumnMapping | None = None, trace: bool = False,
                progress: Callable[[str, str, int, int | None], None] | None = None) -> tuple[BatchResult, BatchResult]:
    """The batches :func:`impact` compares, for a caller that also draws them (``diff --report``)."""
    from accountrules.batch.engine import decide_batch

    source = accounts if isinstance(accounts, str) else list(accounts)
    day = batch_day(as_of, source)  # both versions on one day, not two calls of today()
    before = decide_batch(old, source, as_of=day, engine=engine, trace=trace, columns=columns,
                          progress=_tagged(progress, "old"))
    after = decide_batch(new, source, as_of=day, engine=engine, trace=trace, columns=columns,
                         progress=_tagged(progress, "new"))
    return before, after


# (change key, value column, rule column), as io.schema.moved_columns gives them: what _outputs reads of a Decision
_Key = tuple[str, str, str]


def compare_results(before: BatchResult, after: BatchResult) -> ImpactReport:
    """The report of two batches of the same input rows, read from their flat columns: no Decision is built.

    The changes are those :func:`compare` finds Decision by Decision, in the same order
    (``tests/test_impact.py`` holds the two equal)."""
    report = ImpactReport(*_names(before.policy, after.policy), len(before))
    a_keys, b_keys = moved_columns(before.policy.plan), moved_columns(after.policy.plan)
    a, b = _rows_to_compare(before, after, a_keys, b_keys)
    old_bad, new_bad = {e.row: e for e in before.errors}, {e.row: e for e in after.errors}
    changes = report.changes
    for i, row in enumerate(a["row"]):
        x, y = old_bad.get(row), new_bad.get(row)
        if x is not None or y is not None:
            _refused(report, x, y, a["account_id"][i] or b["account_id"][i])
            continue
        aid = a["account_id"][i]
        # a Decision holds an output only where it has a value (churn: a kind and a risk), so the keys
        # come in the old decision's order, then the new one's others, as compare() walks them
        got_a = _present(a, a_keys, i)
        got_b = _present(b, b_keys, i)
        for key in dict.fromkeys([*got_a, *got_b]):
            (ov, orule), (nv, nrule) = got_a.get(key, (None, None)), got_b.get(key, (None, None))
            if ov != nv:
                changes.append(Change(aid, key, ov, nv, orule, nrule))
        old_actions, new_actions = a["actions"][i], b["actions"][i]
        if old_actions != new_actions:
            changes.extend(Change(aid, "action+", None, c) for c in new_actions if c not in old_actions)
            changes.extend(Change(aid, "action-", c, None) for c in old_actions if c not in new_actions)
    return report


def _rows_to_compare(before: BatchResult, after: BatchResult, a_keys: list[_Key],
                     b_keys: list[_Key]) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Both batches' compared columns as Python values, at the rows where something may differ.

    Most accounts of a policy change do not move, and turning every cell into a Python value is most
    of the cost of comparing, so with pyarrow the rows whose values, actions and refusals are all
    equal are left out first, over whole columns; the rows kept are compared as before. Without
    pyarrow every row is."""
    a_names = [*(c for k in a_keys for c in k[1:]), "actions"]
    b_names = [*(c for k in b_keys for c in k[1:]), "actions"]
    try:
        pc = require("pyarrow.compute", "comparing two batches")
    except MissingDependencyError:
        a, b = before.columns(errors=True, names=a_names), after.columns(errors=True, names=b_names)
        if a["row"] != b["row"]:
            raise ValueError("the two batches must be of the same input rows") from None
        return a, b
    ta, tb = before.to_arrow(errors=True), after.to_arrow(errors=True)
    if ta.num_rows != tb.num_rows or pc.all(pc.equal(ta["row"], tb["row"])).as_py() not in (True, None):
        raise ValueError("the two batches must be of the same input rows")

    def differ(x: Any, y: Any) -> Any:  # a null on one side only differs too
        return pc.or_(pc.fill_null(pc.not_equal(x, y), False), pc.xor(pc.is_null(x), pc.is_null(y)))

    maybe = pc.or_(pc.is_valid(ta["error"]), pc.is_valid(tb["error"]))
    for col in dict.fromkeys([k[1] for k in a_keys] + [k[1] for k in b_keys]):
        if col in ta.column_names and col in tb.column_names:
            maybe = pc.or_(maybe, differ(ta[col], tb[col]))
        else:  # an output one policy has not: a value of the other is a change
            maybe = pc.or_(maybe, pc.is_valid(ta[col] if col in ta.column_names else tb[col]))
    # the codes as one text per row (a unit separator cannot be in a code): equal texts, equal tuples
    maybe = pc.or_(maybe, differ(pc.binary_join(ta["actions"], "\x1f"), pc.binary_join(tb["actions"], "\x1f")))
    at = pc.indices_nonzero(maybe)

    def pick(table: Any, names: list[str]) -> dict[str, list[Any]]:
        out = {c: table[c].take(at).to_pylist() for c in ["row", "account_id", *names]}
        out["actions"] = [tuple(v) if v is not None else () for v in out["actions"]]
        return out

    return pick(ta, a_names), pick(tb, b_names)


def _present(cols: dict[str, list[Any]], keys: list[_Key], i: int) -> dict[str, tuple[Any, Any]]:
    out = {key: (cols[value][i], cols[rule][i]) for key, value, rule in keys if cols[value][i] is not None}
    if ("churn.kind" in out) != ("churn.risk" in out):  # a Decision has no churn without both
        out.pop("churn.kind", None)
        out.pop("churn.risk", None)
    return out


def _refused(report: ImpactReport, x: RowError | None, y: RowError | None, account_id: str | None) -> None:
    # a policy that can no longer decide an account (or now can) changes what happens to it. The reason
    # without the account (a field of its own) is one move for every account refused alike, and a
    # catalogue message, so the summary says it in the reader's language
    old_why = x.reason if x is not None else None
    new_why = y.reason if y is not None else None
    if old_why == new_why and x is not None:
        report.errors.append(x)  # the same refusal on both sides: most often a bad input row
    else:
        # two unreadable rows refused for different reasons have no id to name (the CSV says the reasons)
        report.changes.append(Change(account_id or "", "refused", old_why, new_why))
