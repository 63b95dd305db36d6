"""SUP001: a suppression that does not say why."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext
from sre_agent.suppressions import collect


class SuppressionWithoutReason(Rule):
    """
    ## What it does
    Reports `sre-review: ignore=ID` comments and CloudFormation `Metadata` suppressions that
    give no reason.

    ## Why is this bad
    A muted finding without a reason cannot be re-evaluated: a year later nobody knows whether
    the single-AZ database was a conscious cost decision for a dev stack or a shortcut that
    reached production.

    ## Example
    ```bash
    # sre-review: ignore=SRE-DEP-004
    ```

    ## Use instead
    ```bash
    # sre-review: ignore=SRE-DEP-004 source される関数定義のみのファイル。呼び出し側で set -euo pipefail 済み
    ```

    ## References
    - README.md「Suppressions」
    """

    id = "SRE-SUP-001"
    name = "suppression-without-reason"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "理由のない抑止設定"
    title_en = "Suppression without a reason"
    passed_ja = "抑止設定にはすべて理由あり"
    passed_en = "Every suppression states its reason"
    fix_ja = "抑止コメントの ID の後に理由を書く（例: `# sre-review: ignore=SRE-DEP-004 理由…`）"
    fix_en = "Write the reason after the id (`# sre-review: ignore=SRE-DEP-004 why…`)"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for suppression in collect(ctx.project):
            if not suppression.reason:
                yield self.finding(
                    ctx, file=suppression.file, line=suppression.line, resource=suppression.resource,
                    message=ctx.text(f"{', '.join(suppression.ids)} の抑止に理由が書かれていない",
                                     f"suppression of {', '.join(suppression.ids)} gives no reason"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = len(collect(ctx.project))
        return ctx.text(f"抑止設定 {count} 件", f"{count} suppressions") if count else None
