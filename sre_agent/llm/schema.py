"""The answer the model must give, as the input schema of a forced tool.

Field descriptions are prompt text: the model reads them. Keep them precise and in the
language of the review (Japanese); the field names stay ASCII for the tool schema.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

TOOL_NAME = "record_sre_review"


class Evidence(BaseModel):
    file: str = Field(description="根拠のファイル。送られたコンテキストに現れるパスをそのまま書く。")
    line: int = Field(ge=1, description="根拠の行番号（コンテキストの行頭に付いた番号、1 始まり）。")
    resource: str | None = Field(None, description="CloudFormation の論理 ID または Terraform のアドレス。"
                                 "ドキュメントやスクリプトなら null。")
    quote: str = Field(min_length=3, max_length=300,
                       description="その行（または前後 2 行以内）からそのまま引用した文字列。"
                       "要約や言い換えは不可。")


class ReviewItem(BaseModel):
    mark: Literal["❌", "⚠️", "✅"] = Field(
        description="❌ = 運用に出せない問題、⚠️ = 条件付き（対応を推奨）、✅ = 確認して問題なし。")
    judgement: str = Field(min_length=2, max_length=80, description="判定: 一行の短い結論。")
    reason: str = Field(min_length=5, max_length=600,
                        description="理由: 具体的な運用上の問題（何が、いつ、どう困るか）。")
    recommendation: str = Field("", max_length=400, description="推奨事項: 具体的な対応。")
    evidence: list[Evidence] = Field(default_factory=list, max_length=5,
                                     description="根拠。❌ と ⚠️ には最低 1 件必須。")


class LlmReview(BaseModel):
    """The four perspectives of `## sre レビュー結果`, in their order."""

    operability: list[ReviewItem] = Field(default_factory=list, max_length=10,
                                          description="運用性")
    infrastructure: list[ReviewItem] = Field(default_factory=list, max_length=10,
                                             description="インフラ技術の評価")
    monitoring: list[ReviewItem] = Field(default_factory=list, max_length=10,
                                         description="監視・アラート設計")
    cost: list[ReviewItem] = Field(default_factory=list, max_length=10,
                                   description="コスト監視・トラブルシューティング")


def review_tool() -> dict:
    return {"name": TOOL_NAME,
            "description": "SRE レビューの結果を観点ごとに記録する。回答は必ずこのツールで返す。",
            "input_schema": LlmReview.model_json_schema()}
