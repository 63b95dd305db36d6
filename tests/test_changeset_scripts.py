"""The delivered change-set scripts: rendered from a plan, clean under shellcheck and our DEP
rules, run with the real AWS CLI against moto (deploy, update, no change, rollback by change set,
an image tag in SSM restored by rollback) and against recorded AWS answers for what moto cannot do
(failed and in-progress stack states, replacement details, CloudFormation's own no-change answer,
`ResolvedValue` of SSM-typed parameters, obsolete change sets).

moto resolves an `AWS::SSM::Parameter::Value<String>` parameter into `ParameterValue` and returns
no `ResolvedValue`, and it compares only the template and the parameter file when it decides that
a change set has no changes (AWS compares the resolved values). So the record execute-changeset.sh
writes from AWS's answer is tested with recordings, and the moto rollback test starts from release
records written in AWS's form.
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
    FAKE_AWS, VENV_BIN, Recording, aws, moto_environment, moto_server, recording, run_script,
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
             parameters_text: str, deployed: list[tuple[str, str, str]] | None = None) -> Path:
    """A release record as execute-changeset.sh writes it; `deployed` is describe-stacks'
    (ParameterKey, ParameterValue, ResolvedValue) rows as AWS returns them ("None" when absent)."""
    folder = delivery / ".releases" / env / stack / stamp
    folder.mkdir(parents=True)
    (folder / "template.yaml").write_text(template_text, encoding="utf-8")
    (folder / "parameters.json").write_text(parameters_text, encoding="utf-8")
    (folder / "release.txt").write_text(f"deployed_at={stamp}\napproved_by=release-bot\n")
    if deployed is not None:
        (folder / "deployed-parameters.tsv").write_text(
            "".join("\t".join(row) + "\n" for row in deployed), encoding="utf-8")
    return folder


def _app_release(delivery: Path, env: str, stamp: str, tag: str, **kwargs: object) -> Path:
    """A release of the app stack deployed with image tag `tag` (read from SSM by CloudFormation)."""
    return _release(delivery, env, "app", stamp, (delivery / "templates/app.yaml").read_text(),
                    (delivery / f"parameters/{env}/app.json").read_text(),
                    [("ProjectName", "orders", "None"), ("Environment", env, "None"),
                     ("ImageTag", f"/orders/{env}/app/image-tag", tag), ("TaskCpu", "512", "None"),
                     ("TaskMemory", "1024", "None")], **kwargs)


def _variant(name: str, folder: Path, **operations: list[dict]) -> Recording:
    """A recording with some operations answered differently (the rest as recorded)."""
    data = json.loads((FAKE_AWS / "recordings" / f"{name}.json").read_text(encoding="utf-8"))
    data.update(operations)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-variant.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (folder / "state").mkdir(exist_ok=True)
    return Recording(path, folder / "state")


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
    pytest.param("rollback.sh", ["prd", "network", "latest", "--yes"], 2, "使い方",
                 id="rollback-target-not-a-release"),
    pytest.param("rollback.sh", ["prd", "network", "20261125T010203Z", "20261126T010203Z"], 2,
                 "使い方", id="rollback-two-targets"),
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


def test_rollback_refuses_a_release_tag_of_another_stack_before_any_aws_call(
        delivery: Path, tmp_path: Path) -> None:
    fake = recording("rollback-previous-release", tmp_path / "state")
    done = run_script(delivery, "rollback.sh", "prd", "network",
                      "release/prd/database/20261125T010203Z", "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "oncall-lead"})
    assert (done.returncode, done.stdout) == (1, "")
    assert "タグ release/prd/database/20261125T010203Z は prd の network のリリースではありません" in done.stderr
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
    assert (release / "deployed-parameters.tsv").read_text().splitlines()[0] == "ProjectName\torders\tNone"
    assert "Git タグ: 作成していません（デリバリーのルートが Git の作業ツリーではありません）" in executed.stderr
    assert "アカウント確認: なし（ORDERS_STG_ACCOUNT_ID が未設定）" in executed.stderr
    tags = aws(env, "cloudformation", "describe-stacks", "--stack-name", "orders-stg-network",
               "--query", "Stacks[0].Tags[?Key=='ManagedBy'].Value", "--output", "text")
    assert tags == "CloudFormation"  # the resources' spelling

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


def test_rollback_restores_the_image_tag_in_ssm_before_its_change_set_against_moto(moto) -> None:
    endpoint, delivery, home = moto
    env = moto_environment(endpoint, home)
    name = "/orders/stg/app/image-tag"
    aws(env, "ssm", "put-parameter", "--name", name, "--value", "2026.11.25-1", "--type", "String")
    _deploy(delivery, env, "app")
    [first] = [p for p in (delivery / ".releases/stg/app").iterdir() if p.name != "pending"]
    recorded = (first / "deployed-parameters.tsv").read_text()
    assert "ImageTag\t2026.11.25-1\tNone" in recorded  # moto's answer: resolved, no ResolvedValue
    # AWS answers with the SSM name and the ResolvedValue; write the record as AWS's answer makes it
    (first / "deployed-parameters.tsv").write_text(
        recorded.replace("ImageTag\t2026.11.25-1\tNone", f"ImageTag\t{name}\t2026.11.25-1"))

    # the bad release: CI wrote a new tag, and the template changed a little (moto calls a
    # change set with only a new SSM value "no changes", AWS does not)
    aws(env, "ssm", "put-parameter", "--name", name, "--value", "2026.12.01-3", "--type", "String",
        "--overwrite")
    template = delivery / "templates" / "app.yaml"
    original = template.read_text()
    template.write_text(original.replace("awslogs-stream-prefix: app", "awslogs-stream-prefix: app-v2"))
    try:
        _deploy(delivery, env, "app")
    finally:
        template.write_text(original)
    # moto puts the value it resolved from SSM in ParameterValue (what the task definition got)
    deployed_tag = ["cloudformation", "describe-stacks", "--stack-name", "orders-stg-app", "--query",
                    "Stacks[0].Parameters[?ParameterKey=='ImageTag'].ParameterValue", "--output", "text"]
    assert aws(env, *deployed_tag) == "2026.12.01-3"

    rolled = run_script(delivery, "rollback.sh", "stg", "app", "--yes",
                        env={**env, "APPROVED_BY": "github-environment-stg"})
    assert rolled.returncode == 0, rolled.stderr
    assert f"ImageTag（{name}）: 2026.12.01-3 → 2026.11.25-1" in rolled.stdout
    assert "SSM を戻しました" in rolled.stderr and "に戻しました" in rolled.stderr
    assert aws(env, "ssm", "get-parameter", "--name", name, "--query", "Parameter.Value",
               "--output", "text") == "2026.11.25-1"
    assert aws(env, *deployed_tag) == "2026.11.25-1"
    releases = sorted(p for p in (delivery / ".releases/stg/app").iterdir() if p.name != "pending")
    assert [(p / "ROLLED_BACK").exists() for p in releases] == [False, True]


# --- against recorded AWS answers --------------------------------------------------------------

WAITED = ["DescribeStacks", "DescribeStacks", "DescribeStacks"]  # in progress, settled, final check
RESYNC = ["DescribeStacks"]  # back in UPDATE_ROLLBACK_COMPLETE: the running SSM-typed values (none)


@pytest.mark.parametrize("name, expected, code, says", [
    pytest.param("rollback-update-in-progress",
                 ["GetCallerIdentity", "DescribeStacks", "CancelUpdateStack", *WAITED, *RESYNC], 0,
                 "UPDATE_ROLLBACK_COMPLETE です。前回の安定した状態に戻りました",
                 id="update-in-progress-cancel"),
    pytest.param("rollback-update-rollback-failed",
                 ["GetCallerIdentity", "DescribeStacks", "ContinueUpdateRollback", *WAITED, *RESYNC], 0,
                 "UPDATE_ROLLBACK_COMPLETE です", id="update-rollback-failed-continue"),
    pytest.param("rollback-update-failed",
                 ["GetCallerIdentity", "DescribeStacks", "RollbackStack", *WAITED, *RESYNC], 0,
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
        "DescribeChangeSet", "DescribeChangeSet", "DescribeChangeSet", "ExecuteChangeSet",
        "DescribeStacks", "DescribeStacks"]
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
    assert "パラメータ（SSM パラメータは ResolvedValue が実際にデプロイする値）" in done.stdout
    assert fake.operations() == ["DescribeChangeSet", "DescribeChangeSet"]  # changes, then parameters


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
    # CloudFormation rolled it back to the current release: rollback.sh would go one further back
    assert "scripts/rollback.sh は実行しないでください" in done.stderr
    assert "scripts/rollback.sh prd network" not in done.stderr
    assert "SSM パラメータは稼働中の値に合わせました（0 件を戻しました）" in done.stderr
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


# --- image releases: the deployed values recorded, the SSM tag restored by rollback ----------

def test_execute_records_the_resolved_image_tag_and_describe_shows_it(
        delivery: Path, tmp_path: Path) -> None:
    change_set = "orders-prd-app-20261202-012920"
    _pending(delivery, "prd", "app", change_set)
    fake = recording("execute-app-release", tmp_path / "state")
    env = fake.environment(tmp_path)
    described = run_script(delivery, "describe-changeset.sh", "prd", "app", change_set, env=env)
    assert described.returncode == 0, described.stderr
    [row] = [line.split() for line in described.stdout.splitlines() if line.startswith("ImageTag ")]
    assert row == ["ImageTag", "/orders/prd/app/image-tag", "2026.12.01-3"]
    assert [line.split() for line in described.stdout.splitlines() if line.startswith("TaskCpu ")] == \
        [["TaskCpu", "512", "-"]]

    executed = run_script(delivery, "execute-changeset.sh", "prd", "app", change_set, "--yes",
                          env={**env, "APPROVED_BY": "release-pipeline"})
    assert executed.returncode == 0, executed.stderr
    assert "ImageTag" in executed.stdout  # the reviewer sees the tag before the gate
    [release] = [p for p in (delivery / ".releases/prd/app").iterdir() if p.name != "pending"]
    assert (release / "deployed-parameters.tsv").read_text().splitlines() == [
        "ProjectName\torders\tNone", "Environment\tprd\tNone",
        "ImageTag\t/orders/prd/app/image-tag\t2026.12.01-3", "TaskCpu\t512\tNone",
        "TaskMemory\t1024\tNone"]
    assert "account=210987654321" in (release / "release.txt").read_text()


def test_rollback_of_an_image_only_release_restores_ssm_then_runs_a_real_change_set(
        delivery: Path, tmp_path: Path) -> None:
    _app_release(delivery, "prd", "20261125T050812Z", "2026.11.25-1")
    bad = _app_release(delivery, "prd", "20261202T013107Z", "2026.12.01-3")
    fake = recording("rollback-app-image", tmp_path / "state")
    done = run_script(delivery, "rollback.sh", "prd", "app", "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "oncall-lead"})
    assert done.returncode == 0, done.stderr
    assert fake.operations() == [
        "GetCallerIdentity", "DescribeStacks", "GetParameter", "PutParameter", "ValidateTemplate",
        "CreateChangeSet", "DescribeChangeSet", "DescribeChangeSet", "DescribeChangeSet",
        "ExecuteChangeSet", "DescribeStacks", "DescribeStacks"]
    put = next(c["params"] for c in fake.calls() if c["operation"] == "PutParameter")
    assert put == {"Name": "/orders/prd/app/image-tag", "Value": "2026.11.25-1", "Type": "String",
                   "Overwrite": True}
    assert "ImageTag（/orders/prd/app/image-tag）: 2026.12.01-3 → 2026.11.25-1" in done.stdout
    assert "AWS::ECS::TaskDefinition" in done.stdout
    assert "変更セット orders-prd-app-rollback-" in done.stderr and "リリース 20261125T050812Z に戻しました" in done.stderr
    assert "rolled_back_to=20261125T050812Z" in (bad / "ROLLED_BACK").read_text()


@pytest.mark.parametrize("recorded, code, says", [
    pytest.param(True, 0, "変更なし: スタック orders-prd-app は既にリリース 20261125T050812Z のとおりです",
                 id="values-recorded-no-change-is-the-truth"),
    pytest.param(False, 1, "SSM パラメータの当時の値が記録にないため", id="values-not-recorded-refused"),
])
def test_rollback_that_changes_nothing_says_so_and_never_claims_it_rolled_back(
        delivery: Path, tmp_path: Path, recorded: bool, code: int, says: str) -> None:
    """SSM already holds the previous tag (restored by hand): the change set has no changes."""
    good = _app_release(delivery, "prd", "20261125T050812Z", "2026.11.25-1")
    bad = _app_release(delivery, "prd", "20261202T013107Z", "2026.12.01-3")
    if not recorded:  # a record written before the deployed values were kept
        (good / "deployed-parameters.tsv").unlink()
    base = json.loads((FAKE_AWS / "recordings/rollback-app-image.json").read_text(encoding="utf-8"))
    parameter = base["GetParameter"][0]["Parameter"]
    fake = _variant(
        "rollback-app-image", tmp_path / "fake",
        GetParameter=[{"Parameter": {**parameter, "Value": "2026.11.25-1", "Version": 7}}],
        CreateChangeSet=[{"Error": {"Type": "Sender", "Code": "ValidationError",
                                    "Message": "No updates are to be performed."},
                          "HTTPStatusCode": 400}])
    done = run_script(delivery, "rollback.sh", "prd", "app", "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "oncall-lead"})
    assert done.returncode == code, done.stderr
    assert says in done.stderr
    assert "戻しました" not in done.stderr
    assert "PutParameter" not in fake.operations() and "ExecuteChangeSet" not in fake.operations()
    assert (bad / "ROLLED_BACK").exists() is recorded
    if recorded:
        assert "change_set=none" in (bad / "ROLLED_BACK").read_text()


def test_rollback_to_a_named_release_tag_marks_every_newer_release(
        delivery: Path, tmp_path: Path) -> None:
    template = (delivery / "templates/network.yaml").read_text()
    parameters = (delivery / "parameters/prd/network.json").read_text()
    _release(delivery, "prd", "network", "20261118T021407Z", template, parameters, [])
    middle = _release(delivery, "prd", "network", "20261125T010203Z",
                      template.replace("MapPublicIpOnLaunch: false", "MapPublicIpOnLaunch: true"),
                      parameters, [])
    last = _release(delivery, "prd", "network", "20261201T233958Z",
                    template.replace("10.30.", "10.31."), parameters, [])
    fake = recording("rollback-previous-release", tmp_path / "state")
    done = run_script(delivery, "rollback.sh", "prd", "network",
                      "release/prd/network/20261118T021407Z", "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "oncall-lead"})
    assert done.returncode == 0, done.stderr
    create = next(c["params"] for c in fake.calls() if c["operation"] == "CreateChangeSet")
    assert create["TemplateBody"] == template
    assert "現在のリリース: 20261201T233958Z → 戻し先: 20261118T021407Z" in done.stderr
    for newer in (middle, last):
        assert "rolled_back_to=20261118T021407Z" in (newer / "ROLLED_BACK").read_text()


def test_rollback_after_the_waiter_gives_up_says_still_running_not_failed(
        delivery: Path, tmp_path: Path) -> None:
    template = (delivery / "templates/network.yaml").read_text()
    parameters = (delivery / "parameters/prd/network.json").read_text()
    _release(delivery, "prd", "network", "20261125T010203Z", template, parameters, [])
    bad = _release(delivery, "prd", "network", "20261201T233958Z",
                   template.replace("MapPublicIpOnLaunch: false", "MapPublicIpOnLaunch: true"),
                   parameters, [])
    stacks = json.loads((FAKE_AWS / "recordings/rollback-previous-release.json").read_text())["DescribeStacks"]
    fake = _variant("rollback-previous-release", tmp_path / "fake", DescribeStacks=stacks[:2])
    done = run_script(delivery, "rollback.sh", "prd", "network", "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "oncall-lead"})
    assert done.returncode == 1
    assert "1 時間たってもまだ処理中です（UPDATE_IN_PROGRESS）。失敗ではありません" in done.stderr
    assert "失敗しました" not in done.stderr
    assert "DescribeStackEvents" not in fake.operations()
    assert not (bad / "ROLLED_BACK").exists()


def test_rollback_of_a_failed_creation_accepts_that_cloudformation_deleted_the_stack(
        delivery: Path, tmp_path: Path) -> None:
    fake = recording("rollback-create-failed-deleted", tmp_path / "state")
    done = run_script(delivery, "rollback.sh", "prd", "network", "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "oncall-lead"})
    assert done.returncode == 0, done.stderr
    assert "CloudFormation がスタック orders-prd-network を削除しました" in done.stderr
    assert fake.operations() == ["GetCallerIdentity", "DescribeStacks", "RollbackStack",
                                 "DescribeStacks", "DescribeStacks", "DescribeStacks"]


# --- execute's own checks: change set state, account, data loss on a terminal, Git -----------

@pytest.mark.parametrize("answer, says", [
    pytest.param({"ExecutionStatus": "OBSOLETE"}, "ExecutionStatus=OBSOLETE", id="obsolete"),
    pytest.param({"ExecutionStatus": "UNAVAILABLE"}, "ExecutionStatus=UNAVAILABLE", id="unavailable"),
    pytest.param({"Error": {"Type": "Sender", "Code": "ChangeSetNotFound",
                            "Message": "ChangeSet [orders-prd-network-20261202-011244] does not exist"},
                  "HTTPStatusCode": 404}, "はもうありません", id="deleted-by-a-sibling-execution"),
])
def test_execute_refuses_a_change_set_that_cannot_run_and_drops_its_record(
        delivery: Path, tmp_path: Path, answer: dict, says: str) -> None:
    pending = _pending(delivery, "prd", "network", CHANGE_SET)
    base = json.loads((FAKE_AWS / "recordings/execute-update.json").read_text(encoding="utf-8"))
    described = answer if "Error" in answer else {**base["DescribeChangeSet"][0], **answer}
    fake = _variant("execute-update", tmp_path / "fake", DescribeChangeSet=[described])
    done = run_script(delivery, "execute-changeset.sh", "prd", "network", CHANGE_SET, "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "release-pipeline"})
    assert done.returncode == 1
    assert says in done.stderr and "create-changeset.sh prd network で作り直してください" in done.stderr
    assert "ExecuteChangeSet" not in fake.operations()
    assert not pending.exists()


@pytest.mark.parametrize("expected, code, says", [
    pytest.param(None, 0, "アカウント確認: なし（ORDERS_PRD_ACCOUNT_ID が未設定）", id="not-stated"),
    pytest.param("210987654321", 0, "アカウント確認: ORDERS_PRD_ACCOUNT_ID と一致（210987654321）",
                 id="matches"),
    pytest.param("123456789012", 1,
                 "アカウント 210987654321 は環境 prd のアカウントではありません（ORDERS_PRD_ACCOUNT_ID=123456789012）",
                 id="stg-credentials-for-prd-refused"),
])
def test_execute_checks_the_account_when_the_environment_states_it(
        delivery: Path, tmp_path: Path, expected: str | None, code: int, says: str) -> None:
    _pending(delivery, "prd", "network", CHANGE_SET)
    fake = recording("execute-update", tmp_path / "state")
    env = {**fake.environment(tmp_path), "APPROVED_BY": "release-pipeline"}
    if expected:
        env["ORDERS_PRD_ACCOUNT_ID"] = expected
    done = run_script(delivery, "execute-changeset.sh", "prd", "network", CHANGE_SET, "--yes", env=env)
    assert done.returncode == code, done.stderr
    assert says in done.stderr
    if code:
        assert fake.operations() == ["GetCallerIdentity"]


@pytest.mark.parametrize("typed, code", [
    pytest.param("orders-prd-database\n", 1, id="empty-second-line-refused"),
    pytest.param("orders-prd-database\nDELETE-DATA orders-prd-network", 1, id="other-stack-refused"),
    pytest.param("orders-prd-database\nDELETE-DATA orders-prd-database", 0, id="second-line-typed"),
])
def test_interactive_execute_of_a_destructive_change_set_needs_a_second_typed_line(
        delivery: Path, tmp_path: Path, typed: str, code: int) -> None:
    change_set = "orders-prd-database-20261202-011244"
    _pending(delivery, "prd", "database", change_set)
    fake = recording("describe-stateful-replacement", tmp_path / "state")
    returncode, stderr = _run_on_terminal(
        delivery, fake.environment(tmp_path),
        ["scripts/execute-changeset.sh", "prd", "database", change_set], typed)
    assert returncode == code, stderr
    assert ("ExecuteChangeSet" in fake.operations()) is (code == 0)
    if code:
        assert "データ消失の確認が一致しないため中止しました" in stderr


def _git(repo: Path, *arguments: str) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(repo.parent), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "Release Bot", "GIT_AUTHOR_EMAIL": "release@orders.example.co.jp",
           "GIT_COMMITTER_NAME": "Release Bot", "GIT_COMMITTER_EMAIL": "release@orders.example.co.jp"}
    return subprocess.run(["git", "-C", str(repo), *arguments], env=env, capture_output=True,
                          text=True, check=True, timeout=30).stdout.strip()


def test_execute_in_a_git_work_tree_tags_the_release_and_says_how_to_share_it(
        delivery: Path, tmp_path: Path) -> None:
    _git(delivery, "init", "-q")
    _git(delivery, "add", ".")
    _git(delivery, "commit", "-q", "-m", "delivery")
    _pending(delivery, "prd", "network", CHANGE_SET)
    sibling = _pending(delivery, "prd", "network", "orders-prd-network-20261202-003000")
    fake = recording("execute-update", tmp_path / "state")
    env = {**fake.environment(tmp_path), "APPROVED_BY": "release-pipeline",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_COMMITTER_NAME": "Release Bot",
           "GIT_COMMITTER_EMAIL": "release@orders.example.co.jp"}
    done = run_script(delivery, "execute-changeset.sh", "prd", "network", CHANGE_SET, "--yes", env=env)
    assert done.returncode == 0, done.stderr
    [release] = [p for p in (delivery / ".releases/prd/network").iterdir() if p.name != "pending"]
    tag = f"release/prd/network/{release.name}"
    assert _git(delivery, "tag", "--list", "release/*") == tag
    assert _git(delivery, "cat-file", "-t", tag) == "tag"  # annotated
    assert f"change_set={CHANGE_SET}" in _git(delivery, "tag", "-n20", "--list", tag)
    assert f"git push origin HEAD refs/tags/{tag}" in done.stderr
    assert "git add .releases/prd/network && git commit" in done.stderr
    assert not sibling.exists()  # CloudFormation deleted the sibling change set on execute


def test_rollback_to_a_whole_release_tag_takes_this_stacks_record_from_the_tagged_commit(
        delivery: Path, tmp_path: Path) -> None:
    """Design 10 §3: prod releases are tagged release/<env>/<YYYYMMDD>-<n>, rollback names the tag."""
    template = (delivery / "templates/network.yaml").read_text()
    parameters = (delivery / "parameters/prd/network.json").read_text()
    _git(delivery, "init", "-q")
    _release(delivery, "prd", "network", "20261125T010203Z", template, parameters, [])
    _git(delivery, "add", ".")
    _git(delivery, "commit", "-q", "-m", "release 2026-11-25")
    _git(delivery, "tag", "-a", "release/prd/20261125-1", "-m", "release network")
    bad = _release(delivery, "prd", "network", "20261201T233958Z",
                   template.replace("MapPublicIpOnLaunch: false", "MapPublicIpOnLaunch: true"),
                   parameters, [])
    _git(delivery, "add", ".")
    _git(delivery, "commit", "-q", "-m", "release 2026-12-01")
    _git(delivery, "tag", "-a", "release/prd/20261201-1", "-m", "release network")
    fake = recording("rollback-previous-release", tmp_path / "state")
    env = {**fake.environment(tmp_path), "APPROVED_BY": "oncall-lead"}

    done = run_script(delivery, "rollback.sh", "prd", "network", "release/prd/20261125-1", "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert "タグ release/prd/20261125-1 の network のリリース: 20261125T010203Z" in done.stderr
    create = next(c["params"] for c in fake.calls() if c["operation"] == "CreateChangeSet")
    assert create["TemplateBody"] == template
    assert "rolled_back_to=20261125T010203Z" in (bad / "ROLLED_BACK").read_text()

    missing = run_script(delivery, "rollback.sh", "prd", "network", "release/prd/20261130-1", "--yes",
                         env=env)
    assert missing.returncode == 1
    assert "Git タグ release/prd/20261130-1 がありません" in missing.stderr


# --- round 2: a failed release CloudFormation rolled back, settling after a recovery call,
# --- in-place database changes, one-off parameter overrides -----------------------------------

FAILED_TAG, RUNNING_TAG = "2026.12.01-3", "2026.11.25-1"


def _app_stack(status: str, tag: str = RUNNING_TAG) -> dict:
    """describe-stacks of orders-prd-app in `status`, running image `tag` (its ResolvedValue)."""
    recorded = json.loads((FAKE_AWS / "recordings/execute-app-release.json").read_text(encoding="utf-8"))
    stack = json.loads(json.dumps(recorded["DescribeStacks"][0]["Stacks"][0]))
    stack["StackStatus"] = status
    for parameter in stack["Parameters"]:
        if parameter["ParameterKey"] == "ImageTag":
            parameter["ResolvedValue"] = tag
    return {"Stacks": [stack]}


def _ssm_answers(value: str) -> dict[str, list[dict]]:
    return {"GetParameter": [{"Parameter": {"Name": "/orders/prd/app/image-tag", "Type": "String",
                                            "Value": value, "Version": 6, "DataType": "text"}}],
            "PutParameter": [{"Version": 7, "Tier": "Standard"}]}


@pytest.mark.parametrize("in_ssm, put", [
    pytest.param(FAILED_TAG, True, id="failed-build-tag-put-back"),
    pytest.param(RUNNING_TAG, False, id="already-the-running-tag"),
])
def test_execute_of_a_release_cloudformation_rolled_back_puts_the_ssm_tag_back_not_n_minus_1(
        delivery: Path, tmp_path: Path, in_ssm: str, put: bool) -> None:
    """Judge 2 row 2: the circuit breaker failed the update, CloudFormation went back to release N;
    SSM still names the failed build, which the next change set would deploy again."""
    change_set = "orders-prd-app-20261202-012920"
    _app_release(delivery, "prd", "20261125T050812Z", RUNNING_TAG)  # the current release
    pending = _pending(delivery, "prd", "app", change_set)
    fake = _variant("execute-app-release", tmp_path / "fake",
                    DescribeStacks=[_app_stack("UPDATE_COMPLETE"),
                                    _app_stack("UPDATE_IN_PROGRESS", FAILED_TAG),
                                    _app_stack("UPDATE_ROLLBACK_IN_PROGRESS", FAILED_TAG),
                                    _app_stack("UPDATE_ROLLBACK_COMPLETE")],
                    **_ssm_answers(in_ssm))
    done = run_script(delivery, "execute-changeset.sh", "prd", "app", change_set, "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "release-pipeline"})
    assert done.returncode == 1
    assert "CloudFormation が現在のリリースの状態に戻しました（UPDATE_ROLLBACK_COMPLETE）" in done.stderr
    assert "scripts/rollback.sh は実行しないでください" in done.stderr
    assert "scripts/rollback.sh prd app" not in done.stderr
    puts = [c["params"] for c in fake.calls() if c["operation"] == "PutParameter"]
    if put:
        assert puts == [{"Name": "/orders/prd/app/image-tag", "Value": RUNNING_TAG, "Type": "String",
                         "Overwrite": True}]
        assert (f"SSM を稼働中の値に戻しました: /orders/prd/app/image-tag（ImageTag）= {RUNNING_TAG}"
                f"（バージョン 7、失敗した更新の値 {FAILED_TAG}）") in done.stderr
        assert "1 件を戻しました" in done.stderr
    else:
        assert puts == []
        assert f"は稼働中の値 {RUNNING_TAG} のままです" in done.stderr
    assert "注意: ImageTag" not in done.stderr  # the running value is the current release's
    assert sorted(p.name for p in pending.parent.parent.iterdir()) == ["20261125T050812Z", "pending"]


def test_execute_that_cannot_put_the_ssm_tag_back_says_how_to_do_it_by_hand(
        delivery: Path, tmp_path: Path) -> None:
    change_set = "orders-prd-app-20261202-012920"
    _app_release(delivery, "prd", "20261120T041500Z", "2026.11.20-2")  # a record older than the stack
    _pending(delivery, "prd", "app", change_set)
    fake = _variant("execute-app-release", tmp_path / "fake",
                    DescribeStacks=[_app_stack("UPDATE_COMPLETE"),
                                    _app_stack("UPDATE_IN_PROGRESS", FAILED_TAG),
                                    _app_stack("UPDATE_ROLLBACK_COMPLETE")],
                    **{**_ssm_answers(FAILED_TAG),
                       "PutParameter": [{"Error": {"Type": "Sender", "Code": "AccessDeniedException",
                                                   "Message": "not authorized to perform: ssm:PutParameter"},
                                         "HTTPStatusCode": 400}]})
    done = run_script(delivery, "execute-changeset.sh", "prd", "app", change_set, "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "release-pipeline"})
    assert done.returncode == 1
    assert (f"注意: ImageTag の稼働中の値 {RUNNING_TAG} は、最新のリリースの記録 20261120T041500Z の値 "
            "2026.11.20-2 と異なります") in done.stderr
    assert ("次の変更セットの前に手で戻してください: aws ssm put-parameter --name /orders/prd/app/image-tag "
            f"--value {RUNNING_TAG} --type String --overwrite") in done.stderr


def test_execute_whose_rollback_stopped_sends_the_operator_to_rollback_sh(
        delivery: Path, tmp_path: Path) -> None:
    change_set = "orders-prd-app-20261202-012920"
    _pending(delivery, "prd", "app", change_set)
    fake = _variant("execute-app-release", tmp_path / "fake",
                    DescribeStacks=[_app_stack("UPDATE_COMPLETE"),
                                    _app_stack("UPDATE_IN_PROGRESS", FAILED_TAG),
                                    _app_stack("UPDATE_ROLLBACK_FAILED", FAILED_TAG)],
                    **_ssm_answers(FAILED_TAG))
    done = run_script(delivery, "execute-changeset.sh", "prd", "app", change_set, "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "release-pipeline"})
    assert done.returncode == 1
    assert "更新に失敗しました（UPDATE_ROLLBACK_FAILED）。scripts/rollback.sh prd app で" in done.stderr
    assert "PutParameter" not in fake.operations()


@pytest.mark.parametrize("failed, call", [
    pytest.param("UPDATE_ROLLBACK_FAILED", "ContinueUpdateRollback", id="continue-update-rollback"),
    pytest.param("UPDATE_FAILED", "RollbackStack", id="rollback-stack"),
])
def test_rollback_recovery_waits_while_the_stack_still_shows_its_failed_state(
        delivery: Path, tmp_path: Path, failed: str, call: str) -> None:
    """Judge 2 row 5: right after the call the stack can still show the failed state, which the
    stack-rollback-complete waiter takes for a failure at its first poll. Once back, the SSM tag
    follows the running release."""
    fake = _variant("rollback-update-rollback-failed", tmp_path / "fake",
                    DescribeStacks=[_app_stack(failed, FAILED_TAG), _app_stack(failed, FAILED_TAG),
                                    _app_stack("UPDATE_ROLLBACK_IN_PROGRESS", FAILED_TAG),
                                    _app_stack("UPDATE_ROLLBACK_COMPLETE")],
                    **{call: [{}]}, **_ssm_answers(FAILED_TAG))
    done = run_script(delivery, "rollback.sh", "prd", "app", "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "oncall-lead"})
    assert done.returncode == 0, done.stderr
    assert "UPDATE_ROLLBACK_COMPLETE です。前回の安定した状態に戻りました" in done.stderr
    assert "1 時間" not in done.stderr
    assert fake.operations()[:3] == ["GetCallerIdentity", "DescribeStacks", call]
    put = next(c["params"] for c in fake.calls() if c["operation"] == "PutParameter")
    assert put["Value"] == RUNNING_TAG


def test_rollback_recovery_that_never_leaves_the_failed_state_says_so_not_one_hour(
        delivery: Path, tmp_path: Path) -> None:
    fake = _variant("rollback-update-rollback-failed", tmp_path / "fake",
                    DescribeStacks=[_app_stack("UPDATE_ROLLBACK_FAILED", FAILED_TAG)],
                    ContinueUpdateRollback=[{}])
    done = run_script(delivery, "rollback.sh", "prd", "app", "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "oncall-lead",
                           "CFN_LEAVE_POLLS": "2"})
    assert done.returncode == 1
    assert "スタック orders-prd-app は UPDATE_ROLLBACK_FAILED です。イベントを確認してください" in done.stderr
    assert "1 時間" not in done.stderr
    assert fake.operations().count("DescribeStacks") == 6  # status, 1 + 2 polls, final, failure


def test_describe_warns_of_a_reboot_or_failover_for_an_in_place_database_change(
        delivery: Path, tmp_path: Path) -> None:
    base = json.loads((FAKE_AWS / "recordings/describe-stateful-replacement.json").read_text(encoding="utf-8"))
    described = dict(base["DescribeChangeSet"][0])

    def modify(logical: str, resource_type: str) -> dict:
        return {"Type": "Resource", "ResourceChange": {
            "Action": "Modify", "LogicalResourceId": logical, "ResourceType": resource_type,
            "Replacement": "False", "Scope": ["Properties"], "Details": []}}
    described["Changes"] = [modify("Database", "AWS::RDS::DBInstance"),
                            modify("DatabaseCpuAlarm", "AWS::CloudWatch::Alarm")]
    fake = _variant("describe-stateful-replacement", tmp_path / "fake",
                    DescribeChangeSet=[described, base["DescribeChangeSet"][-1]])
    done = run_script(delivery, "describe-changeset.sh", "prd", "database",
                      "orders-prd-database-20261202-011244", env=fake.environment(tmp_path))
    assert done.returncode == 0, done.stderr
    lines = {line.split()[3]: line for line in done.stdout.splitlines() if line.startswith("Modify")}
    assert "⚠️ その場で変更（再起動・フェイルオーバーの可能性" in lines["Database"]
    assert "⚠️" not in lines["DatabaseCpuAlarm"]
    assert "データベース・キャッシュのその場の変更が 1 件あります" in done.stdout
    assert "❌" not in done.stdout


@pytest.mark.parametrize("indent", [pytest.param(None, id="one-object-a-line"),
                                    pytest.param(2, id="pretty-printed")])
def test_create_with_parameter_overrides_sends_them_and_records_them(
        delivery: Path, tmp_path: Path, indent: int | None) -> None:
    """The shared contract: the first deploy of compute runs with MaintenanceMode=true while the
    parameter file keeps false; here two declared keys of the app stack's prd file."""
    path = delivery / "parameters/prd/app.json"
    declared = json.loads(path.read_text(encoding="utf-8"))
    if indent:
        path.write_text(json.dumps(declared, indent=indent) + "\n", encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    base = json.loads((FAKE_AWS / "recordings/rollback-app-image.json").read_text(encoding="utf-8"))
    fake = _variant("rollback-app-image", tmp_path / "fake", DescribeStacks=[_app_stack("UPDATE_COMPLETE")],
                    DescribeChangeSet=base["DescribeChangeSet"])
    done = run_script(delivery, "create-changeset.sh", "prd", "app",
                      env={**fake.environment(tmp_path),
                           "PARAMETER_OVERRIDES": "TaskCpu=1024,TaskMemory=2048"})
    assert done.returncode == 0, done.stderr
    create = next(c["params"] for c in fake.calls() if c["operation"] == "CreateChangeSet")
    expected = [{**p, "ParameterValue": {"TaskCpu": "1024", "TaskMemory": "2048"}.get(
        p["ParameterKey"], p["ParameterValue"])} for p in declared]
    assert create["Parameters"] == expected
    assert "TaskCpu=1024,TaskMemory=2048" in create["Description"]
    assert path.read_text(encoding="utf-8") == before  # the file keeps its values
    if indent is None:
        assert "パラメータの上書き（PARAMETER_OVERRIDES、この実行だけ）: TaskCpu: 512 → 1024" in done.stderr
    else:
        assert "パラメータの上書き（PARAMETER_OVERRIDES、この実行だけ）: TaskCpu:" in done.stderr
    [pending] = (delivery / ".releases/prd/app/pending").iterdir()
    assert pending.name == done.stdout.strip()
    assert json.loads((pending / "parameters.json").read_text(encoding="utf-8")) == expected
    assert "parameter_overrides=TaskCpu=1024,TaskMemory=2048" in (pending / "release.txt").read_text()


@pytest.mark.parametrize("overrides, says", [
    pytest.param("MaintenanceMode=true", "キー MaintenanceMode は parameters/prd/app.json にありません",
                 id="key-the-file-does-not-declare"),
    pytest.param("TaskCpu", "PARAMETER_OVERRIDES の書式が誤っています: 'TaskCpu'", id="no-value"),
    pytest.param("TaskCpu=1024;reboot", "書式が誤っています", id="unsafe-value"),
    pytest.param('TaskCpu=1"', "書式が誤っています", id="quote-in-value"),
])
def test_create_refuses_parameter_overrides_it_cannot_apply_before_any_aws_call(
        delivery: Path, tmp_path: Path, overrides: str, says: str) -> None:
    fake = Recording(tmp_path / "empty.json", tmp_path / "state")
    fake.recording.write_text("{}")
    fake.state.mkdir()
    done = run_script(delivery, "create-changeset.sh", "prd", "app",
                      env={**fake.environment(tmp_path), "PARAMETER_OVERRIDES": overrides})
    assert (done.returncode, done.stdout) == (2, "")
    assert says in done.stderr
    assert fake.calls() == []


def test_rollback_to_a_release_run_with_parameter_overrides_says_what_it_brings_back(
        delivery: Path, tmp_path: Path) -> None:
    """The first deploy ran with MaintenanceMode=true: going back to it means no tasks, and the
    operator is told before the gate."""
    template = (delivery / "templates/network.yaml").read_text()
    parameters = (delivery / "parameters/prd/network.json").read_text()
    first = _release(delivery, "prd", "network", "20261125T010203Z", template, parameters, [])
    with (first / "release.txt").open("a", encoding="utf-8") as record:
        record.write("parameter_overrides=MaintenanceMode=true\n")
    _release(delivery, "prd", "network", "20261201T233958Z",
             template.replace("MapPublicIpOnLaunch: false", "MapPublicIpOnLaunch: true"), parameters, [])
    fake = recording("rollback-previous-release", tmp_path / "state")
    done = run_script(delivery, "rollback.sh", "prd", "network", "--yes",
                      env={**fake.environment(tmp_path), "APPROVED_BY": "oncall-lead"})
    assert done.returncode == 0, done.stderr
    assert ("戻し先のリリース 20261125T010203Z は PARAMETER_OVERRIDES（MaintenanceMode=true）で実行された"
            "リリースです") in done.stderr
