"""A policy loaded from text or a mapping (e.g. stored in a CRM database) is the same policy as
from files, keeps locations under the given name, pickles, and never reads the disk."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest
import yaml

import accountrules
from accountrules.errors import PolicyError, PolicySchemaError, PolicySyntaxError

EXPRESS = Path(__file__).resolve().parents[1] / "rulesets" / "express"
MAIN = (EXPRESS / "policy.yaml").read_text(encoding="utf-8")
PARTS = {p.name: p.read_text(encoding="utf-8") for p in sorted(EXPRESS.glob("*.yaml")) if p.name != "policy.yaml"}
SMALL = """\
policy: {name: small, version: "1", label: {zh: 小, en: small}}
params: {gold_revenue: 100000}
tiers:
  hit: first
  values: {gold: {zh: 金, en: Gold}, iron: {zh: 铁, en: Iron}}
  default: iron
  rows:
    - {id: gold, when: "transactions.annual_revenue >= params.gold_revenue", then: gold}
"""


def test_text_with_its_parts_is_the_shipped_policy() -> None:
    from_text = accountrules.load_policy_text(MAIN, name="crm:express", files=PARTS)
    from_disk = accountrules.load_policy(EXPRESS)
    assert from_text.ref == from_disk.ref  # same name, version and content hash
    accounts = [{"id": f"A{i}", "transactions": {"annual_revenue": 10_000 * i}} for i in range(30)]
    # trace=False: the trace names the files, which differ ("tiers.yaml" against "express/tiers.yaml")
    assert [d.model_dump() for d in from_text.decide_many(accounts, trace=False)] == \
        [d.model_dump() for d in from_disk.decide_many(accounts, trace=False)]


def test_a_text_policy_pickles_and_copies_without_the_disk() -> None:
    policy = accountrules.load_policy_text(SMALL, name="crm:small")
    for copied in (pickle.loads(pickle.dumps(policy)), copy.deepcopy(policy)):
        assert copied == policy
        assert copied.decide({"id": "x", "transactions": {"annual_revenue": 2e5}}).model_dump() == \
            policy.decide({"id": "x", "transactions": {"annual_revenue": 2e5}}).model_dump()


@pytest.mark.parametrize("key", ["include", "extends"])
def test_references_are_refused_without_files_with_a_location(key: str) -> None:
    text = SMALL + f"{key}: {'[tiers.yaml]' if key == 'include' else 'base.yaml'}\n"
    with pytest.raises(PolicySchemaError, match=f"cannot use {key}") as caught:
        accountrules.load_policy_text(text, name="crm:7")
    loc = caught.value.location
    assert loc is not None and (loc.file, loc.line, loc.column) == ("crm:7", 9, 1)


def test_extends_reaches_a_text_given_in_files() -> None:
    child = 'policy: {name: child, version: "2", label: child}\nextends: base.yaml\nparams: {gold_revenue: 5}\n'
    policy = accountrules.load_policy_text(child, name="crm:child", files={"base.yaml": SMALL})
    assert policy.name == "child"
    assert policy.decide({"id": "x", "transactions": {"annual_revenue": 6}}).tier.code == "gold"


@pytest.mark.parametrize("name", ["../base.yaml", "/etc/passwd", "", "policy.yaml"])
def test_files_must_be_names_inside_the_policy(name: str) -> None:
    with pytest.raises(PolicySchemaError, match="files:"):
        accountrules.load_policy_text(SMALL, name="crm:1", files={name: SMALL})


def test_errors_carry_the_given_name_as_the_file() -> None:
    bad = SMALL.replace("transactions.annual_revenue", "transactions.anual_revenue")
    with pytest.raises(PolicyError) as caught:
        accountrules.load_policy_text(bad, name="crm:policy/42")
    assert all(e.location is not None and e.location.file == "crm:policy/42" for e in caught.value.errors)
    assert "crm:policy/42:8:24:" in str(caught.value)
    with pytest.raises(PolicySyntaxError, match="crm:broken:2:1:"):
        accountrules.load_policy_text("policy: [\n", name="crm:broken")


def test_a_mapping_loads_like_its_yaml() -> None:
    mapping = yaml.safe_load(SMALL)
    rich = {"id": "x", "transactions": {"annual_revenue": 2e5}}
    from_mapping = accountrules.load_policy_mapping(mapping, name="db").decide(rich, trace=False).model_dump()
    from_text = accountrules.load_policy_text(SMALL, name="db").decide(rich, trace=False).model_dump()
    from_mapping.pop("policy"), from_text.pop("policy")  # the hash is of the text, and the YAML is rewritten
    assert from_mapping == from_text
    shared = {"zh": "小", "en": "small"}  # the same object twice: written without YAML anchors
    mapping["policy"]["label"] = shared
    mapping["policy"]["description"] = shared
    mapping["tiers"]["rows"] = tuple(mapping["tiers"]["rows"])
    assert accountrules.load_policy_mapping(mapping, name="db").spec.description is not None


def test_a_mapping_error_names_the_source_and_a_line_of_its_yaml() -> None:
    mapping = yaml.safe_load(SMALL)
    mapping["tierz"] = mapping.pop("tiers")
    with pytest.raises(PolicySchemaError, match="did you mean 'tiers'") as caught:
        accountrules.load_policy_mapping(mapping, name="db:9")
    assert caught.value.location is not None and caught.value.location.file == "db:9"
    with pytest.raises(PolicySchemaError, match="cannot write"):
        accountrules.load_policy_mapping({**mapping, "params": {"x": object()}}, name="db:9")
    with pytest.raises(PolicySchemaError, match="must be a mapping"):
        accountrules.load_policy_mapping(["not", "a", "mapping"], name="db:9")  # type: ignore[arg-type]
