"""The answer the model must give: a JSON object of this schema (structured output).

Field descriptions are prompt text: the model reads them. Keep them precise and in the
language of the review (Japanese); the field names stay ASCII. Strict on purpose: unknown keys
are refused and every list is required, so `{"garbage": true}` is an invalid answer (retried,
then a failed pass) and never "nothing to add".
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Evidence(_Strict):
    file: str = Field(description="根拠のファイル。送られたコンテキストに現れるパスをそのまま書く。")
    line: int = Field(ge=1, description="根拠の行番号（コンテキストの行頭に付いた番号、1 始まり）。")
    resource: str | None = Field(description="CloudFormation の論理 ID または Terraform のアドレス。"
                                 "ドキュメントやスクリプトなら null。")
    quote: str = Field(min_length=3, max_length=300,
                       description="その行の全体をそのまま引用する（行番号は除く。複数行でもよい）。"
                       "行の一部だけ・要約・言い換えは不可。")


class ReviewItem(_Strict):
    mark: Literal["❌", "⚠️", "✅"] = Field(
        description="❌ = 運用に出せない問題、⚠️ = 条件付き（対応を推奨）、✅ = 確認して問題なし。")
    judgement: str = Field(min_length=2, max_length=80, description="判定: 一行の短い結論。")
    reason: str = Field(min_length=5, max_length=600,
                        description="理由: 具体的な運用上の問題（何が、いつ、どう困るか）。")
    recommendation: str = Field(max_length=400, description="推奨事項: 具体的な対応（無ければ空文字）。")
    evidence: list[Evidence] = Field(max_length=5,
                                     description="根拠。❌ と ⚠️ には最低 1 件必須。✅ は空でよい。")


class LlmReview(_Strict):
    """The four perspectives of `## sre レビュー結果`, in their order."""

    operability: list[ReviewItem] = Field(max_length=10, description="運用性")
    infrastructure: list[ReviewItem] = Field(max_length=10, description="インフラ技術の評価")
    monitoring: list[ReviewItem] = Field(max_length=10, description="監視・アラート設計")
    cost: list[ReviewItem] = Field(max_length=10,
                                   description="コスト監視・トラブルシューティング")


def output_format() -> dict[str, Any]:
    """`output_config.format` for `LlmReview`, through the SDK's own schema transform (it moves
    the constraints structured outputs does not enforce — lengths, minimums — into the
    descriptions; our pydantic validation still enforces them)."""
    from anthropic import transform_schema

    return {"type": "json_schema", "schema": transform_schema(LlmReview)}


LIMITS = {"judgement": 80, "reason": 600, "recommendation": 400}
PERSPECTIVES = ("operability", "infrastructure", "monitoring", "cost")


def clipped(data: Any) -> Any:
    """Structured outputs enforce the shape, not the lengths (the SDK moves those into the
    descriptions): one over-long reason must not cost the whole answer. Text is cut to its
    limit, lists to their size; a cut quote then simply fails verification. Anything not
    shaped like an answer is returned as it is, for validation to refuse."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for perspective in PERSPECTIVES:
        items = out.get(perspective)
        if not isinstance(items, list):
            continue
        out[perspective] = [_clip_item(item) for item in items[:10]]
    return out


def _clip_item(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    item = dict(item)
    for key, limit in LIMITS.items():
        if isinstance(item.get(key), str):
            item[key] = item[key][:limit]
    evidence = item.get("evidence")
    if isinstance(evidence, list):
        item["evidence"] = [{**ev, "quote": ev["quote"][:300]}
                            if isinstance(ev, dict) and isinstance(ev.get("quote"), str) else ev
                            for ev in evidence[:5]]
    return item
