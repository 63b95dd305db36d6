"""The one place that talks to the Messages API, behind a two-method protocol.

`MessagesBackend` is what the pass needs: `count_tokens` and `create`. `AnthropicBackend` is
the real one (the anthropic SDK); it reads `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` itself,
retries 408/409/429/5xx/529 and connection errors with its own exponential backoff,
`max_retries` times. `sre_agent.testing.FakeLLM` is another implementation for tests.
An API error keeps the API's own words (`invalid_request_error: "thinking.type.disabled" is
not supported…`): a user who reads only "HTTP 400" cannot fix anything.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from pydantic import BaseModel, Field


class LlmCallError(Exception):
    """A request that failed for good (after the SDK's retries): the pass fails with it."""


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0


class Reply(BaseModel):
    content: list[dict[str, Any]] = Field(default_factory=list)  # the assistant's blocks
    usage: Usage = Field(default_factory=Usage)
    stop_reason: str | None = None

    def text(self) -> str:
        """The answer: the text blocks, whatever thinking blocks come before them."""
        return "".join(b.get("text", "") for b in self.content if b.get("type") == "text")


class MessagesBackend(Protocol):
    def count_tokens(self, *, model: str, system: list[dict], messages: list[dict],
                     output_config: dict, timeout: float) -> int: ...

    def create(self, *, model: str, max_tokens: int, system: list[dict], messages: list[dict],
               output_config: dict, timeout: float, deadline: float | None = None) -> Reply: ...


class AnthropicBackend:
    def __init__(self, timeout: float, max_retries: int) -> None:
        import anthropic

        self._anthropic = anthropic
        self.client = anthropic.Anthropic(timeout=timeout, max_retries=max_retries)

    def count_tokens(self, *, model: str, system: list[dict], messages: list[dict],
                     output_config: dict, timeout: float) -> int:
        """One try, no retries: counting is an optimisation, the estimate is the fallback."""
        try:
            answer = self.client.with_options(max_retries=0).messages.count_tokens(
                model=model, system=system, messages=messages, output_config=output_config,
                timeout=timeout)
        except self._anthropic.APIError as exc:
            raise LlmCallError(f"count_tokens: {describe(exc, timeout)}") from exc
        return answer.input_tokens

    def create(self, *, model: str, max_tokens: int, system: list[dict], messages: list[dict],
               output_config: dict, timeout: float, deadline: float | None = None) -> Reply:
        """Streamed: an answer with room for thinking can take minutes, and the SDK (rightly)
        refuses a non-streamed request that may outlive its 10-minute default. `timeout` is
        then the longest silence we accept; `deadline` (monotonic) ends a stream that is still
        talking when the pass's time budget is spent."""
        try:
            with self.client.messages.stream(
                    model=model, max_tokens=max_tokens, system=system, messages=messages,
                    output_config=output_config, timeout=timeout) as stream:
                for _ in stream:
                    if deadline is not None and time.monotonic() > deadline:
                        raise LlmCallError("the time budget ran out while the answer was streaming")
                message = stream.get_final_message()
        except self._anthropic.APIError as exc:
            raise LlmCallError(describe(exc, timeout)) from exc
        usage = message.usage
        return Reply(
            content=[block.model_dump(exclude_none=True) for block in message.content],
            stop_reason=message.stop_reason,
            usage=Usage(input_tokens=usage.input_tokens or 0, output_tokens=usage.output_tokens or 0,
                        cache_read_tokens=usage.cache_read_input_tokens or 0,
                        cache_creation_tokens=usage.cache_creation_input_tokens or 0))


def describe(exc: Exception, timeout: float | None = None) -> str:
    """`BadRequestError (HTTP 400, invalid_request_error): <the API's message>`."""
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if "Timeout" in name and timeout is not None:
        return f"{name}: no answer within {timeout:.0f} s (after the SDK's retries)"
    if not status:
        return f"{name}: {exc}"
    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return f"{name} (HTTP {status}, {error.get('type', 'error')}): {error['message']}"
    return f"{name} (HTTP {status}): {getattr(exc, 'message', '') or exc}"
