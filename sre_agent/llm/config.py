"""When the LLM pass runs, against which model, and within which limits.

Everything comes from the review config (CLI flags) and the environment, read once here:
`ANTHROPIC_API_KEY` (its presence turns `--llm auto` on), `ANTHROPIC_BASE_URL` (read by the SDK
itself), `SRE_AGENT_MODEL`, `SRE_AGENT_LLM_TIMEOUT` (seconds per request), `SRE_AGENT_LLM_BUDGET`
(seconds for the whole pass), `SRE_AGENT_LLM_RETRIES` (SDK retries on 408/409/429/5xx/529 and
connection errors, with its exponential backoff) and `SRE_AGENT_LLM_MAX_INPUT_TOKENS` (the size
of one request before the context is split).
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel

# A current Sonnet-class model of the installed SDK's `ModelParam` literal, not in its
# DEPRECATED_MODELS (tests/test_llm.py checks both against the installed SDK).
DEFAULT_MODEL = "claude-sonnet-5-5"
LIGHT_MODEL = "claude-haiku-5-5"

# USD per million tokens: (input, output). Cache writes cost 1.25x input, cache reads 0.1x.
# Approximate list prices used for the appendix estimate only; unknown models give no estimate.
PRICES: dict[str, tuple[float, float]] = {
    "claude-sonnet-5-5": (3.0, 15.0), "claude-sonnet-5": (3.0, 15.0),
    "claude-sonnet-4-6": (3.0, 15.0), "claude-haiku-5-5": (1.0, 5.0),
    "claude-haiku-4-5": (1.0, 5.0), "claude-opus-5-5": (5.0, 25.0), "claude-opus-5": (5.0, 25.0),
}


class LlmSettings(BaseModel):
    enabled: bool
    reason: str | None = None          # why not enabled
    model: str = DEFAULT_MODEL
    timeout: float = 120.0
    budget: float = 600.0
    max_retries: int = 2
    max_input_tokens: int = 150_000
    max_output_tokens: int = 8_000
    validation_retries: int = 2
    deep: bool = True
    standards_dir: str | None = None   # the project's own standards (--standards), else ours


def _number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


def settings_for(llm: Literal["auto", "on", "off"], model: str | None,
                 mode: Literal["light", "deep"], injected: bool = False) -> LlmSettings:
    """`injected` = the caller passed its own client (FakeLLM): no key is needed then."""
    chosen = model or os.environ.get("SRE_AGENT_MODEL") or (
        DEFAULT_MODEL if mode == "deep" else LIGHT_MODEL)
    common = dict(model=chosen, deep=mode == "deep",
                  timeout=_number("SRE_AGENT_LLM_TIMEOUT", 120.0),
                  budget=_number("SRE_AGENT_LLM_BUDGET", 600.0),
                  max_retries=int(_number("SRE_AGENT_LLM_RETRIES", 2)),
                  max_input_tokens=int(_number("SRE_AGENT_LLM_MAX_INPUT_TOKENS", 150_000)))
    if llm == "off":
        return LlmSettings(enabled=False, reason="disabled with --llm off", **common)
    if injected:
        return LlmSettings(enabled=True, **common)
    if not os.environ.get("ANTHROPIC_API_KEY"):
        reason = "no ANTHROPIC_API_KEY"
        return LlmSettings(enabled=False, reason=reason + (" (--llm on)" if llm == "on" else ""),
                           **common)
    try:
        import anthropic  # noqa: F401  (optional extra: pip install 'sre-agent[llm]')
    except ImportError:
        return LlmSettings(enabled=False, reason="the anthropic SDK is not installed "
                           "(pip install 'sre-agent[llm]')", **common)
    return LlmSettings(enabled=True, **common)


def estimated_cost(model: str, input_tokens: int, output_tokens: int, cache_read: int,
                   cache_creation: int) -> float | None:
    price = PRICES.get(model)
    if price is None:
        return None
    per_in, per_out = price[0] / 1e6, price[1] / 1e6
    return round(input_tokens * per_in + cache_creation * per_in * 1.25
                 + cache_read * per_in * 0.1 + output_tokens * per_out, 4)
