"""DEP012: container images referenced by a mutable tag (`:latest`, none, `:prd`)."""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

from sre_agent.environments import canonical
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.parsing.cloudformation import CfnTemplate, line_of
from sre_agent.resolve import UNKNOWN, CfnEvaluator, as_bool, cfn_contexts, tf_variable_sets
from sre_agent.iac.terraform import tf_container_definitions
from sre_agent.rules._deploy import command_blocks
from sre_agent.rules.base import Rule, RuleContext

HOLE = "\x00"  # a part of the image reference that cannot be resolved
MUTABLE_TAGS = frozenset({"latest", "stable", "main", "master", "release", "current", "edge",
                          "nightly", "head"})
_SUB_VAR = re.compile(r"\$\{(!?)([^}]*)\}")
_SHELL_VAR = re.compile(r"\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*|\$[0-9@*#?]")
_TF_INTERP = re.compile(r"\$\{([^}]*)\}")
_SUB_VAR_NAME = re.compile(r"\$\{([^}!][^}]*)\}")
_IMAGE_LINE = re.compile(r"""^\s*["']?image["']?\s*[=:]""")


ENV_HOLE = "\x01"  # a variable that holds the environment name (`${ENV}`, `${{ inputs.environment }}`)
_ENV_VAR_NAMES = r"(?:env|environment|env_?name|environment_?name|stage|deploy_?env|target_?env)"
_ENV_VAR = re.compile(
    r"\$\{\{\s*(?:[\w-]+\.)*" + _ENV_VAR_NAMES + r"\s*\}\}"  # ${{ inputs.environment }}
    r"|\$\{" + _ENV_VAR_NAMES + r"\}|\$" + _ENV_VAR_NAMES + r"(?![A-Za-z0-9_])", re.IGNORECASE)
_PINNED_PART = re.compile(r"v?\d+|[0-9a-f]{7,40}|\d{8}T?\d*", re.IGNORECASE)


def environment_tag(tag: str) -> bool:
    """`prd`, `api-prod`, `stg_latest`, `api-${ENV}`: a tag named after the environment is
    overwritten by every release to it. `1.4.0-prd` or `prd-3f2a9c1` carry a version and are not."""
    parts = [p for p in re.split(r"[-_.]", tag) if p]
    if not any(canonical(p) or p == ENV_HOLE for p in parts):
        return False
    return not any(_PINNED_PART.fullmatch(p) for p in parts)


def mutable_tag(reference: str) -> str | None:
    """The mutable tag of an image reference (`latest` when none is given); None when the tag
    is immutable (a digest, a commit hash, a version) or cannot be known. An environment-named
    tag (`:prd`, `:api-${Environment}` resolved to `api-prd`, `:${ENV}` in a script) is mutable."""
    last = reference.rsplit("/", 1)[-1]
    if "@" in last:
        return None  # pinned by digest
    if ":" not in last:
        return None if HOLE in last or not last else "latest"
    tag = last.split(":", 1)[1]
    if tag.lower() in MUTABLE_TAGS:
        return tag
    if not tag or HOLE in tag:
        return None
    return tag.replace(ENV_HOLE, "${ENV}") if environment_tag(tag) else None


def cfn_string(evaluator: CfnEvaluator, node: Any, depth: int = 0, params: bool = True) -> Any:
    """A template string with parameters substituted (with `params`); unresolvable parts
    become HOLE. Pseudo parameters stay visible as `<AWS.Region>`."""
    if depth > 10:
        return HOLE
    if isinstance(node, str):
        return str(node)
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return str(node)
    if not (isinstance(node, dict) and len(node) == 1):
        return HOLE
    (key, arg), = node.items()
    if key == "Ref" and isinstance(arg, str):
        if arg.startswith("AWS::"):
            return f"<{arg.replace('::', '.')}>"
        value = evaluator.value(node) if params else UNKNOWN
        return HOLE if value is UNKNOWN or not isinstance(value, (str, int)) else str(value)
    if key == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
        cond = evaluator.condition(arg[0])
        return HOLE if cond is UNKNOWN or not params else \
            cfn_string(evaluator, arg[1] if cond else arg[2], depth + 1, params)
    if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
        return str(arg[0]).join(cfn_string(evaluator, part, depth + 1, params) for part in arg[1])
    if key == "Fn::Sub":
        text, variables = (arg, {}) if isinstance(arg, str) else (
            (arg[0], arg[1]) if isinstance(arg, list) and len(arg) == 2 else (None, {}))
        if not isinstance(text, str) or not isinstance(variables, dict):
            return HOLE

        def substitute(match: re.Match) -> str:
            bang, name = match.groups()
            if bang:
                return "${" + name + "}"
            if name in variables:
                return cfn_string(evaluator, variables[name], depth + 1, params)
            if name in evaluator.template.parameters or name.startswith("AWS::"):
                return cfn_string(evaluator, {"Ref": name}, depth + 1, params)
            return HOLE
        return _SUB_VAR.sub(substitute, str(text))
    return HOLE


def tf_string(text: str, variables: dict[str, Any]) -> str:
    def substitute(match: re.Match) -> str:
        expr = match.group(1).strip()
        if expr.startswith("aws_ecr_repository.") and expr.endswith(".repository_url"):
            return f"<{expr}>"  # a repository URL carries no tag
        if expr.startswith("var.") and expr[4:].isidentifier():
            value = variables.get(expr[4:], UNKNOWN)
            if value is not UNKNOWN and isinstance(value, (str, int)) and "${" not in str(value):
                return str(value)
        return HOLE
    return _TF_INTERP.sub(substitute, text)


class MutableImageTag(Rule):
    """
    ## What it does
    Finds container images referenced by a mutable tag — `:latest`, no tag at all (= latest),
    an environment-named tag (`:prd`, `:stg`, `:api-prod`; not `:1.8.2-prd`, which carries a
    version) or a branch-like tag (`:main`, `:stable`):
    - CloudFormation `AWS::ECS::TaskDefinition` `ContainerDefinitions[].Image`, with `!Sub`,
      `!Ref`, `!Join` and `!If` resolved from the production parameter file (else the
      parameter's Default). `!Sub ...:${ImageTag}` is reported only when the production value
      is mutable; an unresolvable tag is not reported. The finding says where the value came
      from: the parameter file, or the Default — for a nested stack, the parent's Default at
      its line when the parent's parameter file does not set it (that Default is what deploys).
      A sidecar marked `Essential: false` (an X-Ray daemon) is info: the task runs on without it;
    - Terraform `aws_ecs_task_definition.container_definitions` (`jsonencode([...])` or a JSON
      heredoc; `file()` / `templatefile()` are not read), `${var.x}` resolved from the
      production tfvars or the default;
    - `docker push repo:latest` in scripts, runbooks and workflows, when that block pushes no
      other (immutable) tag; a tag made of the environment variable (`:${ENV}`,
      `:api-${Environment}`, `:${{ inputs.environment }}`) counts as environment-named.
    Images pinned by digest (`@sha256:...`) pass.

    ## Why is this bad
    A rollback re-deploys the previous task definition — which still says `:latest`, now
    pointing at the broken image, so the rollback re-pulls the bug. Tasks started by scaling or
    replacing an unhealthy task silently run a different version than their siblings, and
    nobody can tell from the task definition which code is in production.

    ## Example
    ```yaml
    Image: !Sub ${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/order-app:latest
    ```

    ## Use instead
    ```yaml
    Image: !Sub ${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/order-app:${ImageTag}
    # ImageTag = the Git commit hash, set per release in parameters/prd.json
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html
    - https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html
    """

    id = "SRE-DEP-012"
    name = "mutable-image-tag"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "コンテナイメージが可変タグ（latest 等）を参照"
    title_en = "Container image referenced by a mutable tag"
    passed_ja = "コンテナイメージは不変のタグ（コミットハッシュ等）で指定"
    passed_en = "Container images use immutable tags (commit hash, digest)"
    fix_ja = "イメージタグを Git コミットハッシュ等の不変な値にし、パラメータ（ImageTag）でリリースごとに指定する。ECR はタグの上書きを禁止（IMMUTABLE）にする"
    fix_en = "Tag images with an immutable value (Git commit hash) passed per release as a parameter; make the ECR repository IMMUTABLE"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        yield from self._cloudformation(ctx)
        yield from self._terraform(ctx)
        yield from self._pushes(ctx)

    def _cloudformation(self, ctx: RuleContext) -> Iterator[Finding]:
        for template in ctx.project.templates:
            contexts = cfn_contexts(template, ctx.project, prod_only=True)
            for task in template.of_type("AWS::ECS::TaskDefinition"):
                containers = task.properties.get("ContainerDefinitions")
                for container in containers if isinstance(containers, list) else []:
                    if not isinstance(container, dict) or "Image" not in container:
                        continue
                    key = next(k for k in container if k == "Image")
                    for env in contexts:
                        reference = cfn_string(CfnEvaluator(template, env), container["Image"])
                        tag = mutable_tag(reference)
                        if tag is None:
                            continue
                        literal = mutable_tag(cfn_string(CfnEvaluator(template, env), container["Image"],
                                                         params=False)) == tag
                        source = "" if literal else _source(ctx, template, env, container["Image"], tag)
                        optional = as_bool(CfnEvaluator(template, env).value(container.get("Essential", True))) is False
                        yield self._finding(ctx, template.path, line_of(key) or task.line, task.logical_id,
                                            container.get("Name"), reference, tag, env.name, source, optional)
                        break

    def _terraform(self, ctx: RuleContext) -> Iterator[Finding]:
        project = ctx.project
        contexts = tf_variable_sets(project.terraform, project.parameter_sets, prod_only=True)
        for tf in project.terraform:
            for task in tf.resources("aws_ecs_task_definition"):
                definitions = tf_container_definitions(task)
                containers = [] if definitions is UNKNOWN else [c for c in definitions if isinstance(c, dict)]
                if not containers:
                    continue
                image_lines = [n for n in range(task.line, min(task.end_line, len(tf.lines)) + 1)
                               if _IMAGE_LINE.match(tf.lines[n - 1])]
                for index, container in enumerate(containers):
                    if not isinstance(container.get("image"), str):
                        continue
                    line = image_lines[index] if index < len(image_lines) else \
                        task.attribute_line("container_definitions")
                    for env in contexts:
                        reference = tf_string(container["image"], env.values)
                        tag = mutable_tag(reference)
                        if tag is None:
                            continue
                        yield self._finding(ctx, tf.path, line, task.address, container.get("name"),
                                            reference, tag, env.name, "", container.get("essential") is False)
                        break

    def _pushes(self, ctx: RuleContext) -> Iterator[Finding]:
        for block in command_blocks(ctx.project):
            pushes = []
            for command in block.commands:
                words = list(command.words)
                if command.name != "docker" or "push" not in words:
                    continue
                args = [w for w in words[words.index("push") + 1:] if not w.startswith("-")]
                if args:
                    reference = _SHELL_VAR.sub(HOLE, _ENV_VAR.sub(ENV_HOLE, args[0]))
                    pushes.append((command, mutable_tag(reference), args[0]))
            if not pushes or any(tag is None for _, tag, _ in pushes):
                continue
            for command, tag, reference in pushes:
                yield self.finding(
                    ctx, file=block.path, line=command.line,
                    message=ctx.text(
                        f"デプロイ用イメージを可変タグ `{tag}` で push している（{reference}）。"
                        f"{_env_note(ctx, tag)}ロールバックしても同じタグの新しいイメージが取得される",
                        f"the deploy image is pushed with the mutable tag `{tag}` ({reference}): "
                        f"{_env_note(ctx, tag)}a rollback pulls the same tag, i.e. the new image"))

    def _finding(self, ctx: RuleContext, file: str, line: int, resource: str, container: Any,
                 reference: str, tag: str, env: str | None, source: str, optional: bool = False) -> Finding:
        """Info for a sidecar marked `Essential: false` (an X-Ray or log agent): the task runs
        without it, so the image it re-pulls cannot take the service down."""
        shown = reference.replace(HOLE, "…")
        note = _env_note(ctx, tag)
        if ":" not in reference.rsplit("/", 1)[-1]:
            tag = ctx.text("タグ指定なし = latest", "no tag = latest")
        else:
            tag = f"`{tag}`"
        name = f"`{container}`" if container else ctx.text("コンテナ", "container")
        if optional:
            self.accepted = True  # no ✅ saying every image is pinned
        return self.finding(
            ctx, file=file, line=line, resource=resource, environment=env,
            severity=Severity.INFO if optional else None,
            message=ctx.text(
                f"`{resource}` の {name} のイメージが可変タグ（{tag}）を参照している（{shown}{source}）。"
                f"{note}ロールバックで前のタスク定義に戻しても同じタグの新しいイメージが起動する"
                + ("（Essential: false のサイドカーで、止まってもタスクは動き続ける）" if optional else ""),
                f"`{resource}` {name} uses a mutable tag ({tag}; {shown}{source}): {note}rolling back "
                "to the previous task definition starts the new image again"
                + (" (an Essential: false sidecar: the task runs on without it)" if optional else "")))

    def coverage(self, ctx: RuleContext) -> str | None:
        tasks = [f"{t.path} `{r.logical_id}`" for t in ctx.project.templates
                 for r in t.of_type("AWS::ECS::TaskDefinition")]
        tasks += [f"{tf.path} `{b.address}`" for tf in ctx.project.terraform
                  for b in tf.resources("aws_ecs_task_definition")]
        return ", ".join(tasks[:3]) if tasks else None


def _env_note(ctx: RuleContext, tag: str) -> str:
    if tag.lower() in MUTABLE_TAGS or not environment_tag(tag.replace("${ENV}", ENV_HOLE)):
        return ""
    return ctx.text("環境名のタグはその環境へのリリースのたびに上書きされる。",
                    "an environment-named tag is overwritten by every release to that environment; ")


def _referenced(node: Any) -> set[str]:
    """Names a `!Ref` / `${Name}` in the node refers to."""
    if isinstance(node, str):
        return set(_SUB_VAR_NAME.findall(node))
    if isinstance(node, dict):
        found = {node["Ref"]} if isinstance(node.get("Ref"), str) else set()
        return found.union(*(_referenced(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_referenced(v) for v in node))
    return set()


def _source(ctx: RuleContext, template: CfnTemplate, env: Any, node: Any, tag: str) -> str:
    """Where the mutable tag came from: the parameter file, the environment, the default. A
    value a parent stack passes from its own Default is that Default's, written where it is:
    the parent's parameter file does not set it and must not be named as its origin."""
    names = _referenced(node) & set(template.parameters)
    carrying = {n for n in names if tag in str(env.values.get(n, ""))}  # the parameter holding the tag
    names = carrying or names
    defaulted = sorted(name for name in names if name in env.defaulted)
    if defaulted:
        place, file = env.defaulted[defaulted[0]]
        if file:
            return ctx.text(f"、{place} の既定値（{file} はこの値を設定しない）",
                            f", the default at {place} ({file} does not set it)")
        return ctx.text(f"、{place} の既定値", f", the default at {place}")
    if env.source and names & set(env.values):
        return ctx.text(f"、{env.source} の値", f", value from {env.source}")
    if env.name and names & set(env.values):
        return ctx.text(f"、{env.name} 環境の値", f", value for {env.name}")
    return ctx.text("、パラメータの既定値", ", parameter default")
