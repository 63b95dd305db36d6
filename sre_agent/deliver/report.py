"""The `# インフラレポート: <プロジェクト名>` of shared/spec/formats.md section 2.

Headings are the contract with the PM agent: they live in `templates/task/report.md.j2`,
character for character. Everything else is read back from the delivered files and the
self-review: the diagram and alarms from the templates, costs from the embedded price table,
section 7 from the review's findings. This module shapes those into rows; it decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sre_agent.cost import USD_JPY, Estimate, price_table
from sre_agent.deliver.runbook import SloRow, render
from sre_agent.task.delivered import AlarmRow, Delivered, TemplateSummary, TopicRow
from sre_agent.task.evidence import CheckResult, compact_sources

REPORT = "infra-report.md"
COST_ESTIMATE = "docs/コスト見積.md"

CATEGORY = {  # cost category → (リソース, 理由)
    "fargate": ("ECS Fargate", "サーバーレスでホスト管理が不要。複数 AZ に分散し Auto Scaling"),
    "rds": ("RDS", "マネージド DB。マルチAZ の同期スタンバイで自動フェイルオーバー"),
    "aurora": ("Aurora", "マネージド DB クラスター"),
    "elasticache": ("ElastiCache", "セッション・キャッシュ。マルチAZ で自動フェイルオーバー"),
    "alb": ("ALB", "複数 AZ の負荷分散と HTTPS 終端、ヘルスチェック"),
    "nlb": ("NLB", "負荷分散"),
    "nat": ("NAT Gateway", "プライベートサブネットの外向き通信。AZ ごとに配置し片 AZ 障害に耐える"),
    "ipv4": ("パブリック IPv4", "ALB と NAT Gateway のアドレス（2024-02 から有料）"),
    "cloudwatch": ("CloudWatch アラーム", "SLO とリソースの監視"),
    "kms": ("KMS キー", "通知トピック等の暗号化"),
    "secrets": ("Secrets Manager", "DB 認証情報の自動生成・管理"),
    "ebs": ("EBS", "ブロックストレージ"),
}


@dataclass
class CostRow:
    resource: str
    spec: str
    reason: str
    monthly: float


@dataclass
class ScriptSection:
    key: str
    path: str
    header: str        # the script's own header comment: usage and behaviour


@dataclass
class LoadScenario:
    name: str
    users: str
    target: str
    source: str


@dataclass
class ReportData:
    project: str
    task_title: str
    delivered: Delivered
    diagram: str
    estimate: Estimate | None
    slos: list[SloRow]
    stacks: list[tuple[str, TemplateSummary, dict[str, str]]]   # (stack, template, env → params)
    scripts: list[ScriptSection]
    runbook_sections: str
    runbook_path: str
    section6: str
    section7: dict[str, list[CheckResult]]
    constraints: list[CheckResult]
    problems: list[str]
    pm_report: str
    review_line: str
    template_findings: dict[str, int] = field(default_factory=dict)
    usage_charges: list[str] = field(default_factory=list)
    design_estimate: DesignEstimate | None = None
    discrepancies: list[str] = field(default_factory=list)   # design vs delivery, for the architect

    @property
    def slo_sources(self) -> str:
        return compact_sources([row.source for row in self.slos])

    @property
    def alarms(self) -> list[AlarmRow]:
        return self.delivered.alarms

    @property
    def topics(self) -> list[TopicRow]:
        return self.delivered.topics

    @property
    def cost_rows(self) -> list[CostRow]:
        return cost_rows(self.estimate) if self.estimate else []

    @property
    def cost_note(self) -> str:
        if self.estimate is None:
            return "価格を出せるリソースがない"
        return cost_note(self.estimate, sum(1 for a in self.alarms if a.composite), self.usage_charges,
                         self.design_estimate)


def cost_note(estimate: Estimate, composite_alarms: int = 0, usage: list[str] | None = None,
              design: DesignEstimate | None = None) -> str:
    """Region, date and basis of the price table, what the figure leaves out (`usage`: the
    delivered resources' usage-based charges) and how it compares with the design's estimate."""
    table = price_table()
    region = table["regions"].get(estimate.region, {}).get("name", estimate.region)
    left_out = [*estimate.unpriced, *(usage or [])]
    if composite_alarms:
        left_out.append(f"複合アラーム {composite_alarms} 件（価格表にない）")
    text = (f"月額は組み込み価格表（{estimate.region} {region}、{estimate.as_of} 時点の"
            f"オンデマンド定価、{table['hours_per_month']} 時間/月、税・割引・無料枠なし）による"
            f"本番（{estimate.environment or '既定値'}）の試算。")
    if left_out:
        text += " 含まないもの: " + "、".join(dict.fromkeys(left_out)) + "。"
    if design is not None:
        text += "\n\n" + reconciliation(estimate, design)
    return text


def write_cost_estimate(project: str, estimate: Estimate, out_dir: Path, composite_alarms: int = 0,
                        usage: list[str] | None = None, design: DesignEstimate | None = None) -> Path:
    """The estimate as a delivered document, before the self-review: the CST rules then check
    its table and total against the templates, so the figure in the report is verified."""
    target = out_dir / COST_ESTIMATE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render("cost_estimate.md.j2", project=project, estimate=estimate,
                             rows=cost_rows(estimate),
                             note=cost_note(estimate, composite_alarms, usage, design)),
                      encoding="utf-8")
    return target


def usage_charges(templates: list, region: str) -> list[str]:
    """The usage-based charges of the delivered resources that the estimate cannot size:
    named, with the table's unit price where it has one, so a reader knows what to add."""
    prices = price_table()["regions"].get(region, {})
    found: list[str] = []
    for template in templates:
        for cluster in template.of_type("AWS::ECS::Cluster"):
            settings = cluster.properties.get("ClusterSettings") or []
            if any(isinstance(x, dict) and x.get("Name") == "containerInsights"
                   and str(x.get("Value")).lower() in ("enabled", "enhanced") for x in settings):
                found.append("Container Insights のメトリクス（価格表にない）")
        for db in template.of_type("AWS::RDS::DBInstance"):
            if str(db.properties.get("MonitoringInterval", 0)) not in ("0", ""):
                found.append("RDS 拡張モニタリング（CloudWatch Logs の取り込み。価格表にない）")
        if any(True for _ in template.of_type("AWS::EC2::NatGateway")):
            rate = (prices.get("nat_gateway") or {}).get("gb_processed")
            found.append("NAT Gateway のデータ処理" + (f"（${rate}/GB、量は不明）" if rate else ""))
        if any(True for _ in template.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")):
            found.append("インターネットへのデータ転送（アウト。価格表にない）")
            found.append("ALB の 1 LCU を超える処理量")
        images = [c.get("Image") for task in template.of_type("AWS::ECS::TaskDefinition")
                  for c in task.properties.get("ContainerDefinitions") or [] if isinstance(c, dict)]
        if any(True for _ in template.of_type("AWS::ECR::Repository")) or any(".dkr.ecr." in str(i) for i in images):
            found.append("ECR のイメージ保存量（価格表にない）")
    return list(dict.fromkeys(found))


def cost_rows(estimate: Estimate) -> list[CostRow]:
    """One row per category, in the price table's order of the estimate."""
    rows: dict[str, CostRow] = {}
    for item in estimate.items:
        name, reason = CATEGORY.get(item.category, (item.category, ""))
        row = rows.setdefault(item.category, CostRow(name, "", reason, 0.0))
        row.monthly += item.monthly
        specs = row.spec.split(" / ") if row.spec else []
        if item.category == "cloudwatch":
            alarms = [i for i in estimate.items if i.category == "cloudwatch"]
            metrics = round(sum(i.quantity for i in alarms))   # billed per metric an alarm reads
            row.spec = f"アラームのメトリクス {metrics} 件（{len(alarms)} アラーム）× ${alarms[0].unit_price:.2f}"
        elif item.spec not in specs and len(specs) < 3:
            row.spec = " / ".join([*specs, item.spec])
    if "nat" in rows:
        count = sum(1 for i in estimate.items if i.category == "nat")
        rows["nat"].spec = f"NAT Gateway × {count}（時間料金のみ）"
    if "ipv4" in rows:
        rows["ipv4"].spec = _addresses(estimate)
    return list(rows.values())


def _addresses(estimate: Estimate) -> str:
    """`パブリック IPv4 4 個（ALB 2 / Elastic IP 2）`: the number of addresses priced, by holder,
    from the billed IPv4-hours (a label that counts what the amount pays for)."""
    hours = price_table()["hours_per_month"]
    holders: dict[str, int] = {}
    for item in estimate.items:
        if item.category == "ipv4":
            holder = "Elastic IP" if item.spec.startswith("Elastic IP") else \
                (item.spec.split("（", 1)[1].rstrip("）") if "（" in item.spec else "その他")
            holder = "ALB" if "ALB" in holder.upper() or "LOAD" in holder.upper() else holder
            holders[holder] = holders.get(holder, 0) + round(item.quantity / hours)
    parts = " / ".join(f"{name} {count}" for name, count in holders.items())
    return f"パブリック IPv4 {sum(holders.values())} 個（{parts}）"


@dataclass
class DesignEstimate:
    """The design documents' own monthly total, to reconcile ours against."""

    amount: float
    currency: str         # JPY | USD
    text: str             # as written: ¥54,770
    source: str           # file:line


def reconciliation(estimate: Estimate, design: DesignEstimate | None) -> str:
    """One sentence: our total next to the design's, and the difference in the design's currency."""
    if design is None:
        return ""
    ours = estimate.total * (USD_JPY if design.currency == "JPY" else 1)
    difference = ours - design.amount
    if design.currency == "JPY":
        shown, delta = f"約 ¥{ours:,.0f}（1 USD = {USD_JPY:g} 円）", f"{difference:+,.0f} 円"
    else:
        shown, delta = f"${ours:,.2f}", f"{difference:+,.2f} USD"
    return (f"設計書の見積 {design.text}（{design.source}）との比較: この試算は {shown}、差は {delta}。"
            "この試算は納品したテンプレートの常時稼働分だけを価格表で数えたもの。設計書の見積にある"
            "従量分（上の「含まないもの」）や利用量の想定は含まないため、行ごとの差は出典の表と突き合わせる。")


def script_header(text: str) -> str:
    """The comment block under the shebang, without the `#` marks."""
    lines = text.splitlines()[1:] if text.startswith("#!") else text.splitlines()
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line[1:].removeprefix(" ").rstrip())
    return "\n".join(header).strip("\n")


def render_report(data: ReportData) -> str:
    return render("report.md.j2", r=data)


def write_report(data: ReportData, out_dir: Path) -> Path:
    target = out_dir / REPORT
    target.write_text(render_report(data), encoding="utf-8")
    return target


__all__ = ["write_cost_estimate", "usage_charges", "DesignEstimate", "reconciliation", "COST_ESTIMATE", "ReportData", "CostRow", "ScriptSection", "LoadScenario", "cost_rows", "script_header",
           "render_report", "write_report", "REPORT"]
