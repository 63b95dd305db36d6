"""DEP013: one environment spelled two ways (`prd` in the parameter files, `prod` in a check)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any, Iterable, Iterator

from sre_agent.environments import TOKEN, canonical
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.parsing.cloudformation import line_of
from sre_agent.resolve import ENV_PARAMETER_NAMES, TF_ENV_VARIABLES
from sre_agent.rules._deploy import case_patterns
from sre_agent.rules.base import Rule, RuleContext

_TF_COMPARE = re.compile(
    r"""var\.(?:environment|env|stage|environment_name)\s*[!=]=\s*"([^"]+)"|"([^"]+)"\s*[!=]=\s*var\.(?:environment|env|stage|environment_name)\b""")
_TF_CONTAINS = re.compile(
    r"""contains\(\s*\[([^\]]*)\]\s*,\s*var\.(?:environment|env|stage|environment_name)\b""")
_TEST_OPS = frozenset({"=", "==", "!="})


def spellings(ctx: RuleContext) -> dict[str, set[str]]:
    """Environment names as the parameter files spell them, by canonical environment. The value
    a file passes is what templates and scripts compare with; its name counts only when it passes
    none (a `dev.json` that passes `Environment: production` deploys `production`)."""
    found: dict[str, set[str]] = {}
    for pset in ctx.project.parameter_sets:
        names = [str(pset.values[n]) for n in (*ENV_PARAMETER_NAMES, *TF_ENV_VARIABLES)
                 if isinstance(pset.values.get(n), (str, int))]
        if not any(canonical(n) for n in names):
            names += TOKEN.findall(PurePosixPath(pset.path).stem)
        for name in names:
            env = canonical(name)
            if env:
                found.setdefault(env, set()).add(name.strip().lower())
    return found


class EnvironmentNameMismatch(Rule):
    """
    ## What it does
    Takes the environment names the parameter files use — the value of their `Environment`
    parameter (or `environment` tfvar) and their file name (`prd.json`) — and reports a name
    of the same environment spelled differently (`prod` where the files say `prd`) in:
    - template `AllowedValues` of the environment parameter, `!Equals [!Ref Environment, prod]`
      conditions and `Environment` tag values;
    - Terraform comparisons `var.environment == "prod"` and validations
      `contains(["stg", "prod"], var.environment)`;
    - script conditions: `[ "$ENV" = "prod" ]`, `[[ ... == production ]]`, `case` branches.
    Environments that have no parameter file are not judged.

    ## Why is this bad
    The check is silently dead: `if [ "$ENV" = "prod" ]; then require_approval; fi` never runs
    when everyone deploys with `prd`, and `IsProduction: !Equals [!Ref Environment, prod]` keeps
    production single-AZ with short backups. Nothing fails — production just quietly gets the
    staging settings.

    ## Example
    ```bash
    # parameters/prd.json: "Environment": "prd"
    if [ "$ENVIRONMENT" = "prod" ]; then
      read -r -p "本番環境です。続行しますか？ " answer
    fi
    ```

    ## Use instead
    One spelling everywhere (the one in the parameter files), enforced by `AllowedValues`:
    ```bash
    if [ "$ENVIRONMENT" = "prd" ]; then
    ```

    ## References
    - standards/cloudformation.md「命名規約」
    """

    id = "SRE-DEP-013"
    name = "environment-name-mismatch"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "環境名の表記揺れ（prd / prod など）"
    title_en = "Environment names spelled inconsistently (prd / prod …)"
    passed_ja = "環境名の表記はパラメータファイルと一致"
    passed_en = "Environment names match the parameter files"
    fix_ja = "環境名をパラメータファイルの表記（例: prd）に統一し、AllowedValues で他の表記を拒否する"
    fix_en = "Use the parameter files' spelling (e.g. prd) everywhere and reject others with AllowedValues"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        known = spellings(ctx)
        if not known:
            return
        uses = list(self._uses(ctx))
        # `prod | prd)` or `[ "$E" = prod ] || [ "$E" = prd ]`: the known spelling is accepted too
        accepted = {(file, line, canonical(value)) for file, line, _, value, _, where in uses
                    if where.startswith("a script") and canonical(value) in known
                    and value.strip().lower() in known[canonical(value)]}
        for file, line, resource, value, where_ja, where_en in uses:
            env = canonical(value)
            if env not in known or value.strip().lower() in known[env] or (file, line, env) in accepted:
                continue
            used = "/".join(sorted(known[env]))
            yield self.finding(
                ctx, file=file, line=line, resource=resource,
                message=ctx.text(
                    f"{where_ja}が環境名 `{value}` を使っているが、パラメータファイルの表記は `{used}`。"
                    "この条件・値は実際の環境名と一致せず、黙って効かない",
                    f"{where_en} uses the environment name `{value}` but the parameter files say `{used}`: "
                    "it never matches the real environment and silently does nothing"),
            )

    def coverage(self, ctx: RuleContext) -> str | None:
        known = spellings(ctx)
        if not known:
            return None
        names = ", ".join(sorted(n for names in known.values() for n in names))
        return ctx.text(f"パラメータファイルの環境名（{names}）と条件・AllowedValues・タグを照合",
                        f"conditions, AllowedValues and tags matched against the parameter files' names ({names})")

    def _uses(self, ctx: RuleContext) -> Iterator[tuple[str, int, str | None, str, str, str]]:
        for template in ctx.project.templates:
            yield from _template_uses(template)
        for tf in ctx.project.terraform:
            for number, text in enumerate(tf.lines, start=1):
                if text.lstrip().startswith(("#", "//")):
                    continue
                for match in _TF_COMPARE.finditer(text):
                    value = match.group(1) or match.group(2)
                    yield tf.path, number, None, value, "Terraform の比較", "a Terraform comparison"
                for match in _TF_CONTAINS.finditer(text):  # validation { contains([...], var.x) }
                    for value in re.findall(r'"([^"]+)"', match.group(1)):
                        yield (tf.path, number, None, value, "Terraform 変数の検証（validation）",
                               "a Terraform variable validation")
        for script in ctx.project.scripts:
            for command in script.script.commands:
                if command.name not in ("[", "[[", "test"):
                    continue
                words = command.words
                for index, word in enumerate(words):
                    if word in _TEST_OPS and 0 < index < len(words) - 1:
                        for side in (words[index - 1], words[index + 1]):
                            if "$" not in side and canonical(side):
                                yield (script.path, command.line, None, side,
                                       "スクリプトの条件", "a script condition")
            for number, alternatives in case_patterns(script.text):
                for alt in alternatives:
                    if canonical(alt):
                        yield script.path, number, None, alt, "スクリプトの case 分岐", "a script case branch"


def _template_uses(template: Any) -> Iterator[tuple[str, int, str | None, str, str, str]]:
    env_params = [n for n in ENV_PARAMETER_NAMES if n in template.parameters]
    for name in env_params:
        definition = template.parameters[name]
        allowed = definition.get("AllowedValues") if isinstance(definition, dict) else None
        for value in allowed if isinstance(allowed, list) else []:
            yield (template.path, line_of(value) or line_of(definition) or 1, name, str(value),
                   f"パラメータ `{name}` の `AllowedValues`", f"AllowedValues of parameter {name}")
    conditions = template.data.get("Conditions")
    for cond_name, body in conditions.items() if isinstance(conditions, dict) else []:
        for value in _equals_literals(body, env_params):
            yield (template.path, line_of(value) or line_of(cond_name) or 1, str(cond_name), str(value),
                   f"条件 `{cond_name}`", f"condition {cond_name}")
    for resource in template.resources.values():
        tags = resource.properties.get("Tags")
        for tag in tags if isinstance(tags, list) else []:
            if isinstance(tag, dict) and tag.get("Key") in ("Environment", "Env") \
                    and isinstance(tag.get("Value"), str):
                yield (template.path, line_of(tag["Value"]) or resource.line, resource.logical_id,
                       str(tag["Value"]), "`Environment` タグ", "the Environment tag")


def _equals_literals(node: Any, env_params: list[str]) -> Iterator[Any]:
    """Literals compared with `!Ref Environment` anywhere inside a condition."""
    if isinstance(node, dict):
        for key, arg in node.items():
            if key == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
                refs = [a for a in arg if isinstance(a, dict) and a.get("Ref") in env_params]
                if refs:
                    yield from (a for a in arg if isinstance(a, str))
            else:
                yield from _equals_literals(arg, env_params)
    elif isinstance(node, list):
        for item in node:
            yield from _equals_literals(item, env_params)

