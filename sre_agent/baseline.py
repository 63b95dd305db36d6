"""Baselines: a team adopting the review on an existing project sees only new problems.

`--create-baseline FILE` writes the findings of this run; `--baseline FILE` removes those the
file already knows, and the verdict, the exit code and every output are computed on what is
left (the JSON's `baseline` and the appendix say how many were hidden).

A finding is known by its rule id, its file, its resource and its message with the parts that
move taken out — digits (line numbers, counts, sizes) and quoted values — never by its line
number, which shifts with every edit above it. The file is part of the key on purpose:
checkov's baseline ignores it, so a resource of the same name in another template is silently
muted. Keys are counted: a baseline that knew one direct `deploy` in a script still reports a
second one added to the same script. Messages are written in the review's language, so a
baseline is only applied to runs in the language it was created in (`lang` in the file).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from sre_agent.models import BaselineStatus, Finding, Review, verdict_for

FORMAT = "sre-review-baseline/1"
# `code`, 'quoted', "quoted", 「引用」 and （= value）: values that change without the problem changing.
_QUOTED = re.compile(r"`[^`]*`|'[^']*'|\"[^\"]*\"|「[^」]*」|（=[^）]*）")
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_SPACE = re.compile(r"\s+")


class BaselineError(ValueError):
    """The baseline file cannot be read; the message names it."""


class KnownFinding(BaseModel):
    """One entry of the file: readable in a review of the baseline's own diff."""

    id: str
    file: str | None
    resource: str | None
    message: str = Field(description="The message, normalised (see `normalise`).")
    count: int = 1


class Baseline(BaseModel):
    format: str = FORMAT
    created_at: str
    lang: str = "ja"
    findings: list[KnownFinding]


def normalise(message: str) -> str:
    """The message with quoted values and numbers replaced, so that a line moving or a count
    changing does not make an old finding look new."""
    text = _QUOTED.sub("…", message)
    return _SPACE.sub(" ", _DIGITS.sub("#", text)).strip()


def key_of(finding: Finding) -> tuple[str, str | None, str | None, str]:
    return (finding.id, finding.file, finding.resource, normalise(finding.message))


def create(review: Review, path: Path, lang: str = "ja") -> int:
    """Write the baseline of a review (its unmuted findings); returns how many it holds."""
    counts = Counter(key_of(f) for f in review.findings if not f.suppressed)
    entries = [KnownFinding(id=i, file=f, resource=r, message=m, count=n)
               for (i, f, r, m), n in sorted(counts.items(), key=lambda kv: tuple(x or "" for x in kv[0]))]
    baseline = Baseline(created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        lang=lang, findings=entries)
    path.write_text(baseline.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return sum(counts.values())


def load(path: Path, lang: str | None = None) -> Baseline:
    """The baseline in `path`; with `lang`, refused unless it was created in that language."""
    baseline = _read(path)
    if lang is not None and baseline.lang != lang:
        raise BaselineError(f"{path}: created with --lang {baseline.lang}; its messages do not "
                            f"match a --lang {lang} review (run with --lang {baseline.lang})")
    return baseline


def _read(path: Path) -> Baseline:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"baseline not found: {path} (create it with --create-baseline)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{path}: not a baseline file: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BaselineError(f"{path}: not a baseline file (expected \"format\": \"{FORMAT}\")")
    try:
        return Baseline.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise BaselineError(f"{path}: {where}: {error['msg']}") from None


def apply(review: Review, baseline: Baseline, path: Path) -> Review:
    """The review without the findings the baseline knows, its verdict recomputed on the rest."""
    remaining = Counter({(k.id, k.file, k.resource, k.message): k.count for k in baseline.findings})
    kept: list[Finding] = []
    hidden: Counter[str] = Counter()
    for finding in review.findings:
        key = key_of(finding)
        if not finding.suppressed and remaining[key] > 0:
            remaining[key] -= 1
            hidden[finding.severity.value] += 1
        else:
            kept.append(finding)
    llm = review.llm.model_copy()
    verdict = verdict_for(kept)
    without_model = verdict_for([f for f in kept if f.source != "llm"])
    llm.verdict_moved_from = without_model if verdict != without_model else None
    status = BaselineStatus(file=path.as_posix(), hidden=sum(hidden.values()),
                            hidden_by_severity=dict(sorted(hidden.items())))
    return review.model_copy(update={"findings": kept, "verdict": verdict, "llm": llm,
                                     "baseline": status})


__all__ = ["Baseline", "BaselineError", "apply", "create", "load", "normalise"]
