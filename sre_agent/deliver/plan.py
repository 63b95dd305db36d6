"""What the delivery is made of, shared by the templates, scripts, runbook and report writers.

Paths are relative to the delivery root (the task's `--out` folder), POSIX style, because the
scripts, the runbook and `deliverables.json` all name them from there.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

PROJECT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9]{1,9}$")


def _project_name(value: str) -> str:
    if not PROJECT_NAME.match(value):
        raise ValueError(f"project name must match {PROJECT_NAME.pattern}: {value!r}")
    return value


# The `ProjectName` every stack name, export and resource name is built from.
ProjectName = Annotated[str, AfterValidator(_project_name)]


class StackPlan(BaseModel):
    """One CloudFormation stack: deployed as `<project>-<env>-<name>` from `template`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="short stack name used on the command line: network, database, …")
    template: str = Field(description="template path from the delivery root")
    parameters: dict[str, str] = Field(
        description="environment -> parameter file path (exactly the template's parameters)")
    stateful: bool = Field(default=False, description="holds data: RDS, ElastiCache, S3 with data")
    named_iam: bool = Field(default=False,
                            description="creates named IAM resources: needs CAPABILITY_NAMED_IAM")
    iam: bool = Field(default=False,
                      description="creates IAM resources (roles without names): needs CAPABILITY_IAM")
    purpose: str = Field(default="", description="one Japanese line for the runbook and report")


class DeliveryPlan(BaseModel):
    """The stacks in deploy order; removal goes in the reverse order."""

    model_config = ConfigDict(extra="forbid")

    project: ProjectName = Field(description="ProjectName: lower case, digits and hyphens")
    environments: list[str] = Field(description="environment names, e.g. ['stg', 'prd']")
    region: str = "ap-northeast-1"
    stacks: list[StackPlan]

    @field_validator("environments")
    @classmethod
    def _environments(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not ENVIRONMENT_NAME.match(name)]
        if bad or not value:
            raise ValueError(f"environment names must match {ENVIRONMENT_NAME.pattern}: {bad}")
        return value

    def stack(self, name: str) -> StackPlan:
        return next(stack for stack in self.stacks if stack.name == name)

    def stack_name(self, environment: str, stack: str) -> str:
        return f"{self.project}-{environment}-{stack}"
