"""Suppressions mute findings without hiding them; a suppression needs a reason."""

from __future__ import annotations

from pathlib import Path

from conftest import write
from sre_agent.review import ReviewConfig, review

SCRIPT = """\
#!/bin/bash
# sre-review: ignore-file=DEP004 source 専用の関数ライブラリ。呼び出し元で set -euo pipefail 済み
deploy_stack() {
  # sre-review: ignore=SRE-DEP-001
  aws cloudformation deploy --stack-name "$1" --template-file "$2"
  aws cloudformation describe-stacks --stack-name "$1"
}
"""
TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Database:
    Type: AWS::RDS::DBInstance
    Metadata:
      sre-review:
        ignore:
          - id: SRE-MAZ-001
            reason: 検証用の使い捨て DB。本番は Aurora スタックで別管理
          - id: MON001
            reason: 監視は本番 Aurora スタック側で定義
          - id: BAK001
            reason: 検証用の使い捨て DB（データを保持しない）
          - id: BAK002
            reason: 検証用の使い捨て DB（バックアップ不要）
    Properties:
      Engine: postgres
      DBInstanceClass: db.t4g.micro
      AllocatedStorage: '20'
      MultiAZ: false
"""


# The project's change-set steps (create / describe / execute / rollback in one script), so that
# DEP003 (change-set scripts missing, an error) does not decide this test's verdict.
CHANGESET = """\
#!/bin/bash
set -euo pipefail
if [[ $# -ne 3 ]]; then
  echo "使い方: $0 <create|describe|execute|rollback> <stack> <change-set>" >&2
  exit 2
fi
case "$1" in
  create | rollback) aws cloudformation create-change-set --stack-name "$2" --change-set-name "$3" ;;
  describe) aws cloudformation describe-change-set --stack-name "$2" --change-set-name "$3" ;;
  execute) aws cloudformation execute-change-set --stack-name "$2" --change-set-name "$3" ;;
  *) exit 2 ;;
esac
"""


def test_comment_and_metadata_suppressions(tmp_path: Path) -> None:
    write(tmp_path, "scripts/lib.sh", SCRIPT)
    write(tmp_path, "scripts/changeset.sh", CHANGESET)
    write(tmp_path, "infra/db.yaml", TEMPLATE)
    result = review([tmp_path], ReviewConfig(analyzers=("sre",)))
    by_id = {f.id: f for f in result.findings}
    assert by_id["SRE-DEP-004"].suppressed
    assert by_id["SRE-DEP-004"].suppression_reason.startswith("source 専用")
    assert by_id["SRE-MAZ-001"].suppressed
    assert by_id["SRE-MON-001"].suppression_reason == "監視は本番 Aurora スタック側で定義"
    assert by_id["SRE-DEP-001"].suppressed
    assert by_id["SRE-DEP-001"].suppression_reason is None
    missing_reason = by_id["SRE-SUP-001"]
    assert (missing_reason.file, missing_reason.line) == ("scripts/lib.sh", 4)
    assert not missing_reason.suppressed
    assert result.verdict == "conditional"


def test_markdown_comment_suppresses_a_runbook_command(tmp_path: Path) -> None:
    write(tmp_path, "docs/手順書.md", "# 手順書\n\n```bash\n"
          "<!-- not a comment inside code -->\n"
          "aws cloudformation deploy --stack-name dev-app --template-file app.yaml\n```\n")
    write(tmp_path, "docs/旧手順.md", "# 旧手順（参考）\n\n"
          "<!-- sre-review: ignore=DEP001 廃止済み手順の記録。実行禁止と冒頭に明記 -->\n"
          "```bash\naws cloudformation deploy --stack-name old --template-file old.yaml\n```\n")
    result = review([tmp_path], ReviewConfig(analyzers=("sre",)))
    deploys = {(f.file, f.suppressed) for f in result.findings if f.id == "SRE-DEP-001"}
    assert deploys == {("docs/手順書.md", False), ("docs/旧手順.md", True)}
