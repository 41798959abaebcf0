"""Column names of flat inputs and outputs, and the env keys a batch stores.

A flat input (CSV, Parquet, DataFrame, Arrow table) names each column by its field
path: ``id``, ``name``, ``transactions.annual_profit``, ``relationship.stage``,
``extra.<name>`` (only fields the policy declares under ``fields:``). Contacts are a
list per account, so they cannot be flat columns: give them through JSONL or nested
dicts.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, Final

from accountrules.batch.errors import BatchInputError, UnknownColumnError
from accountrules.compile.plan import Plan
from accountrules.evaluate.accounts import unflatten as unflatten  # beside to_account, which decide() uses
from accountrules.i18n import N_, Message
from accountrules.io.columns import ColumnMapping, is_ignored
from accountrules.model.fields import FIELDS, FieldSpec

CONTACT_KEYS: tuple[str, ...] = tuple(p for p in FIELDS if p.startswith("contacts."))
ATTR_KEYS: tuple[str, ...] = tuple(p for p in FIELDS if not p.startswith("contacts."))
# the env of an account without contacts (what account_env gives for contacts=())
NO_CONTACTS: dict[str, Any] = {
    "contacts.count": 0,
    "contacts.supporters": 0,
    "contacts.supporter_weight": 0.0,
    "contacts.decider_supports": False,
    "contacts.has_decider": False,
}


def flat_fields(plan: Plan) -> dict[str, FieldSpec]:
    """The columns a flat input may have for this policy, in model order (extras last)."""
    out = {p: FIELDS[p] for p in ATTR_KEYS}
    for name, kind in plan.extra_fields.items():
        out["extra." + name] = FieldSpec("extra." + name, kind)
    return out


def env_keys(plan: Plan) -> tuple[str, ...]:
    """Every key of the env of one account (what ``env_of`` returns), in its order."""
    return (*ATTR_KEYS, *CONTACT_KEYS, *("extra." + n for n in plan.extra_fields))


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


_MAP_HINT = "map it to a field path (columns=ColumnMapping({...})) or leave it out (unknown='ignore')"
MAPPED_TO: Final = N_("it is mapped to {field!r}, which is no field of this policy")
"""The hint of an :class:`UnknownColumnError` for a column the mapping names: the mapping is what to fix."""


def check_columns(names: Iterable[str], plan: Plan, source: str | None = None,
                  mapping: ColumnMapping | None = None) -> list[str]:
    """Raise for the first column that is no field; return the names (renamed by ``mapping``, an
    ignored column under a name :func:`~accountrules.io.columns.is_ignored` knows). ``id`` is required."""
    allowed = flat_fields(plan)
    seen: set[str] = set()
    header = list(names)
    names = mapping.names(header, allowed) if mapping is not None else header
    for original, col in zip(header, names, strict=True):
        if is_ignored(col):
            continue
        if col in seen:
            twice = Message(N_("column {column!r} appears twice"), column=col) if col == original else \
                Message(N_("column {column!r} is mapped to {field!r}, which another column already gives"),
                        column=original, field=col)
            raise BatchInputError(twice, source=source)
        seen.add(col)
        if col in allowed:
            continue
        if col != original:
            raise UnknownColumnError(original, suggest(col, allowed), source=source,
                                     hint=Message(MAPPED_TO, field=col))
        if col.startswith("contacts.") or col == "contacts":
            raise UnknownColumnError(col, source=source,
                                     hint=Message(N_("contacts cannot be flat columns; give them as nested lists in "
                                                     "JSONL or dicts")))
        if col.startswith("extra."):
            declared = ", ".join(sorted(plan.extra_fields)) or "none"
            raise UnknownColumnError(col, suggest(col, allowed), source=source,
                                     hint=Message(N_("the policy declares no such field under fields: (declared: "
                                                     "{declared})"), declared=declared))
        raise UnknownColumnError(col, suggest(col, allowed), source=source, hint=_MAP_HINT)
    if "id" not in seen:
        raise BatchInputError(Message(N_("no 'id' column: every row needs an account id")), source=source)
    return names
