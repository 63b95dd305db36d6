"""The markdown parser against a realistic 基本設計書 excerpt, plus fuzzing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sre_agent.parsing.markdown import CodeBlock, Paragraph, Table, normalize_cell, parse_markdown

DESIGN_DOC = """\
# 基本設計書 — 受発注システム

| 版数 | 日付 | 作成者 |
|------|------|--------|
| 1.2 | 2024/04/01 | 基盤チーム |

## 1. 概要

本書は受発注システム（本番環境 ap-northeast-1）の基盤設計を定める。

## 4. 可用性設計

- RDS はマルチAZ構成とする。
- ECS サービスは 2 AZ に **最低 2 タスク** 配置する。

| 項目 | 目標値 | 備考 |
|------|--------|------|
| 目標稼働率 | ９９．９％ | 月間停止 約43分以内 |
| RTO | ４時間 | 大規模障害時 |
| RPO | 約 5分 | ポイントインタイムリカバリ |

## 5. 監視・アラート設計

### 5.1 メトリクス監視

| メトリクス | 閾値 | 評価期間 | 通知先 |
|------------|------|----------|--------|
| CPUUtilization | ８０％以上 | ５分×３回 | `#ops-alert` |
| ALB 5XX エラー数 | 10件/分 | 1分 | PagerDuty ✅ |
| FreeStorageSpace | 10GB未満 | 15分 | Slack ⚠️ |

### 5.2 ログ保持

| ログ種別 | 保持期間 | 理由 |
|----------|----------|------|
| アプリケーションログ | 90日 | 障害調査 |
| 監査ログ（CloudTrail） | ７年 | 契約3年＋法定保存 |

## 8. コスト見積

| リソース | スペック | 月額費用 | 根拠 |
|----------|----------|----------|------|
| RDS for MySQL | db.r6g.large マルチAZ | $290 | 東京リージョン単価 |
| ECS Fargate | 0.5vCPU/1GB × 2 | ＄72 | 常時2タスク |
| NAT Gateway | 1台 | ￥7,500 | |
| **合計** | | **$412** | |

## 9. 運用手順

### 9.1 デプロイ手順（Runbook）

1. 変更セットを作成し、差分を確認する。
2. 承認後に実行する。

```bash
aws cloudformation create-change-set \\
  --stack-name order-prod \\
  --change-set-name release-20240401 \\
  --template-body file://template.yaml
aws cloudformation execute-change-set \\
  --stack-name order-prod \\
  --change-set-name release-20240401
```

### 9.2 切り戻し

    aws cloudformation rollback-stack --stack-name order-prod
"""


def _section(doc, title):
    return next(s for s in doc.sections() if s.title == title)


def test_heading_tree():
    doc = parse_markdown(DESIGN_DOC)
    assert doc.title == "基本設計書 — 受発注システム"
    assert (doc.root.level, doc.root.title, doc.root.line) == (0, "", 0)
    (top,) = doc.root.children
    assert (top.title, top.level, top.line) == ("基本設計書 — 受発注システム", 1, 1)
    assert [(s.title, s.level, s.line) for s in top.children] == [
        ("1. 概要", 2, 7),
        ("4. 可用性設計", 2, 11),
        ("5. 監視・アラート設計", 2, 22),
        ("8. コスト見積", 2, 39),
        ("9. 運用手順", 2, 48),
    ]
    monitoring = top.children[2]
    assert [(s.title, s.level, s.line) for s in monitoring.children] == [
        ("5.1 メトリクス監視", 3, 24),
        ("5.2 ログ保持", 3, 32),
    ]
    # An h2 after the h3s closes them: コスト見積 is a sibling of 監視, not a child of 5.2.
    assert monitoring.children[1].children == []
    runbook = top.children[4].children[0]
    assert runbook.title == "9.1 デプロイ手順(Runbook)"  # full-width brackets normalized
    assert runbook.path() == ("基本設計書 — 受発注システム", "9. 運用手順", "9.1 デプロイ手順(Runbook)")
    assert [s.title for s in doc.sections()][:4] == ["", top.title, "1. 概要", "4. 可用性設計"]


def test_availability_table_is_normalized_with_exact_lines():
    doc = parse_markdown(DESIGN_DOC)
    (table,) = _section(doc, "4. 可用性設計").tables
    assert table == Table(
        header=("項目", "目標値", "備考"),
        rows=(
            ("目標稼働率", "99.9%", "月間停止 43分以内"),
            ("RTO", "4時間", "大規模障害時"),
            ("RPO", "5分", "ポイントインタイムリカバリ"),
        ),
        raw_rows=(
            ("目標稼働率", "９９．９％", "月間停止 約43分以内"),
            ("RTO", "４時間", "大規模障害時"),
            ("RPO", "約 5分", "ポイントインタイムリカバリ"),
        ),
        line=16,
        row_lines=(18, 19, 20),
    )
    assert table.as_dicts()[0] == {"項目": "目標稼働率", "目標値": "99.9%", "備考": "月間停止 43分以内"}
    lines = doc.lines()
    assert lines[table.line - 1].startswith("| 項目 |")
    assert lines[table.row_lines[0] - 1].startswith("| 目標稼働率 |")


def test_monitoring_and_log_tables():
    doc = parse_markdown(DESIGN_DOC)
    (metrics,) = _section(doc, "5.1 メトリクス監視").tables
    assert metrics.header == ("メトリクス", "閾値", "評価期間", "通知先")
    assert metrics.rows == (
        ("CPUUtilization", "80%以上", "5分×3回", "#ops-alert"),
        ("ALB 5XX エラー数", "10件/分", "1分", "PagerDuty ✅"),
        ("FreeStorageSpace", "10GB未満", "15分", "Slack ⚠️"),
    )
    assert (metrics.line, metrics.row_lines) == (26, (28, 29, 30))
    assert metrics.column("閾値") == 1
    assert metrics.column("通知", "宛先") == 3
    assert metrics.column("ｍｅｔｒｉｃ", "メトリクス") == 0  # keywords are normalized too
    assert metrics.column("保持期間") is None

    (logs,) = _section(doc, "5.2 ログ保持").tables
    assert logs.header == ("ログ種別", "保持期間", "理由")
    assert logs.rows == (
        ("アプリケーションログ", "90日", "障害調査"),
        ("監査ログ(CloudTrail)", "7年", "契約3年+法定保存"),  # 契約3年 keeps its 約
    )
    assert (logs.line, logs.row_lines) == (34, (36, 37))


def test_cost_table_strips_emphasis_and_unifies_currency():
    doc = parse_markdown(DESIGN_DOC)
    (cost,) = _section(doc, "8. コスト見積").tables
    assert cost.header == ("リソース", "スペック", "月額費用", "根拠")
    assert cost.rows == (
        ("RDS for MySQL", "db.r6g.large マルチAZ", "$290", "東京リージョン単価"),
        ("ECS Fargate", "0.5vCPU/1GB × 2", "$72", "常時2タスク"),
        ("NAT Gateway", "1台", "¥7,500", ""),
        ("合計", "", "$412", ""),
    )
    assert cost.raw_rows[3] == ("**合計**", "", "**$412**", "")
    assert (cost.line, cost.row_lines) == (41, (43, 44, 45, 46))
    assert cost.as_dicts()[3]["月額費用"] == "$412"


def test_tables_in_document_order():
    doc = parse_markdown(DESIGN_DOC)
    assert [(s.title, t.line) for s, t in doc.tables()] == [
        ("基本設計書 — 受発注システム", 3),
        ("4. 可用性設計", 16),
        ("5.1 メトリクス監視", 26),
        ("5.2 ログ保持", 34),
        ("8. コスト見積", 41),
    ]


def test_paragraphs_and_list_items_keep_their_text_and_lines():
    doc = parse_markdown(DESIGN_DOC)
    assert _section(doc, "1. 概要").paragraphs == [
        Paragraph("本書は受発注システム（本番環境 ap-northeast-1）の基盤設計を定める。", 9)
    ]
    assert _section(doc, "4. 可用性設計").paragraphs == [
        Paragraph("RDS はマルチAZ構成とする。", 13),
        Paragraph("ECS サービスは 2 AZ に **最低 2 タスク** 配置する。", 14),
    ]
    assert [p.line for p in _section(doc, "9.1 デプロイ手順(Runbook)").paragraphs] == [52, 53]


def test_code_blocks():
    doc = parse_markdown(DESIGN_DOC)
    fenced, indented = doc.code_blocks()
    assert fenced.lang == "bash"
    assert fenced.line == 56
    assert fenced.text.startswith("aws cloudformation create-change-set \\\n  --stack-name order-prod")
    assert fenced.text.count("aws cloudformation") == 2
    lines = doc.lines()
    for k, text_line in enumerate(fenced.text.splitlines(), start=1):
        assert lines[fenced.line + k - 2] == text_line  # text line k is at fenced.line + k - 1
    assert _section(doc, "9.1 デプロイ手順(Runbook)").code_blocks == [fenced]
    assert indented == CodeBlock(
        lang="", text="aws cloudformation rollback-stack --stack-name order-prod\n", line=67
    )


def test_find_sections():
    doc = parse_markdown(DESIGN_DOC)
    assert [s.title for s in doc.find_sections("監視")] == ["5. 監視・アラート設計", "5.1 メトリクス監視"]
    assert [s.title for s in doc.find_sections("アラート", "ｺｽﾄ")] == ["5. 監視・アラート設計", "8. コスト見積"]
    assert [s.title for s in doc.find_sections("runbook")] == ["9.1 デプロイ手順(Runbook)"]
    assert doc.find_sections("バックアップ") == []
    assert doc.find_sections("") == []


def test_heading_nesting_edge_cases():
    doc = parse_markdown("### 深い見出し\n本文\n## 浅い見出し\n#### さらに深い\n# トップ\n")
    assert [(s.title, s.level) for s in doc.root.children] == [
        ("深い見出し", 3),
        ("浅い見出し", 2),
        ("トップ", 1),
    ]
    assert [s.title for s in doc.root.children[1].children] == ["さらに深い"]
    assert doc.title == "トップ"
    assert parse_markdown("## 見出しのみ\n").title == "見出しのみ"
    assert parse_markdown("本文だけ\n").title == ""
    assert parse_markdown("本文だけ\n").root.paragraphs == [Paragraph("本文だけ", 1)]


def test_lines_handle_crlf_and_short_rows():
    doc = parse_markdown("# 表\r\n\r\n| a | b | c |\r\n|---|---|---|\r\n| 1 |\r\n")
    (_, table), = doc.tables()
    assert table.rows == (("1", "", ""),)  # short rows are padded by markdown-it
    assert (table.line, table.row_lines) == (3, (5,))
    assert doc.lines() == ["# 表", "", "| a | b | c |", "|---|---|---|", "| 1 |"]


def test_normalize_cell():
    assert normalize_cell("９９．９５％") == "99.95%"
    assert normalize_cell("約43分") == "43分"
    assert normalize_cell("約 ４３ 分") == "43 分"
    assert normalize_cell("月間停止　約43分以内") == "月間停止 43分以内"
    assert normalize_cell("**合計**") == "合計"
    assert normalize_cell("__重要__ と `t3.micro` と *注記*") == "重要 と t3.micro と 注記"
    assert normalize_cell("￥12,000") == "¥12,000"
    assert normalize_cell("  （ＡＬＢ）\n 5XX  ") == "(ALB) 5XX"
    assert normalize_cell("月間<br>43分") == "月間 43分"
    assert normalize_cell("✅ 対応済") == "✅ 対応済"
    assert normalize_cell("⚠️ 要確認") == "⚠️ 要確認"
    assert normalize_cell("契約3年") == "契約3年"
    assert normalize_cell("約款の確認") == "約款の確認"
    assert normalize_cell("5 * 3 * 2") == "5 * 3 * 2"
    assert normalize_cell("") == ""


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_never_raises_on_any_text(text):
    doc = parse_markdown(text)
    for section in doc.sections():
        for table in section.tables:
            assert len(table.rows) == len(table.raw_rows) == len(table.row_lines)
    assert isinstance(doc.title, str)
    doc.lines()


MARKDOWN_ALPHABET = st.sampled_from(
    list("#|-*_`~>:= \n\t1９約表見出し") + ["```", "| a | b |\n|---|---|\n", "    ", "<br>", "\r\n", "1. "]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(MARKDOWN_ALPHABET, max_size=80).map("".join))
def test_parse_never_raises_on_markdown_like_text(text):
    doc = parse_markdown(text)
    n_lines = max(len(doc.lines()), 1)
    for section in doc.sections():
        assert 0 <= section.level <= 6
        for table in section.tables:
            assert 1 <= table.line <= n_lines
            assert all(table.line < line <= n_lines for line in table.row_lines)
        for block in section.code_blocks:
            assert 1 <= block.line <= n_lines + 1  # an empty fence at EOF points just past it


@given(st.text())
def test_normalize_cell_never_raises(text):
    assert isinstance(normalize_cell(text), str)
