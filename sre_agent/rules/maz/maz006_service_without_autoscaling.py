"""MAZ006: an ECS service that cannot scale out under load."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._resources import cfn_ecs_scaling, tf_ecs_scaling
from sre_agent.rules.base import Rule, RuleContext


class ServiceWithoutAutoScaling(Rule):
    """
    ## What it does
    Reports an ECS service (`AWS::ECS::Service`, `aws_ecs_service`) that has no Application Auto
    Scaling target for `ecs:service:DesiredCount` whose `ResourceId` refers to the service
    (`!Sub service/${Cluster}/${Service.Name}`, a ResourceId ending with the service's own
    `ServiceName` text, `aws_ecs_service.app.name`), or whose target has
    no scaling policy (`ScalingTargetId: !Ref Target`, `resource_id =
    aws_appautoscaling_target.x.resource_id`). DAEMON services are exempt. When the project has
    an ECS scalable target whose service cannot be identified (a hard-coded or imported name),
    services are given the benefit of the doubt and not reported.

    ## Why is this bad
    A fixed task count is sized for an average day. A campaign, a batch from a partner or a
    retry storm saturates CPU, latency climbs and health checks start failing — the service falls
    over exactly when it is needed most, and someone has to raise DesiredCount by hand at night.

    ## Example
    ```yaml
    Service:
      Type: AWS::ECS::Service
      Properties:
        DesiredCount: 2
    # no AWS::ApplicationAutoScaling::ScalableTarget
    ```

    ## Use instead
    ```yaml
    ServiceScalableTarget:
      Type: AWS::ApplicationAutoScaling::ScalableTarget
      Properties:
        ServiceNamespace: ecs
        ScalableDimension: ecs:service:DesiredCount
        ResourceId: !Sub service/${Cluster}/${Service.Name}
        MinCapacity: 2
        MaxCapacity: 6
    ServiceCpuScalingPolicy:
      Type: AWS::ApplicationAutoScaling::ScalingPolicy
      Properties:
        PolicyType: TargetTrackingScaling
        ScalingTargetId: !Ref ServiceScalableTarget
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-auto-scaling.html
    - standards/cloudformation.md §4 可用性
    - standards/terraform.md §4 可用性とデータ保護
    """

    id = "SRE-MAZ-006"
    name = "ecs-service-without-autoscaling"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.WARNING
    accepted_by_design = "fixed-capacity"
    title_ja = "ECS サービスにオートスケーリングなし"
    title_en = "ECS service without auto scaling"
    passed_ja = "ECS サービスにオートスケーリング（ターゲットとポリシー）あり"
    passed_en = "ECS services have a scalable target and a scaling policy"
    fix_ja = "ScalableTarget（ecs:service:DesiredCount）とターゲット追跡の ScalingPolicy を追加する"
    fix_en = "Add a ScalableTarget (ecs:service:DesiredCount) and a target-tracking ScalingPolicy"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        project = ctx.project
        scans = [cfn_ecs_scaling(t) for t in project.templates]
        tf_scan = tf_ecs_scaling(project.terraform)
        if any(unattributed for _, _, unattributed in scans) or tf_scan[2]:
            return
        for template, (targets, with_policy, _) in zip(project.templates, scans):
            for service in template.of_type("AWS::ECS::Service"):
                if service.properties.get("SchedulingStrategy") == "DAEMON":
                    continue
                target = targets.get(service.logical_id)
                if target is None or target.logical_id not in with_policy:
                    yield self._report(ctx, template.path, service.line, service.logical_id,
                                       None if target is None else target.logical_id)
        targets_tf, with_policy_tf, _ = tf_scan
        for tf in project.terraform:
            for service in tf.resources("aws_ecs_service"):
                if service.get("scheduling_strategy") == "DAEMON":
                    continue
                entry = targets_tf.get(service.address)
                if entry is None or entry[1].address not in with_policy_tf:
                    yield self._report(ctx, tf.path, service.line, service.address,
                                       None if entry is None else entry[1].address)

    def _report(self, ctx: RuleContext, path: str, line: int, resource: str, target: str | None) -> Finding:
        if target is None:
            message = ctx.text(f"ECS サービス `{resource}` にスケーリング対象（ScalableTarget）がなく、タスク数が固定",
                               f"ECS service `{resource}` has no scalable target: its task count is fixed")
        else:
            message = ctx.text(f"ECS サービス `{resource}` のスケーリング対象 `{target}` にスケーリングポリシーがない",
                               f"The scalable target `{target}` of ECS service `{resource}` has no scaling policy")
        return self.finding(ctx, file=path, line=line, resource=resource, message=message)

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates for _ in t.of_type("AWS::ECS::Service"))
        count += sum(1 for tf in ctx.project.terraform for _ in tf.resources("aws_ecs_service"))
        return ctx.text(f"ECS サービス {count} 件のオートスケーリングを確認",
                        f"{count} ECS services checked for auto scaling") if count else None
