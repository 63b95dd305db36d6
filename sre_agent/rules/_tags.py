"""Which tag keys a Terraform resource ends up with: its own `tags` plus its provider's
`default_tags`.

Tags are usually composed: `tags = merge(local.common_tags, { Name = "x" })`. The keys are
read through locals, variable defaults and `merge(...)`; anything else (a module output, a
function we do not model, a dynamic key) makes the answer None — unknown — so the rule stays
silent instead of guessing.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from sre_agent.parsing.terraform import TfBlock, unwrap

LITERAL_KEY = re.compile(r"""\s*(?:'([^'$]+)'\s*:|"([^"$]+)"\s*[:=]|([A-Za-z_][\w-]*)\s*[:=])""")
MAX_DEPTH = 8


@lru_cache(maxsize=1)
def tf_taggable_types() -> frozenset[str]:
    """AWS resource types that take `tags`, from checkov's own list (used by its tag policies)."""
    try:
        from checkov.common.checks_infra.resources_types import resources_types

        return frozenset(resources_types.get("aws_taggable", []))
    except Exception:  # checkov layout changed: no type is known taggable, the rule stays silent
        return frozenset()


def split_arguments(text: str) -> list[str]:
    """Top-level comma-separated arguments of a call, respecting brackets and quotes."""
    parts, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def tag_keys(value: Any, local_values: dict[str, Any], defaults: dict[str, Any], depth: int = 0) -> set[str] | None:
    """The keys of a `tags` value, or None when they cannot be known."""
    value = unwrap(value)
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        value = value[0]  # hcl2 wraps a map attribute like a block
    if depth > MAX_DEPTH:
        return None
    if value is None:
        return set()
    if isinstance(value, dict):
        return {k for k in value if not k.startswith("__") and "${" not in k}
    if not isinstance(value, str):
        return None
    expr = value[2:-1].strip() if value.startswith("${") and value.endswith("}") else value.strip()
    if expr.startswith("local.") and expr[6:].isidentifier():
        return tag_keys(local_values.get(expr[6:]), local_values, defaults, depth + 1) \
            if expr[6:] in local_values else None
    if expr.startswith("var.") and expr[4:].isidentifier():
        return tag_keys(defaults.get(expr[4:]), local_values, defaults, depth + 1) \
            if expr[4:] in defaults else None
    if expr.startswith("merge(") and expr.endswith(")"):
        keys: set[str] = set()
        for argument in split_arguments(expr[6:-1]):
            part = tag_keys(argument, local_values, defaults, depth + 1)
            if part is None:
                return None
            keys |= part
        return keys
    if expr.startswith("{") and expr.endswith("}"):
        keys = set()
        for entry in split_arguments(expr[1:-1]):
            match = LITERAL_KEY.match(entry)
            if match is None:
                return None
            keys.add(match.group(1) or match.group(2) or match.group(3))
        return keys
    return None


def provider_default_tags(files: list, local_values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, set[str] | None]:
    """`aws` / `aws.<alias>` -> the keys of that provider's default_tags (None: unknown); a
    provider configured in several root modules keeps only the keys all of them set."""
    found: dict[str, set[str] | None] = {}
    for tf in files:
        for block in tf.blocks:
            if block.kind != "provider" or block.type != "aws":
                continue
            alias = block.get("alias")
            name = f"aws.{alias}" if isinstance(alias, str) else "aws"
            keys: set[str] | None = set()
            for default_tags in block.body.get("default_tags") or []:
                if isinstance(default_tags, dict):
                    part = tag_keys(default_tags.get("tags"), local_values, defaults)
                    keys = None if part is None or keys is None else keys | part
            if name in found:  # several root modules share child modules: only common keys count
                previous = found[name]
                keys = None if keys is None or previous is None else keys & previous
            found[name] = keys
    return found


def resource_provider(block: TfBlock) -> str:
    provider = block.get("provider")
    if isinstance(provider, str):
        return provider.removeprefix("${").removesuffix("}").strip()
    return "aws"
