"""The one place that talks to the Messages API, behind a two-method protocol.

`MessagesBackend` is what the pass needs: `count_tokens` and `create`. `AnthropicBackend` is
the real one (the anthropic SDK, imported lazily — it is the optional `[llm]` extra); it reads
`ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` itself, retries 408/409/429/5xx/529 and
connection errors with its own exponential backoff, `max_retries` times. `sre_agent.testing.
FakeLLM` is another implementation for tests.
"""

from __future__ import annotations

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

    def tool_call(self, name: str) -> dict[str, Any] | None:
        return next((b for b in self.content
                     if b.get("type") == "tool_use" and b.get("name") == name), None)


class MessagesBackend(Protocol):
    def count_tokens(self, *, model: str, system: list[dict], messages: list[dict],
                     tools: list[dict]) -> int: ...

    def create(self, *, model: str, max_tokens: int, system: list[dict], messages: list[dict],
               tools: list[dict], tool_choice: dict, timeout: float) -> Reply: ...


class AnthropicBackend:
    def __init__(self, timeout: float, max_retries: int) -> None:
        import anthropic

        self._anthropic = anthropic
        self.client = anthropic.Anthropic(timeout=timeout, max_retries=max_retries)

    def count_tokens(self, *, model: str, system: list[dict], messages: list[dict],
                     tools: list[dict]) -> int:
        try:
            return self.client.messages.count_tokens(model=model, system=system,
                                                     messages=messages, tools=tools).input_tokens
        except self._anthropic.APIError as exc:
            raise LlmCallError(f"count_tokens: {_describe(exc)}") from exc

    def create(self, *, model: str, max_tokens: int, system: list[dict], messages: list[dict],
               tools: list[dict], tool_choice: dict, timeout: float) -> Reply:
        try:
            message = self.client.messages.create(
                model=model, max_tokens=max_tokens, system=system, messages=messages,
                tools=tools, tool_choice=tool_choice, timeout=timeout)
        except self._anthropic.APIError as exc:
            raise LlmCallError(_describe(exc)) from exc
        usage = message.usage
        return Reply(
            content=[block.model_dump(exclude_none=True) for block in message.content],
            stop_reason=message.stop_reason,
            usage=Usage(input_tokens=usage.input_tokens or 0, output_tokens=usage.output_tokens or 0,
                        cache_read_tokens=usage.cache_read_input_tokens or 0,
                        cache_creation_tokens=usage.cache_creation_input_tokens or 0))


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    return f"{name} (HTTP {status})" if status else f"{name}: {exc}"
