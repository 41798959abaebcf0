"""Each account's purchase days as numpy arrays: the one place dates before and after T are cut.

A purchase is an account's orders of one calendar day (the ``occasion="day"`` of
:mod:`accountrules.features`, and what BG/NBD and the hiatus rule count). Windows are open at
the start and closed at the end, as in ``derive_features``: ``(a, b]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from accountrules.backtest.log import OrderLog
from accountrules.features.orders import arrow

__all__ = ["History", "day_number", "history_of"]

_EPOCH: Final = date(1970, 1, 1)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


def day_number(d: date) -> int:
    """Days since 1970-01-01 (Arrow's ``date32``)."""
    return (d - _EPOCH).days


@dataclass(frozen=True)
class History:
    """Purchase days of every account of a clean log, sorted by account then day.

    ``ids`` are the accounts (sorted, unique); ``code[i]`` is the account of purchase day ``i``.
    """

    ids: npt.NDArray[np.object_]
    code: Ints
    day: Ints
    amount: Floats

    @property
    def n(self) -> int:
        return len(self.ids)

    def first_day(self) -> Ints:
        """First purchase day of each account (every account has one)."""
        starts = np.searchsorted(self.code, np.arange(self.n))
        return self.day[starts]

    def between(self, after: int | None, upto: int) -> Bools:
        """Purchase days in ``(after, upto]`` (``after=None``: from the beginning)."""
        mask = self.day <= upto
        if after is not None:
            mask &= self.day > after
        return mask

    def count(self, mask: Bools) -> Ints:
        """Purchase days per account among ``mask``."""
        return np.bincount(self.code[mask], minlength=self.n).astype(np.int64)

    def revenue(self, mask: Bools) -> Floats:
        """Sum of amounts per account among ``mask``."""
        return np.asarray(np.bincount(self.code[mask], weights=self.amount[mask], minlength=self.n), dtype=np.float64)

    def last_day(self, mask: Bools) -> Ints:
        """Last purchase day per account among ``mask``; -2**62 for an account with none."""
        out = np.full(self.n, -(2**62), dtype=np.int64)
        np.maximum.at(out, self.code[mask], self.day[mask])
        return out


def history_of(log: OrderLog) -> History:
    """Collapse the clean order rows into purchase days (a day's amounts summed)."""
    ar = arrow()
    pa, pc = ar.pa, ar.pc
    t = pa.table({"id": log.ids, "date": log.dates, "amount": log.amounts})
    days = t.group_by(["id", "date"], use_threads=False).aggregate([("amount", "sum")])
    days = days.sort_by([("id", "ascending"), ("date", "ascending")])
    encoded: Any = pc.dictionary_encode(days["id"]).combine_chunks()
    # dictionary codes follow first appearance, which is sorted order here
    ids = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    code = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    day = np.asarray(days["date"].cast(pa.int32()).to_numpy(), dtype=np.int64)
    amount = np.asarray(days["amount_sum"].to_numpy(), dtype=np.float64)
    return History(ids=ids, code=code, day=day, amount=amount)
