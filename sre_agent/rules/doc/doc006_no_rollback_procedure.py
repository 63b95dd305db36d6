"""DOC006: no rollback procedure in the runbooks / README."""

from __future__ import annotations

from typing import Iterable

from sre_agent.docfacts import facts_of
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext


class NoRollbackProcedure(Rule):
    """
    ## What it does
    Looks for a rollback procedure in the documents (runbooks, READMEs, design documents): a
    section titled ロールバック / 切り戻し / rollback with content (steps, commands or a table).
    A mention in a table cell (「ロールバック手順で戻す」) pointing to a procedure that does not
    exist does not count. Applies when the review includes documents; deep mode only.

    ## Why is this bad
    A bad release is the most common outage, and the slowest to fix when the way back is
    improvised at 2 a.m.: which tag, which parameters, whether the database was migrated, who
    approves. The 要件定義書's 「30 分以内に前回リリースへ戻せること」 is only true if it is written.

    ## Example
    デプロイ手順書 with 通常リリース and 緊急リリース, and no way back.

    ## Use instead
    ```markdown
    ## ロールバック手順
    1. 戻し先のリリースタグを確認する（`git tag --list 'release/prd/*'`）
    2. `./scripts/rollback.sh prd compute release/prd/20250110-1` で Change Set を作成・確認・実行
    3. ALB のターゲットと アラームが正常に戻ったことを確認する
    ```

    ## References
    - https://docs.aws.amazon.com/wellarchitected/latest/reliability-pillar/rel_tracking_change_management_planned_changemgmt.html
    - standards/cloudformation.md「デプロイ」
    """

    id = "SRE-DOC-006"
    name = "no-rollback-procedure"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "ロールバック手順がない"
    title_en = "No rollback procedure"
    passed_ja = "ロールバック手順あり"
    passed_en = "A rollback procedure exists"
    fix_ja = "デプロイ手順書にロールバック手順（戻し先の確認、実行コマンド、確認項目、承認者）を追加する"
    fix_en = "Add a rollback procedure to the runbook (target release, commands, checks, approver)"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        facts = facts_of(ctx.project)
        if ctx.mode == "light" or not facts.design_doc_count:
            return
        if not facts.rollback_procedures:
            yield self.finding(ctx, file=None, line=None, message=ctx.text(
                f"文書 {facts.design_doc_count} 件のどこにもロールバック（切り戻し）手順の章がない",
                f"none of the {facts.design_doc_count} documents has a rollback procedure section"))

    def coverage(self, ctx: RuleContext) -> str | None:
        found = facts_of(ctx.project).rollback_procedures
        return ", ".join(str(w) for w in found[:3]) if found and ctx.mode != "light" else None
