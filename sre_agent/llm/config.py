"""When the LLM pass runs, against which model, with which request, and within which limits.

Everything comes from the review config (CLI flags) and the environment, read once here:
`ANTHROPIC_API_KEY` (its presence turns `--llm auto` on), `ANTHROPIC_BASE_URL` (read by the SDK
itself), `SRE_AGENT_MODEL`, `SRE_AGENT_LLM_TIMEOUT` (seconds per request), `SRE_AGENT_LLM_BUDGET`
(seconds for the whole pass), `SRE_AGENT_LLM_RETRIES` (SDK retries on 408/409/429/5xx/529 and
connection errors, with its exponential backoff), `SRE_AGENT_LLM_MAX_INPUT_TOKENS` (the size
of one request before the context is split), `SRE_AGENT_LLM_MAX_OUTPUT_TOKENS` and
`SRE_AGENT_LLM_EFFORT`.

What we send is the one request shape every current model accepts (see `MODELS`): structured
output through `output_config.format`, an `effort`, and nothing the current models refuse —
no `tool_choice` forcing a tool, no `temperature`/`top_p`/`top_k`, no assistant prefill, no
`thinking` field (adaptive thinking is their default, and a budget or `disabled` is a 400).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

# A current Sonnet-class model of the installed SDK's `ModelParam` literal, not in its
# DEPRECATED_MODELS (tests/test_llm.py checks both against the installed SDK).
DEFAULT_MODEL = "claude-sonnet-5-5"
LIGHT_MODEL = "claude-haiku-5-5"
Effort = Literal["low", "medium", "high", "xhigh", "max"]
EFFORTS: tuple[str, ...] = ("low", "medium", "high", "xhigh", "max")


@dataclass(frozen=True)
class Price:
    """USD per million tokens. `long_*` apply to every token of a request whose prompt (input +
    cache reads + cache writes) is over `long_over` tokens (Haiku 5.5's two price bands)."""

    input: float
    output: float
    cache_write: float          # 5-minute cache writes (the only kind we ask for)
    cache_read: float
    long_over: int | None = None
    long: tuple[float, float, float, float] | None = None   # input, output, cache write, read


@dataclass(frozen=True)
class ModelProfile:
    """What we send to a model: `effort` = None for models that do not take the parameter."""

    price: Price | None
    effort: bool = True


# List prices, from platform.claude.com's model pages and pricing page, checked 2026-12-02.
PRICES_CHECKED = "2026-12-02"
MODELS: dict[str, ModelProfile] = {
    "claude-sonnet-5-5": ModelProfile(Price(2.0, 10.0, 2.5, 0.10)),
    "claude-opus-5-5": ModelProfile(Price(4.0, 20.0, 5.0, 0.20)),
    "claude-haiku-5-5": ModelProfile(Price(0.10, 0.50, 0.125, 0.01, long_over=100_000,
                                           long=(0.50, 2.50, 0.625, 0.05))),
    "claude-sonnet-5": ModelProfile(Price(2.0, 10.0, 2.5, 0.20)),
    "claude-opus-5": ModelProfile(Price(5.0, 25.0, 6.25, 0.50)),
    "claude-sonnet-4-6": ModelProfile(Price(3.0, 15.0, 3.75, 0.30)),
    "claude-haiku-4-5": ModelProfile(Price(1.0, 5.0, 1.25, 0.10), effort=False),
}


class LlmSettings(BaseModel):
    enabled: bool
    reason: str | None = None          # why not enabled
    model: str = DEFAULT_MODEL
    timeout: float = 120.0
    budget: float = 600.0
    max_retries: int = 2
    max_input_tokens: int = 150_000
    # Thinking counts against max_tokens on the current models: room for it and the answer.
    max_output_tokens: int = 32_000
    effort: Effort | None = "high"
    validation_retries: int = 1
    deep: bool = True
    standards_dir: str | None = None   # the project's own standards (--standards), else ours


def _number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


def _effort(model: str, deep: bool) -> str | None:
    """Deep reviews think harder; unknown models get no effort (a 400 costs more than a default)."""
    profile = MODELS.get(model)
    if profile is None or not profile.effort:
        return None
    chosen = os.environ.get("SRE_AGENT_LLM_EFFORT", "")
    return chosen if chosen in EFFORTS else ("high" if deep else "medium")


def settings_for(llm: Literal["auto", "on", "off"], model: str | None,
                 mode: Literal["light", "deep"], injected: bool = False) -> LlmSettings:
    """`injected` = the caller passed its own client (FakeLLM): no key is needed then."""
    chosen = model or os.environ.get("SRE_AGENT_MODEL") or (
        DEFAULT_MODEL if mode == "deep" else LIGHT_MODEL)
    common = dict(model=chosen, deep=mode == "deep", effort=_effort(chosen, mode == "deep"),
                  timeout=_number("SRE_AGENT_LLM_TIMEOUT", 120.0),
                  budget=_number("SRE_AGENT_LLM_BUDGET", 600.0),
                  max_retries=int(_number("SRE_AGENT_LLM_RETRIES", 2)),
                  max_input_tokens=int(_number("SRE_AGENT_LLM_MAX_INPUT_TOKENS", 150_000)),
                  max_output_tokens=int(_number("SRE_AGENT_LLM_MAX_OUTPUT_TOKENS", 32_000)))
    if llm == "off":
        return LlmSettings(enabled=False, reason="disabled with --llm off", **common)
    if injected:
        return LlmSettings(enabled=True, **common)
    if not os.environ.get("ANTHROPIC_API_KEY"):
        reason = "no ANTHROPIC_API_KEY"
        return LlmSettings(enabled=False, reason=reason + (" (--llm on)" if llm == "on" else ""),
                           **common)
    try:
        import anthropic  # noqa: F401  (a dependency; missing only in a broken environment)
    except ImportError:
        return LlmSettings(enabled=False, reason="the anthropic SDK is not installed "
                           "(pip install anthropic)", **common)
    return LlmSettings(enabled=True, **common)


def request_cost(model: str, input_tokens: int, output_tokens: int, cache_read: int,
                 cache_creation: int) -> float | None:
    """The list price of one request (a prompt's size picks the band), or None for a model
    whose price we do not know."""
    profile = MODELS.get(model)
    if profile is None or profile.price is None:
        return None
    price = profile.price
    rates = (price.input, price.output, price.cache_write, price.cache_read)
    prompt = input_tokens + cache_read + cache_creation
    if price.long_over is not None and price.long is not None and prompt > price.long_over:
        rates = price.long
    per_in, per_out, per_write, per_read = (rate / 1e6 for rate in rates)
    return (input_tokens * per_in + output_tokens * per_out + cache_creation * per_write
            + cache_read * per_read)
