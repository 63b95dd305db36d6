"""checkov, in process: CloudFormation, Terraform, secrets and GitHub Actions runners.

The runners make no network call (the CLI's version check and guideline download are the ones
that do); we still set the switches that keep a future version from trying. One template with
a non-string `Type:` crashes checkov's whole CloudFormation scan, so a failed batch is retried
file by file: one bad file cannot hide the findings of the rest. Where a failed check lands
(and under which title) is `peer_catalogue`'s decision; checkov reports no severities offline.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any, Callable

from sre_agent.analyzers.base import ANALYZER_ERROR_ID, analyzer_error
from sre_agent.analyzers.peer_catalogue import place_checkov
from sre_agent.analyzers.toollogs import captured, checkov_imported, crashed_checks
from sre_agent.filecache import digest
from sre_agent.models import FileKind, FileStatus, Finding, Perspective, Severity
from sre_agent.rules.base import RuleContext
from sre_agent.workers import chunked

OFFLINE_ENV = {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE",
               "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "CRITICAL",
               # we already run checkov in its own worker process next to cfn-lint; its own
               # process pool would fight them for the two cores
               "CHECKOV_PARALLELIZATION_TYPE": "none"}


def quiet_checkov() -> None:
    """checkov logs check crashes with tracebacks; they are ours to report, not to print."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    for name in ("checkov", "bc_jsonpath_ng", "detect_secrets", "urllib3", "git"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL + 1)
        logger.propagate = False


def scan_yaml_as_lines() -> None:
    """detect-secrets re-parses every YAML file with pure-Python PyYAML to scan only its
    key/value pairs (about 30 % of checkov's secrets time on templates). Scanning the raw lines
    instead is faster and sees more: comments and block scalars (`ZipFile: |` code) too."""
    try:
        from detect_secrets.transformers import get_transformers
    except ImportError:  # detect-secrets layout changed: keep its default behaviour
        return
    transformers = get_transformers()
    if isinstance(transformers, list):
        transformers[:] = [t for t in transformers if type(t).__name__ != "YAMLTransformer"]


def warm() -> None:
    """Import what a checkov worker needs (in a process forked before the project is loaded)."""
    quiet_checkov()
    with checkov_imported():
        scan_yaml_as_lines()
        import checkov.cloudformation.runner  # noqa: F401
        import checkov.github_actions.runner  # noqa: F401
        import checkov.secrets.runner  # noqa: F401
        import checkov.terraform.runner  # noqa: F401


def task_for(payload: tuple[str, str, dict[str, str]]) -> Callable[[list[str]], list]:
    """A prewarmed worker's task: it never saw the parsed project, and needs only the root, the
    language and the texts of its files (checkov reads the files itself)."""
    from functools import partial
    from pathlib import Path

    from sre_agent.project import Project

    root, lang, texts = payload
    ctx = RuleContext(project=Project(root=Path(root), texts=texts), lang=lang)
    return partial(CheckovAnalyzer().analyze_items, ctx)


class CheckovAnalyzer:
    name = "checkov"
    warm = staticmethod(warm)

    def handover(self, ctx: RuleContext, work: list[list[str]]) -> tuple[Callable, tuple]:
        """What a prewarmed worker is sent for this work (see `task_for`)."""
        paths = {self.path_of(item) for chunk in work for item in chunk}
        texts = {path: ctx.project.texts[path] for path in paths if path in ctx.project.texts}
        return task_for, (str(ctx.project.root), ctx.lang, texts)

    def version(self) -> str:
        from checkov.version import version

        return version

    def _targets(self, ctx: RuleContext) -> dict[str, list[str]]:
        """Files per checkov framework, as paths relative to the project root."""
        project = ctx.project
        return {
            "cloudformation": [t.path for t in project.templates],
            "terraform": [t.path for t in project.terraform],
            # only files that parsed: detect-secrets parses YAML itself, and an alias bomb that
            # cfn-lint's guard refused would hang it
            # a technical standard's sample credentials illustrate a rule; they are nobody's secret
            "secrets": [r.path for r in project.files if r.status is FileStatus.REVIEWED
                        and r.kind is not FileKind.STANDARD
                        and r.path in project.texts and not r.path.endswith((".tf", ".tfvars"))],
            "github_actions": list(project.workflows),
        }

    def chunks(self, ctx: RuleContext) -> list[list[str]]:
        """Batches of `framework:path` keep checkov's per-run overhead (~35 ms) small; Terraform
        goes one module (directory) per batch so that variables resolve across its files."""
        targets = {fw: [f"{fw}:{p}" for p in paths] for fw, paths in self._targets(ctx).items()}
        by_dir: dict[str, list[str]] = {}
        for item in targets["terraform"]:
            path = item.split(":", 1)[1]
            by_dir.setdefault(path.rsplit("/", 1)[0] if "/" in path else ".", []).append(item)
        return (chunked(targets["cloudformation"], 8) + list(by_dir.values())
                + chunked(targets["secrets"], 25) + chunked(targets["github_actions"], 8))

    @staticmethod
    def path_of(item: str) -> str:
        return item.split(":", 1)[1]

    def analyze(self, ctx: RuleContext) -> list[Finding]:
        return self.analyze_files(ctx, [f for chunk in self.chunks(ctx) for f in chunk])

    def analyze_files(self, ctx: RuleContext, files: list[str]) -> list[Finding]:
        """`files` are `framework:path` items as `chunks` makes them."""
        return [f for _, found in self.analyze_items(ctx, files) for f in found]

    def analyze_items(self, ctx: RuleContext, files: list[str]) -> list[tuple[str | None, list[Finding]]]:
        """Findings per `framework:path` item, so that each can be cached on its own. A finding
        that names no file of its batch goes under None: that batch is not cached."""
        quiet_checkov()
        with checkov_imported():
            scan_yaml_as_lines()
            from checkov.cloudformation.runner import Runner as CfnRunner
            from checkov.github_actions.runner import Runner as GhaRunner
            from checkov.secrets.runner import Runner as SecretsRunner
            from checkov.terraform.runner import Runner as TfRunner

        runners = {"cloudformation": CfnRunner, "terraform": TfRunner,
                   "secrets": SecretsRunner, "github_actions": GhaRunner}
        by_framework: dict[str, list[str]] = {}
        for item in files:
            framework, path = item.split(":", 1)
            by_framework.setdefault(framework, []).append(path)
        results: list[tuple[str | None, list[Finding]]] = []
        for framework, paths in by_framework.items():
            found = self._scan(ctx, framework, runners[framework],
                               [str(ctx.project.abs(path)) for path in paths])
            per_item: dict[str | None, list[Finding]] = {f"{framework}:{p}": [] for p in paths}
            for finding in found:
                item = f"{framework}:{finding.file}"
                per_item.setdefault(item if item in per_item else None, []).append(finding)
            if None in per_item:   # unattributable: keep the findings, cache none of the batch
                results.append((None, [f for group in per_item.values() for f in group]))
            else:
                results.extend(per_item.items())
        return results

    def cache_key(self, ctx: RuleContext, item: str) -> str | None:
        """A file's content decides its result; a Terraform module's result depends on every
        Terraform file (variables, tfvars, local modules): keyed on all of them together."""
        framework, path = item.split(":", 1)
        if framework == "terraform":
            content = ctx.project.memo("terraform-digest", lambda: _terraform_digest(ctx.project))
        elif path in ctx.project.texts:
            content = digest(ctx.project.texts[path])
        else:
            return None
        return f"checkov|{self.version()}|{ctx.lang}|{item}|{content}"

    def _scan(self, ctx: RuleContext, framework: str, runner: Callable[[], Any],
              files: list[str]) -> list[Finding]:
        try:
            return self._report(ctx, framework, runner, files)
        except Exception:
            if len(files) == 1:
                raise
        findings: list[Finding] = []
        for file in files:
            try:
                findings += self._report(ctx, framework, runner, [file])
            except Exception as exc:
                rel = os.path.relpath(file, ctx.project.root).replace(os.sep, "/")
                findings.append(analyzer_error(ctx, f"checkov ({framework})",
                                               f"{type(exc).__name__}: {exc}", file=rel))
        return findings

    def _report(self, ctx: RuleContext, framework: str, runner: Callable[[], Any],
                files: list[str]) -> list[Finding]:
        from checkov.runner_filter import RunnerFilter

        flt = RunnerFilter(framework=[framework], show_progress_bar=False,
                           enable_secret_scan_all_files=framework == "secrets")
        with captured() as records:
            report = runner().run(root_folder=None, files=files, runner_filter=flt)
        reports = report if isinstance(report, list) else [report]
        return [self._finding(ctx, check, framework == "secrets")
                for rep in reports for check in rep.failed_checks] + [
            self._crash(ctx, crash) for crash in crashed_checks(records)]

    def _crash(self, ctx: RuleContext, crash: dict[str, str]) -> Finding:
        """A check that raised inside checkov: it did not run on this resource — say so."""
        rel = os.path.relpath(crash["file"], ctx.project.root).replace(os.sep, "/")
        check, error = crash["check"], crash["error"] or "an exception"
        return Finding(
            id=ANALYZER_ERROR_ID, source="checkov", severity=Severity.INFO,
            perspective=Perspective.OPERABILITY, file=rel, resource=crash["resource"],
            related_ids=[f"checkov:{check}"],
            title=ctx.text(f"checkov のチェック {check} が実行できなかった",
                           f"checkov check {check} could not run"),
            message=ctx.text(f"checkov の {check} が {crash['resource']} で例外を出して止まったため、"
                             f"この項目は未確認（{error}）",
                             f"checkov's {check} raised on {crash['resource']}, so this item is "
                             f"unchecked ({error})"),
            remediation=ctx.text(f"{check} の観点は手で確認する（checkov の不具合。`sre-review -v` で詳細）",
                                 f"Check what {check} covers by hand (a checkov bug; `sre-review -v` "
                                 "shows the traceback)"))

    def _finding(self, ctx: RuleContext, check: Any, secret: bool) -> Finding:
        place = place_checkov(check.check_id, check.check_name)
        rel = os.path.relpath(check.file_abs_path, ctx.project.root).replace(os.sep, "/")
        resource: str | None = None if secret else str(check.resource)
        if resource and "." in resource and "::" in resource:   # "AWS::RDS::DBInstance.Database"
            resource = resource.rsplit(".", 1)[1]
        lines = check.file_line_range or [None]
        title = ctx.text(place.ja, place.en)
        # A curated check's message is our title again (the renderer then shows just where);
        # checkov's English name stays only for the appendix and for the kind of secret.
        name = title if place.curated else check.check_name
        if secret and place.curated:
            name = f"{title}: {check.check_name}"
        severity = place.severity
        if secret and lines[0] and not _holds_a_secret(ctx, rel, lines[0]):
            severity = Severity.INFO  # `user:password@host…xxxxx`, `token=msg['Token']`: no value
            name += ctx.text("（検出箇所の値はプレースホルダー・式で、秘密の値ではない）",
                             " (the flagged value is a placeholder or an expression, not a secret)")
        return Finding(
            id=f"checkov:{check.check_id}", source="checkov", severity=severity,
            perspective=place.perspective, file=rel, line=lines[0] or None,
            resource=resource, title=title,
            message=f"{name} ({resource})" if resource else name,
            remediation=ctx.text(f"checkov {check.check_id} の指摘に従って修正する",
                                 f"Fix as checkov {check.check_id} describes")
            + (f": {check.guideline}" if check.guideline else ""),
        )


def _terraform_digest(project: Any) -> str:
    """Every Terraform file of the project, once per review (each module's key shares it)."""
    texts = sorted((t.path, project.texts.get(t.path, "")) for t in project.terraform)
    return digest("\0".join(f"{path}\0{text}" for path, text in texts))


_SAMPLE_PASSWORD = re.compile(r"^(?:password|passw0rd|pass|admin|test|example|sample|demo|secret|changeme|user)"
                              r"[\d!@#_-]*$", re.IGNORECASE)
_QUOTED_VALUE = re.compile(r"""["']([^"'\s]{8,})["']|[=:]\s*([^\s"'#,;]{8,})""")


def _holds_a_secret(ctx: RuleContext, path: str, line: int) -> bool:
    """Whether the flagged line holds a value that looks like a real secret by our own test
    (SEC001's): detect-secrets flags keywords and entropy, so a format example or a code
    expression reads as a leak."""
    from sre_agent.rules.sec.sec001_literal_secret import literal_secret, url_password

    lines = ctx.project.texts.get(path, "").splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    if url_password(text):
        return True
    for match in _QUOTED_VALUE.finditer(text):
        value = match.group(1) or match.group(2)
        if any(ch in value for ch in "[]()$@{}") or "://" in value:
            continue
        if path.endswith((".md", ".markdown")) and _SAMPLE_PASSWORD.match(value):
            continue  # `"password": "password123"` in a README's localhost example
        if literal_secret(value) and re.search(r"\d", value) and re.search(r"[A-Za-z]", value):
            return True
    return False
