"""Decisions and order-log features on Apache Spark (the ``spark`` extra).

``decide(policy, df, as_of=...)`` gives, for a Spark DataFrame of flat accounts, the flat
decision columns of the single-machine path plus ``error_field`` / ``error`` and the
source ``row`` of every input row; ``derive_features(orders_df, as_of=...)`` gives the
account fields of :func:`accountrules.features.derive_features` by Spark SQL aggregations.
See ``docs/scale.md``.
"""

from accountrules.spark.decisions import decide, output_schema, portfolio_pass
from accountrules.spark.features import derive_features
from accountrules.spark.session import SparkUnavailableError, require_spark

__all__ = ["SparkUnavailableError", "decide", "derive_features", "output_schema", "portfolio_pass", "require_spark"]
