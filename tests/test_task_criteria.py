"""Section 7's rollback and monitoring lines rest on behaviour, not on "no finding": a rollback
script that leaves an SSM-held image tag alone, or a budget the design asks for and the
templates lack, unticks the line with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from sre_agent.models import Finding, LlmStatus, Review
from sre_agent.review import ReviewConfig, review
from sre_agent.task import criteria
from sre_agent.task.evidence import Evidence
from sre_agent.task.flow import _review_line, _summary
from sre_agent.task.delivered import AlarmRow
from sre_agent.task.operations import design_discrepancies, detection_gap, restores_image_tag, rollback_takes_release

STATES = ["UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED", "CREATE_FAILED", "UPDATE_COMPLETE"]


def _review(findings: list[Finding] | None = None) -> Review:
    return Review(root=".", verdict="yes", files=[], findings=findings or [], llm=LlmStatus(used=False))


def _evidence(root: Path, **changes) -> Evidence:
    (root / "scripts").mkdir(exist_ok=True)
    (root / "scripts" / "rollback.sh").write_text("#!/usr/bin/env bash\nset -euo pipefail\n", encoding="utf-8")
    (root / "runbook.md").write_text("## ロールバック\n", encoding="utf-8")
    values = dict(root=root, review=_review(), scripts={"rollback": "scripts/rollback.sh"},
                  runbook="runbook.md", rollback_states=STATES, image_tag_in_ssm=True,
                  restores_image_tag=True, alarms=5, topics_with_subscription=1,
                  budget_required="docs/05.md:32", budgets=1)
    return Evidence(**{**values, **changes})


def test_rollback_is_clear_only_when_the_script_restores_the_image_tag(tmp_path) -> None:
    assert criteria.clear_rollback(_evidence(tmp_path)).met is True
    line = criteria.clear_rollback(_evidence(tmp_path, restores_image_tag=False))
    assert line.met is False and "イメージタグ（SSM パラメータ）を戻さない" in line.evidence


@pytest.mark.parametrize("changes, reason", [
    ({"rollback_states": ["UPDATE_COMPLETE"]}, "扱わない状態"),
    ({"runbooks_disagree": ["docs/障害対応手順書.md"]}, "手順書間で一致しない"),
])
def test_rollback_is_unticked_by_unhandled_states_and_disagreeing_runbooks(tmp_path, changes, reason) -> None:
    line = criteria.clear_rollback(_evidence(tmp_path, **changes))
    assert line.met is False and reason in line.evidence


def test_monitoring_needs_the_budget_the_design_asks_for(tmp_path) -> None:
    assert criteria.monitoring(_evidence(tmp_path)).met is True
    line = criteria.monitoring(_evidence(tmp_path, budgets=0))
    assert line.met is False and "AWS Budgets" in line.evidence and "docs/05.md:32" in line.evidence
    assert criteria.monitoring(_evidence(tmp_path, budgets=0, budget_required="")).met is True


def test_restoring_the_tag_means_a_real_put_parameter_call() -> None:
    assert restores_image_tag('  if ! aws ssm put-parameter --name "$N" --value "$V" --overwrite; then')
    assert not restores_image_tag("# 先に aws ssm put-parameter で戻す\necho ok")


def test_info_findings_are_listed_not_only_counted(tmp_path) -> None:
    """A real review of a template without a budget: CST005 is info, and the report lists it."""
    (tmp_path / "vpc.yaml").write_text("""AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Gateway:
    Type: AWS::EC2::NatGateway
    Properties:
      SubnetId: subnet-0123456789abcdef0
      AllocationId: eipalloc-0123456789abcdef0
""", encoding="utf-8")
    result = review([tmp_path], ReviewConfig(analyzers=("sre",), select=("SRE-CST-005",), llm="off", cache=False))
    summary = _summary(result)
    assert summary.infos == 1 and summary.findings == []
    assert len(summary.info_findings) == 1 and summary.info_findings[0].startswith("ℹ️ SRE-CST-005 ")
    assert f"- {summary.info_findings[0]}" in _review_line(summary)


def test_alarms_slower_than_the_detection_requirement_are_raised_for_the_architect() -> None:
    def alarm(name: str, metric: str, evaluation: str, notify: str = "AlertTopic") -> AlarmRow:
        return AlarmRow(name, metric, "> 0.5", evaluation, notify, "alarms.yaml", 1)

    alarms = [alarm("p95", "AWS/ApplicationELB TargetResponseTime（p95）", "300秒 × 3回中3回"),
              alarm("hosts", "AWS/ApplicationELB HealthyHostCount（Minimum）", "60秒 × 3回中3回"),
              alarm("cpu", "AWS/ECS CPUUtilization（Average）", "300秒 × 3回中3回"),
              alarm("burn-6h", "メトリクス計算 `x`", "21600秒 × 1回", notify="（複合アラーム経由）"),
              alarm("fast", "AWS/ApplicationELB TargetResponseTime（p99）", "60秒 × 5回中3回")]
    gap = detection_gap("| 監視 | サービス停止・性能劣化を 5 分以内に検知し、通知する |", alarms)
    assert "p95（最短 15 分）" in gap
    assert not any(name in gap for name in ("hosts", "cpu", "burn-6h", "fast（"))
    assert detection_gap("監視の要件なし", alarms) == ""


def test_a_release_tag_is_a_discrepancy_only_when_rollback_sh_cannot_take_it() -> None:
    takes = "#!/usr/bin/env bash\n# 使い方:\n#   scripts/rollback.sh <env> <stack> [<release>] [--yes]\n"
    assert rollback_takes_release(takes)
    assert not rollback_takes_release(takes.replace(" [<release>]", ""))
    tag = "release/prd/<YYYYMMDD>-<連番>"
    assert any(tag in line for line in design_discrepancies([], "", {}, tag, rollback_takes_release=False))
    assert design_discrepancies([], "", {}, tag, rollback_takes_release=True) == []
