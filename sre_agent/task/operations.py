"""What the runbooks need to know about the delivered files, read from those files.

The rollback table comes from the delivered rollback.sh, whether it restores the image tag from
its text, the maintenance switch and the database from the templates: a runbook that quotes the
delivery cannot describe a script or a parameter that is not there.
"""

from __future__ import annotations

import re

from sre_agent.deliver.plan import DeliveryPlan
from sre_agent.deliver.runbook import DatabaseFacts, MaintenanceSwitch
from sre_agent.environments import is_prod
from sre_agent.task.delivered import Delivered

_MAINTENANCE = re.compile(r"maintenance", re.IGNORECASE)


def restores_image_tag(rollback_script: str) -> bool:
    """rollback.sh writes the recorded tag back to SSM itself (a real `aws ssm put-parameter`
    call, not a comment), so the runbook needs no manual SSM step."""
    return any(re.match(r"\s*(?:if\s+!?\s*)?aws\s+ssm\s+put-parameter\b", line)
               for line in rollback_script.splitlines() if not line.lstrip().startswith("#"))


def database_facts(delivered: Delivered, plan: DeliveryPlan) -> DatabaseFacts | None:
    """The stateful stack's RDS instance and the output that names it."""
    for stack in plan.stacks:
        template = next((t for t in delivered.project.templates if t.path == stack.template), None)
        if template is None:
            continue
        for db in template.of_type("AWS::RDS::DBInstance"):
            outputs = template.data.get("Outputs") or {}
            for key, output in outputs.items() if isinstance(outputs, dict) else []:
                if isinstance(output, dict) and output.get("Value") == {"Ref": db.logical_id}:
                    engine = str(db.properties.get("Engine", ""))
                    return DatabaseFacts(stack.name, str(key), engine)
    return None


def maintenance_switch(delivered: Delivered, plan: DeliveryPlan, stack_name: str) -> MaintenanceSwitch | None:
    """A `…Maintenance…` parameter with true/false values in the application stack's template."""
    stack = next((s for s in plan.stacks if s.name == stack_name), None)
    template = next((t for t in delivered.project.templates if stack and t.path == stack.template), None)
    if stack is None or template is None:
        return None
    prod = next((e for e in stack.parameters if is_prod(e)), None)
    for name, body in template.parameters.items():
        if not _MAINTENANCE.search(name) or not isinstance(body, dict):
            continue
        allowed = [str(v) for v in body.get("AllowedValues") or []]
        on = next((v for v in allowed if v.lower() in ("true", "enabled", "on", "yes")), "true")
        off = next((v for v in allowed if v.lower() in ("false", "disabled", "off", "no")), "false")
        if prod is None:
            return MaintenanceSwitch(stack.template, name, on, off)
        return MaintenanceSwitch(stack.parameters[prod], name, on, off)
    return None




_CIDR = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}/\d{1,2}\b")


def design_discrepancies(notes: list[str], documents_text: str, parameter_values: dict[str, str],
                         release_tag: str) -> list[str]:
    """Where the delivery departs from the design documents, for the architect to confirm:
    the spec reader's notes on values it did not take as written (`notes`: the lines that quote a
    document location), subnets the documents' tables do not list, and a release tag the
    rollback does not use. `parameter_values`: the production parameter files' key → value."""
    found = list(notes)
    written = set(_CIDR.findall(documents_text))
    if written:
        extra = [f"{key} {value}" for key, value in parameter_values.items()
                 if "subnet" in key.lower() and _CIDR.fullmatch(value) and value not in written]
        if extra:
            found.append(f"設計書のサブネット表にないサブネットを作る: {'、'.join(extra)}"
                         "（データ層を分けるため。設計書の表への追記が必要）")
    if release_tag:
        found.append(f"設計書はリリースタグ `{release_tag}` を指定したロールバックを求めるが、rollback.sh は "
                     "`.releases/` の記録（execute-changeset.sh が成功ごとに残す）から戻し先を選ぶ。タグは手順書で"
                     "記録のコミットと一緒に付ける（設計書の記述の更新が必要）")
    return found


__all__ = ["restores_image_tag", "database_facts", "maintenance_switch", "design_discrepancies"]
