"""MAZ001: a production database that lives in one Availability Zone."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN, CfnEvaluator, as_bool, cfn_contexts, tf_value, tf_variable_sets
from sre_agent.rules.base import Rule, RuleContext


class RdsSingleAz(Rule):
    """
    ## What it does
    Checks that every RDS DB instance (CloudFormation `AWS::RDS::DBInstance`, Terraform
    `aws_db_instance`) is multi-AZ in production. A value given by a parameter or variable is
    judged by the production parameter file (`prd.json`, `prod.tfvars`, …), else its default;
    `!If [IsProduction, true, false]` is evaluated for production. Instances that belong to an
    Aurora cluster are exempt (the cluster provides the failover). Unresolvable values are not
    reported.

    ## Why is this bad
    A single-AZ instance is down for the whole AZ outage and for every maintenance reboot
    (minutes to hours); with Multi-AZ, RDS fails over to the standby in about one to two minutes.

    ## Example
    ```yaml
    Database:
      Type: AWS::RDS::DBInstance
      Properties:
        MultiAZ: false
    ```

    ## Use instead
    ```yaml
        MultiAZ: !If [IsProduction, true, false]
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZSingleStandby.html
    - standards/cloudformation.md「可用性」
    """

    id = "SRE-MAZ-001"
    name = "rds-single-az-in-prod"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.ERROR
    equivalents = ("checkov:CKV_AWS_157",)
    title_ja = "RDS がシングルAZ"
    title_en = "RDS is single-AZ"
    passed_ja = "RDS は本番でマルチAZ"
    passed_en = "RDS is multi-AZ in production"
    fix_ja = "本番環境で MultiAZ を true にする（例: `MultiAZ: !If [IsProduction, true, false]`）"
    fix_en = "Make MultiAZ true in production (e.g. `MultiAZ: !If [IsProduction, true, false]`)"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        project = ctx.project
        for template in project.templates:
            for db in template.of_type("AWS::RDS::DBInstance"):
                if "DBClusterIdentifier" in db.properties:
                    continue
                for env in cfn_contexts(template, project, prod_only=True):
                    raw = db.properties.get("MultiAZ", False)
                    value = as_bool(CfnEvaluator(template, env).value(raw))
                    if value is UNKNOWN or value:
                        continue
                    where = ctx.text(f"（{env.source} の値）" if env.source else "（既定値）",
                                     f" (value from {env.source})" if env.source else " (default)")
                    yield self.finding(
                        ctx, file=template.path, line=db.property_line("MultiAZ"),
                        resource=db.logical_id, environment=env.name,
                        message=ctx.text(
                            f"`{db.logical_id}` の MultiAZ が {env.label} 環境で false{where}",
                            f"`{db.logical_id}` has MultiAZ false in {env.label}{where}"),
                    )
                    break
        for tf in project.terraform:
            for db in tf.resources("aws_db_instance"):
                for env in tf_variable_sets(project.terraform, project.parameter_sets, prod_only=True):
                    value = as_bool(tf_value(db, "multi_az", env.values)) if "multi_az" in db.body else False
                    if value is UNKNOWN or value:
                        continue
                    yield self.finding(
                        ctx, file=tf.path, line=db.attribute_line("multi_az"),
                        resource=db.address, environment=env.name,
                        message=ctx.text(f"`{db.address}` の multi_az が {env.label} 環境で false",
                                         f"`{db.address}` has multi_az false in {env.label}"),
                        remediation=ctx.text(
                            "本番の tfvars で multi_az = true にする（例: `multi_az = var.environment == \"prd\"`）",
                            "Set multi_az = true for production (e.g. `multi_az = var.environment == \"prd\"`)"),
                    )
                    break

    def coverage(self, ctx: RuleContext) -> str | None:
        dbs = [f"{t.path}:{r.line} `{r.logical_id}`" for t in ctx.project.templates
               for r in t.of_type("AWS::RDS::DBInstance")]
        dbs += [f"{tf.path}:{b.line} `{b.address}`" for tf in ctx.project.terraform
                for b in tf.resources("aws_db_instance")]
        return ", ".join(dbs[:3]) if dbs else None
