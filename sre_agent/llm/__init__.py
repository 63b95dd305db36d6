"""Optional LLM analysis on top of the deterministic review (needs the `[llm]` extra).

Public surface: `settings_for` (when and how it runs), `run_llm_pass` (the pass), and the
`MessagesBackend` protocol that `AnthropicBackend` and `sre_agent.testing.FakeLLM` implement.
"""

from sre_agent.llm.backend import LlmCallError, MessagesBackend, Reply, Usage
from sre_agent.llm.config import DEFAULT_MODEL, LlmSettings, settings_for
from sre_agent.llm.review_pass import run_llm_pass
from sre_agent.llm.schema import TOOL_NAME, Evidence, LlmReview, ReviewItem

__all__ = ["DEFAULT_MODEL", "Evidence", "LlmCallError", "LlmReview", "LlmSettings",
           "MessagesBackend", "Reply", "ReviewItem", "TOOL_NAME", "Usage", "run_llm_pass",
           "settings_for"]
