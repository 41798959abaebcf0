"""The JSON Schemas of policy and case files: shipped up to date, named by every shipped file's modeline,
valid for every shipped file, and never stricter than the loader (what the schema refuses, the loader
refuses too; an unknown key is refused by both)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.errors import PolicyError
from accountrules.json_schema import KINDS, SchemaKind, schema, schema_text, shipped_schema
from accountrules.parse.yaml_source import load_yaml_file, load_yaml_text
from accountrules.testing.cases import parse_case_file

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "rulesets").rglob("*.yaml"))
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


def plain(value: Any) -> Any:
    """YAML data as an editor's JSON view of it: dates are text (YAML 1.2, as yaml-language-server reads)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


VALIDATORS = {kind: jsonschema.Draft7Validator(schema(kind), format_checker=jsonschema.FormatChecker())
              for kind in KINDS}


def schema_errors(kind: SchemaKind, data: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATORS[kind].iter_errors(plain(data))]


@pytest.mark.parametrize("kind", KINDS)
def test_the_shipped_schema_is_what_the_generator_gives(kind: SchemaKind) -> None:
    shipped = shipped_schema(kind).read_text(encoding="utf-8")
    assert shipped == schema_text(kind), (
        f"schemas/{kind}.schema.json is out of date: run "
        f"`accountrules schema {kind} -o schemas/{kind}.schema.json`")
    jsonschema.Draft7Validator.check_schema(json.loads(shipped))


@pytest.mark.parametrize("kind", KINDS)
def test_the_command_prints_the_schema(kind: SchemaKind, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "accountrules", "schema", kind], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == schema(kind)
    out = tmp_path / "s.json"
    done = subprocess.run([sys.executable, "-m", "accountrules", "schema", kind, "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and out.read_text(encoding="utf-8") == schema_text(kind)


def test_the_command_refuses_an_unknown_kind() -> None:
    done = subprocess.run([sys.executable, "-m", "accountrules", "schema", "policies"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_every_shipped_file_is_covered() -> None:
    assert len(SHIPPED) >= 20
    assert {p.parent.name for p in SHIPPED} >= {"express", "postal", "tests"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_shipped_file_names_its_schema_and_is_valid_under_it(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    m = MODELINE.match(first)
    assert m, f"{path.name}: the first line is not a yaml-language-server modeline"
    kind: SchemaKind = "case" if path.parent.name == "tests" else "policy"
    target = (path.parent / m.group(1)).resolve()
    assert target == (ROOT / "schemas" / f"{kind}.schema.json").resolve()
    assert target.read_text(encoding="utf-8") == schema_text(kind)
    data = load_yaml_file(path).plain()
    assert schema_errors(kind, data) == []


def test_the_modelines_resolve_inside_the_installed_package_too() -> None:
    # the package's rulesets/ and schemas/ sit side by side, as rulesets/ and schemas/ do in the repository
    package = Path(accountrules.__file__).parent
    policy = package / "rulesets" / "express" / "policy.yaml"
    m = MODELINE.match(policy.read_text(encoding="utf-8").splitlines()[0])
    assert m and (policy.parent / m.group(1)).is_file()


# -- the schema and the loader agree ---------------------------------------------------------------

SMALL = (ROOT / "examples" / "small" / "policy.yaml").read_text(encoding="utf-8")


def load_policy_data(data: Any) -> None:
    accountrules.load_policy_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), name="p.yaml")


def policy_rejected(data: Any) -> bool:
    try:
        load_policy_data(data)
    except PolicyError:
        return True
    return False


# each a structural fault: an unknown key, a wrong type, a missing required key, a value not among the options
POLICY_FAULTS = [
    ("unknown top-level key", lambda d: d.update(tiers2={})),
    ("unknown key in a row", lambda d: d["tiers"]["rows"][0].update(thne="gold")),
    ("unknown key in the metadata", lambda d: d["policy"].update(owner="me")),
    ("rows not a list", lambda d: d["tiers"].update(rows={"id": "x"})),
    ("label a list", lambda d: d["policy"].update(label=["a", "b"])),
    ("params value a mapping", lambda d: d["params"].update(top_cut={"value": 0.8})),
    ("missing version", lambda d: d["policy"].pop("version")),
    ("row without id", lambda d: d["tiers"]["rows"][0].pop("id")),
    ("action without owner", lambda d: d["actions"]["catalog"]["dedicated_manager"].pop("owner")),
    ("churn row without risk", lambda d: d["churn"]["rows"][0].pop("risk")),
    ("transition without to", lambda d: d["stages"]["transitions"][0].pop("to")),
    ("hit policy misspelt", lambda d: d["tiers"].update(hit="firts")),
    ("priority not an option", lambda d: d["actions"]["catalog"]["dedicated_manager"].update(priority="asap")),
    ("a stage the model lacks", lambda d: d["stages"]["states"].update(dormant=None)),
    ("label with one language", lambda d: d["policy"].update(label={"zh": "示例"})),
]


@pytest.mark.parametrize(("fault", "mutate"), POLICY_FAULTS, ids=[f for f, _ in POLICY_FAULTS])
def test_a_structural_fault_in_a_policy_is_refused_by_schema_and_loader(fault: str, mutate: Any) -> None:
    data = yaml.safe_load(SMALL)
    assert schema_errors("policy", data) == [] and not policy_rejected(data)
    mutate(data)
    assert schema_errors("policy", data), f"the schema accepts: {fault}"
    with pytest.raises(PolicyError):
        load_policy_data(data)


def mapping_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        yield path
        for k, v in value.items():
            yield from mapping_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from mapping_paths(v, (*path, i))


def at(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


def test_an_unknown_key_anywhere_in_a_policy_gets_one_verdict_from_schema_and_loader() -> None:
    """Adding a key to any mapping: where the schema refuses it (a fixed-key mapping) the loader does too,
    and where the schema takes it (a new parameter, segment value, ...) the loader loads the policy."""
    base = yaml.safe_load(SMALL)
    refused = 0
    for path in mapping_paths(base):
        data = copy.deepcopy(base)
        at(data, path)["zz_new"] = {"zh": "新", "en": "new"} if path[-1:] == ("values",) else 1
        by_schema = bool(schema_errors("policy", data))
        assert policy_rejected(data) == by_schema, f"at {'.'.join(map(str, path)) or '(top)'}"
        refused += by_schema
    assert refused >= 20


def mutations(base: Any, keys: tuple[str, ...] = (), changes: tuple[Any, ...] = ("drop", [1], {"x": 1})
              ) -> list[tuple[tuple[Any, ...], str, Any]]:
    """Every (mapping path, key, change): drop the key, or set it to a list or a mapping."""
    return [(path, key, change) for path in mapping_paths(base) for key in [*at(base, path), *keys]
            for change in changes]


def mutated(base: Any, path: tuple[Any, ...], key: str, change: Any) -> Any:
    data = copy.deepcopy(base)
    node = at(data, path)
    if change == "drop":
        node.pop(key, None)
    else:
        node[key] = change
    return data


def one_file(folder: Path) -> dict[str, Any]:
    """A policy folder as one mapping: policy.yaml with the top-level keys of the files it includes."""
    main = yaml.safe_load((folder / "policy.yaml").read_text(encoding="utf-8"))
    for name in main.pop("include", []):
        main.update(yaml.safe_load((folder / name).read_text(encoding="utf-8")))
    return main


# the small example, and the shipped express policy (every section, fields, monotonic, lint) as one file
POLICY_BASES = {"small": yaml.safe_load(SMALL), "express": one_file(ROOT / "rulesets" / "express")}
POLICY_MUTATIONS = [(name, *m) for name, base in POLICY_BASES.items() for m in mutations(base)]


def test_the_bases_are_valid_policies() -> None:
    for base in POLICY_BASES.values():
        assert schema_errors("policy", base) == [] and not policy_rejected(base)


def check_policy_mutation(base: str, path: tuple[Any, ...], key: str, change: Any) -> bool:
    """True when the schema refuses the mutation (and then asserts the loader refuses it too)."""
    data = mutated(POLICY_BASES[base], path, key, change)
    if not schema_errors("policy", data):
        return False
    assert policy_rejected(data), f"{change} at {'.'.join(map(str, (*path, key)))}"
    return True


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(POLICY_MUTATIONS))
def test_whatever_the_schema_refuses_in_a_policy_the_loader_refuses(m: tuple[str, tuple[Any, ...], str, Any]) -> None:
    """Dropping a key, or replacing a value with a list or a mapping: the schema is never stricter."""
    check_policy_mutation(*m)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("ACCOUNTRULES_SLOW"), reason="every mutation: set ACCOUNTRULES_SLOW=1")
def test_whatever_the_schema_refuses_in_a_policy_the_loader_refuses_every_mutation() -> None:
    assert sum(check_policy_mutation(*m) for m in POLICY_MUTATIONS) >= 500


CASES = """\
as_of: 2026-06-30
portfolio:
  - {id: P1, transactions: {annual_profit: 100, marketing_cost: 100}}
cases:
  - name: a profitable account is gold
    seed: [T1]
    description: {zh: 盈利, en: profitable}
    given: {id: A1, transactions: {annual_profit: 900, marketing_cost: 100}, relationship: {stage: initial}}
    expect:
      tier: gold
      stage: {from: initial, to: initial}
      churn: {kind: none, risk: low}
      actions: {exclude: [dedicated_manager]}
      fired: [gold-profitable]
"""

CASE_FAULTS = [
    ("unknown key in a case", lambda d: d["cases"][0].update(expcet={})),
    ("unknown key in the file", lambda d: d.update(case=[])),
    ("unknown account field", lambda d: d["cases"][0]["given"].update(colour="red")),
    ("account field of the wrong type", lambda d: d["cases"][0]["given"]["transactions"].update(annual_profit=[1])),
    ("cases not a list", lambda d: d.update(cases={"name": "x"})),
    ("missing given", lambda d: d["cases"][0].pop("given")),
    ("missing cases", lambda d: d.pop("cases")),
    ("account without id", lambda d: d["portfolio"][0].pop("id")),
    ("churn risk not an option", lambda d: d["cases"][0]["expect"]["churn"].update(risk="severe")),
    ("unknown key in expect", lambda d: d["cases"][0]["expect"].update(teir="gold")),
    ("actions a mapping of the wrong keys", lambda d: d["cases"][0]["expect"].update(actions={"only": []})),
    ("as_of not a date", lambda d: d.update(as_of="June")),
]


@pytest.fixture(scope="module")
def small_policy() -> accountrules.Policy:
    return accountrules.load_policy_text(SMALL, name="policy.yaml")


def case_rejected(data: Any, policy: accountrules.Policy) -> bool:
    node = load_yaml_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), file="cases.yaml")
    try:
        parse_case_file(node, policy)
    except PolicyError:
        return True
    return False


@pytest.mark.parametrize(("fault", "mutate"), CASE_FAULTS, ids=[f for f, _ in CASE_FAULTS])
def test_a_structural_fault_in_a_case_file_is_refused_by_schema_and_loader(
        fault: str, mutate: Any, small_policy: accountrules.Policy) -> None:
    data = yaml.safe_load(CASES)
    assert schema_errors("case", data) == [] and not case_rejected(data, small_policy)
    mutate(data)
    assert schema_errors("case", data), f"the schema accepts: {fault}"
    assert case_rejected(data, small_policy), f"the loader accepts: {fault}"


CASE_DATA = yaml.safe_load(CASES)
CASE_MUTATIONS = mutations(CASE_DATA, keys=("zz_new",), changes=("drop", [1], {"x": 1}, 1))


def check_case_mutation(policy: accountrules.Policy, path: tuple[Any, ...], key: str, change: Any) -> bool:
    data = mutated(CASE_DATA, path, key, change)
    if not schema_errors("case", data):
        return False
    assert case_rejected(data, policy), f"{change} at {'.'.join(map(str, (*path, key)))}"
    return True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=st.sampled_from(CASE_MUTATIONS))
def test_whatever_the_schema_refuses_in_a_case_file_the_loader_refuses(
        small_policy: accountrules.Policy, m: tuple[tuple[Any, ...], str, Any]) -> None:
    check_case_mutation(small_policy, *m)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("ACCOUNTRULES_SLOW"), reason="every mutation: set ACCOUNTRULES_SLOW=1")
def test_whatever_the_schema_refuses_in_a_case_file_the_loader_refuses_every_mutation(
        small_policy: accountrules.Policy) -> None:
    assert sum(check_case_mutation(small_policy, *m) for m in CASE_MUTATIONS) >= 50
