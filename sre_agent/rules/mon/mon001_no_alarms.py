"""MON001: compute or databases with no CloudWatch alarm anywhere in the project."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext

MONITORED_CFN = ("AWS::ECS::Service", "AWS::EC2::Instance", "AWS::AutoScaling::AutoScalingGroup",
                 "AWS::Lambda::Function", "AWS::RDS::DBInstance", "AWS::RDS::DBCluster",
                 "AWS::ElastiCache::ReplicationGroup", "AWS::DynamoDB::Table")
MONITORED_TF = ("aws_ecs_service", "aws_instance", "aws_autoscaling_group", "aws_lambda_function",
                "aws_db_instance", "aws_rds_cluster", "aws_elasticache_replication_group",
                "aws_dynamodb_table")
ALARMS_CFN = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
ALARMS_TF = ("aws_cloudwatch_metric_alarm", "aws_cloudwatch_composite_alarm")


class NoAlarmsAtAll(Rule):
    """
    ## What it does
    Reports a project whose templates or Terraform create compute (ECS services, EC2, Auto
    Scaling groups, Lambda) or databases (RDS, Aurora, ElastiCache, DynamoDB) but define no
    CloudWatch alarm in any file. The finding points at the first such resource.

    ## Why is this bad
    Without alarms the first one to notice an outage is a customer. Mean time to detect is
    unbounded, and every SLO in the design documents is unmeasured.

    ## Example
    A stack set with `AWS::ECS::Service` and `AWS::RDS::DBInstance` and no
    `AWS::CloudWatch::Alarm` anywhere.

    ## Use instead
    A monitoring template with alarms on the key metrics (RDS CPU / FreeStorageSpace /
    DatabaseConnections, ALB 5XX / TargetResponseTime / HealthyHostCount, ECS CPU / memory),
    each with `AlarmActions` to an SNS topic that has a subscription.

    ## References
    - https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Best_Practice_Recommended_Alarms_AWS_Services.html
    """

    id = "SRE-MON-001"
    name = "no-cloudwatch-alarms"
    perspective = Perspective.MONITORING
    severity = Severity.ERROR
    title_ja = "CloudWatch アラームが1つもない"
    title_en = "No CloudWatch alarm at all"
    passed_ja = "CloudWatch アラームを定義済み"
    passed_en = "CloudWatch alarms are defined"
    fix_ja = "監視テンプレートを追加し、主要メトリクスのアラームを SNS 通知付きで定義する"
    fix_en = "Add a monitoring template with alarms on the key metrics, notifying an SNS topic"

    def _monitored(self, ctx: RuleContext) -> list[tuple[str, int, str, str]]:
        found = [(t.path, r.line, r.logical_id, r.type) for t in ctx.project.templates
                 for r in t.of_type(*MONITORED_CFN)]
        found += [(tf.path, b.line, b.address, b.type) for tf in ctx.project.terraform
                  for b in tf.resources(*MONITORED_TF)]
        return sorted(found)

    def _alarms(self, ctx: RuleContext) -> list[str]:
        alarms = [f"{t.path}:{r.line}" for t in ctx.project.templates for r in t.of_type(*ALARMS_CFN)]
        alarms += [f"{tf.path}:{b.line}" for tf in ctx.project.terraform
                   for b in tf.resources(*ALARMS_TF)]
        return alarms

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        monitored = self._monitored(ctx)
        if not monitored or self._alarms(ctx):
            return
        path, line, resource, _ = monitored[0]
        yield self.finding(
            ctx, file=path, line=line, resource=resource,
            message=ctx.text(
                f"監視対象リソース {len(monitored)} 件（`{resource}` ほか）に対し、アラームがプロジェクト内に1つもない",
                f"{len(monitored)} compute/database resources (`{resource}` and others) and no alarm anywhere"),
        )

    def coverage(self, ctx: RuleContext) -> str | None:
        alarms = self._alarms(ctx)
        if not self._monitored(ctx) or not alarms:
            return None
        return ctx.text(f"アラーム {len(alarms)} 件（{alarms[0]} ほか）",
                        f"{len(alarms)} alarms ({alarms[0]} and others)")
