"""MAZ002: every subnet of a tier placed in the same Availability Zone."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._resources import (
    cfn_tags, describe_az, subnet_az, subnet_tier, tf_subnet_azs, tf_tier,
)
from sre_agent.rules.base import Rule, RuleContext

TIER_JA = {"public": "パブリック", "private": "プライベート", "data": "データ"}


class SubnetsInOneAz(Rule):
    """
    ## What it does
    Groups the subnets of each template (`AWS::EC2::Subnet`) or Terraform project (`aws_subnet`)
    by tier — public, private or data, inferred from the logical id / resource name, the `Name`
    tag, or `MapPublicIpOnLaunch: true` — and reports a tier with two or more subnets that all sit
    in one AZ: the same `!Select [n, !GetAZs '']` index, the same literal AZ (or parameter default),
    or in Terraform the same `availability_zone` expression (a `count` subnet whose AZ uses
    `count.index` counts as spread). Subnets whose AZ or tier cannot be determined are left out.
    A tier with a single subnet is not reported (small utility VPCs are common).

    ## Why is this bad
    The template *looks* redundant — two subnets, two NAT routes, an RDS subnet group — but a
    copy-pasted `!Select [0, ...]` puts everything in one AZ. An AZ outage then takes down the
    whole tier, and RDS Multi-AZ or a second ECS task cannot fail over anywhere.

    ## Example
    ```yaml
    PrivateSubnet1:
      Type: AWS::EC2::Subnet
      Properties:
        AvailabilityZone: !Select [0, !GetAZs '']
    PrivateSubnet2:
      Type: AWS::EC2::Subnet
      Properties:
        AvailabilityZone: !Select [0, !GetAZs '']
    ```

    ## Use instead
    ```yaml
    PrivateSubnet2:
      Properties:
        AvailabilityZone: !Select [1, !GetAZs '']
    ```

    ## References
    - https://docs.aws.amazon.com/vpc/latest/userguide/configure-subnets.html
    - standards/cloudformation.md §4 可用性
    - standards/terraform.md §4 可用性とデータ保護
    """

    id = "SRE-MAZ-002"
    name = "subnets-of-tier-in-one-az"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.ERROR
    accepted_by_design = "single-az"
    title_ja = "同じ層のサブネットが 1 つの AZ に集中"
    title_en = "All subnets of a tier are in one AZ"
    passed_ja = "各層のサブネットは複数 AZ に分散"
    passed_en = "Each subnet tier spans several AZs"
    fix_ja = "同じ層のサブネットを別々の AZ に置く（例: `!Select [0, !GetAZs '']` と `!Select [1, !GetAZs '']`）"
    fix_en = "Place the subnets of a tier in different AZs (e.g. `!Select [0, ...]` and `!Select [1, ...]`)"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for template in ctx.project.templates:
            tiers: dict[str, list[tuple]] = {}
            for subnet in template.of_type("AWS::EC2::Subnet"):
                az = subnet_az(template, subnet)
                tier = subnet_tier(subnet.logical_id, cfn_tags(subnet).get("Name"),
                                   subnet.properties.get("MapPublicIpOnLaunch"))
                if az is not None and tier is not None:
                    tiers.setdefault(tier, []).append((subnet, az))
            for tier, members in tiers.items():
                if len(members) >= 2 and len({az for _, az in members}) == 1:
                    second, az = members[1]
                    names = ", ".join(f"`{s.logical_id}`" for s, _ in members)
                    yield self.finding(
                        ctx, file=template.path, resource=second.logical_id,
                        line=second.property_line("AvailabilityZone"),
                        message=ctx.text(
                            f"{TIER_JA[tier]}層のサブネット {names} がすべて同じ AZ（{describe_az(az)}）にある",
                            f"All {tier} subnets {names} are in the same AZ ({describe_az(az)})"))
        tiers_tf: dict[str, list[tuple]] = {}
        for tf in ctx.project.terraform:
            for subnet in tf.resources("aws_subnet"):
                azs, tier = tf_subnet_azs(subnet), tf_tier(subnet)
                if azs is not None and tier is not None:
                    tiers_tf.setdefault(tier, []).append((tf, subnet, azs))
        for tier, members in tiers_tf.items():
            azs = [az for _, _, subnet_azs in members for az in subnet_azs]
            if len(azs) >= 2 and len(set(azs)) == 1:
                tf, subnet, _ = members[1] if len(members) > 1 else members[0]
                names = ", ".join(f"`{s.address}`" for _, s, _ in members)
                yield self.finding(
                    ctx, file=tf.path, resource=subnet.address,
                    line=subnet.attribute_line("availability_zone"),
                    message=ctx.text(
                        f"{TIER_JA[tier]}層のサブネット {names} がすべて同じ AZ（{azs[0]}）にある",
                        f"All {tier} subnets {names} are in the same AZ ({azs[0]})"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates for _ in t.of_type("AWS::EC2::Subnet"))
        count += sum(1 for tf in ctx.project.terraform for _ in tf.resources("aws_subnet"))
        return ctx.text(f"サブネット {count} 件の AZ を確認", f"{count} subnets checked") if count else None
