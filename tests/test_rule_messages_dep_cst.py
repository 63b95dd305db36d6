"""What CST001 / DEP003 / DEP004 / DEP014 say, not only where: counts and wording that the
location-set fixtures cannot see (two findings at one line collapse into one location there)."""

from __future__ import annotations

from conftest import RULE_FIXTURES
from sre_agent.models import Finding
from sre_agent.project import load_project
from sre_agent.rules.base import RuleContext, all_rules


def findings(rule_id: str, fixture: str) -> list[Finding]:
    rule = next(r for r in all_rules() if r.id == rule_id)()
    project = load_project([RULE_FIXTURES / fixture])
    return list(rule.check(RuleContext(project)))


def test_cst001_one_finding_per_total_row_listing_every_column() -> None:
    """A row counted twice shows in its environment's column and in the 合計 column that adds
    the environments: one mistake, one finding, both columns and their difference named."""
    found = findings("SRE-CST-001", "CST001/one-mistake-in-two-columns")
    assert len(found) == 1
    message = found[0].message
    assert "「ステージング環境月額」$1,020 ≠ 5 行の和 $300（差 $720）" in message
    assert "「合計月額」$4,200 ≠ 5 行の和 $3,480（差 $720）" in message
    assert "どの列も差は同じ $720" in message


def test_dep003_names_where_each_step_was_found_and_the_missing_script_a_runbook_runs() -> None:
    found = findings("SRE-DEP-003", "DEP003/ci-creates-runbook-names-missing-rollback")
    assert len(found) == 1
    message = found[0].message
    assert "ロールバックを行うスクリプトがない" in message
    assert "作成（create-change-set）" not in message and "実行（execute-change-set）" not in message
    assert "作成 .github/workflows/deploy-infra.yml:29（CI ワークフロー）" in message
    assert "確認 scripts/show-changes.sh" in message
    assert "実行 .github/workflows/deploy-infra.yml:42（CI ワークフロー）" in message
    assert "docs/05_運用/リリース手順書.md:13 は存在しない ./scripts/rollback.sh" in message


def test_dep004_pipe_in_a_declaration_is_reported_at_the_pipe_with_the_split_fix() -> None:
    """`local x=$(jq … | tr …)` hides the status whatever the options: pipefail alone would not
    help, so the finding is at that line and asks to split the declaration too."""
    found = {f.file: f for f in findings("SRE-DEP-004", "DEP004/pipe-masked-by-declaration")}
    local = found["scripts/deploy-service.sh"]
    assert local.line == 15
    assert "`local OVERRIDES=$(jq … | tr …)` は local 宣言が $(…) の終了ステータスを 0 で上書き" in local.message
    assert "-o pipefail を足すだけでは直らない" in local.message
    assert "local OVERRIDES; OVERRIDES=$(…)" in local.remediation
    exported = found["scripts/export-outputs.sh"]
    assert exported.line == 10 and "同じ形: :11 readonly TARGET_GROUP_ARN" in exported.message
    both = found["scripts/update-image.sh"]
    assert both.line == 1
    assert "パイプの途中の失敗（aws ... | jq）が見逃される" in both.message
    assert ":14 `local REVISION=$(aws … | jq …)` は宣言が終了ステータスを隠す" in both.message
    assert "-u (nounset)" not in both.message  # `$tag` sits inside jq's single quotes


def test_dep014_hard_coded_bucket_is_named_as_the_problem() -> None:
    """Literal TemplateURLs deploy whatever sits in that bucket, not the repository's children."""
    found = findings("SRE-DEP-014", "DEP014/hard-coded-bucket")
    assert len(found) == 1
    message = found[0].message
    assert "TemplateURL がバケット `reservation-platform-templates` を直書きした固定 URL" in message
    assert "このリポジトリの cfn/network/vpc.yaml ほか 1 件を直しても反映されない" in message
    assert "${TemplateBucket}" in found[0].remediation
    mixed = findings("SRE-DEP-014", "DEP014/not-packaged")
    assert len(mixed) == 1 and mixed[0].resource == "NetworkStack"
    assert "うち `DatabaseStack` はバケット `order-mgmt-cfn-templates` を直書き" in mixed[0].message


def test_dep017_says_cloudformation_rolls_back_late_and_terraform_never() -> None:
    """CloudFormation waits hours for a service that never stabilises and then rolls the stack
    back; Terraform leaves the failing deployment running: the messages must not mix them up."""
    (cfn, _) = sorted(findings("SRE-DEP-017", "DEP017/cfn-no-breaker"), key=lambda f: f.line)
    assert "CloudFormation はサービスの安定を数時間待ってから" in cfn.message
    assert "前の版にも戻らない" not in cfn.message
    (tf,) = findings("SRE-DEP-017", "DEP017/tf-no-breaker")
    assert "前の版にも戻らない" in tf.message
