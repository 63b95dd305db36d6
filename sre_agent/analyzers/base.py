"""The one small interface every analyzer implements, and the guard that runs them.

An analyzer that raises is turned into a finding that names it: one broken analyzer must never
take the whole review down, and the reader must see that part of the review is missing.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Protocol

from sre_agent.models import AnalyzerRun, Finding, Perspective, Severity
from sre_agent.rules.base import RuleContext

LOG = logging.getLogger("sre_agent")
ANALYZER_ERROR_ID = "sre-agent:analyzer-error"


class Analyzer(Protocol):
    name: str

    def version(self) -> str: ...

    def analyze(self, ctx: RuleContext) -> list[Finding]: ...


def run_guarded(analyzer: Analyzer, ctx: RuleContext) -> tuple[list[Finding], AnalyzerRun]:
    started = time.perf_counter()
    try:
        version = analyzer.version()
    except Exception:  # a missing tool is reported by analyze() below
        version = "unknown"
    run = AnalyzerRun(name=analyzer.name, version=version)
    try:
        findings = analyzer.analyze(ctx)
    except Exception as exc:
        LOG.debug("analyzer %s crashed:\n%s", analyzer.name, traceback.format_exc())
        run.error = f"{type(exc).__name__}: {exc}"
        findings = [analyzer_error(ctx, analyzer.name, run.error)]
    run.seconds = round(time.perf_counter() - started, 3)
    return findings, run


def analyzer_error(ctx: RuleContext, name: str, detail: str, file: str | None = None) -> Finding:
    return Finding(
        id=ANALYZER_ERROR_ID, source="sre", severity=Severity.WARNING,
        perspective=Perspective.OPERABILITY, file=file, line=None,
        title=ctx.text(f"{name} の解析が失敗", f"{name} failed"),
        message=ctx.text(f"{name} が実行できず、このレビューには {name} の結果が含まれない: {detail}",
                         f"{name} could not run, so its results are missing from this review: {detail}"),
        remediation=ctx.text("`sre-review -v` で詳細を確認し、ツールのインストールを見直す",
                             "Rerun with `sre-review -v` for details and check the tool's installation"),
    )
