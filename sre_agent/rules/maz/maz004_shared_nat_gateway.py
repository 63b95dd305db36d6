"""MAZ004: one NAT gateway carries the outbound traffic of private subnets in several AZs."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import EnvContext, cfn_contexts
from sre_agent.rules._resources import (
    DEFAULT_ROUTE, cfn_exists, cfn_refs, cfn_target, describe_az, subnet_az, tf_blocks,
    tf_count, tf_get, tf_refs, tf_subnet_azs,
)
from sre_agent.rules.base import Rule, RuleContext


class SharedNatGateway(Rule):
    """
    ## What it does
    Follows the default routes (`0.0.0.0/0`) of route tables to NAT gateways and the route
    tables to their subnets (`AWS::EC2::SubnetRouteTableAssociation`): a NAT gateway that is the
    default route of subnets in two or more different AZs is reported. `NatGatewayId: !If
    [IsProduction, ...]` is evaluated for production (a deliberate single NAT in dev/stg is not
    reported). In Terraform, `aws_route_table` inline `route` blocks and
    `aws_route` resources are followed through `aws_route_table_association`; a NAT referenced
    with `[count.index]` is one per AZ and is not reported.

    ## Why is this bad
    A NAT gateway lives in one AZ. When that AZ fails, the private subnets in the *other* AZs
    lose outbound access too (ECR image pulls, Secrets Manager, external APIs), so the AZ that
    survived cannot start tasks either: a single-AZ failure becomes a full outage.

    ## Example
    ```yaml
    PrivateDefaultRoute2:
      Type: AWS::EC2::Route
      Properties:
        RouteTableId: !Ref PrivateRouteTable2
        DestinationCidrBlock: 0.0.0.0/0
        NatGatewayId: !Ref NatGateway1   # the NAT in AZ a also serves AZ c
    ```

    ## Use instead
    One NAT gateway per AZ, each private route table pointing at the NAT of its own AZ
    (`NatGatewayId: !Ref NatGateway2`). For a cost-saving single NAT in dev/stg, make it explicit
    with `!If [IsProduction, !Ref NatGateway2, !Ref NatGateway1]`.

    ## References
    - https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html
    - standards/cloudformation.md §4 可用性
    - standards/terraform.md §4 可用性とデータ保護
    """

    id = "SRE-MAZ-004"
    name = "nat-gateway-shared-across-azs"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.WARNING
    accepted_by_design = "single-az"
    title_ja = "NAT ゲートウェイが複数 AZ で共用"
    title_en = "One NAT gateway serves several AZs"
    passed_ja = "NAT ゲートウェイは AZ ごとに配置"
    passed_en = "One NAT gateway per AZ"
    fix_ja = "AZ ごとに NAT ゲートウェイを置き、各 AZ のプライベートルートテーブルから同じ AZ の NAT を向ける"
    fix_en = "Create one NAT gateway per AZ and route each AZ's private route table to its own NAT"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for template in ctx.project.templates:
            nats = {n.logical_id: n for n in template.of_type("AWS::EC2::NatGateway")}
            if not nats:
                continue
            reported: set[str] = set()
            for env in cfn_contexts(template, ctx.project, prod_only=True):
                for nat_id, azs in self._nat_azs(template, env).items():
                    if len(azs) < 2 or nat_id in reported or nat_id not in nats:
                        continue
                    reported.add(nat_id)
                    listed = ", ".join(sorted(describe_az(a) for a in azs))
                    yield self.finding(
                        ctx, file=template.path, line=nats[nat_id].line, resource=nat_id,
                        environment=env.name,
                        message=ctx.text(
                            f"NAT ゲートウェイ `{nat_id}` が {env.label} 環境で {len(azs)} つの AZ（{listed}）の"
                            "サブネットのデフォルトルートになっている",
                            f"NAT gateway `{nat_id}` is the default route of subnets in {len(azs)} AZs "
                            f"({listed}) in {env.label}"))
        yield from self._terraform(ctx)

    @staticmethod
    def _nat_azs(template, env: EnvContext) -> dict[str, set]:
        """NAT logical id -> AZ keys of the subnets whose default route goes to it."""
        table_nat: dict[str, str] = {}
        for route in template.of_type("AWS::EC2::Route"):
            props = route.properties
            if props.get("DestinationCidrBlock") != DEFAULT_ROUTE or not cfn_exists(template, route, env):
                continue
            nat = cfn_target(template, env, props.get("NatGatewayId"))
            for table in cfn_refs(props.get("RouteTableId")):
                if nat:
                    table_nat[table] = nat
        result: dict[str, set] = {}
        for assoc in template.of_type("AWS::EC2::SubnetRouteTableAssociation"):
            tables = cfn_refs(assoc.properties.get("RouteTableId")) & set(table_nat)
            subnets = cfn_refs(assoc.properties.get("SubnetId"))
            for table in tables:
                for subnet_id in subnets:
                    subnet = template.resources.get(subnet_id)
                    az = subnet_az(template, subnet) if subnet else None
                    if az is not None:
                        result.setdefault(table_nat[table], set()).add(az)
        return result

    def _terraform(self, ctx: RuleContext) -> Iterable[Finding]:
        files = ctx.project.terraform
        nats = {b.address: (tf, b) for tf, b in tf_blocks(files, "aws_nat_gateway") if tf_count(b) == 1}
        if not nats:
            return
        table_nat: dict[str, str] = {}
        for _, table in tf_blocks(files, "aws_route_table"):
            routes = table.body.get("route") or []
            for route in routes if isinstance(routes, list) else []:
                if tf_get(route, "cidr_block") == DEFAULT_ROUTE:
                    for address, index in tf_refs(tf_get(route, "nat_gateway_id")):
                        if address in nats and not index:
                            table_nat[table.address] = address
        for _, route in tf_blocks(files, "aws_route"):
            if route.get("destination_cidr_block") == DEFAULT_ROUTE:
                nat = [a for a, index in tf_refs(route.get("nat_gateway_id")) if a in nats and not index]
                for table, _ in tf_refs(route.get("route_table_id")):
                    if nat:
                        table_nat[table] = nat[0]
        subnets = {b.address: b for _, b in tf_blocks(files, "aws_subnet")}
        served: dict[str, set] = {}
        for _, assoc in tf_blocks(files, "aws_route_table_association"):
            tables = [a for a, _ in tf_refs(assoc.get("route_table_id")) if a in table_nat]
            for table in tables:
                for address, index in tf_refs(assoc.get("subnet_id")):
                    azs = tf_subnet_azs(subnets[address]) if address in subnets else None
                    if azs is None:
                        continue
                    if index.isdigit() and int(index) < len(azs):
                        azs = [azs[int(index)]]
                    elif index not in ("", "count.index", "*"):
                        continue
                    served.setdefault(table_nat[table], set()).update(azs)
        for nat, azs in served.items():
            if len(azs) >= 2:
                tf, block = nats[nat]
                yield self.finding(
                    ctx, file=tf.path, line=block.line, resource=block.address,
                    message=ctx.text(
                        f"NAT ゲートウェイ `{nat}` が {len(azs)} つの AZ のサブネットのデフォルトルートになっている",
                        f"NAT gateway `{nat}` is the default route of subnets in {len(azs)} AZs"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates for _ in t.of_type("AWS::EC2::NatGateway"))
        count += sum(1 for tf in ctx.project.terraform for _ in tf.resources("aws_nat_gateway"))
        return ctx.text(f"NAT ゲートウェイ {count} 件の経路を確認", f"{count} NAT gateways checked") if count else None
