"""A prod finding says where its value came from, and never credits a parameter file with a
value it does not set: a parent's Default or the template's own Default is named as such."""

from __future__ import annotations

from pathlib import Path

from conftest import RULE_FIXTURES, write
from sre_agent.project import load_project
from sre_agent.rules.base import RuleContext, all_rules


def _messages(rule_id: str, root: Path) -> list[str]:
    rule = next(r for r in all_rules() if r.id == rule_id)()
    return [f.message for f in rule.check(RuleContext(load_project([root])))]


def test_a_parent_default_the_parameter_file_leaves_out_is_named_at_its_line() -> None:
    (message,) = _messages("SRE-BAK-003", RULE_FIXTURES / "BAK003" / "cfn-default-not-in-parameter-file")
    assert "infra/stacks/05-database/main.yaml:17 の既定値。infra/parameters/prod.json はこの値を設定しない" in message
    assert "prod.json の値" not in message


def _rds_with_multi_az_parameter(root: Path, default: str, prod_values: str) -> None:
    write(root, "infra/rds.yaml", f"""AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Environment: {{Type: String, AllowedValues: [stg, prod]}}
  MultiAZ: {{Type: String, AllowedValues: ['true', 'false'], Default: '{default}'}}
Resources:
  Database:
    Type: AWS::RDS::DBInstance
    DeletionPolicy: Snapshot
    UpdateReplacePolicy: Snapshot
    Properties:
      Engine: postgres
      DBInstanceClass: db.r6g.large
      AllocatedStorage: 100
      ManageMasterUserPassword: true
      MasterUsername: app_admin
      MultiAZ: !Ref MultiAZ
      DeletionProtection: true
      BackupRetentionPeriod: 14
""")
    write(root, "infra/parameters/prod.json",
          '[{"ParameterKey": "Environment", "ParameterValue": "prod"}' + prod_values + "]\n")


def test_the_template_own_default_is_named_when_the_file_does_not_set_it(tmp_path: Path) -> None:
    _rds_with_multi_az_parameter(tmp_path, "false", "")
    (message,) = _messages("SRE-MAZ-001", tmp_path)
    assert "テンプレートの既定値。infra/parameters/prod.json はこの値を設定しない" in message


def test_a_value_the_file_sets_is_credited_to_the_file(tmp_path: Path) -> None:
    _rds_with_multi_az_parameter(tmp_path, "true", ', {"ParameterKey": "MultiAZ", "ParameterValue": "false"}')
    (message,) = _messages("SRE-MAZ-001", tmp_path)
    assert "infra/parameters/prod.json の値" in message


def test_a_literal_in_the_template_is_not_called_a_default(tmp_path: Path) -> None:
    """`DeletionProtection: false` written into the template is the same in every environment:
    no parameter file or parent can change it, so the finding must not call it a default."""
    write(tmp_path, "infra/rds.yaml", """AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Environment: {Type: String, AllowedValues: [dev, prod]}
Resources:
  Database:
    Type: AWS::RDS::DBInstance
    DeletionPolicy: Snapshot
    UpdateReplacePolicy: Snapshot
    Properties:
      Engine: postgres
      DBInstanceClass: db.t4g.medium
      AllocatedStorage: 100
      ManageMasterUserPassword: true
      MasterUsername: app_admin
      MultiAZ: true
      BackupRetentionPeriod: 7
      DeletionProtection: false
""")
    (message,) = _messages("SRE-BAK-003", tmp_path)
    assert "テンプレートに直書きで全環境同じ値" in message
    assert "既定値" not in message
