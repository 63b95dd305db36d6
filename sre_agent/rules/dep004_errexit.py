"""DEP004: bash scripts that keep going after a failed command."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext

REQUIRED = ("errexit", "nounset", "pipefail")


class ScriptWithoutErrexit(Rule):
    """
    ## What it does
    Checks that every shell script turns on `errexit`, `nounset` and `pipefail` at top level —
    `set -euo pipefail`, or the same options on separate `set` lines — and does not turn them off
    again. A `set -e` inside a function or an `if` body does not count.

    ## Why is this bad
    Without them a failed `create-change-set` is followed by `execute-change-set` of a change set
    that does not exist, an unset `$ENVIRONMENT` becomes a stack named `-app`, and
    `aws ... | jq` hides the failure of `aws`. The script reports success after a failed deploy.

    ## Example
    ```bash
    #!/bin/bash
    aws cloudformation create-change-set ...
    aws cloudformation execute-change-set ...
    ```

    ## Use instead
    ```bash
    #!/usr/bin/env bash
    set -euo pipefail
    ```

    ## References
    - https://www.gnu.org/software/bash/manual/html_node/The-Set-Builtin.html
    - standards/cloudformation.md「スクリプト規約」
    """

    id = "SRE-DEP-004"
    name = "script-without-errexit"
    perspective = Perspective.OPERABILITY
    severity = Severity.ERROR
    title_ja = "エラーハンドリングなしのスクリプト"
    title_en = "Script without error handling"
    passed_ja = "全スクリプトで set -euo pipefail を設定"
    passed_en = "Every script sets -euo pipefail"
    fix_ja = "スクリプト冒頭（shebang の直後）に `set -euo pipefail` を追加する"
    fix_en = "Add `set -euo pipefail` right after the shebang"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for script in ctx.project.scripts:
            missing = [o for o in REQUIRED if not script.script.enabled_at_top(o)]
            if missing:
                yield self.finding(
                    ctx, file=script.path, line=1,
                    message=ctx.text(
                        f"トップレベルで {', '.join(missing)} が有効になっていない。失敗したコマンドの後も処理が続く",
                        f"{', '.join(missing)} not enabled at top level: the script runs on after a failed command"),
                )

    def coverage(self, ctx: RuleContext) -> str | None:
        scripts = ctx.project.scripts
        if not scripts:
            return None
        return ctx.text(f"{scripts[0].path} ほか計 {len(scripts)} 件",
                        f"{scripts[0].path} and {len(scripts) - 1} more")
