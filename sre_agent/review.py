"""The core: `review(paths, config) -> Review`. The CLI and other adapters only call this."""

from __future__ import annotations

import logging
import os
import time
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Callable, Iterator, Literal

from pydantic import BaseModel

from sre_agent.analyzers.base import ANALYZER_ERROR_ID, Analyzer, analyzer_error, run_guarded
from sre_agent.models import (
    AnalyzerRun, Finding, LlmStatus, Passed, Review, Severity, verdict_for,
)
from sre_agent.project import (
    DEFAULT_MAX_BYTES, FRAMEWORK_DIR, Project, framework_standards, load_project, phase_documents,
    project_root, relative, standard_files,
)
from sre_agent.config import is_reported, severity_override
from sre_agent.rules.base import RuleContext, all_rules
from sre_agent import suppressions
from sre_agent.filecache import FileResults, full_key
from sre_agent.workers import Prewarmed, WorkerRun, drive_all, few_collections

LOG = logging.getLogger("sre_agent")


class ReviewConfig(BaseModel):
    lang: Literal["ja", "en"] = "ja"
    mode: Literal["light", "deep"] = "deep"
    region: str = "ap-northeast-1"
    max_file_bytes: int = DEFAULT_MAX_BYTES
    analyzers: tuple[str, ...] = ("sre", "cfn-lint", "checkov")
    workers: bool = True        # cfn-lint and checkov in forked processes, in parallel
    file_timeout: float = 60.0  # seconds an analyzer may spend on one file before it is stopped
    llm: Literal["auto", "on", "off"] = "auto"  # auto = on when ANTHROPIC_API_KEY is set
    model: str | None = None                    # else SRE_AGENT_MODEL, else llm.config.DEFAULT_MODEL
    standards: str | None = None  # the project's own standards folder (--standards DIR)
    cache: bool = False         # reuse the result of an identical earlier run (cache.py); CLI: on
    # The project's configuration (config.py): which ids are reported, agreed severities, its own
    # environment spellings (→ prod / stg / dev / test) and the region its prices are in.
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: dict[str, Literal["error", "warning", "info"]] = {}
    environments: dict[str, str] = {}
    price_region: str | None = None
    today: date | None = None         # the day expiring suppressions are judged on (None: today)
    framework_standards: bool = True  # an agent framework's .claude/docs/40_standards/ when present


class SreRulesAnalyzer:
    """Our catalogue; each rule is guarded on its own so one broken rule costs only itself."""

    name = "sre-rules"

    def __init__(self) -> None:
        self.passed: list[Passed] = []
        self.accepted: list[Finding] = []  # findings the design accepts on purpose (kept info)

    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("sre-agent")
        except PackageNotFoundError:
            return "dev"

    def analyze(self, ctx: RuleContext) -> list[Finding]:
        findings: list[Finding] = []
        if ctx.project.scripts:
            from sre_agent.analyzers.shellcheck import shellcheck_started

            shellcheck_started(ctx.project)   # runs while the other rules do
        for rule_class in all_rules():
            rule = rule_class()
            try:
                found = list(rule.check(ctx))
            except Exception as exc:
                LOG.debug("rule %s crashed", rule.id, exc_info=True)
                findings.append(analyzer_error(ctx, rule.id, f"{type(exc).__name__}: {exc}"))
                continue
            accepted = _accepted_by_design(rule, ctx, found) or getattr(rule, "accepted", False)
            if accepted:
                self.accepted += [f for f in found if f.severity is Severity.INFO]
            findings += found
            if not accepted and not any(f.severity is not Severity.INFO for f in found):
                evidence = rule.coverage(ctx)
                if evidence:
                    self.passed.append(Passed(rule_id=rule.id, perspective=rule.perspective,
                                              title=ctx.text(rule.passed_ja, rule.passed_en),
                                              evidence=evidence))
        return findings


def _accepted_by_design(rule, ctx: RuleContext, found: list[Finding]) -> bool:
    """Findings of a risk the design documents accept on purpose become info that cites the
    decision: a PoC documented as single-AZ is not an oversight, and stays visible (and earns
    no ✅). True when something was accepted."""
    if rule.accepted_by_design is None or not any(f.severity is not Severity.INFO for f in found):
        return False
    from sre_agent.docfacts import facts_of

    facts = facts_of(ctx.project)
    decisions = {"single-az": facts.single_az_decisions, "fixed-capacity": facts.fixed_capacity_decisions,
                 }.get(rule.accepted_by_design, [])
    if not decisions:
        return False
    where = ", ".join(f"{d.file}:{d.line}" for d in decisions[:2])
    for finding in found:
        if finding.severity is not Severity.INFO:
            finding.severity = Severity.INFO
            finding.message += ctx.text(
                f"（設計書 {where} で{'単一AZ・冗長化なし' if rule.accepted_by_design == 'single-az' else 'タスク数固定（Auto Scaling なし）'}をリスク受容として明記）",
                f" (accepted in the design: {'single AZ / no redundancy' if rule.accepted_by_design == 'single-az' else 'a fixed task count'}, {where})")
    return True


def _analyzers(config: ReviewConfig, rules: SreRulesAnalyzer) -> list[Analyzer]:
    from sre_agent.analyzers.cfnlint import CfnLintAnalyzer
    from sre_agent.analyzers.checkov import CheckovAnalyzer

    available: dict[str, Analyzer] = {"sre": rules, "cfn-lint": CfnLintAnalyzer(config.region),
                                      "checkov": CheckovAnalyzer()}
    return [available[name] for name in config.analyzers if name in available]


def merge_equivalents(findings: list[Finding]) -> list[Finding]:
    """A cfn-lint/checkov finding that one of our rules also reports on the same resource (a
    shellcheck code on the same script line) folds into ours: one line per problem, both ids
    kept, the worse severity wins."""
    equivalents = {rule.id: set(rule.equivalents) for rule in all_rules() if rule.equivalents}
    ours = [f for f in findings if f.id in equivalents]
    merged: set[int] = set()
    for index, other in enumerate(findings):
        for mine in ours:
            if (equivalents[mine.id] & {other.id, *other.related_ids} and other is not mine
                    and other.file == mine.file and other.resource == mine.resource
                    and (mine.resource is not None or other.line == mine.line)):
                for twin in (other.id, *other.related_ids):  # DEP016 carries the shellcheck code
                    if twin not in mine.related_ids:
                        mine.related_ids.append(twin)
                if other.severity.rank > mine.severity.rank:
                    mine.severity = other.severity
                merged.add(index)
                break
    return [f for i, f in enumerate(findings) if i not in merged]


def _prewarm(config: ReviewConfig) -> dict[str, Prewarmed]:
    """checkov's import outlasts our whole parse on an edit rerun: start it first."""
    if not config.workers or "checkov" not in config.analyzers:
        return {}
    from sre_agent.analyzers.checkov import warm

    return {"checkov": Prewarmed("checkov", warm)}


def review_project(project: Project, config: ReviewConfig, llm_backend=None,
                   focus: list[str] | None = None,
                   prewarmed: dict[str, Prewarmed] | None = None) -> Review:
    """`llm_backend`: a `sre_agent.llm.MessagesBackend` to use instead of the anthropic SDK
    (e.g. `sre_agent.testing.FakeLLM`); it turns the LLM pass on unless `config.llm` is off.
    `focus`: the named files and folders of a light review; the rest of the project is context
    (parameter files, parent stacks, scripts, alarms) and reports nothing of its own."""
    with project_settings(config):
        return _review_project(project, config, llm_backend, focus, prewarmed)


def _review_project(project: Project, config: ReviewConfig, llm_backend,
                    focus: list[str] | None, prewarmed: dict[str, Prewarmed] | None) -> Review:
    ctx = RuleContext(project=project, lang=config.lang, mode=config.mode)
    rules = SreRulesAnalyzer()
    findings, runs = _run_analyzers(ctx, config, rules, focus, prewarmed)
    _judge_drafts_as_info(project, findings, config.lang)
    if focus is not None:
        findings = [f for f in findings if f.file and in_focus(f.file, focus)]
        project = _focused(project, focus)
    if project.scripts:
        runs.append(_shellcheck_run())
    findings = merge_equivalents(findings)
    for finding in rules.accepted:  # a merged checkov twin must not lift an accepted risk back to ⚠️
        finding.severity = Severity.INFO
    findings = _as_configured(findings, config)
    muted = suppressions.collect(project)
    suppressions.apply(findings, muted)   # before the model: a muted ❌ backs no model ❌
    llm_status, llm_findings = _llm_pass(project, findings, config, llm_backend)
    suppressions.apply(llm_findings, muted)
    findings += llm_findings   # added only: the verdict below is computed over all of them
    findings.sort(key=Finding.sort_key)
    verdict = verdict_for(findings)
    without_model = verdict_for([f for f in findings if f.source != "llm"])
    if verdict != without_model:
        llm_status.verdict_moved_from = without_model
    return Review(
        root=".", verdict=verdict, files=project.files, findings=findings,
        llm=llm_status,
        passed=[p for p in rules.passed if not _has_problem(findings, p.rule_id)
                and is_reported(p.rule_id, config.select, config.ignore)],
        analyzers=runs, mode=config.mode, standards=_standards_in_force(config, project.root),
    )


def _as_configured(findings: list[Finding], config: ReviewConfig) -> list[Finding]:
    """The project's `select` / `ignore` prefixes and agreed severities; a user's severity is
    the last word (it outranks a design-accepted risk and a merged twin)."""
    kept = [f for f in findings if is_reported(f.id, config.select, config.ignore)]
    for finding in kept if config.severity else ():
        wanted = severity_override(finding.id, config.severity)
        if wanted is not None:
            finding.severity = Severity(wanted)
    return kept


@contextmanager
def project_settings(config: ReviewConfig) -> Iterator[None]:
    """What the configuration changes beyond the findings: environment spellings, the price
    region and the date suppressions expire against, for the review running now."""
    from sre_agent.cost import CONFIGURED_REGION
    from sre_agent.environments import project_aliases

    with ExitStack() as stack:
        stack.enter_context(project_aliases(config.environments))
        stack.enter_context(suppressions.review_date(config.today))
        token = CONFIGURED_REGION.set(config.price_region)
        stack.callback(CONFIGURED_REGION.reset, token)
        yield


def _standards_in_force(config: ReviewConfig, root: Path | None = None) -> list[str]:
    """The project's own standards (`--standards DIR`, or an agent framework's infrastructure
    standards) replace ours; either way they are named — inside the project, by their path."""
    if config.standards:
        folder = Path(config.standards)
        inside = root is not None and _inside(folder, root)
        return [relative(p, root) if inside else f"{folder.as_posix()}/{p.relative_to(folder).as_posix()}"
                for p in standard_files(folder)]
    from sre_agent.llm.prompts import bundled_standards

    return [f"sre-agent standards/{s['name']}" for s in bundled_standards()]


def _judge_drafts_as_info(project: Project, findings: list[Finding], lang: str) -> None:
    """A template that nothing deploys is not production: what is wrong in it is worth knowing,
    not worth a ❌ (an old layout kept beside the real stacks, a draft)."""
    from sre_agent.iac.deployments import undeployed_templates

    drafts = undeployed_templates(project)
    note = ("（このテンプレートはデプロイ手順・スクリプト・親スタックのどこからも使われていない）" if lang == "ja"
            else " (no deploy command, script or parent stack uses this template)")
    for finding in findings:
        if finding.file in drafts and finding.severity is not Severity.INFO:
            finding.severity = Severity.INFO
            finding.message += note


def _focused(project: Project, focus: list[str]) -> Project:
    """The named part of the project: what a light review reports on and sends to the LLM."""
    def keep(items: list, path=lambda item: item.path) -> list:
        return [item for item in items if in_focus(path(item), focus)]
    return replace(project, files=keep(project.files), templates=keep(project.templates),
                   terraform=keep(project.terraform), scripts=keep(project.scripts),
                   documents=keep(project.documents), parameter_sets=keep(project.parameter_sets),
                   workflows=keep(project.workflows, str),
                   texts={k: v for k, v in project.texts.items() if in_focus(k, focus)})


def in_focus(path: str, focus: list[str]) -> bool:
    return any(f in ("", ".") or path == f or path.startswith(f.rstrip("/") + "/") for f in focus)


def find_project_root(start: Path) -> Path | None:
    """The project a named file belongs to, found as git and agent frameworks find it: the
    nearest folder above with `.git` or `.claude/`, else with both `docs/` and `infra/`."""
    folders = [start.resolve(), *start.resolve().parents] if start.is_dir() else list(start.resolve().parents)
    for markers in ((".git",), (".claude",), ("docs", "infra")):
        for folder in folders:
            if all((folder / m).exists() for m in markers):
                return folder
    return None


def _run_analyzers(ctx: RuleContext, config: ReviewConfig, rules: SreRulesAnalyzer,
                   focus: list[str] | None = None, prewarmed: dict[str, Prewarmed] | None = None
                   ) -> tuple[list[Finding], list[AnalyzerRun]]:
    """Analyzers with per-file work (cfn-lint, checkov) go to worker processes with a time
    budget per file; the others (our rules, which read the whole project) run here meanwhile."""
    prewarmed = prewarmed or {}
    findings: list[Finding] = []
    runs: list[AnalyzerRun] = []
    pooled: list[tuple[Analyzer, WorkerRun, dict[str, str], list[Finding]]] = []
    local: list[Analyzer] = []
    stored = FileResults() if config.cache else None
    for analyzer in _analyzers(config, rules):
        chunks = getattr(analyzer, "chunks", None)
        if config.workers and chunks is not None:
            work = chunks(ctx)
            if focus is not None:  # per-file tools look only at the named files
                path_of = getattr(analyzer, "path_of", lambda item: item)
                work = [kept for chunk in work
                        if (kept := [i for i in chunk if in_focus(path_of(i), focus)])]
            work, keys, cached = _split_cached(analyzer, ctx, work, stored)
            run = WorkerRun(analyzer.name, partial(analyzer.analyze_items, ctx), work,
                            config.file_timeout)
            if analyzer.name in prewarmed and work and hasattr(analyzer, "handover"):
                run.prewarmed = prewarmed[analyzer.name]
                run.handover = analyzer.handover(ctx, work)
            pooled.append((analyzer, run, keys, cached))
        else:
            local.append(analyzer)

    def run_local() -> None:
        for analyzer in local:
            found, run = run_guarded(analyzer, ctx)
            run.files = _files_for(analyzer.name, ctx.project)
            findings.extend(found)
            runs.append(run)

    started = time.perf_counter()
    drive_all([worker for _, worker, _, _ in pooled], while_waiting=run_local)
    elapsed = round(time.perf_counter() - started, 3)
    fresh: dict[str, list[Finding]] = {}
    for analyzer, worker, keys, cached in pooled:
        path_of = getattr(analyzer, "path_of", lambda item: item)
        results = list(cached)
        for item, found in worker.outcome.results:
            results.extend(found)
            if item in keys:
                fresh[keys[item]] = found
        findings.extend(sorted(results, key=_total_order))  # helpers finish in any order
        findings.extend(analyzer_error(ctx, analyzer.name, failure.reason, file=path_of(failure.file))
                        for failure in worker.outcome.failures)
        failed = len(worker.outcome.failures)
        runs.append(AnalyzerRun(name=analyzer.name, version=analyzer.version(), seconds=elapsed,
                                files=_files_for(analyzer.name, ctx.project),
                                error=f"{failed} file(s) not analyzed" if failed else None,
                                checks_not_run=sorted({check for f in results if f.id == ANALYZER_ERROR_ID
                                                       for check in f.related_ids})))
    if stored is not None:
        stored.put_many(fresh)
        stored.close()
    order = {name: i for i, name in enumerate(config.analyzers)}
    runs.sort(key=lambda r: order.get("sre" if r.name == "sre-rules" else r.name, 99))
    return findings, runs


def _split_cached(analyzer: Analyzer, ctx: RuleContext, work: list[list[str]],
                  stored: FileResults | None) -> tuple[list[list[str]], dict[str, str], list[Finding]]:
    """The work still to run, the cache key of each item in it, and the cached findings of the
    rest. An analyzer without `cache_key`, or an item it cannot key, always runs."""
    key_of = getattr(analyzer, "cache_key", None)
    if key_of is None or stored is None:
        return work, {}, []
    keys = {item: full_key(key) for chunk in work for item in chunk
            if (key := key_of(ctx, item)) is not None}
    hits = stored.get_many(list(keys.values()))
    cached: list[Finding] = []
    left: list[list[str]] = []
    for chunk in work:
        kept = []
        for item in chunk:
            if keys.get(item) in hits:
                cached.extend(hits[keys[item]])
            else:
                kept.append(item)
        if kept:
            left.append(kept)
    return left, {item: key for item, key in keys.items() if key not in hits}, cached


def _total_order(finding: Finding) -> tuple:
    """Cached and fresh results must come out in the same order as a cold run's."""
    return (*finding.sort_key(), finding.resource or "", finding.message, finding.title or "")


def _llm_pass(project: Project, findings: list[Finding], config: ReviewConfig,
              backend) -> tuple[LlmStatus, list[Finding]]:
    from sre_agent.llm.config import settings_for
    from sre_agent.llm.review_pass import run_llm_pass

    settings = settings_for(config.llm, config.model, config.mode, injected=backend is not None)
    settings.standards_dir = config.standards
    return run_llm_pass(project, list(findings), settings, backend, config.lang)


def _shellcheck_run() -> AnalyzerRun:
    """shellcheck runs inside rule DEP016; listed here so the appendix names its version."""
    from sre_agent.analyzers.shellcheck import shellcheck_version

    try:
        return AnalyzerRun(name="shellcheck", version=shellcheck_version())
    except Exception as exc:
        return AnalyzerRun(name="shellcheck", version="unknown", error=str(exc))


def _has_problem(findings: list[Finding], rule_id: str) -> bool:
    return any(f.id == rule_id and not f.suppressed and f.severity is not Severity.INFO
               for f in findings)


def _files_for(name: str, project: Project) -> int:
    if name == "cfn-lint":
        return len(project.templates)
    if name == "checkov":
        return len(project.templates) + len(project.terraform) + len(project.texts)
    return sum(1 for f in project.files if f.status.value == "reviewed")


def review(paths: list[str | Path], config: ReviewConfig | None = None,
           llm_backend=None, progress: Callable[[str], None] | None = None) -> Review:
    """Review the given files and folders; raises FileNotFoundError for a path that is not there.
    `progress` is told each stage as it starts ("load", "analyze"), for a progress display."""
    config = config or ReviewConfig()
    report = progress or (lambda stage: None)
    resolved = [Path(p) for p in paths]
    for path in resolved:
        if not path.exists() and not path.is_symlink():
            raise FileNotFoundError(str(path))
    loaded, focus = resolved, None
    root = find_project_root(resolved[0]) if config.mode == "light" else None
    if root is not None and all(_inside(p, root) for p in resolved):
        loaded, focus = [root], [relative(p, root) if p.resolve() != root else "." for p in resolved]
    if focus is None and config.mode == "deep":
        loaded = _with_phase_documents(loaded)
    config = _with_framework_standards(config, root if focus is not None else project_root(loaded))
    key = None
    if config.cache and llm_backend is None and not _llm_requested(config):
        from sre_agent import cache

        # the date is part of the key: a suppression may expire overnight
        key = cache.fingerprint(loaded, config.model_dump_json(exclude={"cache"}) + repr(focus)
                                + (config.today or date.today()).isoformat(), config.max_file_bytes)
        cached = cache.load(key)
        if cached is not None:
            return cached
    prewarmed = _prewarm(config)
    try:
        with few_collections(), project_settings(config):
            report("load")
            project = load_project(loaded, max_bytes=config.max_file_bytes)
            report("analyze")
            result = review_project(project, config, llm_backend, focus, prewarmed)
    finally:
        for process in prewarmed.values():
            process.close()
    if key is not None:
        cache.store(key, result)
    return result


def _with_framework_standards(config: ReviewConfig, root: Path | None) -> ReviewConfig:
    """An agent framework project's own infrastructure standards replace ours, unless
    `--standards` named others (or the caller turned this off)."""
    if config.standards or not config.framework_standards or root is None:
        return config
    folder = framework_standards(root)
    return config.model_copy(update={"standards": str(folder)}) if folder else config


def _with_phase_documents(loaded: list[Path]) -> list[Path]:
    """`/check all` reads the framework's phase documents whatever part of the project was
    named: a deep review inside a framework project (`.claude/`) adds those it was not given."""
    root = find_project_root(loaded[0])
    if root is None or not (root / FRAMEWORK_DIR).is_dir() or not all(_inside(p, root) for p in loaded):
        return loaded
    added = [p for p in phase_documents(root).values()
             if p is not None and not any(_inside(p, given) for given in loaded)]
    return [*loaded, *added]


def _inside(path: Path, root: Path) -> bool:
    root = root.resolve()
    return path.resolve() == root or root in path.resolve().parents


def _llm_requested(config: ReviewConfig) -> bool:
    return config.llm == "on" or (config.llm == "auto" and bool(os.environ.get("ANTHROPIC_API_KEY")))


__all__ = ["ReviewConfig", "project_settings", "review", "review_project", "relative"]
