"""The agent framework's review record: one JSON file per review under `.claude-state/reviews/`.

The framework's PM saves a record after every cross review (`.claude/helpers/cross-review-guide.md`
in k-tanaka-522/aidev): `review-{YYYY-MM-DD}-{NNN}.json` holding `id`, `created_at`,
`artifact` (`type` iac | design | code | test, `path`, `created_by`), `reviewer`, `checklist`
(`item`, `status` pass | warn | fail, `note`), `result` (approved | approved_with_comments |
rejected), `feedback` and `follow_up_task`. We write exactly that shape — nothing of ours added,
so the framework's own readers accept it — with `result` mapped from our verdict and
`feedback` carrying the concerns and recommendations of `## sre レビュー結果`.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from sre_agent.models import FileKind, Perspective, Review, Severity

REVIEWER = "sre"
RESULTS: dict[str, str] = {"yes": "approved", "conditional": "approved_with_comments", "no": "rejected"}
DEFAULT_DIR = Path(".claude-state") / "reviews"
_NAME = re.compile(r"^review-(\d{4}-\d{2}-\d{2})-(\d{3,})\.json$")


class Artifact(BaseModel):
    type: Literal["iac", "design", "code", "test"]
    path: str
    created_by: str


class ChecklistItem(BaseModel):
    item: str
    status: Literal["pass", "warn", "fail"]
    note: str = ""


class ReviewRecord(BaseModel):
    """The framework's record, field for field."""

    id: str
    created_at: str
    artifact: Artifact
    reviewer: str = REVIEWER
    checklist: list[ChecklistItem]
    result: Literal["approved", "approved_with_comments", "rejected"]
    feedback: str
    follow_up_task: str | None = None


def build(review: Review, paths: list[str], lang: str = "ja", record_id: str = "",
          now: datetime | None = None, created_by: str = "unknown") -> ReviewRecord:
    """The record of one review. `created_by` is the author agent when the caller knows it;
    the review itself cannot tell who wrote the files."""
    from sre_agent.render.labels import LABELS
    from sre_agent.render.markdown import group_findings

    L = LABELS.get(lang, LABELS["ja"])
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    active = [f for f in review.findings if not f.suppressed and f.severity is not Severity.INFO]
    checklist = []
    for perspective in Perspective:
        mine = [f for f in active if f.perspective is perspective]
        worst = max((f.severity.rank for f in mine), default=-1)
        status = {2: "fail", 1: "warn"}.get(worst, "pass")
        note = "; ".join(dict.fromkeys(f"{f.title or f.id} [{f.id}]" for f in mine))
        checklist.append(ChecklistItem(item=L[perspective.value], status=status, note=note))
    groups = group_findings(active)
    concerns = [g.line(L, mark=False) for g in groups if g.severity is Severity.ERROR]
    advice = [f"{g.first.remediation}（{g.locations(L)}） [{g.first.id}]" if g.locations(L)
              else f"{g.first.remediation} [{g.first.id}]" for g in groups]
    feedback = "\n".join([
        f"{L['operable']}: {L[review.verdict]}",
        f"{L['concerns']}:", *([f"- {c}" for c in concerns] or [f"- {L['none']}"]),
        f"{L['recommendations']}:", *([f"- {a}" for a in advice] or [f"- {L['none']}"]),
    ])
    return ReviewRecord(
        id=record_id, created_at=moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        artifact=Artifact(type=_artifact_type(review), path=", ".join(paths), created_by=created_by),
        checklist=checklist, result=RESULTS[review.verdict], feedback=feedback)


def _artifact_type(review: Review) -> Literal["iac", "design"]:
    infra = {FileKind.CLOUDFORMATION, FileKind.TERRAFORM, FileKind.PARAMETERS, FileKind.SCRIPT}
    reviewed = [f for f in review.files if f.status.value == "reviewed"]
    return "iac" if any(f.kind in infra for f in reviewed) else "design"


def write(review: Review, paths: list[str], folder: Path, lang: str = "ja",
          now: datetime | None = None) -> Path:
    """Write the record as the next `review-{date}-{NNN}.json` of the day (names sort by time;
    created exclusively, so two runs at once never overwrite each other)."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    day = moment.date().isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    taken = [int(m.group(2)) for p in folder.iterdir()
             if (m := _NAME.match(p.name)) and m.group(1) == day]
    number = max(taken, default=0) + 1
    while True:
        record_id = f"review-{day}-{number:03d}"
        target = folder / f"{record_id}.json"
        record = build(review, paths, lang, record_id, moment)
        try:
            with target.open("x", encoding="utf-8") as handle:
                handle.write(record.model_dump_json(indent=2) + "\n")
            return target
        except FileExistsError:
            number += 1


def default_folder(paths: list[Path]) -> Path | None:
    """`.claude-state/reviews/` of the reviewed project when it already exists: from the
    reviewed root upward to the project's root (`.git` / `.claude`)."""
    from sre_agent.project import project_root
    from sre_agent.review import find_project_root

    start = project_root(paths)
    top = find_project_root(paths[0]) or start
    for folder in (start, *start.parents):
        if (folder / DEFAULT_DIR).is_dir():
            return folder / DEFAULT_DIR
        if folder == top:
            break
    return None


__all__ = ["ReviewRecord", "RESULTS", "build", "default_folder", "write"]
