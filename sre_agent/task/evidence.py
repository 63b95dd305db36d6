"""What the self-review proved about a delivery: the one place section 7 and the 制約 results
read from, so a tick can only come from a finding that is absent or a file that exists."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from sre_agent.models import Finding, Review, Severity
from sre_agent.rules.base import canonical_id


class CheckResult(BaseModel):
    """One checklist line: met (True), unmet (False) or not checkable (None), with its proof."""

    label: str
    met: bool | None
    evidence: str = Field(description="the files and rules the verdict rests on")
    findings: list[str] = Field(default_factory=list, description="the findings that block it")
    source: str | None = Field(default=None, description="the task line it comes from (制約)")

    @property
    def mark(self) -> str:
        return "x" if self.met else " "


@dataclass
class Evidence:
    """The delivered files (paths from the delivery root) and the review of them."""

    root: Path
    review: Review
    scripts: dict[str, str] = field(default_factory=dict)   # create/describe/execute/rollback → path
    templates: list[str] = field(default_factory=list)
    runbook: str | None = None
    incident: str | None = None
    postmortem: str | None = None
    cost_document: str | None = None
    alarms: int = 0
    topics_with_subscription: int = 0
    burn_rate_alarms: int = 0
    monthly_usd: float | None = None
    slo_rows: int = 0
    slo_source: str = ""
    # rollback, as the delivered files behave
    rollback_states: list[str] = field(default_factory=list)   # states rollback.sh acts on (not refuses)
    image_tag_in_ssm: bool = False        # the release's image tag is resolved from SSM at change-set time
    restores_image_tag: bool = False      # rollback.sh writes the previous tag back itself
    runbooks_disagree: list[str] = field(default_factory=list)  # delivered runbooks without the shared rollback text
    # monitoring against the design
    design_review: Review | None = None   # DOC010 over the design documents and the delivery together
    budget_required: str = ""             # file:line where the documents ask for an AWS Budgets budget
    budgets: int = 0                      # AWS::Budgets::Budget resources delivered

    def blocking(self, *rule_ids: str, prefixes: tuple[str, ...] = ()) -> list[Finding]:
        """Active warning- and error-level findings of these rules (short codes accepted)."""
        wanted = {canonical_id(r) for r in rule_ids}
        design = self.design_review.active_findings() if self.design_review else []
        return [f for f in [*self.review.active_findings(), *design]
                if f.severity is not Severity.INFO
                and (f.id in wanted or any(f.id.startswith(p) for p in prefixes))]

    def errors(self) -> list[Finding]:
        return [f for f in self.review.active_findings() if f.severity is Severity.ERROR]

    def exists(self, path: str | None) -> bool:
        return bool(path) and (self.root / path).is_file()

    def text(self, path: str) -> str:
        return (self.root / path).read_text(encoding="utf-8")


def finding_line(finding: Finding) -> str:
    """`❌ SRE-DEP-004 scripts/x.sh:3 — message` for an unticked line's reasons."""
    mark = {Severity.ERROR: "❌", Severity.WARNING: "⚠️"}.get(finding.severity, "ℹ️")
    where = f" {finding.location()}" if finding.location() else ""
    return f"{mark} {finding.id}{where} — {finding.message}"


def judged(label: str, findings: list[Finding], evidence: str, precondition: bool = True,
           missing: str = "", source: str | None = None) -> CheckResult:
    """Met when the precondition (files exist) holds and no finding blocks it; an unmet line
    carries the findings either way."""
    return CheckResult(label=label, met=precondition and not findings,
                       evidence=evidence if precondition else missing,
                       findings=[finding_line(f) for f in findings[:5]]
                       + ([f"ほか {len(findings) - 5} 件"] if len(findings) > 5 else []),
                       source=source)


def compact_sources(sources: list[str]) -> str:
    """`a.md:13、a.md:14、a.md:15` → `a.md:13,14,15`: one file named once."""
    lines: dict[str, list[str]] = {}
    for source in sources:
        path, _, line = source.rpartition(":")
        if path and line.isdigit():
            lines.setdefault(path, []).append(line)
        else:
            lines.setdefault(source, [])
    return "、".join(f"{path}:{','.join(dict.fromkeys(found))}" if found else path
                    for path, found in lines.items())
