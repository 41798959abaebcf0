"""The shape of a policy file: every section's keys, what they hold and which are required.

The readers in :mod:`accountrules.check.policy_schema` and :mod:`accountrules.check.schema_sections`
take their allowed and required keys from here; :mod:`accountrules.json_schema` renders the same
table as the JSON Schema editors validate policy files with.
"""

from __future__ import annotations

from accountrules.check.schema_reader import _CODE, _ID, DUE, HIT_POLICIES
from accountrules.check.shapes import (
    EXPR,
    LABEL,
    SCALAR,
    TEXT,
    AnyOf,
    Choice,
    Keys,
    ListOf,
    MapOf,
    Named,
    Nullable,
    Pattern,
    Raw,
    Shape,
    TextOrList,
)
from accountrules.model.enums import ChurnKind, Priority, RiskLevel, Stage

__all__ = [
    "ACTION", "ACTIONS", "ACTION_RULE", "ALLOW_CODES", "CHURN", "CHURN_DEFAULT", "CHURN_ROW", "FIELD", "FIELD_SPEC",
    "FIELD_TYPES", "LINT", "LINT_ALLOW", "LINT_CODES", "METRIC", "METRIC_SPEC", "MONOTONIC", "POLICY_FILE",
    "POLICY_META", "STAGES", "TABLE", "TABLE_ROW", "TRANSITION", "UNUSED_ALLOW",
]

FIELD_TYPES = ("number", "string", "bool", "date")
# the codes `accountrules lint` reports (accountrules.analysis.findings.KINDS, a floor above, holds their
# meaning; a test keeps the two equal): an allowance naming another code would suppress nothing
LINT_CODES = ("AR101", "AR102", "AR103", "AR201", "AR202", "AR203", "AR204", "AR205", "AR301", "AR302", "AR303",
              "AR304", "AR401", "AR402", "AR403", "AR404", "AR501", "AR601")
# AR601 (unused-allow) reports an allowance that accepts no finding. It cannot be allowed itself: its fix is
# always to delete that allowance, and an allowance of it would accept the staleness it exists to report
UNUSED_ALLOW = "AR601"
ALLOW_CODES = tuple(c for c in LINT_CODES if c != UNUSED_ALLOW)

_ID_TEXT = Pattern(_ID, "letters, digits, '_', '-' or '.'")
_SEEDS = Named("seeds", TextOrList(TEXT, "concept ids of docs/seed-coverage.md"))
_HIT = Choice(HIT_POLICIES, "hit policy: which matching rows count (default first)")
# what every rule-like item may carry besides its own keys
_ABOUT: dict[str, Shape] = {"description": LABEL, "seed": _SEEDS}
# the same keys where the loader allows but does not read them (a section's or a field's own notes):
# the schema takes whatever the loader takes
_NOTE = Raw({}, "a note for readers (any text; not read by the loader)")
_NOTES: dict[str, Shape] = {"description": _NOTE, "seed": _NOTE}

POLICY_META = Keys({"name": _ID_TEXT, "version": TEXT, "label": LABEL, "description": LABEL, "currency": _NOTE},
                   ("name", "version", "label"), "the policy's name, version and label")

FIELD_SPEC = Keys({"type": Choice(FIELD_TYPES), "description": _NOTE}, ("type",))
FIELD = AnyOf((Choice(FIELD_TYPES), FIELD_SPEC), "a CRM field outside the account model: its type")

METRIC_SPEC = Keys({"expr": EXPR, "label": LABEL, **_ABOUT}, ("expr",))
METRIC = AnyOf((EXPR, METRIC_SPEC), "a named expression, or {expr, label}")

TABLE_ROW = Keys({"id": _ID_TEXT, "when": EXPR, **_ABOUT, "then": TEXT}, ("id",),
                 "a row: when its condition holds, the table gives 'then'")

TABLE = Keys({
    "hit": _HIT,
    "values": MapOf(Nullable(LABEL), _CODE, "the codes the table can give, with their labels"),
    "default": TEXT,
    "rows": ListOf(TABLE_ROW),
    "label": LABEL,
    **_NOTES,
}, ("values",), "a decision table")

CHURN_ROW = Keys({"id": _ID_TEXT, "when": EXPR, **_ABOUT,
                  "kind": Choice(tuple(k.value for k in ChurnKind)),
                  "risk": Choice(tuple(x.value for x in RiskLevel))},
                 ("id", "kind", "risk"), "a churn row: kind and risk when its condition holds")

CHURN_DEFAULT = Keys({"kind": Choice(tuple(k.value for k in ChurnKind)),
                      "risk": Choice(tuple(x.value for x in RiskLevel))})

CHURN = Keys({"hit": _HIT, "default": CHURN_DEFAULT, "rows": ListOf(CHURN_ROW), "score": EXPR, **_NOTES},
             description="churn kind, risk and score")

TRANSITION = Keys({"id": _ID_TEXT, "from": TextOrList(TEXT, "a state, a list of states, or '*'"), "to": TEXT,
                   "when": EXPR, **_ABOUT}, ("id", "from", "to"), "a stage transition")

STAGES = Keys({
    "states": Keys({s.value: Nullable(LABEL) for s in Stage}, description="the relationship stages used"),
    "start": TEXT,
    "otherwise": TEXT,
    "transitions": ListOf(TRANSITION),
    **_NOTES,
}, ("states", "start"), "relationship stages and their transitions")

ACTION = Keys({
    "title": LABEL,
    "owner": TEXT,
    "priority": Choice(tuple(p.value for p in Priority)),
    "due": AnyOf((Raw({"type": "integer", "minimum": 0}), Raw({"type": "string", "pattern": DUE.pattern})),
                 "days until due: 7, 7d or 2w"),
    **_ABOUT,
}, ("title", "owner"), "an action of the catalog")

ACTION_RULE = Keys({"id": _ID_TEXT, "when": EXPR, **_ABOUT, "do": TextOrList(TEXT, "action codes")}, ("id",),
                   "a rule that opens actions")

ACTIONS = Keys({"catalog": MapOf(ACTION, _CODE), "rules": ListOf(ACTION_RULE), **_NOTES},
               description="retention actions: the catalog and the rules that open them")

MONOTONIC = Keys({"field": TEXT, "direction": Choice(("increasing", "decreasing")), "output": TEXT,
                  "description": _NOTE}, ("field", "output"), "a monotonic property `accountrules check` verifies")

LINT_ALLOW = Keys({"code": Choice(ALLOW_CODES, "a finding code of docs/lint.md"), "reason": TEXT, "rule": TEXT},
                  ("code", "reason"), "a lint finding accepted, with the reason")

LINT = Keys({"allow": ListOf(LINT_ALLOW)})

# the top level of policy.yaml and of the files it includes; no key is required of an included file,
# so 'policy' (required of the main file) is checked by the reader, not here
POLICY_FILE = Keys({
    "policy": POLICY_META,
    "extends": Raw({"type": "string"}, "a base policy, relative to this one"),
    "include": ListOf(Raw({"type": "string"}), "files of this policy's folder to read with it"),
    "params": MapOf(SCALAR, _CODE, "the numbers (and texts, dates) rules compare with"),
    "fields": MapOf(FIELD),
    "metrics": MapOf(METRIC, _CODE),
    "monotonic": ListOf(MONOTONIC),
    "lint": LINT,
    "segments": MapOf(Named("table", TABLE), _CODE),
    "tiers": Named("table", TABLE),
    "stages": STAGES,
    "churn": CHURN,
    "actions": ACTIONS,
}, description="an accountrules policy file (policy.yaml or a file it includes)")
