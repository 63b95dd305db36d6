"""The delivered change-set scripts: rendered from a plan, clean under shellcheck and our DEP
rules, run with the real AWS CLI against moto (deploy, update, no change, rollback by change set)
and against recorded AWS answers for what moto cannot do (failed and in-progress stack states,
replacement details, CloudFormation's own no-change answer).
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
from pathlib import Path

import pytest

from sre_agent.deliver.plan import DeliveryPlan
from sre_agent.deliver.scripts import SCRIPTS, PlanNotScriptable, write_scripts
from sre_agent.models import Severity
from sre_agent.review import ReviewConfig, review
from tests.moto_cfn import (
    VENV_BIN, Recording, aws, moto_environment, moto_server, recording, run_script,
)

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "deliver" / "orders-baseline"
CHANGE_SET = "orders-prd-network-20261202-011244"
MUTATING = {"CreateChangeSet", "ExecuteChangeSet", "DeleteChangeSet", "CancelUpdateStack",
            "ContinueUpdateRollback", "RollbackStack", "CreateStack", "UpdateStack", "DeleteStack"}


def _plan(root: Path) -> DeliveryPlan:
    return DeliveryPlan.model_validate(json.loads((root / "plan.json").read_text(encoding="utf-8")))


def _delivery(target: Path) -> Path:
    shutil.copytree(FIXTURE, target)
    write_scripts(_plan(target), target)
    return target


@pytest.fixture
def delivery(tmp_path: Path) -> Path:
    return _delivery(tmp_path / "delivery")


def _release(delivery: Path, env: str, stack: str, stamp: str, template_text: str,
             parameters_text: str) -> Path:
    """A release record as execute-changeset.sh writes it."""
    folder = delivery / ".releases" / env / stack / stamp
    folder.mkdir(parents=True)
    (folder / "template.yaml").write_text(template_text, encoding="utf-8")
    (folder / "parameters.json").write_text(parameters_text, encoding="utf-8")
    (folder / "release.txt").write_text(f"deployed_at={stamp}\napproved_by=release-bot\n")
    return folder


def _pending(delivery: Path, env: str, stack: str, change_set: str) -> Path:
    """The record create-changeset.sh leaves for execute-changeset.sh."""
    plan = _plan(delivery).stack(stack)
    folder = delivery / ".releases" / env / stack / "pending" / change_set
    folder.mkdir(parents=True)
    shutil.copy(delivery / plan.template, folder / "template.yaml")
    shutil.copy(delivery / plan.parameters[env], folder / "parameters.json")
    (folder / "release.txt").write_text(f"change_set={change_set}\n")
    return folder


# --- rendering and our own review ----------------------------------------------------------------

def test_write_scripts_writes_four_executable_scripts_that_carry_the_plan(delivery: Path) -> None:
    written = {role: delivery / "scripts" / name for role, name in SCRIPTS.items()}
    for path in written.values():
        assert os.access(path, os.X_OK)
        assert path.read_text().startswith("#!/usr/bin/env bash\n# ")
    create = written["create"].read_text()
    assert "TEMPLATE=templates/database.yaml" in create
    assert "prd) PARAMETERS=parameters/prd/database.json ;;" in create
    assert "stg | prd) ;;" in create


def test_rendered_scripts_pass_shellcheck_and_our_dep_rules(delivery: Path) -> None:
    done = subprocess.run([str(VENV_BIN / "shellcheck"), *sorted(str(p) for p in (delivery / "scripts").glob("*.sh"))],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout
    result = review([delivery], ReviewConfig(llm="off", analyzers=("sre",), workers=False))
    blocking = [f"{f.id} {f.location()} {f.message}" for f in result.active_findings()
                if f.id.startswith("SRE-DEP") and f.severity in (Severity.WARNING, Severity.ERROR)]
    assert blocking == []
    passed = {p.rule_id for p in result.passed}
    assert {"SRE-DEP-003", "SRE-DEP-004", "SRE-DEP-006", "SRE-DEP-007", "SRE-DEP-008",
            "SRE-DEP-009", "SRE-DEP-010", "SRE-DEP-016"} <= passed


@pytest.mark.parametrize("change", [
    {"template": "../outside.yaml"},
    {"name": "Network; rm -rf /"},
    {"parameters": {"dev": "parameters/dev/network.json"}},
])
def test_a_plan_the_scripts_cannot_carry_safely_is_refused(tmp_path: Path, change: dict) -> None:
    data = json.loads((FIXTURE / "plan.json").read_text(encoding="utf-8"))
    data["stacks"][0].update(change)
    with pytest.raises(PlanNotScriptable):
        write_scripts(DeliveryPlan.model_validate(data), tmp_path)


# --- guarded arguments and the approval gate (no AWS call may happen) ---------------------------

@pytest.mark.parametrize("script, arguments, code, says", [
    pytest.param("create-changeset.sh", ["prod", "network"], 2, "環境 'prod' は計画にありません",
                 id="environment-not-in-plan"),
    pytest.param("create-changeset.sh", ["prd", "cache"], 2, "スタック 'cache' は計画にありません",
                 id="stack-not-in-plan"),
    pytest.param("describe-changeset.sh", ["prd", "network"], 2,
                 "使い方: scripts/describe-changeset.sh", id="change-set-missing"),
    pytest.param("execute-changeset.sh", ["prd", "network", CHANGE_SET, "-y"], 2, "使い方",
                 id="unknown-flag"),
    pytest.param("execute-changeset.sh", ["prd", "network", CHANGE_SET, "--yes"], 1, "APPROVED_BY",
                 id="execute-yes-without-approver"),
    pytest.param("execute-changeset.sh", ["prd", "network", CHANGE_SET], 1, "対話端末ではありません",
                 id="execute-no-terminal"),
    pytest.param("rollback.sh", ["prd", "network", "--yes"], 1, "APPROVED_BY",
                 id="rollback-yes-without-approver"),
    pytest.param("rollback.sh", ["prd", "network"], 1, "対話端末ではありません",
                 id="rollback-no-terminal"),
])
def test_bad_arguments_and_missing_approval_stop_before_any_aws_call(
        delivery: Path, tmp_path: Path, script: str, arguments: list[str], code: int, says: str) -> None:
    fake = Recording(tmp_path / "empty.json", tmp_path / "state")
    fake.recording.write_text("{}")
    fake.state.mkdir()
    done = run_script(delivery, script, *arguments, env=fake.environment(tmp_path))
    assert (done.returncode, done.stdout) == (code, "")
    assert says in done.stderr
    assert fake.calls() == []


# --- against moto ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("moto")
    with moto_server(folder / "moto.log") as endpoint:
        yield endpoint, _delivery(folder / "delivery"), folder


def _deploy(delivery: Path, env: dict[str, str], stack: str) -> str:
    """create → execute --yes (which shows the change set before its gate); returns its name."""
    created = run_script(delivery, "create-changeset.sh", "stg", stack, env=env)
    assert created.returncode == 0, created.stderr
    change_set = created.stdout.splitlines()[-1]
    assert change_set.startswith(f"orders-stg-{stack}-")
    executed = run_script(delivery, "execute-changeset.sh", "stg", stack, change_set, "--yes",
                          env={**env, "APPROVED_BY": "github-environment-stg"})
    assert executed.returncode == 0, executed.stderr
    assert "承認済み（APPROVED_BY=github-environment-stg）" in executed.stderr
    return change_set


def test_first_deploy_then_a_run_without_changes_against_moto(moto) -> None:
    endpoint, delivery, home = moto
    env = moto_environment(endpoint, home)
    created = run_script(delivery, "create-changeset.sh", "stg", "network", env=env)
    assert created.returncode == 0, created.stderr
    assert "NONE → CREATE" in created.stderr
    change_set = created.stdout.strip()
    assert len(created.stdout.splitlines()) == 1  # only the name reaches stdout
    described = run_script(delivery, "describe-changeset.sh", "stg", "network", change_set, env=env)
    assert described.returncode == 0, described.stderr
    assert "CREATE_COMPLETE / 実行: AVAILABLE" in described.stdout
    assert [line.split()[0] for line in described.stdout.splitlines() if "AWS::EC2::" in line] == \
        ["Add", "Add", "Add"]
    executed = run_script(delivery, "execute-changeset.sh", "stg", "network", change_set, "--yes",
                          env={**env, "APPROVED_BY": "github-environment-stg"})
    assert executed.returncode == 0, executed.stderr
    status = aws(env, "cloudformation", "describe-stacks", "--stack-name", "orders-stg-network",
                 "--query", "Stacks[0].StackStatus", "--output", "text")
    assert status == "CREATE_COMPLETE"
    releases = delivery / ".releases" / "stg" / "network"
    [release] = [p for p in releases.iterdir() if p.name != "pending"]
    assert (release / "template.yaml").read_text() == (delivery / "templates/network.yaml").read_text()
    assert f"change_set={change_set}" in (release / "release.txt").read_text()
    assert "approved_by=github-environment-stg" in (release / "release.txt").read_text()

    again = run_script(delivery, "create-changeset.sh", "stg", "network", env=env)
    assert (again.returncode, again.stdout) == (0, "")
    assert "変更なし" in again.stderr
    assert list((releases / "pending").iterdir()) == []


def test_update_with_a_real_change_and_rollback_through_a_change_set_against_moto(moto) -> None:
    endpoint, delivery, home = moto
    env = moto_environment(endpoint, home)
    _deploy(delivery, env, "monitoring")
    template = delivery / "templates" / "monitoring.yaml"
    first = template.read_text()
    template.write_text(first.replace("EvaluationPeriods: 1", "EvaluationPeriods: 3"))
    update = _deploy(delivery, env, "monitoring")
    deployed = aws(env, "cloudformation", "get-template", "--stack-name", "orders-stg-monitoring",
                   "--query", "TemplateBody", "--output", "text")
    assert "EvaluationPeriods: 3" in deployed
    assert update.startswith("orders-stg-monitoring-")

    rolled = run_script(delivery, "rollback.sh", "stg", "monitoring", "--yes",
                        env={**env, "APPROVED_BY": "github-environment-stg"})
    assert rolled.returncode == 0, rolled.stderr
    assert "Modify" in rolled.stdout  # the rollback change set was shown before it ran
    deployed = aws(env, "cloudformation", "get-template", "--stack-name", "orders-stg-monitoring",
                   "--query", "TemplateBody", "--output", "text")
    assert "EvaluationPeriods: 1" in deployed
    releases = sorted(p for p in (delivery / ".releases/stg/monitoring").iterdir() if p.name != "pending")
    assert [(p / "ROLLED_BACK").exists() for p in releases] == [False, True]


# --- against recorded AWS answers --------------------------------------------------------------

WAITED = ["DescribeStacks", "DescribeStacks", "DescribeStacks"]  # in progress, settled, final check


@pytest.mark.parametrize("name, expected, code, says", [
    pytest.param("rollback-update-in-progress",
                 ["GetCallerIdentity", "DescribeStacks", "CancelUpdateStack", *WAITED], 0,
                 "UPDATE_ROLLBACK_COMPLETE です。前回の安定した状態に戻りました",
                 id="update-in-progress-cancel"),
    pytest.param("rollback-update-rollback-failed",
                 ["GetCallerIdentity", "DescribeStacks", "ContinueUpdateRollback", *WAITED], 0,
                 "UPDATE_ROLLBACK_COMPLETE です", id="update-rollback-failed-continue"),
    pytest.param("rollback-update-failed",
                 ["GetCallerIdentity", "DescribeStacks", "RollbackStack", *WAITED], 0,
                 "UPDATE_ROLLBACK_COMPLETE です", id="update-failed-rollback-stack"),
    pytest.param("rollback-create-failed",
                 ["GetCallerIdentity", "DescribeStacks", "RollbackStack", *WAITED, "DescribeStacks"],
                 0, "ROLLBACK_COMPLETE です", id="create-failed-rollback-stack-polled"),
    pytest.param("rollback-rollback-failed",
                 ["GetCallerIdentity", "DescribeStacks", "DescribeStacks", "DescribeStackEvents"], 1,
                 "has dependencies and cannot be deleted", id="rollback-failed-refused"),
])
def test_rollback_handles_each_failed_or_busy_state_from_recordings(
        delivery: Path, tmp_path: Path, name: str, expected: list[str], code: int, says: str) -> None:
    fake = recording(name, tmp_path / "state")
    done = run_script(delivery, "rollback.sh", "prd", "network", "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "oncall-lead"})
    assert done.returncode == code, done.stderr
    assert says in done.stderr
    assert fake.operations() == expected
    assert all(call["params"].get("StackName") == "orders-prd-network"
               for call in fake.calls() if call["operation"] in MUTATING)


def test_rollback_of_a_successful_bad_release_reapplies_the_previous_one(
        delivery: Path, tmp_path: Path) -> None:
    good_template = (delivery / "templates/network.yaml").read_text()
    good_parameters = (delivery / "parameters/prd/network.json").read_text()
    _release(delivery, "prd", "network", "20261125T010203Z", good_template, good_parameters)
    bad = _release(delivery, "prd", "network", "20261201T233958Z",
                   good_template.replace("MapPublicIpOnLaunch: false", "MapPublicIpOnLaunch: true"),
                   good_parameters)
    fake = recording("rollback-previous-release", tmp_path / "state")
    done = run_script(delivery, "rollback.sh", "prd", "network", "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "oncall-lead"})
    assert done.returncode == 0, done.stderr
    assert fake.operations() == [
        "GetCallerIdentity", "DescribeStacks", "ValidateTemplate", "CreateChangeSet",
        "DescribeChangeSet", "DescribeChangeSet", "ExecuteChangeSet", "DescribeStacks",
        "DescribeStacks"]
    create = next(c["params"] for c in fake.calls() if c["operation"] == "CreateChangeSet")
    assert create["ChangeSetType"] == "UPDATE"
    assert create["TemplateBody"] == good_template
    assert create["Parameters"] == json.loads(good_parameters)
    assert create["ChangeSetName"].startswith("orders-prd-network-rollback-")
    assert "rolled_back_to=20261125T010203Z" in (bad / "ROLLED_BACK").read_text()


def test_rollback_refuses_when_no_earlier_release_is_recorded(delivery: Path, tmp_path: Path) -> None:
    _release(delivery, "prd", "network", "20261125T010203Z",
             (delivery / "templates/network.yaml").read_text(),
             (delivery / "parameters/prd/network.json").read_text())
    fake = recording("rollback-previous-release", tmp_path / "state")
    done = run_script(delivery, "rollback.sh", "prd", "network", "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "oncall-lead"})
    assert done.returncode == 1
    assert "戻し先のリリースがありません（.releases/prd/network に記録 1 件）" in done.stderr
    assert fake.operations() == ["GetCallerIdentity", "DescribeStacks"]


def test_describe_marks_replacements_and_removals_of_stateful_resources(
        delivery: Path, tmp_path: Path) -> None:
    fake = recording("describe-stateful-replacement", tmp_path / "state")
    done = run_script(delivery, "describe-changeset.sh", "prd", "database",
                      "orders-prd-database-20261202-011244", env=fake.environment(tmp_path))
    assert done.returncode == 0, done.stderr
    lines = {line.split()[3]: line for line in done.stdout.splitlines()
             if line.startswith(("Add", "Modify", "Remove"))}
    assert "❌ データを持つリソースの置換（Replacement=True）" in lines["Database"]
    assert "❌ データを持つリソースの削除" in lines["SlowQueryLogGroup"]
    assert "⚠️ 置換" in lines["DBSubnetGroup"] and "❌" not in lines["DBSubnetGroup"]
    assert "❌" not in lines["DatabaseCpuAlarm"] and "⚠️" not in lines["DatabaseCpuAlarm"]
    assert "データを持つリソースの置換・削除が 2 件あります" in done.stdout
    assert fake.operations() == ["DescribeChangeSet"]


@pytest.mark.parametrize("allow, executed", [
    pytest.param(None, False, id="refused-without-data-loss-approval"),
    pytest.param("orders-prd-network", False, id="refused-for-another-stack"),
    pytest.param("orders-prd-database", True, id="executed-with-data-loss-approval"),
])
def test_execute_of_a_destructive_change_set_needs_a_data_loss_approval_too(
        delivery: Path, tmp_path: Path, allow: str | None, executed: bool) -> None:
    change_set = "orders-prd-database-20261202-011244"
    _pending(delivery, "prd", "database", change_set)
    fake = recording("describe-stateful-replacement", tmp_path / "state")
    env = {**fake.environment(tmp_path), "APPROVED_BY": "release-pipeline"}
    if allow:
        env["ALLOW_DATA_LOSS"] = allow
    done = run_script(delivery, "execute-changeset.sh", "prd", "database", change_set, "--yes",
                      env=env)
    assert done.returncode == (0 if executed else 1), done.stderr
    assert ("ExecuteChangeSet" in fake.operations()) is executed
    if not executed:
        assert "ALLOW_DATA_LOSS=orders-prd-database" in done.stderr
    releases = [p.name for p in (delivery / ".releases/prd/database").iterdir()]
    assert (len(releases) == 2) is executed  # pending/ and, once executed, the new release


def test_create_treats_cloudformations_empty_change_set_as_no_changes(
        delivery: Path, tmp_path: Path) -> None:
    fake = recording("create-no-changes", tmp_path / "state")
    done = run_script(delivery, "create-changeset.sh", "prd", "network", env=fake.environment(tmp_path))
    assert (done.returncode, done.stdout) == (0, "")
    assert "変更なし" in done.stderr
    assert fake.operations() == ["DescribeStacks", "ValidateTemplate", "CreateChangeSet",
                                 "DescribeChangeSet", "DescribeChangeSet", "DeleteChangeSet"]
    assert not (delivery / ".releases").exists()


def test_execute_reports_a_failed_update_and_records_no_release(delivery: Path, tmp_path: Path) -> None:
    change_set = "orders-prd-network-20261202-011244"
    pending = _pending(delivery, "prd", "network", change_set)
    fake = recording("execute-update-fails", tmp_path / "state")
    done = run_script(delivery, "execute-changeset.sh", "prd", "network", change_set, "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "release-pipeline"})
    assert done.returncode == 1
    assert "not authorized to perform: ec2:CreateTags" in done.stderr
    assert "scripts/rollback.sh prd network" in done.stderr
    assert pending.exists()
    assert [p.name for p in pending.parent.parent.iterdir()] == ["pending"]


def _run_on_terminal(delivery: Path, env: dict[str, str], arguments: list[str],
                     typed: str) -> tuple[int, str]:
    """Runs a script with a pseudo-terminal on stdin (so `[[ -t 0 ]]` holds) and types one line;
    the terminal keeps the line until the script's `read` takes it."""
    main, secondary = pty.openpty()
    try:
        process = subprocess.Popen(arguments, cwd=delivery, env=env, stdin=secondary,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.write(main, (typed + "\n").encode())
        _, stderr = process.communicate(timeout=120)
    finally:
        os.close(secondary)
        os.close(main)
    return process.returncode, stderr


@pytest.mark.parametrize("typed, code", [("orders-prd-net", 1), ("orders-prd-network", 0)])
def test_interactive_execute_needs_the_stack_name_typed(
        delivery: Path, tmp_path: Path, typed: str, code: int) -> None:
    change_set = "orders-prd-network-20261202-011244"
    _pending(delivery, "prd", "network", change_set)
    fake = recording("execute-update", tmp_path / "state")
    returncode, stderr = _run_on_terminal(
        delivery, fake.environment(tmp_path),
        ["scripts/execute-changeset.sh", "prd", "network", change_set], typed)
    assert returncode == code, stderr
    assert ("ExecuteChangeSet" in fake.operations()) is (code == 0)
    recorded = [p for p in (delivery / ".releases/prd/network").iterdir() if p.name != "pending"]
    assert len(recorded) == (1 if code == 0 else 0)
