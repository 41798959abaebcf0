"""The backtest as text, in English or Chinese (the figures are the same)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from accountrules.backtest.result import BacktestResult, FlagRow, Measure, SweepRow

__all__ = ["LANGS", "Words", "bgnbd_line", "hiatus_line", "label", "render_sweep", "render_text"]

LANGS: Final = ("en", "zh")

_LABELS: Final[dict[str, tuple[str, str]]] = {
    "title": ("backtest", "回测"),
    # the rules table's placeholders (flags.DEFAULT_RULE, flags.NO_MOVE): words, unlike the rule ids beside them
    "(default)": ("(default)", "(默认)"),
    "(no move)": ("(no move)", "(阶段未变)"),
    "policy": ("policy", "政策"),
    "as_of": ("as of (T)", "回测日期 (T)"),
    "horizon": ("horizon", "观察期"),
    "days": ("days", "天"),
    "clipped": ("requested {req} days, cut at the log's end", "原定 {req} 天, 截至订单记录结束日"),
    "window": ("feature window", "特征窗口"),
    "log": ("order log", "订单记录"),
    "rows": ("rows read", "读取行数"),
    "rows_excluded": ("rows excluded", "剔除行数"),
    "accounts_in_log": ("accounts in the log", "记录中的客户"),
    "accounts_included": ("accounts in the backtest", "参与回测的客户"),
    "accounts_excluded": ("accounts excluded", "剔除客户"),
    "none": ("none", "无"),
    "first_row": ("first at row", "首见于第"),
    "after_horizon": ("orders after T + horizon (not used)", "观察期之后的订单(未使用)"),
    "outcomes": ("outcomes in (T, T + horizon]", "观察期 (T, T+观察期] 内的结果"),
    "churned": ("churned (no order)", "流失(无订单)"),
    "decline": ("value decline (revenue at most {share:.0%} of the window before T)",
                "价值下降(观察期收入不超过T前同长窗口的{share:.0%})"),
    "flags": ("flags: churn kinds, risk levels, baselines", "标记: 流失类型、风险等级、基准方法"),
    "flag": ("flag", "标记"),
    "accounts": ("accounts", "客户数"),
    "churn_rate": ("churn rate", "流失率"),
    "precision": ("precision", "精确率"),
    "recall": ("recall", "召回率"),
    "lift": ("lift", "提升度"),
    "decline_rate": ("decline rate", "价值下降率"),
    "scores": ("churn scores against churned ({level:.0%} intervals)", "流失评分与实际流失({level:.0%} 置信区间)"),
    "score": ("score", "评分"),
    "roc_auc": ("ROC AUC", "ROC AUC"),
    "pr_auc": ("PR AUC", "PR AUC"),
    "compare": ("policy score against the baselines (ROC AUC difference, DeLong)",
                "政策评分与基准方法对比(ROC AUC 之差, DeLong 区间)"),
    "beats": ("beats", "优于"),
    "ties": ("ties", "持平"),
    "loses": ("loses to", "不如"),
    "calibration": ("calibration of the policy score (score band -> observed churn rate)",
                    "政策评分校准(评分区间 -> 实际流失率)"),
    "band": ("score band", "评分区间"),
    "mean_score": ("mean score", "平均评分"),
    "observed": ("observed rate", "实际流失率"),
    "rules": ("rules: accounts each rule decided and their outcome rates", "规则: 每条规则决定的客户及其结果"),
    "section": ("section", "部分"),
    "rule": ("rule", "规则"),
    "revenue": ("revenue at stake (revenue of the window before T)", "涉及收入(T前同长窗口的收入)"),
    "flagged": ("flagged", "被标记"),
    "prior_all": ("all accounts", "全部客户"),
    "prior_flagged": ("flagged accounts", "被标记客户"),
    "lost_flagged": ("flagged and churned", "被标记且流失"),
    "lost_missed": ("churned, not flagged", "流失但未被标记"),
    "stability": ("stability: decided again at T + horizon", "稳定性: 在 T+观察期再次决策"),
    "same": ("unchanged", "未变"),
    "hiatus": ("hiatus rule: inactive after {k} days without an order (chosen at {at} on {acc} accounts, "
               "{h}-day validation)",
               "间断规则: 超过 {k} 天未下单即视为不活跃(于 {at} 以 {acc} 个客户、{h} 天验证期选定)"),
    "hiatus_none": ("hiatus rule: no k could be chosen at {at} ({why}); its score (recency) is still ranked",
                    "间断规则: 无法于 {at} 选定 k ({why}); 仍按其评分(最近一次消费)排序"),
    "bgnbd": ("BG/NBD fitted on orders up to T (weeks): r={r:.3f} alpha={alpha:.3f} a={a:.3f} b={b:.3f}",
              "BG/NBD 以 T 之前的订单拟合(周): r={r:.3f} alpha={alpha:.3f} a={a:.3f} b={b:.3f}"),
    "bgnbd_none": ("BG/NBD: not in this run ({why})", "BG/NBD: 本次未参与({why})"),
    "sweep": ("threshold sweep against churned (nothing is applied: choose a value yourself)",
              "阈值扫描与实际流失(不会自动应用: 请自行选择数值)"),
    "fpr": ("1 - specificity (false positive rate)", "1 - 特异度(误报率)"),
    "tpr": ("recall (true positive rate)", "召回率(真正率)"),
    "item": ("item", "项目"),
    "value": ("value", "数值"),
    "reason.missing_id": ("no account id", "缺少客户编号"),
    "reason.bad_date": ("unparseable date", "日期无法解析"),
    "reason.bad_amount": ("amount not a number", "金额不是数字"),
    "reason.negative_amount": ("negative amount", "金额为负"),
    "reason.after_log_end": ("dated after the log's end", "日期晚于记录结束日"),
    "reason.bad_rows": ("has an excluded row", "含被剔除的行"),
    "reason.first_order_after_as_of": ("first order after T", "首单晚于 T"),
    "reason.decision_error": ("the policy could not decide it", "政策无法决策"),
    "name.policy": ("policy churn score", "政策流失评分"),
    "name.hiatus": ("hiatus (recency)", "间断规则(最近一次消费)"),
    "name.bgnbd": ("BG/NBD 1 - P(alive)", "BG/NBD 1 - P(存活)"),
    "name.bgnbd_quiet": ("BG/NBD P(no order in the horizon)", "BG/NBD P(观察期内无订单)"),
}


def label(key: str, lang: str) -> str:
    en, zh = _LABELS[key]
    return zh if lang == "zh" else en


class Words:
    """``label(key, lang)`` for one language: ``L = Words("zh"); L("recall")``."""

    def __init__(self, lang: str):
        self.lang = lang

    def __call__(self, key: str) -> str:
        return label(key, self.lang)

    def rule(self, name: str) -> str:
        """A rule id as written, or the placeholder for none matched / no move in this language."""
        return label(name, self.lang) if name in ("(default)", "(no move)") else name


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _num(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _money(v: float) -> str:
    return f"{v:,.2f}"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(_width(c) for c in col) for col in zip(head, *rows, strict=True)]
    lines = []
    for r in [head, *rows]:
        cells = [c + " " * (w - _width(c)) if i == 0 else " " * (w - _width(c)) + c
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def _width(text: str) -> int:
    # a CJK character takes two columns in a terminal
    return sum(2 if ord(ch) >= 0x1100 and not 0xFF61 <= ord(ch) <= 0xFFDC else 1 for ch in text)


def _measure_cells(m: Measure, rate: float | None) -> list[str]:
    return [_pct(rate), _pct(m.precision), _pct(m.recall), _num(m.lift)]


def _reasons(counts: dict[str, int], lang: str, first: dict[str, int] | None = None) -> str:
    shown = []
    for k, v in counts.items():
        if not v:
            continue
        where = f" ({label('first_row', lang)} {first[k]})" if first and k in first else ""
        shown.append(f"{label('reason.' + k, lang)} {v:,}{where}")
    return "; ".join(shown) or label("none", lang)


def _flag_rows(flags: Sequence[FlagRow]) -> list[list[str]]:
    return [[f.flag, f"{f.accounts:,}", *_measure_cells(f.churned, f.churn_rate),
             *_measure_cells(f.declined, f.decline_rate)] for f in flags]


def render_text(r: BacktestResult, lang: str = "en") -> str:
    """The summary a person reads: every measure of ``r``, labelled in ``lang``."""
    L = Words(lang)
    ex = r.exclusions
    horizon = f"{r.horizon_days} {L('days')}"
    if r.horizon_requested_days != r.horizon_days:
        horizon += f" ({L('clipped').format(req=r.horizon_requested_days)})"
    out = [f"{L('title')}: {L('policy')} {r.policy} · {L('as_of')} {r.as_of} · {L('horizon')} {horizon} · "
           f"{L('window')} {r.window_days} {L('days')}",
           f"{L('log')}: {r.log_start} .. {r.log_end} · {L('rows')} {ex.rows_read:,} · "
           f"{L('rows_excluded')}: {_reasons(ex.rows_excluded, lang, ex.first_bad_rows)}",
           f"{L('accounts_in_log')} {ex.accounts_in_log:,} · {L('accounts_included')} {ex.accounts_included:,} · "
           f"{L('accounts_excluded')}: {_reasons(ex.accounts_excluded, lang)} · "
           f"{L('after_horizon')} {ex.orders_after_horizon:,}",
           "", f"{L('outcomes')}:",
           f"  {L('churned')}: {_pct(r.churn_rate)}",
           f"  {L('decline').format(share=r.decline_share)}: {_pct(r.decline_rate)}",
           "", f"{L('flags')}:"]
    head = [L("flag"), L("accounts"), L("churn_rate"), L("precision"), L("recall"), L("lift"),
            L("decline_rate"), L("precision"), L("recall"), L("lift")]
    out += _table(head, _flag_rows(r.flags))
    out += ["", f"{L('scores').format(level=r.level)}:"]
    rows = [[L("name." + s.name) if ("name." + s.name) in _LABELS else s.name, f"{s.accounts:,}",
             _num(s.roc_auc, 3), _ci(s.roc_ci), _num(s.pr_auc, 3), _ci(s.pr_ci)] for s in r.scores]
    out += _table([L("score"), L("accounts"), L("roc_auc"), "CI", L("pr_auc"), "CI"], rows)
    if r.comparisons:
        out += ["", f"{L('compare')}:"]
        for c in r.comparisons:
            verdict = L(c.verdict) if c.verdict else "-"
            out.append(f"  {L('name.' + c.score)} {verdict} {L('name.' + c.baseline)}: "
                       f"{_signed(c.difference)} {_ci(c.ci)}")
    out.append("  " + hiatus_line(r, lang))
    out.append("  " + bgnbd_line(r, lang))
    policy = [s for s in r.scores if s.name == "policy"]
    if policy and policy[0].calibration:
        out += ["", f"{L('calibration')}:"]
        rows = [[_band(row), f"{int(row.get('n') or 0):,}", _num(_f(row, 'mean_score'), 1),
                 _pct(_f(row, 'observed_rate'))] for row in policy[0].calibration]
        out += _table([L("band"), L("accounts"), L("mean_score"), L("observed")], rows)
    out += ["", f"{L('rules')}:"]
    out += _table([L("section"), L("rule"), L("accounts"), L("churn_rate"), L("decline_rate"), L("lift")],
                  [[x.section, L.rule(x.rule), f"{x.accounts:,}", _pct(x.churn_rate), _pct(x.decline_rate),
                    _num(x.churn_lift)] for x in r.rules])
    out += ["", f"{L('revenue')}:"]
    out += _table([L("flag"), L("flagged"), L("prior_all"), L("prior_flagged"), L("lost_flagged"),
                   L("lost_missed")],
                  [[v.flag, f"{v.flagged_accounts:,}", _money(v.prior_revenue_all), _money(v.prior_revenue_flagged),
                    _money(v.lost_flagged), _money(v.lost_missed)] for v in r.revenue])
    out += ["", f"{L('stability')}:"]
    for s in r.stability:
        out.append(f"  {s.what}: {L('same')} {s.same:,} / {s.accounts:,} ({_pct(s.share_same)})")
        for before, after in s.matrix.items():
            moves = ", ".join(f"{k} {v:,}" for k, v in after.items())
            out.append(f"    {before} -> {moves}")
    return "\n".join(out) + "\n"


def hiatus_line(r: BacktestResult, lang: str) -> str:
    """How the hiatus k was chosen, or why it could not be."""
    v = r.hiatus_validation
    if r.hiatus_days is None:
        return label("hiatus_none", lang).format(at=v["as_of"], why=v.get("problem"))
    return label("hiatus", lang).format(k=r.hiatus_days, at=v["as_of"], acc=f"{v['accounts']:,}", h=v["horizon_days"])


def bgnbd_line(r: BacktestResult, lang: str) -> str:
    """The fitted BG/NBD parameters, or why there are none."""
    if not r.bgnbd_params:
        return label("bgnbd_none", lang).format(why=r.bgnbd_problem)
    return label("bgnbd", lang).format(**r.bgnbd_params)


def render_sweep(rows: Sequence[SweepRow], lang: str = "en") -> str:
    """One line per swept value (or pair) and flag."""
    if not rows:
        return ""
    names = list(rows[0].values)
    head = [*names, label("flag", lang), label("accounts", lang), label("precision", lang),
            label("recall", lang), label("lift", lang)]
    body = [[*(_value(row.values[n]) for n in names), row.flag, f"{row.accounts:,}",
             _pct(row.churned.precision), _pct(row.churned.recall), _num(row.churned.lift)] for row in rows]
    return "\n".join([f"{label('sweep', lang)}:", *_table(head, body)]) + "\n"


def _value(v: float) -> str:
    return f"{int(v)}" if float(v).is_integer() else f"{v:g}"


def _ci(ci: tuple[float, float] | None) -> str:
    return "-" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _signed(v: float | None) -> str:
    return "-" if v is None else f"{v:+.3f}"


def _f(row: dict[str, float | int | None], key: str) -> float | None:
    v = row.get(key)
    return None if v is None else float(v)


def _band(row: dict[str, float | int | None]) -> str:
    lo, hi = _f(row, "lower"), _f(row, "upper")
    if lo is None or hi is None:
        return "-"
    return f"{lo:g}-{hi:g}"
