"""Scenarios from the design documents' performance (性能要件) and SLO tables.

A row becomes a scenario when it states a response-time target (`95%ile 500ms以内`, a `p95`
column, `目標レスポンスタイム`) or a throughput target (`30 リクエスト/秒`); the same row gives the
concurrency (`同時 300 ユーザー`, a 同時ユーザー数 column), the endpoint (`GET /api/v1/items`, an
エンドポイント column) and an error-rate limit. SLO rows are the fallback: their latency row
becomes a scenario only when no performance table has one, and their error rate applies to every
scenario whose row states none. What the documents do not say is not invented: the YAML says in
a comment which endpoint or user count was assumed, and `target` is left for the user.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jinja2

from sre_agent.docfacts import design_documents, facts_of
from sre_agent.docfacts.values import fold
from sre_agent.loadtest.scenarios import Scenario, ScenarioFile
from sre_agent.parsing.markdown import Section, Table
from sre_agent.project import load_project

DEFAULT_USERS = 10
DEFAULT_DURATION_S = 60.0
PERFORMANCE_WORDS = ("性能", "パフォーマンス", "performance", "応答", "レスポンス", "スループット",
                     "負荷", "latency", "レイテンシ")
SLO_WORDS = ("slo", "sli", "サービスレベル", "service level")
RESPONSE_WORDS = ("応答", "レスポンス", "response", "latency", "レイテンシ", "処理時間")
AVERAGE_WORDS = ("平均", "average", "avg", "mean")
THRESHOLD_WORDS = ("閾値", "しきい値", "threshold")  # a monitoring table, not a target
ENDPOINT_HEADER = ("エンドポイント", "endpoint", "api", "パス", "path", "url", "uri")
NAME_HEADER = ("処理", "機能", "シナリオ", "名称", "画面", "操作", "業務", "項目", "指標", "name")
USERS_HEADER = ("同時ユーザー", "同時接続", "同時実行", "同時アクセス", "並列", "users", "concurren")
ERROR_HEADER = ("エラー率", "error rate", "失敗率")

_LATENCY = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|ミリ秒|msec|秒|sec|s)(?![a-z])", re.IGNORECASE)
_PERCENTILE = re.compile(r"(?<![a-z])p\s?(\d{2})(?!\d)|(\d{2})\s*(?:%\s*ile|%タイル|パーセンタイル|%値|th)",
                         re.IGNORECASE)
_RPS = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(?:(?:リクエスト|req(?:uests?)?|件|トランザクション)\s*"
                  r"/\s*(?:秒|sec|s)(?![a-z])|rps(?![a-z])|tps(?![a-z]))", re.IGNORECASE)
_USERS_IN_TEXT = re.compile(r"同時\s*(?:接続|ユーザー|実行|アクセス)?数?\s*[:：]?\s*(\d[\d,]*)\s*"
                            r"(?:ユーザー|人|接続|セッション|件)?")
_NUMBER = re.compile(r"\d[\d,]*")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_ENDPOINT = re.compile(r"(?:(?P<method>GET|POST|PUT|PATCH|DELETE|HEAD)\s+)?(?P<path>/[^\s|（()、,]*)")
_METHOD_PATH = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE|HEAD)\s+(/[^\s|（()、,]*)")


@dataclass
class PlannedScenario:
    scenario: Scenario
    notes: list[str] = field(default_factory=list)  # YAML comments: gaps (TODO:) and origins
    from_slo: bool = False
    users_basis: str = "document"     # document | derived (from req/s) | default (the tool's)
    users_formula: str = ""           # how a derived user count was computed
    request_basis: str = "document"   # document | default (no endpoint in the documents)


def plan_from_documents(paths: list[Path]) -> ScenarioFile | None:
    """The scenario file the documents' tables call for; None when no table states a target."""
    planned = planned_scenarios(paths)
    return _scenario_file(planned) if planned else None


def planned_scenarios(paths: list[Path]) -> list[PlannedScenario]:
    project = load_project(paths)
    performance: list[PlannedScenario] = []
    slo: list[PlannedScenario] = []
    for document in design_documents(project):
        for section in document.doc.sections():
            for table in section.tables:
                is_slo = _is_slo_table(section, table)
                if not is_slo and not _is_performance_table(section, table):
                    continue
                for row, raw, line in zip(table.rows, table.raw_rows, table.row_lines):
                    planned = _row_scenario(table, row, raw,
                                            f"{_shown(project.root, document.path)}:{line}")
                    if planned is not None:
                        planned.from_slo = is_slo
                        (slo if is_slo else performance).append(planned)
    chosen = performance or [p for p in slo if p.scenario.p95_ms is not None][:1]
    slo_latency = next((p.scenario for p in slo if p.scenario.p95_ms is not None), None)
    for planned in chosen:
        # a throughput row without a latency target: the SLO's p95 converts its rate into users
        if planned.users_basis == "default" and planned.scenario.min_rps and slo_latency is not None:
            users, formula = users_for_rate(planned.scenario.min_rps, slo_latency.p95_ms)
            planned.scenario.users, planned.scenario.spawn_rate = users, max(1, math.ceil(users / 5))
            planned.users_basis, planned.users_formula = "derived", f"{formula}、p95 は SLO（{slo_latency.source}）"
            planned.notes = [n for n in planned.notes if "同時ユーザー数" not in n]
            planned.notes.append(f"同時ユーザー数は {planned.users_formula}")
    slo_rates = [f for f in facts_of(project).slos if f.error_rate_percent is not None]
    for planned in chosen:
        if planned.scenario.max_error_rate is None and slo_rates:
            rate = slo_rates[0]
            planned.scenario.max_error_rate = rate.error_rate_percent / 100
            planned.notes.append(f"エラー率の上限は SLO の {rate.error_rate_percent:g}%"
                                 f"（{_shown(project.root, rate.where.file)}:{rate.where.line}）")
    _unique_names(chosen)
    return chosen


def _shown(root: Path, path: str) -> str:
    """A document's path as the user would type it: relative to the working directory."""
    relative = os.path.relpath(root / path)
    return relative if not relative.startswith("..") else str(root / path)


def _is_slo_table(section: Section, table: Table) -> bool:
    titles = " ".join(section.path()).casefold()
    return any(w in titles for w in SLO_WORDS) or (
        table.column("指標", "SLI", "SLO") is not None and table.column("目標") is not None)


def _is_performance_table(section: Section, table: Table) -> bool:
    if table.column(*THRESHOLD_WORDS) is not None:
        return False
    context = (" ".join(section.path()) + " " + " ".join(table.header)).casefold()
    return any(w in context for w in PERFORMANCE_WORDS)


def _row_scenario(table: Table, row: tuple[str, ...], raw: tuple[str, ...],
                  source: str) -> PlannedScenario | None:
    header = [fold(h).casefold() for h in table.header]
    cells = [fold(c) for c in row]
    latency = _latencies(header, cells)
    rps = next((float(m.group(1).replace(",", "")) for c in cells for m in _RPS.finditer(c)), None)
    if 95 not in latency and 99 not in latency and rps is None:
        return None
    notes: list[str] = []
    endpoint_column = _column(header, ENDPOINT_HEADER)
    name_column = _column(header, NAME_HEADER, exclude=endpoint_column)
    request = _request(cells, endpoint_column)
    request_basis = "document"
    if request is None:
        request, request_basis = "GET /", "default"
        notes.append("TODO: 文書にエンドポイントの記載がない — request を実際のパスに置き換える")
    elif "{" in request:
        notes.append("TODO: パスパラメータ {…} を実在する値に置き換える")
    if request.startswith(("POST", "PUT", "PATCH")):
        notes.append("TODO: 送る JSON を body: に書く（文書に記載なし）")
    users = _users(header, cells)
    users_basis, formula = "document", ""
    if users is None and rps is not None and (95 in latency or 99 in latency):
        users, formula = users_for_rate(rps, latency.get(95) or latency[99], "p95" if 95 in latency else "p99")
        users_basis = "derived"
        notes.append(f"同時ユーザー数は {formula}")
    elif users is None:
        users, users_basis = DEFAULT_USERS, "default"
        condition = f"（条件: {rps:g} リクエスト/秒。応答時間の目標がなく換算できない）" if rps is not None else ""
        notes.append(f"TODO: 同時ユーザー数の記載がない{condition} — 仮にツールの既定値 {DEFAULT_USERS}")
    if latency.get("assumed"):
        notes.append("百分位の記載がない応答時間を p95 として扱った")
    name = _as_written(raw[name_column]) if name_column is not None and cells[name_column] else (
        request if endpoint_column is not None else _as_written(raw[0]))
    error_column = _column(header, ERROR_HEADER)
    error_rate = None
    if error_column is not None and (found := _PERCENT.search(cells[error_column])):
        error_rate = float(found.group(1)) / 100
    scenario = Scenario(name=name, request=request, users=users,
                        spawn_rate=max(1, math.ceil(users / 5)), p95_ms=latency.get(95),
                        p99_ms=latency.get(99), max_error_rate=error_rate, min_rps=rps,
                        source=source)
    return PlannedScenario(scenario, notes, users_basis=users_basis, users_formula=formula,
                           request_basis=request_basis)


def users_for_rate(rps: float, latency_ms: float, percentile: str = "p95",
                   think_time_s: float = 0.0) -> tuple[int, str]:
    """Users that sustain `rps` when each waits for a response and then thinks (Little's law:
    concurrency = throughput × time per request), and the formula as the plan states it."""
    users = max(1, math.ceil(rps * (latency_ms / 1000 + think_time_s)))
    return users, (f"{rps:g} req/s × ({percentile} {latency_ms / 1000:g} 秒 + 思考時間 {think_time_s:g} 秒)"
                   f" = {users}（リトルの法則で要求スループットから換算）")


def _as_written(cell: str) -> str:
    """The document's own spelling for a name (full-width brackets kept), without markup."""
    return re.sub(r"\s+", " ", re.sub(r"`|\*\*|<br\s*/?>", " ", cell)).strip()


def _latencies(header: list[str], cells: list[str]) -> dict[int | str, float]:
    """{95: ms, 99: ms} from the row; "assumed" set when a plain 応答時間 was taken as p95."""
    found: dict[int | str, float] = {}
    for head, cell in zip(header, cells):
        if any(w in head for w in THRESHOLD_WORDS):
            continue
        head_percentile = _percentile_of(head)
        last_end = 0
        for match in _LATENCY.finditer(cell):
            markers = [m for m in _PERCENTILE.finditer(cell, last_end, match.start())]
            last_end = match.end()
            percentile = _percentile_of(markers[-1].group(0)) if markers else head_percentile
            if percentile is None:
                context = head + " " + cells[0].casefold()
                if not any(w in context for w in RESPONSE_WORDS) or any(
                        w in head + cell.casefold() for w in AVERAGE_WORDS):
                    continue
                percentile, found["assumed"] = 95, 1.0
            if percentile in (95, 99) and percentile not in found:
                value, unit = float(match.group(1)), match.group(2).lower()
                found[percentile] = value * (1 if unit in ("ms", "ミリ秒", "msec") else 1000)
    return found


def _percentile_of(text: str) -> int | None:
    match = _PERCENTILE.search(text)
    return int(match.group(1) or match.group(2)) if match else None


def _column(header: list[str], words: tuple[str, ...], exclude: int | None = None) -> int | None:
    for index, head in enumerate(header):
        if index != exclude and any(w in head for w in words):
            return index
    return None


def _request(cells: list[str], endpoint_column: int | None) -> str | None:
    if endpoint_column is not None and (match := _ENDPOINT.search(cells[endpoint_column])):
        return f"{match.group('method') or 'GET'} {match.group('path')}"
    match = next((m for c in cells for m in _METHOD_PATH.finditer(c)), None)
    return f"{match.group(1)} {match.group(2)}" if match else None


def _users(header: list[str], cells: list[str]) -> int | None:
    column = _column(header, USERS_HEADER)
    if column is not None and (match := _NUMBER.search(cells[column])):
        return int(match.group(0).replace(",", ""))
    for cell in cells:
        if match := _USERS_IN_TEXT.search(cell):
            return int(match.group(1).replace(",", ""))
    return None


def _unique_names(planned: list[PlannedScenario]) -> None:
    seen: dict[str, int] = {}
    for item in planned:
        name = item.scenario.name
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            item.scenario.name = f"{name} ({seen[name]})"


def _scenario_file(planned: list[PlannedScenario]) -> ScenarioFile:
    return ScenarioFile(target=None, duration=DEFAULT_DURATION_S,
                        scenarios=[p.scenario for p in planned])


@cache
def _yaml_template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("sre_agent", "templates"),
                             autoescape=False, keep_trailing_newline=True, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["q"] = lambda value: json.dumps(value, ensure_ascii=False)  # a YAML-safe scalar
    env.filters["g"] = lambda value: f"{value:g}"
    return env.get_template("loadtest/scenarios.yaml.j2")


def plan_yaml(plan: ScenarioFile, notes: dict[str, list[str]] | None = None) -> str:
    """The scenario file as YAML, with the documents' gaps as comments beside each scenario."""
    return _yaml_template().render(plan=plan, notes=notes or {})


def plan_yaml_from_documents(paths: list[Path]) -> tuple[ScenarioFile, str] | None:
    """The plan and its YAML with the `# TODO:` comments (what `loadtest plan` writes), for the
    task flow to deliver; None when no table states a target."""
    planned = planned_scenarios(paths)
    if not planned:
        return None
    plan = _scenario_file(planned)
    return plan, plan_yaml(plan, {p.scenario.name: p.notes for p in planned})
