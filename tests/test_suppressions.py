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


HOTFIX = """\
#!/bin/bash
# 受注 API の緊急適用スクリプト（Change Set への移行は OPS-412 で対応中）
set -euo pipefail
# sre-review: ignore=SRE-DEP-001 until=2027-03-31 Change Set 移行完了までの暫定運用（OPS-412）
aws cloudformation deploy --stack-name order-prd-api --template-file infra/app.yaml
"""
CACHE_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  SessionCache:
    Type: AWS::ElastiCache::ReplicationGroup
    Metadata:
      sre-review:
        ignore:
          - id: SRE-MAZ-005
            until: '2027-01-15'
            reason: 2027 年 1 月のメンテナンス枠でレプリカを追加する
    Properties:
      ReplicationGroupDescription: prd session cache
      Engine: redis
      CacheNodeType: cache.t4g.small
      NumCacheClusters: 1
      AutomaticFailoverEnabled: false
"""


def _dated_project(root: Path) -> Path:
    write(root, "scripts/hotfix.sh", HOTFIX)
    write(root, "scripts/changeset.sh", CHANGESET)
    write(root, "infra/cache.yaml", CACHE_TEMPLATE)
    return root


def test_a_suppression_mutes_until_its_date_and_is_reported_after_it(tmp_path: Path) -> None:
    from datetime import date

    project = _dated_project(tmp_path)
    before = review([project], ReviewConfig(analyzers=("sre",), today=date(2027, 1, 15)))
    deploy = next(f for f in before.findings if f.id == "SRE-DEP-001")
    assert deploy.suppressed
    assert deploy.suppression_reason == "Change Set 移行完了までの暫定運用（OPS-412） (until 2027-03-31)"
    assert "SRE-SUP-002" not in {f.id for f in before.findings}
    assert any(f.id == "SRE-MAZ-005" and f.suppressed for f in before.findings)

    after = review([project], ReviewConfig(analyzers=("sre",), today=date(2027, 4, 1)))
    deploy = next(f for f in after.findings if f.id == "SRE-DEP-001")
    assert not deploy.suppressed and after.verdict == "no"
    expired = [(f.file, f.line, f.resource, f.severity.value) for f in after.findings if f.id == "SRE-SUP-002"]
    assert expired == [("infra/cache.yaml", 3, "SessionCache", "warning"),
                       ("scripts/hotfix.sh", 4, None, "warning")]
    messages = [f.message for f in after.findings if f.id == "SRE-SUP-002"]
    assert "SRE-DEP-001 の抑止は 2027-03-31 で期限切れ" in messages[1]
    assert any(f.id == "SRE-MAZ-005" and not f.suppressed for f in after.findings)

    between = review([project], ReviewConfig(analyzers=("sre",), today=date(2027, 2, 1)))
    assert [f.file for f in between.findings if f.id == "SRE-SUP-002"] == ["infra/cache.yaml"]


def test_an_expired_suppression_is_an_item_line_in_the_review(tmp_path: Path) -> None:
    from datetime import date

    from sre_agent.render import render

    result = review([_dated_project(tmp_path)], ReviewConfig(analyzers=("sre",), today=date(2027, 4, 1)))
    markdown = render(result, "md")
    assert "⚠️ 期限切れの抑止設定（2 件） — infra/cache.yaml:3 `SessionCache`, scripts/hotfix.sh:4" in markdown
    assert "[SRE-SUP-002]" in markdown


def test_an_unreadable_date_mutes_nothing(tmp_path: Path) -> None:
    write(tmp_path, "scripts/hotfix.sh", HOTFIX.replace("until=2027-03-31", "until=2027/03/31"))
    write(tmp_path, "scripts/changeset.sh", CHANGESET)
    result = review([tmp_path], ReviewConfig(analyzers=("sre",)))
    assert not next(f for f in result.findings if f.id == "SRE-DEP-001").suppressed
    unreadable = next(f for f in result.findings if f.id == "SRE-SUP-002")
    assert (unreadable.file, unreadable.line) == ("scripts/hotfix.sh", 4)
    assert "`until=2027/03/31`" in unreadable.message


def test_the_cached_result_is_not_reused_on_another_day(tmp_path: Path, monkeypatch) -> None:
    """An unchanged project reviewed again tomorrow: a suppression may have expired overnight."""
    import sys
    from datetime import date

    import sre_agent.suppressions

    day = {"today": date(2027, 3, 31)}

    class Calendar(date):
        @classmethod
        def today(cls) -> date:
            return day["today"]

    monkeypatch.setattr(sys.modules["sre_agent.review"], "date", Calendar)
    monkeypatch.setattr(sre_agent.suppressions, "date", Calendar)
    project = _dated_project(tmp_path)
    config = ReviewConfig(analyzers=("sre",), cache=True)
    assert len([f for f in review([project], config).findings if f.id == "SRE-SUP-002"]) == 1
    day["today"] = date(2027, 4, 1)
    assert len([f for f in review([project], config).findings if f.id == "SRE-SUP-002"]) == 2
