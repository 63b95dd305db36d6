"""The review's data at its boundaries: files, findings and the review itself.

These models are the `sre-review/1` JSON contract (see shared/spec/json-contract.md): field
names and meanings here are public, so they are added to, never renamed.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field

SCHEMA = "sre-review/1"


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; used for sorting and for `--fail-on`."""
        return {"error": 2, "warning": 1, "info": 0}[self.value]


class Perspective(str, Enum):
    """The four sections of `## sre レビュー結果`, in their prescribed order."""

    OPERABILITY = "operability"
    INFRASTRUCTURE = "infrastructure"
    MONITORING = "monitoring"
    COST = "cost"


class FileKind(str, Enum):
    CLOUDFORMATION = "cloudformation"
    TERRAFORM = "terraform"
    SCRIPT = "script"
    DESIGN_DOC = "design-doc"
    PARAMETERS = "parameters"
    STANDARD = "standard"
    OTHER = "other"


class FileStatus(str, Enum):
    REVIEWED = "reviewed"
    SKIPPED = "skipped"
    ERROR = "error"


Source = Literal["sre", "cfn-lint", "checkov", "shellcheck", "docs", "llm"]


class FileRecord(BaseModel):
    """One input file and what became of it; every file under the given paths has one."""

    path: str
    kind: FileKind
    status: FileStatus = FileStatus.REVIEWED
    error: str | None = None
    encoding: str | None = None


class Suppression(BaseModel):
    rule_id: str
    reason: str | None
    file: str
    line: int | None = None


class Finding(BaseModel):
    """One evidence-backed problem; `file`/`line`/`resource` are null only for project-level ones."""

    id: str
    source: Source
    severity: Severity
    perspective: Perspective
    file: str | None = None
    line: int | None = None
    resource: str | None = None
    message: str
    remediation: str
    title: str = Field("", description="Short verdict (判定) shown at the start of the item line.")
    related_ids: list[str] = Field(default_factory=list, description="Ids of merged duplicates.")
    environment: str | None = None
    suppressed: bool = False
    suppression_reason: str | None = None

    def location(self) -> str:
        """`file:line` (or just the file) for the item line; empty for project-level findings."""
        if not self.file:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file

    def sort_key(self) -> tuple:
        return (-self.severity.rank, self.file or "", self.line or 0, self.id)


class AnalyzerRun(BaseModel):
    name: str
    version: str
    files: int = 0
    seconds: float = 0.0
    error: str | None = None
    checks_not_run: list[str] = Field(default_factory=list)   # crashed inside the tool somewhere


class Passed(BaseModel):
    """A check that ran and found nothing wrong: the ✅ lines of a perspective section."""

    rule_id: str
    perspective: Perspective
    title: str
    evidence: str


class LlmStatus(BaseModel):
    """The LLM pass: whether it ran, what it cost, what it saw. `used` = the model's answer is
    part of this review; `error` set = the pass failed and the review is the deterministic one;
    `not_sent` lists what the model never saw; `lowered` names the model-only ❌ kept at ⚠️;
    `verdict_moved_from` is the deterministic verdict when the model's findings changed it."""

    used: bool = False
    reason: str | None = None
    model: str | None = None
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    estimated_cost_usd: float | None = None
    token_count: Literal["server", "estimate"] | None = None
    error: str | None = None
    sent: list[str] = Field(default_factory=list)
    not_sent: list[str] = Field(default_factory=list)
    redactions: int = 0
    redactions_by_kind: dict[str, int] = Field(default_factory=dict)
    rejected_evidence: list[str] = Field(default_factory=list)
    lowered: list[str] = Field(default_factory=list)
    verdict_moved_from: Literal["yes", "conditional", "no"] | None = None


class BaselineStatus(BaseModel):
    """A run against a baseline (`--baseline FILE`): the findings it already knew are left out
    of `findings`, the verdict and the exit code; this says how many, so nothing is hidden
    silently."""

    file: str
    hidden: int = 0
    hidden_by_severity: dict[str, int] = Field(default_factory=dict)


class Review(BaseModel):
    schema_: str = Field(SCHEMA, alias="schema")
    root: str
    verdict: Literal["yes", "conditional", "no"]
    files: list[FileRecord]
    findings: list[Finding]
    llm: LlmStatus
    passed: list[Passed] = Field(default_factory=list)
    analyzers: list[AnalyzerRun] = Field(default_factory=list)
    mode: Literal["light", "deep"] = "deep"
    standards: list[str] = Field(default_factory=list,
                                 description="The technical standards in force for this review.")
    baseline: BaselineStatus | None = None

    model_config = {"populate_by_name": True}

    def active_findings(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]

    def to_json(self) -> str:
        """`baseline` appears only in a run that used one: other outputs stay as they were."""
        return self.model_dump_json(by_alias=True, indent=2,
                                    exclude={"baseline"} if self.baseline is None else None)


def verdict_for(findings: list[Finding]) -> Literal["yes", "conditional", "no"]:
    """The contract's rule: any error → no; else any warning → conditional; else yes."""
    active = [f for f in findings if not f.suppressed]
    if any(f.severity is Severity.ERROR for f in active):
        return "no"
    if any(f.severity is Severity.WARNING for f in active):
        return "conditional"
    return "yes"
