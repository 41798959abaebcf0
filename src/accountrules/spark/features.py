"""Account fields from an order-log DataFrame by Spark SQL aggregations: what
:func:`accountrules.features.derive_features` gives for the same log, column for column.

Each partition's rows are first made canonical by the single-machine ``normalise`` (Arrow batches in
``mapInArrow``: the same parsing of ids, dates, numbers and return flags, the same errors); the
windows, sums, means and the 6-decimal rounding are then Spark SQL expressions that copy
:mod:`accountrules.features.derive` step by step (``rint`` is IEEE round-half-even, as Arrow's
``round``). Floating sums are added in whatever order Spark merges them: they can differ from the
single machine's in the last bits, which the rounding to 6 decimals hides unless a value lies on
a rounding boundary to within those bits (see ``docs/scale.md``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from accountrules.features.derive import Occasion, feature_windows
from accountrules.features.orders import ColumnMap, arrow, load_orders, normalise
from accountrules.spark.session import require_spark

_DIGITS = 6


def _canonical_schema(cols: ColumnMap) -> str:
    parts = ["id string", "date date", "amount double"]
    if cols.cost is not None:
        parts.append("cost double")
    if cols.quantity is not None:
        parts.append("quantity double")
    if cols.returned is not None:
        parts += ["ret_flag boolean", "ret_amount double"]
    if cols.payment_due is not None:
        parts.append("due date")
    if cols.payment_paid is not None:
        parts.append("paid date")
    return ", ".join(parts)


def _normalise(cols: ColumnMap, names: list[str]) -> Any:
    def run(batches: Iterable[Any]) -> Iterator[Any]:
        ar = arrow()
        for b in batches:
            raw = ar.pa.Table.from_batches([b]).rename_columns(names)
            table = normalise(ar, load_orders(ar, raw, cols, None), cols)
            yield from table.to_batches()

    return run


def canonical_orders(orders: Any, columns: ColumnMap | None = None) -> Any:
    """The order log as the canonical columns ``id date amount`` (+ the optional ones): a DataFrame."""
    require_spark("Spark features")
    cols = columns if columns is not None else ColumnMap()
    missing = [(role, name) for role, name in cols.mapped() if name not in orders.columns]
    if missing:
        from accountrules.errors import AccountValidationError

        raise AccountValidationError([(name, f"missing column (ColumnMap.{role})") for role, name in missing]
                                     + [("columns found", ", ".join(sorted(orders.columns)[:20]) or "none")])
    needed = list(dict.fromkeys(name for _, name in cols.mapped()))
    # plain names for mapInArrow (it cannot resolve dotted ones); normalise sees the log's own names
    plain = orders.select(*[orders[f"`{n}`"].alias(f"c{i}") for i, n in enumerate(needed)])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pandas.*", category=FutureWarning)
        return plain.mapInArrow(_normalise(cols, needed), _canonical_schema(cols))


def derive_features(orders: Any, *, as_of: date, window_days: int = 365, columns: ColumnMap | None = None,
                    occasion: Occasion = "day") -> Any:
    """One row per account (not sorted: ``.orderBy("id")`` for the single-machine order), with the
    columns and types of :func:`accountrules.features.derive_features`. Lazy: nothing runs until
    the result is written or collected; a bad value then fails the job with the single-machine
    message (its row counted within the Spark batch that held it)."""
    require_spark("Spark features")
    from pyspark.sql import functions as F

    win_start, prev_start, year_start = feature_windows(as_of, window_days, occasion)
    cols = columns if columns is not None else ColumnMap()
    t = canonical_orders(orders, cols).where(F.col("date") <= F.lit(as_of))
    day = F.col("date")
    in_win = day > F.lit(win_start)
    in_prev = (day > F.lit(prev_start)) & ~in_win
    in_year = day > F.lit(year_start)
    amount = F.col("amount")

    def only(cond: Any, values: Any) -> Any:
        return F.when(cond, values)

    def as_int(cond: Any) -> Any:
        return F.coalesce(cond, F.lit(False)).cast("long")

    def total(c: Any) -> Any:  # a sum of nothing is 0, as Arrow's sum with min_count=0
        return F.coalesce(F.sum(c), F.lit(0.0))

    work = {"w_amount": only(in_win, amount), "p_amount": only(in_prev, amount), "y_amount": only(in_year, amount)}
    aggs: list[Any] = [
        F.min(day).alias("first"), F.max(day).alias("last"),
        F.count("w_amount").alias("w_count"), total(F.col("w_amount")).alias("w_sum"),
        F.avg("w_amount").alias("w_mean"), F.max("w_amount").alias("w_max"),
        total(F.col("p_amount")).alias("p_sum"), total(F.col("y_amount")).alias("y_sum"),
    ]
    if cols.cost is not None:
        work["y_profit"] = only(in_year, amount - F.col("cost"))
        work["y_nocost"] = as_int(in_year & F.col("cost").isNull())
        aggs += [total(F.col("y_profit")).alias("y_profit_sum"), F.sum("y_nocost").alias("y_nocost_sum")]
    if cols.returned is not None:
        work["w_ret"] = as_int(in_win & F.col("ret_flag"))
        work["w_ret_amount"] = only(in_win, F.col("ret_amount"))
        aggs += [F.sum("w_ret").alias("w_ret_sum"), total(F.col("w_ret_amount")).alias("w_ret_amount_sum")]
    if cols.payment_paid is not None:
        paid = only(F.col("paid") <= F.lit(as_of), F.col("paid"))  # a payment after as_of was not known then
        days = F.greatest(F.datediff(paid, day), F.lit(0)).cast("double")
        days = only(paid.isNotNull(), days)
        work["w_collect"] = only(in_win, days)
        aggs.append(F.avg("w_collect").alias("w_collect_mean"))
        if cols.payment_due is not None:
            due = F.col("due")
            late = paid > due
            unpaid_overdue = paid.isNull() & (due < F.lit(as_of))
            work["w_overdue"] = as_int(in_win & (F.coalesce(late, F.lit(False)) |
                                                 F.coalesce(unpaid_overdue, F.lit(False))))
            aggs.append(F.sum("w_overdue").alias("w_overdue_sum"))
    if cols.quantity is not None:
        work["w_units"] = only(in_win, F.col("quantity"))
        work["w_nounits"] = as_int(in_win & F.col("quantity").isNull())
        aggs += [total(F.col("w_units")).alias("w_units_sum"), F.sum("w_nounits").alias("w_nounits_sum")]
    rows = t.select("id", "date", *[c.alias(k) for k, c in work.items()])
    g = rows.groupBy("id").agg(*aggs)
    count, mean_buy, max_buy = F.col("w_count"), F.col("w_mean"), F.col("w_max")
    if occasion == "day":
        # an account's rows of one day are one purchase: the day's total (null when none is in the window)
        per_day = rows.groupBy("id", "date").agg(F.sum("w_amount").alias("amt"))
        per = per_day.groupBy("id").agg(F.count("amt").alias("d_count"), F.avg("amt").alias("d_mean"),
                                        F.max("amt").alias("d_max"))
        g = g.join(per, "id")
        count, mean_buy, max_buy = F.col("d_count"), F.col("d_mean"), F.col("d_max")
    scale = float(10**_DIGITS)

    def money(x: Any) -> Any:
        # as derive.py: round(x * 10**6) half to even, / 10**6, + 0.0 (no -0.0)
        return F.rint(x.cast("double") * F.lit(scale)) / F.lit(scale) + F.lit(0.0)

    as_of_c = F.lit(as_of)
    revenue = F.col("w_sum")
    prev_known = F.col("first") <= F.lit(prev_start)
    p_sum = F.col("p_sum")
    growth = only(prev_known & (p_sum != 0.0), revenue / p_sum - 1.0)
    annual = F.col("y_sum")
    null_double, null_long = F.lit(None).cast("double"), F.lit(None).cast("long")
    if cols.cost is not None:
        profit = only(F.col("y_nocost_sum") == 0, F.col("y_profit_sum"))
        margin = only(annual != 0.0, profit / annual)
    else:
        profit = margin = null_double
    returns_count = F.col("w_ret_sum") if cols.returned is not None else null_long
    returns_amount = F.col("w_ret_amount_sum") if cols.returned is not None else null_double
    overdue = F.col("w_overdue_sum") if "w_overdue_sum" in g.columns else null_long
    collect = F.col("w_collect_mean") if "w_collect_mean" in g.columns else null_double
    out: dict[str, Any] = {
        "id": F.col("id"),
        "transactions.window_days": F.lit(window_days).cast("long"),
        "transactions.count": count.cast("long"),
        "transactions.frequency": money(count.cast("double") * 30.0 / float(window_days)),
        "transactions.first_order_date": F.col("first"),
        "transactions.last_order_date": F.col("last"),
        "transactions.tenure_days": F.datediff(as_of_c, F.col("first")).cast("long"),
        "transactions.recency_days": F.datediff(as_of_c, F.col("last")).cast("long"),
        "transactions.avg_order_value": money(mean_buy),
        "transactions.max_order_value": money(max_buy),
        "transactions.revenue": money(revenue),
        "transactions.revenue_previous": money(only(prev_known, p_sum)),
        "transactions.annual_revenue": money(annual),
        "transactions.annual_profit": money(profit),
        "transactions.profit_margin": money(margin),
        "transactions.growth_rate": money(growth),
        "transactions.returns_count": returns_count.cast("long"),
        "transactions.returns_amount": money(returns_amount),
        "credit.overdue_payments": overdue.cast("long"),
        "credit.avg_collection_days": money(collect),
    }
    if cols.quantity is not None:
        out["extra.units"] = money(only(F.col("w_nounits_sum") == 0, F.col("w_units_sum")))
    return g.select(*[c.alias(k) for k, c in out.items()])


__all__ = ["canonical_orders", "derive_features"]
