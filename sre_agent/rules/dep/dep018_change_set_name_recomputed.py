"""DEP018: a change set's name built with `$(date …)` again in each command that uses it."""

from __future__ import annotations

import re
from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._deploy import cfn_action, cfn_wait, command_blocks
from sre_agent.rules.base import Rule, RuleContext

# the commands that name a change set created earlier
USES = ("describe-change-set", "execute-change-set", "delete-change-set")
SUBSTITUTION = re.compile(r"\$\(|`")


class ChangeSetNameRecomputed(Rule):
    """
    ## What it does
    In one script, one workflow `run:` step or one runbook code block, finds a
    `create-change-set` whose `--change-set-name` contains a command substitution
    (`deploy-$(date +%Y%m%d-%H%M%S)`) and a later `wait change-set-create-complete`,
    `describe-change-set` or `execute-change-set` that writes the same substitution out again
    instead of reusing the name. Reported at each later command.

    ## Why is this bad
    The substitution runs again: a second later, `$(date …)` is another name, so the waiter and
    `execute-change-set` look for a change set that does not exist (ChangeSetNotFound) and the
    deploy — or the emergency rollback — fails every time it is run.

    ## Example
    ```bash
    aws cloudformation create-change-set --change-set-name deploy-$(date +%Y%m%d-%H%M%S) ...
    aws cloudformation execute-change-set --change-set-name deploy-$(date +%Y%m%d-%H%M%S) ...
    ```

    ## Use instead
    ```bash
    CHANGE_SET_NAME="deploy-$(date +%Y%m%d-%H%M%S)"
    aws cloudformation create-change-set --change-set-name "$CHANGE_SET_NAME" ...
    aws cloudformation execute-change-set --change-set-name "$CHANGE_SET_NAME" ...
    ```

    ## References
    - https://docs.aws.amazon.com/cli/latest/reference/cloudformation/execute-change-set.html
    """

    id = "SRE-DEP-018"
    name = "change-set-name-recomputed"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "Change Set 名をコマンドごとに作り直している（実行時に見つからない）"
    title_en = "Change set name recomputed in each command (not found when executed)"
    passed_ja = "Change Set 名は作成時の値を変数で引き継いでいる"
    passed_en = "Change set names are kept in a variable from creation to execution"
    fix_ja = "Change Set 名は一度だけ変数に入れ（CHANGE_SET_NAME=\"deploy-$(date …)\"）、以降のコマンドはその変数を使う"
    fix_en = "Compute the change set name once into a variable and reuse it in every later command"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for block in command_blocks(ctx.project):
            created: dict[str, int] = {}  # name text with a substitution → line of its create
            for command in block.commands:
                name = command.option("--change-set-name")
                if not name or not SUBSTITUTION.search(name):
                    continue
                action = cfn_action(command)
                if action == "create-change-set":
                    created.setdefault(name, command.line)
                elif name in created and (action in USES or cfn_wait(command) == "change-set-create-complete"):
                    yield self.finding(ctx, file=block.path, line=command.line, message=ctx.text(
                        f"`{action if action != 'wait' else 'wait change-set-create-complete'}` の Change Set 名 "
                        f"`{name}` は :{created[name]} の作成時とは別の時刻で作り直され、作成した Change Set と一致しない"
                        "（ChangeSetNotFound で失敗する）",
                        f"`{action}` rebuilds the change set name `{name}` instead of reusing the one created at "
                        f":{created[name]}: it names a change set that does not exist (ChangeSetNotFound)"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for block in command_blocks(ctx.project) for c in block.commands
                    if cfn_action(c) == "create-change-set")
        return ctx.text(f"create-change-set {count} 件の名前の引き継ぎを確認",
                        f"change set names of {count} create-change-set calls checked") if count else None
