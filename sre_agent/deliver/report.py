"""The `# インフラレポート: <プロジェクト名>` of shared/spec/formats.md section 2.

Headings are the contract with the PM agent: they live in `templates/task/report.md.j2`,
character for character. Everything else is read back from the delivered files and the
self-review: the diagram and alarms from the templates, costs from the embedded price table,
section 7 from the review's findings. This module shapes those into rows; it decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sre_agent.cost import Estimate, price_table
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
        return cost_note(self.estimate, sum(1 for a in self.alarms if a.composite))


def cost_note(estimate: Estimate, composite_alarms: int = 0) -> str:
    """Region, date and basis of the price table, and what the figure leaves out."""
    table = price_table()
    region = table["regions"].get(estimate.region, {}).get("name", estimate.region)
    left_out = [*estimate.unpriced]
    if composite_alarms:
        left_out.append(f"複合アラーム {composite_alarms} 件（価格表にない）")
    text = (f"月額は組み込み価格表（{estimate.region} {region}、{estimate.as_of} 時点の"
            f"オンデマンド定価、{table['hours_per_month']} 時間/月、税・割引・無料枠なし）による"
            f"本番（{estimate.environment or '既定値'}）の試算。")
    if left_out:
        text += " 含まないもの: " + "、".join(dict.fromkeys(left_out)) + "。"
    return text


def write_cost_estimate(project: str, estimate: Estimate, out_dir: Path, composite_alarms: int = 0) -> Path:
    """The estimate as a delivered document, before the self-review: the CST rules then check
    its table and total against the templates, so the figure in the report is verified."""
    target = out_dir / COST_ESTIMATE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render("cost_estimate.md.j2", project=project, estimate=estimate,
                             rows=cost_rows(estimate), note=cost_note(estimate, composite_alarms)),
                      encoding="utf-8")
    return target


def cost_rows(estimate: Estimate) -> list[CostRow]:
    """One row per category, in the price table's order of the estimate."""
    rows: dict[str, CostRow] = {}
    for item in estimate.items:
        name, reason = CATEGORY.get(item.category, (item.category, ""))
        row = rows.setdefault(item.category, CostRow(name, "", reason, 0.0))
        row.monthly += item.monthly
        specs = row.spec.split(" / ") if row.spec else []
        if item.category == "cloudwatch":
            count = sum(1 for i in estimate.items if i.category == "cloudwatch")
            row.spec = f"標準アラーム × {count}"
        elif item.spec not in specs and len(specs) < 3:
            row.spec = " / ".join([*specs, item.spec])
    for category in ("nat", "ipv4"):
        if category in rows:
            count = sum(1 for i in estimate.items if i.category == category)
            if category == "nat":
                rows[category].spec = f"NAT Gateway × {count}（時間料金のみ）"
    return list(rows.values())


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


__all__ = ["write_cost_estimate", "COST_ESTIMATE", "ReportData", "CostRow", "ScriptSection", "LoadScenario", "cost_rows", "script_header",
           "render_report", "write_report", "REPORT"]
