"""BAK003: a production database that one API call can delete."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN, CfnEvaluator, as_bool, cfn_contexts, tf_value, tf_variable_sets
from sre_agent.rules._resources import cfn_exists, env_phrase
from sre_agent.rules.base import Rule, RuleContext


class DeletionProtectionOff(Rule):
    """
    ## What it does
    Reports, for production, an RDS DB instance or Aurora cluster (`AWS::RDS::DBInstance`,
    `AWS::RDS::DBCluster`, `aws_db_instance`, `aws_rds_cluster`) whose `DeletionProtection` /
    `deletion_protection` is false or absent (the default is false). Aurora member instances are
    exempt (protection is set on the cluster). `!If [IsProduction, true, false]` is fine.

    ## Why is this bad
    A `delete-stack` on the wrong stack, a `terraform destroy` in the wrong workspace or a
    console click deletes the production database; deletion protection turns that into an error
    message instead of an incident.

    ## Example
    ```yaml
    Database:
      Type: AWS::RDS::DBInstance
      Properties:
        DeletionProtection: false
    ```

    ## Use instead
    ```yaml
        DeletionProtection: !If [IsProduction, true, false]
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html#USER_DeletionProtection
    - standards/cloudformation.md §5 データ保護
    - standards/terraform.md §4 可用性とデータ保護
    """

    id = "SRE-BAK-003"
    name = "rds-deletion-protection-off-in-prod"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.WARNING
    equivalents = ("checkov:CKV_AWS_293", "checkov:CKV_AWS_139")
    title_ja = "本番 RDS の削除保護が無効"
    title_en = "RDS deletion protection off in production"
    passed_ja = "本番 RDS は削除保護あり"
    passed_en = "Production RDS has deletion protection"
    fix_ja = "本番で DeletionProtection を true にする（例: `!If [IsProduction, true, false]`）"
    fix_en = "Set DeletionProtection to true in production (e.g. `!If [IsProduction, true, false]`)"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        project = ctx.project
        for template in project.templates:
            for db in template.of_type("AWS::RDS::DBInstance", "AWS::RDS::DBCluster"):
                if db.type == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in db.properties:
                    continue
                for env in cfn_contexts(template, project, prod_only=True):
                    value = as_bool(CfnEvaluator(template, env).value(db.properties.get("DeletionProtection", False)))
                    if not cfn_exists(template, db, env) or value is UNKNOWN or value:
                        continue
                    yield self._report(ctx, template.path, db.property_line("DeletionProtection"),
                                       db.logical_id, "DeletionProtection", env)
                    break
        for tf in project.terraform:
            for db in tf.resources("aws_db_instance", "aws_rds_cluster"):
                if db.type == "aws_db_instance" and "cluster_identifier" in db.body:
                    continue
                for env in tf_variable_sets(project.terraform, project.parameter_sets, prod_only=True):
                    value = as_bool(tf_value(db, "deletion_protection", env.values)) \
                        if "deletion_protection" in db.body else False
                    if value is UNKNOWN or value:
                        continue
                    yield self._report(ctx, tf.path, db.attribute_line("deletion_protection"),
                                       db.address, "deletion_protection", env)
                    break

    def _report(self, ctx: RuleContext, path: str, line: int, resource: str, attr: str, env) -> Finding:
        return self.finding(
            ctx, file=path, line=line, resource=resource, environment=env.name,
            message=ctx.text(f"`{resource}` の {attr} が {env_phrase(ctx.text, env)}で無効",
                             f"`{resource}` has {attr} off in {env_phrase(ctx.text, env)}"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates
                    for _ in t.of_type("AWS::RDS::DBInstance", "AWS::RDS::DBCluster"))
        count += sum(1 for tf in ctx.project.terraform for _ in tf.resources("aws_db_instance", "aws_rds_cluster"))
        return ctx.text(f"RDS {count} 件の削除保護を確認",
                        f"{count} RDS resources checked for deletion protection") if count else None
