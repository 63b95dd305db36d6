"""IAC006: a deploy command passes a parameter file that the template it deploys rejects."""

from __future__ import annotations

from typing import Iterable

from sre_agent.iac.deployments import deployments
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext

# `aws cloudformation deploy` passes only the parameters the template declares.
STRICT_ACTIONS = ("create-change-set", "create-stack", "update-stack")


class ParameterFileDoesNotFitTemplate(Rule):
    """
    ## What it does
    Follows each `aws cloudformation create-change-set` / `create-stack` / `update-stack` of the
    scripts and runbook procedures to the template (`--template-body file://…`) and the
    parameter file (`--parameters file://…`) it passes, through the variables the script
    assigns, and reports a pair where the file sets keys the template does not declare, or leaves
    out a parameter that has no `Default`. A file one command passes to several stacks
    (`parameters/${ENV}.json` for every `stacks/${STACK}.yaml`) is checked against each of them.
    Commands whose files are not in the project (a filtered copy in /tmp) are not judged.

    ## Why is this bad
    CloudFormation refuses the whole request: `Parameters: [DBInstanceClass] do not exist in the
    template` or `Parameters: [VpcId] must have values`. The change set is never created, so the
    deploy fails at the first stack that does not declare every key of the shared file — usually
    during the release window, not in review.

    ## Example
    ```bash
    # parameters/prd.json holds the keys of all six stacks
    aws cloudformation create-change-set --stack-name "kintai-${STACK}" \\
      --template-body "file://stacks/${STACK}.yaml" --parameters "file://parameters/${ENV}.json"
    ```

    ## Use instead
    One parameter file per stack and environment (`parameters/prd/02-database.json`), or filter
    the shared file to the template's parameters before passing it
    (`aws cloudformation get-template-summary` + `jq`), or `aws cloudformation deploy
    --parameter-overrides`, which passes only the declared keys.

    ## References
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
    - standards/cloudformation.md §3 パラメータと環境差分
    """

    id = "SRE-IAC-006"
    name = "parameter-file-does-not-fit-template"
    perspective = Perspective.OPERABILITY
    severity = Severity.ERROR
    title_ja = "パラメータファイルがテンプレートと合わない（デプロイが ValidationError で失敗）"
    title_en = "Parameter file does not fit the template (the deploy fails with a ValidationError)"
    passed_ja = "デプロイコマンドが渡すパラメータファイルはテンプレートの宣言と一致"
    passed_en = "Parameter files passed by the deploy commands match the templates' parameters"
    fix_ja = ("スタックごと・環境ごとのパラメータファイルにする（parameters/<env>/<stack>.json）か、"
              "渡す前にテンプレートのパラメータだけに絞る")
    fix_en = ("Use one parameter file per stack and environment (parameters/<env>/<stack>.json), "
              "or filter the file to the template's parameters before passing it")

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for deployment in deployments(ctx.project):
            if deployment.action not in STRICT_ACTIONS:
                continue
            problems: list[str] = []
            for template, pset in deployment.pairs():
                declared = set(template.parameters)
                extra = sorted(set(pset.values) - declared)
                required = sorted(name for name, spec in template.parameters.items()
                                  if not (isinstance(spec, dict) and "Default" in spec)
                                  and name not in pset.values)
                if extra:
                    problems.append(ctx.text(
                        f"{pset.path} のキー {_names(extra)} は {template.path} に宣言がない",
                        f"{pset.path} sets {_names(extra)}, which {template.path} does not declare"))
                if required:
                    problems.append(ctx.text(
                        f"{template.path} の必須パラメータ {_names(required)} が {pset.path} にない",
                        f"{pset.path} leaves out {_names(required)}, required by {template.path}"))
            if problems:
                shown = "; ".join(problems[:3]) + (ctx.text(f" ほか {len(problems) - 3} 件", f" and {len(problems) - 3} more")
                                                    if len(problems) > 3 else "")
                yield self.finding(ctx, file=deployment.file, line=deployment.line, message=ctx.text(
                    f"`{deployment.action}` が渡すパラメータファイルをテンプレートが受け付けない: {shown}。"
                    "CloudFormation は ValidationError で Change Set を作らない",
                    f"`{deployment.action}` passes a parameter file its template rejects: {shown}. "
                    "CloudFormation refuses it with a ValidationError"))

    def coverage(self, ctx: RuleContext) -> str | None:
        pairs = sum(1 for d in deployments(ctx.project) if d.action in STRICT_ACTIONS for _ in d.pairs())
        return ctx.text(f"デプロイコマンドのテンプレートとパラメータファイルの組 {pairs} 件を確認",
                        f"{pairs} template / parameter file pairs of the deploy commands checked") if pairs else None


def _names(names: list[str]) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:4])
    return shown + (f" (+{len(names) - 4})" if len(names) > 4 else "")
