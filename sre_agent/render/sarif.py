"""SARIF 2.1.0 for code-scanning UIs: one run, every rule that produced a result described."""

from __future__ import annotations

import json
from typing import Any

from sre_agent.models import Finding, Review, Severity
from sre_agent.rules.base import all_rules

LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _rule_descriptors(findings: list[Finding]) -> list[dict[str, Any]]:
    ours = {rule.id: rule for rule in all_rules()}
    descriptors: dict[str, dict[str, Any]] = {}
    for rule in ours.values():
        descriptors[rule.id] = {
            "id": rule.id, "name": rule.name,
            "shortDescription": {"text": rule.title_en},
            "fullDescription": {"text": rule.documentation()},
            "defaultConfiguration": {"level": LEVEL[rule.severity]},
            "properties": {"perspective": rule.perspective.value},
        }
    for finding in findings:
        if finding.id not in descriptors:
            descriptors[finding.id] = {
                "id": finding.id, "name": finding.id.split(":", 1)[-1],
                "shortDescription": {"text": finding.title or finding.id},
                "properties": {"perspective": finding.perspective.value, "source": finding.source},
            }
    return list(descriptors.values())


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": finding.file or "."}}
    if finding.line:
        location["region"] = {"startLine": finding.line}
    result: dict[str, Any] = {
        "ruleId": finding.id, "ruleIndex": index[finding.id], "level": LEVEL[finding.severity],
        "message": {"text": f"{finding.message} — {finding.remediation}"},
        "locations": [{"physicalLocation": location}],
        "properties": {"perspective": finding.perspective.value, "source": finding.source,
                       "relatedIds": finding.related_ids},
    }
    if finding.resource:
        result["locations"][0]["logicalLocations"] = [{"name": finding.resource, "kind": "resource"}]
    if finding.suppressed:
        result["suppressions"] = [{"kind": "inSource",
                                   "justification": finding.suppression_reason or ""}]
    return result


def render_sarif(review: Review) -> str:
    rules = _rule_descriptors(review.findings)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    versions = {a.name: a.version for a in review.analyzers}
    sarif = {
        "$schema": SCHEMA, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "sre-agent", "informationUri": "https://pypi.org/project/sre-agent/",
                                "version": versions.get("sre-rules", "dev"), "rules": rules}},
            "results": [_result(f, index) for f in review.findings],
            "properties": {"verdict": review.verdict},
        }],
    }
    return json.dumps(sarif, ensure_ascii=False, indent=2)
