"""MON006: a database, load balancer or ECS service with no alarm on its key metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN
from sre_agent.rules._alarms import AlarmIndex, alarm_index, gated_off_in_prod, wired_resource
from sre_agent.rules.base import Rule, RuleContext


CONTAINER_INSIGHTS = ("CpuUtilized", "MemoryUtilized")


@dataclass(frozen=True)
class KeyMetrics:
    """What must be alarmed for one kind of resource, and the dimension that names it."""

    label: str
    namespaces: tuple[str, ...]
    dimension: str
    groups: tuple[tuple[str, ...], ...]  # each group: alternatives, one alarm satisfies it


RDS = KeyMetrics("RDS", ("AWS/RDS",), "DBInstanceIdentifier",
                 (("CPUUtilization",), ("FreeStorageSpace",), ("DatabaseConnections",)))
ALB = KeyMetrics("ALB", ("AWS/ApplicationELB",), "LoadBalancer",
                 (("HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count"), ("TargetResponseTime",),
                  ("HealthyHostCount", "UnHealthyHostCount")))
ECS = KeyMetrics("ECS", ("AWS/ECS", "ECS/ContainerInsights"), "ServiceName",
                 (("CPUUtilization", "CpuUtilized"), ("MemoryUtilization", "MemoryUtilized")))


@dataclass(frozen=True)
class KeyResource:
    file: str
    resource: str
    line: int
    kind: KeyMetrics


class KeyResourceWithoutAlarm(Rule):
    """
    ## What it does
    For every key resource, lists the key metrics that no alarm watches, one finding per
    resource:

    - RDS DB instance (not Aurora members): CPUUtilization, FreeStorageSpace,
      DatabaseConnections;
    - Application Load Balancer: HTTPCode_ELB_5XX_Count or HTTPCode_Target_5XX_Count,
      TargetResponseTime, HealthyHostCount or UnHealthyHostCount;
    - ECS service: CPUUtilization and MemoryUtilization (or Container Insights CpuUtilized /
      MemoryUtilized).

    An alarm (also a metric inside a metric-math alarm) counts for a resource only when its
    dimension is wired to that resource: `!Ref` / `!GetAtt` in the same template,
    `Fn::ImportValue` of an export of that value in another template of the project (export
    names are evaluated per environment from the parameter files), or a name equal to the
    resource's name property; in Terraform a reference such as `aws_lb.main.arn_suffix`. An
    alarm whose dimension cannot be resolved (a parameter, an export outside the project, a
    module output) might watch the resource, so the metric is not reported as missing.

    An alarm whose `Condition` is false with every production parameter file (`HasALB` on an
    empty `LoadBalancerFullName`) watches nothing in production and does not count, unless a
    script or workflow names a parameter that condition reads (it may pass the value then).

    ## Why is this bad
    Each missing metric is an outage class detected only by users: a full disk stops the
    database, connection exhaustion rejects every request, tasks crash-looping leave the ALB
    with no healthy host, all while the alarms that exist stay green.

    ## Example
    An `AWS::RDS::DBInstance` with only a CPU alarm, an ALB whose only 5XX alarm names the load
    balancer by a hand-built string.

    ## Use instead
    Alarms on each key metric, with dimensions taken from the resource
    (`!GetAtt LoadBalancer.LoadBalancerFullName`, `!Ref Database`, `!GetAtt Service.Name`).

    ## References
    - https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Best_Practice_Recommended_Alarms_AWS_Services.html
    """

    id = "SRE-MON-006"
    name = "key-resource-without-alarm"
    perspective = Perspective.MONITORING
    severity = Severity.WARNING
    title_ja = "主要メトリクスにアラームのないリソース"
    title_en = "Key resource without alarms on its key metrics"
    passed_ja = "主要リソースの主要メトリクスにアラームあり"
    passed_en = "Key metrics of every key resource are alarmed"
    fix_ja = "不足しているメトリクスのアラームを、リソースに紐付いたディメンションで追加する"
    fix_en = "Add alarms for the missing metrics, with dimensions wired to the resource"

    def _resources(self, ctx: RuleContext) -> Iterator[KeyResource]:
        for template in ctx.project.templates:
            for resource in template.resources.values():
                props = resource.properties
                kind = None
                if resource.type == "AWS::RDS::DBInstance" and "DBClusterIdentifier" not in props \
                        and not str(props.get("Engine", "")).startswith("aurora"):
                    kind = RDS
                elif resource.type == "AWS::ElasticLoadBalancingV2::LoadBalancer" and \
                        props.get("Type", "application") == "application":
                    kind = ALB
                elif resource.type == "AWS::ECS::Service":
                    kind = ECS
                if kind:
                    yield KeyResource(template.path, resource.logical_id, resource.line, kind)
        for tf in ctx.project.terraform:
            for block in tf.resources("aws_db_instance", "aws_lb", "aws_alb", "aws_ecs_service"):
                kind = None
                if block.type == "aws_db_instance" and "cluster_identifier" not in block.body \
                        and not str(block.get("engine", "")).startswith("aurora"):
                    kind = RDS
                elif block.type in ("aws_lb", "aws_alb") and \
                        block.get("load_balancer_type", "application") == "application":
                    kind = ALB
                elif block.type == "aws_ecs_service":
                    kind = ECS
                if kind:
                    yield KeyResource(tf.path, block.address, block.line, kind)

    def _watched(self, index: AlarmIndex, kind: KeyMetrics,
                 gated: dict[tuple[str, str], str]) -> tuple[dict[tuple[str, str], set[str]], set[str]]:
        """Metrics alarmed per resource, and metrics alarmed on a resource we cannot tell."""
        per_resource: dict[tuple[str, str], set[str]] = {}
        unknown: set[str] = set()
        for alarm in index.alarms:
            if (alarm.file, alarm.resource) in gated:
                continue  # not created in production: watches nothing there
            for metric in alarm.metrics:
                if metric.namespace not in kind.namespaces or metric.name is None:
                    continue
                if kind.dimension not in metric.dimensions:
                    continue
                target = wired_resource(index, alarm, kind.dimension, metric.dimensions[kind.dimension])
                if target is UNKNOWN:
                    unknown.add(metric.name)
                elif target is not None:
                    per_resource.setdefault((target.file, target.resource), set()).add(metric.name)
        return per_resource, unknown

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        index = alarm_index(ctx.project)
        # alarms the production parameters keep out of production watch nothing there
        gated = {(a.file, a.resource): c for a in index.alarms if (c := gated_off_in_prod(index, a))}
        watched = {kind.label: self._watched(index, kind, gated) for kind in (RDS, ALB, ECS)}
        note_ja = note_en = ""
        if gated:
            conditions = ", ".join(sorted({f"`{c}`" for c in gated.values()}))
            files = sorted({file for file, _ in gated})
            note_ja = (f"（{files[0]}{' ほか' if len(files) > 1 else ''} のアラーム {len(gated)} 件は、本番のパラメータでは"
                       f"条件 {conditions} が偽になり作成されない）")
            note_en = (f" ({len(gated)} alarms of {files[0]}{' and others' if len(files) > 1 else ''} are not created "
                       f"in production: condition {conditions} is false with the production parameters)")
        for key in self._resources(ctx):
            per_resource, unknown = watched[key.kind.label]
            have = per_resource.get((key.file, key.resource), set()) | unknown
            missing = [group for group in key.kind.groups if not have & set(group)]
            if not missing:
                continue
            names = ", ".join(" / ".join(n for n in group if n not in CONTAINER_INSIGHTS)
                              for group in missing)
            yield self.finding(
                ctx, file=key.file, line=key.line, resource=key.resource,
                message=ctx.text(
                    f"{key.kind.label} `{key.resource}` の主要メトリクス {names} を監視するアラームがない{note_ja}",
                    f"{key.kind.label} `{key.resource}` has no alarm on {names}{note_en}"))

    def coverage(self, ctx: RuleContext) -> str | None:
        resources = list(self._resources(ctx))
        if not resources:
            return None
        return ctx.text(f"主要リソース {len(resources)} 件（{', '.join(f'`{r.resource}`' for r in resources[:3])}）",
                        f"{len(resources)} key resources ({', '.join(f'`{r.resource}`' for r in resources[:3])})")
