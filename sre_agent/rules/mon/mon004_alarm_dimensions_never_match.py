"""MON004: alarms whose dimensions can never match the metric, so they never get data."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._alarms import (
    Literal, WiringProblem, alarm_index, required_dimensions, wiring_problem,
)
from sre_agent.rules.base import Rule, RuleContext


class AlarmDimensionsNeverMatch(Rule):
    """
    ## What it does
    Checks each CloudWatch alarm (`AWS::CloudWatch::Alarm`, `aws_cloudwatch_metric_alarm`,
    including every `MetricStat` / `metric_query` of a metric-math alarm) against the
    dimensions its namespace publishes:

    - `AWS/ApplicationELB`: `LoadBalancer`, plus `TargetGroup` for HealthyHostCount /
      UnHealthyHostCount / RequestCountPerTarget;
    - `AWS/RDS`: `DBInstanceIdentifier` or `DBClusterIdentifier` (or an explicit aggregate);
    - `AWS/ECS`: `ClusterName` + `ServiceName` (cluster-level metrics are accepted when the
      project runs ECS on EC2 capacity);
    - `AWS/ElastiCache`: `CacheClusterId` or `ReplicationGroupId`.

    Each value must be wired to the resource: `!GetAtt LoadBalancer.LoadBalancerFullName`,
    `!GetAtt TargetGroup.TargetGroupFullName`, `!Ref` of the DB instance or ECS cluster,
    `!GetAtt Service.Name`, an `Fn::ImportValue` of an export of such a value in another
    template of the project, or in Terraform `aws_lb.x.arn_suffix`,
    `aws_lb_target_group.x.arn_suffix`, `aws_db_instance.x.identifier`, `aws_ecs_cluster.x.name`,
    `aws_ecs_service.x.name`. Reported: a missing required dimension, a load balancer or target
    group name built by hand (`!Sub app/${ProjectName}-alb` lacks the `/<id>` suffix AWS
    appends), and the resource's ARN or another attribute where the name is expected
    (`!Ref LoadBalancer`, `!Ref Service`, `aws_lb.x.arn`). Values from parameters, unresolved
    imports, modules or data sources are not reported.

    A TargetGroup dimension cut out of the ARN with `!Select [1, !Split ['targetgroup/', …]]`
    loses the `targetgroup/` prefix the metric's value starts with, and is reported too.

    ## Why is this bad
    CloudWatch matches dimensions exactly. An alarm on `LoadBalancer=app/order-mgmt-prd-alb`
    watches a metric that does not exist: it stays in INSUFFICIENT_DATA (or OK with
    `notBreaching`) through every outage, while the dashboard shows an alarm "in place".

    ## Example
    ```yaml
    Dimensions:
      - Name: LoadBalancer
        Value: !Sub app/${ProjectName}-${Environment}-alb
    ```

    ## Use instead
    ```yaml
    Dimensions:
      - Name: LoadBalancer
        Value: !GetAtt LoadBalancer.LoadBalancerFullName   # or Fn::ImportValue of its export
    ```

    ## References
    - https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
    - https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension
    """

    id = "SRE-MON-004"
    name = "alarm-dimensions-never-match"
    perspective = Perspective.MONITORING
    severity = Severity.ERROR
    title_ja = "メトリクスと一致しないディメンションのアラーム"
    title_en = "Alarm dimensions never match the metric"
    passed_ja = "アラームのディメンションはリソースに正しく紐付いている"
    passed_en = "Alarm dimensions are wired to the resources"
    fix_ja = ("ディメンションをリソースから取得する（`!GetAtt LoadBalancer.LoadBalancerFullName`、"
              "`!Ref Database`、`!GetAtt Service.Name`、またはそれらの Export の ImportValue）")
    fix_en = ("Take dimension values from the resource (`!GetAtt LoadBalancer.LoadBalancerFullName`, "
              "`!Ref Database`, `!GetAtt Service.Name`, or an ImportValue of their export)")

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        index = alarm_index(ctx.project)
        for alarm in index.alarms:
            for metric in alarm.metrics:
                present = set(metric.dimensions)
                missing = [group for group in required_dimensions(metric.namespace, metric.name,
                                                                  index.ecs_on_ec2)
                           if not present & set(group)] if metric.complete else []
                if missing:
                    names = " + ".join(" / ".join(g) for g in missing)
                    yield self.finding(
                        ctx, file=alarm.file, line=metric.line, resource=alarm.resource,
                        message=ctx.text(
                            f"`{alarm.resource}` の {metric.namespace} {metric.name} にディメンション "
                            f"{names} がない（指定: {', '.join(sorted(present)) or 'なし'}）。"
                            "このディメンションの組み合わせのデータは発行されず、アラームは障害を検知しない",
                            f"`{alarm.resource}` watches {metric.namespace} {metric.name} without the "
                            f"{names} dimension (given: {', '.join(sorted(present)) or 'none'}): no data "
                            "is published for that combination, so the alarm never detects an outage"))
                for name, value in metric.dimensions.items():
                    problem = wiring_problem(name, value)
                    if problem is None:
                        continue
                    yield self.finding(
                        ctx, file=alarm.file, line=metric.dimension_lines[name],
                        resource=alarm.resource, message=self._message(ctx, alarm.resource, name,
                                                                       value, problem))

    def _message(self, ctx: RuleContext, resource: str, name: str, value: object,
                 problem: WiringProblem) -> str:
        if problem.kind == "hand-built":
            assert isinstance(value, Literal)
            return ctx.text(
                f"`{resource}` の {name} ディメンションが手組みの文字列 `{value.shown}`"
                f"（= `{problem.used}`）。実際の値は末尾に AWS が付けた ID を含む"
                f"（{problem.wanted}: app/<名前>/<ID> 形式）ため一致せず、アラームはデータを受け取らない",
                f"`{resource}` builds the {name} dimension by hand as `{value.shown}` "
                f"(= `{problem.used}`); the real value ({problem.wanted}) ends with an id AWS "
                "assigns (app/<name>/<id>), so the alarm never gets data")
        if problem.kind == "stripped-prefix":
            return ctx.text(
                f"`{resource}` の {name} ディメンションを ARN から `{problem.used}` で作っているため、先頭の"
                f"`targetgroup/` が落ちて `<名前>/<ID>` になり、必要な `{problem.wanted}` と一致しない。"
                "アラームはデータを受け取らない（`!GetAtt <ターゲットグループ>.TargetGroupFullName` を使うか、"
                "エクスポートをその値にする）",
                f"`{resource}` builds the {name} dimension from the ARN with `{problem.used}`, which drops the "
                f"leading `targetgroup/` (`<name>/<id>`), so it never equals `{problem.wanted}` and the alarm never "
                "gets data (use `!GetAtt <target group>.TargetGroupFullName`, or export that value)")
        if problem.kind == "wrong-attribute":
            return ctx.text(
                f"`{resource}` の {name} ディメンションが `{problem.used}`（ARN または別の属性）。"
                f"メトリクスのディメンション値と一致せず、アラームはデータを受け取らない。`{problem.wanted}` を使う",
                f"`{resource}` sets the {name} dimension to `{problem.used}` (an ARN or another "
                f"attribute), which never equals the metric's dimension: use `{problem.wanted}`")
        return ctx.text(
            f"`{resource}` の {name} ディメンションが別種のリソース {problem.used} を参照している"
            f"（必要: {problem.wanted}）。アラームはデータを受け取らない",
            f"`{resource}` sets the {name} dimension from {problem.used}, not a {problem.wanted}: "
            "the alarm never gets data")

    def coverage(self, ctx: RuleContext) -> str | None:
        alarms = alarm_index(ctx.project).alarms
        count = sum(len(a.metrics) for a in alarms)
        return ctx.text(f"アラーム {len(alarms)} 件のメトリクス {count} 件のディメンションを確認",
                        f"dimensions of {count} metrics in {len(alarms)} alarms checked") if alarms else None
