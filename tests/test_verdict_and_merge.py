"""The contract's verdict rule and the merging of duplicate findings."""

from __future__ import annotations

import pytest

from sre_agent.models import Finding, Perspective, Severity, verdict_for
from sre_agent.review import merge_equivalents


def finding(id: str = "SRE-MAZ-001", severity: Severity = Severity.ERROR, **kw) -> Finding:
    base = dict(id=id, source="sre", severity=severity, perspective=Perspective.INFRASTRUCTURE,
                file="infra/db.yaml", line=12, resource="Database", message="m", remediation="r")
    return Finding(**{**base, **kw})


@pytest.mark.parametrize(("severities", "verdict"), [
    ([], "yes"),
    ([Severity.INFO], "yes"),
    ([Severity.INFO, Severity.WARNING], "conditional"),
    ([Severity.WARNING, Severity.ERROR, Severity.INFO], "no"),
])
def test_verdict_follows_the_worst_active_finding(severities, verdict) -> None:
    assert verdict_for([finding(severity=s) for s in severities]) == verdict


def test_suppressed_findings_do_not_count() -> None:
    muted = finding(suppressed=True, suppression_reason="dev only")
    assert verdict_for([muted, finding(severity=Severity.WARNING)]) == "conditional"


def test_checkov_twin_merges_into_our_finding_on_the_same_resource() -> None:
    ours = finding()
    twin = finding(id="checkov:CKV_AWS_157", source="checkov", severity=Severity.WARNING, line=7)
    elsewhere = finding(id="checkov:CKV_AWS_157", source="checkov", resource="OtherDb")
    merged = merge_equivalents([ours, twin, elsewhere])
    assert merged == [ours, elsewhere]
    assert ours.related_ids == ["checkov:CKV_AWS_157"]
    assert ours.severity is Severity.ERROR


def test_shellcheck_sc2155_on_the_line_our_dep004_reports_folds_into_it() -> None:
    """A real review: the pipe hidden by `local PARAMS=$(…)` is one finding, not ours plus SC2155."""
    from conftest import RULE_FIXTURES
    from sre_agent.review import ReviewConfig, review

    result = review([RULE_FIXTURES / "DEP004" / "pipe-masked-by-declaration"], ReviewConfig(analyzers=("sre",)))
    at_15 = [f for f in result.findings if f.file == "scripts/deploy-service.sh" and f.line == 15]
    assert [f.id for f in at_15] == ["SRE-DEP-004"]
    assert "shellcheck:SC2155" in at_15[0].related_ids
    elsewhere = [f for f in result.findings if "shellcheck:SC2155" in f.related_ids and f.id == "SRE-DEP-016"]
    assert all(f.line != 15 or f.file != "scripts/deploy-service.sh" for f in elsewhere)
