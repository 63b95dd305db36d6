"""MON009: an error-rate alarm looser than the SLO it should protect."""

from __future__ import annotations

import re
from typing import Iterable

from sre_agent.docfacts import SloFact, facts_of
from sre_agent.docfacts.extract import ERROR_RATE_WORDS, has
from sre_agent.docfacts.values import percents
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.parsing.terraform import unwrap
from sre_agent.resolve import as_number
from sre_agent.rules._alarms import Alarm, alarm_index, prod_value
from sre_agent.rules.base import Rule, RuleContext

BURN_RATE_WORDS = ("burn", "バーンレート", "消費率", "消費速度")
_PERCENT_EXPRESSION = re.compile(r"100\s*\*|\*\s*100")


def strictest_slo(ctx: RuleContext) -> SloFact | None:
    rates = [s for s in facts_of(ctx.project).slos if s.error_rate_percent is not None]
    return min(rates, key=lambda s: s.error_rate_percent) if rates else None


def expressions(alarm: Alarm) -> str:
    """The metric-math expressions of an alarm, CloudFormation `Metrics` or Terraform `metric_query`."""
    if alarm.template is not None:
        queries, key = alarm.properties.get("Metrics"), "Expression"
    else:
        queries, key = alarm.properties.get("metric_query"), "expression"
    found = []
    for query in queries if isinstance(queries, list) else []:
        value = unwrap(query.get(key)) if isinstance(query, dict) else None
        if isinstance(value, str):
            found.append(value)
    return " ".join(found)


def error_rate_alarm(alarm: Alarm) -> bool:
    """An alarm whose metric math divides 5XX counts by the request count."""
    names = {m.name or "" for m in alarm.metrics}
    return alarm.math and any("5XX" in n.upper() for n in names) and "RequestCount" in names


class AlarmLooserThanSlo(Rule):
    """
    ## What it does
    Takes the strictest error-rate objective of the documents (an SLO / SLI table row エラー率
    0.1%以下, 成功率 99.9%, or 可用性 99.9% measured from 5XX / request counts) and compares it
    with (1) CloudWatch alarms whose metric math is a 5XX / RequestCount ratio (`100 * errors /
    requests` is read as percent, `errors / requests` as a fraction) and (2) the error-rate rows
    of the documents' monitoring table (`| ALB 5XXエラー率 | 1%超 |`). A threshold above the
    SLO means the budget can be spent without anyone being paged (CloudFormation `Metrics` and
    Terraform `metric_query` alike; the production threshold counts). Silent unless both numbers
    are resolvable; alarms named as burn-rate alerts (burn / バーンレート / 消費率) are left
    alone, since a multi-window burn-rate alert deliberately uses a multiple of the budget.
    Deep mode only.

    ## Why is this bad
    With an SLO of 0.1 % errors and an alarm at 5 %, a release that fails one request in fifty
    burns the month's error budget in under a day and no alarm fires: the SLO is broken before
    anyone knows it is at risk.

    ## Example
    SLO エラー率 0.1%以下; `AlbErrorRateAlarm` with `Expression: 100 * errors / requests` and
    `Threshold: 5`.

    ## Use instead
    `Threshold: 0.1` (or burn-rate alarms: 14.4× over 1 hour and 6× over 6 hours, named as such).

    ## References
    - https://sre.google/workbook/alerting-on-slos/
    - https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
    """

    id = "SRE-MON-009"
    name = "alarm-looser-than-slo"
    perspective = Perspective.MONITORING
    severity = Severity.WARNING
    title_ja = "アラームの閾値が SLO より緩い"
    title_en = "Alarm threshold looser than the SLO"
    passed_ja = "エラー率アラームの閾値は SLO 以内"
    passed_en = "Error-rate alarms are within the SLO"
    fix_ja = "エラー率アラームの閾値を SLO（エラーバジェット）以下にする、またはバーンレートアラートとして設計する"
    fix_en = "Set the error-rate threshold at or below the SLO, or design burn-rate alerts"

    def _alarms(self, ctx: RuleContext) -> Iterable[tuple[str, int, str, float]]:
        index = alarm_index(ctx.project)
        for alarm in index.alarms:
            if not error_rate_alarm(alarm):
                continue
            props = alarm.properties
            names = repr([alarm.resource, props.get("AlarmName"), props.get("alarm_name"),
                          props.get("AlarmDescription"), props.get("alarm_description")])
            if has(names, BURN_RATE_WORDS):
                continue
            threshold = as_number(prod_value(index, alarm, "Threshold", "threshold"))
            if not isinstance(threshold, (int, float)):
                continue
            percent = threshold if _PERCENT_EXPRESSION.search(expressions(alarm)) else threshold * 100
            yield alarm.file, alarm.attribute_line("Threshold", "threshold"), alarm.resource, percent

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        if ctx.mode == "light":
            return
        slo = strictest_slo(ctx)
        if slo is None:
            return
        budget = slo.error_rate_percent
        for path, line, name, percent in self._alarms(ctx):
            if percent > budget + 1e-9:
                yield self.finding(ctx, file=path, line=line, resource=name, message=ctx.text(
                    f"`{name}` のエラー率閾値 {percent:g}% が SLO（{slo.where} の {slo.name} {slo.target}、"
                    f"エラー率 {budget:g}%）より緩い",
                    f"`{name}` alerts at {percent:g}% errors, looser than the SLO at {slo.where} "
                    f"({budget:g}% errors)"))
        for row in facts_of(ctx.project).monitoring:
            if not has(row.metric, ERROR_RATE_WORDS) or has(row.metric, BURN_RATE_WORDS):
                continue
            found = percents(row.threshold)
            if found and found[0][0] > budget + 1e-9 and row.where != slo.where:
                yield self.finding(ctx, file=row.where.file, line=row.where.line, message=ctx.text(
                    f"監視設計の「{row.metric}」閾値 {row.threshold} が SLO（{slo.where}、エラー率 {budget:g}%）より緩い",
                    f"documented threshold '{row.threshold}' for '{row.metric}' is looser than the SLO "
                    f"at {slo.where} ({budget:g}% errors)"))

    def coverage(self, ctx: RuleContext) -> str | None:
        if ctx.mode == "light":
            return None
        slo = strictest_slo(ctx)
        alarms = list(self._alarms(ctx))
        if slo is None or not alarms:
            return None
        return f"SLO エラー率 {slo.error_rate_percent:g}%（{slo.where}）⇔ エラー率アラーム {len(alarms)} 件"
