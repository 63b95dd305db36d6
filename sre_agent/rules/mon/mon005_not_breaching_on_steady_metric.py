"""MON005: `notBreaching` on a metric that is always reported, so an outage looks green."""

from __future__ import annotations

from typing import Iterable

from sre_agent.environments import is_prod
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN
from sre_agent.rules._alarms import SPARSE, alarm_index, alarm_values, always_reported
from sre_agent.rules.base import Rule, RuleContext


# Metrics of remaining capacity: a "too low" alarm on them watches saturation, not the outage.
HEADROOM = frozenset({"FreeStorageSpace", "FreeableMemory", "FreeLocalStorage", "CPUCreditBalance",
                      "BurstBalance", "EBSIOBalance%", "EBSByteBalance%", "FreeMemory",
                      "DatabaseMemoryUsagePercentage"})


class NotBreachingOnSteadyMetric(Rule):
    """
    ## What it does
    Reports "too low" alarms (`LessThan…` operators: no healthy hosts, no requests, no
    connections — not remaining capacity such as FreeStorageSpace, which watches saturation) with `TreatMissingData: notBreaching` (`treat_missing_data = "notBreaching"`) on
    a metric that the service publishes every period while the resource is up: ALB HealthyHostCount / UnHealthyHostCount / RequestCount, RDS CPUUtilization /
    FreeStorageSpace / DatabaseConnections / FreeableMemory…, ECS service CPUUtilization /
    MemoryUtilization, EC2 and ElastiCache CPU. A metric-math alarm is reported when every
    metric it reads is of that kind. Sparse metrics that are only emitted when non-zero
    (`HTTPCode_*_5XX_Count`, `HTTPCode_*_4XX_Count`, Lambda `Errors`, `Throttles`…) rightly use
    `notBreaching` and are never reported; neither are metrics this rule does not know, nor "too
    high" alarms (CPU above 80 %), whose job is saturation, not the outage.

    ## Why is this bad
    When the service stops (tasks gone, instance stopped, load balancer deleted, the stack
    rolled back), the metric stops too. With `notBreaching`, missing data is treated as good,
    so the alarm turns or stays OK at the very moment of the outage.

    ## Example
    ```yaml
    MetricName: HealthyHostCount
    ComparisonOperator: LessThanThreshold
    Threshold: 1
    TreatMissingData: notBreaching
    ```

    ## Use instead
    ```yaml
    TreatMissingData: breaching    # no data from an always-on metric = down
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data
    """

    id = "SRE-MON-005"
    name = "not-breaching-on-steady-metric"
    perspective = Perspective.MONITORING
    severity = Severity.WARNING
    title_ja = "常時出力メトリクスの欠損を正常扱い（notBreaching）"
    title_en = "Missing data of an always-on metric treated as OK"
    passed_ja = "欠損データの扱いはメトリクスの性質に合っている"
    passed_en = "Missing-data handling fits each metric"
    fix_ja = "TreatMissingData を breaching（または missing）にし、メトリクス途絶を障害として検知する"
    fix_en = "Set TreatMissingData to breaching (or missing) so that a stopped metric is detected"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        index = alarm_index(ctx.project)
        for alarm in index.alarms:
            if not alarm.metrics or any(m.name in SPARSE for m in alarm.metrics):
                continue
            if not all(always_reported(m.namespace, m.name) for m in alarm.metrics):
                continue
            if all(m.name in HEADROOM for m in alarm.metrics):
                continue  # "free space below 10 GiB" is saturation too, like "CPU above 80 %"
            operators = [v for _, v in alarm_values(index, alarm, "ComparisonOperator", "comparison_operator")]
            if not operators or not all(isinstance(o, str) and o.startswith("LessThan") for o in operators):
                continue  # a "too high" alarm is right to stay quiet without data; outage is not its job
            values = alarm_values(index, alarm, "TreatMissingData", "treat_missing_data")
            hits = [env for env, value in values if value is not UNKNOWN and value == "notBreaching"]
            if not hits:
                continue
            env = next((e for e in hits if is_prod(e)), hits[0])
            metrics = ", ".join(sorted({f"{m.name}" for m in alarm.metrics}))
            yield self.finding(
                ctx, file=alarm.file, line=alarm.attribute_line("TreatMissingData", "treat_missing_data"),
                resource=alarm.resource, environment=env,
                message=ctx.text(
                    f"`{alarm.resource}` は常時出力される {metrics} を notBreaching で監視している。"
                    "サービス停止でメトリクスが途絶えると正常（OK）と判定され、障害を通知しない",
                    f"`{alarm.resource}` watches {metrics}, which is reported while the system is up, "
                    "with notBreaching: when an outage stops the metric the alarm reads OK"))

    def coverage(self, ctx: RuleContext) -> str | None:
        alarms = alarm_index(ctx.project).alarms
        return ctx.text(f"アラーム {len(alarms)} 件の TreatMissingData を確認",
                        f"TreatMissingData of {len(alarms)} alarms checked") if alarms else None
