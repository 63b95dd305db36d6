"""Renderers: the prescribed markdown (ja/en), the JSON contract and SARIF 2.1.0."""

from __future__ import annotations

from typing import Literal

from sre_agent.models import Review

Format = Literal["md", "json", "sarif"]


def render(review: Review, fmt: Format = "md", lang: str = "ja") -> str:
    if fmt == "json":
        return review.to_json() + "\n"
    if fmt == "sarif":
        from sre_agent.render.sarif import render_sarif

        return render_sarif(review) + "\n"
    from sre_agent.render.markdown import render_markdown

    return render_markdown(review, lang)
