"""DEP008: asynchronous CloudFormation calls not followed by the matching `wait`."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Iterable

from sre_agent.environments import TOKEN, canonical
from sre_agent.iac.crossstack import readers
from sre_agent.iac.stacks import name_tokens
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.parsing.shell import ShellCommand
from sre_agent.project import Project, ScriptFile
from sre_agent.rules._deploy import CommandBlock, cfn_action, cfn_wait, command_blocks, is_rollback_script
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


# Resources that stand on their own: they sit in no VPC or subnet and no other stack's resource
# waits for them to go, so deleting their stack blocks nothing another stack's deletion needs.
FREE_STANDING = frozenset({
    "AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm", "AWS::CloudWatch::Dashboard",
    "AWS::CloudWatch::AnomalyDetector", "AWS::CloudWatch::InsightRule", "AWS::SNS::Topic",
    "AWS::SNS::Subscription", "AWS::SNS::TopicPolicy", "AWS::Logs::LogGroup", "AWS::Logs::MetricFilter",
    "AWS::Budgets::Budget"})
_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*|\$[0-9@*#?]")


def _groups(ctx: RuleContext) -> dict[tuple[str, str], list[tuple[ShellCommand, CommandBlock]]]:
    """Commands read in order, each with its block: a script, a runbook (all its blocks), a
    workflow job."""
    groups: dict[tuple[str, str], list[tuple[ShellCommand, CommandBlock]]] = {}
    for block in command_blocks(ctx.project):
        key = (block.path, block.job.job_id if block.job else "")
        groups.setdefault(key, []).extend((command, block) for command in block.commands)
    return groups


def _waited(call: ShellCommand, action: str, commands: list[ShellCommand]) -> bool:
    later = [c for c in commands if c.line > call.line or c.in_function]
    if any(cfn_wait(c) in WAITERS[action] for c in later):
        return True
    polled = POLLED_BY.get(action, "describe-stacks")  # a `sleep` + describe loop
    return any(c.name == "sleep" for c in later) and any(cfn_action(c) == polled for c in later)


def _raced(project: Project, call: ShellCommand, commands: list[ShellCommand]) -> bool:
    """In a runbook, the next CloudFormation command after the call changes something (execute,
    create, delete, …) rather than looking (describe, wait): the operator is told to start the
    next change while this one still runs. The last command, or one followed by a describe, is
    not a race. Nor is a chain of deletes after one of a stack that holds on to nothing (see
    `_holds_nothing`), unless a later change touches that same stack, nor a change to another
    environment's stack (staging, then production)."""
    later = sorted((c for c in commands if c.line > call.line and (cfn_action(c) or cfn_wait(c))),
                   key=lambda c: c.line)
    stack = call.option("--stack-name")
    independent = cfn_action(call) == "delete-stack" and _holds_nothing(project, stack)
    for command in later:
        if cfn_wait(command):
            return False
        action = cfn_action(command)
        if action and action.startswith(("describe", "list", "get", "validate", "estimate", "detect")):
            return False
        other = command.option("--stack-name")
        if action and (independent and other != stack or _other_environment(stack, other)):
            continue  # a stack that holds nothing, or another environment's stack: no shared resource
        if action:
            return True
    return False


def _other_environment(stack: str | None, other: str | None) -> bool:
    """`app-stg-sg` then `app-prod-sg`: stacks of two environments share no resource, so the
    second change cannot trip over the first (checking staging first is the operator's step)."""
    mine, theirs = ({canonical(t) for t in TOKEN.findall(n or "")} - {None} for n in (stack, other))
    return len(mine) == 1 and len(theirs) == 1 and mine != theirs


def _stack_templates(project: Project, stack: str | None) -> list:
    """The templates a literal stack name is named after (`app-dev-monitoring` ←
    `stacks/monitoring/main.yaml`); none for a name built from variables."""
    if not stack or "$" in stack or "<" in stack:
        return []
    wanted = name_tokens(stack + ".yaml")
    return [t for t in project.templates
            if (names := {n for n in name_tokens(t.path) if not n.isdigit()}) and names <= wanted]


def _holds_nothing(project: Project, stack: str | None) -> bool:
    """Deleting this stack cannot hold up another stack's deletion: its template(s) import no
    export (CloudFormation refuses to delete an export while it is imported) and hold only
    free-standing resources (alarms, dashboards, topics, log groups — nothing placed in a VPC,
    a subnet or another stack's resource, no nested stack). Unknown stacks hold something."""
    templates = _stack_templates(project, stack)
    if not templates:
        return False
    importing = {r.file for r in readers(project) if r.kind == "export"}
    return all(t.path not in importing and t.resources
               and all(r.type in FREE_STANDING for r in t.resources.values()) for t in templates)


def _same_stack(documented: str | None, scripted: str | None) -> bool:
    """A script's `--stack-name "${PROJECT}-${TYPE}"` can be the document's `app-base`: each
    variable matches anything. A document call without a stack name matches any script."""
    if not documented or not scripted:
        return True
    pattern = _VARIABLE.sub("*", scripted.strip("\"'"))
    return fnmatchcase(documented, pattern)


def _performed_by_script(project: Project, call: ShellCommand, action: str,
                         block: CommandBlock) -> ScriptFile | None:
    """The project script that runs this documented call itself and waits for it: a design
    chapter's block then sketches what the script does, and the script is the deploy path. A
    block under a rollback heading is sketched only by a rollback script."""
    stack = call.option("--stack-name")
    for script in project.scripts:
        if block.under_rollback_heading and not is_rollback_script(script):
            continue
        commands = list(script.script.commands)
        if any(cfn_action(c) == action and _same_stack(stack, c.option("--stack-name"))
               and _waited(c, action, commands) for c in commands):
            return script
    return None


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

    In a chain of deletes, a stack that holds on to nothing — its template (found by the stack
    name) imports no export and holds only alarms, dashboards, SNS topics and log groups — cannot
    make the next delete fail, so its missing wait is not reported; a stack we cannot resolve, or
    one with resources in a VPC or imports, still is. In a design chapter (not a runbook, README
    or procedure), a call that a project script runs for the same stack and waits for is a sketch
    of what the script does: the script is the deploy path and is judged itself. A block under a
    rollback heading is sketched only by a rollback script.

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
        documents = {d.path: d for d in ctx.project.documents}
        for (path, _job), entries in _groups(ctx).items():
            commands = [command for command, _block in entries]
            for call, block in entries:
                action = cfn_action(call)
                if action not in WAITERS or _waited(call, action, commands):
                    continue
                document = documents.get(path)
                if document is not None and not _raced(ctx.project, call, commands):
                    continue  # a person runs the runbook and sees the result before the next change
                if document is not None and not document.is_runbook \
                        and _performed_by_script(ctx.project, call, action, block):
                    continue  # a design chapter sketching what a waiting script does
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
        calls = sum(1 for entries in _groups(ctx).values() for c, _ in entries if cfn_action(c) in WAITERS)
        if not calls:
            return None
        return ctx.text(f"非同期呼び出し {calls} 件の wait を確認", f"waits of {calls} asynchronous calls checked")
