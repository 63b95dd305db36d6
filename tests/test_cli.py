"""The installed commands, run as a user runs them: exit codes, streams, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import SCENARIOS, write

BIN = Path(sys.executable).parent


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_broken_scenario_exits_1_with_no() -> None:
    result = run("sre-review", str(SCENARIOS / "ecs-rds-broken"))
    assert result.returncode == 1
    assert "- 運用可能: ❌ No" in result.stdout
    assert result.stderr == "", "checkov/cfn-lint log noise must stay off the terminal"


def test_clean_scenario_exits_0_and_fail_on_warning_exits_1() -> None:
    clean = str(SCENARIOS / "clean-ecs-rds")
    result = run("sre-review", clean, "--format", "json")
    data = json.loads(result.stdout)
    assert result.returncode == 0 and data["verdict"] in ("yes", "conditional")
    strict = run("sre-review", clean, "--fail-on", "warning", "--format", "json")
    assert strict.returncode == (1 if data["verdict"] == "conditional" else 0)


def test_missing_path_is_one_line_on_stderr_exit_2(tmp_path: Path) -> None:
    result = run("sre-review", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"sre-review: error: path not found: {tmp_path / 'nope'}"]


def test_bad_flag_is_a_usage_error(tmp_path: Path) -> None:
    result = run("sre-review", str(tmp_path), "--format", "html")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_json_on_stdout_only_and_the_group_command(tmp_path: Path) -> None:
    write(tmp_path, "deploy.sh", "#!/bin/bash\nset -euo pipefail\naws cloudformation deploy --stack-name a --template-file t.yaml\n")
    result = run("sre-agent", "review", str(tmp_path), "--format", "json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert [f["id"] for f in data["findings"] if f["source"] == "sre"] == ["SRE-DEP-001"]
    assert data["llm"] == {
        "used": False, "reason": "no ANTHROPIC_API_KEY", "model": None, "requests": 0,
        "input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0,
        "cache_creation_tokens": 0, "estimated_cost_usd": None, "token_count": None,
        "error": None, "sent": [], "not_sent": [], "redactions": 0, "redactions_by_kind": {},
        "rejected_evidence": [], "lowered": [], "verdict_moved_from": None,
    }


def test_rule_documentation_and_listing() -> None:
    doc = run("sre-agent", "rule", "DEP004")
    assert doc.returncode == 0
    assert doc.stdout.startswith("SRE-DEP-004 (DEP004) script-without-errexit")
    assert "## Why is this bad" in doc.stdout
    same = run("sre-agent", "rule", "sre-dep-004")
    assert same.stdout == doc.stdout
    unknown = run("sre-agent", "rule", "XYZ999")
    assert unknown.returncode == 2 and "unknown rule" in unknown.stderr
    listing = run("sre-agent", "rules")
    assert "SRE-MAZ-001  MAZ001" in listing.stdout


def test_project_standards_replace_ours_and_are_named(tmp_path: Path) -> None:
    own = write(tmp_path, "std/45_cloudformation.md", "# CloudFormation 規約\n\n## 1. デプロイ\n").parent
    write(tmp_path, "repo/deploy.sh", "#!/bin/bash\nset -euo pipefail\necho ok\n")
    ours = run("sre-review", str(tmp_path / "repo"), "--format", "json")
    assert "sre-agent standards/cloudformation.md" in json.loads(ours.stdout)["standards"]
    mine = run("sre-review", str(tmp_path / "repo"), "--standards", str(own))
    assert f"- 適用した技術標準: {own.as_posix()}/45_cloudformation.md\n" in mine.stdout
    missing = run("sre-review", str(tmp_path / "repo"), "--standards", str(tmp_path / "none"))
    assert missing.returncode == 2 and "path not found" in missing.stderr


def test_light_mode_judges_one_template_inside_its_project(tmp_path: Path) -> None:
    """`/check` on the file just edited: findings only for that file, but the project's
    parameter files, scripts and alarms count, so no project-completeness ❌ and prod values
    come from parameters/prd.json instead of the template's Default."""
    import shutil

    from sre_agent import ReviewConfig, review

    project = tmp_path / "inventory"
    shutil.copytree(SCENARIOS / "clean-ecs-rds", project)
    (project / ".git").mkdir()
    rds = project / "infra" / "templates" / "database" / "rds.yaml"
    text = rds.read_text(encoding="utf-8")
    rds.write_text(text.replace("Default: 'true'", "Default: 'false'", 1), encoding="utf-8")
    result = review([rds], ReviewConfig(mode="light", workers=False))
    assert {f.file for f in result.findings} <= {"infra/templates/database/rds.yaml"}
    assert [r.path for r in result.files] == ["infra/templates/database/rds.yaml"]
    problems = {f.id for f in result.findings if f.severity.value != "info"}
    assert not problems & {"SRE-DEP-003", "SRE-MON-001", "SRE-DOC-005", "SRE-MAZ-001"}
    assert result.verdict != "no"
    # Without the project around it, the same file is judged alone (the old behaviour).
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(rds, alone / "rds.yaml")
    lone = review([alone / "rds.yaml"], ReviewConfig(mode="light", workers=False))
    assert "SRE-MAZ-001" in {f.id for f in lone.findings}
