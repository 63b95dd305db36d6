"""What a template value really is in a given environment.

Rules must judge `MultiAZ: !Ref MultiAZ` by the value production will get (the prod parameter
file, else the parameter's Default) and `!If [IsProduction, ...]` by evaluating the condition.
Anything that cannot be resolved is UNKNOWN, and rules stay silent on UNKNOWN: a guess that
produces a false ❌ costs more trust than a missed warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sre_agent.environments import canonical, environment_of_path, is_prod
from sre_agent.iac.modules import TerraformModel, directory_of
from sre_agent.iac.stacks import ENV_PARAMETER_NAMES, StackLink, StackModel, environment_of
from sre_agent.parsing.cloudformation import CfnTemplate, line_of
from sre_agent.parsing.terraform import TfBlock, unwrap


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value; compare with `is UNKNOWN` first")


UNKNOWN: Any = _Unknown()
SUB_VARIABLE = re.compile(r"\$\{(!?[A-Za-z0-9_:.]+)\}")
DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:[^}]+\}\}")
TF_ENV_VARIABLES = ("environment", "env", "stage", "environment_name")


@dataclass
class EnvContext:
    """Parameter values for one environment; `name` is None when only defaults are known."""

    name: str | None
    values: dict[str, Any] = field(default_factory=dict)
    source: str | None = None  # the parameter file the values came from
    # A value a parent passed from its own parameter's Default, which its parameter file does not
    # set: name → (where that Default is written, the parameter file that leaves it out or None).
    # `source` alone would credit the file with a value it never holds.
    defaulted: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.name or "default"


def _plain(value: Any) -> Any:
    """A string with a `{{resolve:ssm:...}}` reference is only known at deploy time."""
    if isinstance(value, str) and DYNAMIC_REFERENCE.search(value):
        return UNKNOWN
    return value


def as_bool(value: Any) -> Any:
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return UNKNOWN


def as_number(value: Any) -> Any:
    if value is UNKNOWN or isinstance(value, bool):
        return UNKNOWN
    try:
        return float(value)
    except (TypeError, ValueError):
        return UNKNOWN


def stack_model(project) -> StackModel:
    """The project's nested stacks and parameter-file bindings, built once per review."""
    return project.memo("stack-model", lambda: StackModel(project.templates, project.parameter_sets))


def cfn_contexts(template: CfnTemplate, project, prod_only: bool = False,
                 _seen: frozenset[str] = frozenset()) -> list[EnvContext]:
    """One context per environment the template is deployed in. A nested child gets, per
    environment of each parent, the values its parent's Stack resource passes (a value the parent
    computes in a way we cannot follow is UNKNOWN, never the child's Default). A top-level template
    gets one context per parameter file bound to it (`StackModel.parameter_files`); without one,
    contexts from the Environment parameter's AllowedValues, and finally the Defaults alone."""
    if not _seen:  # rules ask the same question many times: answer it once per review
        return project.memo(f"cfn-contexts:{template.path}:{prod_only}",
                            lambda: _cfn_contexts(template, project, prod_only, frozenset({template.path})))
    return _cfn_contexts(template, project, prod_only, _seen)


def _cfn_contexts(template: CfnTemplate, project, prod_only: bool, _seen: frozenset[str]) -> list[EnvContext]:
    model = stack_model(project)
    links = [link for link in model.parents(template) if link.parent.path not in _seen]
    if links:
        contexts = [_child_context(link, parent_env)
                    for link in links
                    for parent_env in cfn_contexts(link.parent, project, prod_only, _seen | {template.path})
                    if _stack_exists(link, parent_env)]
        if contexts:
            return contexts
    params = template.parameters
    contexts = []
    for pset in model.parameter_files(template):
        values = {k: v for k, v in pset.values.items() if k in params}
        contexts.append(EnvContext(environment_of(pset), values, f"{pset.path} [{pset.stack}]" if pset.stack else pset.path))
    if prod_only:
        contexts = [c for c in contexts if is_prod(c.name)]
    if not contexts:
        contexts = _contexts_from_allowed_values(params, prod_only)
    return contexts or [EnvContext(None, {})]


def _stack_exists(link: StackLink, parent_env: EnvContext) -> bool:
    condition = link.resource.body.get("Condition")
    if not isinstance(condition, str):
        return True
    value = CfnEvaluator(link.parent, parent_env).condition(condition)
    return value is UNKNOWN or bool(value)


def _child_context(link: StackLink, parent_env: EnvContext) -> EnvContext:
    """The child's values in one environment of its parent; each says where it came from."""
    passed = link.resource.properties.get("Parameters")
    evaluator = CfnEvaluator(link.parent, parent_env)
    values = ({str(name): evaluator.value(node) for name, node in passed.items()}
              if isinstance(passed, dict) else {})
    source = f"{link.place} ← {parent_env.source}" if parent_env.source else link.place
    return EnvContext(parent_env.name, values, source, _defaulted(link, parent_env, passed))


def _defaulted(link: StackLink, parent_env: EnvContext, passed: Any) -> dict[str, tuple[str, str | None]]:
    """The passed values that are the parent's own Defaults (`Image: !Ref Image` where the
    parent's parameter file does not set `Image`), with where each Default is written."""
    found: dict[str, tuple[str, str | None]] = {}
    for name, node in (passed.items() if isinstance(passed, dict) else []):
        ref = node.get("Ref") if isinstance(node, dict) and len(node) == 1 else None
        if not isinstance(ref, str) or ref in parent_env.values:
            continue
        if ref in parent_env.defaulted:
            found[str(name)] = parent_env.defaulted[ref]
            continue
        spec = link.parent.parameters.get(ref)
        key = next((k for k in spec if k == "Default"), None) if isinstance(spec, dict) else None
        if key is not None:
            line = line_of(key) or line_of(spec) or link.resource.line
            file = parent_env.source.rsplit(" ← ", 1)[-1] if parent_env.source else None
            found[str(name)] = (f"{link.parent.path}:{line}", file)
    return found


def _contexts_from_allowed_values(params: dict[str, Any], prod_only: bool) -> list[EnvContext]:
    """No parameter file for the environment: Defaults, with the Environment parameter set to
    each of its AllowedValues so that `IsProduction`-style conditions still evaluate."""
    env_param = next((n for n in ENV_PARAMETER_NAMES if n in params), None)
    definition = params.get(env_param) if env_param else None
    allowed = definition.get("AllowedValues") if isinstance(definition, dict) else None
    if not isinstance(allowed, list):
        return []
    contexts = [EnvContext(canonical(str(v)), {env_param: v}) for v in allowed
                if canonical(str(v))]
    return [c for c in contexts if is_prod(c.name)] if prod_only else contexts


class CfnEvaluator:
    """Evaluates Ref / Fn::If / Fn::Equals / Conditions of one template in one environment."""

    def __init__(self, template: CfnTemplate, context: EnvContext) -> None:
        self.template = template
        self.context = context

    def parameter(self, name: str) -> Any:
        definition = self.template.parameters.get(name)
        if isinstance(definition, dict) and str(definition.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
            # The Default, or the parameter file's value, is the SSM parameter's name; the value
            # deployed is whatever that parameter holds at deploy time.
            return UNKNOWN
        if name in self.context.values:
            return _plain(self.context.values[name])
        if isinstance(definition, dict) and "Default" in definition:
            return _plain(definition["Default"])
        return UNKNOWN

    def value(self, node: Any, depth: int = 0) -> Any:
        """The value a property gets in this environment, or UNKNOWN. Attributes of resources,
        imports and dynamic references are only known at deploy time: UNKNOWN."""
        if depth > 20:
            return UNKNOWN
        if isinstance(node, str):
            return _plain(node)
        if isinstance(node, dict) and len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref" and isinstance(arg, str):
                return self.parameter(arg) if arg in self.template.parameters else UNKNOWN
            if key == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
                cond = self.condition(arg[0], depth + 1)
                if cond is UNKNOWN:
                    return UNKNOWN
                return self.value(arg[1] if cond else arg[2], depth + 1)
            if key == "Fn::Sub":
                return self._sub(arg, depth)
            if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
                parts = self.value(arg[1], depth + 1)
                if not isinstance(parts, list) or any(p is UNKNOWN or isinstance(p, (dict, list)) for p in parts):
                    return UNKNOWN
                return str(arg[0]).join(str(p) for p in parts)
            if key == "Fn::Select" and isinstance(arg, list) and len(arg) == 2:
                index, items = self.value(arg[0], depth + 1), self.value(arg[1], depth + 1)
                try:
                    return items[int(index)] if isinstance(items, list) else UNKNOWN
                except (TypeError, ValueError, IndexError):
                    return UNKNOWN
            if key == "Fn::Split" and isinstance(arg, list) and len(arg) == 2:
                text = self.value(arg[1], depth + 1)
                return text.split(str(arg[0])) if isinstance(text, str) else UNKNOWN
            if key == "Fn::FindInMap" and isinstance(arg, list) and len(arg) >= 3:
                keys = [self.value(a, depth + 1) for a in arg[:3]]
                mappings = self.template.data.get("Mappings")
                try:
                    found = mappings[str(keys[0])][str(keys[1])][str(keys[2])]
                except (KeyError, TypeError):
                    return UNKNOWN
                return self.value(found, depth + 1)
            if key.startswith("Fn::") or key == "Ref":
                return UNKNOWN
        if isinstance(node, list):
            return [self.value(item, depth + 1) for item in node]
        if isinstance(node, dict):
            return UNKNOWN if any(str(k).startswith("Fn::") or k == "Ref" for k in node) else node
        return node

    def _sub(self, arg: Any, depth: int) -> Any:
        text = arg[0] if isinstance(arg, list) and arg else arg
        local = arg[1] if isinstance(arg, list) and len(arg) > 1 and isinstance(arg[1], dict) else {}
        if not isinstance(text, str):
            return UNKNOWN

        def fill(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            value = (self.value(local[name], depth + 1) if name in local
                     else self.parameter(name) if name in self.template.parameters else UNKNOWN)
            if value is UNKNOWN or isinstance(value, (dict, list)):
                raise LookupError(name)
            return str(value)
        try:
            return _plain(SUB_VARIABLE.sub(fill, text))
        except LookupError:
            return UNKNOWN

    def condition(self, node: Any, depth: int = 0) -> Any:
        if depth > 20:
            return UNKNOWN
        if isinstance(node, str):
            conditions = self.template.data.get("Conditions")
            if isinstance(conditions, dict) and node in conditions:
                return self.condition(conditions[node], depth + 1)
            return UNKNOWN
        if not (isinstance(node, dict) and len(node) == 1):
            return UNKNOWN
        (key, arg), = node.items()
        if key == "Condition":
            return self.condition(arg, depth + 1)
        if key == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
            left, right = (self.value(a, depth + 1) for a in arg)
            if left is UNKNOWN or right is UNKNOWN:
                return UNKNOWN
            return str(left) == str(right)
        if key == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
            inner = self.condition(arg[0], depth + 1)
            return UNKNOWN if inner is UNKNOWN else not inner
        if key in ("Fn::And", "Fn::Or") and isinstance(arg, list):
            parts = [self.condition(a, depth + 1) for a in arg]
            known = [p for p in parts if p is not UNKNOWN]
            if key == "Fn::And":
                return False if False in known else (UNKNOWN if len(known) < len(parts) else True)
            return True if True in known else (UNKNOWN if len(known) < len(parts) else False)
        return UNKNOWN


def cfn_text(template: CfnTemplate, env: EnvContext, node: Any) -> Any:
    """A value as text in one environment (names, ARNs, identifiers), else UNKNOWN."""
    value = CfnEvaluator(template, env).value(node)
    if value is UNKNOWN or isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return UNKNOWN
    return str(value)


def tf_value(block: TfBlock, attribute: str, variables: dict[str, Any]) -> Any:
    """A Terraform attribute's value with `var.x` resolved from tfvars or the variable default."""
    raw = block.get(attribute, UNKNOWN)
    if isinstance(raw, str) and raw.startswith("${") and raw.endswith("}"):
        expr = raw[2:-1].strip()
        if expr.startswith("var.") and expr[4:].isidentifier():
            return variables.get(expr[4:], UNKNOWN)
        return UNKNOWN
    return raw


def tf_locals(tf_files: list) -> dict[str, Any]:
    """`local.x` values of the given files (a module's, or the whole project's)."""
    values: dict[str, Any] = {}
    for tf in tf_files:
        for body in tf.data.get("locals", []) or []:
            if isinstance(body, dict):
                values.update({k: v[0] if isinstance(v, list) and len(v) == 1 else v
                               for k, v in body.items() if not k.startswith("__")})
    return values


def tf_variable_defaults(tf_files: list) -> dict[str, Any]:
    return {block.name: block.get("default") for tf in tf_files for block in tf.blocks
            if block.kind == "variable" and "default" in block.body}


def terraform_model(project) -> TerraformModel:
    return project.memo("terraform-model", lambda: TerraformModel(project.terraform, project.parameter_sets))


def tf_contexts(tf, project, prod_only: bool = False, _seen: frozenset[str] = frozenset()) -> list[EnvContext]:
    """Variable values per environment for the module a Terraform file belongs to: what each
    caller's `module` block passes (in each of the caller's environments), else the module's
    defaults overlaid by its tfvars. A value the caller computes in a way we cannot follow is
    UNKNOWN, never the child's default."""
    model = terraform_model(project)
    directory = directory_of(tf.path)
    contexts = []
    for call in model.callers(directory):
        if call.caller.path in _seen or directory_of(call.caller.path) == directory:
            continue
        declared = model.variables(directory)
        defaults = tf_variable_defaults(model.files_in(directory))
        for parent in tf_contexts(call.caller, project, prod_only, _seen | {tf.path}):
            passed = {name: tf_expression(call.block.body[name], parent.values)
                      for name in call.block.body if name in declared}
            source = f"{call.place} ← {parent.source}" if parent.source else call.place
            contexts.append(EnvContext(parent.name, {**defaults, **passed}, source))
    if contexts:
        return contexts
    files = model.files_in(directory)
    return tf_variable_sets(files, model.tfvars_for(directory), prod_only,
                            default_env=environment_of_path(directory))


def tf_expression(raw: Any, variables: dict[str, Any]) -> Any:
    """A module argument in the caller's environment: a literal, `var.x`, or `var.x == "prd"`."""
    value = unwrap(raw)
    if not isinstance(value, str) or not (value.startswith("${") and value.endswith("}")):
        return value
    expr = value[2:-1].strip()
    if expr.startswith("var.") and expr[4:].isidentifier():
        return variables.get(expr[4:], UNKNOWN)
    match = re.fullmatch(r'var\.(\w+)\s*(==|!=)\s*"([^"]*)"', expr)
    if match and match.group(1) in variables and variables[match.group(1)] is not UNKNOWN:
        equal = str(variables[match.group(1)]) == match.group(3)
        return equal if match.group(2) == "==" else not equal
    return UNKNOWN


def tf_variable_sets(tf_files: list, parameter_sets: list, prod_only: bool = False,
                     default_env: str | None = None) -> list[EnvContext]:
    """Variable values per environment: defaults overlaid by each environment's tfvars."""
    defaults = tf_variable_defaults(tf_files)
    contexts = [EnvContext(p.environment, {**defaults, **p.values}, p.path)
                for p in parameter_sets if p.terraform]
    if not contexts and default_env:  # envs/prd/main.tf: the directory names its environment
        contexts = [EnvContext(default_env, defaults)]
    if prod_only:
        contexts = [c for c in contexts if is_prod(c.name)]
    return contexts or [EnvContext(None, defaults)]
