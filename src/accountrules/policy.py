"""The public Policy object: load once, decide many times, from any thread."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accountrules.batch.ids import is_clean_ascii, normalise_id, shown_id
from accountrules.check.limits import DEFAULT_LIMITS, Budget, LoadLimits
from accountrules.check.policy_check import check_policy
from accountrules.check.policy_files import PolicyFiles, SourceFile
from accountrules.check.policy_schema import read_policy_partial
from accountrules.check.spec import PolicySpec
from accountrules.compile.plan import Plan, compile_policy
from accountrules.errors import (
    AccountValidationError,
    PolicyArgumentError,
    PolicyNotFoundError,
    PortfolioRequiredError,
)
from accountrules.evaluate import registry
from accountrules.evaluate.accounts import env_of, to_account
from accountrules.evaluate.day import decision_day, last_decision_day
from accountrules.evaluate.dict_env import lean_reader_of
from accountrules.evaluate.driver import COMPILED, run, to_decision
from accountrules.evaluate.portfolio import PortfolioStats, StatsBuilder
from accountrules.gc_pause import paused_gc
from accountrules.i18n import N_, Message
from accountrules.model.account import Account
from accountrules.model.decision import Decision, Label, PolicyRef
from accountrules.shipped import find_policy, installed_policies

if TYPE_CHECKING:
    from accountrules.analysis.lint import LintReport
    from accountrules.batch.errors import RowError
    from accountrules.batch.result import BatchResult
    from accountrules.io.columns import ColumnMapping

AccountLike = Account | Mapping[str, Any]
ENGINES = registry.ENGINES


class Policy:
    """A loaded, checked and compiled policy. Immutable; safe to share between threads.

    A policy pickles and deep-copies (e.g. into a ``spawn`` process pool): what travels is
    the YAML text of every file it was read from, read, checked and compiled again on the
    other side, so the copy has the same :attr:`ref` and decides the same. Evaluator
    instances are not copied; each copy builds its own on first use. Two policies are
    equal when they were read from the same texts (same :attr:`ref`, files and names).
    """

    def __init__(self, spec: PolicySpec, *, sources: Sequence[SourceFile] = (), entry: str | None = None,
                 limits: LoadLimits | None = None):
        self._limits = limits if limits is not None else DEFAULT_LIMITS
        self._plan: Plan = compile_policy(spec, self._limits)
        self.ref = PolicyRef(name=spec.name, version=spec.version, hash=spec.content_hash)
        self._sources = tuple(sources)
        self._entry = entry
        self._evaluators = registry.Evaluators(self._plan)
        self._dict_env = lean_reader_of(self._plan)
        self._uses_portfolio = self._plan.uses_portfolio
        self._last_day = last_decision_day(self._plan)

    # -- identity
    @property
    def spec(self) -> PolicySpec:
        return self._plan.spec

    @property
    def plan(self) -> Plan:
        return self._plan

    @property
    def evaluators(self) -> registry.Evaluators:
        """This policy's evaluators by name (``compiled``, ``durable``, ``vector``, ``auto``), built on first use."""
        return self._evaluators

    @property
    def sources(self) -> tuple[SourceFile, ...]:
        """The files this policy was read from (path, displayed name, bytes), in reading order."""
        return self._sources

    @property
    def entry(self) -> str | None:
        """The path it was loaded from (a directory or a file; for :func:`load_policy_text`, a path that
        exists only among its recorded sources); None for a policy built from a spec."""
        return self._entry

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def version(self) -> str:
        return self.ref.version

    @property
    def label(self) -> Label:
        return self.spec.label

    @property
    def uses_portfolio(self) -> bool:
        return self._plan.uses_portfolio

    def __repr__(self) -> str:
        return f"Policy({self.name!r}, version={self.version!r}, hash={self.ref.hash[:12]})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Policy):
            return NotImplemented
        if self is other:
            return True
        if not (self._sources and other._sources):  # built from a spec in memory: compare the specs
            return self.ref == other.ref and self.spec == other.spec
        return self.ref == other.ref and self._sources == other._sources

    def __hash__(self) -> int:
        return hash((self.ref.name, self.ref.version, self.ref.hash))

    @property
    def limits(self) -> LoadLimits:
        """The :class:`~accountrules.LoadLimits` it was loaded under (a copy is read again under them)."""
        return self._limits

    def __reduce__(self) -> tuple[Any, ...]:
        if self._sources and self._entry is not None:
            return (_from_sources, (self._entry, self._sources, self._limits))
        # a policy built from a spec in memory has no texts: the spec itself is plain data
        return (_from_spec, (self.spec, self._limits))

    # -- evaluation
    def portfolio_stats(self, accounts: Iterable[AccountLike], *, as_of: dt.date | None = None) -> PortfolioStats:
        """Statistics for portfolio functions, from the accounts a decision should be ranked among.

        ``as_of`` matters only when a ranked value depends on the date (e.g. ``days_since``).
        """
        builder = StatsBuilder(self._plan, decision_day(as_of, self._last_day))
        read = self._dict_env.env
        for i, a in enumerate(accounts):
            env = read(a)
            if env is None:
                env = env_of(to_account(a, i + 1), self._plan.extra_fields, i + 1)
            # ties of quantile(..., 'first') are broken by id: the id decide_many ranks by
            env["id"] = _checked_id(env["id"], i + 1)
            builder.add(env)
        return builder.stats()

    def decide(
        self,
        account: AccountLike,
        *,
        as_of: dt.date | None = None,
        portfolio: PortfolioStats | None = None,
        engine: str = "compiled",
        trace: bool = True,
    ) -> Decision:
        """Decide one account. ``portfolio`` is required when the policy ranks accounts (see
        :meth:`portfolio_stats`). ``engine`` is one of ``compiled`` (default), ``durable``, ``vector``
        (a batch of one) or ``auto`` (``compiled``, the fastest for one account); see ``docs/batch.md``."""
        # the per-account default skips the registry: this call is the hot path of a CRM's request
        chosen = "compiled" if engine == "compiled" or engine == "auto" else self._evaluators.resolve(
            engine, batch=False)
        # the usual date passes one type test and one comparison; anything else is checked in full
        day = as_of if type(as_of) is dt.date and as_of <= self._last_day else decision_day(as_of, self._last_day)
        # one test, as cheap as `portfolio is None`, also refuses what is no PortfolioStats (e.g. a dict of a
        # cache: it failed with an AttributeError deep in a portfolio function)
        if self._uses_portfolio and type(portfolio) is not PortfolioStats and not isinstance(portfolio, PortfolioStats):
            self._refuse_portfolio(portfolio)
        if chosen == "vector":
            from accountrules.batch.engine import decide_one

            return decide_one(self, to_account(account), as_of=day, stats=portfolio, engine=chosen, trace=trace)
        plan = self._plan
        # a plain dict whose every value the model would take unchanged skips building the model
        env = self._dict_env.env(account)
        if env is not None:
            aid = env["id"]
            if not is_clean_ascii(aid):  # the usual id is its own spelling
                aid = env["id"] = _checked_id(aid)
        else:
            acc = to_account(account)
            aid = _checked_id(acc.id)
            env = env_of(acc, plan.extra_fields)
            env["id"] = aid
        # written here, not in a helper: one Python call fewer on the hot path of a CRM's request
        matcher = COMPILED if chosen == "compiled" else self._evaluators.matcher(chosen)
        return to_decision(plan, run(plan, env, matcher, aid, day, portfolio), aid, day, self.ref, trace)

    def _refuse_portfolio(self, portfolio: object) -> None:
        # fail even when this account's path would not reach a portfolio function: same call, same answer
        keys = ", ".join(k for k, _ in self._plan.portfolio_args)
        if portfolio is None:
            raise PortfolioRequiredError(
                f"policy {self.name!r} ranks accounts against a portfolio ({keys}); call decide_many(accounts) "
                "or pass decide(account, portfolio=policy.portfolio_stats(accounts))"
            )
        raise PortfolioRequiredError(Message(
            N_("portfolio must be the PortfolioStats of policy.portfolio_stats(accounts), not {kind}"),
            kind=type(portfolio).__name__))

    def decide_many(
        self,
        source: Any,
        *,
        as_of: dt.date | None = None,
        engine: str = "auto",
        trace: bool = True,
        columns: ColumnMapping | None = None,
        progress: Callable[[str, int, int | None], None] | None = None,
    ) -> BatchResult:
        """Decide a portfolio: statistics are computed once from its valid accounts, results keep input order.

        ``as_of``: the decision date; without it, the day a ``derive_features`` table or Parquet file records
        (``accountrules.as_of`` in its schema metadata), else today.

        ``source`` is an iterable of Accounts / nested (or dotted) dicts, a pandas DataFrame, a
        pyarrow Table, or a path to a ``.csv``, ``.jsonl`` or ``.parquet`` file (flat files name
        their columns by field path). Returns a :class:`~accountrules.batch.BatchResult`: one
        Decision or :class:`~accountrules.batch.RowError` per input row; a bad row never stops the
        batch. Call ``.raise_for_errors()`` to turn errors into an exception. See ``docs/batch.md``.

        ``engine``: ``auto`` (default) is the fastest evaluator available here that the shipped
        cases run on: ``vector`` when numpy is importable, else ``compiled`` (``compiled`` too for a
        batch of fewer than ``accountrules.evaluate.registry.SMALL_CHUNK`` rows). Or name one:
        ``compiled``, ``durable``, ``vector``. An unknown name raises
        :class:`~accountrules.errors.UnknownEngineError`; a missing extra
        :class:`~accountrules.errors.EngineUnavailableError`.

        ``columns`` (:class:`~accountrules.io.columns.ColumnMapping`) reads an export as it comes:
        its columns renamed to field paths (``{"客户编号": "id"}``), columns that are no field
        refused (default) or ignored, and the text encoding of a CSV or JSONL file. ``progress(phase,
        rows done, rows in total or None)`` is called as chunks are read and decided.
        """
        from accountrules.batch.engine import decide_batch

        return decide_batch(self, source, as_of=as_of, engine=engine, trace=trace, columns=columns,
                            progress=progress)

    def iter_decide(self, source: Any, *, as_of: dt.date | None = None, engine: str = "auto",
                    trace: bool = True, columns: ColumnMapping | None = None) -> Iterator[Decision | RowError]:
        """Like :meth:`decide_many` (same engines, same default ``auto``), streamed: a file is read
        twice (statistics, then decisions) and only one chunk of rows is held at a time. Yields one
        Decision or RowError per input row."""
        from accountrules.batch.engine import iter_batches

        self._evaluators.prepare(engine, batch=True)  # an unknown or missing engine fails at the call
        day = decision_day(as_of, self._last_day)  # and so does a date that is none
        parts = iter_batches(self, source, as_of=day, engine=engine, trace=trace, columns=columns)
        return (item for part in parts for item in part)

    def lint(self) -> LintReport:
        """Static analysis: gaps, overlaps, dead rules, statechart defects, broken hand-offs (docs/lint.md)."""
        from accountrules.analysis.lint import lint_policy

        return lint_policy(self)


def _checked_id(raw: str, row: int | None = None) -> str:
    """``raw`` under the account id rule of batches (``accountrules.batch.ids``: NFKC, stripped; control,
    format and blank ids refused), so one account decides, and ranks among equal values, alike in
    ``decide``, ``portfolio_stats`` and ``decide_many``, on every evaluator."""
    aid, why = normalise_id(raw)
    if aid is None:
        raise AccountValidationError([("id", why or "account id refused")], account_id=shown_id(raw), row=row)
    return aid


def load_policy(path: str | Path, *, engine: str = "compiled",
                allow: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] = (),
                limits: LoadLimits | None = None) -> Policy:
    """Load a policy directory (``policy.yaml`` + includes), a single YAML file, or an installed
    policy by name (``"express"``, ``"postal"``, or one a policy package registers; see
    :mod:`accountrules.shipped`) when no file or directory of that name exists.

    ``extends:`` may name a policy in the folder that holds this one (its siblings, as
    ``rulesets/postal`` extends ``rulesets/express``) or in a folder listed in ``allow`` (a list of
    folders, or one);
    ``include:`` only files inside the policy's own directory. Only regular files are read.
    A path that names nothing raises :class:`PolicyNotFoundError`. To load a policy held in
    memory (e.g. a database), see :func:`load_policy_text`.

    ``engine`` names an evaluator to build now rather than at the first decision
    (``compiled``, the default, needs no building): with ``durable`` its limits
    (:class:`PolicyLimitError`), with ``durable`` or ``vector`` a missing extra
    (:class:`EngineUnavailableError`) surface at load time; ``auto`` builds what a batch would use.

    ``limits`` bounds the policy's size and the cost of loading and deciding (rows per table,
    expression nodes, rows tested per decision, an optional CPU-time budget); past one, a
    :class:`PolicyLimitError` names the file, line and limit. See :class:`~accountrules.LoadLimits`.
    """
    where = Path(_path_text(path))
    if not where.exists():
        where = _installed(str(path))
    files = PolicyFiles(allow=allow)
    policy = build_policy(where, files, str(files.resolve(where)), limits)
    policy.evaluators.prepare(engine, batch=True)
    return policy


def build_policy(path: str | Path, files: PolicyFiles, entry: str, limits: LoadLimits | None) -> Policy:
    """Read, check and compile the policy at ``path`` from ``files`` under ``limits``: every loader's last step."""
    budget = Budget(limits if limits is not None else DEFAULT_LIMITS)
    with paused_gc():
        spec, problems = read_policy_partial(path, files=files, budget=budget)
        checked = check_policy(spec, problems)
        del spec  # the unchecked rows and expressions: freed now, so the collector never visits them
        tables = [t for t in (*checked.segments.values(), checked.tiers, checked.churn) if t is not None]
        budget.check_time(max(tables, key=lambda t: len(t.rows)).location if tables else None)
        policy = Policy(checked, sources=files.files, entry=entry, limits=budget.limits)
    return policy


def _path_text(path: object) -> str:
    """``path`` as text, or a typed error saying what ``load_policy`` takes (pathlib's own TypeError names
    neither the function nor what to pass instead)."""
    text = os.fspath(path) if isinstance(path, str | os.PathLike) else None
    if isinstance(text, str):
        return text
    hint = None
    if isinstance(text if text is not None else path, bytes):
        hint = Message(N_("decode a bytes path first: load_policy(os.fsdecode(path))"))
    elif isinstance(path, Mapping):
        hint = Message(N_("a policy held as a mapping is loaded with load_policy_mapping"))
    raise PolicyArgumentError(Message(N_("load_policy takes a path (str or os.PathLike) or the name of an installed "
                                         "policy, got {type}"), type=type(path).__name__), hint=hint)


def _installed(name: str) -> Path:
    found = find_policy(name)
    if found is not None:
        return found
    known = installed_policies()
    same = Path(name).name
    hint = (Message(N_("the installed policy is load_policy({name!r})"), name=same) if same in known
            else Message(N_("installed policies: {names}"), names=", ".join(known) or "none"))
    raise PolicyNotFoundError(Message(N_("no such file or directory: {name!r}"), name=name), hint=hint)


def _from_sources(entry: str, sources: Sequence[SourceFile], limits: LoadLimits | None = None) -> Policy:
    """Read a policy again from the texts it was read from (how a pickled Policy is restored)."""
    return build_policy(entry, PolicyFiles(sources), entry, limits)


def _from_spec(spec: PolicySpec, limits: LoadLimits) -> Policy:
    return Policy(spec, limits=limits)
