"""The evaluators a policy decides with, by name: one registry per :class:`~accountrules.Policy`.

Every entry point that takes an engine name (``Policy.decide``, ``decide_many``,
``iter_decide``, ``load_policy``, the test runner, the pytest plugin and the CLI's
``--engine``) resolves it here, so they accept the same names and raise the same errors:

==============  ===========================================================================
``compiled``    the policy's compiled closures, one account at a time (always available)
``durable``     durable_rules' Rete network, one account at a time (extra ``durable``;
                durable_rules does not support Python 3.13 and later)
``vector``      numpy over whole columns, for batches (extra ``vector``)
``auto``        the fastest evaluator available here that the shipped cases run on:
                ``vector`` for batches when numpy is importable, else ``compiled``;
                ``compiled`` for a single ``decide()`` and for a chunk of fewer than
                :data:`SMALL_CHUNK` rows, where vector's per-chunk set-up costs more
                than deciding the rows one by one
==============  ===========================================================================

An unknown name raises :class:`~accountrules.errors.UnknownEngineError` (a ``ValueError``
too) listing the names, with a did-you-mean; a name whose extra is not installed raises
:class:`~accountrules.errors.EngineUnavailableError` naming the extra to install.

Evaluator instances (durable's rulesets, vector's column program) are built on first
use, once per policy, under a lock; nothing is cached at module level, so two
policies, or two versions of one policy, never share an evaluator.
"""

from __future__ import annotations

import difflib
import sys
import threading
from typing import Any

from accountrules.compile.plan import Plan
from accountrules.errors import EngineUnavailableError, UnknownEngineError
from accountrules.evaluate.driver import COMPILED, Matcher

__all__ = ["AUTO", "ENGINES", "EVALUATORS", "SMALL_CHUNK", "Evaluators", "available", "available_evaluators",
           "check_engine", "unavailable_error"]

EVALUATORS = ("compiled", "durable", "vector")
"""The evaluators, in the order the test runner runs them."""
AUTO = "auto"
ENGINES = (*EVALUATORS, AUTO)
"""Every name an ``engine=`` argument or ``--engine`` flag accepts."""

_OPTIONAL = ("durable", "vector")  # evaluators that need an extra
SMALL_CHUNK = 64
"""Under ``auto``, a chunk of fewer valid rows than this is decided by ``compiled``: below it the vector
evaluator's set-up for a chunk costs more than the compiled one takes for the rows, on the shipped policies
(``benchmarks/small_batches.py`` prints where the two cross; ``docs/performance.md``)."""


def check_engine(name: str, choices: tuple[str, ...] = ENGINES) -> str:
    """``name`` if it is one of ``choices``, else :class:`UnknownEngineError` with a did-you-mean."""
    if isinstance(name, str) and name in choices:
        return name
    shown = name if isinstance(name, str) else repr(name)
    close = difflib.get_close_matches(shown.lower(), choices, n=1, cutoff=0.5)
    raise UnknownEngineError(shown, choices, close[0] if close else None)


def unavailable_error(name: str, cause: BaseException | None = None) -> EngineUnavailableError:
    """The error for an evaluator whose extra cannot be imported here, saying what to install."""
    why = f" ({cause})" if cause is not None else ""
    if name == "durable" and sys.version_info >= (3, 13):
        here = ".".join(map(str, sys.version_info[:3]))
        return EngineUnavailableError(
            f"engine 'durable' is not available: durable_rules does not support Python {here} "
            "(it needs Python < 3.13), so the 'durable' extra installs nothing here; "
            f"use engine='compiled', or run durable on Python 3.11 or 3.12{why}")
    if name == "durable":
        return EngineUnavailableError(
            "engine 'durable' needs durable_rules: pip install 'accountrules[durable]' "
            f"(it builds a C extension, so a C compiler is needed){why}")
    return EngineUnavailableError(f"engine {name!r} needs numpy: pip install 'accountrules[vector]'{why}")


def _import(name: str) -> Any:
    """The module of an optional evaluator; importing it imports its extra."""
    try:
        # "import a.b as m" imports a.b again when it left sys.modules; "from a import b" would not
        if name == "durable":
            import accountrules.evaluate.durable as durable

            return durable
        import accountrules.evaluate.vector as vector

        return vector
    except ImportError as e:
        raise unavailable_error(name, e) from e


def available(name: str) -> bool:
    """True when evaluator ``name`` can run here (its extra imports); ``compiled`` and ``auto`` always can."""
    check_engine(name)
    if name not in _OPTIONAL:
        return True
    try:
        _import(name)
    except EngineUnavailableError:
        return False
    return True


def available_evaluators() -> tuple[str, ...]:
    """The evaluators that can run here, in :data:`EVALUATORS` order."""
    return tuple(e for e in EVALUATORS if available(e))


class Evaluators:
    """The evaluator instances of one policy, built lazily and at most once each; thread-safe.

    A policy's evaluators are not pickled with it: an unpickled policy builds its own.
    """

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._lock = threading.Lock()
        self._durable: Matcher | None = None
        self._program: Any = None

    def resolve(self, name: str, *, batch: bool, rows: int | None = None) -> str:
        """The evaluator ``name`` stands for: itself, or for ``auto`` the fastest proven one here
        (``vector`` for a batch when numpy imports, else ``compiled``; ``compiled`` for a chunk of
        ``rows`` < :data:`SMALL_CHUNK`). Raises for an unknown name."""
        check_engine(name)
        if name != AUTO:
            return name
        small = rows is not None and rows < SMALL_CHUNK
        return "vector" if batch and not small and available("vector") else "compiled"

    def prepare(self, name: str, *, batch: bool) -> str:
        """Resolve ``name`` and build its evaluator now, so a missing extra or a policy past an
        evaluator's limits (:class:`~accountrules.errors.PolicyLimitError`) surfaces here."""
        engine = self.resolve(name, batch=batch)
        if engine == "vector":
            self.vector_program()
        else:
            self.matcher(engine)
        return engine

    def matcher(self, name: str) -> Matcher:
        """The per-account evaluator ``compiled`` or ``durable`` (``auto`` is ``compiled`` here)."""
        engine = self.resolve(name, batch=False)
        if engine == "compiled":
            return COMPILED
        if engine != "durable":
            raise ValueError(f"engine {engine!r} decides columns, not one account at a time")
        if self._durable is None:
            module = _import("durable")
            with self._lock:
                if self._durable is None:
                    self._durable = module.DurableMatcher(self._plan)
        return self._durable

    def vector_program(self) -> Any:
        """The policy's column program for ``accountrules.evaluate.vector`` (built on first use)."""
        if self._program is None:
            module = _import("vector")
            with self._lock:
                if self._program is None:
                    self._program = module.compile_program(self._plan)
        return self._program
