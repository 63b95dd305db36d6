"""Nothing the model says is believed without a look at the files.

Each evidence reference is checked against the parsed project: the line is one we sent (a
file, an infra section of a document, or a cross-document fact), the line exists, the quote
holds at least one whole line within `NEAR` lines of it (NFKC and whitespace normalised;
`[REDACTED]` stands for the masked value) — or names a resource's logical id with one of its
properties (`Database.MultiAZ`) — and a named resource exists in that file and holds the line.
Three characters of a line prove nothing; a whole line is what a reader can check.
A ❌/⚠️ item with at least one good reference becomes a finding (source `llm`) at that place;
one without becomes an info-level, location-free recommendation marked as unverified — never an
error or warning. ✅ items add nothing: the model cannot clear what the rules found. And a
model ❌ stays ❌ only where a deterministic ❌ stands on the same resource (or line): the model
alone never fails a project (`cap_uncorroborated`).
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


def _resource_span(project: Project, path: str, name: str) -> tuple[int, int] | None:
    """The lines a resource occupies: a CloudFormation resource up to the next one, a Terraform
    block to its end; None when the file has no such resource (or parameter)."""
    for template in project.templates:
        if template.path != path:
            continue
        starts = sorted(r.line for r in template.resources.values())
        if name in template.resources:
            start = template.resources[name].line
            later = [line for line in starts if line > start]
            return start, (later[0] - 1 if later else 10**9)
        if name in (template.parameters or {}):
            return 1, 10**9
    for tf in project.terraform:
        if tf.path == path:
            for block in tf.blocks:
                if getattr(block, "address", None) == name:
                    return block.line, block.end_line
    return None


_MEANINGFUL = re.compile(r"[0-9a-z\u3040-\u30ff\u4e00-\u9fff]")


def quote_problem(lines: list[str], line: int, quote: str,
                  resources: set[str]) -> str | None:
    """Why the quote does not hold a whole line near `line` (1-based), or None."""
    first = max(0, line - 1 - NEAR)
    window = [_squash(text) for text in lines[first:line + NEAR]]
    joined, spans, offset = "", [], 0
    for text in window:
        spans.append((offset, offset + len(text)))
        joined += text + " "
        offset += len(text) + 1
    parts = [re.escape(part) for part in _squash(quote).split("[redacted]")]
    pattern = re.compile(".*?".join(parts)) if any(parts) else None
    match = pattern.search(joined) if pattern else None
    if match:
        start, end = match.span()
        if any(start <= a and b <= end and _MEANINGFUL.search(text)
               for (a, b), text in zip(spans, window)):
            return None
    named = re.match(r"^\s*([A-Za-z][\w-]*)\s*[.:/ ]\s*(?:Properties\s*[.:/ ]\s*)?([A-Za-z][\w-]*)\s*$",
                     quote)
    if named and named.group(1) in resources:
        key = re.compile(rf"(^|[\s\"'{{,]){re.escape(named.group(2).casefold())}[\"']?\s*[:=]")
        if any(key.search(text) for text in window):
            return None
    if match:
        return "the quote is only part of a line (quote the whole line)"
    return "quoted text not found near this line"


def evidence_problem(project: Project, sent: Callable[[str, int], bool],
                     ev: Evidence) -> str | None:
    """Why this reference cannot be trusted, or None when it checks out."""
    if ev.file not in project.texts or not sent(ev.file, ev.line):
        return f"{ev.file}:{ev.line}: not part of what was sent"
    lines = project.texts[ev.file].split("\n")
    if not 1 <= ev.line <= len(lines):
        return f"{ev.file}:{ev.line}: no such line ({len(lines)} lines)"
    problem = quote_problem(lines, ev.line, ev.quote, _resources(project, ev.file))
    if problem:
        return f"{ev.file}:{ev.line}: {problem}"
    if ev.resource:
        span = _resource_span(project, ev.file, ev.resource)
        if span is None:
            return f"{ev.file}: no resource {ev.resource}"
        if not span[0] <= ev.line <= span[1]:
            return f"{ev.file}:{ev.line}: not inside {ev.resource} (lines {span[0]}-{span[1]})"
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


LOWERED_JA = "（決定的な指摘の裏付けがないため ⚠️ に留めた）"
LOWERED_EN = " (kept at ⚠️: no deterministic finding corroborates it)"


def _corroborates(rule: Finding, model: Finding) -> bool:
    """A deterministic ❌ on the same resource of the same file, or on a line near it."""
    if rule.suppressed or rule.severity is not Severity.ERROR or rule.file != model.file:
        return False
    if model.resource and rule.resource == model.resource:
        return True
    return bool(rule.line and model.line and abs(rule.line - model.line) <= NEAR)


def cap_uncorroborated(found: list[Finding], deterministic: list[Finding],
                       lang: str = "ja") -> list[str]:
    """Lower every model ❌ that no deterministic ❌ backs to ⚠️; say which, for the appendix."""
    lowered: list[str] = []
    for finding in found:
        if finding.severity is not Severity.ERROR:
            continue
        if any(_corroborates(rule, finding) for rule in deterministic):
            continue
        finding.severity = Severity.WARNING
        finding.message += LOWERED_EN if lang == "en" else LOWERED_JA
        lowered.append(f"{finding.id} ({finding.location()})")
    return lowered


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
