"""The durable_rules evaluator (``engine="durable"``): Rete matching of the policy's rows.

Like every evaluator it only answers "which rows of this section match this env?"; hit
policies, stage steps and action merging stay in :mod:`accountrules.evaluate.driver`.

What durable decides and what is computed in Python
---------------------------------------------------
Each section's rows are translated once, at load, into a durable_rules ruleset given as
data (:mod:`accountrules.evaluate.durable_compile`, whose docstring has the full table):

* **durable matches** every comparison of a field, metric or earlier output with a
  constant or with another such value (``== != < <= > >=``, dates as ordinal days),
  ``is null``/``is not null`` (``$nex``/``$ex``), ``in [..]`` lists, ``in a..b`` ranges,
  bare booleans, and all of the ``and``/``or``/``not`` structure (converted to negation
  normal form, which is exact under three-valued logic because an unknown value is an
  absent attribute and durable never matches a test on an absent attribute);
* **Python computes** (and puts in the fact as a generated attribute that durable then
  compares) the operands durable cannot express: function calls (``coalesce``,
  ``ratio``, ``min``/``max``/``abs``, ``days_since``, the portfolio functions
  ``percentile``/``cumshare``/``quantile``), ``rank(x)``, arithmetic, and comparisons
  against constants durable's JSON reader cannot read (``1e-05``).

Forward chaining: the driver calls the sections in order (metrics, segments, tier,
stage, churn, actions) and writes each output into the env, so a later section's fact
carries the earlier outputs it reads (``tier``, ``segments.abc``, ``stage``,
``churn.kind``, ``churn.risk``, ``churn.score``) as ordinary attributes.

How durable_rules is driven (each point answers a measured hazard)
------------------------------------------------------------------
* One durable ``Host`` per set of registered rulesets, with durable's two perpetual timer
  threads disabled (we use neither timers nor asynchronous actions).
* One ruleset per section with a generated unique name (a uuid), so several policies,
  or two versions of one policy, live side by side in one process. Policies that translate
  to the same rules share them, and they are deleted from durable when the last such
  policy is dropped (:mod:`accountrules.evaluate.durable_networks`).
* ONE fixed session id (``"0"``) for every decision: durable caps sessions at 1024 per
  ruleset and confuses session ids whose 32-bit hashes collide. ``delete_state`` is never
  called (it segfaults on some patterns).
* Every fact has a type discriminator (``_t``) and a section discriminator (``_s``), so
  no condition can match the session's own state object or another section's facts,
  and a unique numeric ``id`` from a counter (skipping the one value whose hash equals
  the state object's id). The fact is retracted as soon as its actions ran, so at most
  one fact is ever live: the 32-bit id-hash collision and the content de-duplication
  hazards cannot occur.
* A :class:`threading.Lock` per set of rulesets around assert, actions and retract:
  threads sharing a session silently lose actions otherwise.
* Rule actions append ``(fact id, row index)`` to a list the rulesets own; results are
  filtered by the fact id and de-duplicated (``$or`` fires once per true branch).
* durable swallows exceptions raised in actions into the session state
  (``c.s.exception``); it is checked after every fact, cleared, and raised as
  :class:`~accountrules.errors.DecisionError`, as is every non-success return code or
  error of the C engine. Nothing is swallowed.
* Definitions are deep-copied before durable sees them (it mutates them), and
  :func:`~accountrules.evaluate.durable_limits.check_durable_limits` refuses rulesets
  past durable's compile-time limits with :class:`~accountrules.errors.PolicyLimitError`
  before they are handed over.

Values durable cannot hold
--------------------------
A value that durable cannot represent exactly (NaN, an integer beyond +-2**53, a string
over 60 kB) or a lifted operand whose computation raises (e.g. a portfolio function
without portfolio statistics) is left out of the fact, and the rows that read it are
decided by their compiled closure instead, in row order. Results and errors are then
exactly those of ``engine="compiled"`` (which also raises only for rows it reaches).
Such fallbacks are logged at DEBUG level.

Cost: durable's per-action Python work (JSON round trips of the state, one closure
per fired row) dominates; on ``examples/small`` the durable evaluator is 3-4x slower
than the compiled one (about 2.5k against 7-12k accounts/s on two cores).
Rulesets take C memory (megabytes for a policy like ``rulesets/express``) and one of durable's
131072 handles per section, until the last policy using them is dropped.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from accountrules.compile.closures import Env
from accountrules.compile.plan import CRow, Plan
from accountrules.errors import DecisionError
from accountrules.evaluate.durable_compile import (
    SECTION_ATTR,
    SID,
    TYPE_ATTR,
    TYPE_VALUE,
    SectionRuleset,
    compile_plan,
    encode_value,
    fnv1a32,
)
from accountrules.evaluate.durable_limits import check_durable_limits

try:
    import durable_rules_engine as _dre  # untyped: pyproject's mypy overrides ignore it
except Exception as _e:  # Python 3.13 builds it but cannot import it; or it is not installed
    raise ImportError(f"durable_rules cannot be imported: {_e}") from _e
from accountrules.evaluate.durable_networks import Network, keep_used, network_for

__all__ = ["DurableMatcher"]

_log = logging.getLogger(__name__)

_OK, _NOT_HANDLED = 0, 1  # durable result codes (rules.h)
_STATE_ID_HASH = fnv1a32(f"sid-{SID}")  # the id durable gives the session's state object


@dataclass(frozen=True, slots=True)
class _Section:
    rs: SectionRuleset
    ruleset: Any  # durable.engine.Ruleset, or None when no row can ever match
    handle: int | None
    prefix: str  # the fact's JSON up to its id


def _account(env: Env) -> str | None:
    aid = env.get("id")
    return aid if isinstance(aid, str) else None


class DurableMatcher:
    """A :class:`~accountrules.evaluate.driver.Matcher` whose rows are matched by durable_rules.

    Its rulesets live in a :class:`~accountrules.evaluate.durable_networks.Network`, shared with
    every other matcher whose policy translates to the same rules and deleted from durable when
    the last of them is dropped.
    """

    def __init__(self, plan: Plan) -> None:
        rulesets = compile_plan(plan, f"accountrules_{plan.spec.name}_{uuid.uuid4().hex}")
        check_durable_limits(rulesets)
        self._network = network_for(rulesets)
        self._lock = self._network.lock
        self._hits = self._network.hits
        self._sections = {rs.section: self._section(rs) for rs in rulesets}
        _log.debug("durable evaluator for %s %s: %s", plan.spec.name, plan.spec.version,
                   ", ".join(f"{rs.section} ({len(rs.rules)} rules, {sum(a.lifted for a in rs.attrs.values())}"
                             f" lifted of {len(rs.attrs)} attributes)" for rs in rulesets))

    @property
    def rulesets(self) -> list[SectionRuleset]:
        """The translated sections (their ``definition()`` is what durable was given)."""
        return [s.rs for s in self._sections.values()]

    @property
    def network(self) -> Network:
        """The registered rulesets this matcher decides with (shared; see :mod:`.durable_networks`)."""
        return self._network

    def _section(self, rs: SectionRuleset) -> _Section:
        prefix = (f'{{"sid":{json.dumps(SID)},"{TYPE_ATTR}":{json.dumps(TYPE_VALUE)},'
                  f'"{SECTION_ATTR}":{json.dumps(rs.section, ensure_ascii=False)},"id":')
        registered = self._network.sections.get(rs.section)
        if registered is None:
            return _Section(rs, None, None, prefix)
        ruleset, handle = registered
        return _Section(rs, ruleset, handle, prefix)

    # -- matching

    def match(self, section: str, rows: Sequence[CRow], env: Env, first_only: bool) -> list[int]:
        """Positions (in ``rows`` order) of the rows whose condition is true for ``env``."""
        if not rows:
            return []
        sec = self._sections.get(section)
        if sec is None:
            raise DecisionError(f"the durable evaluator has no section {section!r}", _account(env))
        rs = sec.rs
        parts: list[str] = []
        poisoned: set[str] = set()
        for a in rs.attrs_for(frozenset(r.index for r in rows)):
            try:
                v = a.fn(env)
            except Exception:  # noqa: BLE001 - re-raised by the compiled closure if the row is reached
                poisoned.add(a.name)
                continue
            if v is None:
                continue  # unknown: an absent attribute
            enc = encode_value(v)
            if enc is None:
                poisoned.add(a.name)
            else:
                parts.append(f'"{a.name}":{enc}')
        matched = self._assert(sec, parts, env) if sec.handle is not None else set()
        out: list[int] = []
        for pos, r in enumerate(rows):
            if r.index in rs.never:
                continue
            reads = rs.row_attrs.get(r.index, frozenset())
            if poisoned and not poisoned.isdisjoint(reads):
                _log.debug("%s row %s reads %s, which durable cannot hold here; using its compiled closure",
                           section, r.row.id, sorted(poisoned & reads))
                hit = r.cond is None or r.cond(env) is True
            else:
                hit = r.index in matched
            if hit:
                out.append(pos)
                if first_only:
                    break
        return out

    def _next_id(self) -> int:
        """The next fact id of the network (under its lock)."""
        net = self._network
        while True:
            n = net.next_fact
            net.next_fact = n + 1
            if fnv1a32(str(n)) != _STATE_ID_HASH:
                return n

    def _assert(self, sec: _Section, parts: list[str], env: Env) -> set[int]:
        """Assert one fact, run the actions it triggers, retract it; the row indices that fired."""
        section = sec.rs.section
        with self._lock:
            keep_used(self._network)
            fid = self._next_id()
            fact = sec.prefix + str(fid) + "".join("," + p for p in parts) + "}"
            self._hits.clear()
            try:
                code, state_offset = _dre.assert_fact(sec.handle, fact)
            except Exception as e:
                raise self._error(section, env, f"asserting the fact failed: {e}") from e
            if code == _NOT_HANDLED:
                return set()  # no rule matched; durable stored nothing
            if code != _OK:
                self._retract(sec, fact)  # hygiene only: the result code is the error
                raise self._error(section, env, f"asserting the fact returned code {code}")
            outcome: list[tuple[Any, Any]] = []
            try:
                sec.ruleset.do_actions(state_offset, lambda err, state: outcome.append((err, state)))
            finally:
                retracted = self._retract(sec, fact)
            hits = {i for f, i in self._hits if f == fid}
            self._hits.clear()
            if retracted is not None:
                raise self._error(section, env, retracted)
            if not outcome:
                raise self._error(section, env, "the actions did not complete")
            err, state = outcome[-1]
            if err is not None:
                raise self._error(section, env, f"running the actions failed: {err}")
            if isinstance(state, dict) and state.get("exception"):
                self._clear_exception(sec, state)
                raise self._error(section, env, f"an action raised: {str(state['exception'])[:500]}")
        return hits

    def _retract(self, sec: _Section, fact: str) -> str | None:
        """Retract the fact; a message when that failed."""
        try:
            code, _ = _dre.retract_fact(sec.handle, fact)
        except Exception as e:  # noqa: BLE001 - reported by the caller as a DecisionError
            return f"retracting the fact failed: {e}"
        return None if code == _OK else f"retracting the fact returned code {code}"

    def _clear_exception(self, sec: _Section, state: dict[str, Any]) -> None:
        """durable keeps a swallowed action exception in the session state: remove it."""
        clean = {k: v for k, v in state.items() if k != "exception"}
        try:
            _dre.update_state(sec.handle, json.dumps(clean, ensure_ascii=False))
        except Exception:  # the DecisionError about the exception is raised anyway
            _log.exception("could not clear the exception from durable's session state (%s)", sec.rs.section)

    @staticmethod
    def _error(section: str, env: Env, what: str) -> DecisionError:
        return DecisionError(f"durable evaluator, {section}: {what}", _account(env))
