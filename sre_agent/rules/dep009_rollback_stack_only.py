"""DEP009: the only rollback path is `rollback-stack`."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.parsing.shell import ShellCommand
from sre_agent.rules._deploy import cfn_action, command_blocks, is_rollback_script
from sre_agent.rules.base import Rule, RuleContext

# Calls that bring a stack back from a state rollback-stack cannot handle.
OTHER_PATHS = frozenset({"create-change-set", "execute-change-set", "update-stack",
                         "continue-update-rollback"})


def _other_path(command: ShellCommand) -> bool:
    if cfn_action(command) in OTHER_PATHS:
        return True
    if command.name == "aws" and command.has_words("ecs", "update-service") \
            and command.option("--task-definition"):
        return True  # back to the previous task definition revision
    name = command.name.rsplit("/", 1)[-1]
    return name.endswith(("create-changeset.sh", "execute-changeset.sh"))


def rollback_commands(ctx: RuleContext) -> list[tuple[str, ShellCommand]]:
    """Commands of rollback scripts and of runbook sections headed ロールバック / rollback."""
    found: list[tuple[str, ShellCommand]] = []
    for block in command_blocks(ctx.project, workflows=False):
        if (block.script is not None and is_rollback_script(block.script)) or \
                (block.kind == "runbook" and block.under_rollback_heading):
            found += [(block.path, command) for command in block.commands]
    return found


class RollbackStackOnly(Rule):
    """
    ## What it does
    Looks at the project's rollback path — scripts whose purpose is rollback and runbook
    sections headed ロールバック / 切り戻し / rollback — and reports each
    `aws cloudformation rollback-stack` there when nothing else can roll back: no change set of
    the previous template and parameters (`create-change-set` / `execute-change-set`, or a call
    of the change-set scripts), no `update-stack`, no `continue-update-rollback`, no
    `aws ecs update-service --task-definition` of the previous revision.

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
        commands = rollback_commands(ctx)
        if any(_other_path(command) for _, command in commands):
            return
        for path, command in commands:
            if cfn_action(command) != "rollback-stack":
                continue
            stack = command.option("--stack-name")
            yield self.finding(
                ctx, file=path, line=command.line,
                message=ctx.text(
                    f"ロールバック手段が rollback-stack（スタック {stack or '不明'}）のみ。rollback-stack は"
                    "ロールバック無効で失敗したスタックにしか使えず、正常終了した不具合リリースや "
                    "UPDATE_ROLLBACK_FAILED から戻す手段がない",
                    f"rollback-stack (stack {stack or 'unknown'}) is the only rollback path: it only acts on "
                    "failed stacks deployed with rollback disabled, so a successful bad release or "
                    "UPDATE_ROLLBACK_FAILED has no way back"),
            )

    def coverage(self, ctx: RuleContext) -> str | None:
        commands = rollback_commands(ctx)
        if not commands:
            return None
        paths = sorted({path for path, _ in commands})
        return ctx.text(f"ロールバック経路を確認: {', '.join(paths)}", f"rollback path checked: {', '.join(paths)}")
