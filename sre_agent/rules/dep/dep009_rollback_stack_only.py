"""DEP009: the only rollback path is `rollback-stack`."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.parsing.shell import ShellCommand
from sre_agent.rules._deploy import cfn_action, command_blocks, is_rollback_script
from sre_agent.rules.base import Rule, RuleContext

# Calls that repair a stack CloudFormation left in a failed state. None of them undoes a deploy
# that succeeded: rollback-stack refuses UPDATE_COMPLETE, cancel-update-stack only acts while an
# update is in progress, continue-update-rollback only resumes a failed rollback.
RECOVERY_CALLS = ("rollback-stack", "cancel-update-stack", "continue-update-rollback")
# Calls that apply an earlier template and parameters: the way back from a bad release.
UNDO_CALLS = frozenset({"create-change-set", "execute-change-set"})


def _undo_path(command: ShellCommand) -> bool:
    """A call that brings back the previous release: a change set (of the previous template and
    parameters), an update-stack with a template (not `--use-previous-template`, which re-applies
    the current one), the project's change-set scripts, or ECS back to a task definition."""
    action = cfn_action(command)
    if action in UNDO_CALLS:
        return True
    if action == "update-stack" and "--use-previous-template" not in command.words:
        return True
    if command.name == "aws" and command.has_words("ecs", "update-service") \
            and command.option("--task-definition"):
        return True  # back to the previous task definition revision
    name = command.name.rsplit("/", 1)[-1]
    return name.endswith(("create-changeset.sh", "execute-changeset.sh"))


def rollback_blocks(ctx: RuleContext) -> list[tuple[str, tuple[ShellCommand, ...]]]:
    """Commands of rollback scripts and of runbook sections headed ロールバック / rollback (only
    the project's procedures: examples and technical standards are not its rollback path)."""
    found: list[tuple[str, tuple[ShellCommand, ...]]] = []
    for block in command_blocks(ctx.project, workflows=False):
        if (block.script is not None and is_rollback_script(block.script)) or \
                (block.kind == "runbook" and block.under_rollback_heading):
            found.append((block.path, block.commands))
    return found


def rollback_commands(ctx: RuleContext) -> list[tuple[str, ShellCommand]]:
    return [(path, command) for path, commands in rollback_blocks(ctx) for command in commands]


class RollbackStackOnly(Rule):
    """
    ## What it does
    Looks at the project's rollback path — scripts whose purpose is rollback (by name, by the
    calls they make, by a rollback sub-command) and runbook sections headed ロールバック /
    切り戻し / rollback; examples and technical standards are not the project's path — and
    reports, per script or section, the first `rollback-stack`, `cancel-update-stack` or
    `continue-update-rollback` when nothing can undo a release: no change set of the previous
    template and parameters (`create-change-set` / `execute-change-set`, or a call of the
    change-set scripts), no `update-stack` with a template (`--use-previous-template` re-applies
    the current one), no `aws ecs update-service --task-definition` of the previous revision.
    Without such a path nothing is claimed as passed.

    ## Why is this bad
    `rollback-stack` only acts on a stack whose deploy *failed* with rollback disabled
    (`UPDATE_FAILED`, `CREATE_FAILED`). The common incident is a deploy that *succeeded* and
    shipped a bug: the stack is `UPDATE_COMPLETE` and `rollback-stack` refuses to run. A stack in
    `UPDATE_ROLLBACK_FAILED` needs `continue-update-rollback`. In both cases the team discovers
    during the incident that it has no way back.

    ## Example
    ```bash
    # rollback.sh
    aws cloudformation rollback-stack --stack-name "$STACK"
    ```

    ## Use instead
    ```bash
    git show "$RELEASE_TAG:$TEMPLATE" > "$WORK/template.yaml"
    aws cloudformation create-change-set --change-set-type UPDATE \
      --template-body "file://$WORK/template.yaml" --parameters "file://$WORK/params.json" ...
    # UPDATE_ROLLBACK_FAILED: aws cloudformation continue-update-rollback first
    ```

    ## References
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackStack.html
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html#troubleshooting-errors-update-rollback-failed
    """

    id = "SRE-DEP-009"
    name = "rollback-stack-only"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "ロールバックが rollback-stack のみ"
    title_en = "Rollback relies on rollback-stack alone"
    passed_ja = "前回リリースへの Change Set などロールバック経路あり"
    passed_en = "Rollback path beyond rollback-stack (previous release change set, …)"
    fix_ja = ("前回リリースのテンプレートとパラメータで Change Set を作成・実行するロールバックを用意し、"
              "UPDATE_ROLLBACK_FAILED には continue-update-rollback で対応する")
    fix_en = ("Roll back with a change set of the previous release's template and parameters, and handle "
              "UPDATE_ROLLBACK_FAILED with continue-update-rollback")

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        blocks = rollback_blocks(ctx)
        if any(_undo_path(command) for _, commands in blocks for command in commands):
            return
        for path, commands in blocks:
            command = next((c for c in commands if cfn_action(c) in RECOVERY_CALLS), None)
            if command is None:
                continue
            action = cfn_action(command)
            stack = command.option("--stack-name")
            yield self.finding(
                ctx, file=path, line=command.line,
                message=ctx.text(
                    f"ロールバック手段が {action}（スタック {stack or '不明'}）のみ。これは失敗したデプロイの"
                    "後始末にしか使えず、正常終了した不具合リリース（UPDATE_COMPLETE）を前の版に戻す手段がない"
                    "（前回リリースのテンプレートとパラメータで Change Set を作成・実行する手順がない）",
                    f"{action} (stack {stack or 'unknown'}) is the only rollback path: it only cleans up a "
                    "failed deploy, so a release that succeeded and shipped a bug (UPDATE_COMPLETE) has no "
                    "way back (no change set of the previous release's template and parameters)"),
            )

    def coverage(self, ctx: RuleContext) -> str | None:
        paths = sorted({path for path, commands in rollback_blocks(ctx)
                        if any(_undo_path(c) for c in commands)})
        if not paths:
            return None  # no way back found: nothing to claim (DEP003 / DOC006 report its absence)
        return ctx.text(f"前回リリースに戻すロールバック経路を確認: {', '.join(paths)}",
                        f"rollback to the previous release found: {', '.join(paths)}")
