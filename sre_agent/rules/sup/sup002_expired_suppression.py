"""SUP002: a suppression past its `until=` date (it no longer mutes anything)."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext
from sre_agent.suppressions import collect


class ExpiredSuppression(Rule):
    """
    ## What it does
    Reports `sre-review: ignore=ID until=YYYY-MM-DD` comments and CloudFormation `Metadata`
    suppressions (`until: YYYY-MM-DD`) whose date has passed, or whose date cannot be read.
    From the day after its date such a suppression mutes nothing: the findings it covered are
    reported again, and this line says why they came back.

    ## Why is this bad
    「リリースまでの暫定対応」 is how a single-AZ database or a direct `deploy` becomes permanent.
    A dated exception forces the team to look again; an expired one that nobody removed means
    the promised fix did not happen, and the risk is back in production without anyone deciding
    it again.

    ## Example
    ```bash
    # sre-review: ignore=SRE-DEP-001 until=2026-03-31 移行期間中のみ直接デプロイを許可
    aws cloudformation deploy --stack-name prod-app --template-file app.yaml
    ```

    ## Use instead
    ```bash
    # Change Set に移行して抑止を削除する（延長する場合は理由と新しい期限を書き直す）
    ./scripts/create-changeset.sh prod app
    ```

    ## References
    - README.md「Suppressions」
    """

    id = "SRE-SUP-002"
    name = "expired-suppression"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "期限切れの抑止設定"
    title_en = "Expired suppression"
    passed_ja = "期限付きの抑止設定はすべて期限内"
    passed_en = "Every dated suppression is still within its date"
    fix_ja = "期限までに対応した問題なら抑止を削除し、延長するなら理由と新しい期限を書き直す"
    fix_en = "Remove the suppression if the problem was fixed; to extend it, restate the reason and a new date"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for suppression in collect(ctx.project):
            if not suppression.expired:
                continue
            ids = ", ".join(suppression.ids)
            if isinstance(suppression.until, str):
                message = ctx.text(f"{ids} の抑止の期限 `until={suppression.until}` が日付（YYYY-MM-DD）"
                                   "として読めないため、抑止していない",
                                   f"the suppression of {ids} has an unreadable date "
                                   f"`until={suppression.until}` (YYYY-MM-DD), so it mutes nothing")
            else:
                message = ctx.text(f"{ids} の抑止は {suppression.until} で期限切れ。以降は抑止せず指摘に戻している",
                                   f"the suppression of {ids} expired on {suppression.until}; "
                                   "its findings are reported again")
            yield self.finding(ctx, file=suppression.file, line=suppression.line,
                               resource=suppression.resource, message=message)

    def coverage(self, ctx: RuleContext) -> str | None:
        dated = [s for s in collect(ctx.project) if s.until is not None]
        return ctx.text(f"期限付きの抑止設定 {len(dated)} 件",
                        f"{len(dated)} dated suppressions") if dated else None
