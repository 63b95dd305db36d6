"""The four change-set scripts of a delivery, rendered from its `DeliveryPlan`.

The scripts carry the plan in them (which environments and stacks exist, each stack's template,
parameter file per environment and capabilities), so `create-changeset.sh prd network` needs
nothing else and refuses a stack or environment the plan does not name. They are rendered from
jinja2 templates under `sre_agent/templates/deliver/scripts/`; every script gets its own copy of
the shell functions it uses, so each one reads (and is reviewed) on its own.
"""

from __future__ import annotations

import re
import shlex
import stat
from functools import cache
from pathlib import Path, PurePosixPath

import jinja2

from sre_agent.deliver.plan import DeliveryPlan
from sre_agent.rules.dep.dep010_destructive_rollback import STATEFUL_TYPES as DEP_STATEFUL_TYPES

SCRIPTS = {
    "create": "create-changeset.sh",
    "describe": "describe-changeset.sh",
    "execute": "execute-changeset.sh",
    "rollback": "rollback.sh",
}

# Replacing or removing one of these leaves an empty resource or none: the data is gone unless a
# snapshot is restored. The rules' list plus stores whose loss is as bad (keys, logs, secrets).
STATEFUL_TYPES: tuple[str, ...] = (*DEP_STATEFUL_TYPES, "AWS::Neptune::DBCluster",
                                   "AWS::Kinesis::Stream", "AWS::SQS::Queue", "AWS::KMS::Key",
                                   "AWS::Logs::LogGroup", "AWS::SecretsManager::Secret",
                                   "AWS::Backup::BackupVault", "AWS::ECR::Repository")

# Modifying one of these in place (Replacement False: a new instance class, parameter group,
# Multi-AZ toggle, engine version) can still reboot it or fail it over: a short outage in prd.
REBOOTING_TYPES: tuple[str, ...] = ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster",
                                    "AWS::ElastiCache::CacheCluster",
                                    "AWS::ElastiCache::ReplicationGroup",
                                    "AWS::Neptune::DBInstance", "AWS::Neptune::DBCluster",
                                    "AWS::DocDB::DBInstance", "AWS::DocDB::DBCluster",
                                    "AWS::MemoryDB::Cluster", "AWS::OpenSearchService::Domain")

_STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
_SAFE_PATH = re.compile(r"^[A-Za-z0-9._/-]+$")


class PlanNotScriptable(ValueError):
    """The plan names something the scripts could not carry safely (a bad stack name or path)."""


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sre_agent", "templates/deliver/scripts"),
        autoescape=False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        # bash writes ${#array[@]}: keep jinja's `{#` comment marker out of the way
        comment_start_string="<#--", comment_end_string="--#>")
    env.filters["sh"] = shlex.quote
    return env


def _check(plan: DeliveryPlan) -> None:
    """Stack names become case patterns and stack names; paths are joined to the delivery root."""
    for stack in plan.stacks:
        if not _STACK_NAME.match(stack.name):
            raise PlanNotScriptable(f"stack name must match {_STACK_NAME.pattern}: {stack.name!r}")
        for path in (stack.template, *stack.parameters.values()):
            pure = PurePosixPath(path)
            if not _SAFE_PATH.match(path) or pure.is_absolute() or ".." in pure.parts:
                raise PlanNotScriptable(f"stack {stack.name}: path must be relative to the delivery "
                                        f"root, without '..' or unusual characters: {path!r}")
        unknown = sorted(set(stack.parameters) - set(plan.environments))
        if unknown:
            raise PlanNotScriptable(f"stack {stack.name}: parameter files for environments the plan "
                                    f"does not have: {unknown}")


def render_script(plan: DeliveryPlan, role: str) -> str:
    """The text of one script (`role` is a key of SCRIPTS)."""
    _check(plan)
    template = _environment().get_template(f"{SCRIPTS[role]}.j2")
    return template.render(plan=plan, stateful_types=STATEFUL_TYPES,
                           rebooting_types=REBOOTING_TYPES)


def write_scripts(plan: DeliveryPlan, out_dir: Path) -> dict[str, Path]:
    """Writes `scripts/*.sh` under the delivery root `out_dir` (executable) and returns them by
    role: create, describe, execute, rollback. The scripts resolve every path from their own
    location (`scripts/..`), so the delivery can be moved or cloned anywhere."""
    folder = Path(out_dir) / "scripts"
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for role, name in SCRIPTS.items():
        path = folder / name
        path.write_text(render_script(plan, role), encoding="utf-8")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        written[role] = path
    return written
