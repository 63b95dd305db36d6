"""MAZ007: a load-balanced service whose health check is left to defaults."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN, CfnEvaluator, EnvContext, as_number
from sre_agent.rules._resources import cfn_refs, tf_get, tf_refs
from sre_agent.rules.base import Rule, RuleContext

NO_PATH_PROTOCOLS = {"TCP", "UDP", "TCP_UDP", "TLS", "GENEVE"}


def _cfn_time_to_unhealthy(evaluator: CfnEvaluator, template, refs: set[str]) -> float | None:
    """Interval × unhealthy threshold of the service's target group (ALB defaults 30 s × 2)."""
    for group_id in sorted(refs & set(template.resources)):
        group = template.resources[group_id]
        if group.type != "AWS::ElasticLoadBalancingV2::TargetGroup":
            continue
        interval = as_number(evaluator.value(group.properties.get("HealthCheckIntervalSeconds", 30)))
        threshold = as_number(evaluator.value(group.properties.get("UnhealthyThresholdCount", 2)))
        if isinstance(interval, (int, float)) and isinstance(threshold, (int, float)):
            return float(interval * threshold)
    return None


class HealthCheckIncomplete(Rule):
    """
    ## What it does
    For every ECS service attached to a load balancer (`LoadBalancers` / `load_balancer` block):
    reports the service when `HealthCheckGracePeriodSeconds` / `health_check_grace_period_seconds`
    is missing or 0, and reports each HTTP(S) target group it uses
    (`AWS::ElasticLoadBalancingV2::TargetGroup`, `aws_lb_target_group`) that does not set the
    health check path explicitly (`HealthCheckPath`, `health_check { path }`). Target groups with
    a TCP/UDP/TLS protocol or health check protocol (NLB) have no path and are exempt.

    ## Why is this bad
    Without a grace period a task that takes 60 s to boot (JVM, migrations) is killed by the
    ALB health check before it is ready: the deploy loops, the circuit breaker rolls back, or the
    service flaps. Without an explicit path the check hits `/`, which may redirect to a login
    page (302 = unhealthy) or return 200 while the database is down, so broken tasks keep traffic.

    ## Example
    ```yaml
    TargetGroup:
      Type: AWS::ElasticLoadBalancingV2::TargetGroup
      Properties:
        Protocol: HTTP
    Service:
      Type: AWS::ECS::Service
      Properties:
        LoadBalancers:
          - TargetGroupArn: !Ref TargetGroup
    ```

    ## Use instead
    ```yaml
        HealthCheckPath: /actuator/health    # on the target group
        HealthCheckGracePeriodSeconds: 90     # on the service
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-healthcheck.html
    - standards/cloudformation.md §4 可用性
    - standards/terraform.md §4 可用性とデータ保護
    """

    id = "SRE-MAZ-007"
    name = "load-balanced-service-without-health-check"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.WARNING
    title_ja = "ヘルスチェックのパス / 猶予期間が未設定"
    title_en = "Health check path or grace period not set"
    passed_ja = "ロードバランサー配下のサービスにヘルスチェックパスと猶予期間あり"
    passed_en = "Load-balanced services set a health check path and grace period"
    fix_ja = "サービスに HealthCheckGracePeriodSeconds、ターゲットグループに HealthCheckPath を明示する"
    fix_en = "Set HealthCheckGracePeriodSeconds on the service and HealthCheckPath on the target group"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for template in ctx.project.templates:
            evaluator = CfnEvaluator(template, EnvContext(None, {}))
            reported: set[str] = set()
            for service in template.of_type("AWS::ECS::Service"):
                lbs = service.properties.get("LoadBalancers")
                if not lbs:
                    continue
                grace = service.properties.get("HealthCheckGracePeriodSeconds")
                value = as_number(evaluator.value(grace)) if grace is not None else 0
                if value is not UNKNOWN and value <= 0:
                    yield self._no_grace(ctx, template.path, service.property_line(
                        "HealthCheckGracePeriodSeconds"), service.logical_id,
                        _cfn_time_to_unhealthy(evaluator, template, cfn_refs(lbs)))
                for group_id in sorted(cfn_refs(lbs) & set(template.resources)):
                    group = template.resources[group_id]
                    props = group.properties
                    if group.type != "AWS::ElasticLoadBalancingV2::TargetGroup" or group_id in reported:
                        continue
                    protocols = {str(props.get("Protocol", "")).upper(), str(props.get("HealthCheckProtocol", "")).upper()}
                    if protocols & NO_PATH_PROTOCOLS or props.get("HealthCheckPath"):
                        continue
                    reported.add(group_id)
                    yield self._no_path(ctx, template.path, group.line, group_id, service.logical_id)
        reported_tf: set[str] = set()
        groups = {b.address: (tf, b) for tf in ctx.project.terraform for b in tf.resources("aws_lb_target_group")}
        for tf in ctx.project.terraform:
            for service in tf.resources("aws_ecs_service"):
                lbs = service.body.get("load_balancer")
                if not lbs:
                    continue
                grace = service.get("health_check_grace_period_seconds", 0)
                value = as_number(grace) if not (isinstance(grace, str) and "${" in grace) else UNKNOWN
                if value is not UNKNOWN and value <= 0:
                    yield self._no_grace(ctx, tf.path, service.attribute_line(
                        "health_check_grace_period_seconds"), service.address)
                for address, _ in tf_refs(lbs):
                    if address not in groups or address in reported_tf:
                        continue
                    group_tf, group = groups[address]
                    check = group.body.get("health_check")
                    protocols = {str(group.get("protocol", "")).upper(), str(tf_get(check, "protocol", "")).upper()}
                    if protocols & NO_PATH_PROTOCOLS or tf_get(check, "path"):
                        continue
                    reported_tf.add(address)
                    yield self._no_path(ctx, group_tf.path, group.line, address, service.address)

    def _no_grace(self, ctx: RuleContext, path: str, line: int, resource: str,
                  seconds: float | None = None) -> Finding:
        """Says how long a booting task has before the target group calls it unhealthy, when
        the target group is in the same template (defaults: 30 s × 2)."""
        if seconds is not None:
            when_ja = f"起動から約 {seconds:g} 秒以内にヘルスチェックへ応答できないタスク"
            when_en = f"a task that cannot answer the health check within about {seconds:g} s of starting"
        else:
            when_ja, when_en = "ヘルスチェックの判定までに起動が終わらないタスク", "a task still booting when checked"
        return self.finding(
            ctx, file=path, line=line, resource=resource,
            remediation=ctx.text("サービスに HealthCheckGracePeriodSeconds を起動にかかる時間より長く設定する（例: 60〜120 秒）",
                                 "Set HealthCheckGracePeriodSeconds on the service above the time a task needs to "
                                 "start (e.g. 60-120 s)"),
            message=ctx.text(f"ロードバランサー配下の ECS サービス `{resource}` にヘルスチェック猶予期間がない。"
                             f"{when_ja}は unhealthy として停止される（JVM やマイグレーションで起動が遅いとデプロイが収束しない）",
                             f"Load-balanced ECS service `{resource}` has no health check grace period: "
                             f"{when_en} is stopped as unhealthy (a slow start — JVM, migrations — keeps the "
                             "deploy from converging)"))

    def _no_path(self, ctx: RuleContext, path: str, line: int, resource: str, service: str) -> Finding:
        return self.finding(
            ctx, file=path, line=line, resource=resource,
            message=ctx.text(f"`{service}` のターゲットグループ `{resource}` にヘルスチェックパスの指定がない（既定の `/` を確認）",
                             f"Target group `{resource}` of `{service}` sets no health check path (defaults to `/`)"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates for s in t.of_type("AWS::ECS::Service")
                    if s.properties.get("LoadBalancers"))
        count += sum(1 for tf in ctx.project.terraform for s in tf.resources("aws_ecs_service")
                     if s.body.get("load_balancer"))
        return ctx.text(f"ロードバランサー配下の ECS サービス {count} 件を確認",
                        f"{count} load-balanced ECS services checked") if count else None
