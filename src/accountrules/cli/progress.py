"""Progress bars with rate and ETA on standard error, from tqdm.

tqdm rather than rich: it is one small pure-Python package with no dependencies of its
own (rich brings pygments and markdown-it), it draws a bar with count, rate and ETA from
a total and a counter, which is all the commands need, and it already knows to draw
nothing useful on a stream that is not a terminal. A bar is shown when standard error is
a terminal, not with ``-q``, and always with ``--progress`` (e.g. for a log that a person
watches); data and summaries never go through it.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import IO, Any, Self

from tqdm import tqdm

from accountrules.i18n import N_, Gettext

__all__ = ["Progress", "progress_on"]

# the phases, units and labels the library and the commands report, for the catalogue
_WORDS = (N_("reading"), N_("deciding"), N_("cases"), N_("examples"), N_("rows"), N_("old"), N_("new"),
          N_("grouping"), N_("writing"), N_("backtesting"), N_("steps"), N_("sweeping"), N_("settings"))


def progress_on(args: Any, stream: IO[str] | None = None) -> bool:
    """Whether to draw: ``--progress`` forces it, ``-q`` turns it off, else only on a terminal."""
    if getattr(args, "progress", False):
        return True
    if getattr(args, "quiet", False):
        return False
    out = stream if stream is not None else sys.stderr
    return bool(getattr(out, "isatty", lambda: False)())


class Progress:
    """A callable ``progress(phase, done, total)`` (what :func:`~accountrules.batch.iter_batches`
    takes) drawing one tqdm bar per phase; ``total=None`` shows a count and a rate without ETA."""

    def __init__(self, on: bool, _: Gettext, *, unit: str = "rows", stream: IO[str] | None = None,
                 mininterval: float = 0.2, units: dict[str, str] | None = None):
        self._on = on
        self._ = _
        self._unit = unit
        self._units = units or {}  # a phase counted in something else than ``unit`` ("backtesting": "steps")
        self._stream = stream if stream is not None else sys.stderr
        self._bar: Any = None
        self._phase: str | None = None
        self._mininterval = mininterval

    def __enter__(self) -> Self:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __call__(self, phase: str, done: int, total: int | None, label: str = "") -> None:
        if not self._on:
            return
        key = f"{label}\0{phase}"
        if key != self._phase or (self._bar is not None and total is not None and self._bar.total != total):
            self.close()
            # the phase's rate starts with the phase: reading does not slow the deciding rate down
            desc = f"{self._(label)} {self._(phase)}" if label else self._(phase)
            self._bar = tqdm(total=total, desc=desc, unit=" " + self._(self._units.get(phase, self._unit)),
                             file=self._stream, leave=False, dynamic_ncols=True,
                             mininterval=self._mininterval)
            self._phase = key
        self._bar.update(done - self._bar.n)

    def labelled(self, label: str, phase: str, done: int, total: int | None) -> None:
        """A phase of one of several runs (``old``/``new`` of a diff): ``label`` goes before the phase."""
        self(phase, done, total, label)

    def step(self, phase: str, total: int | None = None) -> None:
        """One more item of ``phase`` (a case, a property, an account)."""
        done = (self._bar.n if self._bar is not None and self._phase == f"\0{phase}" else 0) + 1
        self(phase, done, total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._phase = None
