"""The deploy path as the DEP rules see it: blocks of commands, change-set script roles,
rollback context, approval gates and GitHub Actions workflows.

A `CommandBlock` is a unit in which "later in the same script" makes sense: one shell script,
one fenced bash block of a runbook (with the headings above it), or one `run:` step of a
workflow. Every helper reads parsed commands (`ShellCommand`), never raw text, except where
bash itself has no command to read: `case` patterns (`--yes)`), which are matched per line
with comments skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Iterator

import yaml

from sre_agent.parsing.shell import ShellCommand, ShellScript, parse_shell
from sre_agent.project import Project, ScriptFile

ROLLBACK_WORDS = ("rollback", "roll-back", "roll_back", "ロールバック", "切り戻し", "切戻し",
                  "切り戻", "revert")
ROLLBACK_ACTIONS = frozenset({"rollback-stack", "cancel-update-stack", "continue-update-rollback"})
DEPLOY_ACTIONS = frozenset({"execute-change-set", "create-stack", "update-stack", "delete-stack",
                            "deploy", "rollback-stack", "continue-update-rollback"})
YES_FLAGS = frozenset({"--yes", "-y", "--force", "--auto-approve", "--non-interactive",
                       "--no-confirm"})
NON_INTERACTIVE_VARS = re.compile(
    r"\$\{?(CI|GITHUB_ACTIONS|CODEBUILD_BUILD_ID|AUTO_APPROVE|ASSUME_YES|NON_INTERACTIVE|"
    r"FORCE|YES|SKIP_CONFIRM)\b")
_ROLLBACK_COMMAND = re.compile(r"(do_|cmd_|run_)?(rollback|roll-back|roll_back|revert)", re.I)
_CASE_PATTERN = re.compile(r"^\s*\(?\s*([\w.*\"' -]+(?:\|[\w.*\"' -]+)*)\)")


@dataclass
class CommandBlock:
    """Commands read together: a script, a runbook code block or a workflow `run:` step."""

    path: str
    kind: str  # script | runbook | workflow
    commands: tuple[ShellCommand, ...]
    headings: tuple[str, ...] = ()  # runbook: section titles above the block
    script: ScriptFile | None = None
    job: "WorkflowJob | None" = None

    @property
    def under_rollback_heading(self) -> bool:
        """The block's section, or a parent section below the document title, is about
        rollback. The title counts only for blocks directly under it: a document called
        ロールバック手順書 may still have a 「リリース」 section."""
        titles = self.headings[1:] if len(self.headings) > 1 else self.headings
        return any(is_rollback_text(title) for title in titles)


def is_rollback_text(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in ROLLBACK_WORDS)


def cfn_action(command: ShellCommand) -> str | None:
    """`create-change-set` for `aws --region x cloudformation create-change-set ...`."""
    if command.name != "aws":
        return None
    words = command.words
    for index, word in enumerate(words[:-1]):
        if word == "cloudformation":
            return words[index + 1]
    return None


def cfn_wait(command: ShellCommand) -> str | None:
    """The waiter of `aws cloudformation wait stack-update-complete ...`."""
    if cfn_action(command) != "wait":
        return None
    words = command.words
    index = words.index("wait")
    return words[index + 1] if index + 1 < len(words) else ""


def terraform_subcommand(command: ShellCommand) -> tuple[str | None, list[str]]:
    """(`apply`, its arguments) for `terraform -chdir=x apply -auto-approve tfplan`."""
    if command.name not in ("terraform", "tofu"):
        return None, []
    words = list(command.words)
    start = words.index(command.name) + 1 if command.name in words else 1
    for index in range(start, len(words)):
        if not words[index].startswith("-"):
            return words[index], words[index + 1:]
    return None, []


def case_patterns(text: str) -> Iterator[tuple[int, list[str]]]:
    """`stg | prd)` and `-y|--yes)` alternatives of case branches, with their 1-based line."""
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("$("):
            continue
        match = _CASE_PATTERN.match(line)
        if match and "=" not in match.group(1):
            yield number, [alt.strip().strip("\"'") for alt in match.group(1).split("|")]


# --- what a script changes -------------------------------------------------------------------

_AWS_VALUE_OPTIONS = frozenset({"--region", "--profile", "--output", "--endpoint-url", "--query",
                                "--color", "--ca-bundle", "--cli-read-timeout",
                                "--cli-connect-timeout", "--cli-input-json"})
_READ_ONLY_OPERATION = re.compile(
    r"(describe|list|get|head|wait|validate|estimate|detect|filter|lookup|search|test|tail|ls"
    r"|help|batch-get|query|scan|simulate|preview|generate|decode|verify)(-|$)")
_CHANGING_SCRIPT = re.compile(r"(deploy|changeset|change-set|rollback|destroy|delete|apply|release)",
                              re.IGNORECASE)


def aws_operation(command: ShellCommand) -> tuple[str, str] | None:
    """(service, operation) of `aws [--region x] <service> <operation> ...`."""
    if command.name != "aws":
        return None
    words, found, skip = list(command.words[1:]), [], False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("--"):
            skip = word in _AWS_VALUE_OPTIONS
            continue
        found.append(word)
        if len(found) == 2:
            return found[0], found[1]
    return None


def changes_infrastructure(commands: tuple[ShellCommand, ...] | list[ShellCommand]) -> bool:
    """The commands change cloud resources: an AWS call that is not read-only (describe-, list-,
    get-, wait ...), terraform apply / destroy / import / state, docker push, kubectl / helm /
    sam / cdk deploys, or a call of the project's deploy scripts."""
    for command in commands:
        operation = aws_operation(command)
        if operation is not None:
            service, action = operation
            if service == "s3":
                if action in ("cp", "mv", "rm", "rb", "mb", "sync"):
                    return True
            elif service not in ("sts", "configure", "help") and not _READ_ONLY_OPERATION.match(action):
                return True
            continue
        sub, _ = terraform_subcommand(command)
        words = command.words
        if sub in ("apply", "destroy", "import", "state", "taint"):
            return True
        if command.name == "docker" and "push" in words:
            return True
        if command.name in ("kubectl", "helm", "sam", "cdk", "serverless", "sls", "copilot") and any(
                w in ("apply", "delete", "deploy", "destroy", "install", "upgrade", "uninstall",
                      "rollback", "replace", "patch", "scale") for w in words[1:]):
            return True
        name = command.name.rsplit("/", 1)[-1]
        if name.endswith(".sh") and _CHANGING_SCRIPT.search(name):
            return True
    return False


# --- blocks ------------------------------------------------------------------------------------

def script_blocks(project: Project) -> Iterator[CommandBlock]:
    for script in project.scripts:
        yield CommandBlock(script.path, "script", script.script.commands, script=script)


def runbook_blocks(project: Project) -> Iterator[CommandBlock]:
    for document in project.documents:
        sections = {id(block): section for section in document.doc.sections()
                    for block in section.code_blocks}
        for block, parsed in document.shell_blocks():
            section = sections.get(id(block))
            headings = section.path() if section is not None else ()
            rollback = any(is_rollback_text(h) for h in headings)  # re-applies an older file
            commands = tuple(c for c in parsed.commands if rollback or not _foreign_template(project, c))
            yield CommandBlock(document.path, "runbook", commands, headings)


def _foreign_template(project: Project, command: ShellCommand) -> bool:
    """A document's command that deploys a template file the project does not have
    (`file://efs.yaml` beside stacks that hold no EFS): a sketch, not this project's deploy path.
    Only said of a project that has templates; a design-phase project's runbook is judged as is."""
    if not project.templates:
        return False
    argument = command.option("--template-body") or command.option("--template-file")
    if not argument or "$" in argument or "<" in argument or argument.startswith(("http", "s3://")):
        return False
    name = argument[len("file://"):] if argument.startswith("file://") else argument
    name = name.lstrip("./")
    if re.search(r"prev|old|backup|rollback|v\d|以前|前回", name, re.IGNORECASE):
        return False  # `previous-version.yaml`: an earlier release kept outside the repository
    # every file of the project counts: a template that failed to parse is still this project's
    return not any(f.path == name or f.path.endswith("/" + name) for f in (*project.templates, *project.files))


def command_blocks(project: Project, workflows: bool = True) -> Iterator[CommandBlock]:
    yield from script_blocks(project)
    yield from runbook_blocks(project)
    if workflows:
        for job in workflow_jobs(project):
            for step in job.steps:
                if step.shell is not None:
                    yield CommandBlock(job.path, "workflow", step.shell.commands, job=job)


# --- change-set script roles ------------------------------------------------------------------

def script_actions(script: ScriptFile) -> set[str]:
    return {a for a in (cfn_action(c) for c in script.script.commands) if a}


def has_rollback_branch(script: ScriptFile) -> bool:
    """A `rollback` function or `rollback)` case branch: one script with sub-commands."""
    if any(_ROLLBACK_COMMAND.match(name) for name in script.script.functions):
        return True
    return any(_ROLLBACK_COMMAND.fullmatch(alt) for _, alts in case_patterns(script.text) for alt in alts)


def reapplies_previous_release(script: ScriptFile) -> bool:
    """A change set built from an earlier release's template: `git show <tag>:<template>` or
    `git checkout <tag> -- <path>` (not HEAD) in a script that creates a change set."""
    if "create-change-set" not in script_actions(script):
        return False
    for command in script.script.commands:
        words = command.words
        if command.name != "git":
            continue
        if "show" in words and any(":" in w and not w.upper().startswith("HEAD")
                                   for w in words[words.index("show") + 1:] if not w.startswith("-")):
            return True
        if "checkout" in words and "--" in words:
            ref = words[words.index("checkout") + 1:words.index("--")]
            if ref and not ref[0].upper().startswith("HEAD"):
                return True
    return False


def is_rollback_script(script: ScriptFile) -> bool:
    """A script whose purpose is rollback: named so, running a CloudFormation rollback call,
    offering a rollback function / sub-command, or re-applying an earlier release."""
    if is_rollback_text(PurePosixPath(script.path).stem):
        return True
    return bool(script_actions(script) & ROLLBACK_ACTIONS) or has_rollback_branch(script) \
        or reapplies_previous_release(script)


def change_set_roles(script: ScriptFile) -> set[str]:
    """Which of create / describe / execute / rollback this script performs, by its commands."""
    actions = script_actions(script)
    roles = {role for role, action in (("create", "create-change-set"),
                                       ("describe", "describe-change-set"),
                                       ("execute", "execute-change-set")) if action in actions}
    if is_rollback_script(script):
        roles.add("rollback")
    return roles


# --- approval gates ---------------------------------------------------------------------------

def confirmation_reads(commands: tuple[ShellCommand, ...] | list[ShellCommand],
                       text: str | None = None, line_offset: int = 0) -> list[ShellCommand]:
    """`read` from the terminal. `read a b <<< "$x"`, `read < file`, `... | read` and the
    `while read -r line` of a loop only parse data. With the source `text`, the line of each
    `read` is looked at for the loop and pipe forms; without it only `read -p` counts."""
    lines = text.split("\n") if text is not None else None
    found = []
    for command in commands:
        if command.name != "read" or command.in_substitution:
            continue
        if re.search(r"(^|\s)(<<<|<)(\s|$|[\"'$])", command.text) or "<<<" in command.text:
            continue
        prompt = any(w.startswith("-") and not w.startswith("--") and "p" in w
                     for w in command.words[1:])
        if lines is None:
            if prompt:
                found.append(command)
            continue
        index = command.line - line_offset - 1
        line = lines[index] if 0 <= index < len(lines) else ""
        if not prompt and re.search(r"\b(while|until)\b[^;]*\bread\b|\|\s*read\b", line):
            continue
        found.append(command)
    return found


def sourced_scripts(project: Project, script: ScriptFile) -> list[ScriptFile]:
    """Project scripts this one loads with `source lib.sh` / `. ./lib.sh` (matched by name)."""
    names = {PurePosixPath(c.words[1]).name for c in script.script.commands
             if c.name in ("source", ".") and len(c.words) > 1}
    return [other for other in project.scripts
            if other is not script and PurePosixPath(other.path).name in names]


def has_non_interactive_path(script: ScriptFile) -> bool:
    """A `--yes`-style flag, a CI variable or a terminal test (`[ -t 0 ]`) that lets the script
    run without a prompt."""
    for command in script.script.commands:
        words = command.words
        if any(word in YES_FLAGS for word in words) and command.name in ("[", "[[", "test"):
            return True
        if command.name in ("[", "[[", "test") and "-t" in words:
            return True
        if command.name == "getopts" and len(words) > 1 and "y" in words[1]:
            return True
        if any(NON_INTERACTIVE_VARS.search(w) for w in words + command.assignments):
            return True
    return any(alt in YES_FLAGS for _, alts in case_patterns(script.text) for alt in alts)


# --- GitHub Actions ---------------------------------------------------------------------------

@dataclass
class WorkflowStep:
    line: int
    uses: str | None
    run: str | None
    shell: ShellScript | None
    with_: dict[str, Any] = field(default_factory=dict)
    node: Any = None


@dataclass
class WorkflowJob:
    path: str
    job_id: str
    line: int
    data: dict[str, Any]
    steps: list[WorkflowStep]

    @property
    def protected(self) -> bool:
        """A job bound to a GitHub environment (where required reviewers are configured)."""
        return bool(self.data.get("environment"))

    def runs(self, script_path: str) -> bool:
        name = PurePosixPath(script_path).name
        return any(step.run and name in step.run for step in self.steps)


def mapping_get(node: Any, key: str) -> tuple[Any, Any]:
    """(key node, value node) of a composed YAML mapping; (None, None) when absent."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return key_node, value_node
    return None, None


def compose_workflow(project: Project, path: str) -> tuple[Any, Any]:
    """(plain data, composed node tree) of a workflow file; (None, None) when it does not load."""
    text = project.texts.get(path, "")
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError:
        return None, None


def workflow_jobs(project: Project) -> Iterator[WorkflowJob]:
    for path in project.workflows:
        data, root = compose_workflow(project, path)
        if not isinstance(data, dict):
            continue
        _, jobs_node = mapping_get(root, "jobs")
        jobs = data.get("jobs")
        if not isinstance(jobs, dict) or not isinstance(jobs_node, yaml.MappingNode):
            continue
        for key_node, job_node in jobs_node.value:
            job_data = jobs.get(key_node.value)
            if not isinstance(job_data, dict):
                continue
            steps: list[WorkflowStep] = []
            _, steps_node = mapping_get(job_node, "steps")
            for step_node in steps_node.value if isinstance(steps_node, yaml.SequenceNode) else []:
                steps.append(_step(step_node))
            yield WorkflowJob(path, str(key_node.value), key_node.start_mark.line + 1, job_data, steps)


def _step(node: Any) -> WorkflowStep:
    _, uses = mapping_get(node, "uses")
    _, run = mapping_get(node, "run")
    _, with_node = mapping_get(node, "with")
    with_: dict[str, Any] = {}
    if isinstance(with_node, yaml.MappingNode):
        with_ = {k.value: v for k, v in with_node.value if isinstance(k, yaml.ScalarNode)}
    shell = None
    run_text = run.value if isinstance(run, yaml.ScalarNode) else None
    if run_text is not None:
        offset = run.start_mark.line + (1 if run.style in ("|", ">") else 0)
        shell = parse_shell(run_text, line_offset=offset)
    return WorkflowStep(node.start_mark.line + 1,
                        uses.value if isinstance(uses, yaml.ScalarNode) else None,
                        run_text, shell, with_, node)


def run_by_automation(project: Project, script: ScriptFile) -> bool:
    """A CI pipeline (GitHub Actions or another CI's file) runs the script, directly or through
    scripts it runs. A script nothing automated names is run by a person at a terminal."""
    def named(text: str, path: str) -> bool:
        return re.search(rf"(?<![\w.-]){re.escape(PurePosixPath(path).name)}(?![\w.-])", text) is not None

    automated = [project.texts.get(p, "") for p in project.workflows] + list(project.ci_configs.values())
    reached = {s.path for s in project.scripts if any(named(text, s.path) for text in automated)}
    while True:  # a pipeline that runs deploy-all.sh also runs what deploy-all.sh calls
        more = {s.path for s in project.scripts if s.path not in reached
                and any(named(caller.text, s.path) for caller in project.scripts if caller.path in reached)}
        if not more:
            return script.path in reached
        reached |= more


def protected_workflow_runs(project: Project, script: ScriptFile) -> bool:
    """The script is run by a workflow job bound to a protected GitHub environment."""
    return any(job.protected and job.runs(script.path) for job in workflow_jobs(project))
