"""The decision date a caller passes (``as_of``), checked once at the door.

Every due date of a decision is ``as_of`` plus an action's ``due_days``, and ``days_since`` counts
back from it: a text date or a datetime with a time in it would be compared with dates deep inside
an evaluator (one evaluator failing where another does not), and a day near ``date.max`` would
overflow when the actions are read. A datetime at midnight is its day, as the model reads dates.
"""

from __future__ import annotations

import datetime as dt

from accountrules.compile.plan import Plan
from accountrules.errors import AsOfError
from accountrules.i18n import N_, Message

__all__ = ["decision_day", "last_decision_day"]


def last_decision_day(plan: Plan) -> dt.date:
    """The latest ``as_of`` whose due dates all exist (``date.max`` less the longest ``due_days``)."""
    longest = max((a.due_days for a in plan.catalog.values()), default=0)
    return dt.date.max - dt.timedelta(days=max(longest, 0))


def decision_day(as_of: object, last: dt.date) -> dt.date:
    """``as_of`` as a date (today when None), or :class:`AsOfError` saying why it cannot be one."""
    if as_of is None:
        return dt.date.today()
    day: dt.date
    if isinstance(as_of, dt.datetime):
        if as_of.time() != dt.time():
            raise AsOfError(Message(N_("as_of must be a date; {value} has a time of day: pass its .date()"),
                                    value=as_of.isoformat()))
        day = as_of.date()
    elif isinstance(as_of, dt.date):
        day = as_of
    else:
        raise AsOfError(Message(N_("as_of must be a date (datetime.date), not {kind} {value}"),
                                kind=type(as_of).__name__, value=repr(as_of)[:60]))
    if day > last:
        raise AsOfError(Message(N_("as_of {day} is too late: an action due {days} days later would fall past "
                                   "{max}, the last date there is"),
                                day=day.isoformat(), days=(dt.date.max - last).days, max=dt.date.max.isoformat()))
    return day
