"""DOC002: the documents claim redundancy for a component that the code builds single-AZ."""

from __future__ import annotations

from typing import Iterable

from sre_agent.docfacts import RedundancyClaim, facts_of
from sre_agent.docfacts.built import Built, aurora_clusters, ecs_services, elasticache_groups, nat_gateways, rds_attribute
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN, as_bool, as_number
from sre_agent.rules.base import Rule, RuleContext

COMPONENT_NAMES = {"rds": ("RDS", "RDS"), "ecs": ("ECS サービス", "ECS service"),
                   "nat": ("NAT Gateway", "NAT gateway"), "elasticache": ("ElastiCache", "ElastiCache")}


def single_az_resources(project, component: str) -> list[tuple[Built, str, str]]:
    """Resources of the component that production builds without redundancy, with why (ja, en)."""
    found: list[tuple[Built, str, str]] = []
    if component == "rds":
        for item in rds_attribute(project, "MultiAZ", "multi_az", default=False):
            value = as_bool(item.value)
            if value is not UNKNOWN and not value:
                found.append((item, "MultiAZ が false", "MultiAZ is false"))
        for cluster in aurora_clusters(project):
            if cluster.value == 1:
                found.append((cluster, "クラスターのインスタンスが 1 台（リーダーなし）",
                              "the cluster has a single instance (no reader to fail over to)"))
    elif component == "ecs":
        for counts in ecs_services(project):
            item = counts.minimum or counts.desired
            value = as_number(item.value)
            if value is not UNKNOWN and value < 2:
                field = "MinCapacity" if counts.minimum else "DesiredCount"
                found.append((item, f"{field} が {value:g}", f"{field} is {value:g}"))
    elif component == "nat":
        nats = nat_gateways(project)
        counted = [as_number(n.value) for n in nats]
        if len(nats) == 1 and counted[0] is not UNKNOWN and counted[0] < 2:
            found.append((nats[0], "NAT Gateway が 1 台のみ", "only one NAT gateway is built"))
    elif component == "elasticache":
        for item in elasticache_groups(project):
            value = as_bool(item.value)
            if value is not UNKNOWN and not value:
                found.append((item, "自動フェイルオーバーが無効", "automatic failover is off"))
    return found


class RedundancyClaimSingleAz(Rule):
    """
    ## What it does
    Collects the redundancy the design documents claim per component — rows of a
    `| コンポーネント | 冗長化方式 |` table saying マルチAZ / 2AZ / 冗長化 / AZ ごとに 1 台 / 最小2タスク,
    and parameter-sheet rows `| マルチAZ | 有効 |` — and checks what the code builds in
    production: RDS `MultiAZ` (or an Aurora cluster with a single instance), the ECS service's
    `DesiredCount` / auto-scaling `MinCapacity`, the number of NAT gateways, ElastiCache automatic
    failover. The finding points at the resource and names the document line that makes the claim.
    Deep mode only (it spans documents and code).

    ## Why is this bad
    Everyone who read the design believes the system survives an AZ failure; the first AZ
    outage proves otherwise, with the RTO and the 稼働率 in the 要件定義書 already promised.

    ## Example
    `04_可用性設計.md`: `| RDS for PostgreSQL | マルチAZ（同期スタンバイ） |`, while `prd.json`
    has `"MultiAZ": "false"`.

    ## Use instead
    Build what the document promises (`MultiAZ: true` in prd), or correct the document and the
    稼働率 / RTO that depend on it.

    ## References
    - https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZ.html
    - https://docs.aws.amazon.com/wellarchitected/latest/reliability-pillar/use-fault-isolation-to-protect-your-workload.html
    """

    id = "SRE-DOC-002"
    name = "redundancy-claim-built-single-az"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.ERROR
    title_ja = "設計書は冗長化と記載、コードはシングルAZ"
    title_en = "Documents claim redundancy, code builds single-AZ"
    passed_ja = "設計書の冗長化の記載とコードが一致"
    passed_en = "Redundancy claimed in the documents is built"
    fix_ja = "設計書どおりにコードを直す（本番の MultiAZ: true、最小2タスク、AZ ごとの NAT）か、設計書と稼働率・RTO を訂正する"
    fix_en = "Build what the documents claim (MultiAZ true in prod, at least 2 tasks, one NAT per AZ) or correct the documents"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        if ctx.mode == "light":
            return
        claims: dict[str, list[RedundancyClaim]] = {}
        for claim in facts_of(ctx.project).redundancy:
            claims.setdefault(claim.component, []).append(claim)
        for component, said in claims.items():
            for item, why_ja, why_en in single_az_resources(ctx.project, component):
                where = ", ".join(str(c.where) for c in said[:3])
                name_ja, name_en = COMPONENT_NAMES[component]
                env = item.environment or "prod"
                yield self.finding(
                    ctx, file=item.file, line=item.line, resource=item.resource, environment=env,
                    message=ctx.text(
                        f"{where} で {name_ja} を冗長構成（「{said[0].text.split(' | ')[1] if ' | ' in said[0].text else said[0].text}」）"
                        f"と記載しているが、`{item.resource}` は {env} 環境で {why_ja}",
                        f"{where} claims a redundant {name_en}, but `{item.resource}` in {env}: {why_en}"),
                )

    def coverage(self, ctx: RuleContext) -> str | None:
        if ctx.mode == "light":
            return None
        claims = facts_of(ctx.project).redundancy
        components = sorted({c.component for c in claims if c.component in COMPONENT_NAMES})
        if not components or not (ctx.project.templates or ctx.project.terraform):
            return None
        return f"冗長化の記載 {len(claims)} 件（{', '.join(components)}）をコードと照合"
