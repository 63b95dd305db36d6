"""MON003: alarms whose notifications reach nobody (a topic with no subscription, or none)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.parsing.cloudformation import line_of
from sre_agent.resolve import UNKNOWN
from sre_agent.rules._alarms import AlarmIndex, Literal, Wired, alarm_index
from sre_agent.rules.base import Rule, RuleContext

TOPIC_CFN = "AWS::SNS::Topic"
TOPIC_TF = "aws_sns_topic"
ALARMS_CFN = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
ALARMS_TF = ("aws_cloudwatch_metric_alarm", "aws_cloudwatch_composite_alarm")
# Resources that deliver a topic's messages somewhere, and the property naming the topic(s).
SUBSCRIBERS_CFN = {"AWS::SNS::Subscription": "TopicArn",
                   "AWS::Chatbot::SlackChannelConfiguration": "SnsTopicArns",
                   "AWS::Chatbot::MicrosoftTeamsChannelConfiguration": "SnsTopicArns"}
SUBSCRIBERS_TF = {"aws_sns_topic_subscription": "topic_arn",
                  "aws_chatbot_slack_channel_configuration": "sns_topic_arns",
                  "aws_chatbot_teams_channel_configuration": "sns_topic_arns",
                  "awscc_chatbot_slack_channel_configuration": "sns_topic_arns",
                  "awscc_chatbot_microsoft_teams_channel_configuration": "sns_topic_arns"}
TOPIC_ATTRIBUTES_TF = ("arn", "id")


@dataclass(frozen=True)
class Topic:
    file: str
    resource: str


@dataclass
class AlarmActions:
    file: str
    resource: str
    line: int
    targets: list[Any]  # Topic | "other" (a non-notifying action) | UNKNOWN


class AlarmTopicWithoutSubscription(Rule):
    """
    ## What it does
    Follows each alarm's `AlarmActions` (`alarm_actions`) to the SNS topics of the project —
    `!Ref` in the same template, `Fn::ImportValue` of a topic exported by another template,
    an ARN whose topic name matches a topic of the project, `aws_sns_topic.x.arn` — and reports
    alarms all of whose notification targets are topics that nothing consumes: no
    `AWS::SNS::Subscription` / `aws_sns_topic_subscription`, no `Subscription` property, no
    AWS Chatbot channel configuration. An action whose target cannot be resolved (a parameter,
    a topic of another project) counts as a working notification path. When the project has
    alarms but no subscribed topic (or Chatbot configuration) anywhere and no action leads
    outside the project, one project-level finding is reported instead — also when topics exist
    (a lifecycle hook's, a Lambda's) but every alarm only triggers automatic actions (scaling
    policies, EC2 recovery) and none notifies a topic. An EventBridge rule on alarm state
    changes counts as a notification path.

    ## Why is this bad
    The alarm fires, SNS accepts the message, and no one receives it: the outage is found by
    customers although every alarm "has an action".

    ## Example
    ```yaml
    AlertTopic:
      Type: AWS::SNS::Topic
    CpuAlarm:
      Type: AWS::CloudWatch::Alarm
      Properties:
        AlarmActions: [!Ref AlertTopic]   # no AWS::SNS::Subscription for AlertTopic anywhere
    ```

    ## Use instead
    ```yaml
    AlertEmailSubscription:
      Type: AWS::SNS::Subscription
      Properties:
        TopicArn: !Ref AlertTopic
        Protocol: email
        Endpoint: !Ref AlertEmail
    ```

    ## References
    - https://docs.aws.amazon.com/sns/latest/dg/sns-create-subscribe-endpoint-to-topic.html
    - https://docs.aws.amazon.com/chatbot/latest/adminguide/what-is.html
    """

    id = "SRE-MON-003"
    name = "alarm-topic-without-subscription"
    perspective = Perspective.MONITORING
    severity = Severity.WARNING
    title_ja = "通知経路がない（購読者のいない SNS トピック）"
    title_en = "No notification path (SNS topic without a subscription)"
    passed_ja = "アラームの通知先トピックに購読（サブスクリプション）あり"
    passed_en = "Alarm topics have subscriptions"
    fix_ja = "トピックに AWS::SNS::Subscription（メール / Chatbot / PagerDuty 等）を IaC で定義する"
    fix_en = "Define an AWS::SNS::Subscription (email, Chatbot, PagerDuty...) for the topic in IaC"

    # --- topics and their subscribers ---

    def _topic_names(self, index: AlarmIndex) -> dict[str, Topic]:
        from sre_agent.resolve import cfn_text

        names: dict[str, Topic] = {}
        for template in index.project.templates:
            for topic in template.of_type(TOPIC_CFN):
                node = topic.properties.get("TopicName")
                for ctx in index.cfn.contexts(template):
                    value = cfn_text(template, ctx, node) if node is not None else UNKNOWN
                    if value is not UNKNOWN:
                        names[value] = Topic(template.path, topic.logical_id)
        for tf in index.project.terraform:
            for block in tf.resources(TOPIC_TF):
                raw = block.get("name")
                for ctx in index.tf.variable_sets:
                    value = index.tf.interpolate(raw, ctx.values) if isinstance(raw, str) else UNKNOWN
                    if value is not UNKNOWN:
                        names[value] = Topic(tf.path, block.address)
        return names

    def _subscribed(self, index: AlarmIndex) -> set[Topic]:
        subscribed: set[Topic] = set()
        for template in index.project.templates:
            for topic in template.of_type(TOPIC_CFN):
                if topic.properties.get("Subscription"):
                    subscribed.add(Topic(template.path, topic.logical_id))
            for resource in template.of_type(*SUBSCRIBERS_CFN):
                for node in _items(resource.properties.get(SUBSCRIBERS_CFN[resource.type])):
                    target = self._cfn_topic(index, template, node, {})
                    if isinstance(target, Topic):
                        subscribed.add(target)
        for tf in index.project.terraform:
            for block in tf.resources(*SUBSCRIBERS_TF):
                for value in _items(block.get(SUBSCRIBERS_TF[block.type])):
                    target = self._tf_topic(index, tf, value, {})
                    if isinstance(target, Topic):
                        subscribed.add(target)
        return subscribed

    # --- where an action leads ---

    def _cfn_topic(self, index: AlarmIndex, template: Any, node: Any, names: dict[str, Topic]) -> Any:
        value = index.cfn.resolve(template, node)
        if isinstance(value, Wired):
            return Topic(value.file, value.resource) if value.type == TOPIC_CFN else "other"
        sub = node.get("Fn::Sub") if isinstance(node, dict) and len(node) == 1 else None
        if value is UNKNOWN and isinstance(sub, str) and sub.startswith("arn:") and ":sns:" in sub:
            # arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:<name>: the name decides
            value = index.cfn.resolve(template, {"Fn::Sub": "arn:aws:sns:region:account:"
                                                 + sub.rsplit(":", 1)[-1]})
        return self._by_arn(value, names)

    def _tf_topic(self, index: AlarmIndex, tf: Any, node: Any, names: dict[str, Topic]) -> Any:
        value = index.tf.resolve(tf, node)
        if isinstance(value, Wired):
            if value.type == TOPIC_TF:
                return Topic(value.file, value.resource) if value.attribute in TOPIC_ATTRIBUTES_TF \
                    else UNKNOWN
            return "other"
        return self._by_arn(value, names)

    @staticmethod
    def _by_arn(value: Any, names: dict[str, Topic]) -> Any:
        if isinstance(value, Literal):
            for arn in value.values:
                if arn.startswith("arn:") and ":sns:" in arn and arn.rsplit(":", 1)[-1] in names:
                    return names[arn.rsplit(":", 1)[-1]]
        return UNKNOWN

    def _alarm_actions(self, index: AlarmIndex) -> Iterator[AlarmActions]:
        names = self._topic_names(index)
        for template in index.project.templates:
            for alarm in template.of_type(*ALARMS_CFN):
                raw = alarm.properties.get("AlarmActions")
                targets = [self._cfn_topic(index, template, node, names) for node in _items(raw)]
                line = next((line_of(k) for k in alarm.properties if k == "AlarmActions"), None)
                yield AlarmActions(template.path, alarm.logical_id, line or alarm.line, targets)
        for tf in index.project.terraform:
            for block in tf.resources(*ALARMS_TF):
                targets = [self._tf_topic(index, tf, v, names) for v in _items(block.get("alarm_actions"))]
                yield AlarmActions(tf.path, block.address, block.attribute_line("alarm_actions"), targets)

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        index = alarm_index(ctx.project)
        subscribed = self._subscribed(index)
        alarms = list(self._alarm_actions(index))
        reported = False
        for alarm in alarms:
            topics = [t for t in alarm.targets if isinstance(t, Topic)]
            silent = [t for t in topics if t not in subscribed]
            if not silent or len(silent) < len(topics) or any(t is UNKNOWN for t in alarm.targets):
                continue
            reported = True
            shown = ", ".join(f"`{t.resource}`" + (f"（{t.file}）" if t.file != alarm.file else "")
                              for t in dict.fromkeys(silent))
            yield self.finding(
                ctx, file=alarm.file, line=alarm.line, resource=alarm.resource,
                message=ctx.text(
                    f"`{alarm.resource}` の通知先トピック {shown} に購読（サブスクリプション）がなく、"
                    "発報しても誰にも届かない",
                    f"`{alarm.resource}` notifies {shown.replace('（', ' (').replace('）', ')')}, "
                    "which has no subscription: nobody receives the alarm"))
        if reported or not alarms or self._has_chatbot(index) or self._routes_alarm_events(index):
            return
        if any(t is UNKNOWN for alarm in alarms for t in alarm.targets):
            return
        if subscribed and any(isinstance(t, Topic) for alarm in alarms for t in alarm.targets):
            return
        if subscribed or any(t == "other" for alarm in alarms for t in alarm.targets):
            # topics exist (a lifecycle hook's, a Lambda's), but every alarm only scales or
            # recovers something: an outage those actions cannot fix pages nobody
            shown = ", ".join(f"`{a.resource}`" for a in alarms[:3]) + (
                ctx.text(f" ほか {len(alarms) - 3} 件", f" and {len(alarms) - 3} more") if len(alarms) > 3 else "")
            yield self.finding(
                ctx, file=None, line=None, resource=None,
                remediation=ctx.text(
                    "通知用の SNS トピックと購読（メール / Chatbot / PagerDuty 等）を作り、障害を示すアラーム"
                    "（ALB 5XX・正常ホスト数・タスク数など）の AlarmActions に設定する",
                    "Create an alerting SNS topic with a subscription (email, Chatbot, PagerDuty…) and put it in "
                    "the AlarmActions of alarms that signal an outage (ALB 5XX, healthy hosts, running tasks)"),
                message=ctx.text(
                    f"アラーム {len(alarms)} 件（{shown}）のアクションはスケーリング等の自動処理だけで、"
                    "人に届く通知先（購読付きの SNS トピック等）に送るアラームが1つもない。自動処理で直らない障害は誰にも通知されない",
                    f"the {len(alarms)} alarms ({shown}) only trigger automatic actions (scaling and the like); "
                    "none notifies a subscribed topic, so an outage those actions cannot fix pages nobody"))
            return
        yield self.finding(
            ctx, file=None, line=None, resource=None,
            message=ctx.text(
                f"アラーム {len(alarms)} 件に対し、購読付きの SNS トピック（または Chatbot 等）が"
                "プロジェクト内に1つもない。発報しても誰にも通知されない",
                f"{len(alarms)} alarms and no subscribed SNS topic (or Chatbot) anywhere in the "
                "project: nobody is notified"))

    @staticmethod
    def _routes_alarm_events(index: AlarmIndex) -> bool:
        """An EventBridge rule on CloudWatch alarm state changes: a notification path of its own."""
        def on_alarms(pattern: Any) -> bool:
            return "aws.cloudwatch" in str(pattern) or "CloudWatch Alarm State Change" in str(pattern)
        return any(on_alarms(r.properties.get("EventPattern")) for t in index.project.templates
                   for r in t.of_type("AWS::Events::Rule")) or any(
            on_alarms(b.get("event_pattern")) for tf in index.project.terraform
            for b in tf.resources("aws_cloudwatch_event_rule"))

    @staticmethod
    def _has_chatbot(index: AlarmIndex) -> bool:
        return any(True for t in index.project.templates
                   for _ in t.of_type(*[k for k in SUBSCRIBERS_CFN if "Chatbot" in k])) or \
            any(True for tf in index.project.terraform
                for _ in tf.resources(*[k for k in SUBSCRIBERS_TF if "chatbot" in k]))

    def coverage(self, ctx: RuleContext) -> str | None:
        index = alarm_index(ctx.project)
        alarms = list(self._alarm_actions(index))
        if not alarms:
            return None
        subscribed = self._subscribed(index)
        return ctx.text(f"アラーム {len(alarms)} 件の通知先、購読付きトピック {len(subscribed)} 件",
                        f"actions of {len(alarms)} alarms; subscribed topics: {len(subscribed)}")


def _items(raw: Any) -> list[Any]:
    """List entries, with both branches of an `!If` and `AWS::NoValue` dropped."""
    if raw is None:
        return []
    entries = raw if isinstance(raw, list) else [raw]
    out: list[Any] = []
    for entry in entries:
        if isinstance(entry, dict) and len(entry) == 1 and "Fn::If" in entry and \
                isinstance(entry["Fn::If"], list) and len(entry["Fn::If"]) == 3:
            out.extend(_items(entry["Fn::If"][1]) + _items(entry["Fn::If"][2]))
        elif entry == {"Ref": "AWS::NoValue"}:
            continue
        else:
            out.append(entry)
    return out
