"""CST002: design documents without a cost estimate."""

from __future__ import annotations

from typing import Iterable

from sre_agent.docfacts.extract import is_readme
from sre_agent.models import FileKind, Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext

SECTION_WORDS = ("コスト", "費用", "見積", "試算", "Cost", "cost")
COLUMN_WORDS = ("月額", "費用", "コスト", "単価", "Monthly", "Cost")


class NoCostEstimate(Rule):
    """
    ## What it does
    Looks through the design documents for a cost estimate: a section titled コスト / 費用 /
    見積 / 試算 with a table, or any table with a 月額 / 費用 / コスト column. Reports the
    project when there is none. Applies only when the review includes design documents.

    ## Why is this bad
    Without an estimate nobody can tell whether the design fits the budget in the 企画書, and
    the first invoice is the first cost review — usually after a NAT gateway per AZ and a
    Multi-AZ database have doubled it.

    ## Example
    A 基本設計書 with 可用性・監視・ネットワークの章 but no 「コスト見積」.

    ## Use instead
    ```markdown
    ## 8. コスト見積
    | リソース | スペック | 月額費用 | 根拠 |
    |---|---|---|---|
    | RDS PostgreSQL | db.t4g.medium マルチAZ | $134 | 東京リージョン 2026-10 時点 |
    | **合計** | | **$412** | |
    ```

    ## References
    - https://docs.aws.amazon.com/wellarchitected/latest/cost-optimization-pillar/welcome.html
    """

    id = "SRE-CST-002"
    name = "no-cost-estimate"
    perspective = Perspective.COST
    severity = Severity.WARNING
    title_ja = "コスト試算がない"
    title_en = "No cost estimate"
    passed_ja = "コスト試算あり"
    passed_en = "A cost estimate exists"
    fix_ja = "設計書にコスト見積の章（リソース・スペック・月額・根拠と合計行、リージョンと時点）を追加する"
    fix_en = "Add a cost estimate section (resource, spec, monthly cost, basis, a total row, region and date)"

    def _design_docs(self, ctx: RuleContext) -> list:
        return [d for d in ctx.project.documents if d.kind is FileKind.DESIGN_DOC]

    def _estimates(self, ctx: RuleContext) -> list[str]:
        found = []
        for document in self._design_docs(ctx):
            for section, table in document.doc.tables():
                titled = any(word in section.title for word in SECTION_WORDS)
                if titled or table.column(*COLUMN_WORDS) is not None:
                    found.append(f"{document.path}:{table.line}")
        return found

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        docs = [d for d in self._design_docs(ctx) if not is_readme(d.path)]  # a README is no 設計書
        if docs and not self._estimates(ctx):
            yield self.finding(ctx, file=None, line=None, message=ctx.text(
                f"設計書 {len(docs)} 件のどこにもコスト見積の表がない",
                f"none of the {len(docs)} design documents has a cost table"))

    def coverage(self, ctx: RuleContext) -> str | None:
        estimates = self._estimates(ctx)
        return ", ".join(estimates[:3]) if estimates else None
