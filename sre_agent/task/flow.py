"""`handle_task`: one call takes the PM's task block to a reviewed delivery and its report.

A delegated agent answers once and ends, so this is the whole job in order: parse the task,
read its inputs, write the templates and the four change-set scripts (the deliver writers),
the runbook (and, when asked, the incident procedure and postmortem template), review all of it
with our own engine, and only then write the インフラレポート — whose section 7 and 制約 results
come from that review — and `deliverables.json` for the PM agent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from sre_agent.deliver import report as report_writer
from sre_agent.deliver.plan import DeliveryPlan
from sre_agent.deliver.spec import app_user_step
from sre_agent.deliver.runbook import (
    INCIDENT, POSTMORTEM, RUNBOOK, RunbookFacts, app_rollback_text, rollback_arms, runbook_sections,
    write_incident_procedure, write_postmortem_template, write_runbook,
)
from sre_agent.environments import is_prod
from sre_agent.models import Review, Severity
from sre_agent.review import ReviewConfig, review
from sre_agent.task.constraints import check_constraints
from sre_agent.task.criteria import section7
from sre_agent.task.delivered import Delivered, estimate_prod, read_delivery
from sre_agent.task.diagram import mermaid
from sre_agent.task.evidence import CheckResult, Evidence, compact_sources
from sre_agent.task.inputs import (
    LOADTEST_PLAN, budget_requirement, contact_rows, design_estimate, documents_text, recovery_rows, release_tag, document_lines, resolve_inputs, section6, slo_rows,
    write_loadtest_plan,
)
from sre_agent.task.model import TaskError, TaskSpec, parse_task
from sre_agent.task.operations import (
    database_facts, db_admin_task, delivery_deviations, design_discrepancies, maintenance_alarms, maintenance_switch, notifying_alarms, registry_output,
    restores_image_tag, resyncs_failed_update, rollback_takes_release,
)

MANIFEST = "deliverables.json"
MANIFEST_SCHEMA = "sre-agent-deliverables/1"


class DeliveredFile(BaseModel):
    path: str
    kind: Literal["cloudformation-template", "parameters", "changeset-script", "runbook",
                  "incident-procedure", "postmortem-template", "cost-estimate", "loadtest-plan",
                  "report", "other"]


class SelfReview(BaseModel):
    """The review of the delivery that section 7 rests on."""

    verdict: Literal["yes", "conditional", "no"]
    errors: int
    warnings: int
    infos: int
    findings: list[str] = Field(description="every warning- and error-level finding, one line each")
    info_findings: list[str] = Field(default_factory=list, description="the info-level findings, one line each")
    analyzers: list[str]


class TaskResult(BaseModel):
    task: TaskSpec
    out_dir: str
    report: str
    manifest: str
    files: list[DeliveredFile]
    stacks: list[dict]
    scripts: dict[str, str]
    self_review: SelfReview
    section7: dict[str, list[CheckResult]]
    constraints: list[CheckResult]
    problems: list[str]
    prerequisites: list[str] = Field(default_factory=list)
    discrepancies: list[str] = Field(default_factory=list, description="design vs delivery, for the architect")

    @property
    def ok(self) -> bool:
        """No ❌ in the self-review, every mandatory criterion and checkable 制約 met."""
        return (self.self_review.errors == 0
                and all(c.met for c in self.section7["mandatory"])
                and all(c.met is not False for c in self.constraints))


def handle_task(task: Path | str | TaskSpec, out_dir: Path, root: Path | None = None,
                config: ReviewConfig | None = None) -> TaskResult:
    """`task`: a TASK.md / task JSON file (Path), the block's text (str), or a TaskSpec.
    Input paths are read from `root` (default: the current folder), then from the task file's
    folder. `out_dir` must be new or empty: everything in it is the delivery and is reviewed.
    Raises TaskError for a task we cannot work from."""
    spec, task_dir = _task(task)
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise TaskError(f"output folder is not empty: {out_dir} (the whole folder is the delivery)")
    inputs = resolve_inputs(spec, Path(root) if root else Path.cwd(), task_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    from sre_agent.deliver.infrastructure import write_infrastructure
    from sre_agent.deliver.scripts import write_scripts

    plan: DeliveryPlan = write_infrastructure(inputs.spec, out_dir)
    scripts = {key: _rel(path, out_dir) for key, path in write_scripts(plan, out_dir).items()
               if key in ("create", "describe", "execute", "rollback")}
    bindings = {s.template: s.parameters for s in plan.stacks}
    delivered = read_delivery(out_dir, bindings)
    slos, error_budget = slo_rows(inputs)
    facts = RunbookFacts(title=inputs.title or spec.title, plan=plan, scripts=scripts,
                         alarms=[a.name for a in delivered.alarms],
                         topics=[t.name for t in delivered.topics],
                         log_groups=delivered.log_groups, slos=slos, error_budget=error_budget,
                         prerequisites=inputs.prerequisites, recovery=recovery_rows(inputs),
                         image_tag=image_tag_source(delivered, plan))
    rollback_script = (out_dir / scripts["rollback"]).read_text(encoding="utf-8") if "rollback" in scripts else ""
    facts.rollback = rollback_arms(rollback_script)
    facts.restores_image_tag = restores_image_tag(rollback_script)
    facts.rollback_takes_release = rollback_takes_release(rollback_script)
    facts.database = database_facts(delivered, plan)
    facts.maintenance_parameter = maintenance_switch(delivered, plan, facts.update_stack)
    facts.release_tag = release_tag(inputs)
    facts.contacts = contact_rows(inputs)
    facts.registry = registry_output(delivered, plan)
    facts.test_alarm = next(iter(notifying_alarms(delivered.alarms)), "")
    facts.maintenance_alarms = maintenance_alarms(delivered.alarms)
    facts.db_admin = db_admin_task(delivered, plan)
    facts.other_maintenance = [s.name for s in plan.stacks if s.name != facts.update_stack
                               and maintenance_switch(delivered, plan, s.name)]
    create_script = (out_dir / scripts["create"]).read_text(encoding="utf-8") if "create" in scripts else ""
    facts.overrides = "PARAMETER_OVERRIDES" in create_script
    facts.resyncs_failed_update = resyncs_failed_update(
        (out_dir / scripts["execute"]).read_text(encoding="utf-8") if "execute" in scripts else "")
    if facts.db_admin and facts.overrides and facts.maintenance_parameter:
        # the runbook's first deploy carries the DB login step as commands; the prose goes
        facts.prerequisites = [p for p in facts.prerequisites if p != app_user_step(inputs.spec)]
    write_runbook(facts, out_dir)
    estimate = estimate_prod(delivered, plan.region)
    usage = report_writer.usage_charges(delivered.project.templates, plan.region)
    design_cost = design_estimate(inputs)
    if estimate.items:
        report_writer.write_cost_estimate(plan.project, estimate, out_dir,
                                          sum(1 for a in delivered.alarms if a.composite), usage, design_cost)
    if spec.wants("incident"):
        write_incident_procedure(facts, out_dir)
    if spec.wants("postmortem"):
        write_postmortem_template(facts, out_dir)
    late_problems = []
    if spec.wants("loadtest") and write_loadtest_plan(inputs, out_dir) is None:
        late_problems.append("性能テスト計画: 入力の設計書に目標（応答時間・同時ユーザー数）の表がないため作成しない")

    self_review = review([out_dir], config or ReviewConfig(llm="off", cache=False,
                                                           standards=inputs.standards))
    # the design's monitoring table against the delivered alarms: the delivery alone has no table
    design_review = review([*inputs.documents, out_dir], ReviewConfig(
        analyzers=("sre",), select=("SRE-DOC-010",), llm="off", cache=False)) if inputs.documents else None
    delivered = read_delivery(out_dir, bindings)
    evidence = Evidence(
        root=out_dir, review=self_review, scripts=scripts, templates=[s.template for s in plan.stacks],
        runbook=RUNBOOK, incident=INCIDENT if spec.wants("incident") else None,
        postmortem=POSTMORTEM if spec.wants("postmortem") else None,
        cost_document=report_writer.COST_ESTIMATE if estimate.items else None,
        alarms=len(delivered.alarms), burn_rate_alarms=sum(1 for a in delivered.alarms if a.burn_rate),
        topics_with_subscription=sum(1 for t in delivered.topics if t.subscriptions),
        monthly_usd=round(estimate.total, 2) if estimate.items else None,
        slo_rows=len(slos), slo_source=compact_sources([r.source for r in slos]),
        rollback_states=[state for arm in facts.rollback if not arm.refused for state in arm.states],
        image_tag_in_ssm=bool(facts.image_tag and facts.image_tag[1] == "ssm"),
        restores_image_tag=facts.restores_image_tag,
        runbooks_disagree=_without_shared_rollback(out_dir, facts, spec.wants("incident")),
        design_review=design_review, budget_required=budget_requirement(inputs),
        budgets=sum(1 for t in delivered.project.templates for _ in t.of_type("AWS::Budgets::Budget")))
    checklist = section7(evidence)
    constraints = check_constraints(spec.constraints, evidence)
    problems = [*spec.problems(), *inputs.problems, *late_problems]
    summary = _summary(self_review)

    prod_files = {files[e] for files in bindings.values() for e in files if is_prod(e)}
    prod_values = {str(k): str(v) for p in delivered.project.parameter_sets if p.path in prod_files
                   for k, v in p.values.items()}
    discrepancies = design_discrepancies(inputs.spec_notes,
                                         documents_text(inputs), prod_values, facts.release_tag,
                                         delivered.alarms, facts.rollback_takes_release)
    execute_script = (out_dir / scripts["execute"]).read_text(encoding="utf-8") if "execute" in scripts else ""
    discrepancies += delivery_deviations(delivered, plan, document_lines(inputs), execute_script,
                                         inputs.spec.database.app_username if inputs.spec.database else "")
    data = report_writer.ReportData(
        project=plan.project, task_title=spec.title, delivered=delivered, diagram=mermaid(delivered),
        estimate=estimate if estimate.items else None, slos=slos,
        stacks=[(s.name, next(t for t in delivered.templates if t.path == s.template), s.parameters)
                for s in plan.stacks],
        scripts=[report_writer.ScriptSection(k, p, report_writer.script_header((out_dir / p).read_text("utf-8")))
                 for k, p in scripts.items()],
        runbook_sections=runbook_sections(facts, "###"), runbook_path=RUNBOOK,
        section6=section6(inputs, LOADTEST_PLAN if (out_dir / LOADTEST_PLAN).is_file() else None), section7=checklist, constraints=constraints, problems=problems,
        pm_report=_pm_report(spec, plan, scripts, summary, checklist, constraints, problems,
                             measured=inputs.loadtest_results,
                             loadtest_plan=(out_dir / LOADTEST_PLAN).is_file(),
                             discrepancies=len(discrepancies)),
        review_line=_review_line(summary),
        template_findings=_per_file(self_review), usage_charges=usage, design_estimate=design_cost,
        discrepancies=discrepancies)
    report_writer.write_report(data, out_dir)
    files = _files(out_dir)
    result = TaskResult(
        task=spec, out_dir=str(out_dir), report=report_writer.REPORT, manifest=MANIFEST,
        files=files, stacks=[{"name": s.name, "template": s.template, "parameters": s.parameters}
                             for s in plan.stacks],
        scripts=scripts, self_review=summary, section7=checklist, constraints=constraints,
        problems=problems, prerequisites=inputs.prerequisites, discrepancies=discrepancies)
    _write_manifest(result, out_dir)
    return result


def image_tag_source(delivered: Delivered, plan: DeliveryPlan) -> tuple[str, str, str] | None:
    """How production gets the image tag: the parameter an ECS container image is `Sub`-ed from,
    and whether its value is an SSM parameter's (read at change-set time) or the file's."""
    import re

    for stack in plan.stacks:
        template = next((t for t in delivered.project.templates if t.path == stack.template), None)
        if template is None:
            continue
        for task in template.of_type("AWS::ECS::TaskDefinition"):
            for container in task.properties.get("ContainerDefinitions") or []:
                image = container.get("Image") if isinstance(container, dict) else None
                text = image.get("Fn::Sub") if isinstance(image, dict) else None
                text = text[0] if isinstance(text, list) and text else text
                names = [n for n in re.findall(r"\$\{(\w+)\}", str(text or "")) if n in template.parameters]
                if not names:
                    continue
                name = names[-1]
                kind = str(template.parameters[name].get("Type", ""))
                prod = next((e for e in stack.parameters if is_prod(e)), None)
                files = delivered.project.parameter_sets
                value = next((p.values.get(name) for p in files if prod and p.path == stack.parameters[prod]), None)
                if kind.startswith("AWS::SSM::Parameter::Value") and value:
                    return name, "ssm", str(value)
                return name, "file", stack.parameters.get(prod or "", stack.template)
    return None


def _without_shared_rollback(out_dir: Path, facts: RunbookFacts, incident: bool) -> list[str]:
    """The delivered runbooks that do not carry the one application-rollback text verbatim."""
    shared = app_rollback_text(facts)
    paths = [RUNBOOK] + ([INCIDENT] if incident else [])
    return [p for p in paths if shared not in (out_dir / p).read_text(encoding="utf-8")]


def _task(task: Path | str | TaskSpec) -> tuple[TaskSpec, Path | None]:
    if isinstance(task, TaskSpec):
        return task, None
    if isinstance(task, Path):
        try:
            text = task.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TaskError(f"cannot read the task: {task}: {exc}") from None
        return parse_task(text), task.resolve().parent
    return parse_task(task), None


def _rel(path: Path, root: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), root.resolve())).as_posix()


def _summary(result: Review) -> SelfReview:
    active = result.active_findings()
    count = lambda sev: sum(1 for f in active if f.severity is sev)  # noqa: E731
    from sre_agent.task.evidence import finding_line

    return SelfReview(verdict=result.verdict, errors=count(Severity.ERROR), warnings=count(Severity.WARNING),
                      infos=count(Severity.INFO),
                      findings=[finding_line(f) for f in active if f.severity is not Severity.INFO],
                      info_findings=[finding_line(f) for f in active if f.severity is Severity.INFO],
                      analyzers=[f"{run.name} {run.version}" + (f"（{run.error}）" if run.error else "")
                                 for run in result.analyzers])


def _per_file(result: Review) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in result.active_findings():
        if finding.file and finding.severity is not Severity.INFO:
            counts[finding.file] = counts.get(finding.file, 0) + 1
    return counts


VERDICT = {"yes": "✅ Yes", "conditional": "⚠️ 条件付き", "no": "❌ No"}


def _review_line(summary: SelfReview) -> str:
    text = (f"セルフレビュー（`sre-review` と同じエンジン: {'、'.join(summary.analyzers)}）の判定は "
            f"{VERDICT[summary.verdict]}（❌ {summary.errors} 件、⚠️ {summary.warnings} 件、info {summary.infos} 件）。"
            "各項目は、その項目を検査するルールの指摘が残っていないこと（と必要なファイルがあること）で判定した。")
    if summary.findings:
        text += "\n\n残っている指摘:\n\n" + "\n".join(f"- {line}" for line in summary.findings)
    if summary.info_findings:
        text += "\n\n参考（info）:\n\n" + "\n".join(f"- {line}" for line in summary.info_findings)
    return text


def _pm_report(spec: TaskSpec, plan: DeliveryPlan, scripts: dict[str, str], summary: SelfReview,
               checklist: dict[str, list[CheckResult]], constraints: list[CheckResult],
               problems: list[str], measured=None, loadtest_plan: bool = False,
               discrepancies: int = 0) -> str:
    """2–4 sentences: what was delivered, what the review verified, what is still open.
    `measured`: the QA's LoadTestResults, when the task handed them over."""
    docs = ["デプロイ手順書"] + (["障害対応手順書"] if spec.wants("incident") else []) \
        + (["ポストモーテムテンプレート"] if spec.wants("postmortem") else []) \
        + ([f"性能テスト計画（{LOADTEST_PLAN}）"] if loadtest_plan else [])
    order = " → ".join(s.name for s in plan.stacks)
    mandatory = checklist["mandatory"]
    met = sum(1 for c in mandatory if c.met)
    checkable = [c for c in constraints if c.met is not None]
    lines = [f"CloudFormation テンプレート {len(plan.stacks)} 件（{order}、{'・'.join(plan.environments)} の"
             f"パラメータファイルつき）、Change Set スクリプト {len(scripts)} 種、{'・'.join(docs)}を作成しました。",
             f"セルフレビューの判定は {VERDICT[summary.verdict]}（❌ {summary.errors} 件、⚠️ {summary.warnings} 件）で、"
             f"必須の品質基準 {len(mandatory)} 項目中 {met} 項目"
             + (f"、制約 {len(checkable)} 件中 {sum(1 for c in checkable if c.met)} 件" if checkable else "")
             + "を満たすことをレビュー結果で確認しました。"]
    open_items = [] if measured is not None else ["性能テストは未実施（QA と連携して実施予定）"]
    failed = [r.name for r in measured.scenarios if not r.passed] if measured is not None else []
    open_items += [f"性能テスト「{name}」の目標未達への対応" for name in failed]
    if summary.warnings:
        ids = sorted({line.split()[1] for line in summary.findings if line.startswith("⚠️")})
        open_items.append(f"セルフレビューの警告 {summary.warnings} 件（{'、'.join(ids)}）の確認")
    open_items += [f"制約「{c.label}」は自動では確認できない" for c in constraints if c.met is None]
    open_items += [f"「{c.label}」が未達" for c in [*mandatory, *constraints] if c.met is False]
    if problems:
        open_items.append(f"タスクの {len(problems)} 項目は読み取れず対応していない（7. を参照）")
    if discrepancies:
        open_items.append(f"設計書との差異 {discrepancies} 件の Architect への確認（1. を参照）")
    if measured is not None:
        passed = len(measured.scenarios) - len(failed)
        lines.append(f"性能テストは QA の測定結果を 6. に記載しました（{len(measured.scenarios)} シナリオ中 "
                     f"{passed} 件が目標達成）。")
    lines.append("残っている作業: " + ("、".join(open_items) or "なし") + "。")
    return "\n".join(lines)


KINDS = (("infra/templates/", "cloudformation-template"), ("infra/parameters/", "parameters"),
         ("scripts/", "changeset-script"), (RUNBOOK, "runbook"), (INCIDENT, "incident-procedure"),
         (POSTMORTEM, "postmortem-template"), (report_writer.COST_ESTIMATE, "cost-estimate"),
         (LOADTEST_PLAN, "loadtest-plan"),
         (report_writer.REPORT, "report"))


def _files(out_dir: Path) -> list[DeliveredFile]:
    files = []
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        rel = _rel(path, out_dir)
        if rel == MANIFEST:
            continue
        kind = next((k for prefix, k in KINDS if rel == prefix or (prefix.endswith("/") and rel.startswith(prefix))), "other")
        if kind == "changeset-script" and not rel.endswith(".sh"):
            kind = "other"
        files.append(DeliveredFile(path=rel, kind=kind))
    return files


def _write_manifest(result: TaskResult, out_dir: Path) -> None:
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "task": result.task.title,
        "files": [f.model_dump() for f in result.files],
        "stacks": result.stacks,
        "scripts": result.scripts,
        "runbook": RUNBOOK,
        "report": result.report,
        "self_review": result.self_review.model_dump(),
        "section7": {k: [c.model_dump(exclude={"source"}) for c in v] for k, v in result.section7.items()},
        "constraints": [c.model_dump() for c in result.constraints],
        "prerequisites": result.prerequisites,
        "discrepancies": result.discrepancies,
        "problems": result.problems,
        "ok": result.ok,
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")


__all__ = ["handle_task", "TaskResult", "SelfReview", "DeliveredFile", "MANIFEST"]
