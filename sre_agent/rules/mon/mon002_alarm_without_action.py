"""MON002: alarms that fire into the void."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext


class AlarmWithoutAction(Rule):
    """
    ## What it does
    Reports CloudWatch alarms (`AWS::CloudWatch::Alarm`, `aws_cloudwatch_metric_alarm`) that
    have no `AlarmActions` / `alarm_actions`, or an empty list.

    ## Why is this bad
    The alarm turns red in the console and nobody is told. An outage is noticed only by the
    person who happens to open the CloudWatch page.

    ## Example
    ```yaml
    AlbTarget5xxAlarm:
      Type: AWS::CloudWatch::Alarm
      Properties:
        MetricName: HTTPCode_Target_5XX_Count
    ```

    ## Use instead
    ```yaml
        AlarmActions:
          - !Ref AlertTopic
        OKActions:
          - !Ref AlertTopic
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
    """

    id = "SRE-MON-002"
    name = "alarm-without-action"
    perspective = Perspective.MONITORING
    severity = Severity.WARNING
    title_ja = "通知先のないアラーム"
    title_en = "Alarm without an action"
    passed_ja = "全アラームに通知先（AlarmActions）あり"
    passed_en = "Every alarm has AlarmActions"
    fix_ja = "AlarmActions（と OKActions）に SNS トピックを設定する"
    fix_en = "Set AlarmActions (and OKActions) to an SNS topic"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for template in ctx.project.templates:
            for alarm in template.of_type("AWS::CloudWatch::Alarm"):
                if not alarm.properties.get("AlarmActions"):
                    yield self._report(ctx, template.path, alarm.line, alarm.logical_id)
        for tf in ctx.project.terraform:
            for alarm in tf.resources("aws_cloudwatch_metric_alarm"):
                if not alarm.get("alarm_actions"):
                    yield self._report(ctx, tf.path, alarm.line, alarm.address)

    def _report(self, ctx: RuleContext, path: str, line: int, resource: str) -> Finding:
        return self.finding(
            ctx, file=path, line=line, resource=resource,
            message=ctx.text(f"`{resource}` に AlarmActions がなく、発火しても誰にも通知されない",
                             f"`{resource}` has no AlarmActions: nobody is notified when it fires"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates for _ in t.of_type("AWS::CloudWatch::Alarm"))
        count += sum(1 for tf in ctx.project.terraform for _ in tf.resources("aws_cloudwatch_metric_alarm"))
        return ctx.text(f"アラーム {count} 件を確認", f"{count} alarms checked") if count else None
