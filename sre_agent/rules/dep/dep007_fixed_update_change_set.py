"""DEP007: `create-change-set` always of type UPDATE, with no check that the stack exists."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._deploy import cfn_action, is_rollback_script
from sre_agent.rules.base import Rule, RuleContext

EXISTENCE_CHECKS = frozenset({"describe-stacks", "list-stacks", "get-template", "get-template-summary"})


class FixedUpdateChangeSet(Rule):
    """
    ## What it does
    Finds `aws cloudformation create-change-set` in shell scripts whose `--change-set-type` is
    the literal `UPDATE` — or missing, which means UPDATE — when nothing earlier in the script
    asks whether the stack exists (`describe-stacks`, `list-stacks`). A type taken from a
    variable chosen after such a check (`--change-set-type "$TYPE"`) passes. Rollback scripts
    are exempt: a rollback only makes sense for an existing stack, and failing on a missing one
    is correct. Runbook blocks are not checked (their sections say whether they are for the
    first deploy or for updates).

    ## Why is this bad
    The first deploy of every new environment or stack fails with "Stack ... does not exist",
    and people work around it with `create-stack` or `deploy` — the unreviewed path the
    change-set scripts exist to prevent.

    ## Example
    ```bash
    aws cloudformation create-change-set --change-set-type UPDATE --stack-name "$STACK" ...
    ```

    ## Use instead
    ```bash
    if aws cloudformation describe-stacks --stack-name "$STACK" > /dev/null 2>&1; then
      TYPE=UPDATE
    else
      TYPE=CREATE
    fi
    aws cloudformation create-change-set --change-set-type "$TYPE" ...
    ```

    ## References
    - https://docs.aws.amazon.com/cli/latest/reference/cloudformation/create-change-set.html
    - standards/cloudformation.md「Change Set スクリプト」
    """

    id = "SRE-DEP-007"
    name = "change-set-type-fixed-update"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "Change Set 種別が UPDATE 固定（初回デプロイが失敗）"
    title_en = "Change-set type fixed to UPDATE (first deploy fails)"
    passed_ja = "Change Set 種別はスタックの有無で CREATE / UPDATE を切り替え"
    passed_en = "Change-set type chosen (CREATE / UPDATE) from the stack's existence"
    fix_ja = "describe-stacks でスタックの有無を確認し、なければ CREATE、あれば UPDATE の Change Set を作成する"
    fix_en = "Check the stack with describe-stacks and create a CREATE change set when it does not exist, UPDATE otherwise"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for script in ctx.project.scripts:
            if is_rollback_script(script):
                continue
            checked_at = [c.line for c in script.script.commands if cfn_action(c) in EXISTENCE_CHECKS]
            for command in script.script.commands:
                if cfn_action(command) != "create-change-set":
                    continue
                kind = command.option("--change-set-type")
                if kind is not None and kind.upper() != "UPDATE":
                    continue
                if any(line < command.line for line in checked_at):
                    continue
                stack = command.option("--stack-name")
                how = ctx.text("UPDATE 固定" if kind else "未指定（既定値 UPDATE）",
                               "fixed to UPDATE" if kind else "not given (defaults to UPDATE)")
                yield self.finding(
                    ctx, file=script.path, line=command.line,
                    message=ctx.text(
                        f"create-change-set（スタック {stack or '不明'}）の --change-set-type が {how} で、"
                        "スタックの存在確認がない。スタック未作成の環境では初回デプロイが失敗する",
                        f"create-change-set (stack {stack or 'unknown'}) has --change-set-type {how} and no "
                        "stack-existence check: the first deploy of a new environment fails"),
                )

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for s in ctx.project.scripts for c in s.script.commands
                    if cfn_action(c) == "create-change-set")
        if not count:
            return None
        return ctx.text(f"create-change-set {count} 件の種別を確認", f"{count} create-change-set calls checked")
