"""DEP003: the create / describe / execute / rollback change-set scripts are not all there."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._deploy import change_set_roles
from sre_agent.rules.base import Rule, RuleContext

ROLES = ("create", "describe", "execute", "rollback")
ROLES_JA = {"create": "作成（create-change-set）", "describe": "確認（describe-change-set）",
            "execute": "実行（execute-change-set）", "rollback": "ロールバック"}
ROLES_EN = {"create": "create (create-change-set)", "describe": "describe (describe-change-set)",
            "execute": "execute (execute-change-set)", "rollback": "rollback"}


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
    the steps it performs. Reported once for the project, naming the missing steps.

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
        found = self._roles(ctx)
        missing = [role for role in ROLES if not found[role]]
        if not missing:
            return
        yield self.finding(
            ctx, file=None, line=None,
            message=ctx.text(
                f"CloudFormation テンプレート {len(ctx.project.templates)} 件に対し、Change Set の"
                f"{'・'.join(ROLES_JA[r] for r in missing)}を行うスクリプトがない",
                f"CloudFormation templates: {len(ctx.project.templates)}, but no script that performs: "
                f"{', '.join(ROLES_EN[r] for r in missing)}"),
        )

    def coverage(self, ctx: RuleContext) -> str | None:
        if not ctx.project.templates:
            return None
        found = self._roles(ctx)
        return ", ".join(f"{role}: {found[role][0]}" for role in ROLES if found[role])
