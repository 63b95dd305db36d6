"""DEP016: what shellcheck finds in deploy scripts."""

from __future__ import annotations

from typing import Iterable

from sre_agent.analyzers.shellcheck import shellcheck_started
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext

SEVERITY = {"error": Severity.ERROR, "warning": Severity.WARNING,
            "info": Severity.INFO, "style": Severity.INFO}


class ShellcheckFindings(Rule):
    """
    ## What it does
    Runs shellcheck on every shell script of the project (never executing them) and reports
    each comment with its SC code: errors as errors, warnings as warnings, info and style as
    info.

    ## Why is this bad
    Deploy scripts fail in the worst moment: an unquoted `$STACK_NAME` splits on a space, a
    `cd` that failed runs the rest in the wrong directory, a `read` without `-r` mangles input.

    ## Example
    ```bash
    cd $WORK_DIR
    aws cloudformation describe-stacks --stack-name $STACK
    ```

    ## Use instead
    ```bash
    cd "$WORK_DIR" || exit 1
    aws cloudformation describe-stacks --stack-name "$STACK"
    ```

    ## References
    - https://www.shellcheck.net/wiki/
    """

    id = "SRE-DEP-016"
    name = "shellcheck-finding"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "シェルスクリプトの不具合（shellcheck）"
    title_en = "Shell script defect (shellcheck)"
    passed_ja = "shellcheck のエラー・警告なし"
    passed_en = "No shellcheck errors or warnings"
    fix_ja = "shellcheck の指摘（SC コード）に従って修正する"
    fix_en = "Fix as the shellcheck code describes"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for comment in shellcheck_started(ctx.project).result():
            finding = self.finding(
                ctx, file=comment.file, line=comment.line,
                message=f"SC{comment.code}: {comment.message}",
                remediation=ctx.text(f"https://www.shellcheck.net/wiki/SC{comment.code} を参照して修正",
                                     f"See https://www.shellcheck.net/wiki/SC{comment.code}"),
                severity=SEVERITY.get(comment.level, Severity.INFO),
            )
            finding.source = "shellcheck"
            finding.related_ids.append(f"shellcheck:SC{comment.code}")
            yield finding

    def coverage(self, ctx: RuleContext) -> str | None:
        count = len(ctx.project.scripts)
        return ctx.text(f"スクリプト {count} 件", f"{count} scripts") if count else None
