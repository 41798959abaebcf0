"""The backtest as one self-contained HTML page, drawn with the portfolio report's SVG charts and page
layout (:mod:`accountrules.report.charts`, :mod:`accountrules.report.page`): each chart beside a
table of its figures, no script, nothing fetched."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Final

from accountrules.backtest.result import BacktestResult, SweepRow
from accountrules.backtest.text import Words, bgnbd_line, hiatus_line, label
from accountrules.report.charts import bars, curve, heatmap
from accountrules.report.page import Block, Section, Table, render

__all__ = ["render_html"]

_ABOUT: Final = {
    "outcomes": ("What happened in (T, T + horizon] to the accounts the policy decided at T, and what the "
                 "backtest left out and why.",
                 "政策在 T 日决策的客户在 (T, T+观察期] 内的实际结果, 以及被剔除的数据和原因。"),
    "flags": ("Each flag (churn kind, risk level, baseline rule) against churned: precision = share of flagged "
              "accounts that churned, recall = share of churners flagged, lift = precision / base rate.",
              "每个标记(流失类型、风险等级、基准规则)与实际流失对比: 精确率 = 被标记客户中流失的比例, "
              "召回率 = 流失客户中被标记的比例, 提升度 = 精确率 / 基础流失率。"),
    "scores": ("Churn scores ranked against churned: ROC curve (area = ROC AUC), cumulative gains (share of "
               "churners found among the top-scored accounts) and the calibration of the policy score.",
               "流失评分与实际流失: ROC 曲线(面积即 ROC AUC)、累计增益(评分最高的客户中找到的流失客户比例)"
               "以及政策评分的校准。"),
    "rules": ("The rule that decided each account's churn kind and risk, its tier and its stage move: how many "
              "accounts each decided and how they turned out.",
              "决定每个客户流失类型与风险、等级和阶段迁移的规则: 各决定了多少客户, 结果如何。"),
    "revenue": ("Revenue of the window before T among flagged accounts, and how much of it belonged to accounts "
                "that then churned.", "被标记客户在 T 前同长窗口的收入, 以及其中随后流失客户的部分。"),
    "stability": ("Tier and stage at T against the same policy deciding again at T + horizon.",
                  "T 日的等级与阶段, 与同一政策在 T+观察期再次决策的结果对比。"),
    "sweep": ("Precision, recall and lift for each swept value. Nothing is applied: choose a value yourself.",
              "每个扫描值的精确率、召回率与提升度。不会自动应用: 请自行选择数值。"),
}


def _about(key: str, lang: str) -> str:
    en, zh = _ABOUT[key]
    return zh if lang == "zh" else en


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _ci(ci: tuple[float, float] | None) -> str:
    return "-" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _name(key: str, lang: str) -> str:
    try:
        return label("name." + key, lang)
    except KeyError:
        return key


def render_html(r: BacktestResult, lang: str = "en", sweep: Sequence[SweepRow] = ()) -> str:
    """The page of ``r`` (and of a sweep, when given), labelled in ``lang``."""
    L = Words(lang)
    ex = r.exclusions
    meta = [(L("policy"), r.policy), (L("as_of"), r.as_of.isoformat()),
            (L("horizon"), f"{r.horizon_days} {L('days')}"), (L("accounts_included"), f"{ex.accounts_included:,}"),
            (L("churned"), _pct(r.churn_rate))]
    notes = []
    if r.horizon_requested_days != r.horizon_days:
        notes.append(f"{L('horizon')}: {L('clipped').format(req=r.horizon_requested_days)} ({r.log_end})")
    sections = [_outcomes(r, lang), _flags(r, lang), _scores(r, lang), _rules(r, lang), _revenue(r, lang),
                _stability(r, lang)]
    if sweep:
        sections.append(_sweep(sweep, lang))
    return render(f"{L('title')} · {r.policy} · {r.as_of}", lang, meta, sections, notes)


def _outcomes(r: BacktestResult, lang: str) -> Section:
    L = Words(lang)
    ex = r.exclusions
    labels = [L("accounts_included")] + [L("reason." + k) for k in ex.accounts_excluded]
    values = [float(ex.accounts_included)] + [float(v) for v in ex.accounts_excluded.values()]
    rows: list[list[object]] = [[lab, int(v)] for lab, v in zip(labels, values, strict=True)]
    rows += [[f"{L('rows_excluded')}: {L('reason.' + k)}", v] for k, v in ex.rows_excluded.items()]
    rows += [[L("rows"), ex.rows_read], [L("churned"), _pct(r.churn_rate)],
             [L("decline").format(share=r.decline_share), _pct(r.decline_rate)]]
    table = Table(L("accounts"), [L("item"), L("value")], rows)
    block = Block(L("accounts_in_log"), bars(L("accounts_in_log"), labels, values), table, "accounts")
    return Section("outcomes", L("outcomes"), _about("outcomes", lang), [block])


def _flags(r: BacktestResult, lang: str) -> Section:
    L = Words(lang)
    shown = [f for f in r.flags if f.accounts]
    rows: list[list[object]] = [[f.flag, f.accounts, _pct(f.churn_rate), _pct(f.churned.precision),
                                 _pct(f.churned.recall), "-" if f.churned.lift is None else round(f.churned.lift, 2)]
                                for f in r.flags]
    table = Table(L("flags"), [L("flag"), L("accounts"), L("churn_rate"), L("precision"), L("recall"), L("lift")],
                  rows)
    svg = bars(f"{L('lift')} ({L('churned')})", [f.flag for f in shown],
               [round(f.churned.lift or 0.0, 2) for f in shown])
    return Section("flags", L("flags"), _about("flags", lang), [Block(L("lift"), svg, table, "lift")])


def _scores(r: BacktestResult, lang: str) -> Section:
    L = Words(lang)
    blocks = []
    summary = Table(L("scores").format(level=r.level), [L("score"), L("accounts"), L("roc_auc"), "CI",
                                                        L("pr_auc"), "CI"],
                    [[_name(s.name, lang), s.accounts, _num(s.roc_auc), _ci(s.roc_ci), _num(s.pr_auc),
                      _ci(s.pr_ci)] for s in r.scores])
    for s in r.scores:
        if not s.roc_points:
            continue
        title = f"ROC · {_name(s.name, lang)} · AUC {_num(s.roc_auc)}"
        svg = curve(title, s.roc_points, x_label=L("fpr"), y_label=L("tpr"))
        blocks.append(Block(title, svg, summary, f"roc-{s.name}"))
    for s in r.scores:
        if not s.gains:
            continue
        title = f"{L('lift')} · {_name(s.name, lang)}"
        svg = curve(title, s.gains, x_label=L("flagged"), y_label=L("recall"))
        lift_rows: list[list[object]] = [[f"{x:.0%}", _pct(y), round(y / x, 2) if x else "-"]
                                         for x, y in _deciles(s.gains)]
        blocks.append(Block(title, svg, Table(title, [L("flagged"), L("recall"), L("lift")], lift_rows),
                            f"gains-{s.name}"))
    policy = [s for s in r.scores if s.name == "policy" and s.calibration]
    if policy:
        cal = policy[0].calibration
        bands = [_band(c) for c in cal]
        rates = [round(100 * float(c.get("observed_rate") or 0.0), 1) for c in cal]
        rows: list[list[object]] = [[b, int(c.get("n") or 0), _num(_opt(c.get("mean_score")), 1),
                                     _pct(_opt(c.get("observed_rate")))] for b, c in zip(bands, cal, strict=True)]
        blocks.append(Block(L("calibration"), bars(L("calibration") + " (%)", bands, rates),
                            Table(L("calibration"), [L("band"), L("accounts"), L("mean_score"), L("observed")], rows),
                            "calibration"))
    sec = Section("scores", L("scores").format(level=r.level), _about("scores", lang), blocks)
    for c in r.comparisons:
        verdict = L(c.verdict) if c.verdict else "-"
        diff = "-" if c.difference is None else f"{c.difference:+.3f}"
        sec.notes.append(f"{_name(c.score, lang)} {verdict} {_name(c.baseline, lang)}: {diff} {_ci(c.ci)}")
    sec.extra.append("<p>" + escape(hiatus_line(r, lang)) + "</p><p>" + escape(bgnbd_line(r, lang))
                     + "</p>")
    return sec


def _rules(r: BacktestResult, lang: str) -> Section:
    L = Words(lang)
    churn = [x for x in r.rules if x.section == "churn"]
    rows: list[list[object]] = [[L.rule(x.rule), x.section, x.accounts, _pct(x.churn_rate), _pct(x.decline_rate),
                                 "-" if x.churn_lift is None else round(x.churn_lift, 2)] for x in r.rules]
    table = Table(L("rules"), [L("rule"), L("section"), L("accounts"), L("churn_rate"), L("decline_rate"),
                               L("lift")], rows)
    svg = bars(L("churn_rate") + " (%)", [L.rule(x.rule) for x in churn],
               [round(100 * (x.churn_rate or 0.0), 1) for x in churn])
    return Section("rules", L("rules"), _about("rules", lang), [Block(L("churn_rate"), svg, table, "rules")])


def _revenue(r: BacktestResult, lang: str) -> Section:
    L = Words(lang)
    rows: list[list[object]] = [[v.flag, v.flagged_accounts, v.prior_revenue_all, v.prior_revenue_flagged,
                                 v.lost_flagged, v.lost_missed] for v in r.revenue]
    table = Table(L("revenue"), [L("flag"), L("flagged"), L("prior_all"), L("prior_flagged"), L("lost_flagged"),
                                 L("lost_missed")], rows)
    labels = [f"{v.flag}: {L('lost_flagged')}" for v in r.revenue] + [f"{v.flag}: {L('lost_missed')}"
                                                                        for v in r.revenue]
    values = [v.lost_flagged for v in r.revenue] + [v.lost_missed for v in r.revenue]
    return Section("revenue", L("revenue"), _about("revenue", lang),
                   [Block(L("revenue"), bars(L("revenue"), labels, values), table, "revenue")])


def _stability(r: BacktestResult, lang: str) -> Section:
    L = Words(lang)
    blocks = []
    for s in r.stability:
        before = list(s.matrix)
        after = sorted({k for row in s.matrix.values() for k in row})
        values = [[float(s.matrix[b].get(a, 0)) for a in after] for b in before]
        rows: list[list[object]] = [[b, *(s.matrix[b].get(a, 0) for a in after)] for b in before]
        title = f"{s.what}: {L('same')} {s.same:,} / {s.accounts:,} ({_pct(s.share_same)})"
        blocks.append(Block(title, heatmap(title, before, after, values), Table(title, ["T \\ T+h", *after], rows),
                            f"stability-{s.what}"))
    return Section("stability", L("stability"), _about("stability", lang), blocks)


def _sweep(rows: Sequence[SweepRow], lang: str) -> Section:
    L = Words(lang)
    names = list(rows[0].values)
    body: list[list[object]] = [[", ".join(f"{n}={row.values[n]:g}" for n in names), row.flag, row.accounts,
                                 _pct(row.churned.precision), _pct(row.churned.recall),
                                 "-" if row.churned.lift is None else round(row.churned.lift, 2)] for row in rows]
    table = Table(L("sweep"), [", ".join(names), L("flag"), L("accounts"), L("precision"), L("recall"), L("lift")],
                  body)
    first = rows[0].flag
    picked = [row for row in rows if row.flag == first]
    svg = bars(f"{L('recall')} · {first}", [", ".join(f"{row.values[n]:g}" for n in names) for row in picked],
               [round(100 * (row.churned.recall or 0.0), 1) for row in picked])
    return Section("sweep", L("sweep"), _about("sweep", lang), [Block(L("sweep"), svg, table, "sweep")])


def _num(v: float | None, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _opt(v: float | int | None) -> float | None:
    return None if v is None else float(v)


def _band(row: dict[str, float | int | None]) -> str:
    lo, hi = row.get("lower"), row.get("upper")
    return "-" if lo is None or hi is None else f"{float(lo):g}-{float(hi):g}"


def _deciles(gains: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Recall at the first gains point reaching each tenth of the accounts (ties keep whole groups)."""
    out = []
    for tenth in range(1, 11):
        target = tenth / 10
        for x, y in gains:
            if x >= target - 1e-9:
                out.append((x, y))
                break
    return list(dict.fromkeys(out))
