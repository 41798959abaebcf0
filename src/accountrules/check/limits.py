"""What loading a policy, and deciding with it, may cost: :class:`LoadLimits`.

The YAML reader already bounds a file (5 MiB, 64 levels of nesting) and the expression parser
an expression (4,000 characters, 100 operations deep). These limits bound the policy as a whole,
so a valid but huge policy is refused with a located :class:`~accountrules.errors.PolicyLimitError`
instead of taking unbounded time or memory:

``max_table_rows``
    Rows in one table (a segment, the tiers, churn, stage transitions or action rules). Counted
    before any row is read; the error points at the first row past the limit.
``max_expression_nodes``
    Expression nodes (names, constants, operators, calls) in the whole policy: the size of what is
    checked and compiled. Counted as the expressions are read; the error points at the expression
    that crosses it.
``max_rows_per_decision``
    The most row conditions one decision may test, summed over every table, after indexing
    (:mod:`accountrules.compile.index`): a table whose rows are found by lookup counts its largest
    candidate list, any other table all its rows. This bounds the cost of ``decide()``.
``max_load_seconds``
    CPU seconds that reading, checking and compiling may take (None, the default: no budget). Checked
    between expressions; the error points at where reading stopped. A time budget depends on the
    machine, so a policy near it may load on one and not on another; the size limits do not.

The defaults admit the largest policy the 5 MiB file cap allows (a table of about 75,000 one-line
rows) and keep its decisions to well under 100 us of row tests; its load takes seconds (how many depends
on the machine); see ``docs/performance.md`` for the measured figures (time and peak memory).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from accountrules.errors import PolicyLimitError, SourceLocation

__all__ = ["DEFAULT_LIMITS", "Budget", "LoadLimits"]


@dataclass(frozen=True, slots=True)
class LoadLimits:
    """Bounds on a policy's size and on the cost of loading and deciding with it (see the module docstring)."""

    max_table_rows: int = 100_000
    max_expression_nodes: int = 1_000_000
    max_rows_per_decision: int = 20_000
    max_load_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_table_rows", "max_expression_nodes", "max_rows_per_decision"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"LoadLimits.{name} must be a whole number >= 1, not {value!r}")
        seconds = self.max_load_seconds
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float)
                                    or not seconds > 0):
            raise ValueError(f"LoadLimits.max_load_seconds must be a number > 0 or None, not {seconds!r}")


DEFAULT_LIMITS = LoadLimits()


class Budget:
    """One load's account of :class:`LoadLimits`: expression nodes read so far and the time budget."""

    __slots__ = ("limits", "nodes", "_deadline", "_tick")

    def __init__(self, limits: LoadLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.nodes = 0
        seconds = limits.max_load_seconds
        self._deadline = None if seconds is None else time.process_time() + seconds
        self._tick = 0

    def add_nodes(self, n: int, at: SourceLocation) -> None:
        """Count an expression of ``n`` nodes; raise when the policy's total passes the limit."""
        self.nodes += n
        if self.nodes > self.limits.max_expression_nodes:
            raise PolicyLimitError(
                f"the policy's expressions hold more than {self.limits.max_expression_nodes:,} nodes "
                "(LoadLimits.max_expression_nodes)", at,
                "split the policy, or raise the limit: load_policy(..., limits=LoadLimits(max_expression_nodes=...))")
        self._tick += 1
        if self._deadline is not None and self._tick % 256 == 0:
            self.check_time(at)

    def check_time(self, at: SourceLocation | None) -> None:
        """Raise when the load has used up its time budget."""
        if self._deadline is not None and time.process_time() > self._deadline:
            raise PolicyLimitError(
                f"loading the policy took longer than {self.limits.max_load_seconds} s of CPU time "
                f"(LoadLimits.max_load_seconds); stopped here", at,
                "raise the budget: load_policy(..., limits=LoadLimits(max_load_seconds=...))")

    def rows_error(self, count: int, what: str, first_over: SourceLocation) -> PolicyLimitError:
        return PolicyLimitError(
            f"{what} has {count:,} rows; a table holds at most {self.limits.max_table_rows:,} "
            "(LoadLimits.max_table_rows)", first_over,
            "split the table, or raise the limit: load_policy(..., limits=LoadLimits(max_table_rows=...))")
