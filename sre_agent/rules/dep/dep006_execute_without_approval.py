"""DEP006: change sets executed without a human approval gate, or gates CI cannot pass."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._deploy import (
    DEPLOY_ACTIONS, cfn_action, confirmation_reads, has_non_interactive_path,
    protected_workflow_runs, run_by_automation, sourced_scripts, terraform_subcommand, workflow_jobs,
)
from sre_agent.rules.base import Rule, RuleContext


def _deploys(command) -> bool:
    return cfn_action(command) in DEPLOY_ACTIONS or terraform_subcommand(command)[0] in ("apply", "destroy")


def _destroy_plans(commands) -> set[str]:
    """Plan files written by `terraform plan -destroy -out=<file>`."""
    plans = set()
    for command in commands:
        sub, args = terraform_subcommand(command)
        if sub == "plan" and "-destroy" in args:
            plans.update(a.split("=", 1)[1] for a in args if a.startswith("-out="))
            plans.update(args[i + 1] for i, a in enumerate(args[:-1]) if a == "-out")
    return plans


def _destroys(command, plans: set[str]) -> bool:
    """A destructive, manual-only operation: delete-stack, terraform destroy (or the apply of a
    destroy plan)."""
    if cfn_action(command) == "delete-stack":
        return True
    sub, args = terraform_subcommand(command)
    return sub == "destroy" or (sub == "apply" and ("-destroy" in args or any(a in plans for a in args)))


class ExecuteWithoutApproval(Rule):
    """
    ## What it does
    Checks the approval gate in front of `aws cloudformation execute-change-set`:
    - a script that executes a change set must ask a human (`read -p "実行しますか？"`) or be run
      only by a GitHub Actions job bound to an `environment:` (where required reviewers
      approve); otherwise it is reported at the `execute-change-set` line;
    - a `read` confirmation in a deploy script (execute-change-set, `terraform apply`, stack
      updates and rollbacks) must have a non-interactive path — a `--yes` / `-y` flag, a `CI`
      variable check or a terminal test (`[[ -t 0 ]]`); otherwise it is reported at the `read`.
      The missing path is a warning when a pipeline runs the script (a GitHub Actions step or
      another CI's file such as `buildspec.yml` names it, directly or through a script it
      runs), and info when nothing automated runs it: the prompt is then the operator's
      deliberate gate. A script whose only change is destructive (`delete-stack`, `terraform destroy` or the
      apply of a `plan -destroy`) is run by a person: its typed confirmation (`DELETE`) is the
      safeguard and needs no bypass.
    A `read` in a script loaded with `source` counts as the gate. A workflow `run:` step that
    executes a change set in a job without `environment:` is reported too. `read a b <<< "$x"` only parses data and is not a gate.

    ## Why is this bad
    Without a gate, the change set nobody has looked at yet is applied the moment it exists —
    the review step of the change-set workflow is decorative. A gate without a non-interactive
    path is the opposite failure: in CI `read` hits end of input, the variable is empty and the
    deploy is silently cancelled (or, with `set -e`, fails), so people bypass the script.

    ## Example
    ```bash
    aws cloudformation create-change-set ...
    aws cloudformation execute-change-set --stack-name "$STACK" --change-set-name "$CS"
    ```

    ## Use instead
    ```bash
    if [[ "${4:-}" == "--yes" ]]; then
      echo "承認済み（CI の environment 承認）"
    elif [[ ! -t 0 ]]; then
      echo "対話端末ではありません。CI では --yes を指定してください" >&2; exit 1
    else
      read -r -p "実行しますか？ (yes/no): " answer
      [[ "$answer" == "yes" ]] || exit 1
    fi
    aws cloudformation execute-change-set ...
    ```

    ## References
    - https://docs.github.com/en/actions/deployment/targeting-different-environments/using-environments-for-deployment
    - standards/cloudformation.md「デプロイ」
    """

    id = "SRE-DEP-006"
    name = "execute-change-set-without-approval"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "デプロイの承認ゲートがない、または CI で使えない"
    title_en = "Deploy approval gate missing or unusable in CI"
    passed_ja = "Change Set 実行前に承認ゲートあり（非対話実行の経路あり）"
    passed_en = "Change sets are executed behind an approval gate with a non-interactive path"
    fix_ja = ("execute-change-set の前に確認プロンプトを置き、CI 用に `--yes` フラグ（GitHub の environment "
              "承認と組み合わせる）と非対話端末の検出（`[[ ! -t 0 ]]` でエラー終了）を用意する")
    fix_en = ("Put a confirmation prompt before execute-change-set, plus a `--yes` flag for CI (behind a "
              "GitHub environment approval) and a non-interactive check (`[[ ! -t 0 ]]` → error)")

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        project = ctx.project
        for script in project.scripts:
            commands = script.script.commands
            reads = confirmation_reads(commands, script.text)
            library_reads = [r for lib in sourced_scripts(project, script)  # confirm() in lib.sh
                             for r in confirmation_reads(lib.script.commands, lib.text)]
            executes = [c for c in commands if cfn_action(c) == "execute-change-set"]
            if executes and not reads and not library_reads \
                    and not protected_workflow_runs(project, script):
                stack = executes[0].option("--stack-name")
                yield self.finding(
                    ctx, file=script.path, line=executes[0].line,
                    message=ctx.text(
                        f"execute-change-set（スタック {stack or '不明'}）の前に承認の確認がなく、"
                        "environment 保護のある CI ジョブからの実行でもない",
                        f"execute-change-set (stack {stack or 'unknown'}) runs without a confirmation and "
                        "is not run by a CI job with environment protection"),
                )
            deploys = [c for c in commands if _deploys(c)]
            plans = _destroy_plans(commands)
            # A typed confirmation in front of a delete is the safeguard itself: a destroy is run
            # by a person, never by CI, so it needs no --yes bypass.
            if reads and deploys and not all(_destroys(c, plans) for c in deploys) \
                    and not has_non_interactive_path(script):
                yield self.prompt_without_bypass(ctx, script, reads[0].line)
        for job in workflow_jobs(project):
            if job.protected:
                continue
            for step in job.steps:
                for command in step.shell.commands if step.shell else ():
                    if cfn_action(command) == "execute-change-set":
                        yield self.finding(
                            ctx, file=job.path, line=command.line,
                            message=ctx.text(
                                f"ジョブ `{job.job_id}` が environment（承認者の設定）なしで execute-change-set を実行している",
                                f"job `{job.job_id}` executes a change set without an `environment:` (required reviewers)"),
                        )

    def prompt_without_bypass(self, ctx: RuleContext, script, line: int) -> Finding:
        """A warning when a pipeline runs the script (there the prompt reads end of input); info
        when nothing automated runs it: the prompt is then the operator's deliberate gate, and
        the missing bypass matters only once someone wires the script into CI."""
        if run_by_automation(ctx.project, script):
            return self.finding(ctx, file=script.path, line=line, message=ctx.text(
                "確認プロンプト（read）に非対話で実行する経路（--yes フラグ、CI 変数、端末判定）がないが、"
                "CI がこのスクリプトを実行している。CI では入力が空になり、デプロイが黙って中止されるか失敗する",
                "the confirmation prompt (read) has no non-interactive path (--yes flag, CI variable, terminal "
                "test), yet CI runs this script: there the answer is empty and the deploy is silently "
                "cancelled or fails"))
        self.accepted = True  # known and explained: no ✅ claiming a non-interactive path
        return self.finding(ctx, file=script.path, line=line, severity=Severity.INFO, message=ctx.text(
            "確認プロンプト（read）に非対話で実行する経路（--yes フラグ、CI 変数、端末判定）がない。"
            "CI からは実行されていない（手動運用の意図的な承認ゲート）が、CI に組み込むときは非対話の経路が要る",
            "the confirmation prompt (read) has no non-interactive path (--yes flag, CI variable, terminal "
            "test); no pipeline runs this script (a deliberate manual gate), but wiring it into CI needs one"))

    def coverage(self, ctx: RuleContext) -> str | None:
        scripts = [s.path for s in ctx.project.scripts
                   if any(cfn_action(c) == "execute-change-set" or _deploys(c) for c in s.script.commands)]
        if not scripts:
            return None
        return ctx.text(f"デプロイスクリプト {len(scripts)} 件の承認ゲートを確認（{scripts[0]} ほか）",
                        f"approval gates of {len(scripts)} deploy scripts checked ({scripts[0]} …)")
