"""DOC011: a phase of the agent framework's document chain is missing (deep mode)."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.project import FRAMEWORK_DIR, PHASES, phase_documents, relative
from sre_agent.rules.base import Rule, RuleContext


class PhaseDocumentMissing(Rule):
    """
    ## What it does
    In a project of the agent framework (a `.claude/` folder at the reviewed root), follows the
    phase documents the way `/check all` does — `docs/01_企画書` → `02_要件定義書` →
    `03_基本設計書` → `04_詳細設計書`, each a file or a folder whose name holds the phase's word
    (企画, 要件定義, 基本設計, 詳細設計) — and reports each phase that is not there. Deep mode
    only; info, because a project early in its life has not reached the later phases yet.

    ## Why is this bad
    The cross-document checks compare each phase with the next (the budget in the 企画書 with the
    estimate in the 基本設計書, the 稼働率 in the 要件定義書 with the multi-AZ settings in the
    code). A missing phase means those comparisons silently had nothing to compare: the review
    says less than it seems to.

    ## Example
    `docs/01_企画書.md`, `docs/03_基本設計/` and templates under `infra/`, but no 要件定義書.

    ## Use instead
    `docs/02_要件定義書.md` (or `docs/02_要件定義書/`) with the non-functional requirements
    (稼働率, RTO / RPO, 月額予算) the later phases are checked against.

    ## References
    - README.md「Review records (the framework's .claude-state/reviews)」
    """

    id = "SRE-DOC-011"
    name = "phase-document-missing"
    perspective = Perspective.OPERABILITY
    severity = Severity.INFO
    title_ja = "フェーズ文書がない"
    title_en = "Phase document missing"
    passed_ja = "フェーズ文書（企画 → 要件定義 → 基本設計 → 詳細設計）がそろっている"
    passed_en = "The phase documents (plan → requirements → basic → detailed design) are all there"
    fix_ja = "欠けているフェーズの文書を docs/ に追加する（まだそのフェーズでなければこの指摘は参考情報）"
    fix_en = "Add the missing phase's document under docs/ (if the project has not reached that phase, this is for information)"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        if not self._applies(ctx):
            return
        order = " → ".join(phase for phase, _ in PHASES)
        for phase, where in phase_documents(ctx.project.root).items():
            if where is None:
                yield self.finding(ctx, file=None, line=None, message=ctx.text(
                    f"docs/ に {phase} がない（/check all は {order} の順に確認する）",
                    f"docs/ has no {phase} (/check all follows {order})"))

    def coverage(self, ctx: RuleContext) -> str | None:
        if not self._applies(ctx):
            return None
        found = phase_documents(ctx.project.root)
        if any(where is None for where in found.values()):
            return None
        return ", ".join(relative(where, ctx.project.root) for where in found.values() if where)

    @staticmethod
    def _applies(ctx: RuleContext) -> bool:
        return ctx.mode != "light" and (ctx.project.root / FRAMEWORK_DIR).is_dir()
