"""Baselines: created on the broken scenario, the next run shows only what is new."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SCENARIOS, write
from sre_agent import baseline as baselines
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.review import ReviewConfig, review

BIN = Path(sys.executable).parent
NEW_DEPLOY = ("\n# 障害対応で追加: ネットワークスタックへの緊急適用\n"
              "aws cloudformation deploy --stack-name order-mgmt-prd-network "
              "--template-file infra/templates/network/vpc.yaml\n")


def sre(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "sre-review"), *args], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "order-mgmt"
    shutil.copytree(SCENARIOS / "ecs-rds-broken", copy)
    return copy


def test_round_trip_on_the_broken_scenario(project: Path, tmp_path: Path) -> None:
    base = tmp_path / "sre-baseline.json"
    first = sre(str(project), "--create-baseline", str(base), "--format", "json", "-q")
    assert first.returncode == 1 and first.stderr == ""
    before = json.loads(first.stdout)
    known = json.loads(base.read_text(encoding="utf-8"))
    assert known["format"] == "sre-review-baseline/1"
    assert sum(k["count"] for k in known["findings"]) == len(
        [f for f in before["findings"] if not f["suppressed"]])
    assert all("line" not in k for k in known["findings"])

    again = sre(str(project), "--baseline", str(base), "--format", "json")
    assert again.returncode == 0, again.stdout[-2000:]
    data = json.loads(again.stdout)
    assert [f for f in data["findings"] if not f["suppressed"]] == []
    assert data["verdict"] == "yes"
    assert data["baseline"] == {"file": base.as_posix(), "hidden": len(before["findings"]),
                                "hidden_by_severity": data["baseline"]["hidden_by_severity"]}
    assert data["baseline"]["hidden_by_severity"]["error"] == len(
        [f for f in before["findings"] if f["severity"] == "error"])
    markdown = sre(str(project), "--baseline", str(base))
    assert f"- ベースライン: `{base.as_posix()}` — 既知の指摘 {len(before['findings'])} 件を非表示" \
        in markdown.stdout

    # a second direct deploy in the script that already had one: same rule, same file
    with (project / "scripts/deploy-hotfix.sh").open("a", encoding="utf-8") as script:
        script.write(NEW_DEPLOY)
    new = sre(str(project), "--baseline", str(base), "--format", "json")
    assert new.returncode == 1
    reported = json.loads(new.stdout)
    lines = (project / "scripts/deploy-hotfix.sh").read_text(encoding="utf-8").splitlines()
    assert [(f["id"], f["file"], f["line"]) for f in reported["findings"]] == [
        ("SRE-DEP-001", "scripts/deploy-hotfix.sh", len(lines))]
    assert reported["verdict"] == "no"


def test_lines_moving_and_counts_changing_do_not_make_findings_new(project: Path, tmp_path: Path) -> None:
    config = ReviewConfig(analyzers=("sre",))
    base = tmp_path / "baseline.json"
    baselines.create(review([project], config), base)
    rds = project / "infra/templates/database/rds.yaml"
    rds.write_text("# 受注管理 DB（2026-11 レビュー指摘対応中）\n# 担当: インフラチーム\n\n"
                   + rds.read_text(encoding="utf-8"), encoding="utf-8")
    result = baselines.apply(review([project], config), baselines.load(base), base)
    assert [f for f in result.findings if not f.suppressed] == []


def test_the_same_resource_name_in_another_file_is_not_muted(project: Path, tmp_path: Path) -> None:
    config = ReviewConfig(analyzers=("sre",))
    base = tmp_path / "baseline.json"
    baselines.create(review([project], config), base)
    original = review([project], config)
    muted = {(f.id, f.resource) for f in original.findings if f.file == "infra/templates/database/rds.yaml"}
    assert ("SRE-MAZ-001", "Database") in muted
    # a reporting database: the same template, the same logical id `Database`, another file,
    # deployed by the same change-set script
    (project / "infra/templates/reporting").mkdir()
    shutil.copy(project / "infra/templates/database/rds.yaml", project / "infra/templates/reporting/rds.yaml")
    script = project / "scripts/create-changeset.sh"
    script.write_text(script.read_text(encoding="utf-8").replace(
        '  database)   TEMPLATE_FILE="infra/templates/database/rds.yaml" ;;\n',
        '  database)   TEMPLATE_FILE="infra/templates/database/rds.yaml" ;;\n'
        '  reporting)  TEMPLATE_FILE="infra/templates/reporting/rds.yaml" ;;\n'), encoding="utf-8")
    result = baselines.apply(review([project], config), baselines.load(base), base)
    new = {(f.id, f.file, f.resource) for f in result.findings if not f.suppressed}
    assert ("SRE-MAZ-001", "infra/templates/reporting/rds.yaml", "Database") in new
    # the original template stays muted (the documents' cost figures now differ from the code)
    assert not [key for key in new if key[1] == "infra/templates/database/rds.yaml"]
    assert result.verdict == "no"


def _finding(message: str, line: int, resource: str | None = "Database",
             file: str = "infra/db.yaml") -> Finding:
    return Finding(id="SRE-MAZ-001", source="sre", severity=Severity.ERROR,
                   perspective=Perspective.INFRASTRUCTURE, file=file, line=line,
                   resource=resource, message=message, remediation="MultiAZ: true")


def test_the_key_is_rule_file_resource_and_normalised_message() -> None:
    moved = _finding("prod 環境（infra/db.yaml:31 ← parameters/prd.json の値 'false'）でシングルAZ", 31)
    later = _finding("prod 環境（infra/db.yaml:44 ← parameters/prd.json の値 'no'）でシングルAZ", 44)
    assert baselines.key_of(moved) == baselines.key_of(later)
    other_file = _finding(moved.message, 31, file="infra/reporting.yaml")
    other_resource = _finding(moved.message, 31, resource="ReportingDatabase")
    other_problem = _finding("stg 環境でストレージ暗号化なし", 31)
    keys = {baselines.key_of(f) for f in (moved, other_file, other_resource, other_problem)}
    assert len(keys) == 4
    assert baselines.normalise("`app/${Project}-alb`（= `app/order-prd-alb`）の 5xx が 10 件") == "……の #xx が # 件"


def test_a_baseline_is_applied_only_in_its_language(project: Path, tmp_path: Path) -> None:
    base = tmp_path / "baseline.json"
    baselines.create(review([project], ReviewConfig(analyzers=("sre",))), base, "ja")
    english = sre(str(project), "--baseline", str(base), "--lang", "en")
    assert english.returncode == 2 and english.stdout == ""
    assert "created with --lang ja; its messages do not match a --lang en review" in english.stderr


@pytest.mark.parametrize("content, message", [
    (None, "baseline not found"),
    ("{not json", "not a baseline file"),
    ('{"format": "checkov"}', 'expected "format": "sre-review-baseline/1"'),
    ('{"format": "sre-review-baseline/1", "created_at": "x", "findings": [{"id": 3}]}', "findings.0"),
])
def test_a_bad_baseline_is_one_line_and_exit_2(tmp_path: Path, content: str | None, message: str) -> None:
    write(tmp_path, "p/deploy.sh", "#!/bin/bash\nset -euo pipefail\necho ok\n")
    base = tmp_path / "base.json"
    if content is not None:
        base.write_text(content, encoding="utf-8")
    result = sre(str(tmp_path / "p"), "--baseline", str(base))
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_an_unwritable_baseline_is_one_line_and_exit_2(tmp_path: Path) -> None:
    write(tmp_path, "p/scripts/status.sh", "#!/bin/bash\nset -euo pipefail\naws cloudformation describe-stacks\n")
    target = tmp_path / "missing-folder" / "baseline.json"
    result = sre(str(tmp_path / "p"), "--create-baseline", str(target), "-q")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"sre-review: error: cannot write the baseline {target}: No such file or directory"]
