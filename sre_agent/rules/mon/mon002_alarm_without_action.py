"""MON002: alarms that fire into the void."""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext


class AlarmWithoutAction(Rule):
    """
    ## What it does
    Reports CloudWatch alarms (`AWS::CloudWatch::Alarm`, `aws_cloudwatch_metric_alarm`) that
    have no `AlarmActions` / `alarm_actions`, or an empty list — unless a composite alarm with
    actions names them in its `AlarmRule` / `alarm_rule` (the windows of a multi-window
    burn-rate alarm notify through the composite that combines them).

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
            rules = _notifying_rules([c.properties for c in template.of_type("AWS::CloudWatch::CompositeAlarm")],
                                     "AlarmActions", "AlarmRule")
            for alarm in template.of_type("AWS::CloudWatch::Alarm"):
                if not alarm.properties.get("AlarmActions") \
                        and not _named_in(rules, alarm.logical_id, alarm.properties.get("AlarmName")):
                    yield self._report(ctx, template.path, alarm.line, alarm.logical_id)
        for tf in ctx.project.terraform:
            rules = _notifying_rules([{"alarm_actions": c.get("alarm_actions"), "alarm_rule": c.get("alarm_rule")}
                                      for c in tf.resources("aws_cloudwatch_composite_alarm")],
                                     "alarm_actions", "alarm_rule")
            for alarm in tf.resources("aws_cloudwatch_metric_alarm"):
                if not alarm.get("alarm_actions") \
                        and not _named_in(rules, alarm.address, alarm.get("alarm_name")):
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


def _notifying_rules(composites: list[dict[str, Any]], actions: str, rule: str) -> list[str]:
    """The alarm rules of composite alarms that notify someone, as text to search."""
    return [json.dumps(c.get(rule), ensure_ascii=False) for c in composites
            if isinstance(c, dict) and c.get(actions)]


def _named_in(rules: list[str], reference: str, name: Any) -> bool:
    """`${SloBurn1H}` / `!GetAtt SloBurn1H.Arn` (CFN), `aws_cloudwatch_metric_alarm.x.alarm_name`
    (Terraform) or the alarm's literal name inside a rule."""
    words = [re.escape(reference)] + ([re.escape(name)] if isinstance(name, str) and name else [])
    pattern = re.compile(rf"(?<![\w.-])(?:{'|'.join(words)})(?![\w-])")
    return any(pattern.search(rule) for rule in rules)
