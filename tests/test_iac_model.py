"""The model under the rules: nested stacks, parameter-file bindings and the value evaluator."""

from __future__ import annotations

from pathlib import Path

from conftest import RULE_FIXTURES, write
from sre_agent.project import load_project
from sre_agent.resolve import UNKNOWN, CfnEvaluator, cfn_contexts, stack_model

NESTED = RULE_FIXTURES / "MAZ001" / "cfn-nested-parent-passes-prod"


def _template(project, path: str):
    return next(t for t in project.templates if t.path == path)


def test_a_nested_child_gets_its_parents_values_per_environment_with_their_origin() -> None:
    project = load_project([NESTED])
    child = _template(project, "templates/database/rds-postgresql.yaml")
    [link] = stack_model(project).parents(child)
    assert link.parent.path == "stacks/02-database/stack.yaml"
    by_env = {c.name: c for c in cfn_contexts(child, project)}
    assert set(by_env) == {"prod", "dev"}
    prod = by_env["prod"]
    assert prod.source == "stacks/02-database/stack.yaml:31 ← parameters/prod.json"
    assert prod.values["IsMultiAZ"] == "true" and by_env["dev"].values["IsMultiAZ"] == "false"
    assert prod.values["BackupRetentionDays"] == "14"
    assert prod.values["DBName"] == "kintai_prod"          # !Sub of a parent parameter
    assert prod.values["DBInstanceClass"] == "db.r6g.large"  # the parent's parameter file
    # CloudFormation gives a nested child no parameter file of its own.
    assert stack_model(project).parameter_files(child) == []


def test_per_stack_parameter_files_bind_to_their_stack_only(tmp_path: Path) -> None:
    header = "Parameters:\n  Environment: {Type: String}\n  DesiredCount: {Type: Number, Default: 2}\n"
    body = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
    write(tmp_path, "cfn/stacks/02-database.yaml", header + body)
    write(tmp_path, "cfn/stacks/03-compute.yaml", header + body)
    write(tmp_path, "cfn/temp-03-compute-params.json",
          '[{"ParameterKey": "Environment", "ParameterValue": "production"},'
          ' {"ParameterKey": "DesiredCount", "ParameterValue": "1"}]')
    write(tmp_path, "cfn/parameters/prod.json",
          '[{"ParameterKey": "Environment", "ParameterValue": "prod"}]')
    write(tmp_path, "other/parameters/prod.json",
          '{"database": [{"ParameterKey": "Environment", "ParameterValue": "prod"}]}')
    project = load_project([tmp_path])
    sources = {t.path: [c.source for c in cfn_contexts(t, project)] for t in project.templates}
    assert sources["cfn/stacks/02-database.yaml"] == ["cfn/parameters/prod.json"]
    assert sources["cfn/stacks/03-compute.yaml"] == ["cfn/temp-03-compute-params.json"]


def test_a_flat_file_of_another_layout_does_not_bind_to_a_stack_with_its_own_files(tmp_path: Path) -> None:
    """`parameters/dev/06-compute-stack-params.json` makes compute a per-stack stack: the flat
    `parameters/production.json` holding the network's keys is not its prod file (CloudFormation
    would refuse its undeclared keys); the network template, which declares them all, keeps it."""
    write(tmp_path, "cfn/stacks/06-compute/main.yaml",
          "Parameters:\n  EnvironmentName: {Type: String}\n  ImageUri: {Type: String, Default: 'nginx:latest'}\n"
          "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
    write(tmp_path, "cfn/stacks/03-network/main.yaml",
          "Parameters:\n  EnvironmentName: {Type: String}\n  VpcCidr: {Type: String}\n"
          "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
    write(tmp_path, "cfn/parameters/dev/06-compute-stack-params.json",
          '[{"ParameterKey": "EnvironmentName", "ParameterValue": "dev"},'
          ' {"ParameterKey": "ImageUri", "ParameterValue": "nginx:1.27"}]')
    write(tmp_path, "cfn/parameters/production.json",
          '[{"ParameterKey": "EnvironmentName", "ParameterValue": "production"},'
          ' {"ParameterKey": "VpcCidr", "ParameterValue": "10.1.0.0/16"}]')
    project = load_project([tmp_path])
    sources = {t.path: sorted(str(c.source) for c in cfn_contexts(t, project)) for t in project.templates}
    assert "cfn/parameters/production.json" not in sources["cfn/stacks/06-compute/main.yaml"]
    assert sources["cfn/stacks/03-network/main.yaml"] == ["cfn/parameters/production.json"]


def test_per_stack_parameter_files_named_after_the_template_folder(tmp_path: Path) -> None:
    """`parameters/prd/database.json` deploys `templates/database/rds.yaml` (the layout
    `sre-agent task` delivers), not every template that shares a key with it."""
    header = "Parameters:\n  Environment: {Type: String}\n  DesiredCount: {Type: Number, Default: 2}\n"
    body = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
    write(tmp_path, "infra/templates/database/rds.yaml", header + body)
    write(tmp_path, "infra/templates/compute/ecs.yaml", header + body)
    for env in ("stg", "prd"):
        for stack, count in (("database", "1"), ("compute", "3")):
            write(tmp_path, f"infra/parameters/{env}/{stack}.json",
                  f'[{{"ParameterKey": "Environment", "ParameterValue": "{env}"}},'
                  f' {{"ParameterKey": "DesiredCount", "ParameterValue": "{count}"}}]')
    project = load_project([tmp_path])
    sources = {t.path: sorted(c.source for c in cfn_contexts(t, project)) for t in project.templates}
    assert sources["infra/templates/database/rds.yaml"] == [
        "infra/parameters/prd/database.json", "infra/parameters/stg/database.json"]
    assert sources["infra/templates/compute/ecs.yaml"] == [
        "infra/parameters/prd/compute.json", "infra/parameters/stg/compute.json"]


def test_sections_of_a_multi_stack_parameter_file_go_to_their_stacks(tmp_path: Path) -> None:
    header = "Parameters:\n  Environment: {Type: String}\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
    write(tmp_path, "service/stacks/database/main.yaml", header)
    write(tmp_path, "service/stacks/network/main.yaml", header)
    write(tmp_path, "service/parameters/prd.json",
          '{"network": [{"ParameterKey": "Environment", "ParameterValue": "prd"}],'
          ' "database": [{"ParameterKey": "Environment", "ParameterValue": "prd"}],'
          ' "compute": [{"ParameterKey": "Environment", "ParameterValue": "prd"}]}')
    project = load_project([tmp_path])
    database = _template(project, "service/stacks/database/main.yaml")
    assert [c.source for c in cfn_contexts(database, project)] == ["service/parameters/prd.json [database]"]


def test_the_evaluator_follows_intrinsics_and_leaves_deploy_time_values_unknown(tmp_path: Path) -> None:
    write(tmp_path, "app.yaml", """\
Parameters:
  Env: {Type: String, Default: prod}
  AmiId: {Type: 'AWS::SSM::Parameter::Value<String>', Default: /kintai/prod/ami}
Mappings:
  Sizes: {prod: {Count: '3'}}
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Join ['-', [kintai, !Ref Env, !Select [1, !Split [',', 'a,alerts']]]]
      DisplayName: !FindInMap [Sizes, !Ref Env, Count]
      KmsMasterKeyId: !Ref AmiId
      Tags:
        - {Key: Secret, Value: '{{resolve:ssm:/kintai/tag}}'}
        - {Key: Import, Value: !ImportValue kintai-network-VpcId}
""")
    project = load_project([tmp_path])
    template = project.templates[0]
    [env] = cfn_contexts(template, project)
    evaluator = CfnEvaluator(template, env)
    props = template.resources["Topic"].properties
    assert evaluator.value(props["TopicName"]) == "kintai-prod-alerts"
    assert evaluator.value(props["DisplayName"]) == "3"
    assert evaluator.value(props["KmsMasterKeyId"]) is UNKNOWN  # the SSM name is not the value
    assert evaluator.value(props["Tags"][0]["Value"]) is UNKNOWN
    assert evaluator.value(props["Tags"][1]["Value"]) is UNKNOWN


def test_unwritten_cross_stack_reads_warn_in_the_projects_namespace_only() -> None:
    from sre_agent.rules.base import RuleContext, rule_by_id

    project = load_project([RULE_FIXTURES / "IAC007" / "typo-in-import"])
    found = {f.line: f.severity.value for f in rule_by_id("IAC007")().check(RuleContext(project))}
    assert found == {15: "warning", 21: "warning", 8: "info"}  # /shared/... may live elsewhere


def test_a_rollback_that_deletes_a_stack_is_judged_by_what_its_template_holds(tmp_path: Path) -> None:
    """No data and no traffic: deleting the add-on undoes it. Traffic but no data: an outage
    (warning). Data: lost (error)."""
    import shutil

    from sre_agent.rules.base import RuleContext, rule_by_id

    rule = rule_by_id("DEP010")()
    addon = RULE_FIXTURES / "DEP010" / "stateless-addon-stack"
    assert list(rule.check(RuleContext(load_project([addon])))) == []
    shutil.copytree(addon, tmp_path / "p")
    template = tmp_path / "p" / "stacks" / "05-alarm-notifier.yaml"
    serving = template.read_text(encoding="utf-8") + (
        "  NotifierService:\n    Type: AWS::ECS::Service\n    Properties:\n      DesiredCount: 2\n")
    template.write_text(serving, encoding="utf-8")
    [outage] = rule.check(RuleContext(load_project([tmp_path / "p"])))
    assert outage.severity.value == "warning" and "サービスが停止" in outage.message
    template.write_text(serving + "  Archive:\n    Type: AWS::S3::Bucket\n", encoding="utf-8")
    [loss] = rule.check(RuleContext(load_project([tmp_path / "p"])))
    assert loss.severity.value == "error" and "`Archive`" in loss.message


def test_a_single_az_decision_in_the_requirements_makes_single_az_an_accepted_risk(tmp_path: Path) -> None:
    import shutil

    from sre_agent import ReviewConfig, review

    poc = RULE_FIXTURES / "MAZ001" / "poc-single-az-accepted"
    result = review([poc], ReviewConfig(workers=False, analyzers=("sre", "checkov")))
    [maz] = [f for f in result.findings if f.id == "SRE-MAZ-001"]
    assert maz.severity.value == "info" and "docs/02_要件定義書.md:12" in maz.message
    assert "SRE-MAZ-001" not in {p.rule_id for p in result.passed}   # accepted is not ✅
    # The same code under a requirement to survive the loss of one AZ is a defect.
    shutil.copytree(poc, tmp_path / "poc")
    requirements = tmp_path / "poc" / "docs" / "02_要件定義書.md"
    requirements.write_text(requirements.read_text(encoding="utf-8").replace(
        "| 冗長化 | なし | PoC のため単一AZ（ADR-003、コスト優先） |",
        "| 冗長化 | 単一 AZ 障害でサービスを継続できること | |"), encoding="utf-8")
    strict = review([tmp_path / "poc"], ReviewConfig(workers=False, analyzers=("sre",)))
    assert [f.severity.value for f in strict.findings if f.id == "SRE-MAZ-001"] == ["error"]


def test_a_template_nothing_deploys_is_judged_as_a_draft() -> None:
    from sre_agent import ReviewConfig, review

    result = review([RULE_FIXTURES.parent / "iac" / "old-layout-beside-stacks"], ReviewConfig(workers=False, analyzers=("sre",)))
    by_file = {(f.id, f.file): f for f in result.findings}
    old = by_file[("SRE-MAZ-001", "infra/templates/rds.yaml")]
    assert old.severity.value == "info" and "使われていない" in old.message
    assert ("SRE-MAZ-001", "infra/stacks/02-database.yaml") not in by_file  # prd passes true


def test_a_prod_finding_on_a_nested_child_names_the_parent_and_the_parameter_file() -> None:
    from sre_agent import ReviewConfig, render, review

    result = review([RULE_FIXTURES / "MAZ001" / "cfn-nested-parent-passes-single-az"],
                    ReviewConfig(workers=False, analyzers=("sre",)))
    markdown = render(result, "md")
    assert ("templates/database/rds-postgresql.yaml:37 `Database` の MultiAZ が prod 環境"
            "（stacks/02-database/stack.yaml:31 ← parameters/prod.json の値）で false") in markdown


def test_a_setting_the_design_sets_on_purpose_with_a_reason_is_a_documented_choice(tmp_path: Path) -> None:
    import shutil

    from sre_agent import ReviewConfig, review

    poc = RULE_FIXTURES / "BAK003" / "poc-documented-off"
    result = review([poc], ReviewConfig(workers=False, analyzers=("sre", "checkov")))
    [bak] = [f for f in result.findings if f.id == "SRE-BAK-003"]
    assert bak.severity.value == "info" and "03_database_stack.md:9" in bak.message
    assert "SRE-BAK-003" not in {p.rule_id for p in result.passed}
    # Without the reason, the row only mirrors the code: still a warning.
    shutil.copytree(poc, tmp_path / "poc")
    sheet = tmp_path / "poc" / "docs" / "03_database_stack.md"
    sheet.write_text(sheet.read_text(encoding="utf-8").replace(
        "PoC 終了時に削除するため無効（削除容易）", "削除保護"), encoding="utf-8")
    strict = review([tmp_path / "poc"], ReviewConfig(workers=False, analyzers=("sre",)))
    assert [f.severity.value for f in strict.findings if f.id == "SRE-BAK-003"] == ["warning"]


def test_a_custom_name_that_blocks_replacement_makes_a_missing_update_replace_policy_info() -> None:
    from sre_agent import ReviewConfig, review

    result = review([RULE_FIXTURES / "BAK001" / "custom-name-blocks-replacement"],
                    ReviewConfig(workers=False, analyzers=("sre", "cfn-lint")))
    [bak] = [f for f in result.findings if f.id == "SRE-BAK-001"]
    assert bak.severity.value == "info" and "DBInstanceIdentifier" in bak.message
    assert "SRE-BAK-001" not in {p.rule_id for p in result.passed}


def test_a_fixed_task_count_the_design_decides_is_an_accepted_risk() -> None:
    from sre_agent import ReviewConfig, review

    result = review([RULE_FIXTURES / "MAZ006" / "poc-fixed-capacity-documented"],
                    ReviewConfig(workers=False, analyzers=("sre",)))
    [maz] = [f for f in result.findings if f.id == "SRE-MAZ-006"]
    assert maz.severity.value == "info" and "06_コンピュート設計.md:6" in maz.message


def test_a_deploy_command_names_the_template_nearest_to_it(tmp_path: Path) -> None:
    from sre_agent.iac.deployments import deployments

    body = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
    write(tmp_path, "shared/stacks/1-foundation/stack.yaml", body)
    write(tmp_path, "shared/stacks/3-vpn/stack.yaml", body)
    write(tmp_path, "shared/stacks/3-vpn/README.md", "# VPN\n\n## デプロイ手順\n\n```bash\n"
          "aws cloudformation create-change-set --stack-name vpn --change-set-name c1 "
          "--template-body file://stack.yaml --change-set-type CREATE\n```\n")
    [deployment] = deployments(load_project([tmp_path]))
    assert [t.path for t in deployment.templates] == ["shared/stacks/3-vpn/stack.yaml"]
