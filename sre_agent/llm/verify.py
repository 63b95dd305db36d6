"""Nothing the model says is believed without a look at the files.

Each evidence reference is checked against the parsed project: the line is one we sent (a
file, an infra section of a document, or a cross-document fact), the line exists, the quoted
text is on that line or within `NEAR` lines of it (NFKC and whitespace normalised), and the
named resource exists in that file. A ❌/⚠️ item with at least one good
reference becomes a finding (source `llm`) at that place; one without becomes an info-level,
location-free recommendation marked as unverified — never an error or warning. ✅ items add
nothing: the model cannot clear what the rules found.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable

from sre_agent.llm.schema import Evidence, LlmReview, ReviewItem
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.project import Project

NEAR = 2
CODES = {Perspective.OPERABILITY: "OPS", Perspective.INFRASTRUCTURE: "INF",
         Perspective.MONITORING: "MON", Perspective.COST: "CST"}
UNVERIFIED_JA = "（根拠未確認の推奨）"
UNVERIFIED_EN = "(unverified recommendation) "


def _squash(text: str) -> str:
    """Compare quotes loosely: NFKC (full-width brackets, digits), whitespace, case."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


def _resources(project: Project, path: str) -> set[str]:
    names: set[str] = set()
    for template in project.templates:
        if template.path == path:
            names |= set(template.resources)
            names |= set(template.parameters or {})
    for tf in project.terraform:
        if tf.path == path:
            names |= {block.address for block in tf.blocks if getattr(block, "address", None)}
    return names


def evidence_problem(project: Project, sent: Callable[[str, int], bool],
                     ev: Evidence) -> str | None:
    """Why this reference cannot be trusted, or None when it checks out."""
    if ev.file not in project.texts or not sent(ev.file, ev.line):
        return f"{ev.file}:{ev.line}: not part of what was sent"
    lines = project.texts[ev.file].split("\n")
    if not 1 <= ev.line <= len(lines):
        return f"{ev.file}:{ev.line}: no such line ({len(lines)} lines)"
    quote = _squash(ev.quote.replace("[REDACTED]", ""))
    window = _squash("\n".join(lines[max(0, ev.line - 1 - NEAR):ev.line + NEAR]))
    if not quote or quote not in window:
        return f"{ev.file}:{ev.line}: quoted text not found near this line"
    if ev.resource and ev.resource not in _resources(project, ev.file):
        return f"{ev.file}: no resource {ev.resource}"
    return None


def findings_from(review: LlmReview, project: Project, sent: Callable[[str, int], bool],
                  lang: str = "ja",
                  numbering: dict[Perspective, int] | None = None
                  ) -> tuple[list[Finding], list[str]]:
    """Findings for the verified items, info recommendations for the rest, and why each
    reference was rejected (for the appendix and the debug log). `numbering` carries the
    item numbers across the requests of a split pass, so ids stay unique."""
    numbering = numbering if numbering is not None else {}
    findings: list[Finding] = []
    rejected: list[str] = []
    for perspective in Perspective:
        items: list[ReviewItem] = getattr(review, perspective.value)
        for item in (i for i in items if i.mark != "✅"):
            numbering[perspective] = numbering.get(perspective, 0) + 1
            rule_id = f"LLM-{CODES[perspective]}-{numbering[perspective]:03d}"
            good = []
            for ev in item.evidence:
                problem = evidence_problem(project, sent, ev)
                if problem:
                    rejected.append(f"{rule_id}: {problem}")
                else:
                    good.append(ev)
            findings.append(_finding(item, rule_id, perspective, good, lang))
    return findings, rejected


def _finding(item: ReviewItem, rule_id: str, perspective: Perspective, good: list[Evidence],
             lang: str) -> Finding:
    remediation = item.recommendation or item.reason
    if not good:
        title = (UNVERIFIED_EN if lang == "en" else UNVERIFIED_JA) + item.judgement
        return Finding(id=rule_id, source="llm", severity=Severity.INFO, perspective=perspective,
                       message=item.reason, remediation=remediation, title=title)
    first = good[0]
    return Finding(id=rule_id, source="llm",
                   severity=Severity.ERROR if item.mark == "❌" else Severity.WARNING,
                   perspective=perspective, file=first.file, line=first.line,
                   resource=first.resource, message=item.reason, remediation=remediation,
                   title=item.judgement)
