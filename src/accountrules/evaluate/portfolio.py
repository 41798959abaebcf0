"""Portfolio statistics for percentile, cumulative-share and quantile functions.

Statistics are keyed by the canonical text of the ranked expression, so the same
``PortfolioStats`` can be computed once for a batch, stored by a CRM, and passed
to ``Policy.decide(..., portfolio=stats)`` for single decisions.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from accountrules.errors import PortfolioRequiredError

if TYPE_CHECKING:
    import datetime as dt

    from accountrules.compile.plan import Plan


@dataclass(frozen=True, slots=True)
class _Column:
    values: tuple[float, ...]  # sorted ascending, unknowns left out
    positive_prefix: tuple[float, ...]  # prefix sums of max(v, 0), len = n + 1

    @classmethod
    def of(cls, values: Iterable[float | int | None]) -> _Column:
        vs = tuple(sorted(float(v) for v in values if v is not None))
        prefix = (0.0, *accumulate(max(v, 0.0) for v in vs))
        return cls(vs, prefix)

    def percentile(self, x: float | None) -> float | None:
        n = len(self.values)
        if x is None or n == 0:
            return None
        return bisect_left(self.values, x) / n

    def quantile(self, x: float | None, k: int) -> int | None:
        n = len(self.values)
        if x is None or n == 0:
            return None
        # integer arithmetic: a float product like 0.6 * 5 must not fall into the wrong bucket
        return 1 + min(k - 1, (bisect_left(self.values, x) * k) // n)

    def cumshare(self, x: float | None) -> float | None:
        if x is None or not self.values:
            return None
        total = self.positive_prefix[-1]
        if total <= 0:
            return None
        if x <= 0:
            return 1.0
        above = total - self.positive_prefix[bisect_right(self.values, x)]
        return min(1.0, (above + x) / total)


class PortfolioStats:
    """Sorted values of each ranked expression over a portfolio. Immutable and thread-safe."""

    __slots__ = ("_columns", "size")

    def __init__(self, columns: Mapping[str, Iterable[float | int | None]], size: int):
        self._columns = {k: _Column.of(v) for k, v in columns.items()}
        self.size = size

    def keys(self) -> list[str]:
        return sorted(self._columns)

    def _col(self, key: str) -> _Column:
        try:
            return self._columns[key]
        except KeyError:
            raise PortfolioRequiredError(
                f"the portfolio statistics have no column for {key!r}; compute them with this policy's "
                "portfolio_stats()"
            ) from None

    def percentile(self, key: str, x: float | None) -> float | None:
        return self._col(key).percentile(x)

    def cumshare(self, key: str, x: float | None) -> float | None:
        return self._col(key).cumshare(x)

    def quantile(self, key: str, x: float | None, k: int) -> int | None:
        return self._col(key).quantile(x, k)

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "columns": {k: list(c.values) for k, c in self._columns.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PortfolioStats:
        return cls(data["columns"], int(data["size"]))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PortfolioStats) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._columns)))

    def __repr__(self) -> str:
        return f"PortfolioStats(size={self.size}, columns={self.keys()})"


class StatsBuilder:
    """Collects, account by account, the values a policy's portfolio functions rank against.

    Portfolio arguments may read metrics, which may read ``as_of`` or other metrics: the
    local (portfolio-free) metrics are computed here first, on the account's env.
    """

    def __init__(self, plan: Plan, as_of: dt.date):
        self._plan = plan
        self._as_of = as_of
        self._cols: dict[str, list[Any]] = {k: [] for k, _ in plan.portfolio_args}
        self.size = 0

    def add(self, env: dict[str, Any]) -> None:
        """Add one account; ``env`` gains its local metrics and ``as_of``."""
        self.size += 1
        if not self._cols:
            return
        env["as_of"] = self._as_of
        for m in self._plan.local_metrics:
            env[m.name] = m.fn(env)
        for key, fn in self._plan.portfolio_args:
            self._cols[key].append(fn(env))

    def stats(self) -> PortfolioStats:
        return PortfolioStats(self._cols, self.size)


class _NoPortfolio:
    """Stands in when none was given: the first portfolio function raises a clear error."""

    def _fail(self, key: str) -> None:
        raise PortfolioRequiredError(
            f"this policy ranks accounts against a portfolio ({key}); call decide_many(accounts) or pass "
            "decide(account, portfolio=policy.portfolio_stats(accounts))"
        )

    def percentile(self, key: str, x: float | None) -> float | None:
        self._fail(key)
        return None

    def cumshare(self, key: str, x: float | None) -> float | None:
        self._fail(key)
        return None

    def quantile(self, key: str, x: float | None, k: int) -> int | None:
        self._fail(key)
        return None


NO_PORTFOLIO = _NoPortfolio()
