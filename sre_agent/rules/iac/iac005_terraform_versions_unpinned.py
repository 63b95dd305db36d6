"""IAC005: Terraform and provider versions left floating."""

from __future__ import annotations

import re
from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._resources import line_matching, tf_root_modules, tf_settings
from sre_agent.rules.base import Rule, RuleContext

BUILTIN_PROVIDERS = {"terraform"}


def has_upper_bound(constraint: str) -> bool:
    """`~> 5.60`, `>= 1.6, < 2.0`, `= 5.60.0` and `5.60.0` bound the version; `>= 5.0` does not."""
    parts = [p.strip() for p in constraint.split(",") if p.strip()]
    return any(p.startswith(("~>", "<", "=")) or re.match(r"^v?\d", p) for p in parts)


class TerraformVersionsUnpinned(Rule):
    """
    ## What it does
    For each Terraform root module: reports a missing `required_version`, and providers used by
    the module's resources and data sources (`aws_…` → `aws`) that are not declared in
    `required_providers` with a `version` constraint that has an upper bound (`~> 5.60`,
    `>= 5.0, < 6.0`). A bare `>= 5.0` is reported: it accepts the next major version.

    ## Why is this bad
    Without pins, `terraform init` on a new CI runner picks up whatever was released last night:
    a provider major version renames arguments or changes defaults, and the production apply
    fails — or plans to replace resources — in the middle of an unrelated release.

    ## Example
    ```hcl
    terraform {
      required_providers {
        aws = { source = "hashicorp/aws" }
      }
    }
    ```

    ## Use instead
    ```hcl
    terraform {
      required_version = ">= 1.6.0, < 2.0.0"
      required_providers {
        aws = { source = "hashicorp/aws", version = "~> 5.60" }
      }
    }
    ```

    ## References
    - https://developer.hashicorp.com/terraform/language/providers/requirements
    - standards/terraform.md §2 バージョンの固定
    """

    id = "SRE-IAC-005"
    name = "terraform-versions-unpinned"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.WARNING
    title_ja = "Terraform / プロバイダのバージョン未固定"
    title_en = "Terraform / provider versions not pinned"
    passed_ja = "required_version とプロバイダのバージョンを固定"
    passed_en = "required_version and provider versions are pinned"
    fix_ja = "terraform ブロックに required_version と required_providers（version = \"~> x.y\"）を書く"
    fix_en = "Declare required_version and required_providers with version = \"~> x.y\" in the terraform block"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for directory, files in tf_root_modules(ctx.project.terraform).items():
            where = f"`{directory}/`" if directory != "." else ctx.text("ルートモジュール", "the root module")
            settings = tf_settings(files)
            tf, block = settings[0] if settings else (files[0], None)
            block_line = block.line if block else 1
            if not any(b.get("required_version") for _, b in settings):
                yield self.finding(
                    ctx, file=tf.path, line=block_line, resource="terraform",
                    message=ctx.text(f"{where} に required_version がない", f"{where} has no required_version"))
            declared: dict[str, object] = {}
            for _, b in settings:
                for entry in b.body.get("required_providers") or []:
                    if isinstance(entry, dict):
                        for name, spec in entry.items():
                            spec = spec[0] if isinstance(spec, list) and spec else spec
                            declared[name] = spec.get("version") if isinstance(spec, dict) else spec
            used = sorted({blk.type.split("_", 1)[0] for f in files for blk in f.blocks
                           if blk.kind in ("resource", "data")} - BUILTIN_PROVIDERS)
            loose = [p for p in used if not isinstance(declared.get(p), str) or not has_upper_bound(declared[p])]
            if loose:
                line = block_line
                if block is not None:
                    line = line_matching(tf, block.line, block.end_line, r"required_providers") or block.line
                shown = ", ".join(f"`{p}`" + (f"（{declared[p]}）" if isinstance(declared.get(p), str) else "")
                                  for p in loose)
                yield self.finding(
                    ctx, file=tf.path, line=line, resource="terraform",
                    message=ctx.text(f"{where} のプロバイダ {shown} のバージョンが固定されていない",
                                     f"Provider {shown} of {where} is not version-pinned"))

    def coverage(self, ctx: RuleContext) -> str | None:
        modules = tf_root_modules(ctx.project.terraform)
        return ctx.text(f"Terraform ルートモジュール {len(modules)} 件のバージョン指定を確認",
                        f"{len(modules)} Terraform root modules checked") if modules else None
