"""The diff report: the same accounts decided by two policy versions, and who moves where."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accountrules.i18n import gettext_for, translated
from accountrules.io.recorded_day import batch_day
from accountrules.io.schema import moved_columns
from accountrules.io.writers import write_text_file
from accountrules.report import charts
from accountrules.report.i18n import label
from accountrules.report.page import Block, Raw, Section, Table, details, render

if TYPE_CHECKING:
    from accountrules.batch.result import BatchResult
    from accountrules.io.columns import ColumnMapping
    from accountrules.policy import Policy

MAX_MOVES = 200
NONE = "(none)"
_COMPARED = ("tier", "stage", "churn_kind", "churn_risk")


@dataclass
class DiffFigures:
    accounts: int
    tiers: dict[tuple[str, str], int]  # (old, new) -> accounts, every pair including unchanged
    stages: dict[tuple[str, str], int]
    gained: dict[str, int]  # owner -> actions the new policy adds
    lost: dict[str, int]
    moved: list[str]  # account ids whose tier, segments, stage, churn or actions differ, input order
    # (account id, reason) of the rows one policy decides and the other refuses, input order
    newly_refused: list[tuple[str, str]] = field(default_factory=list)
    no_longer_refused: list[tuple[str, str]] = field(default_factory=list)


def _owner_of(policy: Policy) -> dict[str, str]:
    acts = policy.spec.actions
    return {c: d.owner for c, d in acts.catalog.items()} if acts else {}


def diff_figures(old: BatchResult, new: BatchResult) -> DiffFigures:
    a, b = old.columns(), new.columns()
    where = {aid: i for i, aid in enumerate(b["account_id"])}
    pairs = [(i, where[aid]) for i, aid in enumerate(a["account_id"]) if aid in where]
    # what `accountrules diff` compares: a new churn score or metric value alone moves no one
    compared = list(dict.fromkeys(k[1] for p in (old.policy.plan, new.policy.plan) for k in moved_columns(p)))

    def matrix(col: str) -> dict[tuple[str, str], int]:
        if col not in a or col not in b:
            return {}
        return dict(sorted(Counter((a[col][i] or NONE, b[col][j] or NONE) for i, j in pairs).items()))

    own_old, own_new = _owner_of(old.policy), _owner_of(new.policy)
    gained: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    moved = []
    for i, j in pairs:
        x, y = set(a["actions"][i]), set(b["actions"][j])
        for code in y - x:
            gained[own_new.get(code, code)] += 1
        for code in x - y:
            lost[own_old.get(code, code)] += 1
        # an output one version has not (a segment table added or removed) is unknown on that side
        if x != y or any((a[c][i] if c in a else None) != (b[c][j] if c in b else None) for c in compared):
            moved.append(str(a["account_id"][i]))
    # the same input rows on both sides: a row refused by one policy only is a change, not a gap
    old_bad, new_bad = {e.row: e for e in old.errors}, {e.row: e for e in new.errors}
    # the reason without the account (its own column), worded in the page's language when it is drawn
    newly = [(e.account_id or "", e.reason) for r, e in new_bad.items() if r not in old_bad]
    no_longer = [(e.account_id or "", e.reason) for r, e in old_bad.items() if r not in new_bad]
    return DiffFigures(len(pairs), matrix("tier"), matrix("stage"), dict(gained.most_common()),
                       dict(lost.most_common()), moved, newly, no_longer)


def _matrix_block(old: Policy, new: Policy, cells: dict[tuple[str, str], int], heading: str, section: str,
                  lang: str, key: str) -> Block:
    _ = gettext_for(lang)
    rows = sorted({r for r, _c in cells})
    cols = sorted({c for _r, c in cells})
    vals = [[cells.get((r, c), 0) for c in cols] for r in rows]
    svg = charts.heatmap(heading, [label(old.spec, r, lang, section) for r in rows],
                         [label(new.spec, c, lang, section) for c in cols], vals, cell=80)
    table = Table(_("Figures of this chart"), [_("Old"), _("New"), _("Accounts")],
                  [[label(old.spec, r, lang, section), label(new.spec, c, lang, section), k]
                   for (r, c), k in cells.items()])
    return Block(heading, svg, table, key)


def render_diff(old: BatchResult, new: BatchResult, *, lang: str = "en") -> tuple[str, DiffFigures]:
    _ = gettext_for(lang)
    f = diff_figures(old, new)
    s = Section("diff", _("Policy change report"), _("The same accounts decided by the old and the new policy."))
    if f.tiers:
        s.blocks.append(_matrix_block(old.policy, new.policy, f.tiers, _("Tier migration (old → new)"), "tier", lang,
                                      "tiers"))
    if f.stages:
        s.blocks.append(_matrix_block(old.policy, new.policy, f.stages, _("Stage migration (old → new)"), "stage", lang,
                                      "stages"))
    owners = sorted(set(f.gained) | set(f.lost))
    shown = {o: label(new.policy.spec, o, lang, "owner") for o in owners}
    names = [f"{shown[o]} +" for o in owners] + [f"{shown[o]} −" for o in owners]
    values = [f.gained.get(o, 0) for o in owners] + [f.lost.get(o, 0) for o in owners]
    colors = [charts.PALETTE[2]] * len(owners) + [charts.PALETTE[3]] * len(owners)
    title = _("Actions gained and lost per owner")
    s.blocks.append(Block(title, charts.bars(title, names, values, colors=colors),
                          Table(_("Figures of this chart"), [_("Owner role"), _("Gained"), _("Lost")],
                                [[shown[o], f.gained.get(o, 0), f.lost.get(o, 0)] for o in owners]
                                or [[_("None"), 0, 0]]), "owners"))
    s.extra.append(_moves_table(old, new, f.moved[:MAX_MOVES], lang))
    for rows, title in ((f.newly_refused, _("Accounts the new policy refuses")),
                        (f.no_longer_refused, _("Accounts only the old policy refused"))):
        if rows:
            reasons = [[a, translated(why, _)] for a, why in rows[:MAX_MOVES]]
            s.extra.append(Table(title, [_("Account"), _("Reason")], reasons).html())
    meta = [(_("Old"), f"{old.policy.name} {old.policy.version}"),
            (_("New"), f"{new.policy.name} {new.policy.version}"),
            (_("Decided on"), old.as_of.isoformat()), (_("Accounts"), f"{f.accounts:,}"),
            (_("Accounts that move"), f"{len(f.moved):,}"),
            (_("Accounts the new policy refuses"), f"{len(f.newly_refused):,}"),
            (_("Accounts only the old policy refused"), f"{len(f.no_longer_refused):,}")]
    return render(_("Policy change report"), lang, meta, [s]), f


def _moves_table(old: BatchResult, new: BatchResult, ids: list[str], lang: str) -> str:
    _ = gettext_for(lang)
    a_cols, b_cols = old.columns(), new.columns()
    a_idx = {str(x): i for i, x in enumerate(a_cols["account_id"])}
    b_idx = {str(x): i for i, x in enumerate(b_cols["account_id"])}
    rows: list[list[Any]] = []
    for aid in ids:
        i, j = a_idx[aid], b_idx[aid]
        d_old, d_new = old[a_cols["row"][i] - 1], new[b_cols["row"][j] - 1]
        what = [f"{c}: {a_cols[c][i]} → {b_cols[c][j]}" for c in _COMPARED
                if c in a_cols and c in b_cols and a_cols[c][i] != b_cols[c][j]]
        if set(a_cols["actions"][i]) != set(b_cols["actions"][j]):
            what.append("actions")
        rows.append([aid, "; ".join(what) or "segments",
                     Raw(details(_("Old explanation"), d_old.explain(lang) if hasattr(d_old, "explain") else "")),
                     Raw(details(_("New explanation"), d_new.explain(lang) if hasattr(d_new, "explain") else ""))])
    return Table(_("Accounts that move"), [_("Account"), _("Value"), _("Old explanation"), _("New explanation")],
                 rows or [[_("None"), "", "", ""]]).html()


def diff_report(old: Policy, new: Policy, accounts: str | Path, *, as_of: dt.date | None = None,
                lang: str = "en", engine: str = "auto", columns: ColumnMapping | None = None) -> str:
    """Decide ``accounts`` (read with ``columns``) with both policies; the HTML page of who moves where."""
    day = batch_day(as_of, str(accounts))
    a = old.decide_many(str(accounts), as_of=day, engine=engine, columns=columns)
    b = new.decide_many(str(accounts), as_of=day, engine=engine, columns=columns)
    return render_diff(a, b, lang=lang)[0]


def write_diff_report(old: Policy, new: Policy, accounts: str | Path, path: str | Path, *,
                      as_of: dt.date | None = None, lang: str = "en", engine: str = "auto",
                      columns: ColumnMapping | None = None) -> None:
    """:func:`diff_report` written to ``path`` (UTF-8); what ``accountrules diff --report`` calls."""
    page = diff_report(old, new, accounts, as_of=as_of, lang=lang, engine=engine, columns=columns)
    write_text_file(path, page)
