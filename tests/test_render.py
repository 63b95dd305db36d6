"""The prescribed markdown structure and SARIF 2.1.0, checked on a real review."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import write
from sre_agent import render, review
from sre_agent.review import ReviewConfig

HEADINGS = ["## sre レビュー結果", "### 運用性", "### インフラ技術の評価", "### 監視・アラート設計",
            "### コスト監視・トラブルシューティング", "### 総合評価"]
ITEM = re.compile(r"^(✅|⚠️|❌) \S.* — .+ \[[^\]]+\]$")
SCRIPT = "#!/bin/bash\necho deploy\n" + "".join(
    f"aws cloudformation deploy --stack-name {name} --template-file {name}.yaml\n"
    for name in ("vpc", "db", "cache", "app", "alarms"))


def _sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("#"):
            current = line
            sections[current] = []
        elif current and line.strip():
            sections[current].append(line)
    return sections


def test_markdown_has_the_prescribed_sections_each_with_items(tmp_path: Path) -> None:
    write(tmp_path, "scripts/deploy.sh", SCRIPT)
    text = render(review([tmp_path], ReviewConfig(analyzers=("sre",))), "md")
    sections = _sections(text)
    assert [h for h in sections if h in HEADINGS] == HEADINGS
    assert text.startswith("## sre レビュー結果\n")
    for heading in HEADINGS[1:5]:
        assert sections[heading], f"{heading} is empty"
        for line in sections[heading]:
            assert ITEM.match(line), line
    overall = sections["### 総合評価"]
    assert overall[0] == "- 運用可能: ❌ No"
    assert overall[1] == "- 重要な懸念事項:"
    # five deploys on one line, with the count and the first locations
    deploy_lines = [l for l in sections["### 運用性"] if "[SRE-DEP-001]" in l]
    assert len(deploy_lines) == 1
    assert "（5 件）" in deploy_lines[0] and "scripts/deploy.sh:3, scripts/deploy.sh:4, scripts/deploy.sh:5 ほか 2 件" in deploy_lines[0]


def test_clean_input_says_なし(tmp_path: Path) -> None:
    write(tmp_path, "scripts/ok.sh", "#!/bin/bash\nset -euo pipefail\necho \"ok\"\n")
    text = render(review([tmp_path], ReviewConfig(analyzers=("sre",))), "md")
    assert "- 運用可能: ✅ Yes\n- 重要な懸念事項: なし\n- 推奨事項: なし\n" in text
    assert "✅ 全スクリプトで set -euo pipefail を設定 — scripts/ok.sh ほか計 1 件 [SRE-DEP-004]" in text


def test_sarif_is_2_1_0_with_rules_and_located_results(tmp_path: Path) -> None:
    write(tmp_path, "scripts/deploy.sh", SCRIPT)
    write(tmp_path, "infra/db.yaml", "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n"
          "  Db:\n    Type: AWS::RDS::DBInstance\n    Properties:\n      Engine: postgres\n"
          "      DBInstanceClass: db.t4g.micro\n      AllocatedStorage: '20'\n")
    sarif = json.loads(render(review([tmp_path]), "sarif"))
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "SRE-DEP-001" in rule_ids and any(i.startswith("checkov:") for i in rule_ids)
    assert any(i.startswith("cfn-lint:") for i in rule_ids)
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"]
        assert result["level"] in ("error", "warning", "note")
    db = [r for r in run["results"] if r["ruleId"] == "SRE-MAZ-001"]
    assert db[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "infra/db.yaml"
