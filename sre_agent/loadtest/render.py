"""Section 6 of the report, `## 6. 性能テスト結果（QAと連携）`, from a run or from the plan alone.

Every number in it was measured by a run; without results the section says 未実施 and lists the
planned scenarios with their targets and users, never an estimate. The ボトルネック分析 is
assembled from the measurements only: which scenarios missed which target, the error kinds
Locust recorded, and how p95 and throughput moved as users grew.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from pathlib import Path

import jinja2

from sre_agent.loadtest.results import LoadTestResults, ScenarioResult
from sre_agent.loadtest.run import top_errors
from sre_agent.loadtest.scenarios import Scenario, ScenarioFile, percent


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:g}ms"


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("sre_agent", "templates"),
                             autoescape=False, keep_trailing_newline=True, trim_blocks=False)
    env.filters.update(cell=lambda text: str(text).replace("|", "\\|").replace("\n", " "),
                       ms=_ms, pct=percent, g=lambda value: f"{value:g}")
    return env.get_template("loadtest/section6.md.j2")


def section6_markdown(plan: ScenarioFile | None, results: LoadTestResults | None) -> str:
    """The report's section 6: measured when `results` is given, else 未実施 with the plan."""
    if results is None:
        return _template().render(results=None, planned=plan.scenarios if plan else [])
    plan = plan or results.plan
    scenarios = {s.name: s for s in plan.scenarios} if plan else {}
    rows = [{"name": r.name, "users": r.users, "verdict": _verdict(r),
             "target": scenarios[r.name].target_text() if r.name in scenarios else "—"}
            for r in results.scenarios]
    reports = sorted({str(Path(p).parent) for p in results.reports})
    shown = results.model_copy(update={"reports": [f"{d}/" for d in reports]})
    return _template().render(results=shown, rows=rows, errors=results.errors,
                              analysis=bottleneck_analysis(results, scenarios))


def _verdict(result: ScenarioResult) -> str:
    mark = "✅" if result.passed else "❌"
    text = f"{mark} p95 {_ms(result.p95_ms)}"
    if result.error_rate or not result.passed:
        text += f"・エラー率 {percent(result.error_rate)}"
    return text


def bottleneck_analysis(results: LoadTestResults, scenarios: dict[str, Scenario]) -> str:
    """A paragraph from the measurements: misses, error kinds, latency against users."""
    if not results.scenarios:
        return "計測できたシナリオがない（中断または Locust の失敗）ため、分析できない。"
    sentences: list[str] = []
    by_name: dict[str, list[ScenarioResult]] = defaultdict(list)
    for result in results.scenarios:
        by_name[result.name].append(result)
    failed = [r for r in results.scenarios if not r.passed]
    if not failed:
        slowest = max(results.scenarios, key=lambda r: r.p95_ms or 0)
        sentences.append(f"計測した {len(results.scenarios)} 件はすべて目標内。最も遅いのは"
                         f"「{slowest.name}」（{slowest.users} ユーザー）の p95 {_ms(slowest.p95_ms)}。")
    for name, runs in by_name.items():
        missed = [r for r in runs if not r.passed]
        if len(missed) == 1:
            sentences.append(f"「{name}」（{missed[0].users} ユーザー）が目標未達: "
                             f"{'、'.join(missed[0].reasons)}。")
        elif missed:
            steps = "、".join(f"{r.users} ユーザーで {'・'.join(r.reasons)}" for r in missed)
            sentences.append(f"「{name}」が目標未達 — {steps}。")
    for name, runs in by_name.items():
        kinds = top_errors(results.errors, name)
        requests = sum(r.requests for r in runs)
        if kinds and requests:
            listed = "、".join(f"{k.error} {k.occurrences} 件" for k in kinds[:3])
            sentences.append(f"「{name}」のエラーの内訳: {listed}"
                             f"{'ほか' if len(kinds) > 3 else ''}。")
        sentences += _growth(name, runs, scenarios.get(name))
    return "".join(sentences)


def _growth(name: str, runs: list[ScenarioResult], scenario: Scenario | None) -> list[str]:
    """How p95, throughput and errors moved between the smallest and largest user count."""
    measured = sorted((r for r in runs if r.p95_ms is not None), key=lambda r: r.users)
    if len(measured) < 2 or measured[0].users == measured[-1].users:
        return []
    low, high = measured[0], measured[-1]
    users_x = high.users / low.users
    p95_x = (high.p95_ms or 0) / low.p95_ms if low.p95_ms else None
    rps_x = high.rps / low.rps if low.rps else None
    steps = " → ".join(f"{r.users} ユーザー {_ms(r.p95_ms)}" for r in measured)
    text = f"「{name}」の p95 はユーザー数とともに {steps} と推移し"
    if rps_x is not None:
        text += (f"、スループットは {low.rps:.1f} → {high.rps:.1f} req/s（×{rps_x:.1f}、ユーザーは"
                 f" ×{users_x:g}）")
    if rps_x is not None and p95_x is not None and rps_x < 1.5 and p95_x >= 2:
        text += ("。ユーザーを増やしても処理量がほぼ増えず応答時間だけが伸びている: 同時に処理できる"
                 "数が頭打ちで、リクエストが待ち行列に並んでいる（飽和）")
    elif rps_x is not None and p95_x is not None and rps_x >= 0.7 * users_x and p95_x < 1.5:
        text += "。処理量がユーザー数に応じて伸び p95 はほぼ一定: 計測した範囲では飽和していない"
    if high.error_rate > low.error_rate:
        text += f"。エラー率も {percent(low.error_rate)} → {percent(high.error_rate)} に増えた"
    sentences = [text + "。"]
    if scenario is not None and scenario.p95_ms is not None:
        crossed = next((r for r in measured if (r.p95_ms or 0) > scenario.p95_ms), None)
        sentences.append(f"p95 目標 {_ms(scenario.p95_ms)} を超えたのは {crossed.users} ユーザーから。"
                         if crossed else f"計測した範囲では p95 目標 {_ms(scenario.p95_ms)} を超えなかった。")
    return sentences
