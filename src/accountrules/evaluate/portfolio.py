"""Portfolio statistics for percentile, cumulative-share (with or without the account) and quantile functions.

Statistics are keyed by the canonical text of the ranked expression, so the same
``PortfolioStats`` can be computed once for a batch, stored by a CRM, and passed
to ``Policy.decide(..., portfolio=stats)`` for single decisions.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from accountrules.errors import PortfolioRequiredError

_INF = float("inf")

if TYPE_CHECKING:
    import datetime as dt

    import numpy as np
    from numpy.typing import NDArray

    from accountrules.compile.plan import Plan

    # sorted values: the statistics' array('d'), or a batch's own numpy column (read without a copy)
    Floats = array[float] | NDArray[np.float64]


class _Column:
    """One ranked expression's statistics. Immutable once built, except that the prefix sums are
    computed on first use (see :meth:`positive_prefix`)."""

    # flat float64 arrays: compact (8 bytes a value), picklable, bisect-able as they are, and numpy
    # reads them without a copy (``numpy.frombuffer``), so a batch never rebuilds them per chunk
    __slots__ = ("_prefix", "_scaled", "ids", "values")

    def __init__(self, values: array[float], positive_prefix: array[float] | None, ids: Sequence[str] | None):
        self.values = values  # sorted ascending, unknowns left out
        # prefix sums of max(v, 0), len = n + 1: only cumshare reads them, so they are built when it
        # first does (None until then), not for every ranked key of every portfolio
        self._prefix = positive_prefix
        # the prefix sums of the values scaled down, built only when the plain ones pass the float maximum
        self._scaled: tuple[array[float], float] | None = None
        # for a key ranked with ties broken by account id: ids[i] is the account holding values[i], the
        # pairs sorted by (value, id); a tuple, or compact PackedIds when numpy built the column
        self.ids = ids

    @classmethod
    def of(cls, values: Iterable[float | int | None], ids: Iterable[Any] | None = None) -> _Column:
        if ids is None:
            # NaN is no value a rank could be taken against (bisect cannot place it): unknown, as None
            vs = array("d", sorted(f for f in (float(v) for v in values if v is not None) if f == f))
            return cls.from_sorted(vs)
        pairs = sorted((f, _id_text(i)) for v, i in zip(values, ids, strict=True) if v is not None
                       for f in (float(v),) if f == f)
        return cls.from_sorted(array("d", (v for v, _ in pairs)), ids=tuple(i for _, i in pairs))

    @classmethod
    def from_sorted(cls, values: array[float], positive_prefix: array[float] | None = None,
                    ids: Sequence[str] | None = None) -> _Column:
        if positive_prefix is not None and len(positive_prefix) != len(values) + 1:
            raise ValueError("positive_prefix must hold one sum more than there are values")
        if ids is not None and len(ids) != len(values):
            raise ValueError("ids must hold one account id per value")
        return cls(values, positive_prefix, ids)

    @property
    def positive_prefix(self) -> array[float]:
        got = self._prefix
        if got is None:
            # two threads may both get here: each builds the same sums, and either may stay
            got = self._prefix = prefix_sums(self.values)
        return got

    @property
    def share_prefix(self) -> tuple[array[float], float]:
        """The prefix sums cumshare divides, and the factor they hold the values at: the plain sums
        (factor 1) unless their total passes the float maximum (several amounts near 1e308); then the
        sums of the values times :func:`share_scale`, which no sum of them can pass. A power of two only
        moves the exponent, so the shares are those of exact arithmetic as before, not infinity's."""
        prefix = self.positive_prefix
        if prefix[-1] != _INF:
            return prefix, 1.0
        got = self._scaled
        if got is None:
            got = self._scaled = share_prefix(self.values, prefix)
        return got

    @property
    def built_prefix(self) -> array[float] | None:
        """The prefix sums if built, else None (pickling does not build them)."""
        return self._prefix

    def percentile(self, x: float | None) -> float | None:
        n = len(self.values)
        if x is None or n == 0 or x != x:
            return None
        return bisect_left(self.values, x) / n

    def quantile(self, x: float | None, k: int) -> int | None:
        n = len(self.values)
        if x is None or n == 0 or x != x:
            return None
        # integer arithmetic: a float product like 0.6 * 5 must not fall into the wrong bucket
        return 1 + min(k - 1, (bisect_left(self.values, x) * k) // n)

    def quantile_first(self, x: float | None, account_id: str, k: int) -> int | None:
        # the rule of docs/policy-language.md: the position of (x, account_id) among the portfolio's
        # (value, id) pairs sorted ascending, as pandas' rank(method="first") over rows sorted by id
        n = len(self.values)
        if x is None or n == 0 or x != x:
            return None
        ids = self.ids
        assert ids is not None  # PortfolioStats.quantile_first checks
        values = self.values
        # The bucket passes q when p >= ceil(q * n / k), i.e. when the pair at c = ceil(q * n / k) - 1
        # is below (x, id). The values below x pass the first lo * k // n boundaries; each further
        # boundary falls on a value >= x and passes only while it holds x and a smaller id. So one
        # bisect and, mostly, one comparison: no search among the ties.
        b = min(k - 1, (bisect_left(values, x) * k) // n)
        while b < k - 1:
            c = -((-(b + 1) * n) // k) - 1
            if values[c] != x or not ids[c] < account_id:
                break
            b += 1
        return 1 + b

    def first_boundaries(self, k: int) -> tuple[tuple[float, str], ...]:
        ids = self.ids
        assert ids is not None  # PortfolioStats checks
        n = len(self.values)
        cuts = [-((-q * n) // k) - 1 for q in range(1, k)] if n else []
        return tuple((self.values[c], ids[c]) for c in cuts)

    def cumshare(self, x: float | None) -> float | None:
        if x is None or not self.values or x != x:
            return None
        prefix, scale = self.share_prefix
        total = prefix[-1]
        if total <= 0:
            return None
        if x <= 0:
            return 1.0
        above = total - prefix[bisect_right(self.values, x)]
        return min(1.0, (above + x * scale) / total)

    def cumshare_above(self, x: float | None) -> float | None:
        # the share BEFORE this account: what practitioners compare with an ABC cut-off, so the
        # account that crosses the line belongs to the class it completes
        if x is None or not self.values or x != x:
            return None
        prefix, _ = self.share_prefix
        total = prefix[-1]
        if total <= 0:
            return None
        above = total - prefix[bisect_right(self.values, x)]
        return min(1.0, above / total)


@dataclass(frozen=True, slots=True)
class _Bounds:
    """What ``quantile(x, k, 'first')`` reads of a key, and nothing more: the number of known values
    and, for each k, the (value, id) pair at each of the k - 1 bucket boundaries (see
    :meth:`PortfolioStats.first_boundaries`). An account passes boundary ``q`` exactly when that pair
    is below its own, so these give the bucket of any account, as the whole column would."""

    count: int
    pairs: Mapping[int, tuple[tuple[float, str], ...]]

    def quantile_first(self, key: str, x: float | None, account_id: str, k: int) -> int | None:
        if x is None or x != x:
            return None
        pairs = self.boundaries(key, k)  # a k these were not kept for fails alike with or without values
        return None if self.count == 0 else 1 + sum(1 for pair in pairs if pair < (x, account_id))

    def boundaries(self, key: str, k: int) -> tuple[tuple[float, str], ...]:
        got = self.pairs.get(k)
        if got is None:
            raise PortfolioRequiredError(
                f"the portfolio statistics of {key!r} were kept for quantile(..., {sorted(self.pairs)}, 'first') "
                f"only, not for k = {k}; compute them with this policy's portfolio_stats()")
        return got


class PortfolioStats:
    """Sorted values of each ranked expression over a portfolio. Immutable and thread-safe.

    Unknown values (``None``, NaN) are left out of a column; ranking an unknown value gives
    unknown. Each column is held as a sorted ``array('d')``, plus the prefix sums cumshare
    needs, built once when a cumshare first reads them: single lookups bisect them, a batch
    searches them with numpy. A column ranked by ``quantile(x, k, 'first')`` also holds the
    account id of each value, the pairs sorted by (value, id), so an account finds its position
    among equal values (compactly, as :class:`~accountrules.evaluate.packed_ids.PackedIds`,
    when numpy built them).
    """

    __slots__ = ("_bounds", "_columns", "size")

    def __init__(self, columns: Mapping[str, Iterable[float | int | None]], size: int,
                 ids: Mapping[str, Iterable[str]] | None = None):
        """``ids``: for the keys ranked with ties broken by account id, the id of each value of
        ``columns[key]``, in the same order (one per value, unknown values included)."""
        ids = ids or {}
        self._columns = {k: _Column.of(v, ids.get(k)) for k, v in columns.items()}
        self._bounds: dict[str, _Bounds] = {}  # keys kept for quantile(..., 'first') only (boundaries_only)
        self.size = size

    @classmethod
    def from_sorted(cls, columns: Mapping[str, tuple[array[float], array[float] | None]],
                    size: int, ids: Mapping[str, Sequence[str]] | None = None) -> PortfolioStats:
        """Statistics from columns already sorted ascending, without unknowns or NaN:
        ``{key: (values, positive prefix sums or None)}``; ``ids``: for the keys ranked by id, the
        account id of each value, the (value, id) pairs sorted ascending. Nothing is copied."""
        stats = cls({}, size)
        for key, (values, prefix) in columns.items():
            if values.typecode != "d" or (prefix is not None and prefix.typecode != "d"):
                raise TypeError("portfolio columns must be array('d')")
            stats._columns[key] = _Column.from_sorted(values, prefix, (ids or {}).get(key))
        return stats

    def boundaries_only(self, first: Mapping[str, Collection[int]]) -> PortfolioStats:
        """These statistics, keeping of each key in ``first`` that holds ids only what
        ``quantile(key, k, 'first')`` reads for the given k (the k - 1 boundary pairs and the count):
        for a caller that decides against them and hands them to no one (the streamed command), as
        the whole column of such a key grows with the portfolio and a few pairs do not. Every other
        lookup of those keys raises :class:`PortfolioRequiredError`. The other columns are shared."""
        out = PortfolioStats({}, self.size)
        out._bounds.update(self._bounds)
        for key, col in self._columns.items():
            ks = first.get(key)
            if ks is None or col.ids is None:
                out._columns[key] = col
            else:
                out._bounds[key] = _Bounds(len(col.values), {k: col.first_boundaries(k) for k in sorted(set(ks))})
        return out

    def keys(self) -> list[str]:
        return sorted([*self._columns, *self._bounds])

    def count(self, key: str) -> int:
        """How many known values of ``key`` the statistics rank against."""
        got = self._bounds.get(key)
        return got.count if got is not None else len(self._col(key).values)

    def first_boundaries(self, key: str, k: int) -> tuple[tuple[float, str], ...]:
        """For ``quantile(key, k, 'first')``: the (value, id) pair at index ``ceil(q * n / k) - 1`` of the
        sorted pairs, for q = 1 .. k - 1 (none when there are no values). An account's bucket is
        1 + the number of these pairs below its own (value, id)."""
        got = self._bounds.get(key)
        return got.boundaries(key, k) if got is not None else self._with_ids(key).first_boundaries(k)

    def _col(self, key: str) -> _Column:
        try:
            return self._columns[key]
        except KeyError:
            if key in self._bounds:
                raise PortfolioRequiredError(
                    f"the portfolio statistics of {key!r} were kept for quantile(..., 'first') only; compute "
                    "them with this policy's portfolio_stats()") from None
            raise PortfolioRequiredError(
                f"the portfolio statistics have no column for {key!r}; compute them with this policy's "
                "portfolio_stats()"
            ) from None

    def sorted_values(self, key: str) -> array[float]:
        """The known values of ``key``, ascending (read only: the statistics share it)."""
        return self._col(key).values

    def sorted_ids(self, key: str) -> Sequence[str] | None:
        """The account id of each of :meth:`sorted_values`, when ``key`` is ranked by id (read only)."""
        return self._col(key).ids

    def positive_prefix(self, key: str) -> array[float]:
        """``[0, max(v0, 0), max(v0, 0) + max(v1, 0), ...]`` over :meth:`sorted_values` (read only; a sum
        past the float maximum is infinity)."""
        return self._col(key).positive_prefix

    def share_prefix(self, key: str) -> tuple[array[float], float]:
        """The prefix sums cumshare reads and the factor they hold the values at (read only): those of
        :meth:`positive_prefix` and 1, unless their total passes the float maximum (then see
        :func:`share_scale`)."""
        return self._col(key).share_prefix

    def percentile(self, key: str, x: float | None) -> float | None:
        return self._col(key).percentile(x)

    def cumshare(self, key: str, x: float | None) -> float | None:
        return self._col(key).cumshare(x)

    def cumshare_above(self, key: str, x: float | None) -> float | None:
        return self._col(key).cumshare_above(x)

    def quantile(self, key: str, x: float | None, k: int) -> int | None:
        return self._col(key).quantile(x, k)

    def quantile_first(self, key: str, x: float | None, account_id: str, k: int) -> int | None:
        """``quantile(x, k, 'first')``: bucket ``1 + min(k - 1, p * k // n)``, ``p`` the 0-based position of
        ``(x, account_id)`` among the ``n`` known ``(value, id)`` pairs sorted ascending."""
        got = self._bounds.get(key)
        if got is not None:
            return got.quantile_first(key, x, account_id, k)
        return self._with_ids(key).quantile_first(x, account_id, k)

    def _with_ids(self, key: str) -> _Column:
        col = self._col(key)
        if col.ids is None:
            raise PortfolioRequiredError(
                f"the portfolio statistics of {key!r} hold no account ids, which quantile(..., 'first') ranks "
                "ties by; compute them with this policy's portfolio_stats()")
        return col

    def to_dict(self) -> dict[str, Any]:
        if self._bounds:
            raise PortfolioRequiredError(
                f"the portfolio statistics of {', '.join(sorted(self._bounds))} were kept for quantile(..., "
                "'first') only and cannot be stored; compute them with this policy's portfolio_stats()")
        out: dict[str, Any] = {"size": self.size, "columns": {k: c.values.tolist() for k, c in self._columns.items()}}
        ids = {k: [str(i) for i in c.ids] for k, c in self._columns.items() if c.ids is not None}
        if ids:
            out["ids"] = ids
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PortfolioStats:
        return cls(data["columns"], int(data["size"]), data.get("ids"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PortfolioStats):
            return False
        mine, theirs = self._columns, other._columns
        return self.size == other.size and mine.keys() == theirs.keys() and self._bounds == other._bounds and all(
            mine[k].values == theirs[k].values and _same_ids(mine[k].ids, theirs[k].ids) for k in mine)

    def __hash__(self) -> int:
        return hash(tuple(self.keys()))

    def __getstate__(self) -> tuple[Any, ...]:
        # ids as plain str, whatever held them: unpickling needs no numpy. Prefix sums not built yet go
        # as None: the reader builds them when cumshare first asks (as from_sorted always has)
        columns = {k: (c.values, c.built_prefix, None if c.ids is None else tuple(str(i) for i in c.ids))
                   for k, c in self._columns.items()}
        # the boundaries of keys kept for quantile(..., 'first') only: a third item, only when there are some
        return (self.size, columns, self._bounds) if self._bounds else (self.size, columns)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        size, columns, *bounds = state
        self.size = size
        # a 2-tuple (values, prefix) is the state of statistics pickled before columns held ids
        self._columns = {k: _Column.from_sorted(*held) for k, held in columns.items()}
        self._bounds = dict(bounds[0]) if bounds else {}

    def __repr__(self) -> str:
        return f"PortfolioStats(size={self.size}, columns={self.keys()})"


def prefix_sums(values: Floats, scale: float = 1.0) -> array[float]:
    """``[0, max(v0, 0) * scale, max(v0, 0) * scale + max(v1, 0) * scale, ...]``, added in order: numpy's
    cumsum adds sequentially (no pairwise summation), so with or without numpy the floats are the same.
    A sum past the float maximum is infinity, without a warning: :attr:`_Column.share_prefix` then sums
    again at a scale."""
    try:
        import numpy as np
    except ImportError:  # numpy is an optional extra; Python's floats overflow to inf without a word
        return array("d", (0.0, *accumulate(max(v, 0.0) * scale for v in values)))
    out = array("d", [0.0]) * (len(values) + 1)
    if len(values):  # a numpy array has no truth value
        sums = np.frombuffer(out, dtype=np.float64)[1:]
        # in place: no temporary as long as the column (built while a batch's first chunk is decided)
        np.maximum(np.frombuffer(values, dtype=np.float64), 0.0, out=sums)
        if scale != 1.0:
            np.multiply(sums, scale, out=sums)
        with np.errstate(over="ignore"):  # library code warns no one: the caller reads inf and rescales
            np.cumsum(sums, out=sums)
        del sums  # a buffer still exported would pin ``out``
    return out


def share_prefix(values: Floats, plain: array[float] | None = None) -> tuple[array[float], float]:
    """The prefix sums cumshare divides and the factor they hold the values at: ``prefix_sums(values)``
    (``plain``, when already built) and 1, unless their total passes the float maximum (several amounts
    near 1e308); then the sums of the values times :func:`share_scale`, which no sum of them can pass.
    A power of two only moves the exponent, so the shares are those of exact arithmetic."""
    prefix = prefix_sums(values) if plain is None else plain
    if prefix[-1] != _INF:
        return prefix, 1.0
    scale = share_scale(len(values))
    return prefix_sums(values, scale), scale


def share_scale(n: int) -> float:
    """The power of two that n finite values are multiplied by when their sum passes the float maximum:
    ``2 ** -(bit_length(n) + 1)`` < 1 / (2n), so n of them sum to less than half the maximum, rounding
    included."""
    return 2.0 ** -(n.bit_length() + 1)


def _id_text(account_id: Any) -> str:
    if not isinstance(account_id, str):
        raise TypeError(f"ranking ties by account id needs every account's id as text, got {account_id!r}")
    return account_id


def _same_ids(a: Sequence[str] | None, b: Sequence[str] | None) -> bool:
    if a is None or b is None:
        return a is b
    return len(a) == len(b) and all(x == y for x, y in zip(a, b, strict=True))


class StatsBuilder:
    """Collects, account by account, the values a policy's portfolio functions rank against.

    Portfolio arguments may read metrics, which may read ``as_of`` or other metrics: the
    local (portfolio-free) metrics are computed here first, on the account's env.
    """

    def __init__(self, plan: Plan, as_of: dt.date, keys: Collection[str] | None = None):
        """``keys``: collect only these ranked expressions (default: all of the plan's)."""
        self._plan = plan
        self._as_of = as_of
        self._args = tuple((k, fn) for k, fn in plan.portfolio_args if keys is None or k in keys)
        self._cols: dict[str, list[Any]] = {k: [] for k, _ in self._args}
        self._ids: dict[str, list[Any]] = {k: [] for k in self._cols if k in plan.id_ranked}
        self.size = 0

    def add(self, env: dict[str, Any]) -> None:
        """Add one account; ``env`` gains its local metrics and ``as_of``."""
        self.size += 1
        if not self._cols:
            return
        env["as_of"] = self._as_of
        for m in self._plan.local_metrics:
            env[m.name] = m.fn(env)
        for key, fn in self._args:
            self._cols[key].append(fn(env))
        for ids in self._ids.values():
            ids.append(env["id"])

    def values(self) -> dict[str, list[Any]]:
        """The ranked values collected so far, per key, in the order added (None = unknown)."""
        return self._cols

    def ids(self) -> dict[str, list[Any]]:
        """The account ids of :meth:`values`, for the keys ranked with ties broken by id."""
        return self._ids

    def stats(self) -> PortfolioStats:
        return PortfolioStats(self._cols, self.size, self._ids)


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

    def cumshare_above(self, key: str, x: float | None) -> float | None:
        self._fail(key)
        return None

    def quantile(self, key: str, x: float | None, k: int) -> int | None:
        self._fail(key)
        return None

    def quantile_first(self, key: str, x: float | None, account_id: str, k: int) -> int | None:
        self._fail(key)
        return None


NO_PORTFOLIO = _NoPortfolio()
