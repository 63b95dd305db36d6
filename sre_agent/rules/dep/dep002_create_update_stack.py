"""DEP002: `create-stack` / `update-stack` used to deploy or restore."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._deploy import cfn_action, command_blocks
from sre_agent.rules.base import Rule, RuleContext


class CreateOrUpdateStackDeploy(Rule):
    """
    ## What it does
    Finds `aws cloudformation create-stack` and `update-stack` in shell scripts, in the fenced
    `bash` blocks of runbooks and READMEs, and in the `run:` steps of GitHub Actions workflows.
    Commands are parsed: the words inside an `echo`, a comment, a heredoc or a table are not
    calls. `create-stack-set` / `update-stack-set` are not matched.

    ## Why is this bad
    Both apply a template without a change set: nobody sees beforehand that the update replaces
    the database or deletes a log group. A restore procedure built on `update-stack` is exactly
    the moment (an incident, under time pressure) when an unreviewed replacement does the most
    damage. First deploys need no `create-stack` either: a change set of type `CREATE` shows
    the same review screen.

    ## Example
    ```bash
    aws cloudformation create-stack --stack-name prd-network --template-body file://vpc.yaml
    aws cloudformation update-stack --stack-name prd-app --template-body file://app.yaml
    ```

    ## Use instead
    ```bash
    aws cloudformation create-change-set --change-set-type CREATE ...   # first deploy
    aws cloudformation create-change-set --change-set-type UPDATE ...   # later deploys
    aws cloudformation describe-change-set ...  # review, then execute-change-set
    ```

    ## References
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-changesets.html
    - standards/cloudformation.md「デプロイ」
    """

    id = "SRE-DEP-002"
    name = "stack-deploy-without-change-set"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "create-stack / update-stack による Change Set なしの反映"
    title_en = "create-stack / update-stack deploys without a change set"
    passed_ja = "create-stack / update-stack による直接反映なし"
    passed_en = "No create-stack / update-stack deploys"
    fix_ja = ("初回は `create-change-set --change-set-type CREATE`、以降は UPDATE の Change Set を作成し、"
              "describe-change-set で確認してから execute-change-set する")
    fix_en = ("Use `create-change-set --change-set-type CREATE` for the first deploy and UPDATE change "
              "sets afterwards; review with describe-change-set, then execute-change-set")

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for block in command_blocks(ctx.project):
            for command in block.commands:
                action = cfn_action(command)
                if action not in ("create-stack", "update-stack"):
                    continue
                stack = command.option("--stack-name")
                purpose = ctx.text("復旧・ロールバック手順で" if block.under_rollback_heading else "",
                                   "in a restore / rollback procedure " if block.under_rollback_heading else "")
                yield self.finding(
                    ctx, file=block.path, line=command.line,
                    message=ctx.text(
                        f"{purpose}`aws cloudformation {action}` で Change Set を経ずにスタックを変更している"
                        f"（スタック {stack or '不明'}）",
                        f"`aws cloudformation {action}` {purpose}changes the stack without a reviewed"
                        f" change set (stack {stack or 'unknown'})"),
                )

    def coverage(self, ctx: RuleContext) -> str | None:
        sources = {block.path for block in command_blocks(ctx.project) if block.commands}
        if not sources:
            return None
        return ctx.text(f"スクリプト・手順書・ワークフロー {len(sources)} 件のコマンドを確認",
                        f"commands of {len(sources)} scripts, runbooks and workflows checked")
