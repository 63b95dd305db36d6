"""DOC005: no postmortem template."""

from __future__ import annotations

from typing import Iterable

from sre_agent.docfacts import facts_of
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext


class NoPostmortemTemplate(Rule):
    """
    ## What it does
    Looks for a postmortem template among the documents: a file named ポストモーテム /
    postmortem / 障害報告書, or a section titled ポストモーテム with テンプレート / 様式 / 雛形.
    A sentence that only says 「ポストモーテムを作成する」 is not a template. A section that
    outlines an incident report (インシデントレポート / 障害報告 with at least three parts of a
    postmortem, 原因 among them) is most of one: info naming the parts it lacks (タイムライン,
    担当・期限 …), not a warning. Applies when the
    review includes design documents; deep mode only.

    ## Why is this bad
    Without a template the first postmortem is written under pressure, in the format of whoever
    writes it: the timeline, the error budget consumed and the follow-up actions with owners and
    dates are the parts that get dropped — and the same outage happens again.

    ## Example
    `docs/90_運用手順/` with デプロイ手順書 and 障害対応手順書, and 「重大障害はポストモーテムを作成」
    in the 要件定義書, but no template.

    ## Use instead
    `docs/90_運用手順/ポストモーテムテンプレート.md` with 概要（影響時間、エラーバジェット消費）,
    タイムライン, 根本原因, 検知と対応の評価, 再発防止策（担当・期限・状態）.

    ## References
    - https://sre.google/sre-book/postmortem-culture/
    - https://sre.google/sre-book/example-postmortem/
    """

    id = "SRE-DOC-005"
    name = "no-postmortem-template"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "ポストモーテムのテンプレートがない"
    title_en = "No postmortem template"
    passed_ja = "ポストモーテムのテンプレートあり"
    passed_en = "A postmortem template exists"
    fix_ja = "運用手順にポストモーテムテンプレート（影響・タイムライン・根本原因・再発防止策と担当/期限）を追加する"
    fix_en = "Add a postmortem template (impact, timeline, root cause, actions with owner and due date)"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        facts = facts_of(ctx.project)
        if ctx.mode == "light" or not facts.design_doc_count:
            return
        if not facts.postmortem_templates and facts.incident_report_outlines:
            # an incident report's outline is most of a template: say what it lacks, as info
            where, lacking = facts.incident_report_outlines[0]
            self.accepted = True
            missing = "、".join(lacking)
            yield self.finding(ctx, file=where.file, line=where.line, severity=Severity.INFO, message=ctx.text(
                f"ポストモーテムのテンプレートはないが、{where} にインシデントレポートの記録項目がある"
                + (f"（{missing}がない）" if lacking else ""),
                f"no postmortem template, but {where} outlines an incident report"
                + (f" (lacking: {', '.join(lacking)})" if lacking else "")))
        elif not facts.postmortem_templates:
            yield self.finding(ctx, file=None, line=None, message=ctx.text(
                f"文書 {facts.design_doc_count} 件にポストモーテムのテンプレートがない",
                f"none of the {facts.design_doc_count} documents is a postmortem template"))

    def coverage(self, ctx: RuleContext) -> str | None:
        found = facts_of(ctx.project).postmortem_templates
        return ", ".join(str(w) for w in found[:3]) if found and ctx.mode != "light" else None
