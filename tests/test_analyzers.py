"""The adapters against the real tools: cfn-lint, checkov and shellcheck output as findings."""

from __future__ import annotations

from pathlib import Path

from conftest import write
from sre_agent.analyzers.base import ANALYZER_ERROR_ID, run_guarded
from sre_agent.analyzers.cfnlint import CfnLintAnalyzer
from sre_agent.analyzers.checkov import CheckovAnalyzer
from sre_agent.models import Perspective, Severity
from sre_agent.project import load_project
from sre_agent.rules.base import RuleContext
from sre_agent.rules.dep016_shellcheck import ShellcheckFindings

RDS = """\
AWSTemplateFormatVersion: '2010-09-09'
Description: 受注DB
Resources:
  OrderDb:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: postgres
      DBInstanceClass: db.t4g.micro
      AllocatedStorage: twenty
      MultiAZ: false
"""
BAD_TYPE = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Weird:
    Type:
      - AWS::S3::Bucket
"""


def ctx_for(root: Path) -> RuleContext:
    return RuleContext(load_project([root]))


def test_cfn_lint_matches_keep_their_id_line_and_resource(tmp_path: Path) -> None:
    write(tmp_path, "db.yaml", RDS)
    findings, run = run_guarded(CfnLintAnalyzer(), ctx_for(tmp_path))
    assert run.error is None and run.version[0].isdigit()
    by_id = {f.id: f for f in findings}
    storage = by_id["cfn-lint:E3031"]
    assert (storage.file, storage.line, storage.resource) == ("db.yaml", 9, "OrderDb")
    assert storage.severity is Severity.ERROR and storage.source == "cfn-lint"
    assert by_id["cfn-lint:I3011"].severity is Severity.INFO


def test_checkov_failed_checks_mapped_by_the_curated_table(tmp_path: Path) -> None:
    write(tmp_path, "infra/db.yaml", RDS.replace("twenty", "'20'"))
    findings, run = run_guarded(CheckovAnalyzer(), ctx_for(tmp_path))
    assert run.error is None
    multi_az = next(f for f in findings if f.id == "checkov:CKV_AWS_157")
    assert (multi_az.file, multi_az.line, multi_az.resource) == ("infra/db.yaml", 4, "OrderDb")
    assert multi_az.perspective is Perspective.INFRASTRUCTURE
    monitoring = next(f for f in findings if f.id == "checkov:CKV_AWS_118")
    assert monitoring.perspective is Perspective.MONITORING


def test_checkov_scans_secrets_in_scripts_and_terraform(tmp_path: Path) -> None:
    write(tmp_path, "scripts/setup.sh", "#!/bin/bash\nset -euo pipefail\n"
          "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"
          "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    write(tmp_path, "main.tf", 'resource "aws_db_instance" "main" {\n  engine = "postgres"\n'
          '  instance_class = "db.t4g.micro"\n  multi_az = false\n}\n')
    findings, _ = run_guarded(CheckovAnalyzer(), ctx_for(tmp_path))
    secrets = [f for f in findings if f.id.startswith("checkov:CKV_SECRET_")]
    assert secrets and all(f.file == "scripts/setup.sh" and f.severity is Severity.ERROR
                           for f in secrets)
    assert all("AKIA" not in f.message for f in secrets)
    tf = next(f for f in findings if f.id == "checkov:CKV_AWS_157")
    assert (tf.file, tf.resource) == ("main.tf", "aws_db_instance.main")


def test_secrets_in_template_comments_and_block_scalars_are_found(tmp_path: Path) -> None:
    """YAML is scanned line by line: detect-secrets' YAML parser would skip both of these."""
    write(tmp_path, "fn.yaml", "AWSTemplateFormatVersion: '2010-09-09'\n"
          "# old key: AKIAIOSFODNN7EXAMPLQ\n"
          "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n"
          "      Handler: index.handler\n      Runtime: python3.12\n      Role: arn:aws:iam::123456789012:role/fn\n"
          "      Code:\n        ZipFile: |\n"
          "          token = \"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\"\n")
    findings, _ = run_guarded(CheckovAnalyzer(), ctx_for(tmp_path))
    lines = {f.line for f in findings if f.id.startswith("checkov:CKV_SECRET_") and f.file == "fn.yaml"}
    assert {2, 12} <= lines


def test_one_template_that_crashes_checkov_does_not_hide_the_others(tmp_path: Path) -> None:
    write(tmp_path, "a_weird.yaml", BAD_TYPE)
    write(tmp_path, "b_db.yaml", RDS.replace("twenty", "'20'"))
    findings, run = run_guarded(CheckovAnalyzer(), ctx_for(tmp_path))
    assert any(f.id == "checkov:CKV_AWS_157" and f.file == "b_db.yaml" for f in findings)
    assert run.error is None


def test_shellcheck_comments_become_dep016(tmp_path: Path) -> None:
    write(tmp_path, "deploy.sh", "#!/bin/bash\nSTACK=$1\ncd /tmp/work\n"
          "aws cloudformation describe-stacks --stack-name $STACK\n")
    findings = list(ShellcheckFindings().check(ctx_for(tmp_path)))
    codes = {(f.related_ids[0], f.line, f.severity) for f in findings}
    assert ("shellcheck:SC2086", 4, Severity.INFO) in codes
    assert ("shellcheck:SC2164", 3, Severity.WARNING) in codes
    assert all(f.source == "shellcheck" and f.id == "SRE-DEP-016" for f in findings)


class Exploding:
    name = "exploding"

    def version(self) -> str:
        return "1.0"

    def analyze(self, ctx: RuleContext) -> list:
        raise ValueError("boom")


def test_a_crashing_analyzer_becomes_a_finding(tmp_path: Path) -> None:
    findings, run = run_guarded(Exploding(), ctx_for(tmp_path))
    assert run.error == "ValueError: boom"
    assert [f.id for f in findings] == [ANALYZER_ERROR_ID]
    assert findings[0].severity is Severity.WARNING
