"""What the code builds in production, in the vocabulary the documents use.

The document side says 「RDS マルチAZ 有効」「タスク数（最小）2」; this module answers the same
questions from CloudFormation (resolved per environment by resolve.py) and Terraform, with the
file, line and resource a finding should point at. Values that cannot be resolved are UNKNOWN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from sre_agent.resolve import UNKNOWN, CfnEvaluator, EnvContext, cfn_contexts, tf_value, tf_variable_sets


@dataclass(frozen=True)
class Built:
    """One resource attribute as built in one environment."""

    file: str
    line: int
    resource: str
    value: Any
    environment: str | None
    kind: str  # rds | aurora | ecs | nat | elasticache | loggroup | alarm


def _prod_context(template, project) -> EnvContext:
    return cfn_contexts(template, project, prod_only=True)[0]


def _tf_prod(project) -> EnvContext:
    return tf_variable_sets(project.terraform, project.parameter_sets, prod_only=True)[0]


def cfn_value(template, resource, ctx: EnvContext, name: str, default: Any = UNKNOWN) -> Any:
    if name not in resource.properties:
        return default
    return CfnEvaluator(template, ctx).value(resource.properties[name])


def rds_attribute(project, cfn_name: str, tf_name: str, default: Any = UNKNOWN) -> Iterator[Built]:
    """An attribute of every stand-alone RDS instance (Aurora members excluded), in prod."""
    for template in project.templates:
        ctx = _prod_context(template, project)
        for db in template.of_type("AWS::RDS::DBInstance"):
            if "DBClusterIdentifier" in db.properties:
                continue
            yield Built(template.path, db.property_line(cfn_name), db.logical_id,
                        cfn_value(template, db, ctx, cfn_name, default), ctx.name, "rds")
    if project.terraform:
        ctx = _tf_prod(project)
        for tf in project.terraform:
            for db in tf.resources("aws_db_instance"):
                value = tf_value(db, tf_name, ctx.values) if tf_name in db.body else default
                yield Built(tf.path, db.attribute_line(tf_name), db.address, value, ctx.name, "rds")


def aurora_clusters(project) -> Iterator[Built]:
    """Aurora clusters with their instance count (1 instance = single-AZ)."""
    for template in project.templates:
        ctx = _prod_context(template, project)
        members: dict[str, int] = {}
        for db in template.of_type("AWS::RDS::DBInstance"):
            ref = db.properties.get("DBClusterIdentifier")
            if isinstance(ref, dict) and "Ref" in ref:
                members[ref["Ref"]] = members.get(ref["Ref"], 0) + 1
        for cluster in template.of_type("AWS::RDS::DBCluster"):
            yield Built(template.path, cluster.line, cluster.logical_id,
                        members.get(cluster.logical_id, 0), ctx.name, "aurora")


def _scalable_targets(template) -> dict[str, Any]:
    """ECS service logical id → its ApplicationAutoScaling ScalableTarget resource."""
    found = {}
    for target in template.of_type("AWS::ApplicationAutoScaling::ScalableTarget"):
        resource_id = target.properties.get("ResourceId")
        text = repr(resource_id)
        for service in template.of_type("AWS::ECS::Service"):
            if service.logical_id in text:
                found[service.logical_id] = target
    return found


@dataclass(frozen=True)
class ServiceCounts:
    desired: Built
    minimum: Built | None  # None when there is no auto scaling
    maximum: Built | None


def ecs_services(project) -> Iterator[ServiceCounts]:
    for template in project.templates:
        ctx = _prod_context(template, project)
        targets = _scalable_targets(template)
        for service in template.of_type("AWS::ECS::Service"):
            desired = Built(template.path, service.property_line("DesiredCount"), service.logical_id,
                            cfn_value(template, service, ctx, "DesiredCount", 1), ctx.name, "ecs")
            target = targets.get(service.logical_id)
            minimum = maximum = None
            if target is not None:
                minimum = Built(template.path, target.property_line("MinCapacity"), target.logical_id,
                                cfn_value(template, target, ctx, "MinCapacity"), ctx.name, "ecs")
                maximum = Built(template.path, target.property_line("MaxCapacity"), target.logical_id,
                                cfn_value(template, target, ctx, "MaxCapacity"), ctx.name, "ecs")
            yield ServiceCounts(desired, minimum, maximum)
    if project.terraform:
        ctx = _tf_prod(project)
        targets = [(tf, b) for tf in project.terraform for b in tf.resources("aws_appautoscaling_target")]
        for tf in project.terraform:
            for service in tf.resources("aws_ecs_service"):
                value = tf_value(service, "desired_count", ctx.values) if "desired_count" in service.body else 1
                desired = Built(tf.path, service.attribute_line("desired_count"), service.address,
                                value, ctx.name, "ecs")
                minimum = maximum = None
                for ttf, target in targets:
                    if f"aws_ecs_service.{service.name}" in repr(target.get("resource_id")):
                        minimum = Built(ttf.path, target.attribute_line("min_capacity"), target.address,
                                        tf_value(target, "min_capacity", ctx.values), ctx.name, "ecs")
                        maximum = Built(ttf.path, target.attribute_line("max_capacity"), target.address,
                                        tf_value(target, "max_capacity", ctx.values), ctx.name, "ecs")
                yield ServiceCounts(desired, minimum, maximum)


def nat_gateways(project) -> list[Built]:
    found = [Built(t.path, r.line, r.logical_id, 1, None, "nat")
             for t in project.templates for r in t.of_type("AWS::EC2::NatGateway")]
    found += [Built(tf.path, b.line, b.address, b.get("count", 1), None, "nat")
              for tf in project.terraform for b in tf.resources("aws_nat_gateway")]
    return found


def elasticache_groups(project) -> Iterator[Built]:
    """Replication groups with automatic failover resolved for prod (False = single node role)."""
    for template in project.templates:
        ctx = _prod_context(template, project)
        for group in template.of_type("AWS::ElastiCache::ReplicationGroup"):
            value = cfn_value(template, group, ctx, "AutomaticFailoverEnabled", False)
            yield Built(template.path, group.property_line("AutomaticFailoverEnabled"),
                        group.logical_id, value, ctx.name, "elasticache")
        for cluster in template.of_type("AWS::ElastiCache::CacheCluster"):
            yield Built(template.path, cluster.line, cluster.logical_id, False, ctx.name, "elasticache")
    if project.terraform:
        ctx = _tf_prod(project)
        for tf in project.terraform:
            for group in tf.resources("aws_elasticache_replication_group"):
                value = tf_value(group, "automatic_failover_enabled", ctx.values) \
                    if "automatic_failover_enabled" in group.body else False
                yield Built(tf.path, group.attribute_line("automatic_failover_enabled"), group.address,
                            value, ctx.name, "elasticache")


def app_log_groups(project) -> Iterator[Built]:
    """Log groups that ECS task definitions write to (awslogs-group), with RetentionInDays."""
    for template in project.templates:
        ctx = _prod_context(template, project)
        used = repr([td.properties.get("ContainerDefinitions")
                     for td in template.of_type("AWS::ECS::TaskDefinition")])
        for group in template.of_type("AWS::Logs::LogGroup"):
            if f"'Ref': '{group.logical_id}'" in used:
                yield Built(template.path, group.property_line("RetentionInDays"), group.logical_id,
                            cfn_value(template, group, ctx, "RetentionInDays", None), ctx.name, "loggroup")


def alarms(project) -> list[Built]:
    found = [Built(t.path, r.line, r.logical_id, r, None, "alarm")
             for t in project.templates for r in t.of_type("AWS::CloudWatch::Alarm")]
    found += [Built(tf.path, b.line, b.address, b, None, "alarm")
              for tf in project.terraform for b in tf.resources("aws_cloudwatch_metric_alarm")]
    return found


def alarms_with_actions(project) -> list[Built]:
    result = []
    for item in alarms(project):
        body = item.value
        actions = body.properties.get("AlarmActions") if hasattr(body, "properties") else body.get("alarm_actions")
        if actions:
            result.append(item)
    return result
