"""Terraform values that hold a document of their own: ECS container definitions.

`container_definitions = jsonencode([...])` and JSON heredocs are decoded here, once, for every
rule that looks inside a task definition (images, log configuration, log groups).
"""

from __future__ import annotations

import ast
import json
from typing import Any

from sre_agent.parsing.terraform import TfBlock
from sre_agent.resolve import UNKNOWN


def tf_container_definitions(block: TfBlock) -> Any:
    """The container definitions of an `aws_ecs_task_definition` when written inline with
    `jsonencode([...])` or as a JSON heredoc; UNKNOWN for file(), templatefile(), variables."""
    raw = block.get("container_definitions")
    if not isinstance(raw, str):
        return UNKNOWN
    text = raw.strip()
    if text.startswith("${jsonencode(") and text.endswith(")}"):
        try:
            value = ast.literal_eval(text[len("${jsonencode("):-2])
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return UNKNOWN
        return value if isinstance(value, list) else UNKNOWN
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            return UNKNOWN
        return value if isinstance(value, list) else UNKNOWN
    return UNKNOWN


