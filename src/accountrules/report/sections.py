"""The sections of the portfolio report: :class:`Figures` turned into charts and tables."""

from __future__ import annotations

from accountrules.check.spec import PolicySpec
from accountrules.report import charts
from accountrules.report.figures import KIND_ORDER, RISK_ORDER, Figures
from accountrules.report.i18n import Words, help_text, label, word
from accountrules.report.page import Block, Raw, Section, Table, details


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _count_bars(w: Words, title: str, names: list[str], counts: list[int], kind: str, *, name_col: str = "value",
                count_col: str = "accounts", width: int = 560, none_row: bool = False) -> Block:
    """Bars of one count per name, with the two-column table of the same figures beside them."""
    rows: list[list[object]] = [[n, k] for n, k in zip(names, counts, strict=True)]
    if not rows and none_row:
        rows = [[w("none_found"), 0]]
    return Block(w(title), charts.bars(w(title), names, counts, width=width),
                 Table(w("figures"), [w(name_col), w(count_col)], rows), kind)


def pyramid_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    w = Words(lang)
    s = Section("pyramid", w("s1"), help_text("s1", lang))
    if not f.pyramid:
        s.notes.append(w("no_data"))
        return s
    names = [label(spec, t, lang, "tier") for t in f.pyramid]
    total_rev = sum(d["revenue"] for d in f.pyramid.values()) or 1.0
    rows = [[n, int(d["accounts"]), round(d["revenue"], 2), round(d["profit"], 2), _pct(d["revenue"] / total_rev)]
            for n, d in zip(names, f.pyramid.values(), strict=True)]
    s.blocks.append(Block(w("tier"), charts.pyramid(w("s1"), names, [d["accounts"] for d in f.pyramid.values()]),
                          Table(w("figures"), [w("tier"), w("accounts"), w("revenue"), w("profit"), w("share")], rows),
                          "pyramid"))
    if f.top20_share is not None:
        pts = f.lorenz
        marks = [(x, y) for x, y in pts if x in (0.2, 0.4, 0.6, 0.8, 1.0)] or pts[-1:]
        s.blocks.append(Block(w("s1_lorenz"), charts.curve(w("s1_lorenz"), pts, mark_x=0.2, mark_y=f.top20_share,
                                                           x_label=w("accounts_share"), y_label=w("revenue_share")),
                              Table(w("figures"), [w("accounts_share"), w("revenue_share")],
                                    [[w("top20"), _pct(f.top20_share)], *[[_pct(x), _pct(y)] for x, y in marks]]),
                              "lorenz"))
        s.extra.append(f'<p>{word("top20", lang)}: <span class="big" data-top20="{f.top20_share:.6f}">'
                       f"{_pct(f.top20_share)}</span></p>")
    else:
        s.notes.append(w("no_revenue"))
    return s


def segments_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    w = Words(lang)
    s = Section("segments", w("s2"), help_text("s2", lang))
    for name in ("abc", "value_matrix"):
        seg = f.segments.get(name)
        if not seg:
            continue
        title = label(spec, name, lang, "segment_name")
        names = [label(spec, v, lang, f"segment.{name}") for v in seg]
        s.blocks.append(Block(title, charts.bars(title, names, [d["accounts"] for d in seg.values()]),
                              Table(w("figures"), [w("value"), w("accounts"), w("revenue")],
                                    [[n, int(d["accounts"]), round(d["revenue"], 2)]
                                     for n, d in zip(names, seg.values(), strict=True)]), f"segment.{name}"))
    if not s.blocks:
        s.notes.append(w("no_data"))
    return s


def rfm_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    w = Words(lang)
    s = Section("rfm", w("s3"), help_text("s3", lang))
    if f.rfm_grid is None:
        s.notes.append(w("no_data"))
        return s
    rs, fs = [5, 4, 3, 2, 1], [1, 2, 3, 4, 5]
    vals = [[sum(f.rfm_grid.get((r, q), {}).values()) for q in fs] for r in rs]
    notes = [[_top_segment(spec, f.rfm_grid.get((r, q), {}), lang) for q in fs] for r in rs]
    rows = []
    for (r, q), cell in sorted(f.rfm_grid.items(), reverse=True):
        for seg, k in sorted(cell.items(), key=lambda kv: -kv[1]):
            rows.append([f"R{r} F{q}", label(spec, seg, lang, "segment.rfm"), k])
    s.blocks.append(Block(w("s3"), charts.heatmap(w("s3"), [f"R{r}" for r in rs], [f"F{q}" for q in fs], vals,
                                                  notes=notes, row_label_w=50, cell=78),
                          Table(w("figures"), ["R × F", w("segment"), w("accounts")], rows), "rfm"))
    return s


def _top_segment(spec: PolicySpec, cell: dict[str, int], lang: str) -> str:
    if not cell:
        return ""
    seg = max(sorted(cell), key=lambda k: cell[k])
    return label(spec, seg, lang, "segment.rfm")


def stage_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    w = Words(lang)
    s = Section("stages", w("s4"), help_text("s4", lang))
    if f.funnel:
        names = [label(spec, k, lang) for k in f.funnel]
        s.blocks.append(Block(w("funnel"), charts.funnel(w("funnel"), names, list(f.funnel.values())),
                              Table(w("figures"), [w("value"), w("accounts")],
                                    [[n, v] for n, v in zip(names, f.funnel.values(), strict=True)]), "funnel"))
        states = list(spec.stages.states) if spec.stages else []
        froms = [x for x in ["(none)", *states] if any(a == x for a, _ in f.transitions)] or states
        tos = [x for x in states if any(b == x for _, b in f.transitions)] or states
        vals = [[f.transitions.get((a, b), 0) for b in tos] for a in froms]
        s.blocks.append(Block(w("transitions"),
                              charts.heatmap(w("transitions"), [label(spec, a, lang) for a in froms],
                                             [label(spec, b, lang) for b in tos], vals, cell=84),
                              Table(w("figures"), [w("from"), w("to"), w("accounts")],
                                    [[label(spec, a, lang), label(spec, b, lang), k]
                                     for (a, b), k in f.transitions.items()] or [[w("none_found"), "", 0]]),
                              "transitions"))
    if f.levels:
        names = [label(spec, k, lang) for k in f.levels]
        s.blocks.append(_count_bars(w, "levels", names, list(f.levels.values()), "levels"))
    if not s.blocks:
        s.notes.append(w("no_data"))
    return s


def churn_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    w = Words(lang)
    s = Section("churn", w("s5"), help_text("s5", lang))
    if not f.churn_matrix:
        s.notes.append(w("no_data"))
        return s
    kinds = [k for k in KIND_ORDER if any(a == k for a, _ in f.churn_matrix)]
    vals = [[f.churn_matrix.get((k, r), 0) for r in RISK_ORDER] for k in kinds]
    s.blocks.append(Block(w("kind_risk"), charts.heatmap(w("kind_risk"), [label(spec, k, lang) for k in kinds],
                                                         [label(spec, r, lang) for r in RISK_ORDER], vals, cell=80,
                                                         row_label_w=190),
                          Table(w("figures"), [w("kind"), w("risk"), w("accounts")],
                                [[label(spec, k, lang), label(spec, r, lang), v]
                                 for (k, r), v in sorted(f.churn_matrix.items())]), "kind_risk"))
    names = [f"{lo:g}–{hi:g}" for lo, hi, _ in f.churn_scores]
    counts = [k for _, _, k in f.churn_scores]
    s.blocks.append(_count_bars(w, "score_dist", names, counts, "scores", name_col="score"))
    if "no_explanations" in f.notes:
        s.notes.append(w("no_explanations"))
    rows = []
    for a in f.at_risk:
        text = a["explain"].get(lang) if a["explain"] else None
        why = Raw(details(w("why"), text)) if text else w("explain_missing")
        rows.append([a["account_id"], a["revenue"] if a["revenue"] is not None else "–",
                     label(spec, a["tier"], lang, "tier"), label(spec, a["kind"], lang), label(spec, a["risk"], lang),
                     "" if a["score"] is None else f'{a["score"]:.2f}', why])
    if rows:
        names = [a["account_id"] for a in f.at_risk]
        values = [a["revenue"] or 0.0 for a in f.at_risk]
        s.blocks.append(Block(w("at_risk"), charts.bars(w("at_risk"), names, values),
                              Table(w("figures"), [w("account"), w("revenue"), w("tier"), w("kind"), w("risk"),
                                                   w("score"), w("why")], rows), "at_risk"))
    return s


def actions_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    w = Words(lang)
    s = Section("actions", w("s6"), help_text("s6", lang))
    if not f.actions:
        s.notes.append(w("none_found"))
        return s
    names = [label(spec, a, lang, "action") for a in f.actions]
    s.blocks.append(_count_bars(w, "per_action", names, list(f.actions.values()), "per_action", count_col="count",
                                width=640))
    owners = [label(spec, o, lang, "owner") for o in f.owners]
    s.blocks.append(_count_bars(w, "per_owner", owners, list(f.owners.values()), "per_owner", name_col="owner",
                                count_col="count"))
    days = list(f.timeline)
    rows: list[list[object]] = [[w("overdue"), f.overdue]] if f.overdue else []
    rows += [[f"+{d}", v] for d, v in f.timeline.items() if d >= 0]
    s.blocks.append(Block(w("timeline"), charts.timeline(w("timeline"), days, list(f.timeline.values()),
                                                         overdue_label=w("overdue")),
                          Table(w("figures"), [w("days"), w("count")], rows), "timeline"))
    return s


def rules_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    w = Words(lang)
    s = Section("rules", w("s7"), help_text("s7", lang))
    names: list[str] = []
    values: list[int] = []
    rows: list[list[object]] = []
    for section, counts in f.rules.items():
        for rule, k in counts.items():
            names.append(f"{section}: {label(spec, rule, lang)}")
            values.append(k)
            rows.append([section, label(spec, rule, lang), k])
    s.blocks.append(Block(w("s7"), charts.bars(w("s7"), names, values, width=700),
                          Table(w("figures"), [w("section"), w("rule"), w("accounts")], rows), "rules"))
    unused = [[sec, r] for sec, ids in f.unused_rules.items() for r in ids]
    s.extra.append(Table(w("unused"), [w("section"), w("rule")], unused or [[w("none_found"), ""]]).html())
    return s


def quality_section(spec: PolicySpec, f: Figures, lang: str) -> Section:
    w = Words(lang)
    s = Section("quality", w("s8"), help_text("s8", lang))
    errs = f.row_errors or {}
    s.blocks.append(_count_bars(w, "row_errors", list(errs), list(errs.values()), "row_errors", name_col="field",
                                count_col="errors", none_row=True))
    top = dict(list(f.unknown_fields.items())[:15])
    s.blocks.append(_count_bars(w, "unknown", list(top), list(top.values()), "unknown", name_col="field",
                                count_col="count", width=640, none_row=True))
    return s


SECTIONS = (pyramid_section, segments_section, rfm_section, stage_section, churn_section, actions_section,
            rules_section, quality_section)
