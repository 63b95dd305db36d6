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
_NUMBERING = re.compile(r"^\s*\d+\s*\|\s?")      # the line numbers the model was shown
_NAMED = re.compile(r"^\s*([A-Za-z][\w-]*)\s*[.:/ ]\s*(?:Properties\s*[.:/ ]\s*)?([A-Za-z][\w-]*)\s*$")
NOT_PROPERTIES = {"type", "properties", "dependson", "condition", "metadata"}
# What the model saw at (path, line) — the redacted text we sent — or None when not sent.
SentText = Callable[[str, int], "str | None"]


def _meaningful(text: str) -> bool:
    return len(_MEANINGFUL.findall(text)) >= 3


def matched_line(sent: SentText, path: str, line: int, quote: str) -> int | None:
    """The line the quote proves: the quoted lines must be consecutive sent lines within NEAR of
    `line` — every middle line whole, the first a line's end, the last a line's start — and at
    least one of them a whole, meaningful line. Compared with what was sent (so `[REDACTED]` is
    matched as written) after NFKC, whitespace and case folding; the `  98| ` numbering the
    model saw may be kept. Returns the first whole line, or None."""
    quoted = [_squash(_NUMBERING.sub("", part)) for part in quote.split("\n")]
    while quoted and not quoted[0]:
        quoted.pop(0)
    while quoted and not quoted[-1]:
        quoted.pop()
    if not quoted:
        return None
    for start in range(line - NEAR - len(quoted) + 1, line + NEAR + 1):
        texts = [sent(path, start + k) for k in range(len(quoted))]
        if any(text is None for text in texts):
            continue
        window = [_squash(text or "") for text in texts]
        whole: int | None = None
        fits = True
        for k, (part, text) in enumerate(zip(quoted, window)):
            if part == text:
                if whole is None and _meaningful(text):
                    whole = start + k
                continue
            first, last = k == 0, k == len(quoted) - 1
            if not ((first and text.endswith(part)) or (last and text.startswith(part))) \
                    or len(quoted) == 1:
                fits = False
                break
        covered = range(start, start + len(quoted))
        if fits and whole is not None and any(abs(n - line) <= NEAR for n in covered):
            return whole
    return None


def _named_property(project: Project, sent: SentText, ev: Evidence) -> int | None:
    """`Database.MultiAZ`: the line of that property key inside that resource, near the line."""
    named = _NAMED.match(ev.quote)
    if not named or named.group(2).casefold() in NOT_PROPERTIES:
        return None
    span = _resource_span(project, ev.file, named.group(1))
    if span is None:
        return None
    key = re.compile(rf"(^|[\s\"'{{,]){re.escape(named.group(2).casefold())}[\"']?\s*[:=]")
    for number in range(ev.line - NEAR, ev.line + NEAR + 1):
        text = sent(ev.file, number)
        if text is not None and span[0] <= number <= span[1] and key.search(_squash(text)):
            return number
    return None


def evidence_line(project: Project, sent: SentText, ev: Evidence) -> tuple[int | None, str | None]:
    """The line this reference proves and None, or None and why it cannot be trusted."""
    if ev.file not in project.texts or sent(ev.file, ev.line) is None:
        return None, f"{ev.file}:{ev.line}: not part of what was sent"
    proven = matched_line(sent, ev.file, ev.line, ev.quote) or _named_property(project, sent, ev)
    if proven is None:
        near = " ".join(_squash(sent(ev.file, n) or "") for n in range(ev.line - NEAR, ev.line + NEAR + 1))
        part = _squash(_NUMBERING.sub("", ev.quote))
        why = ("the quote is only part of a line (quote the whole line)" if part and part in near
               else "quoted text not found near this line")
        return None, f"{ev.file}:{ev.line}: {why}"
    if ev.resource:
        span = _resource_span(project, ev.file, ev.resource)
        if span is None:
            return None, f"{ev.file}: no resource {ev.resource}"
        if not span[0] <= proven <= span[1]:
            return None, (f"{ev.file}:{proven}: not inside {ev.resource} "
                          f"(lines {span[0]}-{span[1]})")
    return proven, None


def findings_from(review: LlmReview, project: Project, sent: SentText,
                  lang: str = "ja",
                  numbering: dict[Perspective, int] | None = None
                  ) -> tuple[list[Finding], list[str]]:
    """Findings for the verified items (placed at the line their quote proves), info
    recommendations for the rest, and why each reference was rejected (for the appendix and the
    debug log). `numbering` carries the item numbers across the requests of a split pass, so
    ids stay unique."""
    numbering = numbering if numbering is not None else {}
    findings: list[Finding] = []
    rejected: list[str] = []
    for perspective in Perspective:
        items: list[ReviewItem] = getattr(review, perspective.value)
        for item in (i for i in items if i.mark != "✅"):
            numbering[perspective] = numbering.get(perspective, 0) + 1
            rule_id = f"LLM-{CODES[perspective]}-{numbering[perspective]:03d}"
            good: list[tuple[Evidence, int]] = []
            for ev in item.evidence:
                line, problem = evidence_line(project, sent, ev)
                if line is None:
                    rejected.append(f"{rule_id}: {problem}")
                else:
                    good.append((ev, line))
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


def _finding(item: ReviewItem, rule_id: str, perspective: Perspective,
             good: list[tuple[Evidence, int]], lang: str) -> Finding:
    remediation = item.recommendation or item.reason
    if not good:
        title = (UNVERIFIED_EN if lang == "en" else UNVERIFIED_JA) + item.judgement
        return Finding(id=rule_id, source="llm", severity=Severity.INFO, perspective=perspective,
                       message=item.reason, remediation=remediation, title=title)
    first, line = good[0]
    return Finding(id=rule_id, source="llm",
                   severity=Severity.ERROR if item.mark == "❌" else Severity.WARNING,
                   perspective=perspective, file=first.file, line=line,
                   resource=first.resource, message=item.reason, remediation=remediation,
                   title=item.judgement)
