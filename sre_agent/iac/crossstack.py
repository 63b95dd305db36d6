"""Values stacks hand each other: CloudFormation exports, SSM parameters, and who reads them.

A stack that imports `kintai-prd-VpcId` or resolves `{{resolve:ssm:/kintai/prd/db/endpoint}}`
fails to deploy (or deploys with a stale value) when nothing writes that name. Names are
usually built with `!Sub`; a part we cannot know (`${AWS::StackName}`, a parameter) matches
anything, so a read is "unwritten" only when no writer of the project could produce its name.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass
from typing import Any, Iterator

from sre_agent.parsing.cloudformation import line_of
from sre_agent.parsing.terraform import unwrap

WILDCARD = "\x00"
SSM_REFERENCE = re.compile(r"\{\{resolve:ssm(?:-secure)?:([^:}]+)")
PUBLIC_SSM = ("/aws/service/", "aws/service/")  # AWS's public parameters (AMI ids, regions)


@dataclass(frozen=True)
class CrossStackValue:
    kind: str   # "export" | "ssm"
    name: str   # with WILDCARD where the name depends on something we cannot know
    file: str
    line: int
    owner: str | None = None
    sample: str | None = None  # the name with parameter Defaults filled in, for its namespace

    @property
    def shown(self) -> str:
        return self.name.replace(WILDCARD, "*")

    def could_be(self, other: "CrossStackValue") -> bool:
        """True when this (writer) name could equal the other (reader) name."""
        return _regex(self.name).fullmatch(other.name.replace(WILDCARD, "X")) is not None or \
            _regex(other.name).fullmatch(self.name.replace(WILDCARD, "X")) is not None

    @property
    def namespace(self) -> str:
        """The name's first segment (`kintai` of `/kintai/prd/x` or `kintai-prd-VpcId`)."""
        return re.split(r"[-/:.]", (self.sample or self.name).lstrip("/"), maxsplit=1)[0]


def writers(project) -> list[CrossStackValue]:
    return project.memo("crossstack-writers", lambda: _writers(project))


def readers(project) -> list[CrossStackValue]:
    return project.memo("crossstack-readers", lambda: _readers(project))


def _writers(project) -> list[CrossStackValue]:
    found: list[CrossStackValue] = []
    for template in project.templates:
        outputs = template.data.get("Outputs")
        for key, output in (outputs.items() if isinstance(outputs, dict) else []):
            export = output.get("Export") if isinstance(output, dict) else None
            if isinstance(export, dict) and "Name" in export:
                found.append(CrossStackValue("export", _name(export["Name"]), template.path,
                                             line_of(output) or 1, str(key),
                                             _name(export["Name"], _defaults(template))))
        for resource in template.of_type("AWS::SSM::Parameter"):
            if "Name" in resource.properties:
                node = resource.properties["Name"]
                found.append(CrossStackValue("ssm", _name(node), template.path, resource.property_line("Name"),
                                             resource.logical_id, _name(node, _defaults(template))))
    for tf in project.terraform:
        for block in tf.resources("aws_ssm_parameter"):
            found.append(CrossStackValue("ssm", _tf_name(block.get("name")), tf.path,
                                         block.attribute_line("name"), block.address))
    return found


def _readers(project) -> list[CrossStackValue]:
    found: list[CrossStackValue] = []
    for template in project.templates:
        for resource in template.resources.values():
            for prop, value in resource.properties.items():
                for kind, name in _reads(value):
                    found.append(CrossStackValue(kind, name, template.path,
                                                 resource.property_line(prop), resource.logical_id))
        for pname, spec in template.parameters.items():
            if isinstance(spec, dict) and str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
                default = spec.get("Default")
                if isinstance(default, str) and default:
                    found.append(CrossStackValue("ssm", default, template.path, line_of(spec) or 1, str(pname)))
    for tf in project.terraform:
        for block in tf.blocks:
            if block.kind == "data" and block.type == "aws_ssm_parameter":
                found.append(CrossStackValue("ssm", _tf_name(block.get("name")), tf.path,
                                             block.attribute_line("name"), block.address))
    return [r for r in found if not r.name.startswith(PUBLIC_SSM)]


def _reads(node: Any) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, arg in node.items():
            if key == "Fn::ImportValue":
                yield "export", _name(arg)
            else:
                yield from _reads(arg)
    elif isinstance(node, list):
        for item in node:
            yield from _reads(item)
    elif isinstance(node, str):
        for match in SSM_REFERENCE.finditer(node):
            yield "ssm", re.sub(r"\$\{[^}]*\}", WILDCARD, match.group(1))


def _defaults(template) -> dict[str, str]:
    return {str(k): str(v["Default"]) for k, v in template.parameters.items()
            if isinstance(v, dict) and isinstance(v.get("Default"), (str, int))}


def _name(node: Any, known: dict[str, str] | None = None) -> str:
    """A name with every part we cannot know replaced by WILDCARD (`known` fills parameters)."""
    known = known or {}
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        (key, arg), = node.items()
        if key == "Fn::Sub":
            text = arg[0] if isinstance(arg, list) and arg else arg
            return (re.sub(r"\$\{([^}]*)\}", lambda m: known.get(m.group(1), WILDCARD), text)
                    if isinstance(text, str) else WILDCARD)
        if key == "Ref" and isinstance(arg, str):
            return known.get(arg, WILDCARD)
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            return str(arg[0]).join(_name(p, known) for p in arg[1])
    return WILDCARD


def _tf_name(value: Any) -> str:
    text = unwrap(value)
    return re.sub(r"\$\{[^}]*\}", WILDCARD, text) if isinstance(text, str) else WILDCARD


@lru_cache(maxsize=4096)
def _regex(name: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in name.split(WILDCARD)), re.DOTALL)
