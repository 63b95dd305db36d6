"""DOC004: no SLO / SLI defined anywhere in the documents."""

from __future__ import annotations

from typing import Iterable

from sre_agent.docfacts import facts_of
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext


class NoSlo(Rule):
    """
    ## What it does
    Looks for a service level objective in the design documents: a section titled SLO / SLI /
    サービスレベル, or a table with 指標 and 目標値 columns (the role's `| 指標 | 目標値 | 測定方法 |`),
    or an エラー率 / 成功率 row in a 目標値 table. Reports the project when there is none.
    Applies when the review includes design documents; deep mode only (in light mode the SLO may
    live in a file that was not given).

    ## Why is this bad
    Without an SLO the alarms have nothing to protect: thresholds are guessed, nobody can say
    whether this month's incidents used up the error budget, and release-versus-reliability
    decisions become opinions. A 稼働率 in the 要件定義書 is a promise; the SLO with its SLI and
    measurement method is how the team knows it is being kept.

    ## Example
    A 監視設計 with CPU and 5XX-count alarms, and no 可用性 / エラー率 / レイテンシ objective.

    ## Use instead
    ```markdown
    ## SLO / SLI
    | 指標 | 目標値 | 測定方法 |
    |---|---|---|
    | 可用性 | 99.9%（月間） | ALB RequestCount と HTTPCode_Target_5XX_Count から成功率 |
    | レスポンスタイム | 95%ile 500ms以内 | ALB TargetResponseTime p95 |
    ```

    ## References
    - https://sre.google/sre-book/service-level-objectives/
    - https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-ServiceLevelObjectives.html
    """

    id = "SRE-DOC-004"
    name = "no-slo-defined"
    perspective = Perspective.MONITORING
    severity = Severity.WARNING
    title_ja = "SLO / SLI が定義されていない"
    title_en = "No SLO / SLI defined"
    passed_ja = "SLO / SLI を定義済み"
    passed_en = "SLO / SLI are defined"
    fix_ja = "監視設計に SLO / SLI の表（指標・目標値・測定方法）とエラーバジェットの運用を追加する"
    fix_en = "Add an SLO / SLI table (indicator, objective, measurement) and an error-budget policy"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        facts = facts_of(ctx.project)
        if ctx.mode == "light" or not facts.design_doc_count:
            return
        if not facts.slo_sections and not facts.slos:
            yield self.finding(ctx, file=None, line=None, message=ctx.text(
                f"設計書 {facts.design_doc_count} 件のどこにも SLO / SLI（指標・目標値・測定方法）の定義がない",
                f"none of the {facts.design_doc_count} design documents defines an SLO / SLI"))

    def coverage(self, ctx: RuleContext) -> str | None:
        facts = facts_of(ctx.project)
        if ctx.mode == "light":
            return None
        found = [str(w) for w in facts.slo_sections] or [str(s.where) for s in facts.slos]
        return ", ".join(found[:3]) if found else None
