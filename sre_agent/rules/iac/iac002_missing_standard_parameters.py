"""IAC002: a template without the standard Environment / ProjectName parameters."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import ENV_PARAMETER_NAMES, TF_ENV_VARIABLES
from sre_agent.rules._resources import key_line, tf_root_modules, tf_settings
from sre_agent.rules.base import Rule, RuleContext

PROJECT_PARAMETER_NAMES = ("ProjectName", "Project", "SystemName", "ServiceName", "AppName")
TF_PROJECT_VARIABLES = ("project_name", "project", "system_name", "service_name", "app_name", "system")


class MissingStandardParameters(Rule):
    """
    ## What it does
    Reports (info) a CloudFormation template that lacks an environment parameter with
    `AllowedValues` (`Environment`, or the spellings `Env`, `EnvironmentName`, `Stage`, …) or a
    project parameter (`ProjectName`, `SystemName`, …). One finding per template, at the
    `Parameters` line (line 1 when there is none).

    Terraform: each root module needs an environment variable (`environment`, `env`, `stage`,
    `environment_name`) with a `validation` block — Terraform's `AllowedValues` — and a project
    variable (`project_name`, `system_name`, …). The finding points at the environment variable
    when it exists, else at the module's first variable (or its `terraform` block).

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
    ```hcl
    variable "environment" {
      type = string
      validation {
        condition     = contains(["stg", "prd"], var.environment)
        error_message = "environment must be stg or prd."
      }
    }
    ```

    ## References
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
    - https://developer.hashicorp.com/terraform/language/values/variables#custom-validation-rules
    - standards/cloudformation.md §3 パラメータと環境差分
    - standards/terraform.md §5 変数と環境差分
    """

    id = "SRE-IAC-002"
    name = "template-without-standard-parameters"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.INFO
    title_ja = "標準パラメータ（Environment / ProjectName）なし"
    title_en = "Standard parameters (Environment / ProjectName) missing"
    passed_ja = "Environment（許容値の制限付き）と ProjectName の標準パラメータ・変数あり"
    passed_en = "Environment (with allowed values) and ProjectName parameters / variables present"
    fix_ja = "Environment（AllowedValues: [stg, prd]、Terraform は validation）と ProjectName を追加し、名前・タグに使う"
    fix_en = "Add Environment (AllowedValues, or a Terraform validation block) and ProjectName and use them in names and tags"

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
        yield from self.check_terraform(ctx)

    def check_terraform(self, ctx: RuleContext) -> Iterable[Finding]:
        for directory, files in tf_root_modules(ctx.project.terraform).items():
            variables = {b.name: b for tf in files for b in tf.blocks if b.kind == "variable"}
            env = next((variables[n] for n in TF_ENV_VARIABLES if n in variables), None)
            missing = []
            if env is None:
                missing.append("environment")
            elif not env.body.get("validation"):
                missing.append(ctx.text(f"variable \"{env.name}\" の validation",
                                        f"a validation block on variable \"{env.name}\""))
            if not any(n in variables for n in TF_PROJECT_VARIABLES):
                missing.append("project_name")
            if not missing:
                continue
            anchor = env
            if anchor is None:
                anchor = min(variables.values(), key=lambda b: (b.file.path, b.line), default=None)
            if anchor is None:
                settings = tf_settings(files)
                anchor = settings[0][1] if settings else None
            where = f"`{directory}/`" if directory != "." else ctx.text("ルートモジュール", "the root module")
            yield self.finding(
                ctx, file=anchor.file.path if anchor else files[0].path, line=anchor.line if anchor else 1,
                resource=anchor.address if anchor is not None and anchor.kind == "variable" else None,
                message=ctx.text(f"{where} に {' / '.join(missing)} がない",
                                 f"{where} has no {' / '.join(missing)}"))

    def coverage(self, ctx: RuleContext) -> str | None:
        parts = []
        if ctx.project.templates:
            parts.append(ctx.text(f"テンプレート {len(ctx.project.templates)} 件のパラメータ",
                                  f"{len(ctx.project.templates)} templates"))
        if modules := len(tf_root_modules(ctx.project.terraform)):
            parts.append(ctx.text(f"Terraform ルートモジュール {modules} 件の変数",
                                  f"{modules} Terraform root modules"))
        return ctx.text("・".join(parts) + "を確認", " and ".join(parts) + " checked") if parts else None
