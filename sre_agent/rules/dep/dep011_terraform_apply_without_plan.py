"""DEP011: `terraform apply` without a saved, reviewed plan."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._deploy import command_blocks, confirmation_reads, terraform_subcommand
from sre_agent.rules.base import Rule, RuleContext

# apply options whose value is the next word (`-var 'a=b'`); `-input=false` carries its own.
VALUE_OPTIONS = frozenset({"-var", "-var-file", "-target", "-replace", "-state", "-state-out",
                           "-backup", "-lock-timeout", "-parallelism"})


def plan_file(arguments: list[str]) -> str | None:
    """The saved plan given to `terraform apply`, if any."""
    skip = False
    for word in arguments:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = "=" not in word and word in VALUE_OPTIONS
        else:
            return word
    return None


class TerraformApplyWithoutPlan(Rule):
    """
    ## What it does
    Finds `terraform apply` (also `tofu apply`) in shell scripts, runbook `bash` blocks and
    workflow `run:` steps that
    - does not apply a saved plan file (`terraform plan -out=tfplan` → `terraform apply tfplan`), or
    - applies a saved plan with `-auto-approve` outside a reviewed pipeline: no confirmation
      (`read`) in the script and not in a GitHub Actions job bound to an `environment:`.

    ## Why is this bad
    Without a saved plan, `apply` computes a new plan at apply time: what is applied is not what
    was reviewed — a teammate's merge or a drifted resource in between turns a reviewed
    "1 to change" into an unreviewed "1 to destroy". `-auto-approve` then removes the last chance
    to notice.

    ## Example
    ```bash
    terraform apply -auto-approve -var-file=envs/prd.tfvars
    ```

    ## Use instead
    ```bash
    terraform plan -var-file=envs/prd.tfvars -out=tfplan
    terraform show tfplan        # reviewed (PR comment or approval gate)
    terraform apply tfplan
    ```

    ## References
    - https://developer.hashicorp.com/terraform/cli/commands/apply#saved-plan-mode
    - standards/terraform.md「デプロイ」
    """

    id = "SRE-DEP-011"
    name = "terraform-apply-without-saved-plan"
    perspective = Perspective.OPERABILITY
    severity = Severity.ERROR
    title_ja = "保存した実行計画なしの terraform apply"
    title_en = "terraform apply without a saved, reviewed plan"
    passed_ja = "terraform apply は保存・確認済みの実行計画を適用"
    passed_en = "terraform apply applies a saved, reviewed plan"
    fix_ja = "`terraform plan -out=tfplan` で計画を保存し、確認（承認ゲート）後に `terraform apply tfplan` で適用する"
    fix_en = "Save the plan (`terraform plan -out=tfplan`), review it behind an approval gate, then `terraform apply tfplan`"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for block in command_blocks(ctx.project):
            if block.kind == "runbook" and not ctx.project.terraform:
                continue  # a document's Terraform steps for code this project does not hold
            text = block.script.text if block.script is not None else None
            gated = bool(confirmation_reads(block.commands, text)) or (block.job is not None and block.job.protected)
            for command in block.commands:
                sub, arguments = terraform_subcommand(command)
                if sub != "apply":
                    continue
                auto = any(a in ("-auto-approve", "--auto-approve", "-auto-approve=true") for a in arguments)
                plan = plan_file(arguments)
                if plan is None:
                    message = ctx.text(
                        "terraform apply が保存した実行計画を使っていない" + ("（-auto-approve 付き）" if auto else "")
                        + "。適用時に計画が作り直され、レビューした内容と異なる変更が反映されうる",
                        "terraform apply does not apply a saved plan" + (" (with -auto-approve)" if auto else "")
                        + ": the plan is recomputed at apply time and may differ from what was reviewed")
                elif auto and not gated:
                    message = ctx.text(
                        f"実行計画 {plan} を -auto-approve で適用しているが、確認プロンプトも environment 保護も"
                        "なく、計画を誰も確認しないまま反映される",
                        f"the plan {plan} is applied with -auto-approve and no confirmation or environment "
                        "protection: nobody reviews it before it is applied")
                else:
                    continue
                yield self.finding(ctx, file=block.path, line=command.line, message=message)

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for b in command_blocks(ctx.project) for c in b.commands
                    if terraform_subcommand(c)[0] == "apply")
        if not count:
            return None
        return ctx.text(f"terraform apply {count} 件を確認", f"{count} terraform apply calls checked")
