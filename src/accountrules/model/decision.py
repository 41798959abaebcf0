"""What a policy decides for one account, with the trace that explains it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol, overload
from typing import Literal as Lit

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

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


class TraceSource(Protocol):
    """Builds a trace's entries when they are first read (see :class:`Trace`)."""

    def build(self) -> tuple[TraceEntry, ...]: ...


class Trace(Sequence[TraceEntry]):
    """The trace of a Decision: an immutable sequence of :class:`TraceEntry`.

    It equals (and pickles, hashes and prints as) the tuple of its entries. An evaluator may
    give a :class:`TraceSource` instead of the entries: most decisions are never explained,
    and a trace is most of a Decision's weight, so its models are built on first access.
    """

    __slots__ = ("_entries", "_source")

    _entries: tuple[TraceEntry, ...] | None
    _source: TraceSource | None

    def __init__(self, entries: Iterable[TraceEntry] = (), *, source: TraceSource | None = None) -> None:
        self._entries = None if source is not None else tuple(entries)
        self._source = source

    @property
    def entries(self) -> tuple[TraceEntry, ...]:
        # read the source before the entries: a thread that built them meanwhile stored the
        # entries before it dropped the source, so one of the two is always there
        source = self._source
        entries = self._entries
        if entries is None:
            assert source is not None
            entries = self._entries = source.build()
            self._source = None
        return entries

    @overload
    def __getitem__(self, i: int) -> TraceEntry: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[TraceEntry, ...]: ...
    def __getitem__(self, i: int | slice) -> TraceEntry | tuple[TraceEntry, ...]:
        return self.entries[i]

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[TraceEntry]:
        return iter(self.entries)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Trace):
            return self is other or self.entries == other.entries
        if isinstance(other, tuple):
            return self.entries == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.entries)

    def __repr__(self) -> str:
        return repr(self.entries)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Trace, (self.entries,))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        entries = handler.generate_schema(tuple[TraceEntry, ...])

        def validate(value: Any, inner: core_schema.ValidatorFunctionWrapHandler) -> Trace:
            return value if isinstance(value, Trace) else Trace(inner(value))

        def serialize(value: Any) -> Any:
            return value.entries if isinstance(value, Trace) else value

        return core_schema.no_info_wrap_validator_function(
            validate, entries,
            serialization=core_schema.plain_serializer_function_ser_schema(serialize, return_schema=entries))


NO_TRACE = Trace()


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
    trace: Trace = NO_TRACE

    def action_codes(self) -> list[str]:
        return [a.code for a in self.actions]

    def explain(self, lang: str = "en") -> str:
        from accountrules.model.explain import render

        return render(self, lang)
