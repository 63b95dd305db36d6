"""MAZ003: a production ECS service or Auto Scaling group that runs fewer than two copies."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN, as_number, cfn_contexts, tf_value, tf_contexts
from sre_agent.rules._resources import (
    cfn_ecs_scaling, cfn_exists, cfn_number, env_phrase, tf_ecs_scaling,
)
from sre_agent.rules.base import Rule, RuleContext


class SingleTaskInProd(Rule):
    """
    ## What it does
    Reports, for production, an ECS service (`AWS::ECS::Service`, `aws_ecs_service`) whose task
    floor is below 2, and an Auto Scaling group (`AWS::AutoScaling::AutoScalingGroup`,
    `aws_autoscaling_group`) whose `MinSize` is below 2. The task floor of a service is the
    `MinCapacity` of the Application Auto Scaling target that scales it when there is one (auto
    scaling may lower the count to it), else its `DesiredCount` (1 when absent). Values from
    parameters are judged by the production parameter file, else the default; `!If` is evaluated
    for production. DAEMON services and unresolvable values are not reported.

    ## Why is this bad
    With one task, every deploy, task crash, Fargate host retirement or AZ outage is a full
    outage until a replacement starts and passes health checks (one to several minutes).

    ## Example
    ```yaml
    Service:
      Type: AWS::ECS::Service
      Properties:
        DesiredCount: 1
    ```

    ## Use instead
    ```yaml
        DesiredCount: !If [IsProduction, 2, 1]
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-auto-scaling.html
    - standards/cloudformation.md §4 可用性
    - standards/terraform.md §4 可用性とデータ保護
    """

    id = "SRE-MAZ-003"
    name = "single-task-in-prod"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.WARNING
    accepted_by_design = "single-az"
    title_ja = "本番のタスク/インスタンスが 1 台"
    title_en = "Fewer than 2 tasks/instances in production"
    passed_ja = "本番の ECS サービス / ASG は 2 台以上"
    passed_en = "Production ECS services / ASGs run at least 2 copies"
    fix_ja = "本番の DesiredCount（スケーリング対象なら MinCapacity）/ MinSize を 2 以上にする"
    fix_en = "Set DesiredCount (MinCapacity when auto scaled) / MinSize to 2 or more in production"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        project = ctx.project
        for template in project.templates:
            targets, _, _ = cfn_ecs_scaling(template)
            checks = []
            for service in template.of_type("AWS::ECS::Service"):
                if service.properties.get("SchedulingStrategy") == "DAEMON":
                    continue
                target = targets.get(service.logical_id)
                if target is not None:
                    checks.append((service, target, "MinCapacity", None))
                else:
                    checks.append((service, service, "DesiredCount", 1))
            for asg in template.of_type("AWS::AutoScaling::AutoScalingGroup"):
                checks.append((asg, asg, "MinSize", None))
            for owner, holder, prop, default in checks:
                for env in cfn_contexts(template, project, prod_only=True):
                    if not cfn_exists(template, owner, env):
                        continue
                    raw = holder.properties.get(prop, default)
                    value = cfn_number(template, env, raw) if raw is not None else UNKNOWN
                    if value is UNKNOWN or value >= 2:
                        continue
                    yield self.finding(
                        ctx, file=template.path, line=holder.property_line(prop),
                        resource=holder.logical_id, environment=env.name,
                        message=ctx.text(
                            f"`{owner.logical_id}` の {prop} が {env_phrase(ctx.text, env)}で {value:g}（2 未満）",
                            f"`{owner.logical_id}` has {prop} {value:g} in {env_phrase(ctx.text, env)} (below 2)"))
                    break
        yield from self._terraform(ctx)

    def _terraform(self, ctx: RuleContext) -> Iterable[Finding]:
        project = ctx.project
        targets, _, _ = tf_ecs_scaling(project.terraform)
        checks = []
        for tf in project.terraform:
            for service in tf.resources("aws_ecs_service"):
                if service.get("scheduling_strategy") == "DAEMON":
                    continue
                if service.address in targets:
                    owner_tf, target = targets[service.address]
                    checks.append((service, owner_tf, target, "min_capacity", None))
                else:
                    checks.append((service, tf, service, "desired_count", 0))
            for asg in tf.resources("aws_autoscaling_group"):
                checks.append((asg, tf, asg, "min_size", None))
        for owner, tf, holder, attr, default in checks:
            for env in tf_contexts(tf, project, prod_only=True):
                raw = tf_value(holder, attr, env.values) if attr in holder.body else default
                value = as_number(raw) if raw is not None else UNKNOWN
                if value is UNKNOWN or value >= 2:
                    continue
                yield self.finding(
                    ctx, file=tf.path, line=holder.attribute_line(attr), resource=holder.address,
                    environment=env.name,
                    message=ctx.text(
                        f"`{owner.address}` の {attr} が {env_phrase(ctx.text, env)}で {value:g}（2 未満）",
                        f"`{owner.address}` has {attr} {value:g} in {env_phrase(ctx.text, env)} (below 2)"))
                break

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates
                    for _ in t.of_type("AWS::ECS::Service", "AWS::AutoScaling::AutoScalingGroup"))
        count += sum(1 for tf in ctx.project.terraform
                     for _ in tf.resources("aws_ecs_service", "aws_autoscaling_group"))
        return ctx.text(f"ECS サービス / ASG {count} 件の本番台数を確認",
                        f"{count} ECS services / ASGs checked for production") if count else None
