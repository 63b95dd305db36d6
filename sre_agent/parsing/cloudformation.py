"""CloudFormation templates through cfn-lint's own decoder.

Using cfn-lint's decoder (not a YAML loader of our own) gives us its intrinsic-function tags,
line marks on every key, and its alias-amplification guard; the decoded template is then handed
to cfn-lint's rules as is, so each template is parsed once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

LOOKS_LIKE_TEMPLATE = re.compile(
    r"""^\s*["']?AWSTemplateFormatVersion["']?\s*:|["']?Type["']?\s*:\s*["']?AWS::[A-Za-z0-9]+::""",
    re.MULTILINE,
)


class TemplateParseError(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def line_of(node: Any) -> int | None:
    """1-based line of a decoded node (cfn-lint marks are 0-based); None for plain scalars."""
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else None


@dataclass
class CfnResource:
    logical_id: str
    type: str
    body: dict[str, Any]
    line: int

    @property
    def properties(self) -> dict[str, Any]:
        props = self.body.get("Properties")
        return props if isinstance(props, dict) else {}

    def property_line(self, name: str) -> int:
        """Line of the property's key, or the resource's line when the property is absent."""
        for key in self.properties:
            if key == name:
                return line_of(key) or self.line
        return self.line


@dataclass
class CfnTemplate:
    path: str
    abs_path: Path
    data: dict[str, Any]
    resources: dict[str, CfnResource] = field(default_factory=dict)

    @property
    def parameters(self) -> dict[str, Any]:
        params = self.data.get("Parameters")
        return params if isinstance(params, dict) else {}

    def of_type(self, *types: str) -> Iterator[CfnResource]:
        for resource in self.resources.values():
            if resource.type in types:
                yield resource


def looks_like_template(text: str) -> bool:
    return bool(LOOKS_LIKE_TEMPLATE.search(text[:200_000]))


def parse_template(path: str, abs_path: Path, text: str) -> CfnTemplate:
    """Decode with cfn-lint; raise TemplateParseError carrying cfn-lint's message and line."""
    from cfnlint.decode.decode import decode_str

    data, matches = decode_str(text)
    if matches:
        first = matches[0]
        raise TemplateParseError(first.message, first.linenumber or None)
    if not isinstance(data, dict):
        raise TemplateParseError("template is not a mapping", 1)
    template = CfnTemplate(path=path, abs_path=abs_path, data=data)
    resources = data.get("Resources")
    if isinstance(resources, dict):
        for logical_id, body in resources.items():
            if not isinstance(body, dict):
                continue
            rtype = body.get("Type")
            template.resources[str(logical_id)] = CfnResource(
                logical_id=str(logical_id),
                type=rtype if isinstance(rtype, str) else "",
                body=body,
                line=line_of(logical_id) or 1,
            )
    return template


# `${Name}` / `${Resource.Attribute}` / `${AWS::Region}` in a Fn::Sub text
SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_:.]+)\}")


def cfn_refs(node: Any) -> set[str]:
    """Logical ids (or parameter names) a value refers to through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, arg in node.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, list) and arg else arg
                if isinstance(target, str):
                    found.add(target.split(".", 1)[0])
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) and arg else arg
                if isinstance(text, str):
                    found |= {m.split(".", 1)[0] for m in SUB_VARIABLE.findall(text)
                              if not m.startswith("AWS::")}
                if isinstance(arg, list) and len(arg) > 1:
                    found |= cfn_refs(arg[1])
            else:
                found |= cfn_refs(arg)
    elif isinstance(node, list):
        for item in node:
            found |= cfn_refs(item)
    return found
