"""MAZ007 says how long a booting task has before its target group calls it unhealthy, from
the target group's own interval and threshold (ALB defaults 30 s × 2), and asks only for what
is missing."""

from __future__ import annotations

from pathlib import Path

from conftest import RULE_FIXTURES, write
from sre_agent.project import load_project
from sre_agent.rules.base import RuleContext, all_rules


def _findings(root: Path):
    rule = next(r for r in all_rules() if r.id == "SRE-MAZ-007")()
    return list(rule.check(RuleContext(load_project([root]))))


def test_defaults_give_a_minute_before_a_booting_task_is_stopped() -> None:
    (grace,) = [f for f in _findings(RULE_FIXTURES / "MAZ007" / "cfn-no-grace-no-path") if f.resource == "Service"]
    assert "起動から約 60 秒以内" in grace.message
    assert "HealthCheckPath" not in (grace.remediation or "")


def test_a_short_interval_is_read_from_the_target_group(tmp_path: Path) -> None:
    write(tmp_path, "ecs.yaml", """AWSTemplateFormatVersion: '2010-09-09'
Resources:
  TargetGroup:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      Protocol: HTTP
      Port: 8080
      VpcId: vpc-0a1b2c3d
      TargetType: ip
      HealthCheckPath: /healthz
      HealthCheckIntervalSeconds: 10
      UnhealthyThresholdCount: 2
  Service:
    Type: AWS::ECS::Service
    Properties:
      Cluster: shop-prd
      DesiredCount: 2
      LaunchType: FARGATE
      TaskDefinition: shop-api:12
      LoadBalancers:
        - ContainerName: api
          ContainerPort: 8080
          TargetGroupArn: !Ref TargetGroup
""")
    (grace,) = _findings(tmp_path)
    assert "起動から約 20 秒以内" in grace.message
