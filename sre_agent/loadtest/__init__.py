"""Load tests with Locust: scenarios planned from the design documents, run, judged, reported.

`plan_from_documents(paths)` reads the performance (性能要件) and SLO tables into a
`ScenarioFile`; `run_plan(plan, ...)` runs each scenario with Locust as a headless subprocess and
judges it (`LoadTestResults`); `section6_markdown(plan, results)` renders the report's
`## 6. 性能テスト結果（QAと連携）` — measured, or 未実施 with the plan. The CLI is `command.main`.
"""

from __future__ import annotations

from sre_agent.loadtest.locust_runner import LoadTestError
from sre_agent.loadtest.plan import plan_from_documents, plan_yaml, plan_yaml_from_documents
from sre_agent.loadtest.render import section6_markdown
from sre_agent.loadtest.results import (
    ErrorKind, LoadTestResults, RampKnee, ScenarioResult, load_results,
)
from sre_agent.loadtest.run import run_plan
from sre_agent.loadtest.scenarios import (
    Scenario, ScenarioFile, ScenarioFileError, load_scenario_file,
)


def main(argv: list[str]) -> int:
    """`sre-agent loadtest ...` (imported lazily by the CLI registry)."""
    from sre_agent.loadtest.command import main as command_main

    return command_main(argv)


__all__ = [
    "ErrorKind", "LoadTestError", "LoadTestResults", "RampKnee", "Scenario", "ScenarioFile",
    "ScenarioFileError", "ScenarioResult", "load_results", "load_scenario_file", "main", "plan_from_documents",
    "plan_yaml", "plan_yaml_from_documents", "run_plan", "section6_markdown",
]
