"""Every heading and fixed phrase of the prescribed formats, in one place per language.

These strings are a contract with the PM agent that reads them (shared/spec/formats.md):
change them only with the spec.
"""

from __future__ import annotations

from sre_agent.models import Perspective, Severity

LABELS: dict[str, dict[str, str]] = {
    "ja": {
        "title": "## sre レビュー結果",
        Perspective.OPERABILITY.value: "運用性",
        Perspective.INFRASTRUCTURE.value: "インフラ技術の評価",
        Perspective.MONITORING.value: "監視・アラート設計",
        Perspective.COST.value: "コスト監視・トラブルシューティング",
        "overall": "総合評価",
        "operable": "運用可能",
        "yes": "✅ Yes", "conditional": "⚠️ 条件付き", "no": "❌ No",
        "concerns": "重要な懸念事項",
        "recommendations": "推奨事項",
        "none": "なし",
        "and_more": "ほか",
        "example": "例",
        "count": "件",
        "appendix": "付録",
        "files": "対象ファイル",
        "reviewed": "レビュー済み", "skipped": "スキップ", "error": "解析エラー",
        "analyzers": "実行したアナライザー",
        "standards": "適用した技術標準",
        "llm": "LLM 分析",
        "llm_unused": "未使用",
        "llm_failed": "失敗（決定的レビューのみ）",
        "llm_usage": "リクエスト {requests} 件 / 入力 {input} / 出力 {output} / キャッシュ読込 {cache_read} / キャッシュ書込 {cache_write} トークン",
        "llm_cost": "推定費用",
        "llm_sent": "送信したもの",
        "llm_not_sent": "送信しなかったもの",
        "llm_redactions": "伏せた秘密情報",
        "llm_rejected": "根拠を確認できず捨てた参照",
        "suppressed": "抑止された指摘",
        "info": "参考情報（info）",
        "nothing_found": "この観点の自動チェックで指摘なし",
        "checked": "確認対象",
        "no_input": "この観点を評価できる入力が見つからない",
    },
    "en": {
        "title": "## SRE review",
        Perspective.OPERABILITY.value: "Operability",
        Perspective.INFRASTRUCTURE.value: "Infrastructure",
        Perspective.MONITORING.value: "Monitoring and alerting",
        Perspective.COST.value: "Cost and troubleshooting",
        "overall": "Overall",
        "operable": "Operable",
        "yes": "✅ Yes", "conditional": "⚠️ Conditional", "no": "❌ No",
        "concerns": "Critical concerns",
        "recommendations": "Recommendations",
        "none": "none",
        "and_more": "and more",
        "example": "e.g.",
        "count": "findings",
        "appendix": "Appendix",
        "files": "Files",
        "reviewed": "reviewed", "skipped": "skipped", "error": "error",
        "analyzers": "Analyzers",
        "standards": "Technical standards",
        "llm": "LLM analysis",
        "llm_unused": "not used",
        "llm_failed": "failed (deterministic review only)",
        "llm_usage": "{requests} requests / input {input} / output {output} / cache read {cache_read} / cache write {cache_write} tokens",
        "llm_cost": "estimated cost",
        "llm_sent": "sent",
        "llm_not_sent": "not sent",
        "llm_redactions": "secrets redacted",
        "llm_rejected": "references rejected (evidence not found)",
        "suppressed": "Suppressed findings",
        "info": "Informational findings",
        "nothing_found": "No findings from the automated checks of this perspective",
        "checked": "checked",
        "no_input": "no input that this perspective can evaluate was found",
    },
}

MARKS = {Severity.ERROR: "❌", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}
PASSED_MARK = "✅"
