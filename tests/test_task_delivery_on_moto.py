"""What `sre-agent task` delivers, deployed with its own scripts: the generated templates,
parameter files and change-set scripts of the inventory task, run with the real AWS CLI against
moto's server mode on 127.0.0.1.

moto 5.2 keeps a stack's Outputs empty when the stack was created through a change set, so a
stack that imports another's exports cannot be created there: the stacks without imports
(registry, network) are deployed; the importing stacks are covered by cfn-lint, the review and
the recorded-answer tests of tests/test_changeset_scripts.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sre_agent.review import ReviewConfig
from sre_agent.task import handle_task
from tests.conftest import ROOT
from tests.moto_cfn import aws, moto_environment, moto_server, run_script

TASK = ROOT / "fixtures" / "tasks" / "inventory-cfn" / "TASK.md"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("task-on-moto")
    delivery = folder / "delivery"
    handle_task(TASK, delivery, root=ROOT, config=ReviewConfig(llm="off", cache=False))
    home = folder / "home"
    home.mkdir()
    with moto_server(folder / "moto.log") as endpoint:
        yield delivery, moto_environment(endpoint, home)


@pytest.mark.parametrize("stack", ["registry", "network"])
def test_the_delivered_scripts_create_the_delivered_stacks(deployed, stack: str) -> None:
    delivery, env = deployed
    created = run_script(delivery, "create-changeset.sh", "stg", stack, env=env)
    assert created.returncode == 0, created.stderr
    [change_set] = created.stdout.splitlines()          # stdout is the change set's name only
    described = run_script(delivery, "describe-changeset.sh", "stg", stack, change_set, env=env)
    assert described.returncode == 0, described.stderr
    refused = run_script(delivery, "execute-changeset.sh", "stg", stack, change_set, "--yes", env=env)
    assert refused.returncode != 0                       # --yes without an approval signal
    executed = run_script(delivery, "execute-changeset.sh", "stg", stack, change_set, "--yes",
                          env={**env, "APPROVED_BY": "github-environment-stg"})
    assert executed.returncode == 0, executed.stderr
    status = aws(env, "cloudformation", "describe-stacks", "--stack-name", f"inventory-stg-{stack}",
                 "--query", "Stacks[0].StackStatus", "--output", "text")
    assert status == "CREATE_COMPLETE"

    again = run_script(delivery, "create-changeset.sh", "stg", stack, env=env)
    assert (again.returncode, again.stdout) == (0, "")   # nothing to change: no name, success
    assert "変更なし" in again.stderr


def test_the_network_stack_built_what_the_template_says(deployed) -> None:
    delivery, env = deployed
    subnets = aws(env, "ec2", "describe-subnets", "--filters",
                  "Name=tag:Environment,Values=stg", "--query", "Subnets[].AvailabilityZone",
                  "--output", "text").split()
    # Two AZs for each of the public, application and data tiers of the design.
    assert len(subnets) == 6 and len(set(subnets)) == 2
