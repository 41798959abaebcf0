"""What a policy decides for one account, with the trace that explains it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar, Protocol, TypeVar, overload
from typing import Literal as Lit

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

from accountrules.model.enums import ChurnKind, Priority, RiskLevel, Stage

JsonScalar = bool | int | float | str | None
_T_co = TypeVar("_T_co", covariant=True)


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


_T = TypeVar("_T", bound=BaseModel)


class LazySource(Protocol[_T_co]):
    """Builds a lazy sequence's items when they are first read (see :class:`Trace`, :class:`Actions`)."""

    def build(self) -> tuple[_T_co, ...]: ...


class _Lazy(Sequence[_T]):
    """An immutable sequence of models that may be built on first access.

    It equals (and pickles, hashes and prints as) the tuple of its items. An evaluator may give
    a :class:`LazySource` instead of the items: most decisions are never explained nor read
    item by item, and the items are most of a Decision's weight, so their models wait.
    """

    __slots__ = ("_entries", "_source")
    _item: ClassVar[type[BaseModel]]

    _entries: tuple[_T, ...] | None
    _source: LazySource[_T] | None

    def __init__(self, entries: Iterable[_T] = (), *, source: LazySource[_T] | None = None) -> None:
        self._entries = None if source is not None else tuple(entries)
        self._source = source

    @property
    def entries(self) -> tuple[_T, ...]:
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
    def __getitem__(self, i: int) -> _T: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[_T, ...]: ...
    def __getitem__(self, i: int | slice) -> _T | tuple[_T, ...]:
        return self.entries[i]

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[_T]:
        return iter(self.entries)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Lazy):
            return self is other or self.entries == other.entries
        if isinstance(other, tuple):
            return self.entries == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.entries)

    def __repr__(self) -> str:
        return repr(self.entries)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.entries,))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        entries = handler.generate_schema(tuple[cls._item, ...])  # type: ignore[name-defined]

        def validate(value: Any, inner: core_schema.ValidatorFunctionWrapHandler) -> _Lazy[_T]:
            return value if isinstance(value, cls) else cls(inner(value))

        def serialize(value: Any) -> Any:
            return value.entries if isinstance(value, _Lazy) else value

        return core_schema.no_info_wrap_validator_function(
            validate, entries,
            serialization=core_schema.plain_serializer_function_ser_schema(serialize, return_schema=entries))


class Trace(_Lazy[TraceEntry]):
    """The trace of a Decision: an immutable sequence of :class:`TraceEntry`, built on first access."""

    __slots__ = ()
    _item = TraceEntry


class Actions(_Lazy[ActionItem]):
    """The actions of a Decision: an immutable sequence of :class:`ActionItem`, built on first access.

    ``codes`` reads the action codes without building the items.
    """

    __slots__ = ()
    _item = ActionItem

    @property
    def codes(self) -> list[str]:
        codes = getattr(self._source, "codes", None)  # a source may know them without building
        return list(codes()) if codes is not None else [a.code for a in self.entries]


NO_TRACE = Trace()
NO_ACTIONS = Actions()


class Decision(_Out):
    account_id: str
    as_of: dt.date
    policy: PolicyRef
    tier: Outcome | None = None
    segments: dict[str, Outcome] = Field(default_factory=dict)
    stage: StageOutcome | None = None
    churn: ChurnOutcome | None = None
    actions: Actions = NO_ACTIONS
    metrics: dict[str, JsonScalar] = Field(default_factory=dict)
    trace: Trace = NO_TRACE

    def action_codes(self) -> list[str]:
        return self.actions.codes

    def explain(self, lang: str = "en") -> str:
        from accountrules.model.explain import render

        return render(self, lang)
