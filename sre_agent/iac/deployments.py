"""Which template is deployed with which parameter file, as the scripts and runbooks say it.

`create-change-set --template-body file://stacks/${STACK}.yaml --parameters file://parameters/
${ENV}.json` names its files through variables. A variable becomes "any text" unless the same
file assigns it literally (then each assigned value is tried), and the resulting pattern is
matched against the project's files. A command whose files match nothing in the project (a
filtered copy in /tmp, an S3 URL) is not a deployment we can judge and is left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

from sre_agent.iac.stacks import name_tokens, shared_folders
from sre_agent.parsing.cloudformation import CfnTemplate
from sre_agent.parsing.shell import ShellCommand

CFN_ACTIONS = ("create-change-set", "create-stack", "update-stack", "deploy")
# `$ENV`, `${ENV:-dev}`, `$1`, `${1:?usage}`: a positional parameter is any text, like an unset name
VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?:[:%#/][^}]*)?\}?|\$\{[0-9@*](?:[:%#/][^}]*)?\}|\$[0-9@*]")


@dataclass
class Deployment:
    """One CloudFormation command of the project with the local files it deploys."""

    file: str
    line: int
    action: str
    templates: list[CfnTemplate]
    parameter_sets: list = field(default_factory=list)
    paired_by_name: bool = False  # the stack variable chooses both files: pair them by name
    capabilities: tuple[str, ...] | None = ()  # `--capabilities` words; None when a variable decides

    def pairs(self) -> Iterator[tuple[CfnTemplate, object]]:
        for template in self.templates:
            stack = name_tokens(template.path)
            for pset in self.parameter_sets:
                if not self.paired_by_name or (stack and stack <= name_tokens(pset.path)):
                    yield template, pset


def deployments(project) -> list[Deployment]:
    """Every `aws cloudformation` deploy command of scripts and runbook procedures whose
    template is a file of the project (built once per review)."""
    return project.memo("deployments", lambda: _deployments(project))


def _deployments(project) -> list[Deployment]:
    found: list[Deployment] = []
    assigned = _assignments(project)
    for path, command in project.commands():
        action = _action(command)
        if action is None:
            continue
        template_arg = command.option("--template-file") or command.option("--template-body")
        if not template_arg:
            continue
        variables = assigned.get(path, {})
        template_pattern, template_vars = _pattern(template_arg, variables)
        templates = _nearest([t for t in project.templates if template_pattern and template_pattern.search(t.path)],
                             path)
        if not templates:
            continue
        params_arg = command.option("--parameters") or command.option("--parameter-overrides")
        psets: list = []
        shared_vars: set[str] = set()
        if params_arg and params_arg.startswith("file://"):
            params_pattern, params_vars = _pattern(params_arg, variables)
            psets = [p for p in project.parameter_sets if not p.terraform and p.stack is None
                     and params_pattern and params_pattern.search(p.path)]
            shared_vars = template_vars & params_vars
        found.append(Deployment(path, command.line, action, templates, psets, bool(shared_vars),
                                _capabilities(command)))
    return found


def parameter_file_readers(project) -> dict[str, tuple[str, int]]:
    """Parameter files a deploy script names in full, though it may pass a filtered copy
    (`PARAMETERS_FILE="parameters/dev.json"`, then `jq … > /tmp/x.json`): file → (script, line).
    Only names that resolve without guessing count (literal text, or variables the script
    assigns one literal value); `parameters/${ENV}.json` with ENV from `$1` names no file."""
    return project.memo("parameter-file-readers", lambda: _parameter_file_readers(project))


def _parameter_file_readers(project) -> dict[str, tuple[str, int]]:
    found: dict[str, tuple[str, int]] = {}
    assigned = _assignments(project)
    files = [p.path for p in project.parameter_sets if not p.terraform]
    for script in project.scripts:
        commands = script.script.commands
        if not any(_action(c) for c in commands):
            continue
        variables = {name: values[0] for name, values in assigned.get(script.path, {}).items()
                     if len(values) == 1 and not VARIABLE.search(values[0])}
        for command in commands:
            for word in (*command.words, *(a.partition("=")[2] for a in command.assignments)):
                if ".json" not in word:
                    continue
                text = VARIABLE.sub(lambda m: variables.get(m.group(1) or "", m.group(0)), word)
                if VARIABLE.search(text):
                    continue
                text = re.sub(r"^(file://)?(\./)*", "", text.strip("'\""))
                for path in files:
                    if path not in found and (path == text or path.endswith("/" + text)):
                        found[path] = (script.path, command.line)
    return found


def _nearest(templates: list[CfnTemplate], command_file: str) -> list[CfnTemplate]:
    """`file://stack.yaml` in stacks/3-vpn/README.md is that folder's stack.yaml, not every
    stack.yaml of the project: of the matches, those nearest the file that runs the command."""
    if len(templates) < 2:
        return templates
    best = max(shared_folders(command_file, t.path) for t in templates)
    near = [t for t in templates if shared_folders(command_file, t.path) == best]
    return near if best > 0 else templates


def _capabilities(command: ShellCommand) -> tuple[str, ...] | None:
    words = list(command.words)
    if "--capabilities" not in words:
        return ()
    given = []
    for word in words[words.index("--capabilities") + 1:]:
        if word.startswith("--"):
            break
        if "$" in word:
            return None
        given += word.replace(",", " ").split()
    return tuple(given)


def _action(command: ShellCommand) -> str | None:
    if command.name != "aws" or command.in_substitution:
        return None
    return next((a for a in CFN_ACTIONS if command.has_words("cloudformation", a)), None)


def _assignments(project) -> dict[str, dict[str, list[str]]]:
    """Literal `NAME=value` assignments of each script or runbook, every value kept."""
    result: dict[str, dict[str, list[str]]] = {}
    for path, command in project.commands():
        for assignment in command.assignments:
            name, _, value = assignment.partition("=")
            values = result.setdefault(path, {}).setdefault(name, [])
            if value not in values:
                values.append(value)
    return result


def _pattern(argument: str, variables: dict[str, list[str]]) -> tuple[re.Pattern | None, set[str]]:
    """A regex for the file an argument names, and the variables it depends on; None when the
    argument is nothing but variables (it could be any file)."""
    text = argument[len("file://"):] if argument.startswith("file://") else argument
    text = re.sub(r"^(\./)+", "", text)
    used: set[str] = set()
    regex = _expand(text, variables, used, depth=0)
    literal = VARIABLE.sub("", _expand_literal(text, variables))
    if not re.search(r"[A-Za-z0-9]", literal.replace("json", "").replace("yaml", "").replace("yml", "")):
        return None, used
    return re.compile(rf"(?:^|/){regex}$"), used


def _expand(text: str, variables: dict[str, list[str]], used: set[str], depth: int) -> str:
    parts, last = [], 0
    for match in VARIABLE.finditer(text):
        parts.append(re.escape(text[last:match.start()]))
        name = match.group(1)
        if name:
            used.add(name)
        values = variables.get(name or "", [])
        if depth < 3 and values and not any(VARIABLE.fullmatch(v) for v in values):
            parts.append("(?:" + "|".join(_expand(v, variables, used, depth + 1) for v in values) + ")")
        else:
            parts.append(".*")
        last = match.end()
    parts.append(re.escape(text[last:]))
    return "".join(parts)


def _expand_literal(text: str, variables: dict[str, list[str]]) -> str:
    """The argument with single-valued literal variables filled in (to see what is fixed)."""
    def fill(match: re.Match) -> str:
        values = variables.get(match.group(1) or "", [])
        return values[0] if len(values) == 1 else match.group(0)
    return VARIABLE.sub(fill, text)


def undeployed_templates(project) -> set[str]:
    """Templates nothing deploys: no deploy command, no parent stack, and no script, workflow or
    runbook that names them — a project's old layout or drafts. Empty when the project's deploy
    commands reference no template at all (then we cannot tell what is deployed)."""
    from sre_agent.resolve import stack_model

    deployed = {t.path for d in deployments(project) for t in d.templates}
    if not deployed:
        return set()
    model = stack_model(project)
    by_path = {t.path: t for t in project.templates}
    frontier = list(deployed)
    while frontier:
        for link in model.children(by_path[frontier.pop()]):
            if link.child.path not in deployed:
                deployed.add(link.child.path)
                frontier.append(link.child.path)
    texts = [s.text for s in project.scripts] + [project.texts.get(w, "") for w in project.workflows]
    texts += [d.text for d in project.documents if d.is_runbook]
    named = "\n".join(texts)
    return {t.path for t in project.templates
            if t.path not in deployed and "/".join(t.path.split("/")[-2:]) not in named}
