"""What a template value really is in a given environment.

Rules must judge `MultiAZ: !Ref MultiAZ` by the value production will get (the prod parameter
file, else the parameter's Default) and `!If [IsProduction, ...]` by evaluating the condition.
Anything that cannot be resolved is UNKNOWN, and rules stay silent on UNKNOWN: a guess that
produces a false ❌ costs more trust than a missed warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sre_agent.environments import canonical, is_prod
from sre_agent.parsing.cloudformation import CfnTemplate
from sre_agent.parsing.terraform import TfBlock


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value; compare with `is UNKNOWN` first")


UNKNOWN: Any = _Unknown()
ENV_PARAMETER_NAMES = ("Environment", "Env", "EnvironmentName", "Stage", "EnvType", "SystemEnv")
TF_ENV_VARIABLES = ("environment", "env", "stage", "environment_name")


@dataclass
class EnvContext:
    """Parameter values for one environment; `name` is None when only defaults are known."""

    name: str | None
    values: dict[str, Any] = field(default_factory=dict)
    source: str | None = None  # the parameter file the values came from

    @property
    def label(self) -> str:
        return self.name or "default"


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


def cfn_contexts(template: CfnTemplate, parameter_sets: list, prod_only: bool = False) -> list[EnvContext]:
    """One context per environment that has a parameter file matching this template's
    parameters; when there is none, contexts from the Environment parameter's AllowedValues,
    and finally the Defaults alone."""
    params = template.parameters
    contexts: list[EnvContext] = []
    for pset in parameter_sets:
        if pset.terraform or not params:
            continue
        if not set(pset.values) & set(params):
            continue
        values = dict(pset.values)
        env = pset.environment
        for name in ENV_PARAMETER_NAMES:
            if name in values and canonical(str(values[name])):
                env = canonical(str(values[name]))
        contexts.append(EnvContext(env, values, pset.path))
    if prod_only:
        contexts = [c for c in contexts if is_prod(c.name)]
    if not contexts:
        contexts = _contexts_from_allowed_values(params, prod_only)
    return contexts or [EnvContext(None, {})]


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
        if name in self.context.values:
            return self.context.values[name]
        definition = self.template.parameters.get(name)
        if isinstance(definition, dict) and "Default" in definition:
            return definition["Default"]
        return UNKNOWN

    def value(self, node: Any, depth: int = 0) -> Any:
        if depth > 20:
            return UNKNOWN
        if isinstance(node, dict) and len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref" and isinstance(arg, str):
                if arg in self.template.parameters:
                    return self.parameter(arg)
                return UNKNOWN
            if key == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
                cond = self.condition(arg[0], depth + 1)
                if cond is UNKNOWN:
                    return UNKNOWN
                return self.value(arg[1] if cond else arg[2], depth + 1)
            return UNKNOWN
        if isinstance(node, (dict, list)):
            return UNKNOWN if isinstance(node, dict) and any(
                str(k).startswith("Fn::") or k == "Ref" for k in node) else node
        return node

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


def tf_variable_sets(tf_files: list, parameter_sets: list, prod_only: bool = False) -> list[EnvContext]:
    """Variable values per environment: defaults overlaid by each environment's tfvars."""
    defaults = tf_variable_defaults(tf_files)
    contexts = [EnvContext(p.environment, {**defaults, **p.values}, p.path)
                for p in parameter_sets if p.terraform]
    if prod_only:
        contexts = [c for c in contexts if is_prod(c.name)]
    return contexts or [EnvContext(None, defaults)]
