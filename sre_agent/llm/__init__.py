"""LLM analysis on top of the deterministic review (the anthropic SDK; on when a key is set).

Public surface: `settings_for` (when and how it runs), `run_llm_pass` (the pass), and the
`MessagesBackend` protocol that `AnthropicBackend` and `sre_agent.testing.FakeLLM` implement.
"""

from sre_agent.llm.backend import LlmCallError, MessagesBackend, Reply, Usage
from sre_agent.llm.config import DEFAULT_MODEL, LlmSettings, settings_for
from sre_agent.llm.review_pass import run_llm_pass
from sre_agent.llm.schema import Evidence, LlmReview, ReviewItem

__all__ = ["DEFAULT_MODEL", "Evidence", "LlmCallError", "LlmReview", "LlmSettings",
           "MessagesBackend", "Reply", "ReviewItem", "Usage", "run_llm_pass", "settings_for"]
