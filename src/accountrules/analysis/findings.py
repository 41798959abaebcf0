"""What lint reports: codes, severities, bilingual messages, the rules involved and a witness."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from accountrules.analysis.realize import Witness
from accountrules.errors import SourceLocation
from accountrules.model.decision import Label

SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True)
class Kind:
    code: str
    name: str
    severity: str
    title: Label


KINDS: dict[str, Kind] = {k.code: k for k in (
    Kind("AR101", "table-gap", "error", Label(zh="决策表存在空缺: 部分账户没有任何行命中且无默认值",
                                              en="table gap: some accounts match no row and there is no default")),
    Kind("AR102", "unique-overlap", "error", Label(zh="unique 表的行相互重叠", en="rows of a 'unique' table overlap")),
    Kind("AR103", "any-conflict", "error", Label(zh="any 表中重叠的行输出不同",
                                                 en="overlapping rows of an 'any' table disagree")),
    Kind("AR201", "shadowed-row", "warning", Label(zh="行被前面的行遮蔽, 永远不会决定结果",
                                                   en="row is shadowed by earlier rows and never decides")),
    Kind("AR202", "masked-row", "warning", Label(zh="priority 表中该行总被更高优先级的行掩盖",
                                                 en="row is always masked by a higher-priority row")),
    Kind("AR203", "duplicate-row", "warning", Label(zh="两条规则条件完全相同", en="two rules have the same condition")),
    Kind("AR204", "subsumed-rule", "info", Label(zh="规则被另一条规则包含, 从不增加任何结果",
                                                 en="rule is subsumed by another rule and never adds anything")),
    Kind("AR205", "unsatisfiable", "error", Label(zh="条件永远不可能为真", en="condition can never be true")),
    Kind("AR301", "unreachable-state", "warning", Label(zh="从起始阶段无法到达该阶段",
                                                        en="stage is unreachable from start")),
    Kind("AR302", "dead-end-state", "warning", Label(zh="该阶段没有任何出路", en="stage has no way out")),
    Kind("AR303", "shadowed-transition", "warning", Label(zh="迁移被同一阶段前面的迁移遮蔽",
                                                          en="transition is shadowed by an earlier one")),
    Kind("AR304", "flapping", "warning", Label(zh="两个阶段来回迁移: 同一账户每次运行都会切换",
                                               en="two stages flap: the same account switches back every run")),
    Kind("AR401", "unhandled-value", "warning", Label(zh="产出的值没有被后续规则处理",
                                                      en="a produced value is handled by no later rule")),
    Kind("AR402", "value-never-produced", "warning", Label(zh="声明的值从未被产出",
                                                           en="a declared value is never produced")),
    Kind("AR403", "unused-param", "info", Label(zh="参数已定义但从未使用", en="parameter is defined but never used")),
    Kind("AR404", "unused-metric", "info", Label(zh="指标已定义但从未被规则读取",
                                                 en="metric is defined but no rule reads it")),
    Kind("AR501", "monotonic-refuted", "error", Label(zh="声明的单调性被反例推翻",
                                                      en="declared monotonicity is refuted by a counterexample")),
    Kind("AR601", "unused-allow", "warning", Label(zh="lint 接受项没有接受任何发现, 应当删除",
                                                   en="lint allowance accepts no finding and should be removed")),
)}


@dataclass(frozen=True)
class RuleRef:
    """One rule (row, transition, action rule, table, parameter...) a finding involves."""

    section: str
    rule: str
    location: SourceLocation | None


@dataclass(frozen=True)
class Finding:
    code: str
    message: Label
    rules: tuple[RuleRef, ...]
    witness: Witness | None = None
    # confirmed: the witness reproduced on the compiled evaluator; proven: structural, nothing to run
    status: str = "confirmed"
    detail: str = ""
    suppressed: str | None = None  # the reason given in `lint: allow:`
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> Kind:
        return KINDS[self.code]

    @property
    def severity(self) -> str:
        return self.kind.severity

    @property
    def name(self) -> str:
        return self.kind.name

    def suppress(self, reason: str) -> Finding:
        return replace(self, suppressed=reason)

    def witness_case(self) -> dict[str, Any] | None:
        if self.witness is None:
            return None
        first = self.rules[0].rule if self.rules else "policy"
        return self.witness.case(f"lint {self.code} {self.name}: {first}")


def at_least(severity: str, threshold: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(threshold)
