"""DEP001: `aws cloudformation deploy` anywhere in the deploy path."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._deploy import command_blocks
from sre_agent.rules.base import Rule, RuleContext


class DirectCloudFormationDeploy(Rule):
    """
    ## What it does
    Finds `aws cloudformation deploy` in shell scripts, in the `run:` steps of CI workflows and
    in the fenced `bash` blocks of runbooks and READMEs. Commands are parsed, so the words inside an `echo`, a comment or a
    heredoc body are not calls.

    ## Why is this bad
    `deploy` creates and executes a change set in one step: nobody reviews what will be
    replaced or deleted before it happens. A renamed RDS identifier in such a deploy replaces the
    database; the change set that would have shown `Replacement: True` was never looked at.

    ## Example
    ```bash
    aws cloudformation deploy --stack-name prd-app --template-file app.yaml
    ```

    ## Use instead
    ```bash
    aws cloudformation create-change-set --stack-name prd-app --change-set-name "$NAME" ...
    aws cloudformation wait change-set-create-complete --stack-name prd-app --change-set-name "$NAME"
    aws cloudformation describe-change-set ...   # reviewed, then
    aws cloudformation execute-change-set ...
    ```

    ## References
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-changesets.html
    - standards/cloudformation.md「デプロイ」
    """

    id = "SRE-DEP-001"
    name = "direct-cloudformation-deploy"
    perspective = Perspective.OPERABILITY
    severity = Severity.ERROR
    title_ja = "Change Set を経ない直接デプロイ"
    title_en = "Direct deploy without a reviewed change set"
    passed_ja = "直接デプロイ（aws cloudformation deploy）なし"
    passed_en = "No direct deploy (aws cloudformation deploy)"
    fix_ja = "create-change-set → describe-change-set で確認 → execute-change-set の手順に置き換える"
    fix_en = "Replace with create-change-set, review with describe-change-set, then execute-change-set"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for block in command_blocks(ctx.project):
            for command in block.commands:
                if not (command.name == "aws" and command.has_words("cloudformation", "deploy")):
                    continue
                path = block.path
                stack = command.option("--stack-name")
                where = ctx.text("CI ワークフローが", "a CI workflow ") if block.kind == "workflow" else ""
                yield self.finding(
                    ctx, file=path, line=command.line,
                    message=ctx.text(
                        f"{where}`aws cloudformation deploy` で変更内容を確認せずに適用している"
                        f"（スタック {stack or '不明'}）",
                        f"{where}`aws cloudformation deploy` applies changes without a reviewed change set"
                        f" (stack {stack or 'unknown'})"),
                )

    def coverage(self, ctx: RuleContext) -> str | None:
        sources = {block.path for block in command_blocks(ctx.project) if block.commands}
        if not sources:
            return None
        return ctx.text(f"スクリプト・手順書 {len(sources)} 件のコマンドを確認",
                        f"commands of {len(sources)} scripts and runbooks checked")
