"""Which values a template really gets: its parent stacks and the parameter files bound to it.

A nested child is deployed with what its parent's `AWS::CloudFormation::Stack` passes, never with
its own `Default`s and never with a parameter file (CloudFormation gives it none); judging it on
its defaults produced false "single-AZ in prod" findings on real projects. A top-level template
gets the parameter files meant for it: a per-stack file (`parameters/prod/02-database.json`,
`03-compute-params.json`) belongs to the template of that name only; a file named only by its
environment (`parameters/prod.json`) is shared by every stack whose parameters it sets.

Each environment's values carry their origin (`EnvContext.source`), so a finding can say
"prod: `IsMultiAZ` = 'true' from stacks/02-database/stack.yaml:81 ← parameters/prod.json".
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any, Iterable

from sre_agent.environments import canonical, is_prod
from sre_agent.parsing.cloudformation import CfnResource, CfnTemplate, cfn_refs

# Words that name no stack: `stacks/database/main.yaml` is the database stack.
GENERIC_NAMES = frozenset({
    "main", "stack", "template", "templates", "index", "root", "master", "parent", "cfn",
    "cloudformation", "params", "param", "parameters", "parameter", "values", "config",
    "configuration", "temp", "tmp", "env", "environment", "environments", "yaml", "yml", "json",
})
ENV_PARAMETER_NAMES = ("Environment", "Env", "EnvironmentName", "Stage", "EnvType", "SystemEnv")
NAME_TOKEN = re.compile(r"[A-Za-z]+|\d+")


def name_tokens(path: str) -> frozenset[str]:
    """The stack name a file is about: its stem's words less environment and generic words,
    else its folder's (for `stacks/database/main.yaml`)."""
    parts = path.replace("\\", "/").split("/")
    for part in reversed(parts[-2:] if len(parts) > 1 else parts):
        stem = part.rsplit(".", 1)[0] if part is parts[-1] else part
        tokens = frozenset(t.lower() for t in NAME_TOKEN.findall(stem)
                           if t.lower() not in GENERIC_NAMES and not canonical(t))
        if tokens - _digits(tokens):
            return tokens
    return frozenset()


def folder_tokens(path: str) -> frozenset[str]:
    """The words of a template's folder (`templates/database/rds.yaml` → database): the stack
    name when per-stack parameter files are named after the folder, not the file."""
    parts = path.replace("\\", "/").split("/")
    if len(parts) < 2:
        return frozenset()
    return frozenset(t.lower() for t in NAME_TOKEN.findall(parts[-2])
                     if t.lower() not in GENERIC_NAMES and not canonical(t))


def environment_of(pset) -> str | None:
    """The environment a parameter file deploys: its Environment parameter's value wins over
    the file's name (`dev.json` that says `Environment: production` deploys production)."""
    for name in ENV_PARAMETER_NAMES:
        if name in pset.values and canonical(str(pset.values[name])):
            return canonical(str(pset.values[name]))
    return pset.environment


def _digits(tokens: frozenset[str]) -> frozenset[str]:
    return frozenset(t for t in tokens if t.isdigit())


@dataclass(frozen=True)
class StackLink:
    """A parent's `AWS::CloudFormation::Stack` resource whose template is a file of the project."""

    parent: CfnTemplate
    resource: CfnResource
    child: CfnTemplate

    @property
    def place(self) -> str:
        return f"{self.parent.path}:{self.resource.line}"


class StackModel:
    """Parents, children and parameter files of every CloudFormation template of a project."""

    def __init__(self, templates: list[CfnTemplate], parameter_sets: list) -> None:
        self.templates = templates
        self.parameter_sets = [p for p in parameter_sets if not p.terraform]
        by_path = {t.path: t for t in templates}
        self.links: list[StackLink] = []
        for parent in templates:
            for resource in parent.of_type("AWS::CloudFormation::Stack"):
                for child_path in _child_paths(parent, resource, by_path):
                    if child_path != parent.path:
                        self.links.append(StackLink(parent, resource, by_path[child_path]))
        self._names = {t.path: name_tokens(t.path) for t in templates}
        self._folders = {t.path: folder_tokens(t.path) for t in templates}

    def parents(self, template: CfnTemplate) -> list[StackLink]:
        return [link for link in self.links if link.child.path == template.path]

    def children(self, template: CfnTemplate) -> list[StackLink]:
        return [link for link in self.links if link.parent.path == template.path]

    def parameter_files(self, template: CfnTemplate) -> list:
        """The parameter files a top-level template is deployed with (none for a nested child).
        A template with files of its own (`dev/06-compute-stack-params.json`) takes a shared
        per-environment file (`production.json`) for its other environments only when it declares
        every key of it: `production.json` with the network's keys is the network stack's file,
        and CloudFormation would refuse it for compute."""
        if self.parents(template):
            return []
        declared = set(template.parameters)
        named, shared = [], []
        for pset in self.parameter_sets:
            if not declared or not set(pset.values) & declared:
                continue
            owners = self.owners(pset)
            if owners is None:
                shared.append(pset)
            elif template.path in owners:
                named.append(pset)
        covered = {environment_of(p) for p in named}
        if named:  # a per-stack layout: another layout's flat file fits only if the template declares all of it
            shared = [p for p in shared if set(p.values) <= declared]
        return named + _nearest([p for p in shared if environment_of(p) not in covered], template.path)

    def uses_parameter(self, template: CfnTemplate, name: str, _seen: frozenset[str] = frozenset()) -> bool:
        """The template reads its parameter `name` somewhere that matters: a resource, an
        output, a condition or a rule — or passes it to a nested stack that does. A parameter
        only declared (or handed to a child that ignores it) changes nothing when deployed."""
        if template.path in _seen:
            return True  # a cycle: do not claim it is unused
        data = template.data
        passed_to_children = []
        for link in self.children(template):
            params = link.resource.properties.get("Parameters")
            if isinstance(params, dict):
                passed_to_children += [(link.child, str(k)) for k, v in params.items() if name in cfn_refs(v)]
        direct = {k: v for k, v in data.items() if k in ("Outputs", "Conditions", "Rules")}
        resources = data.get("Resources") if isinstance(data.get("Resources"), dict) else {}
        links = {link.resource.logical_id for link in self.children(template)}
        if name in cfn_refs(direct) or any(name in cfn_refs(v) for k, v in resources.items() if k not in links):
            return True
        for link in self.children(template):  # a nested stack resource's other properties (TemplateURL …)
            rest = {k: v for k, v in link.resource.properties.items() if k != "Parameters"}
            if name in cfn_refs(rest):
                return True
        return any(self.uses_parameter(child, child_name, _seen | {template.path})
                   for child, child_name in passed_to_children)

    def owners(self, pset) -> set[str] | None:
        """Templates a per-stack parameter file (or section) is named after; None when shared."""
        tokens = name_tokens(pset.stack + ".json") if pset.stack else name_tokens(pset.path)
        if not tokens - _digits(tokens):
            return None
        named = _named_after(self._names, tokens) or _named_after(self._folders, tokens)
        return named if named or pset.stack else None


def _named_after(names_by_path: dict[str, frozenset[str]], tokens: frozenset[str]) -> set[str]:
    return {path for path, names in names_by_path.items()
            if names - _digits(names) and names - _digits(names) <= tokens
            and (not _digits(names) or _digits(names) <= tokens)}


def shared_folders(path: str, other: str) -> int:
    """How many leading folders two project paths share (0 when one is at the top level)."""
    folder = posixpath.dirname(path)
    common = posixpath.commonpath([folder, other]) if folder else ""
    return len(common.split("/")) if common else 0


def _nearest(shared: list, template_path: str) -> list:
    """Of the shared files of one environment, those nearest the template (`service/parameters/
    dev.json` for `service/stacks/x.yaml`, not the `platform/` one beside it)."""
    def depth(pset) -> int:
        return shared_folders(pset.path, template_path)
    best: dict[str | None, int] = {}
    for pset in shared:
        best[environment_of(pset)] = max(best.get(environment_of(pset), -1), depth(pset))
    return [p for p in shared if depth(p) == best[environment_of(p)]]


def _child_paths(parent: CfnTemplate, resource: CfnResource, by_path: dict[str, CfnTemplate]) -> list[str]:
    """Local templates a nested stack's `TemplateURL` names: a relative path (as `aws cloudformation
    package` reads it), or an S3 URL whose key ends like a file of the project."""
    found: list[str] = []
    for url in _url_variants(resource.properties.get("TemplateURL")):
        if "://" not in url and not url.startswith("${"):
            local = posixpath.normpath(posixpath.join(posixpath.dirname(parent.path), url))
            if local in by_path:
                found.append(local)
                continue
        key = [s for s in re.sub(r"^[a-z0-9]+://[^/]*", "", url).split("/") if s and "${" not in s]
        best: list[str] = []
        for length in range(len(key), 0, -1):
            suffix = "/".join(key[-length:])
            best = [p for p in by_path if p == suffix or p.endswith("/" + suffix)]
            if best:
                break
        if len(best) > 1:  # the same file name in several places: the one nearest the parent
            best = [max(best, key=lambda p: len(posixpath.commonprefix([p, parent.path])))]
        found += best
    return list(dict.fromkeys(found))


def _url_variants(node: Any) -> Iterable[str]:
    """The string forms a TemplateURL can take: literal, `!Sub`, `!Join`, either `!If` branch."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict) and len(node) == 1:
        (key, arg), = node.items()
        if key == "Fn::Sub":
            text = arg[0] if isinstance(arg, list) and arg else arg
            if isinstance(text, str):
                yield text
        elif key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            yield str(arg[0]).join(p if isinstance(p, str) else "${x}" for p in arg[1])
        elif key == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            yield from _url_variants(arg[1])
            yield from _url_variants(arg[2])


def prod_first(contexts: list, prod_only: bool) -> list:
    return [c for c in contexts if is_prod(c.name)] if prod_only else contexts
