"""The PM agent's task block as a pydantic model: Task / 入力情報 / 期待する成果物 / 制約.

The block is the role's delegated-task format (shared/spec/sre-role.seed.md, 入力フォーマット).
A delegated agent answers once, so a task we misread is a wrong delivery nobody asked for:
sections we do not know, and deliverables or inputs we cannot classify, are reported back —
never guessed. `parse_task` raises `TaskError` (one line, the CLI's exit 2) only for what makes
the task unworkable: no 期待する成果物, an unknown section, no Task line, bad JSON.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DeliverableKind = Literal["templates", "scripts", "runbook", "incident", "postmortem", "report",
                          "loadtest", "unsupported", "unknown"]
InputKind = Literal["design-docs", "standards", "deploy-method", "spec", "loadtest-results", "unknown"]

SECTION_NAMES: dict[str, str] = {
    "task": "task", "タスク": "task",
    "入力情報": "inputs", "入力": "inputs",
    "期待する成果物": "deliverables", "成果物": "deliverables",
    "制約": "constraints", "制約事項": "constraints",
}
# label keywords → input kind; the first match wins (a 設計書 that is a 技術標準 is a standard)
INPUT_KINDS: tuple[tuple[InputKind, tuple[str, ...]], ...] = (
    ("loadtest-results", ("性能テスト結果", "負荷テスト結果", "load test results", "loadtest results")),
    ("standards", ("技術標準", "標準", "規約", "standard")),
    ("spec", ("インフラ仕様", "構成定義", "spec")),
    ("design-docs", ("設計書", "要件定義", "設計", "design")),
    ("deploy-method", ("デプロイ方式", "デプロイ方法", "iac", "deploy")),
)
# deliverable keywords → kind; order matters (「ロールバック手順書」 is the deploy runbook's part)
DELIVERABLE_KINDS: tuple[tuple[DeliverableKind, tuple[str, ...]], ...] = (
    ("unsupported", ("terraform", "ci/cd", "パイプライン", "helm", "kubernetes")),
    ("postmortem", ("ポストモーテム", "postmortem", "障害報告書")),
    ("incident", ("障害対応", "インシデント", "incident")),
    ("scripts", ("change set スクリプト", "changeset スクリプト", "change-set", "changeset",
                 "デプロイスクリプト", "スクリプト")),
    ("runbook", ("デプロイ手順", "ロールバック手順", "手順書", "runbook")),
    ("templates", ("cloudformation", "テンプレート", "cfn")),
    ("loadtest", ("性能テスト", "負荷テスト", "load test", "loadtest")),
    ("report", ("インフラレポート", "レポート", "report")),
)

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADER = re.compile(r"^(?:#{1,6}\s*)?(?:\*\*)?([^\s:：*#-][^:：]{0,24}?)(?:\*\*)?\s*[:：]\s*(.*)$")
_ITEM = re.compile(r"^(\s*)(?:[-*+]|\d+[.)．])\s+(.*)$")
_NOTE = re.compile(r"^(.*?)\s*[（(](.*)[)）]\s*$")


class TaskError(ValueError):
    """A task block we cannot work from; the message is one line for the PM agent."""


class InputItem(BaseModel):
    """`- 基本設計書: docs/03_基本設計書.md（インフラ部分）` → label, value (paths), note."""

    model_config = ConfigDict(extra="forbid")

    label: str
    value: str
    note: str = ""
    kind: InputKind = "unknown"
    line: int | None = None

    def paths(self) -> list[str]:
        """The value's paths (`、` or `,` separated), without backticks; empty for a plain word."""
        if self.kind not in ("design-docs", "standards", "spec", "loadtest-results"):
            return []
        return [p.strip().strip("`") for p in re.split(r"[、,]\s*", self.value) if p.strip()]


class DeliverableItem(BaseModel):
    """`2. Change Set スクリプト（4種類）` with its sub-items (the four file names)."""

    model_config = ConfigDict(extra="forbid")

    text: str
    kinds: list[DeliverableKind] = Field(default_factory=list,
                                         description="one per part: 「A と B」 asks for two things")
    details: list[str] = Field(default_factory=list)
    line: int | None = None


class ConstraintItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    line: int | None = None


class TaskSpec(BaseModel):
    """One delegated task. Build it with `parse_task`, or directly (the Python API)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1)
    description: str = ""
    inputs: list[InputItem] = Field(default_factory=list)
    deliverables: list[DeliverableItem] = Field(min_length=1)
    constraints: list[ConstraintItem] = Field(default_factory=list)

    def wants(self, kind: DeliverableKind) -> bool:
        return any(kind in item.kinds for item in self.deliverables)

    def inputs_of(self, kind: InputKind) -> list[InputItem]:
        return [item for item in self.inputs if item.kind == kind]

    def problems(self) -> list[str]:
        """What we read but will not act on: reported in the report and the manifest."""
        found = [f"入力情報「{i.label}: {i.value}」は種類を判別できないため使用しない"
                 for i in self.inputs if i.kind == "unknown"]
        for item in self.deliverables:
            if "unknown" in item.kinds:
                found.append(f"成果物「{item.text}」は対応する成果物がないため作成しない")
            if "unsupported" in item.kinds:
                found.append(f"成果物「{item.text}」はこのエージェントの対応範囲外（CloudFormation のみ）")
        return found


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


def classify_input(label: str) -> InputKind:
    folded = fold(label)
    return next((kind for kind, words in INPUT_KINDS if any(w in folded for w in words)), "unknown")


_PARTS = re.compile(r"(?<=[^\s])(?:と|、|および|及び|並びに|,)(?=[^\s])|\s+and\s+|\s*[+＋]\s*")


def classify_deliverable(text: str, details: list[str] = ()) -> list[DeliverableKind]:
    """One kind per part of 「障害対応手順書とポストモーテムテンプレート」; a part we cannot
    place is "unknown" (reported, not guessed)."""
    kinds: list[DeliverableKind] = []
    for part in _PARTS.split(re.sub(r"[（(].*?[)）]", "", text)) or [text]:
        head = fold(part)
        kind = next((k for k, words in DELIVERABLE_KINDS if any(w in head for w in words)), None)
        if kind is None and any(n in fold(" ".join(details)) for n in ("create-changeset", "rollback.sh")):
            kind = "scripts"
        kinds.append(kind or "unknown")
    return list(dict.fromkeys(kinds))


def parse_task(text: str) -> TaskSpec:
    """Markdown task block (optionally inside a ```markdown fence) or the JSON form."""
    stripped = text.lstrip("\ufeff").strip()
    if not stripped:
        raise TaskError("task is empty")
    if stripped.startswith("{"):
        return _from_json(stripped)
    return _from_markdown(_unfenced(stripped))


def _from_json(text: str) -> TaskSpec:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskError(f"task JSON is invalid: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise TaskError("task JSON must be an object")
    if "deliverables" not in data:
        raise TaskError("task has no 期待する成果物 (deliverables)")
    data = dict(data)
    data["inputs"] = [_json_input(item) for item in data.get("inputs", [])]
    data["deliverables"] = [_json_deliverable(item) for item in data["deliverables"]]
    data["constraints"] = [c if isinstance(c, dict) else {"text": str(c)}
                           for c in data.get("constraints", [])]
    try:
        return TaskSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TaskError(f"task JSON: {where}: {first['msg']}") from None


def _json_input(item) -> dict:
    if isinstance(item, str):
        label, _, value = item.partition(":")
        item = {"label": label.strip(), "value": value.strip()}
    if isinstance(item, dict) and "kind" not in item and "label" in item:
        item = {**item, "kind": classify_input(str(item["label"]))}
    return item


def _json_deliverable(item) -> dict:
    if isinstance(item, str):
        item = {"text": item}
    if isinstance(item, dict) and "kinds" not in item and "text" in item:
        item = {**item, "kinds": classify_deliverable(str(item["text"]), item.get("details", []))}
    return item


def _unfenced(text: str) -> str:
    """The block the PM pasted inside ```markdown … ```: keep the fence's inside only."""
    lines = text.splitlines()
    fences = [i for i, line in enumerate(lines) if _FENCE.match(line)]
    if len(fences) >= 2 and any(_header_name(l) == "task" for l in lines[fences[0] + 1:fences[1]]):
        return "\n".join([""] * (fences[0] + 1) + lines[fences[0] + 1:fences[1]])
    return text


def _header_name(line: str) -> str | None:
    """The canonical section of a top-level `名前:` line; '?' for an unknown one; None if not one."""
    if not line or line[0].isspace() or _ITEM.match(line):
        return None
    match = _HEADER.match(line)
    if match is None:
        return None
    label = fold(match.group(1)).strip("*# ")
    if label in SECTION_NAMES:
        return SECTION_NAMES[label]
    if " " in label.strip() and not line.lstrip().startswith("#"):
        return None   # a sentence with a colon in it, not a section name
    return "?"


def _from_markdown(text: str) -> TaskSpec:
    title = ""
    description: list[str] = []
    inputs: list[InputItem] = []
    deliverables: list[DeliverableItem] = []
    constraints: list[ConstraintItem] = []
    seen: set[str] = set()
    section: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or _FENCE.match(line):
            continue
        name = _header_name(line)
        if name is not None:
            match = _HEADER.match(line)
            assert match is not None
            if name == "?":
                raise TaskError(f"line {number}: unknown section 「{match.group(1).strip()}」 "
                                "(expected Task / 入力情報 / 期待する成果物 / 制約)")
            if name in seen:
                raise TaskError(f"line {number}: section 「{match.group(1).strip()}」 appears twice")
            seen.add(name)
            section = name
            rest = match.group(2).strip()
            if name == "task":
                title = rest
            elif rest:
                raise TaskError(f"line {number}: 「{match.group(1).strip()}:」 must be followed by "
                                "a list, one item per line")
            continue
        item = _ITEM.match(line)
        if section is None:
            raise TaskError(f"line {number}: text before the first section (expected `Task: …`)")
        if section == "task":
            description.append(line.strip())
        elif section == "inputs":
            _input_line(inputs, line, item, number)
        elif section == "deliverables":
            _deliverable_line(deliverables, line, item, number)
        elif item is not None:
            constraints.append(ConstraintItem(text=item.group(2).strip(), line=number))
        elif constraints:
            constraints[-1].text += " " + line.strip()
    if "task" not in seen or not title:
        raise TaskError("task has no `Task: <title>` line")
    if not deliverables:
        raise TaskError("task has no 期待する成果物 (what to deliver): nothing to do")
    for item in deliverables:
        item.kinds = classify_deliverable(item.text, item.details)
    return TaskSpec(title=title, description=" ".join(description), inputs=inputs,
                    deliverables=deliverables, constraints=constraints)


def _input_line(inputs: list[InputItem], line: str, item, number: int) -> None:
    if item is None or item.group(1):
        if inputs:
            inputs[-1].note = (inputs[-1].note + " " + line.strip(" -")).strip()
        return
    body = item.group(2).strip()
    label, _sep, value = re.split(r"([:：])", body, maxsplit=1) if re.search("[:：]", body) \
        else (body, "", "")
    value, note = value.strip(), ""
    match = _NOTE.match(value)
    if match and match.group(1):
        value, note = match.group(1).strip(), match.group(2).strip()
    inputs.append(InputItem(label=label.strip(), value=value, note=note,
                            kind=classify_input(label), line=number))


def _deliverable_line(deliverables: list[DeliverableItem], line: str, item, number: int) -> None:
    if item is not None and not item.group(1):
        deliverables.append(DeliverableItem(text=item.group(2).strip(), line=number))
    elif deliverables:
        deliverables[-1].details.append((item.group(2) if item else line).strip())
    else:
        deliverables.append(DeliverableItem(text=line.strip(), line=number))


__all__ = ["TaskSpec", "InputItem", "DeliverableItem", "ConstraintItem", "TaskError",
           "parse_task", "classify_deliverable", "classify_input"]
