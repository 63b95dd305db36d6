"""The facts design documents state, each with the file and line it was read from."""

from __future__ import annotations

from dataclasses import dataclass, field

from sre_agent.docfacts.values import Duration, Money


@dataclass(frozen=True)
class Where:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class AvailabilityFact:
    """目標稼働率 99.9%（月間43.2分以内）: the target and the downtime written next to it."""

    where: Where
    percent: float
    downtime: Duration | None
    text: str


@dataclass(frozen=True)
class ErrorBudgetFact:
    """エラーバジェット: 月間 43.2分（0.1%）."""

    where: Where
    percent: float  # the budget itself (0.1), not the target (99.9)
    downtime: Duration
    text: str


@dataclass(frozen=True)
class SloFact:
    """A row of an SLO / SLI table, or a 目標値 row naming an error rate or availability."""

    where: Where
    name: str
    target: str
    error_rate_percent: float | None  # エラー率 0.1%以下 → 0.1; 成功率 99.9% → 0.1


@dataclass(frozen=True)
class RecoveryFact:
    """RTO / RPO with the resource and backup method written on the same row."""

    where: Where
    kind: str  # "RTO" | "RPO"
    minutes: float | None
    context: str  # the whole row / line, for resource and backup-frequency words
    section: str = ""  # the headings above it (「シナリオ2: ECS タスク全停止」)


@dataclass(frozen=True)
class RedundancyClaim:
    where: Where
    component: str  # rds | ecs | nat | elasticache | alb
    text: str


@dataclass(frozen=True)
class SizeFact:
    """A size or count from a parameter sheet: key is one of SIZE_KEYS."""

    where: Where
    key: str
    value: str | float
    environment: str  # canonical environment; prod when the sheet does not say
    text: str


@dataclass(frozen=True)
class MonitoringRow:
    where: Where
    metric: str
    threshold: str
    period: str
    target: str
    tool: str = ""  # the ツール column (CloudWatch, Datadog, …) when the table has one
    environment: str = "prod"  # from an 環境 column or the section title (ステージング → stg)
    name: str = ""  # the アラーム名 cell when the table has one next to the metric column
    section: str = ""  # the section path (`RDS メトリクス`, `API Gateway メトリクス`): names the service
    level: str = ""  # critical | warning | info: the row's 重要度 column, or `SNS通知（Info）` in its action


@dataclass(frozen=True)
class CostLine:
    where: Where
    label: str
    amounts: tuple[Money | None, ...]  # one per money column
    text: str = ""  # the row's other cells (サービス, スペック, 備考): what the line prices


@dataclass(frozen=True)
class CostTable:
    where: Where
    title: str
    columns: tuple[str, ...]  # header names of the money columns
    periods: tuple[str, ...]  # "month" | "year" per money column
    rows: tuple[CostLine, ...]
    subtotals: tuple[CostLine, ...]
    total: CostLine | None
    environment: str | None  # canonical environment named by the section or table, if any
    region: str | None  # region stated in the document (ap-northeast-1, us-east-1), if any
    date_stated: bool
    delta: bool = False  # every amount written `+$15.90`: what a change adds, not an estimate
    titles: str = ""  # the section path (`月額コスト見積もり（月20時間稼働） / 総コスト一覧`)
    rate_stated: bool = False  # a cell converts its own amount (`約640ドル ≒ 約99千円`)


@dataclass(frozen=True)
class BudgetFact:
    where: Where
    amount: Money
    text: str


@dataclass(frozen=True)
class ChecklistClaim:
    """A ticked compliance item: `- [x] マルチAZ配置` or a ✅ / 済 cell in a check table."""

    where: Where
    text: str


@dataclass(frozen=True)
class DeployClaim:
    """A deploy strategy the documents promise: blue_green | rolling | canary | zero_downtime."""

    where: Where
    strategy: str
    text: str


@dataclass
class DocFacts:
    availability: list[AvailabilityFact] = field(default_factory=list)
    error_budgets: list[ErrorBudgetFact] = field(default_factory=list)
    slos: list[SloFact] = field(default_factory=list)
    slo_sections: list[Where] = field(default_factory=list)
    recovery: list[RecoveryFact] = field(default_factory=list)
    redundancy: list[RedundancyClaim] = field(default_factory=list)
    # Where the documents decide the system runs in one AZ on purpose (「冗長化 | なし | POCのため
    # 単一AZ」, 「ADR-001: 単一AZ構成の採用」): a documented risk acceptance, not an oversight.
    single_az_decisions: list[Where] = field(default_factory=list)
    # 「タスク数 | 1（固定） | Auto Scalingなし」: the design fixes the task count on purpose.
    fixed_capacity_decisions: list[Where] = field(default_factory=list)
    # Parameter-sheet rows that set a property on purpose, with the reason (`| DeletionProtection
    # | false | POCでは無効（削除容易） |`): (where, property name folded, value folded, reason).
    deliberate_settings: list[tuple[Where, str, str, str]] = field(default_factory=list)
    sizes: list[SizeFact] = field(default_factory=list)
    monitoring: list[MonitoringRow] = field(default_factory=list)
    cost_tables: list[CostTable] = field(default_factory=list)
    budgets: list[BudgetFact] = field(default_factory=list)
    checklist: list[ChecklistClaim] = field(default_factory=list)
    deploy_claims: list[DeployClaim] = field(default_factory=list)
    postmortem_templates: list[Where] = field(default_factory=list)
    # A section that outlines an incident report (インシデントレポート: 影響範囲, 原因, 再発防止策 …)
    # without being called a postmortem template: where, and the postmortem parts it lacks.
    incident_report_outlines: list[tuple[Where, tuple[str, ...]]] = field(default_factory=list)
    rollback_procedures: list[Where] = field(default_factory=list)
    regions: list[tuple[str, Where]] = field(default_factory=list)
    design_doc_count: int = 0
