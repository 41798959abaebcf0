"""durable_rules rulesets shared by the policies that translate to the same rules, released with the last one.

durable_rules keeps every ruleset in one process-wide table of its C core (131,072 handles;
megabytes for a policy like ``rulesets/express``), under a name unique in the process, and frees one only
when ``delete_ruleset`` is called. So the evaluator must decide, process-wide, when a ruleset is
registered and when it is deleted. This module is the one place that does, and the only
process-wide state of the durable evaluator:

* **Reuse.** Rulesets are keyed by a digest of their translated definitions (the rules durable
  is given, which are a function of the policy's texts). While a :class:`Network` for a key is
  alive, every durable matcher whose policy translates to the same rules uses it: loading the same
  policy twice registers nothing new. The key is the translation, not ``PolicyRef.hash``, so a
  policy built in memory from an edited spec can never pick up another policy's rules.
* **Release, or reuse for good.** A network that has not decided yet is held weakly: when the
  last matcher using it is dropped (its Policy is dropped), its finalizer deletes its rulesets
  from durable's C core, which frees them. Once a network has decided, durable has allocated
  session state for its rulesets that ``delete_ruleset`` does not free (a probe that deleted
  them after deciding saw the resident memory grow by about a policy's rulesets every cycle). Such a network
  is therefore kept for the life of the process and reused by every later load of the same
  rules: loading, using and dropping one policy any number of times costs its memory once, and a
  process's durable memory is bounded by the number of distinct policies it decided with.
  ``benchmarks/durable_memory.py`` measures the resident memory over such cycles.

Thread-safety: a lock guards the registry; matchers sharing a network share its decision lock
(one durable session per ruleset, see :mod:`accountrules.evaluate.durable`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import uuid
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from accountrules.errors import PolicyLimitError
from accountrules.evaluate.durable_compile import SectionRuleset

try:
    import durable_rules_engine as _dre  # untyped: pyproject's mypy overrides ignore it
    from durable import engine as _engine
except Exception as _e:  # Python 3.13 builds it but cannot import it; or it is not installed
    raise ImportError(f"durable_rules cannot be imported: {_e}") from _e

__all__ = ["Network", "keep_used", "live_networks", "network_for", "translation_key"]


class _SyncHost(_engine.Host):  # type: ignore[misc]
    """A Host without durable's two perpetual timer threads (no timers, no async actions)."""

    def _run(self) -> None:
        pass


def _release(handles: list[int]) -> None:
    """Delete rulesets from durable's C core (a finalizer: it must not refer to the network)."""
    while handles:
        _dre.delete_ruleset(handles.pop())


class Network:
    """The registered rulesets of one translation: ruleset and handle per section, the hits the
    rules' actions record, and the lock every decision through them holds."""

    def __init__(self, key: str, rulesets: Sequence[SectionRuleset]) -> None:
        self.key = key
        self.lock = threading.Lock()
        self.hits: list[tuple[Any, int]] = []  # (fact id, CRow.index), appended by the actions
        self.next_fact = 1
        self.used = False  # set (under the lock) by the first decision: see the module docstring
        self._handles: list[int] = []
        # registered first: a network that fails half-way still releases what it registered
        self._finalizer = weakref.finalize(self, _release, self._handles)
        self._host = _SyncHost()
        self.sections: dict[str, tuple[Any, int]] = {}  # section -> (durable Ruleset, handle)
        suffix = uuid.uuid4().hex  # durable's names are process-wide: never reuse one
        for i, rs in enumerate(rulesets):
            if rs.rules:
                self.sections[rs.section] = self._register(rs, f"accountrules_{suffix}_{i}")

    def _action(self, index: int) -> Callable[[Any], None]:
        hits = self.hits

        def action(c: Any) -> None:  # exactly one parameter: durable treats two as asynchronous
            hits.append((c.m.id, index))

        return action

    def _register(self, rs: SectionRuleset, name: str) -> tuple[Any, int]:
        definition: dict[str, dict[str, Any]] = copy.deepcopy(rs.definition())
        for spec in rs.rules:
            definition[spec.name]["run"] = self._action(spec.index)
        try:
            self._host.set_rulesets({name: definition})
            ruleset = self._host.get_ruleset(name)
        except Exception as e:
            raise PolicyLimitError(f"{rs.section}: durable_rules refused the translated rules: {e}",
                                   rs.location, "split the table or simplify its conditions") from e
        handle = int(ruleset._handle)
        self._handles.append(handle)
        return ruleset, handle

    @property
    def released(self) -> bool:
        """True once its rulesets were deleted from durable (the network was dropped)."""
        return not self._finalizer.alive


class _Registry:
    """Live networks by translation key: held weakly until they decide, then kept (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.live: weakref.WeakValueDictionary[str, Network] = weakref.WeakValueDictionary()
        self.kept: dict[str, Network] = {}


_REGISTRY = _Registry()  # process-wide because durable_rules' ruleset table is: see the module docstring


def translation_key(rulesets: Sequence[SectionRuleset]) -> str:
    """A digest of what durable is given for these sections (names and rules, not the generated ruleset names)."""
    data = [(rs.section, rs.definition()) for rs in rulesets]
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def network_for(rulesets: Sequence[SectionRuleset]) -> Network:
    """The live network for these translated sections, registering them with durable if none is alive."""
    key = translation_key(rulesets)
    with _REGISTRY.lock:
        found = _REGISTRY.live.get(key)
        if found is None:
            found = Network(key, rulesets)
            _REGISTRY.live[key] = found
        return found


def keep_used(network: Network) -> None:
    """Mark ``network`` as having decided and keep it for reuse (call under ``network.lock``)."""
    if network.used:
        return
    network.used = True
    with _REGISTRY.lock:
        _REGISTRY.kept[network.key] = network


def live_networks() -> tuple[int, int]:
    """How many networks (sets of registered rulesets) are alive in this process, and how many of them are kept."""
    with _REGISTRY.lock:
        return len(_REGISTRY.live), len(_REGISTRY.kept)
