"""IAC004: Terraform state kept locally, or in S3 without encryption and locking."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._resources import line_matching, tf_get, tf_root_modules, tf_settings
from sre_agent.rules.base import Rule, RuleContext


def backend_config_overrides(ctx: RuleContext) -> dict[str, str] | None:
    """`-backend-config="key=value"` pairs given to `terraform init` in scripts and runbooks;
    None when a backend config *file* is passed (its content is not known)."""
    values: dict[str, str] = {}
    for _, command in ctx.project.commands():
        if command.name != "terraform" or not command.has_words("terraform", "init"):
            continue
        words = list(command.words)
        for index, word in enumerate(words):
            value = None
            if word.startswith("-backend-config="):
                value = word.split("=", 1)[1]
            elif word == "-backend-config" and index + 1 < len(words):
                value = words[index + 1]
            if value is None:
                continue
            if "=" not in value:
                return None
            key, _, setting = value.partition("=")
            values[key.strip()] = setting.strip().strip('"')
    return values


class TerraformStateUnprotected(Rule):
    """
    ## What it does
    For each Terraform root module (a directory with resources, not under `modules/`): reports
    a module without a `backend` (or `cloud`) block — the state is a local file — a `backend
    "local"`, and a `backend "s3"` without `encrypt = true` or without locking
    (`dynamodb_table`, or `use_lockfile = true` on Terraform 1.10+). Settings passed as
    `-backend-config="encrypt=true"` to `terraform init` in the project's scripts count; when a
    backend config *file* is passed, the S3 settings are not judged.

    ## Why is this bad
    A local state lives on one laptop or CI runner: lose it and Terraform no longer knows what
    it manages (the next apply tries to create everything again). Without locking, two applies
    at once corrupt the state; without encryption, the state — which holds database passwords
    and keys in plain text — sits readable in the bucket.

    ## Example
    ```hcl
    terraform {
      backend "s3" {
        bucket = "shukka-tfstate"
        key    = "prd/terraform.tfstate"
      }
    }
    ```

    ## Use instead
    ```hcl
      backend "s3" {
        bucket         = "shukka-tfstate"
        key            = "prd/terraform.tfstate"
        encrypt        = true
        dynamodb_table = "shukka-tfstate-lock"   # or use_lockfile = true
      }
    ```

    ## References
    - https://developer.hashicorp.com/terraform/language/backend/s3
    - standards/terraform.md §1 state の保管
    """

    id = "SRE-IAC-004"
    name = "terraform-state-unprotected"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.WARNING
    title_ja = "Terraform state の保管が不十分"
    title_en = "Terraform state not protected"
    passed_ja = "Terraform state は暗号化・ロック付きのリモートバックエンドに保管"
    passed_en = "Terraform state is in a remote backend with encryption and locking"
    fix_ja = "S3 バックエンドに encrypt = true とロック（dynamodb_table または use_lockfile = true）を設定する"
    fix_en = "Use an S3 backend with encrypt = true and locking (dynamodb_table or use_lockfile = true)"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        overrides = backend_config_overrides(ctx)
        for directory, files in tf_root_modules(ctx.project.terraform).items():
            where = f"`{directory}/`" if directory != "." else ctx.text("ルートモジュール", "the root module")
            settings = tf_settings(files)
            backends = [(tf, block, kind, body) for tf, block in settings
                        for entry in (block.body.get("backend") or []) if isinstance(entry, dict)
                        for kind, body in entry.items()]
            if any(block.body.get("cloud") for _, block in settings):
                continue
            if not backends:
                tf, line = (settings[0][0], settings[0][1].line) if settings else (files[0], 1)
                yield self.finding(
                    ctx, file=tf.path, line=line, resource="terraform",
                    message=ctx.text(f"{where} に backend の指定がなく、state がローカルファイルになる",
                                     f"{where} declares no backend: the state is a local file"))
                continue
            tf, block, kind, body = backends[0]
            line = line_matching(tf, block.line, block.end_line, rf'backend\s+"?{kind}"?') or block.line
            if kind == "local":
                yield self.finding(
                    ctx, file=tf.path, line=line, resource="terraform",
                    message=ctx.text(f"{where} の backend が local（state がローカルファイル）",
                                     f"{where} uses the local backend"))
            elif kind == "s3" and overrides is not None:
                settings_s3 = {k: tf_get(body, k) for k in ("encrypt", "dynamodb_table", "use_lockfile")}
                settings_s3.update({k: v for k, v in overrides.items() if k in settings_s3})
                problems = []
                if str(settings_s3["encrypt"]).lower() != "true":
                    problems.append(ctx.text("暗号化（encrypt = true）", "encryption (encrypt = true)"))
                if not settings_s3["dynamodb_table"] and str(settings_s3["use_lockfile"]).lower() != "true":
                    problems.append(ctx.text("ロック（dynamodb_table / use_lockfile）", "locking (dynamodb_table / use_lockfile)"))
                if problems:
                    yield self.finding(
                        ctx, file=tf.path, line=line, resource="terraform",
                        message=ctx.text(f"{where} の S3 バックエンドに {'・'.join(problems)} がない",
                                         f"The S3 backend of {where} has no {' or '.join(problems)}"))

    def coverage(self, ctx: RuleContext) -> str | None:
        modules = tf_root_modules(ctx.project.terraform)
        return ctx.text(f"Terraform ルートモジュール {len(modules)} 件の backend を確認",
                        f"{len(modules)} Terraform root modules checked") if modules else None
