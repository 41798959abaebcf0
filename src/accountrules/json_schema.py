"""JSON Schemas of policy files and test-case files, for editors (yaml-language-server, VS Code).

Both are generated from the shapes the loader reads with (:mod:`accountrules.check.policy_shapes`,
:mod:`accountrules.testing.case_shapes`) and, for accounts, from the pydantic model the loader
validates with. The generated files ship in the package (``accountrules/schemas/``); a test keeps
them equal to what this module generates, and the shipped policies name them in a modeline::

    # yaml-language-server: $schema=../../schemas/policy.schema.json

``accountrules schema policy|case`` prints them.
"""

from __future__ import annotations

import importlib.resources
import json
from importlib.resources.abc import Traversable
from typing import Any, Literal

from accountrules.check.policy_shapes import POLICY_FILE
from accountrules.check.shapes import to_json_schema
from accountrules.model.account import Account
from accountrules.testing.case_shapes import CASE_FILE

__all__ = ["KINDS", "SchemaKind", "modeline", "schema", "schema_text", "shipped_schema"]

SchemaKind = Literal["policy", "case"]
KINDS: tuple[SchemaKind, ...] = ("policy", "case")
# draft-07: the newest draft yaml-language-server validates completely
_DRAFT = "http://json-schema.org/draft-07/schema#"


def schema(kind: SchemaKind) -> dict[str, Any]:
    """The JSON Schema of a policy file (``policy``) or of a test-case file (``case``)."""
    definitions: dict[str, Any] = {}
    if kind == "policy":
        body = to_json_schema(POLICY_FILE, definitions)
        return {"$schema": _DRAFT, "title": "accountrules policy", **body, "definitions": definitions}
    if kind == "case":
        body = to_json_schema(CASE_FILE, definitions)
        account = Account.model_json_schema(ref_template="#/definitions/{model}")
        models = account.pop("$defs", {})
        if set(models) & set(definitions):  # the model's names are CamelCase, ours lower case
            raise ValueError(f"schema definitions named twice: {sorted(set(models) & set(definitions))}")
        definitions.update(models)
        definitions["Account"] = account
        return {"$schema": _DRAFT, "title": "accountrules test cases", **body, "definitions": definitions}
    raise ValueError(f"unknown schema {kind!r}: choose one of {', '.join(KINDS)}")


def schema_text(kind: SchemaKind) -> str:
    """:func:`schema` as the text of the shipped file (stable: same definitions, same bytes)."""
    return json.dumps(schema(kind), ensure_ascii=False, indent=2) + "\n"


def shipped_schema(kind: SchemaKind) -> Traversable:
    """The schema file shipped in the package (``accountrules/schemas/<kind>.schema.json``)."""
    return importlib.resources.files("accountrules") / "schemas" / f"{kind}.schema.json"


def modeline(kind: SchemaKind, depth: int) -> str:
    """The yaml-language-server modeline of a file ``depth`` folders below ``rulesets/``."""
    return f"# yaml-language-server: $schema={'../' * (depth + 1)}schemas/{kind}.schema.json"
