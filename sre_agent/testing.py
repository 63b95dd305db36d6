"""Test helpers for users of sre-agent: a fake model for the LLM pass, no network needed.

    from sre_agent.review import review, ReviewConfig
    from sre_agent.testing import FakeLLM, item

    fake = FakeLLM([{"operability": [item("⚠️", "手順が曖昧", "…", file="docs/runbook.md",
                                          line=12, quote="マネジメントコンソールで確認")]}])
    result = review(["my-project"], ReviewConfig(analyzers=("sre",)), llm_backend=fake)
    assert fake.requests and result.llm.used

A reply is an `LlmReview`, a dict (the JSON answer, validated by the pass like a real one —
so malformed dicts exercise the retry), a `Reply`, or an exception to raise (for example
`sre_agent.llm.LlmCallError("overloaded")`). `FakeLLM(function)` calls `function(request)`
for each request instead; `request` is the dict of keyword arguments the pass sent.
When canned replies run out, the last one is repeated.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from sre_agent.llm.backend import Reply, Usage
from sre_agent.llm.review_pass import estimate_tokens
from sre_agent.llm.schema import LlmReview

Canned = LlmReview | dict | Reply | Exception
EMPTY = LlmReview(operability=[], infrastructure=[], monitoring=[], cost=[])


def item(mark: str, judgement: str, reason: str, *, file: str | None = None,
         line: int | None = None, quote: str | None = None, resource: str | None = None,
         recommendation: str = "") -> dict[str, Any]:
    """One review item as the model would send it (evidence only when file is given)."""
    evidence = ([{"file": file, "line": line, "quote": quote, "resource": resource}]
                if file else [])
    return {"mark": mark, "judgement": judgement, "reason": reason,
            "recommendation": recommendation, "evidence": evidence}


class FakeLLM:
    """A `sre_agent.llm.MessagesBackend` that answers from a script; records every request."""

    def __init__(self, replies: list[Canned] | Callable[[dict], Canned] | None = None) -> None:
        self._replies = replies if replies is not None else [EMPTY]
        self._index = 0
        self.requests: list[dict[str, Any]] = []
        self.counted: list[dict[str, Any]] = []

    def count_tokens(self, *, model: str, system: list[dict], messages: list[dict],
                     output_config: dict, timeout: float) -> int:
        request = {"model": model, "system": system, "messages": messages,
                   "output_config": output_config}
        self.counted.append(request)
        return estimate_tokens(json.dumps(request, ensure_ascii=False))

    def create(self, **request: Any) -> Reply:
        self.requests.append(request)
        canned = self._next(request)
        if isinstance(canned, Exception):
            raise canned
        if isinstance(canned, Reply):
            return canned
        payload = canned.model_dump() if isinstance(canned, LlmReview) else canned
        prompt = json.dumps({k: request.get(k) for k in ("system", "messages")}, ensure_ascii=False)
        return Reply(content=[{"type": "text", "text": json.dumps(payload, ensure_ascii=False)}],
                     stop_reason="end_turn",
                     usage=Usage(input_tokens=estimate_tokens(prompt),
                                 output_tokens=estimate_tokens(json.dumps(payload, ensure_ascii=False))))

    def _next(self, request: dict) -> Canned:
        if callable(self._replies):
            return self._replies(request)
        canned = self._replies[min(self._index, len(self._replies) - 1)]
        self._index += 1
        return canned


__all__ = ["FakeLLM", "item"]
