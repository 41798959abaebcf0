"""The sections of the portfolio report: :class:`Figures` turned into charts and tables."""

from __future__ import annotations

from accountrules.check.spec import PolicySpec
from accountrules.i18n import N_, Gettext, gettext_for, translations
from accountrules.report import charts
from accountrules.report.figures import KIND_ORDER, RISK_ORDER, Figures
from accountrules.report.i18n import label
from accountrules.report.page import Block, Raw, Section, Table, details


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _count_bars(_: Gettext, title: str, names: list[str], counts: list[int], kind: str, *,
                name_col: str = N_("Value"), count_col: str = N_("Accounts"), width: int = 560,
                none_row: bool = False) -> Block:
    """Bars of one count per name, with the two-column table of the same figures beside them;
    ``title``, ``name_col`` and ``count_col`` are message ids, translated here."""
    rows: list[list[object]] = [[n, k] for n, k in zip(names, counts, strict=True)]
    if not rows and none_row:
        rows = [[_("None"), 0]]
    return Block(_(title), charts.bars(_(title), names, counts, width=width),
                 Table(_("Figures of this chart"), [_(name_col), _(count_col)], rows), kind)


def pyramid_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    _ = gettext_for(lang)
    pgettext = translations(lang).pgettext
    s = Section("pyramid", _("1 Customer pyramid"),
                _("Accounts, annual revenue and annual profit per tier. The curve adds revenue up from the largest "
                  "account: if the top 20% carry about 80%, it passes near 0.8 at 0.2."))
    if not f.pyramid:
        s.notes.append(_("This input does not hold these figures."))
        return s
    names = [label(spec, t, lang, "tier") for t in f.pyramid]
    total_rev = sum(d["revenue"] for d in f.pyramid.values()) or 1.0
    rows = [[n, int(d["accounts"]), round(d["revenue"], 2), round(d["profit"], 2), _pct(d["revenue"] / total_rev)]
            for n, d in zip(names, f.pyramid.values(), strict=True)]
    tier = pgettext("report", "Tier")
    counts = [d["accounts"] for d in f.pyramid.values()]
    s.blocks.append(Block(tier, charts.pyramid(_("1 Customer pyramid"), names, counts),
                          Table(_("Figures of this chart"),
                                [tier, _("Accounts"), _("Annual revenue"), _("Annual profit"), _("Share")], rows),
                          "pyramid"))
    if f.top20_share is not None:
        pts = f.lorenz
        marks = [(x, y) for x, y in pts if x in (0.2, 0.4, 0.6, 0.8, 1.0)] or pts[-1:]
        title = _("Cumulative revenue share (Lorenz / Pareto curve)")
        top20 = _("Revenue share of the top 20% of accounts")
        s.blocks.append(Block(title, charts.curve(title, pts, mark_x=0.2, mark_y=f.top20_share,
                                                  x_label=_("Share of accounts"), y_label=_("Share of revenue")),
                              Table(_("Figures of this chart"), [_("Share of accounts"), _("Share of revenue")],
                                    [[top20, _pct(f.top20_share)], *[[_pct(x), _pct(y)] for x, y in marks]]),
                              "lorenz"))
        s.extra.append(f'<p>{top20}: <span class="big" data-top20="{f.top20_share:.6f}">'
                       f"{_pct(f.top20_share)}</span></p>")
    else:
        s.notes.append(_("A decisions file holds no revenue or profit: give the accounts file as well for amounts."))
    return s


def segments_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    _ = gettext_for(lang)
    s = Section("segments", _("2 ABC classes and value matrix"),
                _("Accounts and annual revenue per ABC class and value-matrix quadrant."))
    for name in ("abc", "value_matrix"):
        seg = f.segments.get(name)
        if not seg:
            continue
        title = label(spec, name, lang, "segment_name")
        names = [label(spec, v, lang, f"segment.{name}") for v in seg]
        s.blocks.append(Block(title, charts.bars(title, names, [d["accounts"] for d in seg.values()]),
                              Table(_("Figures of this chart"), [_("Value"), _("Accounts"), _("Annual revenue")],
                                    [[n, int(d["accounts"]), round(d["revenue"], 2)]
                                     for n, d in zip(names, seg.values(), strict=True)]), f"segment.{name}"))
    if not s.blocks:
        s.notes.append(_("This input does not hold these figures."))
    return s


def rfm_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    _ = gettext_for(lang)
    pgettext = translations(lang).pgettext
    s = Section("rfm", _("3 RFM grid"),
                _("Rows are the R score, columns the F score (1-5, 5 best); each cell shows its accounts and its "
                  "most common RFM segment."))
    if f.rfm_grid is None:
        s.notes.append(_("This input does not hold these figures."))
        return s
    rs, fs = [5, 4, 3, 2, 1], [1, 2, 3, 4, 5]
    vals = [[sum(f.rfm_grid.get((r, q), {}).values()) for q in fs] for r in rs]
    notes = [[_top_segment(spec, f.rfm_grid.get((r, q), {}), lang) for q in fs] for r in rs]
    rows = []
    for (r, q), cell in sorted(f.rfm_grid.items(), reverse=True):
        for seg, k in sorted(cell.items(), key=lambda kv: -kv[1]):
            rows.append([f"R{r} F{q}", label(spec, seg, lang, "segment.rfm"), k])
    s.blocks.append(Block(_("3 RFM grid"), charts.heatmap(_("3 RFM grid"), [f"R{r}" for r in rs], [f"F{q}" for q in fs],
                                                          vals, notes=notes, row_label_w=50, cell=78),
                          Table(_("Figures of this chart"), ["R × F", pgettext("report", "Segment"), _("Accounts")],
                                rows), "rfm"))
    return s


def _top_segment(spec: PolicySpec, cell: dict[str, int], lang: str) -> str:
    if not cell:
        return ""
    seg = max(sorted(cell), key=lambda k: cell[k])
    return label(spec, seg, lang, "segment.rfm")


def stage_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    _ = gettext_for(lang)
    s = Section("stages", _("4 Stage model"),
                _("Where accounts sit now, which stage moves this run made, and relationship levels."))
    if f.funnel:
        names = [label(spec, k, lang) for k in f.funnel]
        s.blocks.append(Block(_("Stage funnel"), charts.funnel(_("Stage funnel"), names, list(f.funnel.values())),
                              Table(_("Figures of this chart"), [_("Value"), _("Accounts")],
                                    [[n, v] for n, v in zip(names, f.funnel.values(), strict=True)]), "funnel"))
        states = list(spec.stages.states) if spec.stages else []
        froms = [x for x in ["(none)", *states] if any(a == x for a, _b in f.transitions)] or states
        tos = [x for x in states if any(b == x for _a, b in f.transitions)] or states
        vals = [[f.transitions.get((a, b), 0) for b in tos] for a in froms]
        moves = _("Stage moves of this run (from → to)")
        s.blocks.append(Block(moves,
                              charts.heatmap(moves, [label(spec, a, lang) for a in froms],
                                             [label(spec, b, lang) for b in tos], vals, cell=84),
                              Table(_("Figures of this chart"), [_("From"), _("To"), _("Accounts")],
                                    [[label(spec, a, lang), label(spec, b, lang), k]
                                     for (a, b), k in f.transitions.items()] or [[_("None"), "", 0]]),
                              "transitions"))
    if f.levels:
        names = [label(spec, k, lang) for k in f.levels]
        s.blocks.append(_count_bars(_, N_("Relationship levels"), names, list(f.levels.values()), "levels"))
    if not s.blocks:
        s.notes.append(_("This input does not hold these figures."))
    return s


def churn_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    _ = gettext_for(lang)
    pgettext = translations(lang).pgettext
    s = Section("churn", _("5 Churn"),
                _("Churn kind against risk, the score distribution, and the risky accounts by annual revenue "
                  "(expand a row for its explanation)."))
    if not f.churn_matrix:
        s.notes.append(_("This input does not hold these figures."))
        return s
    kinds = [k for k in KIND_ORDER if any(a == k for a, _b in f.churn_matrix)]
    vals = [[f.churn_matrix.get((k, r), 0) for r in RISK_ORDER] for k in kinds]
    title = _("Churn kind × risk")
    s.blocks.append(Block(title, charts.heatmap(title, [label(spec, k, lang) for k in kinds],
                                                [label(spec, r, lang) for r in RISK_ORDER], vals, cell=80,
                                                row_label_w=190),
                          Table(_("Figures of this chart"), [_("Kind"), _("Risk"), _("Accounts")],
                                [[label(spec, k, lang), label(spec, r, lang), v]
                                 for (k, r), v in sorted(f.churn_matrix.items())]), "kind_risk"))
    names = [f"{lo:g}–{hi:g}" for lo, hi, _k in f.churn_scores]
    counts = [k for _lo, _hi, k in f.churn_scores]
    s.blocks.append(_count_bars(_, N_("Churn-score distribution"), names, counts, "scores", name_col=N_("Score")))
    if "no_explanations" in f.notes:
        s.notes.append(_("This report was built from a decisions file, which holds no explanations "
                         "(decide --explain writes them)."))
    rows = []
    for a in f.at_risk:
        text = a["explain"].get(lang) if a["explain"] else None
        why = Raw(details(_("Why"), text)) if text else _("no explanation")
        rows.append([a["account_id"], a["revenue"] if a["revenue"] is not None else "–",
                     label(spec, a["tier"], lang, "tier"), label(spec, a["kind"], lang), label(spec, a["risk"], lang),
                     "" if a["score"] is None else f'{a["score"]:.2f}', why])
    if rows:
        names = [a["account_id"] for a in f.at_risk]
        values = [a["revenue"] or 0.0 for a in f.at_risk]
        title = _("At-risk accounts by revenue at stake")
        s.blocks.append(Block(title, charts.bars(title, names, values),
                              Table(_("Figures of this chart"), [_("Account"), _("Annual revenue"),
                                                                 pgettext("report", "Tier"), _("Kind"), _("Risk"),
                                                                 _("Score"), _("Why")], rows), "at_risk"))
    return s


def actions_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    _ = gettext_for(lang)
    s = Section("actions", _("6 Actions"),
                _("Due date = decision date + the action's due period; before the report date means overdue."))
    if not f.actions:
        s.notes.append(_("None"))
        return s
    names = [label(spec, a, lang, "action") for a in f.actions]
    s.blocks.append(_count_bars(_, N_("Actions per action"), names, list(f.actions.values()), "per_action",
                                count_col=N_("Count"), width=640))
    owners = [label(spec, o, lang, "owner") for o in f.owners]
    s.blocks.append(_count_bars(_, N_("Actions per owner role"), owners, list(f.owners.values()), "per_owner",
                                name_col=N_("Owner role"), count_col=N_("Count")))
    days = list(f.timeline)
    rows: list[list[object]] = [[_("Overdue"), f.overdue]] if f.overdue else []
    rows += [[f"+{d}", v] for d, v in f.timeline.items() if d >= 0]
    title = _("Due dates over the next 90 days")
    s.blocks.append(Block(title, charts.timeline(title, days, list(f.timeline.values()), overdue_label=_("Overdue")),
                          Table(_("Figures of this chart"), [_("Days from today"), _("Count")], rows), "timeline"))
    return s


def rules_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    _ = gettext_for(lang)
    s = Section("rules", _("7 Rules"),
                _("Accounts each rule decided. The flat columns do not record which action rule fired, so an action "
                  "rule is listed as deciding none when none of its actions appears."))
    names: list[str] = []
    values: list[int] = []
    rows: list[list[object]] = []
    for section, counts in f.rules.items():
        for rule, k in counts.items():
            names.append(f"{section}: {label(spec, rule, lang)}")
            values.append(k)
            rows.append([section, label(spec, rule, lang), k])
    s.blocks.append(Block(_("7 Rules"), charts.bars(_("7 Rules"), names, values, width=700),
                          Table(_("Figures of this chart"), [_("Section"), _("Rule"), _("Accounts")], rows), "rules"))
    unused = [[sec, r] for sec, ids in f.unused_rules.items() for r in ids]
    s.extra.append(Table(_("Rules that decided no account here (a cue for lint)"), [_("Section"), _("Rule")],
                         unused or [[_("None"), ""]]).html())
    return s


def quality_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    _ = gettext_for(lang)
    s = Section("quality", _("8 Data quality"),
                _("Refused rows per failing field; unknown = empty cells of the input per field."))
    errs = f.row_errors or {}
    s.blocks.append(_count_bars(_, N_("Refused rows by reason"), list(errs), list(errs.values()), "row_errors",
                                name_col=N_("Field"), count_col=N_("Refused rows"), none_row=True))
    top = dict(list(f.unknown_fields.items())[:15])
    s.blocks.append(_count_bars(_, N_("Fields most often unknown"), list(top), list(top.values()), "unknown",
                                name_col=N_("Field"), count_col=N_("Count"), width=640, none_row=True))
    return s


SECTIONS = (pyramid_section, segments_section, rfm_section, stage_section, churn_section, actions_section,
            rules_section, quality_section)
