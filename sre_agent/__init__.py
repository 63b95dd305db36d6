"""sre-agent: the SRE reviewer for design documents, IaC and deploy scripts.

    from sre_agent import review, render
    result = review(["docs/", "infra/", "scripts/"])
    print(render(result, "md"))

Errors: misuse raises (FileNotFoundError for a missing path, pydantic.ValidationError for a bad
config); problems in the reviewed files are findings, never exceptions.
"""

from sre_agent.models import Finding, FileRecord, Review
from sre_agent.render import render
from sre_agent.review import ReviewConfig, review

__all__ = ["review", "render", "Review", "ReviewConfig", "Finding", "FileRecord"]
