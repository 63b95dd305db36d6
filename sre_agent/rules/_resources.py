"""What the availability, backup, secret and structure rules need to know about resources.

CloudFormation references come in many spellings (`!Ref X`, `!GetAtt X.Arn`, `${X.Name}` inside
`!Sub`, `!Join`); Terraform references are `${aws_x.name.attr}` strings. The helpers here answer
"which resources does this value point at", "which AZ is this subnet in", "which tier is it",
"does this resource exist in this environment" and "what is this value in this environment" once,
so every rule answers them the same way. Anything unresolvable is UNKNOWN or None, never a guess.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from sre_agent.parsing.cloudformation import SUB_VARIABLE, CfnResource, CfnTemplate, cfn_refs, line_of
from sre_agent.parsing.terraform import TfBlock, unwrap
from sre_agent.resolve import UNKNOWN, CfnEvaluator, EnvContext, as_number

TF_REFERENCE = re.compile(r"\b((?:data\.)?aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)(\[[^\]]*\])?")
TIERS = (("data", re.compile(r"data|db|database|isolated|rds", re.I)),
         ("public", re.compile(r"public|dmz", re.I)),
         ("private", re.compile(r"private|priv|app|protected|compute", re.I)))
DEFAULT_ROUTE = "0.0.0.0/0"


# --- CloudFormation -----------------------------------------------------------------------

def cfn_strings(node: Any) -> Iterator[str]:
    """Every string scalar inside a value (Sub templates included)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from cfn_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from cfn_strings(item)


def cfn_tags(resource: CfnResource) -> dict[str, Any]:
    """Tags as a dict, for both the list-of-Key/Value and the map spelling."""
    tags = resource.properties.get("Tags")
    if isinstance(tags, dict):
        return {str(k): v for k, v in tags.items()}
    result: dict[str, Any] = {}
    if isinstance(tags, list):
        for item in tags:
            if isinstance(item, dict) and isinstance(item.get("Key"), str):
                result[item["Key"]] = item.get("Value")
    return result


def cfn_exists(template: CfnTemplate, resource: CfnResource, env: EnvContext) -> bool:
    """False only when the resource's `Condition` is known to be false in this environment."""
    condition = resource.body.get("Condition")
    if not isinstance(condition, str):
        return True
    value = CfnEvaluator(template, env).condition(condition)
    return value is UNKNOWN or bool(value)


def cfn_target(template: CfnTemplate, env: EnvContext, node: Any) -> str | None:
    """The logical id a `!Ref X` / `!GetAtt X.Y` points at, choosing `!If` branches per env."""
    if isinstance(node, dict) and len(node) == 1:
        (key, arg), = node.items()
        if key == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            cond = CfnEvaluator(template, env).condition(arg[0])
            if cond is UNKNOWN:
                return None
            return cfn_target(template, env, arg[1] if cond else arg[2])
        if key in ("Ref", "Fn::GetAtt"):
            refs = cfn_refs(node)
            return next(iter(refs)) if len(refs) == 1 else None
    return None


def cfn_number(template: CfnTemplate, env: EnvContext, node: Any) -> Any:
    return as_number(CfnEvaluator(template, env).value(node))


def key_line(mapping: Any, name: str) -> int | None:
    """Line of a key inside a decoded mapping (the value's line for scalars has no mark)."""
    if isinstance(mapping, dict):
        for key in mapping:
            if key == name:
                return line_of(key)
    return None


def subnet_az(template: CfnTemplate, subnet: CfnResource) -> tuple | None:
    """A comparable key for the subnet's AZ: ("index", n) for `!Select [n, !GetAZs '']`,
    ("literal", name) for a literal or parameter-given AZ; None when it cannot be known."""
    node = subnet.properties.get("AvailabilityZone", subnet.properties.get("AvailabilityZoneId"))
    if isinstance(node, dict) and set(node) == {"Fn::Select"}:
        arg = node["Fn::Select"]
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], dict) \
                and "Fn::GetAZs" in arg[1]:
            index = as_number(arg[0])
            return None if index is UNKNOWN else ("index", int(index))
        return None
    value = CfnEvaluator(template, EnvContext(None, {})).value(node)
    if isinstance(value, str) and value:
        return ("literal", value)
    return None


def subnet_tier(logical_id: str, name_tag: Any, public_ip: Any) -> str | None:
    """public / private / data from the subnet's name (logical id, Name tag) or, failing that,
    MapPublicIpOnLaunch; None when the name says nothing."""
    names = [logical_id] + [s for s in cfn_strings(name_tag)] if name_tag is not None else [logical_id]
    for text in names:
        bare = SUB_VARIABLE.sub("", str(text))
        for tier, pattern in TIERS:
            if pattern.search(bare):
                return tier
    if public_ip is True or (isinstance(public_ip, str) and public_ip.lower() == "true"):
        return "public"
    return None


def describe_az(key: tuple) -> str:
    return f"!Select [{key[1]}, !GetAZs '']" if key[0] == "index" else str(key[1])


# --- Terraform ----------------------------------------------------------------------------

def tf_get(mapping: Any, name: str, default: Any = None) -> Any:
    """An attribute of a nested hcl2 block (`lifecycle`, `health_check`), unwrapped."""
    if isinstance(mapping, list):
        mapping = mapping[0] if mapping and isinstance(mapping[0], dict) else {}
    if not isinstance(mapping, dict):
        return default
    return unwrap(mapping.get(name, default))


def tf_refs(value: Any) -> list[tuple[str, str]]:
    """(address, index text) of every resource reference in an expression; index "" if none."""
    found: list[tuple[str, str]] = []
    if isinstance(value, str):
        for expr in re.findall(r"\$\{(.*?)\}", value) or []:
            for match in TF_REFERENCE.finditer(expr):
                found.append((match.group(1), (match.group(2) or "").strip("[]")))
    elif isinstance(value, list):
        for item in value:
            found += tf_refs(item)
    elif isinstance(value, dict):
        for item in value.values():
            found += tf_refs(item)
    return found


def tf_count(block: TfBlock) -> int | None:
    """The literal `count` of a block (1 when absent), None for for_each or computed counts."""
    if "for_each" in block.body:
        return None
    count = block.get("count", 1)
    return int(count) if isinstance(count, int) and not isinstance(count, bool) else None


def tf_blocks(tf_files: list, *types: str) -> Iterator[tuple[Any, TfBlock]]:
    for tf in tf_files:
        for block in tf.resources(*types):
            yield tf, block


def tf_by_address(tf_files: list) -> dict[str, TfBlock]:
    return {b.address: b for tf in tf_files for b in tf.blocks if b.kind in ("resource", "data")}


def tf_prevent_destroy(block: TfBlock) -> bool:
    return tf_get(block.body.get("lifecycle"), "prevent_destroy") is True


def tf_tier(block: TfBlock) -> str | None:
    tags = block.get("tags")
    name = tags.get("Name") if isinstance(tags, dict) else None
    return subnet_tier(block.name, name, block.get("map_public_ip_on_launch"))


def tf_subnet_azs(block: TfBlock) -> list[str] | None:
    """AZ keys of each instance of an `aws_subnet` (count expanded), None if unknown."""
    expr = block.get("availability_zone", block.get("availability_zone_id"))
    if not isinstance(expr, str):
        return None
    count = tf_count(block)
    if count is None:
        return None
    if "count.index" in expr:
        return [expr.replace("count.index", str(i)) for i in range(count)]
    if "each." in expr:
        return None
    return [expr] * count


def env_phrase(ctx_text, env: EnvContext, refs: set[str] | None = None) -> str:
    """「prod 環境（prd.json の値）」 / "prod (value from prd.json)" for messages. Given the
    parameters the value reads (`parameters_read`), a value no parameter file sets is credited
    to the Default that holds it (the parent's, or the template's own), not to the file that
    leaves it out."""
    if env.source and refs:
        if refs and all(r in env.defaulted for r in refs):
            where, file = env.defaulted[sorted(refs)[0]]
            left_out = ctx_text(f"。{file} はこの値を設定しない", f"; {file} does not set it") if file else ""
            return ctx_text(f"{env.label} 環境（{where} の既定値{left_out}）",
                            f"{env.label} (the Default at {where}{left_out})")
        if refs and not any(r in env.values or r in env.defaulted for r in refs):
            file = env.source.rsplit(" ← ", 1)[-1]
            return ctx_text(f"{env.label} 環境（テンプレートの既定値。{file} はこの値を設定しない）",
                            f"{env.label} (the template's Default; {file} does not set it)")
    if env.source and env.name is None:
        return ctx_text(f"既定の設定（{env.source} の値）", f"the default settings (value from {env.source})")
    if env.source:
        return ctx_text(f"{env.label} 環境（{env.source} の値）", f"{env.label} (value from {env.source})")
    if env.name is None:
        return ctx_text("既定値の設定", "the default settings")
    return ctx_text(f"{env.label} 環境（既定値）", f"{env.label} (default)")


def parameters_read(template: CfnTemplate, node: Any) -> set[str]:
    """The template's parameters a property's value reads (`Ref`, `${Name}` in `Fn::Sub`)."""
    return cfn_refs(node) & set(template.parameters)


# --- ECS auto scaling -----------------------------------------------------------------------

ECS_DIMENSION = "ecs:service:DesiredCount"


def cfn_ecs_scaling(template: CfnTemplate) -> tuple[dict[str, CfnResource], set[str], list[CfnResource]]:
    """(service logical id -> its scalable target, ids of targets that have a scaling policy,
    ECS scalable targets whose service could not be identified in this template)."""
    services = {s.logical_id for s in template.of_type("AWS::ECS::Service")}
    by_service: dict[str, CfnResource] = {}
    unattributed: list[CfnResource] = []
    for target in template.of_type("AWS::ApplicationAutoScaling::ScalableTarget"):
        if target.properties.get("ScalableDimension") != ECS_DIMENSION:
            continue
        resource_id = target.properties.get("ResourceId")
        matched = cfn_refs(resource_id) & services
        if not matched:  # `service/${Cluster}/${ServiceName}` naming the service by its name
            matched = {s for s in services if _names_service(resource_id, template.resources[s])}
        for service in matched:
            by_service[service] = target
        if not matched:
            unattributed.append(target)
    with_policy: set[str] = set()
    targets = {t.logical_id for t in by_service.values()}
    for policy in template.of_type("AWS::ApplicationAutoScaling::ScalingPolicy"):
        refs = cfn_refs(policy.properties.get("ScalingTargetId")) & targets
        if not refs and policy.properties.get("ScalableDimension") == ECS_DIMENSION:
            refs = {t.logical_id for s, t in by_service.items()
                    if s in cfn_refs(policy.properties.get("ResourceId"))}
        with_policy |= refs
    return by_service, with_policy, unattributed


def _sub_text(node: Any) -> str | None:
    """A literal, `!Sub` string, or `${P}` for `!Ref P`: the text a name is built from."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        (key, arg), = node.items()
        if key == "Fn::Sub":
            return arg if isinstance(arg, str) else None
        if key == "Ref" and isinstance(arg, str):
            return "${%s}" % arg
    return None


def _names_service(resource_id: Any, service: CfnResource) -> bool:
    """True when a scalable target's ResourceId ends with the service's ServiceName text."""
    target_text, name_text = _sub_text(resource_id), _sub_text(service.properties.get("ServiceName"))
    return bool(target_text and name_text) and target_text.endswith("/" + name_text)


def tf_ecs_scaling(tf_files: list) -> tuple[dict[str, tuple], set[str], list[TfBlock]]:
    """Terraform twin of `cfn_ecs_scaling`: service address -> (file, target block)."""
    by_service: dict[str, tuple] = {}
    unattributed: list[TfBlock] = []
    for tf, target in tf_blocks(tf_files, "aws_appautoscaling_target"):
        services = {a for a, _ in tf_refs(target.get("resource_id")) if a.startswith("aws_ecs_service.")}
        for service in services:
            by_service[service] = (tf, target)
        if not services and target.get("service_namespace") == "ecs":
            unattributed.append(target)
    targets = {t.address for _, t in by_service.values()}
    with_policy: set[str] = set()
    for _, policy in tf_blocks(tf_files, "aws_appautoscaling_policy"):
        with_policy |= {a for a, _ in tf_refs(policy.get("resource_id")) if a in targets}
        with_policy |= {a for a, _ in tf_refs(policy.get("scalable_dimension")) if a in targets}
    return by_service, with_policy, unattributed


# --- Terraform root modules -------------------------------------------------------------------

def tf_modules(tf_files: list) -> dict[str, list]:
    """Directory -> its .tf files (sorted): a Terraform module is one directory."""
    by_dir: dict[str, list] = {}
    for tf in tf_files:
        by_dir.setdefault(tf.path.rsplit("/", 1)[0] if "/" in tf.path else ".", []).append(tf)
    return {d: sorted(files, key=lambda f: f.path) for d, files in sorted(by_dir.items())}


def tf_root_modules(tf_files: list) -> dict[str, list]:
    """The modules that are roots (anything not under a `modules/` folder) and declare at least
    one resource or module call."""
    return {d: files for d, files in tf_modules(tf_files).items()
            if "modules/" not in f"{d}/" and any(b.kind in ("resource", "module") for f in files for b in f.blocks)}


def tf_settings(files: list) -> list[tuple]:
    """(file, block) of every `terraform { }` block of a module."""
    return [(tf, b) for tf in files for b in tf.blocks if b.kind == "terraform"]


def line_matching(tf, start: int, end: int, pattern: str) -> int | None:
    regex = re.compile(pattern)
    for number in range(start, min(end, len(tf.lines)) + 1):
        if regex.search(tf.lines[number - 1]):
            return number
    return None
