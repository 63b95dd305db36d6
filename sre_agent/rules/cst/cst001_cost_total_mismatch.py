"""CST001: a cost table whose 合計 is not the sum of its rows."""

from __future__ import annotations

from typing import Iterable

from sre_agent.docfacts import CostTable, facts_of
from sre_agent.docfacts.extract import environment_in, has
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext
from sre_agent.rules.cst.cst004_estimate_differs_from_code import categories_in

# Rows are usually rounded (to ¥10, $1); a total within this of the sum is the same total.
ABSOLUTE_TOLERANCE = {"JPY": 10.0, "USD": 1.0}
RELATIVE_TOLERANCE = 0.005


def money_text(amount: float, currency: str) -> str:
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    return sign + (f"${amount:,.2f}".replace(".00", "") if currency == "USD" else f"¥{amount:,.0f}")


def _close(a: float, b: float, currency: str, rows: int, rounded: float = 0.0) -> bool:
    """Equal within the rounding of the rows, plus `rounded`: what 約3.1万円 / 概算 figures may be off."""
    tolerance = max(ABSOLUTE_TOLERANCE.get(currency, 1.0) * max(rows, 1) / 2,
                    RELATIVE_TOLERANCE * abs(b))
    return abs(a - b) <= tolerance + rounded


# Services a cost table may be about on its own (「環境別 X-Ray コスト試算」): its per-environment
# rows are that service's cost, not the environments' totals.
ONE_SERVICE_WORDS = ("x-ray", "xray", "cognito", "waf", "cloudfront", "lambda", "api gateway", "apigateway",
                     "route 53", "route53", "s3 ", "データ転送", "guardduty", "security hub", "backup")


class CostTotalMismatch(Rule):
    """
    ## What it does
    Adds up every cost table in the design documents (a コスト / 費用 / 見積 / 試算 section, or
    any table with a 月額 / 年額 / 費用 / 金額 column) and compares the sum of the rows with the
    **合計** row, per money column (a table with 本番 and ステージング columns is checked per
    column; 小計 rows are not counted twice). A 合計 row that does not add up in several columns
    is one finding at that row, listing each column with its difference (a row counted twice
    in one environment also shows in the 合計 column that adds the environments). Amounts are read in any spelling (`¥54,770`,
    `54,770円`, `5.5万円`, `$121`, `121ドル`). A table whose rows mix yen and dollars with no
    conversion is reported too, and a 年額 column must be twelve times its 月額 column. A summary
    table whose rows are environments (本番 / ステージング / 合計) is checked against the 合計 of
    each environment's own table (grand total across tables).

    ## Why is this bad
    The 合計 is the number that goes into the budget approval and the comparison with the
    企画書. A row added or removed after the total was typed makes the approved figure wrong, and
    nobody re-adds a table that "already has a total".

    ## Example
    ```markdown
    | リソース | 月額費用 |
    |---|---|
    | ECS Fargate | ¥6,750 |
    | RDS | ¥11,170 |
    | **合計** | **¥19,920** |
    ```

    ## Use instead
    ```markdown
    | **合計** | **¥17,920** |
    ```

    ## References
    - https://docs.aws.amazon.com/wellarchitected/latest/cost-optimization-pillar/welcome.html
    """

    id = "SRE-CST-001"
    name = "cost-total-mismatch"
    perspective = Perspective.COST
    severity = Severity.ERROR
    title_ja = "コスト表の合計が行の和と一致しない"
    title_en = "Cost table total is not the sum of its rows"
    passed_ja = "コスト表の合計は行の和と一致"
    passed_en = "Cost table totals match their rows"
    fix_ja = "合計行を各行の和で計算し直す（月額 × 12 = 年額も確認する）"
    fix_en = "Recompute the total from the rows (and check yearly = 12 × monthly)"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        tables = facts_of(ctx.project).cost_tables
        for table in tables:
            yield from self._check_table(ctx, table)
            yield from self._grand_total(ctx, table, tables)

    def _grand_total(self, ctx: RuleContext, summary: CostTable, tables: list[CostTable]) -> Iterable[Finding]:
        """A summary table whose rows are environments (本番 / ステージング): each row must be the
        合計 of that environment's own cost table, in the same document or, if unique, anywhere."""
        if len(summary.rows) < 2 or not summary.columns or len(categories_in(summary.title)) == 1 \
                or has(summary.title, ONE_SERVICE_WORDS):
            return  # `### RDS` with 本番 / ステージング rows: one component per environment, not the totals
        envs = [environment_in(row.label) for row in summary.rows]
        if None in envs or len(set(envs)) != len(envs):
            return
        for row, env in zip(summary.rows, envs):
            stated = row.amounts[0]
            candidates = [t for t in tables if t is not summary and t.environment == env
                          and t.total is not None and t.total.amounts and t.total.amounts[0] is not None]
            same_doc = [t for t in candidates if t.where.file == summary.where.file]
            candidates = same_doc or candidates
            if stated is None or len(candidates) != 1:
                continue
            source = candidates[0]
            total = source.total.amounts[0]
            if total.currency != stated.currency or _close(total.amount, stated.amount, stated.currency, 1,
                                                           total.tolerance + stated.tolerance):
                continue
            # within one document the sum is wrong; across documents one of them is out of date
            drift = source.where.file != summary.where.file
            yield self.finding(ctx, file=row.where.file, line=row.where.line,
                               severity=Severity.WARNING if drift else None, message=ctx.text(
                f"全体の集計「{row.label}」{money_text(stated.amount, stated.currency)} が、その環境の表"
                f"（{source.total.where}）の合計 {money_text(total.amount, total.currency)} と一致しない",
                f"summary row '{row.label}' {money_text(stated.amount, stated.currency)} differs from "
                f"the total of that environment's table at {source.total.where}, "
                f"{money_text(total.amount, total.currency)}"))

    def _check_table(self, ctx: RuleContext, table: CostTable) -> Iterable[Finding]:
        mismatches: list[tuple[str, float, float, int, str]] = []  # column, stated, added, rows, currency
        for col, column in enumerate(table.columns):
            amounts = [r.amounts[col] for r in table.rows if r.amounts[col] is not None]
            currencies = {a.currency for a in amounts}
            if table.total is None or table.total.amounts[col] is None:
                continue
            if len(currencies) > 1:
                if not table.rate_stated:  # with `$640 ≒ 99千円` in a cell the rate is stated
                    yield self.finding(ctx, file=table.where.file, line=table.where.line, message=ctx.text(
                        f"コスト表「{column}」列に円とドルが混在している（換算レートの明記がないまま合算できない）",
                        f"column '{column}' mixes yen and dollar amounts without a conversion"))
                continue  # rows in two currencies are not added up
            total = table.total.amounts[col] if table.total is not None else None
            if total is None or not amounts or total.currency not in currencies:
                continue
            currency = total.currency
            added = sum(a.amount for a in amounts)
            rounded = total.tolerance + sum(a.tolerance for a in amounts)
            if not _close(added, total.amount, currency, len(amounts), rounded):
                mismatches.append((column, total.amount, added, len(amounts), currency))
        if mismatches and table.total is not None:
            yield self._total_finding(ctx, table, mismatches)
        yield from self._monthly_yearly(ctx, table)

    def _total_finding(self, ctx: RuleContext, table: CostTable,
                       mismatches: list[tuple[str, float, float, int, str]]) -> Finding:
        """One finding per 合計 row, naming every column that does not add up: a row counted
        twice shows in its environment's column and again in a 合計 column that adds the
        environments — one mistake, one fix, not one finding per column."""
        if len(mismatches) == 1:
            column, stated, added, rows, currency = mismatches[0]
            return self.finding(
                ctx, file=table.total.where.file, line=table.total.where.line,
                message=ctx.text(
                    f"「{column}」の合計 {money_text(stated, currency)} が {rows} 行の和 "
                    f"{money_text(added, currency)} と一致しない（差 {money_text(stated - added, currency)}）",
                    f"'{column}' total {money_text(stated, currency)} is not the sum of its "
                    f"{rows} rows, {money_text(added, currency)}"))
        parts_ja = "、".join(
            f"「{column}」{money_text(stated, currency)} ≠ {rows} 行の和 {money_text(added, currency)}"
            f"（差 {money_text(stated - added, currency)}）" for column, stated, added, rows, currency in mismatches)
        parts_en = "; ".join(
            f"'{column}' {money_text(stated, currency)} vs {rows} rows {money_text(added, currency)} "
            f"(off by {money_text(stated - added, currency)})"
            for column, stated, added, rows, currency in mismatches)
        differences = {(currency, round(stated - added, 2)) for _, stated, added, _, currency in mismatches}
        same_ja = same_en = ""
        if len(differences) == 1:
            (currency, difference), = differences
            same_ja = (f"。どの列も差は同じ {money_text(difference, currency)}: 1 か所の計上誤りが"
                       "合計の列にも及んでいる可能性が高い")
            same_en = (f"; every column is off by the same {money_text(difference, currency)}: "
                       "one mistake, carried into the column that adds the others")
        label = table.total.label or "合計"
        return self.finding(
            ctx, file=table.total.where.file, line=table.total.where.line,
            message=ctx.text(
                f"「{label}」行の {len(mismatches)} 列が行の和と一致しない: {parts_ja}{same_ja}",
                f"the '{label}' row does not add up in {len(mismatches)} columns: {parts_en}{same_en}"))

    def _monthly_yearly(self, ctx: RuleContext, table: CostTable) -> Iterable[Finding]:
        if "month" not in table.periods or "year" not in table.periods:
            return
        m, y = table.periods.index("month"), table.periods.index("year")
        lines = list(table.rows) + ([table.total] if table.total else [])
        for line in lines:
            monthly, yearly = line.amounts[m], line.amounts[y]
            if monthly is None or yearly is None or monthly.currency != yearly.currency:
                continue
            if not _close(monthly.amount * 12, yearly.amount, monthly.currency, 12,
                          yearly.tolerance + 12 * monthly.tolerance):
                yield self.finding(
                    ctx, file=line.where.file, line=line.where.line,
                    message=ctx.text(
                        f"「{line.label}」の年額 {money_text(yearly.amount, yearly.currency)} が月額 "
                        f"{money_text(monthly.amount, monthly.currency)} × 12 = "
                        f"{money_text(monthly.amount * 12, monthly.currency)} と一致しない",
                        f"'{line.label}' yearly {money_text(yearly.amount, yearly.currency)} is not 12 × "
                        f"monthly {money_text(monthly.amount, monthly.currency)}"))

    def coverage(self, ctx: RuleContext) -> str | None:
        tables = [t for t in facts_of(ctx.project).cost_tables if t.total is not None]
        return ", ".join(f"{t.where}（{len(t.rows)} 行）" for t in tables[:3]) if tables else None
