"""Terraform files through the HCL parser checkov already ships (bc-python-hcl2, module `hcl2`).

hcl2 gives block start/end lines but not attribute lines, so attribute lines are found by
scanning the block's own source lines — good enough to point a reader at `multi_az = false`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

START, END = "__start_line__", "__end_line__"


class HclParseError(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def unwrap(value: Any) -> Any:
    """hcl2 wraps attribute values in one-element lists; blocks stay lists of dicts."""
    if isinstance(value, list) and len(value) == 1 and not isinstance(value[0], dict):
        return value[0]
    return value


@dataclass
class TfBlock:
    """A resource, data source or module: `address` is what checkov and users call it."""

    kind: str  # resource | data | module | variable | output | terraform | provider | locals
    type: str
    name: str
    body: dict[str, Any]
    file: "TfFile"
    line: int
    end_line: int

    @property
    def address(self) -> str:
        if self.kind == "resource":
            return f"{self.type}.{self.name}"
        if self.kind == "data":
            return f"data.{self.type}.{self.name}"
        if self.kind in ("module", "variable", "output", "provider"):
            return f"{self.kind}.{self.name or self.type}"
        return self.kind

    def get(self, name: str, default: Any = None) -> Any:
        return unwrap(self.body.get(name, default))

    def attribute_line(self, name: str) -> int:
        pattern = re.compile(rf"^\s*{re.escape(name)}\s*=")
        for number in range(self.line, min(self.end_line, len(self.file.lines)) + 1):
            if pattern.match(self.file.lines[number - 1]):
                return number
        return self.line


@dataclass
class TfFile:
    path: str
    abs_path: Path
    data: dict[str, Any]
    lines: list[str]
    blocks: list[TfBlock] = field(default_factory=list)

    def resources(self, *types: str) -> Iterator[TfBlock]:
        for block in self.blocks:
            if block.kind == "resource" and (not types or block.type in types):
                yield block


def _labelled_blocks(kind: str, entries: Any, depth: int) -> Iterator[tuple[str, str, dict]]:
    """Yield (type, name, body) for `resource "t" "n"` (depth 2) or `variable "n"` (depth 1)."""
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        for first, inner in entry.items():
            if depth == 2 and isinstance(inner, dict):
                for second, body in inner.items():
                    if isinstance(body, dict):
                        yield first, second, body
            elif depth == 1 and isinstance(inner, dict):
                yield first, first, inner


def parse_terraform(path: str, abs_path: Path, text: str) -> TfFile:
    import hcl2

    try:
        data = hcl2.loads(text)
    except Exception as exc:  # lark raises many exception types; all mean "does not parse"
        line = getattr(exc, "line", None)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HclParseError(message, line if isinstance(line, int) and line > 0 else None) from exc
    tf = TfFile(path=path, abs_path=abs_path, data=data, lines=text.splitlines())
    for kind, depth in (("resource", 2), ("data", 2), ("module", 1), ("variable", 1),
                        ("output", 1), ("provider", 1)):
        for btype, name, body in _labelled_blocks(kind, data.get(kind), depth):
            tf.blocks.append(TfBlock(kind, btype, name, body, tf,
                                     int(body.get(START, 1)), int(body.get(END, 1))))
    for body in data.get("terraform", []) or []:
        if isinstance(body, dict):
            tf.blocks.append(TfBlock("terraform", "terraform", "", body, tf,
                                     int(body.get(START, 1)), int(body.get(END, 1))))
    tf.blocks.sort(key=lambda b: b.line)
    return tf


def parse_tfvars(text: str) -> dict[str, Any]:
    import hcl2

    data = hcl2.loads(text)
    return {key: unwrap(value) for key, value in data.items() if not key.startswith("__")}
