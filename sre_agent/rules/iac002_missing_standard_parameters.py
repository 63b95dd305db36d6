"""IAC002: a template without the standard Environment / ProjectName parameters."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import ENV_PARAMETER_NAMES
from sre_agent.rules._resources import key_line
from sre_agent.rules.base import Rule, RuleContext

PROJECT_PARAMETER_NAMES = ("ProjectName", "Project", "SystemName", "ServiceName", "AppName")


class MissingStandardParameters(Rule):
    """
    ## What it does
    Reports (info) a CloudFormation template that lacks an environment parameter with
    `AllowedValues` (`Environment`, or the spellings `Env`, `EnvironmentName`, `Stage`, …) or a
    project parameter (`ProjectName`, `SystemName`, …). One finding per template, at the
    `Parameters` line (line 1 when there is none). Terraform projects are not checked.

    ## Why is this bad
    Without an `Environment` parameter the template cannot be deployed to stg and prd from the
    same file, so copies drift; without `AllowedValues`, a typo (`prod` vs `prd`) silently
    disables every `IsProduction` condition — Multi-AZ, deletion protection, alarms.

    ## Example
    ```yaml
    Parameters:
      Env:
        Type: String
    ```

    ## Use instead
    ```yaml
    Parameters:
      ProjectName:
        Type: String
      Environment:
        Type: String
        AllowedValues: [stg, prd]
    ```

    ## References
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
    - standards/cloudformation.md §3 パラメータと環境差分
    """

    id = "SRE-IAC-002"
    name = "template-without-standard-parameters"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.INFO
    title_ja = "標準パラメータ（Environment / ProjectName）なし"
    title_en = "Standard parameters (Environment / ProjectName) missing"
    passed_ja = "全テンプレートに Environment（AllowedValues 付き）と ProjectName パラメータあり"
    passed_en = "Every template has Environment (with AllowedValues) and ProjectName parameters"
    fix_ja = "Environment（AllowedValues: [stg, prd] など）と ProjectName パラメータを追加し、名前・タグに使う"
    fix_en = "Add Environment (with AllowedValues) and ProjectName parameters and use them in names and tags"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for template in ctx.project.templates:
            params = template.parameters
            missing = []
            env_name = next((n for n in ENV_PARAMETER_NAMES if n in params), None)
            if env_name is None:
                missing.append("Environment")
            elif not (isinstance(params[env_name], dict) and params[env_name].get("AllowedValues")):
                missing.append(ctx.text(f"{env_name} の AllowedValues", f"AllowedValues of {env_name}"))
            if not any(n in params for n in PROJECT_PARAMETER_NAMES):
                missing.append("ProjectName")
            if missing:
                yield self.finding(
                    ctx, file=template.path, line=key_line(template.data, "Parameters") or 1,
                    message=ctx.text(f"テンプレートに {' / '.join(missing)} がない",
                                     f"The template has no {' / '.join(missing)}"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = len(ctx.project.templates)
        return ctx.text(f"テンプレート {count} 件のパラメータを確認", f"{count} templates checked") if count else None
