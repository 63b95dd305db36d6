"""CST004: the documents' cost estimate differs from our estimate of what the code builds."""

from __future__ import annotations

import re
from typing import Iterable

from sre_agent.cost import HOURS_PER_MONTH, USD_JPY, Estimate, estimate
from sre_agent.docfacts import CostTable, facts_of
from sre_agent.docfacts.extract import has
from sre_agent.docfacts.values import fold
from sre_agent.environments import is_prod
from sre_agent.models import FileKind, FileStatus, Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext

THRESHOLD = 0.30  # warn when the documents and the code differ by more than 30 %
CATEGORY_WORDS = (
    ("nat", ("nat",)),
    ("ipv4", ("ipv4", "elastic ip", "eip", "パブリックip")),
    ("elasticache", ("elasticache", "redis", "valkey", "キャッシュ")),
    ("aurora", ("aurora",)),
    ("rds", ("rds", "データベース", "db.", "postgresql", "mysql")),
    ("fargate", ("fargate", "ecs", "タスク", "コンテナ")),
    ("alb", ("alb", "ロードバランサ", "elb")),
    ("nlb", ("nlb",)),
    ("cloudwatch", ("cloudwatch", "アラーム", "監視")),
    ("kms", ("kms",)),
    ("secrets", ("secrets manager", "シークレット")),
)
NAMES = {"nat": "NAT Gateway", "ipv4": "パブリック IPv4", "elasticache": "ElastiCache",
         "aurora": "Aurora", "rds": "RDS", "fargate": "ECS Fargate", "alb": "ALB", "nlb": "NLB",
         "cloudwatch": "CloudWatch", "kms": "KMS", "secrets": "Secrets Manager", "ebs": "EBS"}


def category_of(label: str) -> str | None:
    for name, words in CATEGORY_WORDS:
        if has(label, words):
            return name
    return None


def categories_of(table: CostTable) -> set[str]:
    """The kinds of resource a cost table prices, read from each row (label, サービス, スペック)."""
    found = set()
    for row in table.rows:
        category = category_of(row.label) or category_of(row.text)
        if category is not None:
            found.add(category)
    return found


def categories_in(text: str) -> set[str]:
    return {name for name, words in CATEGORY_WORDS if has(text, words)}


def is_environment_estimate(table: CostTable) -> bool:
    """A table that estimates an environment: rows for two kinds of resource or more. A breakdown of
    one component (vCPU / メモリ rows of `### ECS Fargate`, the items of `### CloudWatch`), what a
    change adds (`+$15.90`), or a business table (AWS利用料 + 保守工数) is not the estimate the code
    is compared with."""
    return not table.delta and len(categories_in(table.title)) != 1 and len(categories_of(table)) >= 2


def documented_estimate(ctx: RuleContext) -> CostTable | None:
    """The production monthly cost table with a 合計 (a table for another environment is skipped)."""
    tables = [t for t in facts_of(ctx.project).cost_tables
              if t.total is not None and t.periods and t.periods[0] == "month"
              and t.total.amounts[0] is not None and is_environment_estimate(t)]
    prod = [t for t in tables if t.environment is not None and is_prod(t.environment)]
    unnamed = [t for t in tables if t.environment is None]
    return (prod or unnamed or [None])[0]


# Resource types by cost category, to tell what a template we could not parse may build
BUILDERS = {
    "fargate": ("AWS::ECS::Service", "aws_ecs_service"),
    "rds": ("AWS::RDS::DBInstance", "aws_db_instance"),
    "aurora": ("AWS::RDS::DBCluster", "aws_rds_cluster"),
    "elasticache": ("AWS::ElastiCache::", "aws_elasticache_"),
    "alb": ("AWS::ElasticLoadBalancingV2::LoadBalancer", "aws_lb\"", "aws_alb\""),
    "nat": ("AWS::EC2::NatGateway", "aws_nat_gateway"),
}


def unreadable_categories(project) -> set[str]:
    """Cost categories that a CloudFormation / Terraform file we could not parse names: its
    services (`LaunchType: FARGATE`) exist even though the estimate cannot see them."""
    found: set[str] = set()
    for record in project.files:
        if record.status is not FileStatus.ERROR or record.kind not in (FileKind.CLOUDFORMATION,
                                                                         FileKind.TERRAFORM):
            continue
        text = project.texts.get(record.path, "")
        found |= {category for category, types in BUILDERS.items() if any(t in text for t in types)}
    return found


def yen(usd: float) -> str:
    return f"¥{usd * USD_JPY:,.0f}"


class EstimateDiffersFromCode(Rule):
    """
    ## What it does
    Estimates the production monthly cost from the templates and parameter files with the
    embedded, dated price table (`sre_agent/data/prices.json`: on-demand list prices for
    ap-northeast-1 and us-east-1, 730 hours a month): Fargate vCPU and GB hours per task,
    RDS / Aurora instance hours (Multi-AZ doubled) and storage GB-months, ElastiCache nodes,
    ALB / NLB hours with one LCU, NAT gateway hours, public IPv4 addresses, alarms, KMS keys and
    secrets. It compares the total with the documents' production cost table (the 合計 row) and
    warns when they differ by more than 30 %, naming the resources that make the difference: a
    NAT gateway nobody priced, multi-AZ hours not doubled, a region mixed up. Yen amounts are
    converted at 1 USD = 150 JPY. Usage charges (data transfer, NAT data processing, log
    ingestion) are not estimated. Deep mode only.

    ## Why is this bad
    The document's estimate is what the budget was approved against. When the code builds
    something else — a second NAT gateway, a Multi-AZ database priced single — the first
    invoice is the first honest estimate.

    ## Example
    A cost table with ECS, RDS and ALB rows and 合計 ¥24,650, while the templates also build two
    NAT gateways (2 × 730 h × $0.062 = $90.52, ¥13,578).

    ## Use instead
    Price every resource the templates create, per environment, with the region and the price
    date stated; recompute the table when the templates change.

    ## References
    - https://aws.amazon.com/pricing/
    - https://calculator.aws/
    """

    id = "SRE-CST-004"
    name = "cost-estimate-differs-from-code"
    perspective = Perspective.COST
    severity = Severity.WARNING
    title_ja = "設計書のコスト見積がコードからの試算と大きく違う"
    title_en = "The documented cost estimate differs from the code"
    passed_ja = "設計書のコスト見積はコードからの試算と 30% 以内で一致"
    passed_en = "The documented cost estimate is within 30% of the code"
    fix_ja = "テンプレートが作るリソースをすべて（環境・リージョン・価格時点を明記して）見積に計上し直す"
    fix_en = "Re-price every resource the templates create, stating environment, region and price date"

    def _compare(self, ctx: RuleContext) -> tuple[CostTable, Estimate, float, float] | None:
        if not (ctx.project.templates or ctx.project.terraform):
            return None
        table = documented_estimate(ctx)
        if table is None:
            return None
        hours = re.search(r"月\s*(\d+)\s*時間|(\d+)\s*(?:時間|h)\s*/\s*月", fold(table.titles or table.title))
        if hours and int(hours.group(1) or hours.group(2)) < HOURS_PER_MONTH:
            return None  # 「月20時間稼働」: a schedule the code does not show, not 730 hours
        regions = [r for r, _ in facts_of(ctx.project).regions]
        result = estimate(ctx.project, "prod", document_regions=regions)
        unknown = result.unpriced_categories | unreadable_categories(ctx.project)
        if not result.items or categories_of(table) & unknown:
            return None  # the code builds what the table prices, but we cannot price (or read) it
        total = table.total.amounts[0]
        documented_usd = total.amount / USD_JPY if total.currency == "JPY" else total.amount
        return table, result, documented_usd, result.total

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        if ctx.mode == "light":
            return
        compared = self._compare(ctx)
        if compared is None:
            return
        table, result, documented, built = compared
        if documented <= 0 or abs(built - documented) / documented <= THRESHOLD:
            return
        reasons_ja, reasons_en = self._reasons(table, result)
        if table.region and table.region != result.region:
            reasons_ja.insert(0, f"設計書は {table.region} の価格、コードのリージョンは {result.region}")
            reasons_en.insert(0, f"the document prices {table.region}, the code deploys to {result.region}")
        diff = (built - documented) / documented * 100
        total = table.total
        doc_ja = (f"${documented:,.2f}（{yen(documented)}）" if total.amounts[0].currency == "USD"
                  else f"{yen(documented)}（${documented:,.0f}）")
        yield self.finding(
            ctx, file=total.where.file, line=total.where.line, environment="prod",
            message=ctx.text(
                f"設計書の合計 {doc_ja} に対し、コードからの試算は {yen(built)}"
                f"（${built:,.2f}、{result.region}、{result.as_of} 時点の定価、{HOURS_PER_MONTH}h/月、"
                f"1 USD = {USD_JPY:g} JPY）で {diff:+.0f}%。差の主因: " + "; ".join(reasons_ja[:4]),
                f"documented total ${documented:,.0f} vs ${built:,.2f} estimated from the code "
                f"({result.region}, list prices as of {result.as_of}, {HOURS_PER_MONTH} h/month, "
                f"1 USD = {USD_JPY:g} JPY): {diff:+.0f}%. Main differences: " + "; ".join(reasons_en[:4])),
        )

    def _reasons(self, table: CostTable, result: Estimate) -> tuple[list[str], list[str]]:
        documented: dict[str, float] = {}
        for row in table.rows:
            amount = row.amounts[0]
            category = category_of(row.label) or category_of(row.text)
            if amount is None or category is None:
                continue
            usd = amount.amount / USD_JPY if amount.currency == "JPY" else amount.amount
            documented[category] = documented.get(category, 0.0) + usd
        built = result.by_category()
        gaps = []
        for category in set(documented) | set(built):
            doc, code = documented.get(category, 0.0), built.get(category, 0.0)
            gaps.append((abs(code - doc), category, doc, code))
        gaps.sort(reverse=True)
        reasons_ja, reasons_en = [], []
        for gap, category, doc, code in gaps:
            if gap < 5:  # under $5 a month is noise next to a 30 % difference
                continue
            items = [i for i in result.items if i.category == category]
            specs = ", ".join(f"`{i.resource}` {i.spec}" for i in items[:3])
            name = NAMES.get(category, category)
            if doc == 0:
                reasons_ja.append(f"{name} が見積にない（コード: {specs} = {yen(code)}）")
                reasons_en.append(f"{name} is not in the estimate (code: {specs} = ${code:,.2f})")
            elif code == 0:
                reasons_ja.append(f"{name} {yen(doc)} を見積に計上しているがコードにない")
                reasons_en.append(f"{name} ${doc:,.0f} is estimated but not built")
            else:
                doubled = category == "rds" and any("マルチAZ" in i.spec for i in items) and 0.4 <= doc / code <= 0.6
                hint_ja = "。マルチAZ の料金が 2 倍になっていない" if doubled else ""
                hint_en = "; Multi-AZ hours not doubled" if doubled else ""
                reasons_ja.append(f"{name}: 設計書 {yen(doc)}、コード {yen(code)}（{specs}）{hint_ja}")
                reasons_en.append(f"{name}: documented ${doc:,.0f}, code ${code:,.2f} ({specs}){hint_en}")
        return reasons_ja, reasons_en

    def coverage(self, ctx: RuleContext) -> str | None:
        if ctx.mode == "light":
            return None
        compared = self._compare(ctx)
        if compared is None:
            return None
        table, result, documented, built = compared
        return (f"{table.total.where}: 設計書 {yen(documented)} ⇔ コードからの試算 {yen(built)}"
                f"（${built:,.2f}、{result.region}、{result.as_of} 時点）")
