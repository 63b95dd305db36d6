"""Tasks the PM agent delegates: `sre-agent task TASK.md --out DIR`, or `handle_task(...)`.

`model` parses the task block, `inputs` reads what it points at, `flow` runs the delivery and
its self-review, `criteria` and `constraints` turn that review into section 7 of the report.
"""

from sre_agent.task.model import TaskError, TaskSpec, parse_task

__all__ = ["TaskError", "TaskSpec", "parse_task", "handle_task", "TaskResult"]


def __getattr__(name: str):
    """`handle_task` pulls in the review engine: imported on first use, not with the model."""
    if name in ("handle_task", "TaskResult"):
        from sre_agent.task import flow

        return getattr(flow, name)
    raise AttributeError(name)
