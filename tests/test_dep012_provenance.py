"""DEP012 names the origin of a mutable tag truthfully: a value a parent stack passes from its
own Default is attributed to that Default, never to a parameter file that does not set it."""

from __future__ import annotations

from conftest import RULE_FIXTURES
from sre_agent.project import load_project
from sre_agent.resolve import cfn_contexts
from sre_agent.rules.base import RuleContext, all_rules

CASE = RULE_FIXTURES / "DEP012" / "cfn-parent-default-not-in-file"
PARENT = "infra/cloudformation/stacks/06-compute/main.yaml"
PARAMS = "infra/cloudformation/parameters/production.json"


def _messages() -> dict[int, str]:
    rule = next(r for r in all_rules() if r.id == "SRE-DEP-012")()
    return {f.line: f.message for f in rule.check(RuleContext(load_project([CASE])))}


def test_a_parent_default_is_quoted_where_it_is_written() -> None:
    message = _messages()[25]
    assert f"{PARENT}:16 の既定値（{PARAMS} はこの値を設定しない）" in message
    assert f"← {PARAMS} の値" not in message


def test_a_value_the_parameter_file_sets_keeps_the_file_as_origin() -> None:
    assert f"{PARENT}:23 ← {PARAMS} の値" in _messages()[30]


def test_the_child_context_records_which_values_are_parent_defaults() -> None:
    project = load_project([CASE])
    child = next(t for t in project.templates if t.path.endswith("ecs-service.yaml"))
    (env,) = cfn_contexts(child, project, prod_only=True)
    assert env.defaulted == {"ApiImageUri": (f"{PARENT}:16", PARAMS)}
