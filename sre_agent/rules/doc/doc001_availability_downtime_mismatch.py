"""DOC001: an availability target and the downtime written next to it disagree."""

from __future__ import annotations

from typing import Iterable

from sre_agent.docfacts import facts_of
from sre_agent.docfacts.values import MINUTES_PER, Duration
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext

# Month lengths a reader may have meant: 30 days (the usual SLA convention), a 31-day or 28-day
# calendar month, and the average month (365/12 days). A stated value matching any is accepted.
MONTH_BASES = (("month30", "30日", "30-day"), ("month31", "31日", "31-day"),
               ("month28", "28日", "28-day"), ("month_avg", "平均月（365/12日）", "average month"))
YEAR_BASES = (("year", "365日", "365-day"), ("year366", "366日", "366-day"))
RELATIVE_TOLERANCE = 0.03


def allowed_minutes(budget_percent: float, period: str) -> list[tuple[float, str, str]]:
    """Downtime (minutes) that a budget of `budget_percent` allows, per accepted period basis."""
    bases = MONTH_BASES if period == "month" else YEAR_BASES
    return [(MINUTES_PER[key] * budget_percent / 100, ja, en) for key, ja, en in bases]


def matching_basis(budget_percent: float, stated: Duration) -> tuple[str, str] | None:
    """The period basis under which the stated downtime is right (rounding allowed), or None."""
    half_unit = stated.unit_minutes * 0.5 * (10 ** -stated.decimals)
    for expected, ja, en in allowed_minutes(budget_percent, stated.period or "month"):
        if abs(stated.minutes - expected) <= max(RELATIVE_TOLERANCE * expected, half_unit):
            return ja, en
    return None


def human(minutes: float) -> tuple[str, str]:
    if minutes >= 120:
        return f"{minutes / 60:.2f}時間", f"{minutes / 60:.2f} h"
    return f"{minutes:.1f}分", f"{minutes:.1f} min"


class AvailabilityDowntimeMismatch(Rule):
    """
    ## What it does
    Reads every availability target in the design documents (稼働率 / 可用性 / SLA rows and
    sentences, in any spelling: `99.9%`, `９９．９％`) together with the downtime written next to
    it (`月間43.2分`, `約43分`, `4.38 時間/年`, `年間 8.76 時間`), and every error-budget line
    (`エラーバジェット: 月間 43.2分（0.1%）`), and checks the arithmetic. A month may be counted
    as 30 days (43.2 min at 99.9 %), a calendar month of 28 or 31 days, or an average month
    (43.8 min); a year as 365 or 366 days. A value that matches any of them, after the rounding
    the document used, is correct; the message says which bases were tried.

    ## Why is this bad
    The downtime figure is what people actually plan with: the error budget, the maintenance
    window, the 「何分止まったら SLA 違反か」 in an incident. A target of 99.95 % written next to
    「月間43分」 lets twice the agreed downtime pass before anyone reacts.

    ## Example
    ```markdown
    | 目標稼働率 | 99.95%（月間約43分以内） | |
    ```

    ## Use instead
    ```markdown
    | 目標稼働率 | 99.95%（月間約21.6分以内、年間約4.38時間） | 30日換算 |
    ```

    ## References
    - https://sre.google/workbook/implementing-slos/
    - https://docs.aws.amazon.com/wellarchitected/latest/reliability-pillar/availability.html
    """

    id = "SRE-DOC-001"
    name = "availability-downtime-mismatch"
    perspective = Perspective.OPERABILITY
    severity = Severity.ERROR
    title_ja = "稼働率と許容停止時間が一致しない"
    title_en = "Availability target and downtime disagree"
    passed_ja = "稼働率と許容停止時間の計算が一致"
    passed_en = "Availability targets match the stated downtime"
    fix_ja = "停止時間を稼働率から計算し直す（99.9% = 30日で43.2分 / 年8.76時間、99.95% = 21.6分 / 4.38時間）"
    fix_en = "Recompute the downtime from the target (99.9% = 43.2 min per 30 days / 8.76 h per year)"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        facts = facts_of(ctx.project)
        seen: set[tuple[str, int, float]] = set()
        pairs = [(f.where, 100 - f.percent, f.percent, f.downtime, False)
                 for f in facts.availability if f.downtime is not None]
        pairs += [(f.where, f.percent, 100 - f.percent, f.downtime, True) for f in facts.error_budgets]
        for where, budget, target, stated, is_budget in pairs:
            key = (where.file, where.line, stated.minutes)
            if key in seen or matching_basis(budget, stated) is not None:
                continue
            seen.add(key)
            period = stated.period or "month"
            expected = allowed_minutes(budget, period)
            exp_ja = " / ".join(f"{b_ja}換算 {human(m)[0]}" for m, b_ja, _ in expected[:2])
            exp_en = " / ".join(f"{human(m)[1]} ({b_en})" for m, _, b_en in expected[:2])
            per_ja, per_en = ("月間", "per month") if period == "month" else ("年間", "per year")
            what_ja = f"エラーバジェット {budget:g}%" if is_budget else f"稼働率 {target:g}%"
            what_en = f"error budget {budget:g}%" if is_budget else f"availability {target:g}%"
            yield self.finding(
                ctx, file=where.file, line=where.line,
                message=ctx.text(
                    f"{what_ja} に対し「{stated.text}」と記載（{per_ja}の許容停止時間は {exp_ja}）",
                    f"{what_en} is written with '{stated.text}' (allowed downtime {per_en}: {exp_en})"),
            )

    def coverage(self, ctx: RuleContext) -> str | None:
        facts = facts_of(ctx.project)
        checked = []
        for f in [a for a in facts.availability if a.downtime is not None]:
            basis = matching_basis(100 - f.percent, f.downtime)
            if basis:
                checked.append(f"{f.where}: {f.percent:g}% ⇔ {f.downtime.text}（{basis[0]}換算）")
        for b in facts.error_budgets:
            basis = matching_basis(b.percent, b.downtime)
            if basis:
                checked.append(f"{b.where}: {b.percent:g}% ⇔ {b.downtime.text}（{basis[0]}換算）")
        return ", ".join(checked[:3]) if checked else None
