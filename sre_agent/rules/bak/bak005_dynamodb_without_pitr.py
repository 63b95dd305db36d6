"""BAK005: a DynamoDB table that cannot be restored to a point in time."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN, CfnEvaluator, as_bool, cfn_contexts, tf_contexts
from sre_agent.rules._resources import cfn_exists, env_phrase, tf_get
from sre_agent.rules.base import Rule, RuleContext


class DynamoDbWithoutPitr(Rule):
    """
    ## What it does
    Reports a DynamoDB table (`AWS::DynamoDB::Table`, `aws_dynamodb_table`) without point-in-time
    recovery: no `PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled: true` /
    `point_in_time_recovery { enabled = true }`. The value is judged for production (`!If
    [IsProduction, true, false]` passes); unresolvable values are not reported.
    `AWS::DynamoDB::GlobalTable` is checked per replica's specification the same way.

    ## Why is this bad
    DynamoDB has no automatic backups otherwise. A bug that overwrites items, or a script run
    against the wrong table, can only be undone from PITR (any second of the last 35 days);
    without it the data is lost for good.

    ## Example
    ```yaml
    OrderTable:
      Type: AWS::DynamoDB::Table
      Properties:
        BillingMode: PAY_PER_REQUEST
    ```

    ## Use instead
    ```yaml
        PointInTimeRecoverySpecification:
          PointInTimeRecoveryEnabled: true
    ```

    ## References
    - https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/PointInTimeRecovery.html
    - standards/cloudformation.md §5 データ保護
    - standards/terraform.md §4 可用性とデータ保護
    """

    id = "SRE-BAK-005"
    name = "dynamodb-without-pitr"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.WARNING
    equivalents = ("checkov:CKV_AWS_28", "checkov:CKV_AWS_165")
    title_ja = "DynamoDB のポイントインタイムリカバリ無効"
    title_en = "DynamoDB without point-in-time recovery"
    passed_ja = "DynamoDB はポイントインタイムリカバリ有効"
    passed_en = "DynamoDB tables have point-in-time recovery"
    fix_ja = "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled を true にする"
    fix_en = "Set PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled to true"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        project = ctx.project
        for template in project.templates:
            for table in template.of_type("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
                specs = [table.properties.get("PointInTimeRecoverySpecification")]
                if table.type == "AWS::DynamoDB::GlobalTable":
                    replicas = table.properties.get("Replicas")
                    specs = [r.get("PointInTimeRecoverySpecification") for r in replicas
                             if isinstance(r, dict)] if isinstance(replicas, list) else [None]
                for env in cfn_contexts(template, project, prod_only=True):
                    evaluator = CfnEvaluator(template, env)
                    values = [as_bool(evaluator.value(s.get("PointInTimeRecoveryEnabled", False)))
                              if isinstance(s, dict) else False for s in specs or [None]]
                    if not cfn_exists(template, table, env) or any(v is UNKNOWN for v in values) or all(values):
                        continue
                    line = table.property_line("PointInTimeRecoverySpecification")
                    yield self._report(ctx, template.path, line, table.logical_id, env)
                    break
        for tf in project.terraform:
            for table in tf.resources("aws_dynamodb_table"):
                for env in tf_contexts(tf, project, prod_only=True):
                    raw = tf_get(table.body.get("point_in_time_recovery"), "enabled", False)
                    if isinstance(raw, str) and raw.startswith("${var.") and raw.endswith("}"):
                        raw = env.values.get(raw[6:-1], UNKNOWN)
                    value = as_bool(raw)
                    if value is UNKNOWN or value:
                        continue
                    yield self._report(ctx, tf.path, table.attribute_line("point_in_time_recovery")
                                       if "point_in_time_recovery" in table.body else table.line,
                                       table.address, env)
                    break

    def _report(self, ctx: RuleContext, path: str, line: int, resource: str, env) -> Finding:
        return self.finding(
            ctx, file=path, line=line, resource=resource, environment=env.name,
            message=ctx.text(f"DynamoDB テーブル `{resource}` のポイントインタイムリカバリが {env_phrase(ctx.text, env)}で無効",
                             f"DynamoDB table `{resource}` has point-in-time recovery off in {env_phrase(ctx.text, env)}"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates
                    for _ in t.of_type("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"))
        count += sum(1 for tf in ctx.project.terraform for _ in tf.resources("aws_dynamodb_table"))
        return ctx.text(f"DynamoDB テーブル {count} 件を確認", f"{count} DynamoDB tables checked") if count else None
