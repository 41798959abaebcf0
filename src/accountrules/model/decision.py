"""What a policy decides for one account, with the trace that explains it."""

from __future__ import annotations

import datetime as dt
from typing import Literal as Lit

from pydantic import BaseModel, ConfigDict, Field

from accountrules.model.enums import ChurnKind, Priority, RiskLevel, Stage

JsonScalar = bool | int | float | str | None


class Label(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    zh: str
    en: str

    def in_(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class PolicyRef(_Out):
    name: str
    version: str
    hash: str = Field(description="sha256 of the policy's source files")


class Outcome(_Out):
    """The result of a decision table: a code, its label, and the row that gave it."""

    code: str
    label: Label
    rule: str | None = Field(None, description="row id; None when the table's default applied")


class StageOutcome(_Out):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True)

    from_: Stage | None = Field(None, alias="from")
    to: Stage
    label: Label
    transition: str | None = Field(None, description="transition id; None when the stage did not change")

    @property
    def changed(self) -> bool:
        return self.transition is not None and self.from_ != self.to


class ChurnOutcome(_Out):
    kind: ChurnKind
    risk: RiskLevel
    label: Label
    score: float | None = None
    rule: str | None = None


class ActionItem(_Out):
    code: str
    title: Label
    owner: str
    priority: Priority
    due: dt.date
    key: str = Field(description="idempotency key: account id + action code + policy version")
    reasons: tuple[str, ...] = Field(description="ids of the rules that prescribed it")


class TraceEntry(_Out):
    section: str = Field(description="metric, segment:<name>, tier, stage, churn or actions")
    rule: str
    output: str | None = None
    note: Lit["matched", "default", "stay", "computed"] = "matched"
    description: Label | None = None
    seed: tuple[str, ...] = ()
    inputs: dict[str, JsonScalar] = Field(default_factory=dict)
    location: str | None = None


class Decision(_Out):
    account_id: str
    as_of: dt.date
    policy: PolicyRef
    tier: Outcome | None = None
    segments: dict[str, Outcome] = Field(default_factory=dict)
    stage: StageOutcome | None = None
    churn: ChurnOutcome | None = None
    actions: tuple[ActionItem, ...] = ()
    metrics: dict[str, JsonScalar] = Field(default_factory=dict)
    trace: tuple[TraceEntry, ...] = ()

    def action_codes(self) -> list[str]:
        return [a.code for a in self.actions]

    def explain(self, lang: str = "en") -> str:
        from accountrules.model.explain import render

        return render(self, lang)
