"""A whole load test: every scenario (at every ramp step) in turn, judged, with the caps enforced.

The caps are checked before anything is sent: a scenario or ramp step above `--max-users` is
refused (running it at fewer users would report a number the plan never asked for), a duration
above `--max-duration` is shortened, and the target must answer one probe first.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from sre_agent.loadtest.locust_runner import (
    LoadTestError, check_target, file_label, probe, run_locust,
)
from sre_agent.loadtest.results import ErrorKind, LoadTestResults, ScenarioResult, judge, knee
from sre_agent.loadtest.scenarios import ScenarioFile


def plan_checks(plan: ScenarioFile, target: str | None, max_users: int,
                ramp: list[int] | None) -> str:
    """The target to load, after every refusal that needs no network; raises LoadTestError."""
    chosen = target or plan.target
    if not chosen:
        raise LoadTestError("no target: set `target:` in the scenario file or pass --target URL "
                            "(the system under test is never guessed)")
    chosen = check_target(chosen)
    for scenario in plan.scenarios:
        for users in ramp or [scenario.users]:
            if users > max_users:
                raise LoadTestError(f"scenario {scenario.name!r} asks for {users} users, above "
                                    f"--max-users {max_users}; raise --max-users to run it")
    return chosen


def run_plan(plan: ScenarioFile, *, target: str | None = None, max_users: int = 50,
             max_duration: float = 60.0, ramp: list[int] | None = None,
             workdir: Path, log: TextIO | None = None) -> LoadTestResults:
    """Run and judge; on Ctrl-C the scenarios measured so far are returned, marked interrupted."""
    log = log or sys.stderr  # looked up now: a caller (or pytest) may have replaced it
    chosen = plan_checks(plan, target, max_users, ramp)
    why = probe(chosen)
    if why is not None:
        raise LoadTestError(f"target {chosen} does not answer ({why}); start the system under "
                            "test or fix the target")
    duration = min(plan.duration, max_duration)
    if duration < plan.duration:
        print(f"loadtest: duration {plan.duration:g}s capped to {duration:g}s (--max-duration)",
              file=log)
    results = LoadTestResults(scenarios=[], target=chosen, duration_s=duration, plan=plan)
    index = 0
    for scenario in plan.scenarios:
        steps: list[ScenarioResult] = []
        try:
            for users in ramp or [scenario.users]:
                index += 1
                print(f"loadtest: {scenario.name} ({scenario.request}) — {users} users × "
                      f"{duration:g}s", file=log, flush=True)
                outcome = run_locust(scenario, chosen, users, duration, workdir,
                                     file_label(index, scenario, users))
                results.reports += [str(p) for p in outcome.files]
                if outcome.measurement is not None:
                    result = judge(scenario, users, outcome.measurement)
                    steps.append(result)
                    results.scenarios.append(result)
                    results.errors += outcome.errors
                if outcome.interrupted:
                    results.interrupted = True
                    break
        except KeyboardInterrupt:  # between two Locust runs: what ran is kept all the same
            results.interrupted = True
        if ramp and steps:
            results.ramp.append(knee(scenario, steps))
        if results.interrupted:
            break
    return results


def top_errors(errors: list[ErrorKind], scenario: str) -> list[ErrorKind]:
    """A scenario's error kinds, most frequent first, summed over its ramp steps."""
    merged: dict[tuple[str, str], ErrorKind] = {}
    for error in errors:
        if error.scenario != scenario:
            continue
        key = (error.method, error.error)
        if key in merged:
            merged[key] = merged[key].model_copy(
                update={"occurrences": merged[key].occurrences + error.occurrences})
        else:
            merged[key] = error
    return sorted(merged.values(), key=lambda e: -e.occurrences)
