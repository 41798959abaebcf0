"""The public Policy object: load once, decide many times, from any thread."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accountrules.check.policy_check import check_policy
from accountrules.check.policy_schema import read_policy_partial
from accountrules.check.spec import PolicySpec
from accountrules.compile.plan import Plan, compile_policy
from accountrules.errors import EngineUnavailableError, PortfolioRequiredError
from accountrules.evaluate.accounts import env_of, to_account
from accountrules.evaluate.driver import COMPILED, Matcher, run, to_decision
from accountrules.evaluate.portfolio import PortfolioStats, StatsBuilder
from accountrules.model.account import Account
from accountrules.model.decision import Decision, Label, PolicyRef

if TYPE_CHECKING:
    from accountrules.analysis.lint import LintReport
    from accountrules.batch.errors import RowError
    from accountrules.batch.result import BatchResult

AccountLike = Account | Mapping[str, Any]
ENGINES = ("compiled", "durable")


class Policy:
    """A loaded, checked and compiled policy. Immutable; safe to share between threads."""

    def __init__(self, spec: PolicySpec):
        self._plan: Plan = compile_policy(spec)
        self.ref = PolicyRef(name=spec.name, version=spec.version, hash=spec.content_hash)
        self._durable: Matcher | None = None
        self._durable_lock = threading.Lock()

    # -- identity
    @property
    def spec(self) -> PolicySpec:
        return self._plan.spec

    @property
    def plan(self) -> Plan:
        return self._plan

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

    # -- evaluation
    def _matcher(self, engine: str) -> Matcher:
        if engine == "compiled":
            return COMPILED
        if engine != "durable":
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        with self._durable_lock:
            if self._durable is None:
                try:
                    from accountrules.evaluate.durable import DurableMatcher
                except ImportError as e:  # pragma: no cover - depends on the environment
                    raise EngineUnavailableError(
                        "engine='durable' needs durable_rules: pip install 'accountrules[durable]' "
                        f"(Python < 3.13 and a C compiler) — {e}"
                    ) from e
                self._durable = DurableMatcher(self._plan)
            return self._durable

    def portfolio_stats(self, accounts: Iterable[AccountLike], *, as_of: dt.date | None = None) -> PortfolioStats:
        """Statistics for portfolio functions, from the accounts a decision should be ranked among.

        ``as_of`` matters only when a ranked value depends on the date (e.g. ``days_since``).
        """
        builder = StatsBuilder(self._plan, as_of or dt.date.today())
        for i, a in enumerate(accounts):
            builder.add(env_of(to_account(a, i + 1), self._plan.extra_fields, i + 1))
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
        if portfolio is None and self._plan.uses_portfolio:
            # fail even when this account's path would not reach a portfolio function: same call, same answer
            keys = ", ".join(k for k, _ in self._plan.portfolio_args)
            raise PortfolioRequiredError(
                f"policy {self.name!r} ranks accounts against a portfolio ({keys}); call decide_many(accounts) "
                "or pass decide(account, portfolio=policy.portfolio_stats(accounts))"
            )
        acc = to_account(account)
        env = env_of(acc, self._plan.extra_fields)
        return self._decide_env(acc.id, env, as_of or dt.date.today(), portfolio, engine, trace)

    def _decide_env(self, account_id: str, env: dict[str, Any], as_of: dt.date, portfolio: PortfolioStats | None,
                    engine: str, trace: bool) -> Decision:
        raw = run(self._plan, env, self._matcher(engine), account_id, as_of, portfolio)
        return to_decision(self._plan, raw, account_id, as_of, self.ref, trace)

    def decide_many(
        self,
        source: Any,
        *,
        as_of: dt.date | None = None,
        engine: str = "compiled",
        trace: bool = True,
    ) -> BatchResult:
        """Decide a portfolio: statistics are computed once from its valid accounts, results keep input order.

        ``source`` is an iterable of Accounts / nested (or dotted) dicts, a pandas DataFrame, a
        pyarrow Table, or a path to a ``.csv``, ``.jsonl`` or ``.parquet`` file (flat files name
        their columns by field path). Returns a :class:`~accountrules.batch.BatchResult`: one
        Decision or :class:`~accountrules.batch.RowError` per input row; a bad row never stops the
        batch. Call ``.raise_for_errors()`` to turn errors into an exception. See ``docs/batch.md``.
        """
        from accountrules.batch.engine import decide_batch

        return decide_batch(self, source, as_of=as_of, engine=engine, trace=trace)

    def iter_decide(self, source: Any, *, as_of: dt.date | None = None,
                    engine: str = "compiled", trace: bool = True) -> Iterator[Decision | RowError]:
        """Like :meth:`decide_many`, streamed: a file is read twice (statistics, then decisions) and
        only one chunk of rows is held at a time. Yields one Decision or RowError per input row."""
        from accountrules.batch.engine import iter_batches

        for part in iter_batches(self, source, as_of=as_of, engine=engine, trace=trace):
            yield from part

    def lint(self) -> LintReport:
        """Static analysis: gaps, overlaps, dead rules, statechart defects, broken hand-offs (docs/lint.md)."""
        from accountrules.analysis.lint import lint_policy

        return lint_policy(self)


def load_policy(path: str | Path, *, engine: str = "compiled") -> Policy:
    """Load a policy directory (``policy.yaml`` + includes) or a single YAML file.

    ``engine="durable"`` builds the durable_rules evaluator now rather than at the first
    decision, so its limits (:class:`PolicyLimitError`) and a missing extra
    (:class:`EngineUnavailableError`) surface at load time.
    """
    spec, problems = read_policy_partial(path)
    policy = Policy(check_policy(spec, problems))
    policy._matcher(engine)
    return policy
