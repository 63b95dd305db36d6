"""checkov, in process: CloudFormation, Terraform, secrets and GitHub Actions runners.

The runners make no network call (the CLI's version check and guideline download are the ones
that do); we still set the switches that keep a future version from trying. One template with
a non-string `Type:` crashes checkov's whole CloudFormation scan, so a failed batch is retried
file by file: one bad file cannot hide the findings of the rest.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable

from sre_agent.analyzers.base import analyzer_error
from sre_agent.analyzers.checkov_map import classify
from sre_agent.models import Finding
from sre_agent.rules.base import RuleContext

OFFLINE_ENV = {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE",
               "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "CRITICAL"}


def quiet_checkov() -> None:
    """checkov logs check crashes with tracebacks; they are ours to report, not to print."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    for name in ("checkov", "bc_jsonpath_ng", "detect_secrets", "urllib3", "git"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL + 1)
        logger.propagate = False


class CheckovAnalyzer:
    name = "checkov"

    def version(self) -> str:
        from checkov.version import version

        return version

    def analyze(self, ctx: RuleContext) -> list[Finding]:
        quiet_checkov()
        from checkov.cloudformation.runner import Runner as CfnRunner
        from checkov.github_actions.runner import Runner as GhaRunner
        from checkov.secrets.runner import Runner as SecretsRunner
        from checkov.terraform.runner import Runner as TfRunner

        project = ctx.project
        cfn = [str(project.abs(t.path)) for t in project.templates]
        tf = [str(project.abs(t.path)) for t in project.terraform]
        secret_files = [str(project.abs(p)) for p in project.texts
                        if not p.endswith((".tf", ".tfvars"))]
        gha = [str(project.abs(p)) for p in project.workflows]
        findings: list[Finding] = []
        for framework, runner, files in (("cloudformation", CfnRunner, cfn),
                                         ("terraform", TfRunner, tf),
                                         ("secrets", SecretsRunner, secret_files),
                                         ("github_actions", GhaRunner, gha)):
            if files:
                findings += self._scan(ctx, framework, runner, files)
        return findings

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
        report = runner().run(root_folder=None, files=files, runner_filter=flt)
        reports = report if isinstance(report, list) else [report]
        return [self._finding(ctx, check, framework == "secrets")
                for rep in reports for check in rep.failed_checks]

    def _finding(self, ctx: RuleContext, check: Any, secret: bool) -> Finding:
        perspective, severity = classify(check.check_id)
        rel = os.path.relpath(check.file_abs_path, ctx.project.root).replace(os.sep, "/")
        resource: str | None = None if secret else str(check.resource)
        if resource and "." in resource and "::" in resource:   # "AWS::RDS::DBInstance.Database"
            resource = resource.rsplit(".", 1)[1]
        lines = check.file_line_range or [None]
        return Finding(
            id=f"checkov:{check.check_id}", source="checkov", severity=severity,
            perspective=perspective, file=rel, line=lines[0] or None,
            resource=resource, title=check.check_name,
            message=f"{check.check_name} ({resource})" if resource else check.check_name,
            remediation=ctx.text(f"checkov {check.check_id} の指摘に従って修正する",
                                 f"Fix as checkov {check.check_id} describes")
            + (f": {check.guideline}" if check.guideline else ""),
        )
