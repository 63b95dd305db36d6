"""The report's `graph TB`, generated from the delivered templates.

Subnets are grouped by tier (public: routed to an internet gateway; data: used by a DB or
cache subnet group; app: the other private ones) and by AZ (`!Select [n, !GetAZs '']`).
Resources are drawn in the subnets they are placed in, one node per AZ; edges come from the
security-group rules that let one resource reach another (with the port), from the load
balancer to its service, and from the alarms to their topics. Nothing is drawn from a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sre_agent.resolve import as_bool
from sre_agent.task.delivered import Delivered, Ref, shown

TIERS = (("public", "Public Subnet"), ("app", "Private Subnet - App"), ("data", "Private Subnet - Data"),
         ("shared", "Private Subnet - App / Data"))
LABELS = {"AWS::ElasticLoadBalancingV2::LoadBalancer": "ALB", "AWS::ECS::Service": "ECS Fargate",
          "AWS::RDS::DBInstance": "RDS", "AWS::RDS::DBCluster": "Aurora",
          "AWS::ElastiCache::ReplicationGroup": "ElastiCache", "AWS::EC2::NatGateway": "NAT Gateway"}


@dataclass
class Subnet:
    ref: Ref
    az: str
    cidr: str
    tier: str = "app"


@dataclass
class Placed:
    ref: Ref
    label: str
    subnets: list[Ref]
    security_groups: set[Ref] = field(default_factory=set)
    standby: bool = False   # RDS multi-AZ: primary in the first AZ, standby in the second


def _node_id(ref: Ref, suffix: str = "") -> str:
    return re.sub(r"\W", "_", f"{ref.logical_id}{suffix}")


def _az(node: Any) -> str:
    if isinstance(node, dict) and "Fn::Select" in node:
        arg = node["Fn::Select"]
        if isinstance(arg, list) and arg and str(arg[0]).isdigit():
            return f"AZ{int(arg[0]) + 1}"
    if isinstance(node, str) and node:
        return node.rsplit("-", 1)[-1]
    return "AZ?"


def _refs(delivered: Delivered, template, node: Any) -> list[Ref]:
    items = node if isinstance(node, list) else [node] if node is not None else []
    return [ref for item in items if (ref := delivered.target(template, item)) is not None]


def mermaid(delivered: Delivered) -> str:
    subnets = _subnets(delivered)
    placed = _placed(delivered, subnets)
    for item in placed:   # one private tier holding both the service and the database
        if item.label.startswith("ECS"):
            for ref in item.subnets:
                if subnets[ref].tier == "data":
                    subnets[ref].tier = "shared"
    lines = ["graph TB", '    Internet(("Internet"))']
    nodes: dict[Ref, list[tuple[str, str]]] = {}   # resource → [(node id, az)]
    vpcs = [r for t in delivered.project.templates for r in t.of_type("AWS::EC2::VPC")]
    lines.append(f'    subgraph VPC["VPC {_vpc_cidr(delivered)}"]' if vpcs else '    subgraph VPC["VPC"]')
    for tier, title in TIERS:
        in_tier = [s for s in subnets.values() if s.tier == tier]
        if not in_tier:
            continue
        lines.append(f'        subgraph {tier}["{title}"]')
        for subnet in sorted(in_tier, key=lambda s: s.az):
            lines.append(f'            subgraph {_node_id(subnet.ref)}["{subnet.az} {subnet.cidr}"]')
            for item in placed:
                if subnet.ref not in item.subnets:
                    continue
                index = item.subnets.index(subnet.ref)
                if item.standby and index > 1:
                    continue
                role = "" if not item.standby else ("（プライマリ）" if index == 0 else "（スタンバイ）")
                node = _node_id(item.ref, f"_{subnet.az}")
                lines.append(f'                {node}["{item.label}{role}"]')
                nodes.setdefault(item.ref, []).append((node, subnet.az))
            lines.append("            end")
        lines.append("        end")
    lines.append("    end")
    lines += _edges(delivered, placed, nodes)
    return "\n".join(lines) + "\n"


def _vpc_cidr(delivered: Delivered) -> str:
    for template in delivered.project.templates:
        for vpc in template.of_type("AWS::EC2::VPC"):
            return shown(delivered.evaluator(template).value(vpc.properties.get("CidrBlock")), "")
    return ""


def _subnets(delivered: Delivered) -> dict[Ref, Subnet]:
    found: dict[Ref, Subnet] = {}
    public_tables: set[Ref] = set()
    for template in delivered.project.templates:
        for route in template.of_type("AWS::EC2::Route"):
            gateway = delivered.target(template, route.properties.get("GatewayId"))
            if gateway and delivered.resource(gateway)[1].type == "AWS::EC2::InternetGateway":
                table = delivered.target(template, route.properties.get("RouteTableId"))
                if table:
                    public_tables.add(table)
    for template in delivered.project.templates:
        ev = delivered.evaluator(template)
        for res in template.of_type("AWS::EC2::Subnet"):
            ref = Ref(template.path, res.logical_id)
            found[ref] = Subnet(ref, _az(res.properties.get("AvailabilityZone")),
                                shown(ev.value(res.properties.get("CidrBlock")), ""))
        for assoc in template.of_type("AWS::EC2::SubnetRouteTableAssociation"):
            subnet = delivered.target(template, assoc.properties.get("SubnetId"))
            table = delivered.target(template, assoc.properties.get("RouteTableId"))
            if subnet in found and table in public_tables:
                found[subnet].tier = "public"
    for template in delivered.project.templates:
        for group in template.of_type("AWS::RDS::DBSubnetGroup", "AWS::ElastiCache::SubnetGroup"):
            for ref in _refs(delivered, template, group.properties.get("SubnetIds")):
                if ref in found and found[ref].tier != "public":
                    found[ref].tier = "data"
    return found


def _placed(delivered: Delivered, subnets: dict[Ref, Subnet]) -> list[Placed]:
    placed: list[Placed] = []
    for template in delivered.project.templates:
        ev = delivered.evaluator(template)
        for res in template.resources.values():
            props, ref = res.properties, Ref(template.path, res.logical_id)
            label = LABELS.get(res.type)
            if label is None:
                continue
            name = shown(ev.value(props.get("Name") or props.get("ServiceName")
                                  or props.get("DBInstanceIdentifier")), "")
            shown_label = f"{label} {name}".strip() if res.type != "AWS::EC2::NatGateway" else label
            if res.type == "AWS::ElasticLoadBalancingV2::LoadBalancer":
                placed.append(Placed(ref, shown_label, _refs(delivered, template, props.get("Subnets")),
                                     set(_refs(delivered, template, props.get("SecurityGroups")))))
            elif res.type == "AWS::ECS::Service":
                vpc = (props.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}
                placed.append(Placed(ref, shown_label, _refs(delivered, template, vpc.get("Subnets")),
                                     set(_refs(delivered, template, vpc.get("SecurityGroups")))))
            elif res.type == "AWS::EC2::NatGateway":
                placed.append(Placed(ref, shown_label, _refs(delivered, template, props.get("SubnetId"))))
            elif res.type in ("AWS::RDS::DBInstance", "AWS::ElastiCache::ReplicationGroup"):
                group_key = "DBSubnetGroupName" if res.type.startswith("AWS::RDS") else "CacheSubnetGroupName"
                group = delivered.target(template, props.get(group_key))
                members = []
                if group is not None:
                    owner, group_res = delivered.resource(group)
                    members = _refs(delivered, owner, group_res.properties.get("SubnetIds"))
                multi = as_bool(ev.value(props.get("MultiAZ", props.get("MultiAZEnabled", False))))
                sgs = props.get("VPCSecurityGroups") or props.get("SecurityGroupIds")
                extra = "（マルチAZ）" if multi is True and res.type != "AWS::RDS::DBInstance" else ""
                placed.append(Placed(ref, shown_label + extra, members if multi is True else members[:1],
                                     set(_refs(delivered, template, sgs)),
                                     standby=multi is True and res.type == "AWS::RDS::DBInstance"))
    for item in placed:
        item.subnets = sorted((s for s in item.subnets if s in subnets), key=lambda s: subnets[s].az)
    return placed


def _ingress(delivered: Delivered) -> list[tuple[Ref, Ref, str]]:
    """(source SG, destination SG, port) for every rule that names a source security group."""
    rules: list[tuple[Ref, Ref, str]] = []
    for template in delivered.project.templates:
        ev = delivered.evaluator(template)
        for res in template.of_type("AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress"):
            entries = res.properties.get("SecurityGroupIngress") if res.type == "AWS::EC2::SecurityGroup" \
                else [res.properties]
            dest = Ref(template.path, res.logical_id) if res.type == "AWS::EC2::SecurityGroup" \
                else delivered.target(template, res.properties.get("GroupId"))
            for entry in entries if isinstance(entries, list) else []:
                source = delivered.target(template, entry.get("SourceSecurityGroupId")) \
                    if isinstance(entry, dict) else None
                if source and dest:
                    rules.append((source, dest, shown(ev.value(entry.get("FromPort")), "")))
    return rules


def _edges(delivered: Delivered, placed: list[Placed], nodes: dict[Ref, list[tuple[str, str]]]) -> list[str]:
    lines: list[str] = []
    by_ref = {item.ref: item for item in placed}
    for item in placed:
        if item.label.startswith("ALB"):
            _, res = delivered.resource(item.ref)
            if res.properties.get("Scheme", "internet-facing") != "internal":
                lines += [f"    Internet -->|HTTPS| {node}" for node, _ in nodes.get(item.ref, [])]
    drawn: set[tuple[Ref, Ref]] = set()
    for source_sg, dest_sg, port in _ingress(delivered):
        for source in (p for p in placed if source_sg in p.security_groups):
            for dest in (p for p in placed if dest_sg in p.security_groups):
                if (source.ref, dest.ref) in drawn:
                    continue
                drawn.add((source.ref, dest.ref))
                lines += _pairs(nodes, source.ref, dest.ref, by_ref, f"|{port}|" if port else "")
    for item in placed:
        if item.label.startswith("NAT"):
            lines += [f"    {node} -.-> Internet" for node, _ in nodes.get(item.ref, [])]
        if item.standby and len(nodes.get(item.ref, [])) == 2:
            primary, standby = nodes[item.ref]
            lines.append(f"    {primary[0]} -. 同期レプリケーション .-> {standby[0]}")
    lines += _alarm_edges(delivered)
    return lines


def _pairs(nodes, source: Ref, dest: Ref, by_ref: dict[Ref, Placed], label: str) -> list[str]:
    """Same-AZ pairs; a multi-AZ database is reached at its primary only."""
    out = []
    targets = nodes.get(dest, [])
    if by_ref[dest].standby:
        targets = targets[:1]
    for node, az in nodes.get(source, []):
        for target, target_az in targets:
            if by_ref[dest].standby or az == target_az or len(targets) == 1:
                out.append(f"    {node} -->{label} {target}")
    return out


def _alarm_edges(delivered: Delivered) -> list[str]:
    if not delivered.alarms:
        return []
    lines = [f'    Alarms["CloudWatch アラーム × {len(delivered.alarms)}"]']
    for index, topic in enumerate(delivered.topics, start=1):
        lines.append(f'    Topic{index}["SNS {topic.name}"]')
        lines.append(f"    Alarms --> Topic{index}")
        for sub_index, subscription in enumerate(topic.subscriptions, start=1):
            lines.append(f'    Sub{index}_{sub_index}["通知: {subscription}"]')
            lines.append(f"    Topic{index} --> Sub{index}_{sub_index}")
    return lines


__all__ = ["mermaid"]
