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
        "llm": "LLM 分析",
        "llm_unused": "未使用",
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
        "llm": "LLM analysis",
        "llm_unused": "not used",
        "suppressed": "Suppressed findings",
        "info": "Informational findings",
        "nothing_found": "No findings from the automated checks of this perspective",
        "checked": "checked",
        "no_input": "no input that this perspective can evaluate was found",
    },
}

MARKS = {Severity.ERROR: "❌", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}
PASSED_MARK = "✅"
