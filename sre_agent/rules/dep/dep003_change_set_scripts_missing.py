"""DEP003: the create / describe / execute / rollback change-set scripts are not all there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.parsing.shell import ShellCommand
from sre_agent.rules._deploy import (ROLLBACK_ACTIONS, cfn_action, change_set_roles, command_blocks,
                                     is_rollback_text, workflow_jobs)
from sre_agent.rules.base import Rule, RuleContext

ROLES = ("create", "describe", "execute", "rollback")
ROLES_JA = {"create": "作成（create-change-set）", "describe": "確認（describe-change-set）",
            "execute": "実行（execute-change-set）", "rollback": "ロールバック"}
ROLES_EN = {"create": "create (create-change-set)", "describe": "describe (describe-change-set)",
            "execute": "execute (execute-change-set)", "rollback": "rollback"}
ROLE_ACTIONS = {"create": "create-change-set", "describe": "describe-change-set", "execute": "execute-change-set"}
SHORT_JA = {"create": "作成", "describe": "確認", "execute": "実行", "rollback": "ロールバック"}
SHELLS = ("bash", "sh", "zsh")


@dataclass(frozen=True)
class MissingScriptReference:
    """A procedure, workflow or script that runs a `*.sh` the project does not have."""

    place: str  # file:line
    script: str  # as written: ./scripts/rollback.sh
    role: str


def _workflow_roles(ctx: RuleContext) -> dict[str, list[str]]:
    """Steps of the CI workflows that perform a change-set step themselves (`run:` commands):
    a workflow is a deploy path as much as a script is."""
    found: dict[str, list[str]] = {role: [] for role in ROLES}
    for job in workflow_jobs(ctx.project):
        rollback_job = is_rollback_text(job.job_id)
        for step in job.steps:
            if step.shell is None:
                continue
            for command in step.shell.commands:
                action = cfn_action(command)
                roles = [role for role, name in ROLE_ACTIONS.items() if action == name]
                if action in ROLLBACK_ACTIONS or (rollback_job and action in ("create-change-set",
                                                                             "execute-change-set")):
                    roles.append("rollback")
                for role in roles:
                    place = f"{job.path}:{command.line}"
                    if not any(p.startswith(job.path + ":") for p in found[role]):
                        found[role].append(place)
    return found


def _script_path(command: ShellCommand) -> str | None:
    """The `*.sh` a command runs: `./scripts/rollback.sh …`, `bash scripts/rollback.sh …`."""
    words = command.words
    if command.name in SHELLS:
        words = tuple(w for w in words[1:] if not w.startswith("-"))
    elif words:
        words = (command.name,)
    if words and words[0].endswith(".sh") and "$" not in words[0]:
        return words[0]
    return None


def _role_of_name(path: str) -> str | None:
    stem = PurePosixPath(path).stem.lower()
    if is_rollback_text(stem):
        return "rollback"
    return next((role for role in ("create", "describe", "execute") if role in stem), None)


def missing_script_references(ctx: RuleContext) -> list[MissingScriptReference]:
    """Runbooks, workflows and scripts that tell someone to run a change-set script (by its
    name's role) that is not in the project: the procedure fails at that step."""
    names = {PurePosixPath(s.path).name for s in ctx.project.scripts}
    found: list[MissingScriptReference] = []
    for block in command_blocks(ctx.project):
        for command in block.commands:
            path = _script_path(command)
            if path is None or PurePosixPath(path).name in names:
                continue
            role = _role_of_name(path)
            if role is not None:
                found.append(MissingScriptReference(f"{block.path}:{command.line}", path, role))
    return found


class ChangeSetScriptsMissing(Rule):
    """
    ## What it does
    For a CloudFormation project (one with templates), checks that the shell scripts cover the
    four change-set steps. Scripts are recognised by what they run, whatever their file name:
    *create* runs `create-change-set`, *describe* runs `describe-change-set`, *execute* runs
    `execute-change-set`, *rollback* is a script whose purpose is rollback (named `*rollback*`,
    running `rollback-stack`, `cancel-update-stack` or `continue-update-rollback`, creating a
    change set from an earlier release's template — `git show <tag>:<template>` — or offering
    a `rollback` function or sub-command). One combined script with sub-commands counts for all
    the steps it performs, and so does a CI workflow whose `run:` steps call `create-change-set`
    / `describe-change-set` / `execute-change-set` (or a rollback call) themselves. Reported once
    for the project: the missing steps, where each present step was found (script or workflow
    line), and any runbook, workflow or script that runs a script of a missing step by a name the
    project does not have (`./scripts/rollback.sh` in the 手順書, with no such file).

    ## Why is this bad
    Without a create/describe script, changes are applied without anyone reading the change
    set (a replaced database shows up only after it is gone). Without an execute script people
    improvise `deploy` or console clicks. Without a rollback script, the rollback is invented
    during the incident, at the worst possible time.

    ## Example
    ```text
    scripts/deploy.sh        # aws cloudformation deploy ...
    ```

    ## Use instead
    ```text
    scripts/create-changeset.sh    # create-change-set + wait change-set-create-complete
    scripts/describe-changeset.sh  # describe-change-set (Replacement / Remove highlighted)
    scripts/execute-changeset.sh   # approval, execute-change-set + wait
    scripts/rollback.sh            # change set of the previous release's template and parameters
    ```

    ## References
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-changesets.html
    - standards/cloudformation.md「Change Set スクリプト」
    """

    id = "SRE-DEP-003"
    name = "change-set-scripts-missing"
    perspective = Perspective.OPERABILITY
    severity = Severity.ERROR
    title_ja = "Change Set スクリプト（作成・確認・実行・ロールバック）が揃っていない"
    title_en = "Change-set scripts (create, describe, execute, rollback) incomplete"
    passed_ja = "Change Set スクリプト 4 種（作成・確認・実行・ロールバック）あり"
    passed_en = "All four change-set scripts (create, describe, execute, rollback) present"
    fix_ja = ("create-changeset.sh / describe-changeset.sh / execute-changeset.sh / rollback.sh を用意する"
              "（rollback は前回リリースのテンプレートとパラメータで Change Set を作成する）")
    fix_en = ("Provide create-changeset.sh, describe-changeset.sh, execute-changeset.sh and rollback.sh "
              "(rollback = a change set of the previous release's template and parameters)")

    def _roles(self, ctx: RuleContext) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {role: [] for role in ROLES}
        for script in ctx.project.scripts:
            for role in change_set_roles(script):
                found[role].append(script.path)
        for role, paths in found.items():  # the script named after its role first
            paths.sort(key=lambda path: (role not in path.rsplit("/", 1)[-1].lower(), path))
        return found

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        if not ctx.project.templates:
            return
        scripts = self._roles(ctx)
        workflows = _workflow_roles(ctx)
        missing = [role for role in ROLES if not scripts[role] and not workflows[role]]
        if not missing:
            return
        have_ja, have_en = [], []
        for role in ROLES:
            places = scripts[role][:1] + [f"{p}（CI ワークフロー）" for p in workflows[role][:1]]
            places_en = scripts[role][:1] + [f"{p} (CI workflow)" for p in workflows[role][:1]]
            if places:
                have_ja.append(f"{SHORT_JA[role]} {'・'.join(places)}")
                have_en.append(f"{role} {', '.join(places_en)}")
        found_ja = f"（あるもの: {'、'.join(have_ja)}）" if have_ja else ""
        found_en = f" (found: {'; '.join(have_en)})" if have_en else ""
        grouped: dict[tuple[str, str], list[str]] = {}  # (file, script) -> lines
        for ref in missing_script_references(ctx):
            if ref.role in missing:
                file, line = ref.place.rsplit(":", 1)
                grouped.setdefault((file, ref.script), []).append(line)
        refs = [(f"{file}:{'・:'.join(lines)}", script) for (file, script), lines in list(grouped.items())[:2]]
        refs_ja = "".join(f"。{place} は存在しない {script} を実行する手順になっている" for place, script in refs)
        refs_en = "".join(f"; {place} runs {script}, which does not exist" for place, script in refs)
        yield self.finding(
            ctx, file=None, line=None,
            message=ctx.text(
                f"CloudFormation テンプレート {len(ctx.project.templates)} 件に対し、Change Set の"
                f"{'・'.join(ROLES_JA[r] for r in missing)}を行うスクリプトがない{found_ja}{refs_ja}",
                f"CloudFormation templates: {len(ctx.project.templates)}, but no script that performs: "
                f"{', '.join(ROLES_EN[r] for r in missing)}{found_en}{refs_en}"),
        )

    def coverage(self, ctx: RuleContext) -> str | None:
        if not ctx.project.templates:
            return None
        found, workflows = self._roles(ctx), _workflow_roles(ctx)
        return ", ".join(f"{role}: {(found[role] or workflows[role])[0]}" for role in ROLES
                         if found[role] or workflows[role])
