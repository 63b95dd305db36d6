"""DEP008: asynchronous CloudFormation calls not followed by the matching `wait`."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.parsing.shell import ShellCommand
from sre_agent.rules._deploy import cfn_action, cfn_wait, command_blocks
from sre_agent.rules.base import Rule, RuleContext

WAITERS = {
    "create-change-set": ("change-set-create-complete",),
    "execute-change-set": ("stack-update-complete", "stack-create-complete", "stack-import-complete"),
    "create-stack": ("stack-create-complete",),
    "update-stack": ("stack-update-complete",),
    "delete-stack": ("stack-delete-complete",),
    "rollback-stack": ("stack-rollback-complete",),
    "continue-update-rollback": ("stack-rollback-complete",),
}
POLLED_BY = {"create-change-set": "describe-change-set"}  # others: describe-stacks


def _groups(ctx: RuleContext) -> dict[tuple[str, str], list[ShellCommand]]:
    """Commands read in order: a script, a runbook (all its blocks), a workflow job."""
    groups: dict[tuple[str, str], list[ShellCommand]] = {}
    for block in command_blocks(ctx.project):
        key = (block.path, block.job.job_id if block.job else "")
        groups.setdefault(key, []).extend(block.commands)
    return groups


def _waited(call: ShellCommand, action: str, commands: list[ShellCommand]) -> bool:
    later = [c for c in commands if c.line > call.line or c.in_function]
    if any(cfn_wait(c) in WAITERS[action] for c in later):
        return True
    polled = POLLED_BY.get(action, "describe-stacks")  # a `sleep` + describe loop
    return any(c.name == "sleep" for c in later) and any(cfn_action(c) == polled for c in later)


def _raced(call: ShellCommand, commands: list[ShellCommand]) -> bool:
    """In a runbook, the next CloudFormation command after the call changes something (execute,
    create, delete, …) rather than looking (describe, wait): the operator is told to start the
    next change while this one still runs. The last command, or one followed by a describe, is
    not a race."""
    later = sorted((c for c in commands if c.line > call.line and (cfn_action(c) or cfn_wait(c))),
                   key=lambda c: c.line)
    for command in later:
        if cfn_wait(command):
            return False
        action = cfn_action(command)
        if action and action.startswith(("describe", "list", "get", "validate", "estimate", "detect")):
            return False
        if action:
            return True
    return False


class AsyncCallWithoutWait(Rule):
    """
    ## What it does
    Finds the asynchronous CloudFormation calls — `create-change-set`, `execute-change-set`,
    `create-stack`, `update-stack`, `delete-stack`, `rollback-stack`,
    `continue-update-rollback` — that are not followed later in the same script (runbook,
    workflow job) by the matching `aws cloudformation wait` (`change-set-create-complete`,
    `stack-update-complete` / `stack-create-complete`, `stack-delete-complete`,
    `stack-rollback-complete`). In a runbook, which a person follows and watches, a call is
    reported only when the next CloudFormation command changes something (execute after create,
    the next stack's create, a delete chain) rather than looking (describe) or ending the procedure. A wait inside a function counts wherever the function is
    defined. A polling loop counts when a `sleep` and the matching `describe-stacks` /
    `describe-change-set` follow the call; other loops are not recognised.

    ## Why is this bad
    These calls return as soon as CloudFormation accepts the request. The script prints
    "✅ 完了" while the update is still running — and later fails or rolls back with nobody
    watching; a following `describe-change-set` or `execute-change-set` runs against a change set
    that is still `CREATE_PENDING`, and the next step of a pipeline starts on a half-updated stack.

    ## Example
    ```bash
    aws cloudformation execute-change-set --stack-name "$STACK" --change-set-name "$CS"
    echo "デプロイ完了"
    ```

    ## Use instead
    ```bash
    aws cloudformation execute-change-set --stack-name "$STACK" --change-set-name "$CS"
    aws cloudformation wait stack-update-complete --stack-name "$STACK"
    ```

    ## References
    - https://docs.aws.amazon.com/cli/latest/reference/cloudformation/wait/
    - standards/cloudformation.md「Change Set スクリプト」
    """

    id = "SRE-DEP-008"
    name = "async-call-without-wait"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "非同期の CloudFormation 操作の完了を待っていない"
    title_en = "Asynchronous CloudFormation call not waited for"
    passed_ja = "非同期の CloudFormation 操作はすべて wait で完了を確認"
    passed_en = "Every asynchronous CloudFormation call is followed by its wait"
    fix_ja = "呼び出しの後に対応する `aws cloudformation wait …`（例: stack-update-complete）を追加し、失敗時はイベントを表示して異常終了する"
    fix_en = "Follow the call with the matching `aws cloudformation wait …` (e.g. stack-update-complete); on failure print the events and exit non-zero"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        runbooks = {d.path for d in ctx.project.documents}
        for (path, _job), commands in _groups(ctx).items():
            for call in commands:
                action = cfn_action(call)
                if action not in WAITERS or _waited(call, action, commands):
                    continue
                if path in runbooks and not _raced(call, commands):
                    continue  # a person runs the runbook and sees the result before the next change
                stack = call.option("--stack-name")
                waiter = WAITERS[action][0]
                yield self.finding(
                    ctx, file=path, line=call.line,
                    message=ctx.text(
                        f"`{action}`（スタック {stack or '不明'}）の後に `aws cloudformation wait {waiter}` がなく、"
                        "完了（成功・失敗）を確認しないまま次へ進む",
                        f"`{action}` (stack {stack or 'unknown'}) is not followed by `aws cloudformation wait "
                        f"{waiter}`: the next step starts before the operation has succeeded or failed"),
                )

    def coverage(self, ctx: RuleContext) -> str | None:
        calls = sum(1 for commands in _groups(ctx).values() for c in commands if cfn_action(c) in WAITERS)
        if not calls:
            return None
        return ctx.text(f"非同期呼び出し {calls} 件の wait を確認", f"waits of {calls} asynchronous calls checked")
