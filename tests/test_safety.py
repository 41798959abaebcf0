"""Policy text can never execute code, reach Python objects or import anything."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import accountrules
from accountrules import PolicyError

SRC = Path(__file__).resolve().parents[1] / "src" / "accountrules"

HEAD = """\
policy: {name: t, version: "1", label: {zh: 测试, en: test}}
tiers:
  hit: first
  values: {gold: Gold}
  rows:
    - id: r
      when: WHEN
      then: gold
"""

HOSTILE = [
    "__import__('os').system('echo pwned') == 0",
    "transactions.__class__ == 'x'",
    "transactions.revenue.__class__.__mro__ == 'x'",
    "eval('1') == 1",
    "exec('import os') == 1",
    "open('/etc/passwd') == 'x'",
    "getattr(transactions, 'revenue') > 1",
    "[x for x in ()] == 1",
    "lambda: 1",
    "transactions.revenue if true else 1",
    "account.__dict__ == 1",
    "globals() == 1",
    "`id`",
    "${jndi:x}",
    "transactions['revenue'] > 1",
]


@pytest.mark.parametrize("when", HOSTILE)
def test_hostile_expressions_are_refused_at_load(tmp_path: Path, when: str) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(HEAD.replace("WHEN", '"' + when.replace('"', '\\"') + '"'), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        accountrules.load_policy(p)
    assert info.value.location is not None
    assert info.value.location.line == 7


def test_yaml_tags_cannot_construct_objects(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(HEAD.replace("WHEN", "!!python/object/apply:os.system ['echo pwned']"), encoding="utf-8")
    with pytest.raises(accountrules.errors.PolicySyntaxError, match="tag"):
        accountrules.load_policy(p)


def _calls(tree: ast.AST) -> list[str]:
    """Called names: builtins as ``name``, methods as ``owner.attr`` (``re.compile`` is fine, ``compile`` not)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name):
                out.append(f.id)
            elif isinstance(f, ast.Attribute):
                owner = f.value.id if isinstance(f.value, ast.Name) else "?"
                out.append(f"{owner}.{f.attr}")
    return out


def test_library_source_never_calls_eval_exec_or_unsafe_yaml() -> None:
    forbidden = {"eval", "exec", "compile", "__import__", "yaml.load", "yaml.unsafe_load", "yaml.full_load"}
    for path in SRC.rglob("*.py"):
        calls = set(_calls(ast.parse(path.read_text(encoding="utf-8"))))
        bad = forbidden & calls
        assert not bad, f"{path} calls {bad}"


def test_the_policy_pipeline_imports_nothing_dynamically() -> None:
    """parse -> check -> compile -> evaluate: no stage can import a module named by data."""
    for stage in ("parse", "check", "compile", "evaluate"):
        for path in (SRC / stage).glob("*.py"):
            calls = set(_calls(ast.parse(path.read_text(encoding="utf-8"))))
            assert "importlib.import_module" not in calls, path


def test_expression_names_resolve_only_to_catalogued_data() -> None:
    from accountrules.model.fields import FIELDS

    assert all(not part.startswith("_") for path in FIELDS for part in path.split("."))
