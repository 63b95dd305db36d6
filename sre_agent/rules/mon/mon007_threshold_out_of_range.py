"""MON007: alarm thresholds the metric can never reach."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN, as_number
from sre_agent.rules._alarms import (
    NON_NEGATIVE_NAMESPACES, AlarmIndex, alarm_index, alarm_values, is_percent,
)
from sre_agent.rules.base import Rule, RuleContext

ABOVE = ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold")
BELOW = ("LessThanThreshold", "LessThanOrEqualToThreshold")


class ThresholdOutOfRange(Rule):
    """
    ## What it does
    Reports single-metric alarms whose threshold lies outside the metric's range, so that the
    alarm can never fire (or always fires):

    - a percentage metric (CPUUtilization, MemoryUtilization of RDS / ECS / EC2 / ElastiCache,
      DatabaseMemoryUsagePercentage…) with a threshold above 100 or below 0, or
      `GreaterThanThreshold 100`;
    - a metric of an AWS namespace that is never negative (counts, bytes, seconds) with a
      negative threshold, or `LessThanThreshold 0`.

    The threshold is evaluated per environment (`!Ref` to a parameter, `!If`, `var.`). ECS
    CPU / memory above 100 % is not reported when the project runs ECS on EC2 capacity (soft
    limits let tasks exceed their reservation). Metric-math alarms are not checked (the
    expression sets the unit).

    ## Why is this bad
    The alarm exists, passes review by its presence, and never turns red: `CPUUtilization >
    800` (a typo for 80, or CPU units instead of percent) is silent through a saturated
    database.

    ## Example
    ```yaml
    MetricName: CPUUtilization
    Threshold: 800
    ComparisonOperator: GreaterThanThreshold
    ```

    ## Use instead
    ```yaml
    Threshold: 80
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html
    - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html
    """

    id = "SRE-MON-007"
    name = "threshold-out-of-metric-range"
    perspective = Perspective.MONITORING
    severity = Severity.ERROR
    title_ja = "メトリクスの値域外の閾値"
    title_en = "Threshold outside the metric's range"
    passed_ja = "アラームの閾値はメトリクスの値域内"
    passed_en = "Alarm thresholds are within each metric's range"
    fix_ja = "閾値をメトリクスの単位と値域に合わせる（パーセントは 0〜100、件数は 0 以上）"
    fix_en = "Match the threshold to the metric's unit and range (percent 0-100, counts >= 0)"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        index = alarm_index(ctx.project)
        for alarm in index.alarms:
            if alarm.math or len(alarm.metrics) != 1:
                continue
            metric = alarm.metrics[0]
            operators = dict(alarm_values(index, alarm, "ComparisonOperator", "comparison_operator"))
            for env, raw in alarm_values(index, alarm, "Threshold", "threshold"):
                value = as_number(raw)
                if value is UNKNOWN:
                    continue
                operator = operators.get(env, operators.get(None))
                reason = self._reason(index, metric.namespace, metric.name, value, operator)
                if reason is None:
                    continue
                shown = f"{value:g}"
                where = ctx.text(f"（{env} 環境）" if env else "", f" (in {env})" if env else "")
                yield self.finding(
                    ctx, file=alarm.file, line=alarm.attribute_line("Threshold", "threshold"),
                    resource=alarm.resource, environment=env,
                    message=ctx.text(
                        f"`{alarm.resource}` の閾値 {operator or ''} {shown}{where} が "
                        f"{metric.name} の値域（{reason[0]}）に合わず、アラームは発報しない（または常に発報する）",
                        f"`{alarm.resource}` threshold {operator or ''} {shown}{where} does not fit "
                        f"the range of {metric.name} ({reason[1]}): the alarm never fires (or always does)"))
                break

    def _reason(self, index: AlarmIndex, namespace: str | None, metric: str | None,
                value: float, operator: object) -> tuple[str, str] | None:
        if is_percent(namespace, metric):
            capped = not (namespace == "AWS/ECS" and index.ecs_on_ec2)
            if value < 0 or (capped and (value > 100 or (value == 100 and operator == "GreaterThanThreshold"))):
                return ("0〜100 %", "0-100 %")
        if namespace in NON_NEGATIVE_NAMESPACES:
            if value < 0 or (value == 0 and operator == "LessThanThreshold"):
                return ("0 以上", ">= 0")
        return None

    def coverage(self, ctx: RuleContext) -> str | None:
        alarms = [a for a in alarm_index(ctx.project).alarms if not a.math]
        return ctx.text(f"アラーム {len(alarms)} 件の閾値を確認",
                        f"thresholds of {len(alarms)} alarms checked") if alarms else None

