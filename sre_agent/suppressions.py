"""Suppressions written by the project: they mute a finding, never hide it.

Forms:
- a comment in a script, Terraform file or markdown (`<!-- ... -->`):
  `# sre-review: ignore=SRE-DEP-004 <reason>` mutes matching findings on the same line and the
  next line — or, when the next line opens a fenced code block, the whole block;
  `ignore-file=ID <reason>` mutes them in the whole file;
- CloudFormation resource Metadata:
  `Metadata: {sre-review: {ignore: [{id: SRE-MAZ-001, reason: 開発専用}]}}` mutes findings on
  that resource.
Ids may be written `SRE-MAZ-001`, `MAZ001`, `CKV_AWS_157`, `checkov:CKV_AWS_157`, `W3011`,
`SC2086`. Suppressed findings stay in the JSON and in the appendix with their reason.

Either form may expire: `ignore=SRE-DEP-004 until=2027-03-31 理由` (Metadata: `until:
2027-03-31`). From the day after that date it no longer mutes anything, and SUP002 reports it —
a temporary exception must not quietly become permanent. An unreadable date mutes nothing
either. "Today" is `date.today()` unless a review sets another (`review_date`), so tests and
reruns of an old review can fix it.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from typing import Iterator

from sre_agent.models import Finding
from sre_agent.project import Project
from sre_agent.rules.base import canonical_id

COMMENT = re.compile(
    r"(?:#|//|<!--)\s*sre-review:\s*(ignore|ignore-file)=([A-Za-z0-9_:,\-]+)"
    r"(?:[ \t]+until=(\S+))?[ \t]*(.*?)\s*(?:-->)?\s*$")
_TODAY: ContextVar[date | None] = ContextVar("sre_agent_review_date", default=None)


def today() -> date:
    return _TODAY.get() or date.today()


@contextmanager
def review_date(day: date | None) -> Iterator[None]:
    """The date expiring suppressions are judged against while one review runs."""
    token = _TODAY.set(day)
    try:
        yield
    finally:
        _TODAY.reset(token)


def parse_until(text: str | None) -> date | None | str:
    """The expiry date, None without one, or the raw text when it is not a YYYY-MM-DD date."""
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        return str(text)


@dataclass(frozen=True)
class Suppression:
    ids: tuple[str, ...]
    reason: str
    file: str
    line: int | None          # None: whole file (or the whole resource)
    resource: str | None = None
    end_line: int | None = None
    until: date | str | None = None   # str: a date we could not read

    @property
    def expired(self) -> bool:
        """Past its date (or with an unreadable one): it mutes nothing and SUP002 reports it."""
        return isinstance(self.until, str) or (self.until is not None and self.until < today())

    def matches(self, finding: Finding) -> bool:
        if self.expired or finding.file != self.file or not _id_matches(self.ids, finding):
            return False
        if self.resource is not None:
            return finding.resource == self.resource
        if self.line is None:
            return True
        end = self.end_line or self.line + 1
        return finding.line is not None and self.line <= finding.line <= end


def _names(finding: Finding) -> set[str]:
    names = set()
    for raw in (finding.id, *finding.related_ids):
        names.add(raw.upper())
        names.add(raw.split(":", 1)[-1].upper())
    return names


def _id_matches(ids: tuple[str, ...], finding: Finding) -> bool:
    names = _names(finding)
    return any(canonical_id(i).upper() in names or i.upper() in names for i in ids)


def collect(project: Project) -> list[Suppression]:
    """Scanned once per project: SUP001 and the engine both ask for them."""
    cached = getattr(project, "_suppressions", None)
    if cached is None:
        cached = _scan(project)
        project._suppressions = cached  # type: ignore[attr-defined]
    return cached


def _scan(project: Project) -> list[Suppression]:
    found: list[Suppression] = []
    for path, text in project.texts.items():
        if "sre-review:" not in text:
            continue
        lines = text.split("\n")
        for number, line in enumerate(lines, start=1):
            match = COMMENT.search(line)
            if match:
                scope, ids, until, reason = match.groups()
                found.append(Suppression(tuple(i for i in ids.split(",") if i), reason.strip(),
                                         path, None if scope == "ignore-file" else number,
                                         end_line=_covered_until(lines, number),
                                         until=parse_until(until)))
    for template in project.templates:
        for resource in template.resources.values():
            meta = resource.body.get("Metadata")
            entries = meta.get("sre-review", {}).get("ignore", []) if isinstance(meta, dict) else []
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and entry.get("id"):
                    until = entry.get("until")
                    found.append(Suppression((str(entry["id"]),), str(entry.get("reason") or "").strip(),
                                             template.path, resource.line, resource.logical_id,
                                             until=until if isinstance(until, date) else parse_until(until)))
    return found


def _covered_until(lines: list[str], number: int) -> int:
    """The next line, or the closing fence when the next line opens a fenced code block."""
    following = lines[number] if number < len(lines) else ""
    fence = following.lstrip()[:3]
    if fence in ("```", "~~~"):
        for end in range(number + 1, len(lines)):
            if lines[end].lstrip().startswith(fence):
                return end + 1
        return len(lines)
    return number + 1


def apply(findings: list[Finding], suppressions: list[Suppression]) -> None:
    for finding in findings:
        for suppression in suppressions:
            if suppression.matches(finding):
                finding.suppressed = True
                finding.suppression_reason = suppression.reason or None
                if suppression.until is not None and suppression.reason:
                    finding.suppression_reason += f" (until {suppression.until})"
                break
