"""`--record`: the agent framework's review record, in exactly the framework's shape."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pytest

from conftest import ROOT, SCENARIOS, write
from sre_agent import records
from sre_agent.models import LlmStatus, Review

BIN = Path(sys.executable).parent
FRAMEWORK = ROOT / "fixtures" / "integration" / "aidev-framework"

# The record as the framework documents it (.claude/helpers/cross-review-guide.md of
# k-tanaka-522/aidev, "レビュー記録のフォーマット"): these fields, these enums, nothing else.
FRAMEWORK_RECORD = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "created_at", "artifact", "reviewer", "checklist", "result", "feedback",
                 "follow_up_task"],
    "properties": {
        "id": {"type": "string", "pattern": r"^review-\d{4}-\d{2}-\d{2}-\d{3}$"},
        "created_at": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"},
        "artifact": {
            "type": "object", "additionalProperties": False,
            "required": ["type", "path", "created_by"],
            "properties": {"type": {"enum": ["iac", "design", "code", "test"]},
                           "path": {"type": "string"}, "created_by": {"type": "string"}},
        },
        "reviewer": {"type": "string"},
        "checklist": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["item", "status", "note"],
            "properties": {"item": {"type": "string"}, "status": {"enum": ["pass", "warn", "fail"]},
                           "note": {"type": "string"}}}},
        "result": {"enum": ["approved", "approved_with_comments", "rejected"]},
        "feedback": {"type": "string"},
        "follow_up_task": {"type": ["string", "null"]},
    },
}


def sre(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "sre-review"), *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def framework_project(tmp_path: Path, scenario: str) -> Path:
    root = tmp_path / "order-mgmt"
    shutil.copytree(SCENARIOS / scenario, root)
    shutil.copytree(FRAMEWORK, root, dirs_exist_ok=True)
    return root


def test_the_framework_project_gets_a_record_by_default(tmp_path: Path) -> None:
    root = framework_project(tmp_path, "ecs-rds-broken")
    folder = root / ".claude-state" / "reviews"
    earlier = sorted(p.name for p in folder.iterdir())
    result = sre(".", "-q", cwd=root)
    assert result.returncode == 1 and result.stderr == ""
    new = sorted(set(p.name for p in folder.iterdir()) - set(earlier))
    today = datetime.now(timezone.utc).date().isoformat()
    assert new == [f"review-{today}-001.json"] or new == [f"review-{today}-002.json"]
    record = json.loads((folder / new[0]).read_text(encoding="utf-8"))
    jsonschema.validate(record, FRAMEWORK_RECORD)
    assert record["id"] == new[0].removesuffix(".json")
    assert record["reviewer"] == "sre"
    assert record["result"] == "rejected"                         # ❌ No
    assert record["artifact"] == {"type": "iac", "path": ".", "created_by": "unknown"}
    assert [c["item"] for c in record["checklist"]] == [
        "運用性", "インフラ技術の評価", "監視・アラート設計", "コスト監視・トラブルシューティング"]
    assert record["checklist"][1]["status"] == "fail"
    assert "SRE-MAZ-001" in record["checklist"][1]["note"]
    assert record["follow_up_task"] is None
    # the feedback carries the concerns and recommendations of `## sre レビュー結果`
    feedback = record["feedback"].splitlines()
    assert feedback[0] == "運用可能: ❌ No"
    assert "重要な懸念事項:" in feedback and "推奨事項:" in feedback
    assert any(line.startswith("- RDS がシングルAZ — infra/templates/database/rds.yaml:98 `Database`")
               and "SRE-MAZ-001" in line for line in feedback)
    assert any(line.startswith("- 本番環境で MultiAZ を true にする") and "rds.yaml:98" in line
               for line in feedback)


def test_record_names_sort_and_never_overwrite(tmp_path: Path) -> None:
    write(tmp_path, "p/scripts/deploy.sh",
          "#!/bin/bash\nset -euo pipefail\naws cloudformation deploy --stack-name a --template-file t.yaml\n")
    out = tmp_path / "records"
    for _ in range(2):
        assert sre(str(tmp_path / "p"), "--record", str(out), "-q").returncode == 1
    day = datetime.now(timezone.utc).date().isoformat()
    assert sorted(p.name for p in out.iterdir()) == [f"review-{day}-001.json", f"review-{day}-002.json"]
    # a plain project without .claude-state/reviews/ gets none unless asked
    assert sre(str(tmp_path / "p"), "-q").returncode == 1
    assert not (tmp_path / "p" / ".claude-state").exists()


def test_no_record_leaves_the_framework_folder_alone(tmp_path: Path) -> None:
    root = framework_project(tmp_path, "clean-ecs-rds")
    before = sorted((root / ".claude-state" / "reviews").iterdir())
    assert sre(str(root), "--no-record", "-q").returncode == 0
    assert sorted((root / ".claude-state" / "reviews").iterdir()) == before


@pytest.mark.parametrize("verdict, result", [("yes", "approved"),
                                             ("conditional", "approved_with_comments"),
                                             ("no", "rejected")])
def test_result_follows_the_verdict(tmp_path: Path, verdict: str, result: str) -> None:
    review = Review(root=".", verdict=verdict, files=[], findings=[], llm=LlmStatus())
    moment = datetime(2026, 12, 2, 4, 30, tzinfo=timezone.utc)
    path = records.write(review, ["docs/03_基本設計"], tmp_path, now=moment)
    record = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(record, FRAMEWORK_RECORD)
    assert (path.name, record["result"], record["created_at"]) == (
        "review-2026-12-02-001.json", result, "2026-12-02T04:30:00Z")
    assert record["artifact"]["type"] == "design"
    assert [c["status"] for c in record["checklist"]] == ["pass"] * 4
    assert re.search(r"重要な懸念事項:\n- なし\n推奨事項:\n- なし$", record["feedback"])


def test_an_unwritable_record_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    write(tmp_path, "p/scripts/status.sh", "#!/bin/bash\nset -euo pipefail\naws cloudformation describe-stacks\n")
    blocker = write(tmp_path, "not-a-folder", "")
    result = sre(str(tmp_path / "p"), "--record", str(blocker / "reviews"), "-q")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"sre-review: error: cannot write the review record in {blocker / 'reviews'}: Not a directory"]
