"""Lint reports as text (coloured on a terminal), JSON and SARIF 2.1.0."""

from __future__ import annotations

import json
from typing import Any

import yaml

from accountrules.analysis.findings import KINDS, Finding
from accountrules.analysis.lint import LintReport
from accountrules.i18n import N_, gettext_for

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_COLOUR = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
# the severity words of the text report; JSON and SARIF keep the codes error / warning / info
_SEVERITY = {"error": N_("error"), "warning": N_("warning"), "info": N_("info")}
# the status tag of a finding whose witness was not confirmed: proven (structural) or unknown (no witness)
_STATUS = {"proven": N_("proven"), "unknown": N_("unknown")}


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "name": f.name,
        "severity": f.severity,
        "status": f.status,
        "message": {"zh": f.message.zh, "en": f.message.en},
        "rules": [{"section": r.section, "rule": r.rule,
                   "file": r.location.file if r.location else None,
                   "line": r.location.line if r.location else None,
                   "column": r.location.column if r.location else None} for r in f.rules],
        "detail": f.detail or None,
        "suppressed": f.suppressed,
        "witness": f.witness_case(),
    }


def to_json(report: LintReport) -> str:
    return json.dumps({"policy": report.policy, "version": report.version,
                       "findings": [finding_dict(f) for f in report.findings]},
                      ensure_ascii=False, indent=2, default=str)


def to_text(report: LintReport, *, lang: str = "en", colour: bool = False, witnesses: bool = False) -> str:
    _ = gettext_for(lang)
    lines: list[str] = []
    for f in report.findings:
        where = f.rules[0].location if f.rules and f.rules[0].location else None
        sev = f.severity
        word = _(_SEVERITY[sev])
        tag = f"{_COLOUR[sev]}{word}\033[0m" if colour else word
        status = "" if f.status == "confirmed" else f" [{_(_STATUS.get(f.status, f.status))}]"
        allowed = _(" (allowed: {reason})").format(reason=f.suppressed) if f.suppressed else ""
        lines.append(f"{where or report.policy}: {tag} {f.code} {f.name}{status}: {f.message.in_(lang)}{allowed}")
        for r in f.rules[1:]:
            lines.append(f"    {r.location or '?'}: {r.section} {r.rule}")
        case = f.witness_case()
        if witnesses and case is not None:
            text = yaml.safe_dump(case, allow_unicode=True, sort_keys=False, width=110)
            lines.extend("    | " + ln for ln in text.splitlines())
    active = report.active
    counts = {s: sum(1 for f in active if f.severity == s) for s in ("error", "warning", "info")}
    suppressed = len(report.findings) - len(active)
    lines.append(f"{report.policy} {report.version}" + _(
        ": {errors} error(s), {warnings} warning(s), {notes} note(s), {allowed} allowed").format(
        errors=counts["error"], warnings=counts["warning"], notes=counts["info"], allowed=suppressed))
    return "\n".join(lines)


def to_sarif(report: LintReport) -> dict[str, Any]:
    rules = [{"id": k.code, "name": k.name,
              "shortDescription": {"text": k.title.en},
              "fullDescription": {"text": f"{k.title.en} / {k.title.zh}"},
              "defaultConfiguration": {"level": _LEVEL[k.severity]}} for k in KINDS.values()]
    index = {k: i for i, k in enumerate(KINDS)}
    results = []
    for f in report.findings:
        locs = [{"physicalLocation": {"artifactLocation": {"uri": r.location.file},
                                      "region": {"startLine": r.location.line, "startColumn": r.location.column}},
                 "logicalLocations": [{"name": r.rule, "kind": "member",
                                       "fullyQualifiedName": f"{r.section}/{r.rule}"}]}
                for r in f.rules if r.location is not None]
        result: dict[str, Any] = {
            "ruleId": f.code, "ruleIndex": index[f.code], "level": _LEVEL[f.severity],
            "message": {"text": f"{f.message.en} / {f.message.zh}"},
            "locations": locs[:1], "relatedLocations": [{"id": i, **loc} for i, loc in enumerate(locs[1:], 1)],
            "properties": {"status": f.status, "message_zh": f.message.zh, "witness": f.witness_case()},
        }
        if f.suppressed:
            result["suppressions"] = [{"kind": "inSource", "justification": f.suppressed}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA, "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "accountrules-lint", "informationUri":
                                      "https://github.com/accountrules/accountrules/blob/main/docs/lint.md",
                                      "rules": rules}},
                  "results": results}],
    }
