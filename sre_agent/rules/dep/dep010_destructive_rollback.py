"""DEP010: deleting the stack (or `terraform destroy`) presented as a rollback."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._deploy import (
    cfn_action, command_blocks, is_rollback_script, is_rollback_text, terraform_subcommand,
)
from sre_agent.rules.base import Rule, RuleContext


class DestructiveRollback(Rule):
    """
    ## What it does
    Finds `aws cloudformation delete-stack` and `terraform destroy` in a rollback script (named
    `*rollback*` or running a CloudFormation rollback call) or in a fenced `bash` block of a
    runbook section whose heading (or a parent heading) says ロールバック, 切り戻し or
    rollback. Mentions in prose, comments and `echo` lines are not calls.

    ## Why is this bad
    Deleting the stack is not going back to the previous version: it deletes the database,
    the log groups and the load balancer (and its DNS name), and the service is down until a
    full rebuild and a restore from backup — hours instead of minutes, with data written since
    the last snapshot lost.

    ## Example
    ```markdown
    ## ロールバック手順
    ```bash
    aws cloudformation delete-stack --stack-name order-mgmt-prd-compute
    ```
    ```

    ## Use instead
    Roll back by applying the previous release: a change set of the previous release's
    template and parameters (`rollback.sh <env> <stack> <release-tag>`), or for Terraform
    `git checkout <tag>` + `terraform plan -out tfplan` + `terraform apply tfplan`.

    ## References
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-changesets.html
    - standards/cloudformation.md「ロールバック」
    """

    id = "SRE-DEP-010"
    name = "delete-stack-as-rollback"
    perspective = Perspective.OPERABILITY
    severity = Severity.ERROR
    title_ja = "スタック削除（delete-stack / terraform destroy）をロールバックとして使用"
    title_en = "Stack deletion (delete-stack / terraform destroy) used as a rollback"
    passed_ja = "ロールバック手順にスタック削除なし"
    passed_en = "No stack deletion in the rollback path"
    fix_ja = "スタックを削除せず、前回リリースのテンプレートとパラメータで Change Set を作成・実行して戻す"
    fix_en = "Do not delete the stack: roll back with a change set of the previous release's template and parameters"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for block in command_blocks(ctx.project, workflows=False):
            if block.script is not None:
                if not is_rollback_script(block.script):
                    continue
                where = ctx.text("ロールバックスクリプト", "the rollback script")
            elif block.under_rollback_heading:
                heading = next(t for t in block.headings if is_rollback_text(t))
                where = ctx.text(f"「{heading}」の手順", f"the procedure '{heading}'")
            else:
                continue
            for command in block.commands:
                if cfn_action(command) == "delete-stack":
                    target = f"delete-stack（スタック {command.option('--stack-name') or '不明'}）"
                    target_en = f"delete-stack (stack {command.option('--stack-name') or 'unknown'})"
                elif terraform_subcommand(command)[0] == "destroy":
                    target = target_en = "terraform destroy"
                else:
                    continue
                stateful = _holds_data(ctx, command.option("--stack-name"))
                if stateful is False and not _serves_traffic(ctx, command.option("--stack-name")):
                    continue  # an add-on (a Lambda, a subscription): deleting it is how it is undone
                severity = Severity.WARNING if stateful is False else None  # an outage, no data lost
                if stateful is False:
                    ja = "スタックの全リソースが削除されサービスが停止する。前の版に戻るのではなく再構築になる"
                    en = "every resource of the stack is deleted and the service stops; it is rebuilt, not rolled back"
                elif stateful:
                    ja = ("データベースを含む全リソースが削除され、前の版に戻るのではなく再構築と"
                          f"バックアップからの復元が必要になる（{', '.join(stateful[:3])}）")
                    en = ("every resource including the data stores is deleted; instead of going back one "
                          f"version the system needs a rebuild and a restore ({', '.join(stateful[:3])})")
                else:
                    ja = "スタックの全リソース（データを持つものがあればそれも）が削除され、前の版に戻るのではなく再構築になる"
                    en = "every resource of the stack (its data stores, if any) is deleted; it is rebuilt, not rolled back"
                yield self.finding(ctx, file=block.path, line=command.line, severity=severity,
                                   message=ctx.text(f"{where}で {target} を実行している。{ja}",
                                                    f"{where} runs {target_en}: {en}"))

    def coverage(self, ctx: RuleContext) -> str | None:
        paths = sorted({b.path for b in command_blocks(ctx.project, workflows=False)
                        if (b.script is not None and is_rollback_script(b.script))
                        or (b.script is None and b.under_rollback_heading)})
        if not paths:
            return None
        return ctx.text(f"ロールバック手順を確認: {', '.join(paths)}", f"rollback procedures checked: {', '.join(paths)}")


STATEFUL_TYPES = ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::DynamoDB::Table", "AWS::S3::Bucket",
                  "AWS::EFS::FileSystem", "AWS::ElastiCache::ReplicationGroup", "AWS::ElastiCache::CacheCluster",
                  "AWS::OpenSearchService::Domain", "AWS::DocDB::DBCluster")


SERVING_TYPES = ("AWS::ECS::Service", "AWS::ElasticLoadBalancingV2::LoadBalancer",
                 "AWS::AutoScaling::AutoScalingGroup", "AWS::EC2::Instance", "AWS::ApiGateway::RestApi",
                 "AWS::ApiGatewayV2::Api", "AWS::CloudFront::Distribution", "AWS::EC2::VPC",
                 "AWS::EC2::NatGateway", "AWS::Route53::RecordSet")


def _templates_of(ctx: RuleContext, stack_name: str | None) -> list:
    """The templates a stack name is named after (`x-prd-alarm-formatter` ← 05-alarm-formatter.yaml)."""
    from sre_agent.iac.stacks import name_tokens

    if not stack_name or "$" in stack_name:
        return []
    wanted = name_tokens(stack_name + ".yaml")
    return [t for t in ctx.project.templates
            if (names := {n for n in name_tokens(t.path) if not n.isdigit()}) and names <= wanted]


def _holds_data(ctx: RuleContext, stack_name: str | None) -> list[str] | bool | None:
    """The data stores of the stack's template (False: it has none; None: template not known)."""
    templates = _templates_of(ctx, stack_name)
    if not templates:
        return None
    stores = [f"`{r.logical_id}`" for t in templates for r in t.of_type(*STATEFUL_TYPES)]
    return stores or False


def _serves_traffic(ctx: RuleContext, stack_name: str | None) -> bool:
    """Whether deleting the stack stops the service (it runs or routes the workload)."""
    return any(True for t in _templates_of(ctx, stack_name) for _ in t.of_type(*SERVING_TYPES))
