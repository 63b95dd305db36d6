"""An agent framework project: its infrastructure standards, its phase documents."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, SCENARIOS, write
from sre_agent.llm.review_pass import system_blocks
from sre_agent.render import render
from sre_agent.review import ReviewConfig, review
from sre_agent.testing import FakeLLM

FRAMEWORK = ROOT / "fixtures" / "integration" / "aidev-framework"
THEIRS = [".claude/docs/40_standards/42_infrastructure.md",
          ".claude/docs/40_standards/45_cloudformation.md"]
SRE_ONLY = ReviewConfig(analyzers=("sre",))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The clean scenario as a framework project: `.claude/` with standards, agents, /check."""
    root = tmp_path / "order-mgmt"
    shutil.copytree(SCENARIOS / "clean-ecs-rds", root)
    shutil.copytree(FRAMEWORK, root, dirs_exist_ok=True)
    return root


def test_the_frameworks_infrastructure_standards_replace_ours(project: Path) -> None:
    result = review([project], SRE_ONLY)
    assert result.standards == THEIRS     # not 41_common (review process) nor 43_python
    appendix = render(result, "md").split("#### 付録", 1)[1]
    assert f"- 適用した技術標準: {', '.join(THEIRS)}\n" in appendix
    # the LLM pass is given the same standards in its system prompt
    fake = FakeLLM()
    review([project], SRE_ONLY, llm_backend=fake)
    prompt = json.dumps(fake.requests[0]["system"], ensure_ascii=False)
    assert "本番環境（prd）の RDS は `MultiAZ: true` とする" in prompt
    assert "Python コーディング規約" not in prompt and "ruff format" not in prompt
    assert "本番環境（prd）の RDS" in system_blocks(str(project / ".claude/docs/40_standards"))[0]["text"]


def test_light_mode_on_one_file_finds_them_too(project: Path) -> None:
    template = project / "infra/templates/database/rds.yaml"
    result = review([template], SRE_ONLY.model_copy(update={"mode": "light"}))
    assert result.standards == THEIRS


def test_standards_flag_wins_and_plain_projects_keep_ours(project: Path, tmp_path: Path) -> None:
    own = write(tmp_path, "team-standards/99_sre.md", "# SRE 標準\n\n- 全アラームは PagerDuty に通知する。\n").parent
    given = review([project], SRE_ONLY.model_copy(update={"standards": str(own)}))
    assert given.standards == [f"{own.as_posix()}/99_sre.md"]
    off = review([project], SRE_ONLY.model_copy(update={"framework_standards": False}))
    assert off.standards[0].startswith("sre-agent standards/")
    plain = review([SCENARIOS / "clean-ecs-rds"], SRE_ONLY)
    assert all(s.startswith("sre-agent standards/") for s in plain.standards)


def test_a_framework_folder_without_infrastructure_standards_keeps_ours(project: Path) -> None:
    for name in ("42_infrastructure.md", "45_cloudformation.md"):
        (project / ".claude/docs/40_standards" / name).unlink()
    assert review([project], SRE_ONLY).standards[0].startswith("sre-agent standards/")


def test_standards_in_subfolders_are_found(project: Path) -> None:
    nested = project / ".claude/docs/40_standards/42_infra/iac"
    nested.mkdir(parents=True)
    shutil.move(project / ".claude/docs/40_standards/45_cloudformation.md", nested / "cloudformation.md")
    assert review([project], SRE_ONLY).standards == [
        ".claude/docs/40_standards/42_infra/iac/cloudformation.md", THEIRS[0]]


def _phase_findings(result) -> list[str]:
    return [f.message for f in result.findings if f.id == "SRE-DOC-011"]


def test_deep_mode_reports_a_missing_phase_as_info(project: Path) -> None:
    result = review([project], SRE_ONLY)
    missing = [f for f in result.findings if f.id == "SRE-DOC-011"]
    assert [(f.severity.value, f.file, f.line) for f in missing] == [("info", None, None)]
    assert missing[0].message.startswith("docs/ に 04_詳細設計書 がない")
    assert "フェーズ文書がない — docs/ に 04_詳細設計書 がない" in render(result, "md")
    # light mode (/check) does not walk the chain
    assert _phase_findings(review([project], SRE_ONLY.model_copy(update={"mode": "light"}))) == []


def test_each_phase_may_be_a_file_or_a_folder(project: Path) -> None:
    write(project, "docs/04_詳細設計書/01_RDS詳細設計.md",
          "# RDS 詳細設計\n\n| パラメータ | 値 |\n|---|---|\n| BackupRetentionPeriod | 7 |\n")
    result = review([project], SRE_ONLY)
    assert _phase_findings(result) == []
    passed = next(p for p in result.passed if p.rule_id == "SRE-DOC-011")
    assert passed.evidence == "docs/01_企画書.md, docs/02_要件定義書.md, docs/03_基本設計, docs/04_詳細設計書"
    (project / "docs/02_要件定義書.md").unlink()
    assert [m.split(" がない")[0] for m in _phase_findings(review([project], SRE_ONLY))] == [
        "docs/ に 02_要件定義書"]


def test_a_deep_review_of_the_code_follows_the_phase_documents(project: Path) -> None:
    result = review([project / "infra"], SRE_ONLY)
    reviewed = {f.path for f in result.files}
    assert {"docs/01_企画書.md", "docs/02_要件定義書.md"} <= reviewed
    assert any(p.startswith("docs/03_基本設計/") for p in reviewed)
    assert not any(p.startswith("docs/90_運用手順/") for p in reviewed)   # not a phase document
    assert [m.split(" がない")[0] for m in _phase_findings(result)] == ["docs/ に 04_詳細設計書"]
    # a plain project (no .claude/) is reviewed as named
    plain = review([SCENARIOS / "clean-ecs-rds" / "infra"], SRE_ONLY)
    assert not any(f.path.startswith("docs/") for f in plain.files)


def test_the_frameworks_agents_and_commands_are_not_reviewed(project: Path) -> None:
    result = review([project], SRE_ONLY)
    skipped = {f.path: f.status.value for f in result.files if f.path.startswith(".claude")}
    assert skipped[".claude/agents/pm/AGENT.md"] == "skipped"
    assert skipped[".claude/docs/40_standards/42_infrastructure.md"] == "reviewed"
    assert not [f for f in result.findings if f.file and f.file.startswith(".claude/agents")]
