"""The task's 入力情報 made concrete: paths found, the infrastructure spec read from the design
documents (or a spec file), the SLO and performance tables the report quotes.

Paths are looked up from the project root first (how the PM writes them), then from the task
file's folder. A path that is in neither is an error, not a skipped input.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sre_agent.deliver.runbook import SloRow
from sre_agent.environments import is_prod
from sre_agent.project import load_project
from sre_agent.task.model import TaskError, TaskSpec, fold

if TYPE_CHECKING:
    from sre_agent.deliver.report import DesignEstimate
    from sre_agent.deliver.spec import InfraSpec, SpecSource
    from sre_agent.loadtest import LoadTestResults

SECTION6 = "## 6. 性能テスト結果（QAと連携）"
_NOTE = re.compile(r"^\S+:\d+ の")  # a spec reader's note quotes the document line it is about


@dataclass
class TaskInputs:
    spec: InfraSpec
    base: Path
    documents: list[Path] = field(default_factory=list)
    standards: str | None = None
    title: str = ""
    sources: list[SpecSource] = field(default_factory=list)
    prerequisites: list[str] = field(default_factory=list)   # what operators create before the first deploy
    spec_notes: list[str] = field(default_factory=list)      # "<file>:<line> の …": design values not taken as written
    loadtest_results: LoadTestResults | None = None   # the results.json of a `loadtest run` QA did
    problems: list[str] = field(default_factory=list)


def _find(value: str, line: int | None, base: Path, task_dir: Path | None) -> Path:
    for folder in (base, task_dir):
        if folder is not None and (folder / value).exists():
            return folder / value
    where = f"line {line}: " if line else ""
    raise TaskError(f"{where}入力情報 path not found: {value} (looked in {base}"
                    + (f" and {task_dir})" if task_dir else ")"))


def resolve_inputs(task: TaskSpec, base: Path, task_dir: Path | None) -> TaskInputs:
    from sre_agent.deliver.spec import SpecError, prerequisites_of, spec_from_documents, spec_from_file

    for item in task.inputs_of("deploy-method"):
        if "cloudformation" not in fold(item.value):
            raise TaskError(f"デプロイ方式 {item.value!r} is not supported: this agent delivers CloudFormation")
    documents = [_find(p, i.line, base, task_dir) for i in task.inputs_of("design-docs") for p in i.paths()]
    spec_files = [_find(p, i.line, base, task_dir) for i in task.inputs_of("spec") for p in i.paths()]
    standards = [_find(p, i.line, base, task_dir) for i in task.inputs_of("standards") for p in i.paths()]
    results = [_find(p, i.line, base, task_dir) for i in task.inputs_of("loadtest-results") for p in i.paths()]
    if not documents and not spec_files:
        raise TaskError("入力情報 names no 基本設計書 (design documents) or インフラ仕様 (spec file): "
                        "nothing to build the infrastructure from")
    try:
        if spec_files:
            spec, sources = spec_from_file(spec_files[0]), []
            prerequisites = prerequisites_of(spec)
        else:
            result = spec_from_documents(documents)
            spec, sources = result.spec, result.sources
            prerequisites = list(result.prerequisites)
        # the spec reader's notes on values it did not take as written quote the document line;
        # they are for the architect, not steps before the first deploy
        notes = [p for p in prerequisites if _NOTE.match(p)]
        prerequisites = [p for p in prerequisites if p not in notes]
    except SpecError as exc:
        raise TaskError(str(exc)) from None
    folder = standards[0] if standards and standards[0].is_dir() else standards[0].parent if standards else None
    return TaskInputs(spec=spec, base=base, documents=documents,
                      standards=str(folder) if folder else None,
                      title=getattr(spec, "description", "") or "", sources=sources,
                      prerequisites=prerequisites, spec_notes=notes, loadtest_results=_results(results[0]) if results else None)


def _results(path: Path) -> LoadTestResults:
    from sre_agent.loadtest import ScenarioFileError, load_results

    try:
        return load_results(path)
    except ScenarioFileError as exc:
        raise TaskError(f"性能テスト結果: {exc}") from None


def _documents(inputs: TaskInputs):
    if not inputs.documents:
        return []
    project = load_project(inputs.documents)
    return [(doc, Path(os.path.relpath(project.root / doc.path, inputs.base)).as_posix())
            for doc in project.documents]


def slo_rows(inputs: TaskInputs) -> tuple[list[SloRow], str]:
    """The design documents' SLO table (指標 / 目標値 / 測定方法) in their words; else the spec's
    SLO with the measurement our alarms use. Also the error budget line, when stated."""
    rows: list[SloRow] = []
    budget = ""
    for doc, path in _documents(inputs):
        for section, table in doc.doc.tables():
            name, target = table.column("指標", "SLI"), table.column("目標")
            method = table.column("測定", "計測", "SLI")
            if name is None or target is None or table.column("閾値") is not None:
                continue
            for row, line in zip(table.rows, table.row_lines):
                rows.append(SloRow(row[name], row[target], row[method] if method is not None and method < len(row)
                                   else "", f"{path}:{line}"))
        for number, text in enumerate(doc.text.splitlines(), start=1):
            if not budget and "エラーバジェット" in text and ("分" in text or "%" in text) and ":" in text.replace("：", ":"):
                budget = text.replace("：", ":").split(":", 1)[1].strip().split("。")[0] + f"（{path}:{number}）"
    if rows:
        return rows, budget
    slo = getattr(inputs.spec, "slo", None)
    if slo is None:
        return [], budget
    origin = next((s.origin for s in inputs.sources if s.field.startswith("slo")), "インフラ仕様")
    rows = [SloRow("可用性", f"{slo.availability_percent:g}%（{slo.window_days}日間）",
                   "ALB の RequestCount と HTTPCode_Target_5XX_Count から成功率（メトリクス計算）", origin),
            SloRow("エラー率", f"{slo.error_rate_percent:g}%以下", "HTTPCode_Target_5XX_Count / RequestCount", origin)]
    if slo.latency_p95_ms:
        rows.insert(1, SloRow("レスポンスタイム", f"95%ile {slo.latency_p95_ms}ms以内",
                              "ALB TargetResponseTime の p95", origin))
    return rows, budget or f"{slo.window_days}日で {slo.error_budget_minutes:g} 分"


def recovery_rows(inputs: TaskInputs) -> list[tuple[str, str, str, str]]:
    """RTO / RPO rows of the design documents' tables: (項目, 目標値, 備考, file:line)."""
    rows = []
    for doc, path in _documents(inputs):
        for _section, table in doc.doc.tables():
            for row, line in zip(table.rows, table.row_lines):
                if len(row) >= 2 and any(k in row[0].upper() for k in ("RTO", "RPO")):
                    rows.append((row[0], row[1], " ".join(row[2:]), f"{path}:{line}"))
    return rows


_RELEASE_TAG = re.compile(r"(release/[^\s`）)、。]+)")
_ON_CALL = ("当番", "一次対応", "オンコール", "on-call")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
TO_FILL = "要記入"
_EXAMPLE_DOMAIN = re.compile(r"@(?:[\w-]+\.)*example(?:\.[\w-]+)+$|\.(?:example|invalid|test)$", re.IGNORECASE)


def release_tag(inputs: TaskInputs) -> str:
    """The design's Git tag for a production release (`release/prd/<YYYYMMDD>-<連番>`), if any."""
    for doc, _path in _documents(inputs):
        for line in doc.text.splitlines():
            if "タグ" in line and (match := _RELEASE_TAG.search(line)):
                return match.group(1)
    return ""


def contact_rows(inputs: TaskInputs) -> list[tuple[str, str, str]]:
    """(役割, 連絡先, 出典) for the incident procedure: the documents' notification table and
    on-call sentences; escalation and AWS Support rows stay 要記入 when the documents are silent."""
    rows: list[tuple[str, str, str]] = []
    for doc, path in _documents(inputs):
        for section, table in doc.doc.tables():
            who, how = table.column("通知先", "連絡先", "宛先"), table.column("手段", "方法", "連絡先")
            if who is None or how is None or who == how:
                continue
            what = table.column("対象", "用途")
            for row, line in zip(table.rows, table.row_lines):
                emails = _EMAIL.findall(row[how])
                role = row[who] + (f"（{row[what]}）" if what is not None and what < len(row) and row[what] else "")
                shown = [f"{e}（例示用ドメイン。実際の宛先は{TO_FILL}）" if _EXAMPLE_DOMAIN.search(e) else e
                         for e in emails]
                rows.append((role, "、".join(shown) if shown else f"{row[how]}（宛先は{TO_FILL}）",
                             f"{path}:{line}"))
        for number, text in enumerate(doc.text.splitlines(), start=1):
            if any(w in text for w in _ON_CALL) and not text.lstrip().startswith("|"):
                rows.append((text.strip().rstrip("。"), f"{TO_FILL}（当番表・電話番号）", f"{path}:{number}"))
    roles = " ".join(r[0] for r in rows)
    if "エスカレーション" not in roles and "責任者" not in roles:
        rows.append(("エスカレーション先（運用責任者・PM）", TO_FILL, "設計書に記載なし"))
    if "AWS サポート" not in roles:
        rows.append(("AWS サポート（ケース起票。サポートプランと起票できるアカウント）", TO_FILL, "設計書に記載なし"))
    return rows


def documents_text(inputs: TaskInputs) -> str:
    return "\n".join(doc.text for doc, _path in _documents(inputs))


def document_lines(inputs: TaskInputs) -> list[tuple[str, int, str]]:
    """Every line of the design documents with where it is (`path`, line number)."""
    return [(str(path), number, text) for doc, path in _documents(inputs)
            for number, text in enumerate(doc.text.splitlines(), start=1)]


def budget_requirement(inputs: TaskInputs) -> str:
    """Where the design documents ask for an AWS Budgets budget (`file:line`), else ""."""
    for doc, path in _documents(inputs):
        for number, text in enumerate(doc.text.splitlines(), start=1):
            if "budgets" in text.casefold() and re.search(r"\d", text):
                return f"{path}:{number}"
    return ""


def design_estimate(inputs: TaskInputs) -> DesignEstimate | None:
    """The design documents' monthly total (production, else the first monthly table with one)."""
    from sre_agent.deliver.report import DesignEstimate
    from sre_agent.docfacts import facts_of

    if not inputs.documents:
        return None
    project = load_project(inputs.documents)
    tables = [t for t in facts_of(project).cost_tables
              if t.total is not None and not t.delta and "month" in t.periods]
    tables.sort(key=lambda t: 0 if t.environment and is_prod(t.environment) else 1)
    for table in tables:
        money = next((m for m in table.total.amounts if m is not None), None)
        if money is not None:
            path = Path(os.path.relpath(project.root / table.total.where.file, inputs.base)).as_posix()
            return DesignEstimate(money.amount, money.currency, money.text.strip(),
                                  f"{path}:{table.total.where.line}")
    return None


def section6(inputs: TaskInputs, plan_file: str | None = None) -> str:
    """From the load-test helper when it is installed; else honest: not run yet, with the
    scenarios the documents' performance table plans."""
    try:
        from sre_agent.loadtest import plan_from_documents, section6_markdown
        from sre_agent.loadtest.plan import planned_scenarios
    except ImportError:
        pass
    else:
        results = inputs.loadtest_results
        if results is None and inputs.documents:
            from sre_agent.deliver.runbook import render

            return render("section6_plan.md.j2", planned=planned_scenarios(inputs.documents),
                          plan_file=plan_file).strip() + "\n"
        if inputs.documents or results is not None:
            plan = plan_from_documents(inputs.documents) if inputs.documents else None
            text = section6_markdown(plan, results)
            if text.lstrip().startswith(SECTION6):
                return text.strip() + "\n"
    lines = [SECTION6, "", "未実施 — QA と連携して実施予定", ""]
    planned = _planned_scenarios(inputs)
    if planned:
        lines += ["計画しているシナリオ（目標は設計書の性能要件から）:", "",
                  "| シナリオ | 同時ユーザー数 | 目標レスポンスタイム | 結果 |",
                  "|---------|--------------|-------------------|------|"]
        lines += [f"| {name} | {users} | {target} | 未実施（出典 {source}） |" for name, users, target, source in planned]
    else:
        lines.append("設計書に性能要件の表がないため、シナリオは QA と決める。")
    return "\n".join(lines) + "\n"


def _planned_scenarios(inputs: TaskInputs) -> list[tuple[str, str, str, str]]:
    planned = []
    for doc, path in _documents(inputs):
        for section, table in doc.doc.tables():
            if not any("性能" in title for title in section.path()):
                continue
            target, condition = table.column("目標"), table.column("測定条件", "条件", "同時")
            if target is None:
                continue
            for row, line in zip(table.rows, table.row_lines):
                value = row[target]
                if not any(unit in value for unit in ("ms", "秒", "sec")):
                    continue
                users = row[condition] if condition is not None and condition < len(row) else "—"
                planned.append((row[0], users, value, f"{path}:{line}"))
    return planned


def write_loadtest_plan(inputs: TaskInputs, out_dir: Path) -> Path | None:
    """`loadtest/scenarios.yaml` — what `sre-agent loadtest plan` writes — when the documents
    state performance targets; QA fills in the target URL and runs it."""
    try:
        from sre_agent.loadtest import plan_yaml_from_documents
    except ImportError:
        return None
    found = plan_yaml_from_documents(inputs.documents) if inputs.documents else None
    if found is None:
        return None
    target = out_dir / LOADTEST_PLAN
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(found[1], encoding="utf-8")
    return target


LOADTEST_PLAN = "loadtest/scenarios.yaml"

__all__ = ["write_loadtest_plan", "LOADTEST_PLAN", "TaskInputs", "resolve_inputs", "slo_rows", "recovery_rows", "section6",
           "release_tag", "document_lines", "contact_rows", "design_estimate",
           "budget_requirement", "documents_text"]
