"""Every rule against its fixture folder: the exact set of failing locations, per case."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import RULE_FIXTURES
from sre_agent.project import load_project
from sre_agent.rules.base import RuleContext, all_rules, short_code

# Rules whose findings come from a wrapped tool or the engine itself have their behaviour tested
# in the adapter and suppression tests rather than in a per-rule fixture folder.
TESTED_ELSEWHERE = {"SRE-DEP-016": "test_analyzers.py", "SRE-SUP-001": "test_suppressions.py"}


def _cases() -> list[tuple[str, dict]]:
    cases = []
    for expected in sorted(RULE_FIXTURES.glob("*/expected.yaml")):
        spec = yaml.safe_load(expected.read_text(encoding="utf-8"))
        for case in spec["cases"]:
            cases.append((spec["rule"], {**case, "dir": expected.parent}))
    return cases


CASES = _cases()


@pytest.mark.parametrize(("rule_id", "case"), CASES,
                         ids=[f"{short_code(r)}/{c['path']}" for r, c in CASES])
def test_rule_reports_exactly_the_expected_locations(rule_id: str, case: dict) -> None:
    rule = next(r for r in all_rules() if r.id == rule_id)()
    project = load_project([case["dir"] / case["path"]])
    findings = list(rule.check(RuleContext(project)))
    found = {(f.file, f.line, f.resource) for f in findings}
    expected = {(item["file"], item["line"], item.get("resource"))
                for item in case.get("failing") or []}
    assert found == expected
    # an item may pin the severity (a finding the rule lowers to info, e.g. a documented choice)
    severities = {(f.file, f.line, f.resource): f.severity.value for f in findings}
    pinned = {(i["file"], i["line"], i.get("resource")): i["severity"] for i in case.get("failing") or [] if "severity" in i}
    assert {k: severities[k] for k in pinned} == pinned


def test_every_rule_has_a_fixture_with_a_failing_case() -> None:
    by_rule: dict[str, list[dict]] = {}
    for rule_id, case in CASES:
        by_rule.setdefault(rule_id, []).append(case)
    for rule in all_rules():
        if rule.id in TESTED_ELSEWHERE:
            continue
        cases = by_rule.get(rule.id)
        assert cases, f"{rule.id} has no fixture folder under fixtures/rules/{short_code(rule.id)}"
        assert any(c.get("failing") for c in cases), f"{rule.id} has no failing case"
        assert any(not c.get("failing") for c in cases), f"{rule.id} has no passing case"


def test_rule_metadata_is_complete_and_ids_unique() -> None:
    rules = all_rules()
    assert len({r.id for r in rules}) == len(rules)
    assert len({r.name for r in rules}) == len(rules)
    for rule in rules:
        doc = rule.documentation()
        for heading in ("What it does", "Why is this bad", "Example", "Use instead", "References"):
            assert f"## {heading}" in doc, f"{rule.id} docstring lacks '{heading}'"
        assert rule.name == rule.name.lower() and " " not in rule.name
        for attr in ("title_ja", "title_en", "passed_ja", "passed_en", "fix_ja", "fix_en"):
            assert getattr(rule, attr), f"{rule.id}.{attr} is empty"


def test_docs_rules_md_is_not_stale() -> None:
    from conftest import ROOT
    from sre_agent.rules.base import rules_markdown

    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == rules_markdown(), \
        "docs/rules.md is stale: run `sre-agent rules --markdown > docs/rules.md`"
