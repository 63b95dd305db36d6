"""Project configuration: where it is found, what wins, what it changes, and what it refuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write
from sre_agent.config import ConfigError, is_reported, load_config, severity_override
from sre_agent.cost import estimate
from sre_agent.project import load_project
from sre_agent.review import ReviewConfig, project_settings, review

BIN = Path(sys.executable).parent

# 会員管理システムの DB: 本番・検証の環境名をローマ字で書くプロジェクト
TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Description: 会員管理システム DB（RDS for PostgreSQL）
Parameters:
  Environment:
    Type: String
  IsMultiAZ:
    Type: String
    AllowedValues: ['true', 'false']
Resources:
  MemberDatabase:
    Type: AWS::RDS::DBInstance
    DeletionPolicy: Snapshot
    UpdateReplacePolicy: Snapshot
    Properties:
      Engine: postgres
      DBInstanceClass: db.r6g.large
      AllocatedStorage: '100'
      MultiAZ: !Ref IsMultiAZ
      ManageMasterUserPassword: true
      MasterUsername: member_admin
"""
HONBAN = """[
  {"ParameterKey": "Environment", "ParameterValue": "honban"},
  {"ParameterKey": "IsMultiAZ", "ParameterValue": "false"}
]
"""
SCRIPT = """\
#!/bin/bash
# 会員管理 DB の緊急適用（移行期間中）
set -euo pipefail
aws cloudformation deploy --stack-name member-honban-db \\
  --template-file infra/templates/rds.yaml \\
  --parameter-overrides file://infra/parameters/honban.json
"""


def sre(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "sre-review"), *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


@pytest.fixture
def member(tmp_path: Path) -> Path:
    root = tmp_path / "member-system"
    (root / ".git").mkdir(parents=True)
    write(root, "infra/templates/rds.yaml", TEMPLATE)
    write(root, "infra/parameters/honban.json", HONBAN)
    write(root, "scripts/hotfix.sh", SCRIPT)
    return root


def test_precedence_flag_over_dedicated_file_over_pyproject(member: Path) -> None:
    write(member, "pyproject.toml", '[project]\nname = "member"\n\n[tool.sre-review]\n'
          'mode = "light"\nlang = "en"\nfail-on = "warning"\nignore = ["CKV_AWS_"]\n')
    loaded = load_config(member / "infra")
    assert loaded.sources == [str(member / "pyproject.toml")]
    assert (loaded.settings.mode, loaded.settings.lang, loaded.settings.fail_on) == ("light", "en", "warning")

    write(member, ".sre-review.toml", 'lang = "ja"\nignore = ["SRE-DEP-008"]\n')
    loaded = load_config(member / "infra" / "templates" / "rds.yaml")
    assert loaded.sources == [str(member / "pyproject.toml"), str(member / ".sre-review.toml")]
    # key by key: the dedicated file wins where both speak, pyproject fills the rest
    assert (loaded.settings.mode, loaded.settings.lang, loaded.settings.fail_on) == ("light", "ja", "warning")
    assert loaded.settings.ignore == ["SRE-DEP-008"]

    # the CLI flag wins over both: --mode deep and --lang en for a run
    result = sre(str(member), "--mode", "deep", "--lang", "en", "--format", "json", "-q")
    assert json.loads(result.stdout)["mode"] == "deep"
    english = sre(str(member), "--lang", "en", "-q")
    assert english.stdout.startswith("## sre Review Result") or "### Overall" in english.stdout


def test_the_search_stops_at_the_git_root(tmp_path: Path, member: Path) -> None:
    write(tmp_path, ".sre-review.toml", 'mode = "light"\n')       # above the repository
    write(tmp_path, "pyproject.toml", '[tool.sre-review]\nlang = "en"\n')
    assert load_config(member / "infra").sources == []
    write(member, "infra/.sre-review.toml", 'price-region = "us-east-1"\n')
    assert load_config(member / "infra" / "templates").settings.price_region == "us-east-1"
    assert load_config(member / "scripts").sources == []


def test_config_fail_on_and_severity_decide_the_exit_code(member: Path) -> None:
    write(member, ".sre-review.toml", 'select = ["SRE-DEP-001", "CKV_AWS_"]\n')
    base = sre(str(member), "--format", "json", "-q")
    assert base.returncode == 1
    assert {f["id"] for f in json.loads(base.stdout)["findings"] if f["severity"] == "error"} == {"SRE-DEP-001"}
    # the team agreed: the hotfix script's direct deploy is a warning during the migration
    write(member, ".sre-review.toml", 'select = ["SRE-DEP-001", "CKV_AWS_"]\n'
          '[severity]\n"SRE-DEP-001" = "warning"\n"CKV_AWS_" = "info"\n')
    relaxed = sre(str(member), "--format", "json", "-q")
    findings = json.loads(relaxed.stdout)["findings"]
    assert {f["severity"] for f in findings if f["id"] == "SRE-DEP-001"} == {"warning"}
    assert {f["severity"] for f in findings if f["id"].startswith("checkov:CKV_AWS_")} == {"info"}
    assert relaxed.returncode == 0 and json.loads(relaxed.stdout)["verdict"] == "conditional"
    write(member, ".sre-review.toml", 'select = ["SRE-DEP-001"]\n"fail-on" = "warning"\n'
          '[severity]\n"DEP001" = "warning"\n')
    assert sre(str(member), "-q").returncode == 1
    assert sre(str(member), "-q", "--fail-on", "error").returncode == 0


def test_select_and_ignore_by_prefix(member: Path) -> None:
    everything = review([member], ReviewConfig(analyzers=("sre", "checkov"), environments={"honban": "prod"}))
    ids = {f.id for f in everything.findings}
    assert {"SRE-DEP-001", "SRE-MAZ-001"} <= ids and any(i.startswith("checkov:CKV_AWS_") for i in ids)

    only_maz = review([member], ReviewConfig(analyzers=("sre", "checkov"), select=("MAZ0",),
                                             environments={"honban": "prod"}))
    assert {f.id for f in only_maz.findings} == {i for i in ids if i.startswith("SRE-MAZ")}
    assert all(p.rule_id.startswith("SRE-MAZ") for p in only_maz.passed)

    ignored = review([member], ReviewConfig(analyzers=("sre", "checkov"), ignore=("SRE-DEP", "CKV_AWS_"),
                                            environments={"honban": "prod"}))
    assert {f.id for f in ignored.findings} == {i for i in ids if not i.startswith(("SRE-DEP", "checkov:CKV_AWS_"))}


def test_prefix_matching_spellings() -> None:
    assert is_reported("SRE-DEP-001", ["DEP0"], [])
    assert is_reported("checkov:CKV_AWS_157", ["checkov:CKV_AWS_1"], [])
    assert is_reported("cfn-lint:E3012", ["E3"], [])
    assert not is_reported("SRE-DEP-001", [], ["sre-dep"])
    assert not is_reported("SRE-MAZ-001", ["DEP"], [])
    assert is_reported("SRE-MAZ-001", [], ["CKV_AWS_157"])   # ignoring a merged twin keeps ours
    assert severity_override("SRE-DEP-004", {"SRE-DEP": "warning", "DEP004": "info"}) == "info"
    assert severity_override("SRE-MAZ-001", {"SRE-DEP": "warning"}) is None


def test_project_environment_spellings(member: Path) -> None:
    plain = review([member], ReviewConfig(analyzers=("sre",)))
    assert "SRE-MAZ-001" not in {f.id for f in plain.findings}   # honban names no environment we know
    write(member, ".sre-review.toml", '[environments]\nprod = ["honban"]\nstg = ["kensho"]\n')
    settings = load_config(member).settings
    result = review([member], ReviewConfig(analyzers=("sre",), environments=settings.aliases()))
    single_az = [f for f in result.findings if f.id == "SRE-MAZ-001"]
    assert [(f.file, f.resource, f.environment) for f in single_az] == [
        ("infra/templates/rds.yaml", "MemberDatabase", "prod")]
    assert "infra/parameters/honban.json" in single_az[0].message
    assert "SRE-MAZ-001" not in {f.id for f in review([member], ReviewConfig(analyzers=("sre",))).findings}


def test_price_region_from_the_configuration(member: Path) -> None:
    project = load_project([member])
    default = estimate(project, "prod")
    with project_settings(ReviewConfig(price_region="us-east-1", environments={"honban": "prod"})):
        configured = estimate(project, "prod")
    assert (default.region, configured.region) == ("ap-northeast-1", "us-east-1")
    assert configured.region_source == "configuration (price-region)"
    assert configured.total != default.total
    assert estimate(project, "prod").region == "ap-northeast-1"     # only while the review runs


@pytest.mark.parametrize("text, message", [
    ('mode = "deep"\nfail_on = "warning"\n', "unknown key 'fail_on' (known keys: select, ignore, severity"),
    ('mode = "fast"\n', "mode: Input should be 'light' or 'deep'"),
    ('[environments]\nproduction = ["honban"]\n', "unknown environment 'production'"),
    ('price-region = "eu-west-1"\n', "no price table for 'eu-west-1'"),
    ('ignore = [""]\n', "an empty prefix would match every rule"),
    ('mode = "deep\n', "not valid TOML"),
])
def test_bad_configuration_is_one_line_and_exit_2(member: Path, text: str, message: str) -> None:
    write(member, ".sre-review.toml", text)
    with pytest.raises(ConfigError):
        load_config(member)
    result = sre(str(member))
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(member / ".sre-review.toml") in lines[0] and message in lines[0], lines


def test_explicit_config_file(member: Path, tmp_path: Path) -> None:
    ci = write(tmp_path, "ci/sre.toml", 'select = ["SRE-MAZ"]\n')
    write(member, ".sre-review.toml", 'select = ["SRE-DEP"]\n')
    result = sre(str(member), "--config", str(ci), "--format", "json", "-q")
    assert {f["id"] for f in json.loads(result.stdout)["findings"]} <= {"SRE-MAZ-001"}
    missing = sre(str(member), "--config", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "config file not found" in missing.stderr
    bare = write(tmp_path, "other/pyproject.toml", '[project]\nname = "x"\n')
    assert "no [tool.sre-review] table" in sre(str(member), "--config", str(bare)).stderr
