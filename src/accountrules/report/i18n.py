"""zh/en words of the report: the shared vocabulary of :mod:`accountrules.model.enums` first,
then the policy's own labels (tiers, segment values, actions), then the report's own words."""

from __future__ import annotations

from accountrules.check.spec import PolicySpec
from accountrules.model.enums import LABELS

LANGS = ("zh", "en")

WORDS: dict[str, dict[str, str]] = {
    "title": {"zh": "客户组合报告", "en": "Portfolio report"},
    "diff_title": {"zh": "政策变更影响报告", "en": "Policy change report"},
    "accounts": {"zh": "客户数", "en": "Accounts"},
    "revenue": {"zh": "年销售额", "en": "Annual revenue"},
    "profit": {"zh": "年利润", "en": "Annual profit"},
    "share": {"zh": "占比", "en": "Share"},
    "tier": {"zh": "等级", "en": "Tier"},
    "value": {"zh": "取值", "en": "Value"},
    "count": {"zh": "数量", "en": "Count"},
    "s1": {"zh": "1 客户金字塔", "en": "1 Customer pyramid"},
    "s1_lorenz": {"zh": "累计销售额占比(洛伦兹/帕累托曲线)", "en": "Cumulative revenue share (Lorenz / Pareto curve)"},
    "top20": {"zh": "前20%客户的销售额占比", "en": "Revenue share of the top 20% of accounts"},
    "accounts_share": {"zh": "客户占比", "en": "Share of accounts"},
    "revenue_share": {"zh": "销售额占比", "en": "Share of revenue"},
    "s2": {"zh": "2 ABC分类与价值矩阵", "en": "2 ABC classes and value matrix"},
    "s3": {"zh": "3 RFM 网格", "en": "3 RFM grid"},
    "r_score": {"zh": "R 最近度得分", "en": "R (recency) score"},
    "f_score": {"zh": "F 频率得分", "en": "F (frequency) score"},
    "segment": {"zh": "细分", "en": "Segment"},
    "s4": {"zh": "4 阶段模型", "en": "4 Stage model"},
    "funnel": {"zh": "阶段漏斗", "en": "Stage funnel"},
    "transitions": {"zh": "本次运行的阶段迁移(从→到)", "en": "Stage moves of this run (from → to)"},
    "from": {"zh": "从", "en": "From"},
    "to": {"zh": "到", "en": "To"},
    "levels": {"zh": "关系级别", "en": "Relationship levels"},
    "s5": {"zh": "5 流失", "en": "5 Churn"},
    "kind_risk": {"zh": "流失类型 × 风险", "en": "Churn kind × risk"},
    "kind": {"zh": "类型", "en": "Kind"},
    "risk": {"zh": "风险", "en": "Risk"},
    "score_dist": {"zh": "流失评分分布", "en": "Churn-score distribution"},
    "score": {"zh": "评分", "en": "Score"},
    "at_risk": {"zh": "按风险销售额排列的高风险客户", "en": "At-risk accounts by revenue at stake"},
    "account": {"zh": "客户", "en": "Account"},
    "why": {"zh": "决策说明", "en": "Why"},
    "s6": {"zh": "6 行动", "en": "6 Actions"},
    "per_action": {"zh": "各行动数量", "en": "Actions per action"},
    "per_owner": {"zh": "各负责角色的任务数", "en": "Actions per owner role"},
    "owner": {"zh": "负责角色", "en": "Owner role"},
    "timeline": {"zh": "未来90天到期时间线", "en": "Due dates over the next 90 days"},
    "days": {"zh": "距今天数", "en": "Days from today"},
    "due": {"zh": "到期日", "en": "Due"},
    "overdue": {"zh": "已逾期", "en": "Overdue"},
    "s7": {"zh": "7 规则", "en": "7 Rules"},
    "rule": {"zh": "规则", "en": "Rule"},
    "section": {"zh": "部分", "en": "Section"},
    "unused": {"zh": "本组合中未决定任何客户的规则(可用 lint 检查)",
               "en": "Rules that decided no account here (a cue for lint)"},
    "s8": {"zh": "8 数据质量", "en": "8 Data quality"},
    "row_errors": {"zh": "按原因统计的拒绝行", "en": "Refused rows by reason"},
    "field": {"zh": "字段", "en": "Field"},
    "unknown": {"zh": "最常缺失的字段", "en": "Fields most often unknown"},
    "none_found": {"zh": "无", "en": "None"},
    "no_data": {"zh": "此输入中没有这项数据。", "en": "This input does not hold these figures."},
    "no_revenue": {"zh": "决策文件不含销售额与利润: 同时给出客户文件才能显示金额。",
                   "en": "A decisions file holds no revenue or profit: give the accounts file as well for amounts."},
    "no_explanations": {"zh": "此报告来自决策文件, 文件中没有决策说明(用 decide --explain 可写入)。",
                        "en": "This report was built from a decisions file, which holds no explanations "
                              "(decide --explain writes them)."},
    "explain_missing": {"zh": "无说明", "en": "no explanation"},
    "about": {"zh": "如何读这张图", "en": "How to read this"},
    "as_of": {"zh": "决策日期", "en": "Decided on"},
    "today": {"zh": "报告日期", "en": "Report date"},
    "policy": {"zh": "政策", "en": "Policy"},
    "errors": {"zh": "拒绝行", "en": "Refused rows"},
    "decided": {"zh": "已决策", "en": "Decided"},
    "figures": {"zh": "图中数据", "en": "Figures of this chart"},
    "default": {"zh": "(默认)", "en": "(default)"},
    "(none)": {"zh": "(无)", "en": "(none)"},
    "(default)": {"zh": "(默认)", "en": "(default)"},
    "d_tiers": {"zh": "等级迁移矩阵(旧→新)", "en": "Tier migration (old → new)"},
    "d_stages": {"zh": "阶段迁移矩阵(旧→新)", "en": "Stage migration (old → new)"},
    "d_actions": {"zh": "各负责角色增减的行动", "en": "Actions gained and lost per owner"},
    "gained": {"zh": "新增", "en": "Gained"},
    "lost": {"zh": "减少", "en": "Lost"},
    "d_moves": {"zh": "发生变化的客户", "en": "Accounts that move"},
    "old": {"zh": "旧", "en": "Old"},
    "new": {"zh": "新", "en": "New"},
    "old_why": {"zh": "旧政策说明", "en": "Old explanation"},
    "new_why": {"zh": "新政策说明", "en": "New explanation"},
}

HELP: dict[str, dict[str, str]] = {
    "s1": {"zh": "每个等级的客户数、年销售额与年利润。曲线按销售额从高到低累计: "
                 "若前20%客户贡献约80%, 曲线在横轴0.2处接近0.8。",
           "en": "Accounts, annual revenue and annual profit per tier. The curve adds revenue up from the largest "
                 "account: if the top 20% carry about 80%, it passes near 0.8 at 0.2."},
    "s2": {"zh": "每个ABC类别与价值矩阵象限的客户数与年销售额。",
           "en": "Accounts and annual revenue per ABC class and value-matrix quadrant."},
    "s3": {"zh": "行是R得分, 列是F得分(1-5, 5最好); 每格标出客户数与最多的RFM细分。",
           "en": "Rows are the R score, columns the F score (1-5, 5 best); each cell shows its accounts and its "
                 "most common RFM segment."},
    "s4": {"zh": "当前所处阶段、本次运行中发生的阶段迁移以及关系级别。",
           "en": "Where accounts sit now, which stage moves this run made, and relationship levels."},
    "s5": {"zh": "流失类型与风险的交叉、评分分布, 以及按年销售额排序的高风险客户(展开查看说明)。",
           "en": "Churn kind against risk, the score distribution, and the risky accounts by annual revenue "
                 "(expand a row for its explanation)."},
    "s6": {"zh": "到期日 = 决策日期 + 行动的期限; 早于报告日期的为逾期。",
           "en": "Due date = decision date + the action's due period; before the report date means overdue."},
    "s7": {"zh": "每条规则决定的客户数。行动规则的触发次数不在扁平列中; 其行动从未出现的行动规则列为未决定任何客户。",
           "en": "Accounts each rule decided. The flat columns do not record which action rule fired, so an action "
                 "rule is listed as deciding none when none of its actions appears."},
    "s8": {"zh": "被拒绝的行按出错字段统计; 未知字段 = 输入中为空的单元格数。",
           "en": "Refused rows per failing field; unknown = empty cells of the input per field."},
    "diff": {"zh": "同一批客户分别用旧政策与新政策决策后的差异。",
             "en": "The same accounts decided by the old and the new policy."},
}


class Words:
    """``Words(lang)(key)``: the words of one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str) -> str:
        return word(key, self.lang)


def word(key: str, lang: str) -> str:
    w = WORDS.get(key)
    return w[lang] if w else key


def help_text(key: str, lang: str) -> str:
    return HELP[key][lang]


def label(spec: PolicySpec | None, code: str | None, lang: str, section: str = "") -> str:
    """The label of a code: the policy's own first (tier, segment values, actions), else the shared
    vocabulary, else the code itself."""
    if code is None:
        return word("(none)", lang)
    if spec is not None:
        if section == "tier" and spec.tiers is not None and code in spec.tiers.values:
            return spec.tiers.values[code].in_(lang)
        if section.startswith("segment.") and section[8:] in spec.segments:
            vals = spec.segments[section[8:]].values
            if code in vals:
                return vals[code].in_(lang)
        if section == "action" and spec.actions is not None and code in spec.actions.catalog:
            return spec.actions.catalog[code].title.in_(lang)
        if section == "segment_name" and code in spec.segments and spec.segments[code].label is not None:
            lab = spec.segments[code].label
            assert lab is not None
            return lab.in_(lang)
    if code in LABELS:
        return LABELS[code][lang]
    if code in WORDS:
        return WORDS[code][lang]
    return code
