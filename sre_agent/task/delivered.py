"""What the delivered templates build, read back from the files (never from the plan's intent):
alarms and their notification path, templates and their resources, and the production values
the report quotes. Cross-stack references are followed through `Export` / `Fn::ImportValue`."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sre_agent.parsing.cloudformation import CfnResource, CfnTemplate
from sre_agent.project import Project, load_project
from sre_agent.environments import is_prod
from sre_agent.resolve import UNKNOWN, CfnEvaluator, EnvContext, cfn_contexts

OPERATORS = {"GreaterThanThreshold": ">", "GreaterThanOrEqualToThreshold": "≥",
             "LessThanThreshold": "<", "LessThanOrEqualToThreshold": "≤",
             "LessThanLowerOrGreaterThanUpperThreshold": "帯域外",
             "GreaterThanUpperThreshold": "> 上限", "LessThanLowerThreshold": "< 下限"}


@dataclass(frozen=True)
class Ref:
    template: str
    logical_id: str


@dataclass
class AlarmRow:
    name: str
    metric: str
    threshold: str
    evaluation: str
    notify: str
    file: str
    line: int
    composite: bool = False
    burn_rate: bool = False


@dataclass
class TopicRow:
    name: str
    subscriptions: list[str]
    file: str
    line: int


@dataclass
class TemplateSummary:
    path: str
    description: str
    resources: Counter
    parameters: list[str]


@dataclass
class Delivered:
    project: Project
    alarms: list[AlarmRow] = field(default_factory=list)
    topics: list[TopicRow] = field(default_factory=list)
    log_groups: list[tuple[str, str]] = field(default_factory=list)   # (name, retention days)
    templates: list[TemplateSummary] = field(default_factory=list)
    exports: dict[str, tuple[CfnTemplate, Any]] = field(default_factory=dict)
    bindings: dict[str, dict[str, str]] = field(default_factory=dict)   # template → env → parameter file

    def evaluator(self, template: CfnTemplate) -> CfnEvaluator:
        return evaluator(template, self.project, self.bindings)

    def target(self, template: CfnTemplate, node: Any, depth: int = 0) -> Ref | None:
        """The resource a Ref / GetAtt / ImportValue points at, across stacks."""
        if depth > 5 or not isinstance(node, dict) or len(node) != 1:
            return None
        (key, arg), = node.items()
        if key == "Ref" and isinstance(arg, str) and arg in template.resources:
            return Ref(template.path, arg)
        if key == "Fn::GetAtt":
            name = arg[0] if isinstance(arg, list) and arg else str(arg).split(".")[0]
            return Ref(template.path, str(name)) if str(name) in template.resources else None
        if key == "Fn::ImportValue":
            name = self.evaluator(template).value(arg)
            if isinstance(name, str) and name in self.exports:
                owner, value = self.exports[name]
                return self.target(owner, value, depth + 1)
        return None

    def resource(self, ref: Ref) -> tuple[CfnTemplate, CfnResource]:
        template = next(t for t in self.project.templates if t.path == ref.template)
        return template, template.resources[ref.logical_id]


def plan_context(template: CfnTemplate, project: Project,
                 bindings: dict[str, dict[str, str]]) -> EnvContext | None:
    """Production values from the parameter file the delivery plan binds to this template: the
    plan says which file each stack deploys with, so nothing is inferred from file names."""
    files = bindings.get(template.path, {})
    env = next((e for e in files if is_prod(e)), next(iter(files), None))
    pset = next((p for p in project.parameter_sets if env and p.path == files[env]), None)
    if pset is None:
        return None
    return EnvContext(env, {k: v for k, v in pset.values.items() if k in template.parameters}, pset.path)


def evaluator(template: CfnTemplate, project: Project,
              bindings: dict[str, dict[str, str]] | None = None) -> CfnEvaluator:
    """The plan's production parameter file when given; else the review engine's production
    context (or its first environment)."""
    context = plan_context(template, project, bindings or {})
    if context is None:
        contexts = cfn_contexts(template, project, prod_only=True) or cfn_contexts(template, project)
        context = contexts[0]
    return CfnEvaluator(template, context)


def shown(value: Any, fallback: str) -> str:
    if value is UNKNOWN or value is None or isinstance(value, (dict, list)):
        return fallback
    return str(value)


def read_delivery(root: Path, bindings: dict[str, dict[str, str]] | None = None) -> Delivered:
    """`bindings`: template → environment → parameter file, from the delivery plan."""
    project = load_project([root])
    delivered = Delivered(project=project, bindings=bindings or {})
    for template in project.templates:
        ev = delivered.evaluator(template)
        for output in (template.data.get("Outputs") or {}).values():
            if isinstance(output, dict) and isinstance(output.get("Export"), dict):
                name = ev.value(output["Export"].get("Name"))
                if isinstance(name, str):
                    delivered.exports[name] = (template, output.get("Value"))
    for template in project.templates:
        ev = delivered.evaluator(template)
        description = template.data.get("Description")
        delivered.templates.append(TemplateSummary(
            template.path, " ".join(str(description).split()) if description else "",
            Counter(r.type for r in template.resources.values()), list(template.parameters)))
        for res in template.resources.values():
            props = res.properties
            if res.type == "AWS::CloudWatch::Alarm":
                delivered.alarms.append(_alarm(template, res, ev, delivered))
            elif res.type == "AWS::CloudWatch::CompositeAlarm":
                delivered.alarms.append(_composite(template, res, ev, delivered))
            elif res.type == "AWS::SNS::Topic":
                delivered.topics.append(TopicRow(shown(ev.value(props.get("TopicName")), res.logical_id),
                                                 _inline_subscriptions(props, ev), template.path, res.line))
            elif res.type == "AWS::Logs::LogGroup":
                delivered.log_groups.append((shown(ev.value(props.get("LogGroupName")), res.logical_id),
                                             shown(ev.value(props.get("RetentionInDays")), "無期限")))
    for template in project.templates:
        ev = delivered.evaluator(template)
        for res in template.of_type("AWS::SNS::Subscription"):
            ref = delivered.target(template, res.properties.get("TopicArn"))
            topic = next((t for t in delivered.topics if ref and t.file == ref.template
                          and _logical(delivered, t) == ref.logical_id), None)
            if topic is not None:
                topic.subscriptions.append(_subscription(res.properties, ev))
    _composite_members(delivered)
    return delivered


def _logical(delivered: Delivered, topic: TopicRow) -> str | None:
    template = next(t for t in delivered.project.templates if t.path == topic.file)
    return next((r.logical_id for r in template.of_type("AWS::SNS::Topic") if r.line == topic.line), None)


def _subscription(props: dict, ev: CfnEvaluator) -> str:
    protocol = shown(ev.value(props.get("Protocol")), "?")
    endpoint = props.get("Endpoint")
    where = shown(ev.value(endpoint), "")
    if isinstance(endpoint, dict) and isinstance(endpoint.get("Ref"), str):
        definition = ev.template.parameters.get(endpoint["Ref"])
        kind = str(definition.get("Type", "")) if isinstance(definition, dict) else ""
        if kind.startswith("AWS::SSM::Parameter::Value"):   # the file holds the SSM name, not the address
            where = f"SSM パラメータ {where} の値" if where else f"SSM パラメータ（{endpoint['Ref']}）の値"
        elif not where:
            where = f"パラメーター {endpoint['Ref']}"
    return f"{protocol}（{where or 'デプロイ時に解決'}）"


def _inline_subscriptions(props: dict, ev: CfnEvaluator) -> list[str]:
    subs = props.get("Subscription")
    return [_subscription(s, ev) for s in subs if isinstance(s, dict)] if isinstance(subs, list) else []


def _actions(template: CfnTemplate, props: dict, delivered: Delivered) -> str:
    names = []
    for action in props.get("AlarmActions") or []:
        ref = delivered.target(template, action)
        names.append(ref.logical_id if ref else "（外部）")
    return ", ".join(dict.fromkeys(names)) or "なし"


def _alarm(template: CfnTemplate, res: CfnResource, ev: CfnEvaluator, delivered: Delivered) -> AlarmRow:
    props = res.properties
    name = shown(ev.value(props.get("AlarmName")), res.logical_id)
    if isinstance(props.get("Metrics"), list):
        shown_expr = next((m.get("Expression") for m in props["Metrics"]
                           if isinstance(m, dict) and m.get("ReturnData", True) is not False
                           and m.get("Expression")), None)
        stats = [m["MetricStat"] for m in props["Metrics"] if isinstance(m, dict) and "MetricStat" in m]
        periods = {shown(ev.value(s.get("Period")), "?") for s in stats if isinstance(s, dict)}
        metric = f"メトリクス計算 `{shown_expr}`" if shown_expr else "メトリクス計算"
        period = "/".join(sorted(periods)) or "?"
    else:
        statistic = shown(ev.value(props.get("Statistic") or props.get("ExtendedStatistic")), "")
        metric = (f"{shown(ev.value(props.get('Namespace')), '?')} "
                  f"{shown(ev.value(props.get('MetricName')), '?')}" + (f"（{statistic}）" if statistic else ""))
        period = shown(ev.value(props.get("Period")), "?")
    operator = OPERATORS.get(shown(ev.value(props.get("ComparisonOperator")), ""), "?")
    value = shown(ev.value(props.get("Threshold")), "デプロイ時に決定")
    if "Free" in metric and value.isdigit() and int(value) >= 2 ** 30:   # bytes: FreeStorageSpace, FreeableMemory
        value += f"（{int(value) / 2 ** 30:g} GiB）"
    threshold = f"{operator} {value}"
    evaluations = shown(ev.value(props.get("EvaluationPeriods")), "?")
    datapoints = props.get("DatapointsToAlarm")
    evaluation = f"{period}秒 × {evaluations}回" + (
        f"中{shown(ev.value(datapoints), '?')}回" if datapoints is not None else "")
    text = f"{name} {props.get('AlarmDescription', '')} {res.logical_id}".casefold()
    return AlarmRow(name, metric, threshold, evaluation, _actions(template, props, delivered),
                    template.path, res.line, burn_rate=any(w in text for w in ("burn", "バーンレート")))


def _composite(template: CfnTemplate, res: CfnResource, ev: CfnEvaluator, delivered: Delivered) -> AlarmRow:
    props = res.properties
    name = shown(ev.value(props.get("AlarmName")), res.logical_id)
    rule = props.get("AlarmRule")
    rule_text = shown(ev.value(rule), "")
    if not rule_text and isinstance(rule, dict) and "Fn::Sub" in rule:
        sub = rule["Fn::Sub"]
        rule_text = re.sub(r"\$\{(\w+)(?:\.Arn)?\}", lambda m: _alarm_name(template, m.group(1), ev),
                           str(sub[0] if isinstance(sub, list) else sub))
    return AlarmRow(name, f"複合アラーム `{' '.join(rule_text.split()) or '?'}`", "ルールが真", "—",
                    _actions(template, props, delivered), template.path, res.line, composite=True,
                    burn_rate=True if "burn" in f"{name} {res.logical_id}".casefold() else False)


def estimate_prod(delivered: Delivered, region: str):
    """The monthly estimate of production with the plan's parameter files (the cost module's
    pricing, per template, in the context `evaluator` gives)."""
    from sre_agent.cost import Estimate, _cfn_items, price_table

    table = price_table()
    env = next((e for files in delivered.bindings.values() for e in files if is_prod(e)), None)
    result = Estimate(env, region, "plan", table["as_of"])
    for template in delivered.project.templates:
        _cfn_items(template, delivered.evaluator(template), table["regions"][region], result)
    return result


def _alarm_name(template: CfnTemplate, logical_id: str, ev: CfnEvaluator) -> str:
    res = template.resources.get(logical_id)
    return shown(ev.value(res.properties.get("AlarmName")), logical_id) if res else logical_id


def _composite_members(delivered: Delivered) -> None:
    """An alarm with no action of its own that a composite alarm watches notifies through it."""
    for row in delivered.alarms:
        if row.notify == "なし" and any(row.name in other.metric for other in delivered.alarms if other.composite):
            row.notify = "（複合アラーム経由）"


__all__ = ["estimate_prod", "Delivered", "AlarmRow", "TopicRow", "TemplateSummary", "Ref", "read_delivery", "shown"]
