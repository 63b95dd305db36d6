"""CST003: the estimated monthly total is above the budget stated in 企画書 / 要件定義書."""

from __future__ import annotations

from typing import Iterable

from sre_agent.cost import USD_JPY, estimate
from sre_agent.docfacts import facts_of
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext
from sre_agent.rules.cst.cst004_estimate_differs_from_code import documented_estimate


def shown(amount: float, currency: str) -> str:
    return f"${amount:,.0f}" if currency == "USD" else f"¥{amount:,.0f}"


class EstimateOverBudget(Rule):
    """
    ## What it does
    Reads the monthly budget from the 企画書 / 要件定義書 (「月額運用費用: 10万円以内」, a 予算
    table row, `$400`) and the production monthly estimate of the design documents (the 合計 of
    the cost table; when the documents have none, our estimate from the code), converts
    currencies at 1 USD = 150 JPY when they differ, and reports an estimate above the budget.
    Deep mode only: it spans the 企画 → 要件 → 基本設計 chain.

    ## Why is this bad
    The budget is the business's constraint; a design that exceeds it is either cut back after
    go-live (losing the redundancy it paid for) or runs over budget every month until someone
    asks why.

    ## Example
    要件定義書: 「月額運用費用: $150以内」; 基本設計「コスト見積」: 合計 ¥38,510 (= $257).

    ## Use instead
    Bring the design within the budget (smaller instances, one NAT gateway outside production,
    Savings Plans) or have the budget revised — and write down which.

    ## References
    - https://docs.aws.amazon.com/wellarchitected/latest/cost-optimization-pillar/welcome.html
    """

    id = "SRE-CST-003"
    name = "estimate-over-budget"
    perspective = Perspective.COST
    severity = Severity.WARNING
    title_ja = "月額見積が予算を超えている"
    title_en = "Monthly estimate exceeds the budget"
    passed_ja = "月額見積は予算内"
    passed_en = "The monthly estimate is within the budget"
    fix_ja = "構成を見直して予算内に収めるか、予算の見直しを企画書・要件定義書に反映する"
    fix_en = "Bring the design within the budget or have the budget revised in the planning documents"

    def _estimate(self, ctx: RuleContext):
        """(amount, currency, file, line, label_ja, label_en) of the monthly production estimate."""
        table = documented_estimate(ctx)
        if table is not None:
            total = table.total.amounts[0]
            # 約3.1万円: the estimate is over only when even its low end is
            return total.amount - total.tolerance, total.currency, table.total.where.file, table.total.where.line, \
                "設計書の見積", "the documented estimate"
        if ctx.project.templates or ctx.project.terraform:
            regions = [r for r, _ in facts_of(ctx.project).regions]
            result = estimate(ctx.project, "prod", document_regions=regions)
            if result.items:
                return result.total, "USD", None, None, \
                    f"コードからの試算（{result.region}、{result.as_of} 時点の定価）", \
                    f"the estimate from the code ({result.region}, list prices {result.as_of})"
        return None

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        facts = facts_of(ctx.project)
        if ctx.mode == "light" or not facts.budgets:
            return
        found = self._estimate(ctx)
        if found is None:
            return
        amount, currency, file, line, label_ja, label_en = found
        reported: set[float] = set()
        for budget in facts.budgets:
            limit = budget.amount.amount + budget.amount.tolerance  # 月1,000円程度
            if budget.amount.currency != currency:
                limit = limit * USD_JPY if budget.amount.currency == "USD" else limit / USD_JPY
            if amount <= limit or round(limit, 2) in reported:
                continue
            reported.add(round(limit, 2))
            rate = "" if budget.amount.currency == currency else f"（1 USD = {USD_JPY:g} JPY で換算）"
            rate_en = "" if budget.amount.currency == currency else f" (at 1 USD = {USD_JPY:g} JPY)"
            yield self.finding(
                ctx, file=file or budget.where.file, line=line or budget.where.line,
                message=ctx.text(
                    f"{label_ja} {shown(amount, currency)} が {budget.where} の予算 "
                    f"{budget.amount.text}（{shown(limit, currency)}）を超えている{rate}",
                    f"{label_en} {shown(amount, currency)} exceeds the budget {budget.amount.text} "
                    f"({shown(limit, currency)}) at {budget.where}{rate_en}"),
            )

    def coverage(self, ctx: RuleContext) -> str | None:
        facts = facts_of(ctx.project)
        if ctx.mode == "light" or not facts.budgets:
            return None
        found = self._estimate(ctx)
        if found is None:
            return None
        budget = facts.budgets[0]
        return f"予算 {budget.amount.text}（{budget.where}）⇔ 見積 {shown(found[0], found[1])}"
