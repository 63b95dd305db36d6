"""What a CloudWatch alarm really watches, shared by the MON rules.

An alarm only gets data when its namespace, metric name and *exact* dimension set match what
the service publishes, and when each dimension value is the resource's real name
(`app/<name>/<id>` for an ALB, not a string assembled from the project name). This module
turns CloudFormation and Terraform alarms into `WatchedMetric`s, resolves each dimension value
to the resource it is wired to (`Wired`), a hand-built string (`Literal`) or UNKNOWN, and
indexes `Export`s across all templates of the project so `Fn::ImportValue` is followed to the
resource in the other stack.

Cross-stack resolution: export and import names are evaluated per environment with the
parameter files (`prd.json` → `${Environment}` = prd); when a name cannot be evaluated, an
import matches an export whose `!Sub` text is identical. Anything else (nested stacks,
parameters carrying names, SSM lookups, Terraform modules and remote state) stays UNKNOWN and
the rules are silent on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterator

from sre_agent.environments import is_prod
from sre_agent.parsing.cloudformation import CfnTemplate, line_of
from sre_agent.parsing.terraform import TfBlock, TfFile
from sre_agent.project import Project
from sre_agent.resolve import UNKNOWN, CfnEvaluator, EnvContext, cfn_contexts, cfn_text, tf_locals, tf_variable_sets

ALARM_CFN = "AWS::CloudWatch::Alarm"
ALARM_TF = "aws_cloudwatch_metric_alarm"
ALB_METRICS_NEEDING_TARGET_GROUP = frozenset({
    "HealthyHostCount", "UnHealthyHostCount", "RequestCountPerTarget", "HealthyStateDNS",
    "HealthyStateRouting", "UnhealthyStateDNS", "UnhealthyStateRouting",
})
# Dimension → (CFN type and the attribute that yields the metric's value, Terraform type and
# attribute). `Ref` means `!Ref`. A value wired to the same resource by another attribute
# (the ARN instead of the name) never matches the metric.
DIMENSION_SOURCES: dict[str, tuple[dict[str, str], dict[str, tuple[str, ...]]]] = {
    "LoadBalancer": ({"AWS::ElasticLoadBalancingV2::LoadBalancer": "LoadBalancerFullName"},
                     {"aws_lb": ("arn_suffix",), "aws_alb": ("arn_suffix",)}),
    "TargetGroup": ({"AWS::ElasticLoadBalancingV2::TargetGroup": "TargetGroupFullName"},
                    {"aws_lb_target_group": ("arn_suffix",), "aws_alb_target_group": ("arn_suffix",)}),
    "DBInstanceIdentifier": ({"AWS::RDS::DBInstance": "Ref"},
                             {"aws_db_instance": ("identifier", "id")}),
    "DBClusterIdentifier": ({"AWS::RDS::DBCluster": "Ref"},
                            {"aws_rds_cluster": ("cluster_identifier", "id")}),
    "ClusterName": ({"AWS::ECS::Cluster": "Ref"}, {"aws_ecs_cluster": ("name",)}),
    "ServiceName": ({"AWS::ECS::Service": "Name"}, {"aws_ecs_service": ("name",)}),
    "CacheClusterId": ({"AWS::ElastiCache::CacheCluster": "Ref"},
                       {"aws_elasticache_cluster": ("cluster_id", "id")}),
    "ReplicationGroupId": ({"AWS::ElastiCache::ReplicationGroup": "Ref"},
                           {"aws_elasticache_replication_group": ("replication_group_id", "id")}),
}
# Full names that a literal can legitimately carry (copied from the console after creation).
FULL_NAME_SHAPE = {
    "LoadBalancer": re.compile(r"^(app|net)/[^/]+/[0-9a-f]+$"),
    "TargetGroup": re.compile(r"^targetgroup/[^/]+/[0-9a-f]+$"),
}
# The property that sets a resource's name, for dimensions that take the plain name.
NAME_PROPERTY_CFN = {"AWS::RDS::DBInstance": "DBInstanceIdentifier",
                     "AWS::RDS::DBCluster": "DBClusterIdentifier",
                     "AWS::ECS::Cluster": "ClusterName", "AWS::ECS::Service": "ServiceName",
                     "AWS::ElastiCache::CacheCluster": "ClusterName",
                     "AWS::ElastiCache::ReplicationGroup": "ReplicationGroupId"}
NAME_ATTRIBUTE_TF = {"aws_db_instance": "identifier", "aws_rds_cluster": "cluster_identifier",
                     "aws_ecs_cluster": "name", "aws_ecs_service": "name",
                     "aws_elasticache_cluster": "cluster_id",
                     "aws_elasticache_replication_group": "replication_group_id"}
KNOWN_CFN_TYPES = frozenset(t for cfn, _ in DIMENSION_SOURCES.values() for t in cfn)
KNOWN_TF_TYPES = frozenset(t for _, tf in DIMENSION_SOURCES.values() for t in tf)
EC2_ECS_CFN = ("AWS::ECS::CapacityProvider",)
EC2_ECS_TF = ("aws_ecs_capacity_provider",)
TF_REFERENCE = re.compile(
    r"^\$\{\s*((?:data\.)?[a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.([a-z_]+)\s*\}$")
INTERPOLATION = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Wired:
    """A dimension value produced by a resource: `attribute` is `Ref` or the GetAtt name."""

    file: str
    resource: str  # CFN logical id or Terraform address
    type: str
    attribute: str


@dataclass(frozen=True)
class Literal:
    """A hand-built value; `values` are its texts per environment (UNKNOWN parts dropped)."""

    values: tuple[str, ...]
    shown: str


@dataclass
class WatchedMetric:
    namespace: str | None
    name: str | None
    dimensions: dict[str, Any]  # dimension name -> Wired | Literal | WiringProblem | UNKNOWN
    dimension_lines: dict[str, int]
    line: int  # where a missing dimension is reported
    complete: bool = True  # False when the dimension list is built by !If / a variable


@dataclass
class Alarm:
    file: str
    resource: str
    line: int
    metrics: list[WatchedMetric]
    math: bool
    properties: dict[str, Any]  # CFN properties or the Terraform body
    template: CfnTemplate | None = None
    block: TfBlock | None = None

    def attribute_line(self, cfn_name: str, tf_name: str) -> int:
        if self.template is not None:
            return _key_line(self.properties, cfn_name) or self.line
        return self.block.attribute_line(tf_name) if self.block else self.line

    def raw(self, cfn_name: str, tf_name: str) -> Any:
        if self.template is not None:
            return self.properties.get(cfn_name)
        return self.block.get(tf_name) if self.block else None


def _key_line(mapping: Any, name: str) -> int | None:
    if isinstance(mapping, dict):
        for key in mapping:
            if key == name:
                return line_of(key)
    return None


def _text(node: Any) -> str | None:
    return node if isinstance(node, str) else None


# --- CloudFormation -----------------------------------------------------------------------


def _sub_pattern(node: Any) -> str | None:
    """The raw `!Sub` text of a name, for matching names that cannot be evaluated."""
    if isinstance(node, dict) and len(node) == 1 and isinstance(node.get("Fn::Sub"), str):
        return node["Fn::Sub"]
    return node if isinstance(node, str) else None


@dataclass
class Export:
    template: CfnTemplate
    output: str
    value: Any
    names: dict[str | None, str]  # environment -> evaluated export name
    pattern: str | None


class CfnProject:
    """All templates of the project, with their exports indexed for `Fn::ImportValue`."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.templates = project.templates
        self._contexts: dict[str, list[EnvContext]] = {}

    def contexts(self, template: CfnTemplate) -> list[EnvContext]:
        if template.path not in self._contexts:
            self._contexts[template.path] = cfn_contexts(template, self.project)
        return self._contexts[template.path]

    @cached_property
    def exports(self) -> list[Export]:
        found = []
        for template in self.templates:
            outputs = template.data.get("Outputs")
            for name, output in (outputs.items() if isinstance(outputs, dict) else []):
                export = output.get("Export") if isinstance(output, dict) else None
                if not isinstance(export, dict) or "Name" not in export:
                    continue
                names = {}
                for ctx in self.contexts(template):
                    value = cfn_text(template, ctx, export["Name"])
                    if value is not UNKNOWN:
                        names[ctx.name] = value
                found.append(Export(template, str(name), output.get("Value"), names,
                                    _sub_pattern(export["Name"])))
        return found

    @cached_property
    def _exports_by_name(self) -> dict[str, list[Export]]:
        index: dict[str, list[Export]] = {}
        for export in self.exports:
            for name in set(export.names.values()):
                index.setdefault(name, []).append(export)
        return index

    @cached_property
    def _exports_by_pattern(self) -> dict[str, list[Export]]:
        index: dict[str, list[Export]] = {}
        for export in self.exports:
            if export.pattern is not None:
                index.setdefault(export.pattern, []).append(export)
        return index

    def imported(self, template: CfnTemplate, name_node: Any) -> list[Export]:
        """The exports an `Fn::ImportValue` can resolve to in the project (empty = unknown)."""
        wanted: set[str] = set()
        for ctx in self.contexts(template):
            value = cfn_text(template, ctx, name_node)
            if value is not UNKNOWN:
                wanted.add(value)
        if wanted:
            matches = {id(e): e for name in sorted(wanted) for e in self._exports_by_name.get(name, [])}
            return list(matches.values())
        pattern = _sub_pattern(name_node)
        return list(self._exports_by_pattern.get(pattern, [])) if pattern is not None else []

    def resolve(self, template: CfnTemplate, node: Any, depth: int = 0) -> Any:
        """What a dimension value is: Wired, Literal, or UNKNOWN."""
        if depth > 6:
            return UNKNOWN
        if isinstance(node, (str, int, float)) and not isinstance(node, bool):
            return Literal((str(node),), str(node))
        if not (isinstance(node, dict) and len(node) == 1):
            return UNKNOWN
        (key, arg), = node.items()
        if key == "Ref" and isinstance(arg, str):
            if arg in template.resources:
                return Wired(template.path, arg, template.resources[arg].type, "Ref")
            return UNKNOWN
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if isinstance(parts, list) and len(parts) == 2 and parts[0] in template.resources:
                return Wired(template.path, parts[0], template.resources[parts[0]].type, str(parts[1]))
            return UNKNOWN
        if key == "Fn::ImportValue":
            exports = self.imported(template, arg)
            if len({e.template.path for e in exports}) != 1:  # none, or several stacks: ambiguous
                return UNKNOWN
            results = {self.resolve(e.template, e.value, depth + 1) for e in exports}
            return results.pop() if len(results) == 1 else UNKNOWN
        if key == "Fn::Sub" and isinstance(arg, str):
            names = [m.group(1).strip() for m in INTERPOLATION.finditer(arg)]
            if len(names) == 1 and arg.strip() == "${" + names[0] + "}":
                head = names[0].split(".", 1)
                if head[0] in template.resources:
                    return self.resolve(template, {"Fn::GetAtt": head} if len(head) == 2
                                        else {"Ref": head[0]}, depth + 1)
                return UNKNOWN
            if any(n.split(".", 1)[0] in template.resources for n in names):
                return UNKNOWN
        if key in ("Fn::Sub", "Fn::Join"):
            values = tuple(v for v in (cfn_text(template, c, node) for c in self.contexts(template))
                           if v is not UNKNOWN)
            return Literal(values, _sub_pattern(node) or "!Join") if values else UNKNOWN
        return UNKNOWN

    def named_resource(self, dimension: str, literal: Literal) -> Wired | None:
        """The project resource whose name property equals a hand-built name, if any."""
        types = DIMENSION_SOURCES[dimension][0]
        for template in self.templates:
            for resource in template.of_type(*types):
                prop = NAME_PROPERTY_CFN.get(resource.type)
                node = resource.properties.get(prop) if prop else None
                if node is None:
                    continue
                names = {cfn_text(template, c, node) for c in self.contexts(template)}
                if names & set(literal.values):
                    return Wired(template.path, resource.logical_id, resource.type,
                                 types[resource.type])
        return None

    def alarms(self) -> Iterator[Alarm]:
        for template in self.templates:
            for resource in template.of_type(ALARM_CFN):
                props = resource.properties
                metrics = []
                if "Metrics" in props:
                    for query in props["Metrics"] if isinstance(props["Metrics"], list) else []:
                        stat = query.get("MetricStat") if isinstance(query, dict) else None
                        metric = stat.get("Metric") if isinstance(stat, dict) else None
                        if isinstance(metric, dict):
                            metrics.append(self._metric(template, metric, resource.line))
                else:
                    metrics.append(self._metric(template, props, resource.line))
                yield Alarm(template.path, resource.logical_id, resource.line, metrics,
                            "Metrics" in props, props, template=template)

    def _metric(self, template: CfnTemplate, body: dict, fallback: int) -> WatchedMetric:
        dimensions: dict[str, Any] = {}
        lines: dict[str, int] = {}
        raw = body.get("Dimensions")
        complete = raw is None or isinstance(raw, list)
        for entry in raw if isinstance(raw, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("Name"), str):
                dimensions[entry["Name"]] = (stripped_prefix(entry["Name"], entry.get("Value"))
                                             or self.resolve(template, entry.get("Value")))
                lines[entry["Name"]] = (_key_line(entry, "Value") or line_of(entry) or fallback)
            else:
                complete = False
        line = _key_line(body, "Dimensions") or _key_line(body, "MetricName") or fallback
        return WatchedMetric(_text(body.get("Namespace")), _text(body.get("MetricName")),
                             dimensions, lines, line, complete)


# --- Terraform ----------------------------------------------------------------------------


class TfProject:
    """Terraform resources of the project, with `var.` and `local.` resolved where possible."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.files = project.terraform

    @cached_property
    def blocks(self) -> dict[str, TfBlock]:
        return {b.address: b for tf in self.files for b in tf.resources()}

    @cached_property
    def locals(self) -> dict[str, Any]:
        return tf_locals(self.files)

    @cached_property
    def variable_sets(self) -> list[EnvContext]:
        return tf_variable_sets(self.files, self.project.parameter_sets)

    def interpolate(self, text: str, variables: dict[str, Any], depth: int = 0) -> Any:
        if depth > 5:
            return UNKNOWN
        parts: list[str] = []
        position = 0
        for match in INTERPOLATION.finditer(text):
            parts.append(text[position:match.start()])
            expr = match.group(1).strip()
            if expr.startswith("var.") and expr[4:].isidentifier() and expr[4:] in variables:
                value: Any = variables[expr[4:]]
            elif expr.startswith("local.") and expr[6:].isidentifier() and expr[6:] in self.locals:
                value = self.locals[expr[6:]]
            else:
                return UNKNOWN
            if isinstance(value, str):
                value = self.interpolate(value, variables, depth + 1)
            if value is UNKNOWN or isinstance(value, (dict, list)):
                return UNKNOWN
            parts.append(str(value))
            position = match.end()
        parts.append(text[position:])
        return "".join(parts)

    def resolve(self, tf: TfFile, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return Literal((str(value),), str(value))
        if not isinstance(value, str):
            return UNKNOWN
        match = TF_REFERENCE.match(value)
        if match:
            rtype, name, attribute = match.groups()
            address = f"{rtype}.{name}"
            block = self.blocks.get(address)
            if block is None:
                return UNKNOWN
            return Wired(block.file.path, address, block.type, attribute)
        if re.search(r"\$\{[^}]*\b(aws_|data\.|module\.)", value):
            return UNKNOWN
        if re.fullmatch(r"\$\{\s*var\.[A-Za-z0-9_]+\s*\}", value):
            return UNKNOWN  # like `!Ref Param`: whoever applies may pass the real value
        values = tuple(v for v in (self.interpolate(value, c.values) for c in self.variable_sets)
                       if v is not UNKNOWN)
        return Literal(values, value) if values else UNKNOWN

    def named_resource(self, dimension: str, literal: Literal) -> Wired | None:
        types = DIMENSION_SOURCES[dimension][1]
        for address, block in self.blocks.items():
            if block.type not in types or NAME_ATTRIBUTE_TF.get(block.type) not in block.body:
                continue
            raw = block.get(NAME_ATTRIBUTE_TF[block.type])
            names = {self.interpolate(raw, c.values) if isinstance(raw, str) else UNKNOWN
                     for c in self.variable_sets}
            if names & set(literal.values):
                return Wired(block.file.path, address, block.type, types[block.type][0])
        return None

    def alarms(self) -> Iterator[Alarm]:
        for tf in self.files:
            for block in tf.resources(ALARM_TF):
                queries = block.body.get("metric_query") or []
                metrics = []
                seen: dict[str, int] = {}
                if queries:
                    for query in queries:
                        for metric in (query.get("metric") or []) if isinstance(query, dict) else []:
                            if isinstance(metric, dict):
                                metrics.append(self._metric(tf, block, metric, seen))
                else:
                    metrics.append(self._metric(tf, block, block.body, seen))
                yield Alarm(tf.path, block.address, block.line, metrics, bool(queries), block.body,
                            block=block)

    def _metric(self, tf: TfFile, block: TfBlock, body: dict, seen: dict[str, int]) -> WatchedMetric:
        raw = body.get("dimensions")
        raw = raw[0] if isinstance(raw, list) and raw and isinstance(raw[0], dict) else raw
        dimensions: dict[str, Any] = {}
        lines: dict[str, int] = {}
        for name, value in (raw.items() if isinstance(raw, dict) else []):
            dimensions[name] = self.resolve(tf, value)
            lines[name] = _nth_line(block, rf'^\s*"?{re.escape(name)}"?\s*=', seen, name)
        line = _nth_line(block, r"^\s*dimensions\s*=", seen, "dimensions") if raw else \
            _nth_line(block, r"^\s*metric_name\s*=", seen, "metric_name")

        def first(key: str) -> str | None:
            value = body.get(key)
            value = value[0] if isinstance(value, list) and len(value) == 1 else value
            return value if isinstance(value, str) else None

        return WatchedMetric(first("namespace"), first("metric_name"), dimensions, lines, line,
                             raw is None or isinstance(raw, dict))


def _nth_line(block: TfBlock, pattern: str, seen: dict[str, int], key: str) -> int:
    """Line of the n-th match of `pattern` in the block (n = times `key` was asked before)."""
    wanted = seen.get(key, 0)
    seen[key] = wanted + 1
    regex = re.compile(pattern)
    count = 0
    for number in range(block.line, min(block.end_line, len(block.file.lines)) + 1):
        if regex.match(block.file.lines[number - 1]):
            if count == wanted:
                return number
            count += 1
    return block.line


# --- Both ---------------------------------------------------------------------------------


@dataclass
class AlarmIndex:
    """Every metric alarm of the project, CFN and Terraform, with wiring resolved."""

    project: Project
    cfn: CfnProject = field(init=False)
    tf: TfProject = field(init=False)

    def __post_init__(self) -> None:
        self.cfn = CfnProject(self.project)
        self.tf = TfProject(self.project)

    @cached_property
    def alarms(self) -> list[Alarm]:
        return list(self.cfn.alarms()) + list(self.tf.alarms())

    def named_resource(self, alarm: Alarm, dimension: str, literal: Literal) -> Wired | None:
        if dimension not in DIMENSION_SOURCES:
            return None
        if alarm.template is not None:
            return self.cfn.named_resource(dimension, literal)
        return self.tf.named_resource(dimension, literal)

    @cached_property
    def ecs_on_ec2(self) -> bool:
        """ECS on EC2 capacity: service CPU/memory can exceed 100 % and cluster-level metrics exist."""
        for template in self.project.templates:
            if any(True for _ in template.of_type(*EC2_ECS_CFN)):
                return True
            for service in template.of_type("AWS::ECS::Service", "AWS::ECS::TaskDefinition"):
                props = service.properties
                if props.get("LaunchType") == "EC2" or props.get("RequiresCompatibilities") and \
                        "EC2" in (props.get("RequiresCompatibilities") or []):
                    return True
        for tf in self.project.terraform:
            if any(True for _ in tf.resources(*EC2_ECS_TF)):
                return True
            for block in tf.resources("aws_ecs_service", "aws_ecs_task_definition"):
                compat = block.get("requires_compatibilities") or []
                if block.get("launch_type") == "EC2" or "EC2" in (compat if isinstance(compat, list) else []):
                    return True
        return False


def alarm_index(project: Project) -> AlarmIndex:
    """The project's alarm index, shared by every MON / DOC rule of one review."""
    return project.memo("alarm_index", lambda: AlarmIndex(project))


def required_dimensions(namespace: str | None, metric: str | None, ecs_on_ec2: bool) -> list[tuple[str, ...]]:
    """Groups of alternatives that must all be present for the metric to have data."""
    if namespace == "AWS/ApplicationELB":
        groups = [("LoadBalancer",)]
        if metric in ALB_METRICS_NEEDING_TARGET_GROUP:
            groups.append(("TargetGroup",))
        return groups
    if namespace == "AWS/RDS":
        return [("DBInstanceIdentifier", "DBClusterIdentifier", "DatabaseClass", "EngineName",
                 "DbClusterIdentifier", "SourceRegion")]
    if namespace == "AWS/ECS":
        return [("ClusterName",)] if ecs_on_ec2 else [("ClusterName",), ("ServiceName",)]
    if namespace == "AWS/ElastiCache":
        return [("CacheClusterId", "ReplicationGroupId", "clusterId")]
    return []


@dataclass(frozen=True)
class WiringProblem:
    """Why a dimension value never matches: `used` is what the alarm gives, `wanted` the fix."""

    kind: str  # hand-built | wrong-attribute | wrong-resource | stripped-prefix
    used: str
    wanted: str


def _attr(attribute: str, resource: str, terraform: bool) -> str:
    if terraform:
        return f"{resource}.{attribute}"
    return f"!Ref {resource}" if attribute == "Ref" else f"!GetAtt {resource}.{attribute}"


# The part of an ARN a dimension keeps: `…:targetgroup/<name>/<id>` → `targetgroup/<name>/<id>`,
# `…:loadbalancer/app/<name>/<id>` → `app/<name>/<id>` (the ARN's `loadbalancer/` is not part of it).
KEPT_PREFIX = {"TargetGroup": "targetgroup/", "LoadBalancer": ""}


def stripped_prefix(dimension: str, node: Any) -> WiringProblem | None:
    """`!Select [1, !Split ['targetgroup/', <target group ARN>]]` gives `<name>/<id>`: the
    `targetgroup/` the TargetGroup dimension starts with is cut off, so no data ever matches."""
    keep = KEPT_PREFIX.get(dimension)
    if not keep or not (isinstance(node, dict) and len(node) == 1 and "Fn::Select" in node):
        return None
    args = node["Fn::Select"]
    if not (isinstance(args, list) and len(args) == 2 and str(args[0]) == "1" and isinstance(args[1], dict)):
        return None
    split = args[1].get("Fn::Split")
    if not (isinstance(split, list) and len(split) == 2 and isinstance(split[0], str)):
        return None
    if split[0].endswith(keep):
        return WiringProblem("stripped-prefix", f"!Select [1, !Split ['{split[0]}', …]]",
                             f"{keep}<name>/<id>")
    return None


def wiring_problem(dimension: str, value: Any) -> WiringProblem | None:
    """Why a dimension value can never match the metric, or None when it can (or is unknown)."""
    if isinstance(value, WiringProblem):
        return value
    if dimension not in DIMENSION_SOURCES or value is UNKNOWN:
        return None
    cfn_types, tf_types = DIMENSION_SOURCES[dimension]
    if isinstance(value, Wired):
        if value.type in cfn_types:
            wanted = cfn_types[value.type]
            if value.attribute == wanted:
                return None
            return WiringProblem("wrong-attribute", _attr(value.attribute, value.resource, False),
                                 _attr(wanted, value.resource, False))
        if value.type in tf_types:
            wanted_tf = tf_types[value.type]
            if value.attribute in wanted_tf:
                return None
            return WiringProblem("wrong-attribute", _attr(value.attribute, value.resource, True),
                                 _attr(wanted_tf[0], value.resource, True))
        if value.type in KNOWN_CFN_TYPES or value.type in KNOWN_TF_TYPES:
            return WiringProblem("wrong-resource", f"{value.resource} ({value.type})",
                                 " / ".join([*cfn_types, *tf_types]))
        return None
    shape = FULL_NAME_SHAPE.get(dimension)
    if isinstance(value, Literal) and shape is not None and value.values:
        bad = [v for v in value.values if not shape.match(v)]
        if bad:
            return WiringProblem("hand-built", bad[0], "LoadBalancerFullName" if dimension ==
                                 "LoadBalancer" else "TargetGroupFullName")
    return None


def wired_resource(index: AlarmIndex, alarm: Alarm, dimension: str, value: Any) -> Any:
    """The resource a dimension value designates (Wired), None when it is none of ours, UNKNOWN."""
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, WiringProblem):
        return None  # never matches: watches nothing
    if isinstance(value, Wired):
        return value if wiring_problem(dimension, value) is None else None
    if isinstance(value, Literal):
        if dimension in FULL_NAME_SHAPE:
            return None if wiring_problem(dimension, value) else UNKNOWN
        found = index.named_resource(alarm, dimension, value)
        return found if found is not None else UNKNOWN
    return UNKNOWN


# --- ECS container definitions --------------------------------------------------------------


def tf_container_line(block: TfBlock, name: Any) -> int:
    """Line of a container's `name = "..."` inside container_definitions, else the attribute."""
    start = block.attribute_line("container_definitions")
    if isinstance(name, str):
        pattern = re.compile(rf'^\s*"?name"?\s*[=:]\s*"{re.escape(name)}"')
        for number in range(start, min(block.end_line, len(block.file.lines)) + 1):
            if pattern.match(block.file.lines[number - 1]):
                return number
    return start


# --- Metric catalogue -----------------------------------------------------------------------

# Reported every period while the resource exists: missing data means the resource (or its
# metric pipeline) is gone, which is exactly when the alarm must not look green.
ALWAYS_REPORTED: dict[str | None, frozenset[str]] = {
    "AWS/ApplicationELB": frozenset({"HealthyHostCount", "UnHealthyHostCount", "RequestCount"}),
    "AWS/RDS": frozenset({"CPUUtilization", "FreeStorageSpace", "DatabaseConnections",
                          "FreeableMemory", "ReadIOPS", "WriteIOPS", "ReadLatency", "WriteLatency",
                          "SwapUsage", "DiskQueueDepth", "CPUCreditBalance"}),
    "AWS/ECS": frozenset({"CPUUtilization", "MemoryUtilization"}),
    "ECS/ContainerInsights": frozenset({"RunningTaskCount", "CpuUtilized", "MemoryUtilized"}),
    "AWS/EC2": frozenset({"CPUUtilization", "StatusCheckFailed", "StatusCheckFailed_Instance",
                          "StatusCheckFailed_System"}),
    "AWS/ElastiCache": frozenset({"CPUUtilization", "EngineCPUUtilization",
                                  "DatabaseMemoryUsagePercentage", "FreeableMemory",
                                  "CurrConnections"}),
}
# Emitted only when non-zero: no data is the healthy state, notBreaching is right.
SPARSE = frozenset({
    "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_4XX_Count",
    "HTTPCode_Target_4XX_Count", "HTTPCode_ELB_3XX_Count", "HTTPCode_Target_3XX_Count",
    "HTTPCode_ELB_502_Count", "HTTPCode_ELB_503_Count", "HTTPCode_ELB_504_Count",
    "HTTPCode_ELB_500_Count", "RejectedConnectionCount", "TargetConnectionErrorCount",
    "ClientTLSNegotiationErrorCount", "TargetTLSNegotiationErrorCount", "Errors", "Throttles",
    "DeadLetterErrors", "5XXError", "4XXError", "5xxErrors", "4xxErrors", "ThrottledRequests",
    "UserErrors", "SystemErrors", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionThrottled",
})
PERCENT_METRICS: dict[str | None, frozenset[str]] = {
    "AWS/RDS": frozenset({"CPUUtilization"}),
    "AWS/ECS": frozenset({"CPUUtilization", "MemoryUtilization"}),
    "AWS/EC2": frozenset({"CPUUtilization"}),
    "AWS/ElastiCache": frozenset({"CPUUtilization", "EngineCPUUtilization",
                                  "DatabaseMemoryUsagePercentage"}),
    "AWS/Lambda": frozenset(),
}
# Namespaces whose metrics are all counts, bytes, seconds or percentages: never negative.
NON_NEGATIVE_NAMESPACES = frozenset({
    "AWS/ApplicationELB", "AWS/NetworkELB", "AWS/RDS", "AWS/ECS", "ECS/ContainerInsights",
    "AWS/EC2", "AWS/ElastiCache", "AWS/Lambda", "AWS/SQS", "AWS/SNS", "AWS/ApiGateway",
    "AWS/DynamoDB", "AWS/States", "AWS/S3", "AWS/CloudFront", "AWS/Logs",
})


def always_reported(namespace: str | None, metric: str | None) -> bool:
    return metric is not None and metric in ALWAYS_REPORTED.get(namespace, frozenset())


def is_percent(namespace: str | None, metric: str | None) -> bool:
    return metric is not None and metric in PERCENT_METRICS.get(namespace, frozenset())


def alarm_values(index: AlarmIndex, alarm: Alarm, cfn_name: str, tf_name: str) -> list[tuple[str | None, Any]]:
    """An alarm property's value per environment: [(environment, value)], constants once."""
    from sre_agent.resolve import tf_value

    raw = alarm.raw(cfn_name, tf_name)
    if raw is None:
        return []
    if alarm.template is not None:
        if not isinstance(raw, (dict, list)):
            return [(None, raw)]
        return [(ctx.name, CfnEvaluator(alarm.template, ctx).value(raw))
                for ctx in index.cfn.contexts(alarm.template)]
    if isinstance(raw, str) and "${" in raw:
        assert alarm.block is not None
        return [(ctx.name, tf_value(alarm.block, tf_name, ctx.values))
                for ctx in index.tf.variable_sets]
    return [(None, raw)]


def prod_value(index: AlarmIndex, alarm: Alarm, cfn_name: str, tf_name: str) -> object:
    """The value in production, or the only value; UNKNOWN when neither is known."""
    values = alarm_values(index, alarm, cfn_name, tf_name)
    prod = [value for env, value in values if env and is_prod(env)]
    if prod:
        return prod[0]
    distinct = {repr(value) for _, value in values}
    return values[0][1] if len(distinct) == 1 else UNKNOWN


def gated_off_in_prod(index: AlarmIndex, alarm: Alarm) -> str | None:
    """The `Condition` that keeps a CloudFormation alarm out of production, as the production
    parameter files set its inputs (`HasALB` on an empty `LoadBalancerFullName`); None when the
    alarm exists there, when only defaults are known, or when a script or workflow names a
    parameter the condition reads (it may pass the real value at deploy time)."""
    template = alarm.template
    condition = template.resources[alarm.resource].body.get("Condition") if template is not None else None
    if not isinstance(condition, str):
        return None
    prod = [c for c in index.cfn.contexts(template) if c.name and is_prod(c.name) and c.source]
    if not prod or any(CfnEvaluator(template, c).condition(condition) is not False for c in prod):
        return None
    read = condition_parameters(template, condition)
    texts = [s.text for s in index.project.scripts] + [index.project.texts.get(w, "") for w in index.project.workflows]
    if any(name in text for name in read for text in texts):
        return None
    return condition


def condition_parameters(template: CfnTemplate, name: str, depth: int = 0) -> set[str]:
    """Template parameters a named condition reads, through the conditions it names."""
    conditions = template.data.get("Conditions")
    found: set[str] = set()

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "Ref" and isinstance(value, str) and value in template.parameters:
                    found.add(value)
                elif key == "Condition" and isinstance(value, str) and depth < 10:
                    found.update(condition_parameters(template, value, depth + 1))
                else:
                    walk(value)
        elif isinstance(item, list):
            for entry in item:
                walk(entry)
    walk(conditions.get(name) if isinstance(conditions, dict) else None)
    return found
