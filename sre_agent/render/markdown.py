"""The prescribed `## sre レビュー結果` markdown: one line per rule, evidence on every line."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache

import jinja2

from sre_agent.models import Finding, Perspective, Review, Severity
from sre_agent.render.labels import LABELS, MARKS, PASSED_MARK
from sre_agent.rules.base import all_rules

SHOWN_LOCATIONS = 3
MAX_RECOMMENDATIONS = 8
MAX_INFO_LINES = 15


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("sre_agent", "templates"),
                             autoescape=False, keep_trailing_newline=True)
    return env.get_template("review.md.j2")


@dataclass
class FindingGroup:
    """All active findings of one rule in one perspective: one item line."""

    findings: list[Finding]

    @property
    def first(self) -> Finding:
        return self.findings[0]

    @property
    def severity(self) -> Severity:
        return max((f.severity for f in self.findings), key=lambda s: s.rank)

    def ids(self) -> str:
        ids = [self.first.id] + [i for i in self.first.related_ids if i != self.first.id]
        return ", ".join(dict.fromkeys(ids))

    def locations(self, L: dict[str, str], with_resources: bool = True) -> str:
        shown = []
        for finding in self.findings:
            loc = finding.location()
            if finding.resource and with_resources:
                loc = f"{loc} `{finding.resource}`" if loc else f"`{finding.resource}`"
            if loc and loc not in shown:
                shown.append(loc)
        text = ", ".join(shown[:SHOWN_LOCATIONS])
        if len(shown) > SHOWN_LOCATIONS:
            text += f" {L['and_more']} {len(shown) - SHOWN_LOCATIONS} {L['count']}"
        return text

    def line(self, L: dict[str, str], mark: bool = True) -> str:
        count = len(self.findings)
        title = self.first.title or self.first.id
        if count > 1:
            title += f"（{count} {L['count']}）" if L is LABELS["ja"] else f" ({count} {L['count']})"
        first = self.first
        if first.message.startswith(first.title):   # checkov: the message only repeats the title
            body = self.locations(L)
        elif count == 1:
            where = self.locations(L, with_resources=bool(first.resource) and
                                   f"`{first.resource}`" not in first.message)
            body = f"{where} {first.message}" if where else first.message
        else:
            body = f"{self.locations(L)} — {L['example']}: {first.message}"
        prefix = f"{MARKS[self.severity]} " if mark else ""
        return f"{prefix}{title} — {body} [{self.ids()}]"


def group_findings(findings: list[Finding]) -> list[FindingGroup]:
    groups: dict[tuple[str, str], FindingGroup] = {}
    for finding in findings:
        key = (finding.perspective.value, finding.id)
        groups.setdefault(key, FindingGroup([])).findings.append(finding)
    return sorted(groups.values(), key=lambda g: (-g.severity.rank, g.first.sort_key()))


def render_markdown(review: Review, lang: str = "ja") -> str:
    L = LABELS.get(lang, LABELS["ja"])
    active = [f for f in review.findings if not f.suppressed]
    shown = [f for f in active if f.severity is not Severity.INFO]
    groups = group_findings(shown)
    sections = []
    for perspective in Perspective:
        lines = [g.line(L) for g in groups if g.first.perspective is perspective]
        lines += [f"{PASSED_MARK} {p.title} — {p.evidence} [{p.rule_id}]"
                  for p in review.passed if p.perspective is perspective]
        if not lines:
            lines = [_nothing_found(review, perspective, L)]
        sections.append({"heading": L[perspective.value], "lines": lines})
    errors = [g for g in groups if g.severity is Severity.ERROR]
    recommendations = [f"{g.first.remediation}（{g.locations(L)}） [{g.first.id}]"
                       if g.locations(L) else f"{g.first.remediation} [{g.first.id}]"
                       for g in groups][:MAX_RECOMMENDATIONS]
    counts = Counter(f.status.value for f in review.files)
    infos = group_findings([f for f in active if f.severity is Severity.INFO])
    return _template().render(
        L=L, sections=sections, verdict=review.verdict,
        concerns=[g.line(L, mark=False) for g in errors],
        recommendations=recommendations,
        counts={k: counts.get(k, 0) for k in ("reviewed", "skipped", "error")},
        unreviewed=[f for f in review.files if f.status.value != "reviewed"],
        analyzers=", ".join(f"{a.name} {a.version}" + (f" ({a.error})" if a.error else "")
                            + (f" — {L['checks_not_run']}: {', '.join(a.checks_not_run)}"
                               if a.checks_not_run else "")
                            for a in review.analyzers),
        llm=review.llm, standards=review.standards, baseline=review.baseline,
        suppressed=[f"{f.location()} [{f.id}] — {f.suppression_reason or '(no reason)'}"
                    for f in review.findings if f.suppressed],
        infos=[g.line(L, mark=False) for g in infos][:MAX_INFO_LINES],
    )


def _nothing_found(review: Review, perspective: Perspective, L: dict[str, str]) -> str:
    """Never an empty section: say what was checked, and by which rules and analyzers."""
    reviewed = Counter(f.kind.value for f in review.files if f.status.value == "reviewed")
    checks = [r.id for r in all_rules() if r.perspective is perspective]
    checks += [a.name for a in review.analyzers if a.name in ("cfn-lint", "checkov") and not a.error]
    what = ", ".join(f"{kind} {n}" for kind, n in sorted(reviewed.items())) or "0"
    return f"{PASSED_MARK} {L['nothing_found']} — {L['checked']}: {what} [{', '.join(checks)}]"
