"""docs/seed-coverage.md is complete and every seed a shipped rule cites is a known concept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import accountrules
from accountrules.check.policy_check import all_rows

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "seed-coverage.md"
CATALOGUE = ROOT.parent / "shared" / "domain" / "seed-concepts.md"
POLICIES = [ROOT / "rulesets" / "express", ROOT / "rulesets" / "postal"]
STATUSES = {"encoded", "model", "out of scope"}


def doc_rows() -> dict[str, str]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\|\s*([A-Z]{1,2}\d+)\s*\|\s*([a-z ]+?)\s*\|", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def cited(policy: accountrules.Policy) -> dict[str, set[str]]:
    """Concept id -> ids of the rules, metrics and catalog actions that cite it."""
    out: dict[str, set[str]] = {}
    spec = policy.spec
    for rows in all_rows(spec).values():
        for r in rows:
            for s in r.prov.seed:
                out.setdefault(s, set()).add(r.id)
    for m in spec.metrics:
        for s in m.prov.seed:
            out.setdefault(s, set()).add("metric:" + m.name)
    if spec.actions:
        for a in spec.actions.catalog.values():
            for s in a.prov.seed:
                out.setdefault(s, set()).add("action:" + a.code)
    return out


def test_every_row_of_the_doc_has_a_known_status() -> None:
    rows = doc_rows()
    assert rows, "no table rows found"
    bad = {k: v for k, v in rows.items() if v not in STATUSES}
    assert not bad


@pytest.mark.skipif(not CATALOGUE.exists(), reason="the shared catalogue is not beside the repo")
def test_doc_lists_exactly_the_catalogue() -> None:
    ids = set(re.findall(r"^([TGCRPD]\d+) ", CATALOGUE.read_text(encoding="utf-8"), re.M))
    assert ids and set(doc_rows()) == ids


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_shipped_rules_cite_only_documented_in_scope_concepts(path: Path) -> None:
    rows = doc_rows()
    citations = cited(accountrules.load_policy(path))
    unknown = set(citations) - set(rows)
    assert not unknown, f"rules cite concepts missing from docs/seed-coverage.md: {unknown}"
    scoped_out = {c: citations[c] for c in citations if rows[c] == "out of scope"}
    assert not scoped_out, f"concepts marked out of scope are cited by rules: {scoped_out}"


def test_every_encoded_concept_is_cited_by_a_shipped_rule() -> None:
    citations: dict[str, set[str]] = {}
    for path in POLICIES:
        for k, v in cited(accountrules.load_policy(path)).items():
            citations.setdefault(k, set()).update(v)
    missing = [c for c, status in doc_rows().items() if status == "encoded" and c not in citations]
    assert not missing, f"marked encoded but cited by no rule, metric or action: {missing}"
