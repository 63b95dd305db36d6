"""The adapters against the real tools: cfn-lint, checkov and shellcheck output as findings."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import ROOT, write
from sre_agent.analyzers.base import ANALYZER_ERROR_ID, run_guarded
from sre_agent.analyzers.cfnlint import CfnLintAnalyzer, _engine
from sre_agent.analyzers.checkov import CheckovAnalyzer
from sre_agent.analyzers.peer_catalogue import CFN_LINT, CHECKOV, TEMPLATE_ERROR
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.project import load_project
from sre_agent.render import render
from sre_agent.review import ReviewConfig, review
from sre_agent.rules.base import RuleContext
from sre_agent.rules.dep.dep016_shellcheck import ShellcheckFindings

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


PEERS = ROOT / "fixtures" / "peers"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def ctx_for(root: Path, lang: str = "ja") -> RuleContext:
    return RuleContext(load_project([root]), lang=lang)


def cfn_lint(case: str, lang: str = "ja") -> list[Finding]:
    findings, run = run_guarded(CfnLintAnalyzer(), ctx_for(PEERS / case, lang))
    assert run.error is None
    return findings


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


# --- peer findings curated (fixtures/peers/, sre_agent/analyzers/peer_catalogue.py) ----------

def test_redundant_depends_on_and_unused_parameters_go_to_the_appendix() -> None:
    """W3005 ×3 and W2001 are warnings in cfn-lint and noise in a review: info, own title."""
    findings = cfn_lint("redundant-dependson")
    depends_on = [f for f in findings if f.id == "cfn-lint:W3005"]
    assert len(depends_on) == 3
    assert {(f.severity, f.title) for f in depends_on} == {
        (Severity.INFO, "Check obsolete DependsOn configuration for Resources")}
    unused = next(f for f in findings if f.id == "cfn-lint:W2001")
    assert (unused.severity, unused.line) == (Severity.INFO, 7)
    assert all(f.severity is Severity.INFO for f in findings)


def test_nested_stack_with_a_local_template_url_is_a_deploy_error() -> None:
    found = [f for f in cfn_lint("nested-local-template") if f.id == "cfn-lint:W3002"]
    assert len(found) == 1
    local = found[0]
    assert (local.file, local.line, local.resource) == ("root.yaml", 11, "NetworkStack")
    assert local.severity is Severity.ERROR and local.perspective is Perspective.OPERABILITY
    assert JAPANESE.search(local.title) and "aws cloudformation package" in local.title
    english = next(f for f in cfn_lint("nested-local-template", "en") if f.id == "cfn-lint:W3002")
    assert english.title == CFN_LINT["W3002"].en and not JAPANESE.search(english.title)


def test_deprecated_rds_engine_version_is_an_error() -> None:
    deprecated = next(f for f in cfn_lint("deprecated-rds-engine") if f.id == "cfn-lint:W3691")
    assert deprecated.severity is Severity.ERROR and deprecated.resource == "OrderDb"
    assert deprecated.title == "RDS のエンジンバージョンが非推奨で新規作成できない（再構築・DR 不可）"
    assert "'11.22'" in deprecated.message   # cfn-lint's specific message stays


def test_uncurated_template_error_stays_an_error_under_a_generic_title() -> None:
    assert "E3031" not in CFN_LINT
    pattern = next(f for f in cfn_lint("schema-error") if f.id == "cfn-lint:E3031")
    assert pattern.severity is Severity.ERROR and pattern.title == TEMPLATE_ERROR.ja
    assert next(f for f in cfn_lint("schema-error", "en")
                if f.id == "cfn-lint:E3031").title == TEMPLATE_ERROR.en


def test_curated_checkov_checks_speak_the_review_language_and_the_rest_is_info() -> None:
    def scan(lang: str) -> dict[str, Finding]:
        findings, run = run_guarded(CheckovAnalyzer(), ctx_for(PEERS / "public-rds", lang))
        assert run.error is None
        return {f.id: f for f in findings}

    ja, en = scan("ja"), scan("en")
    public = ja["checkov:CKV_AWS_17"]
    assert (public.severity, public.title) == (Severity.ERROR, "RDS がインターネットに公開")
    assert public.message == "RDS がインターネットに公開 (OrderDb)"   # no English check name
    assert en["checkov:CKV_AWS_17"].title == "RDS publicly accessible"
    ssh = ja["checkov:CKV_AWS_24"]
    assert (ssh.severity, ssh.resource) == (Severity.ERROR, "AdminSecurityGroup")
    assert ja["checkov:CKV_AWS_157"].severity is Severity.WARNING
    unlisted = ja["checkov:CKV_AWS_161"]   # IAM database authentication: hygiene
    assert "CKV_AWS_161" not in CHECKOV
    assert (unlisted.severity, unlisted.title) == (
        Severity.INFO, "Ensure RDS database has IAM authentication enabled")


def test_the_japanese_review_shows_the_deploy_breaker_and_moves_the_noise_to_the_appendix(
        tmp_path: Path) -> None:
    for case in ("redundant-dependson", "nested-local-template"):
        for source in (PEERS / case).rglob("*.yaml"):
            write(tmp_path, f"{case}/{source.relative_to(PEERS / case)}", source.read_text())
    text = render(review([tmp_path], ReviewConfig(analyzers=("cfn-lint",), workers=False)), "md")
    main, appendix = text.split("参考情報（info）")
    assert "❌ ローカルパスを参照" in main and "[cfn-lint:W3002]" in main
    assert "cfn-lint:W3005" not in main and "cfn-lint:W3005" in appendix
    assert "cfn-lint:W2001" not in main


def test_every_curated_id_exists_in_the_installed_tools() -> None:
    """Ids are checked, not guessed: a renamed or invented id would silently never match."""
    _, rules = _engine("ap-northeast-1")
    assert set(CFN_LINT) - set(rules) == set()
    import checkov

    package = Path(checkov.__file__).parent
    sources = "\n".join(path.read_text(encoding="utf-8", errors="replace")
                         for pattern in ("*.py", "*.json", "*.yaml")
                         for path in package.rglob(pattern)
                         if "/checks/" in path.as_posix())
    missing = [check for check in CHECKOV if f'"{check}"' not in sources]
    assert missing == []


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


def test_sample_credentials_in_a_technical_standard_are_not_secrets(tmp_path: Path) -> None:
    """A security standard shows what a leaked key looks like; the same text in a runbook is a leak."""
    sample = "## 禁止例\n\n```bash\nexport DB_URL=https://admin:S3cr3tPassw0rd@db.internal.example:5432/app\n```\n"
    write(tmp_path, ".claude/docs/40_standards/49_security.md", "# セキュリティ規約\n\n" + sample)
    write(tmp_path, "docs/運用手順書.md", "# 運用手順書\n\n" + sample)
    result = review([tmp_path], ReviewConfig(analyzers=("checkov",), workers=False))
    leaked = {f.file for f in result.findings if f.id.startswith("checkov:CKV_SECRET")}
    assert leaked == {"docs/運用手順書.md"}


def test_a_secret_scanner_hit_on_a_format_example_or_an_expression_is_info(tmp_path: Path) -> None:
    write(tmp_path, "docs/03_基本設計/05_データベース設計.md", "# DB 設計\n\n**接続文字列の形式**:\n```\n"
          "postgresql://app_user:password@kintai-db.xxxxx.ap-northeast-1.rds.amazonaws.com:5432/kintai\n```\n")
    write(tmp_path, "docs/運用手順書.md", "# 運用手順書\n\n```bash\n"
          "export DATABASE_URL=postgresql://app_user:Vq8rT2mXk4LpZ9sW@kintai-db.internal:5432/kintai\n```\n")
    write(tmp_path, "app/README.md", "# ローカル起動\n\n```bash\ncurl -X POST https://localhost:5001/api/auth/login \\\n"
          "  -d '{\n    \"email\": \"admin@example.com\",\n    \"password\": \"password123\"\n  }'\n```\n")
    result = review([tmp_path], ReviewConfig(analyzers=("checkov",), workers=False))
    found = {f.file: f.severity for f in result.findings if f.id.startswith("checkov:CKV_SECRET")}
    assert found.get("docs/運用手順書.md") is Severity.ERROR
    assert found.get("docs/03_基本設計/05_データベース設計.md") in (None, Severity.INFO)
    assert found.get("app/README.md") in (None, Severity.INFO)


def test_a_check_that_crashes_inside_checkov_is_a_finding_not_terminal_noise(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    command = [str(Path(sys.executable).parent / "sre-review"), str(PEERS / "checkov-check-crash"),
               "--format", "json", "--no-cache"]
    quiet = subprocess.run(command, capture_output=True, text=True, timeout=300,
                           env={**os.environ, "LOG_LEVEL": "INFO"})   # a user's own LOG_LEVEL too
    assert quiet.stderr == ""
    data = json.loads(quiet.stdout)
    crash = [f for f in data["findings"] if f["id"] == "sre-agent:analyzer-error"]
    assert [(f["file"], f["resource"], f["severity"], f["related_ids"]) for f in crash] == [
        ("graph-db.yaml", "RouteGraphCluster", "info", ["checkov:CKV_AWS_361"])]
    assert "TypeError" in crash[0]["message"]
    checkov_run = next(run for run in data["analyzers"] if run["name"] == "checkov")
    assert checkov_run["checks_not_run"] == ["checkov:CKV_AWS_361"]
    markdown = subprocess.run(command[:-3] + ["--no-cache"], capture_output=True, text=True,
                              timeout=300).stdout
    assert "実行できなかったチェック: checkov:CKV_AWS_361" in markdown
    loud = subprocess.run(command + ["-v"], capture_output=True, text=True, timeout=300)
    assert "Failed to run check CKV_AWS_361" in loud.stderr and "Traceback" in loud.stderr
