"""What a run measured, and the verdict against the scenario's targets.

`ScenarioResult` carries exactly the keys the `--format json` contract names; everything else a
reader needs (error kinds, the ramp's knees, the plan with its targets) sits beside the list at
the top level, so the per-scenario records stay stable for the tools that read them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from sre_agent.loadtest.scenarios import (
    Scenario, ScenarioFile, ScenarioFileError, first_error, percent,
)


class Measurement(BaseModel):
    """Locust's aggregated numbers for one run of one scenario."""

    requests: int
    failures: int
    rps: float
    p50_ms: float | None  # None: no request completed, so there is no percentile
    p95_ms: float | None
    p99_ms: float | None

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


class ScenarioResult(BaseModel):
    name: str
    users: int
    requests: int
    rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    error_rate: float = Field(description="failed requests / requests, a fraction 0–1")
    passed: bool
    reasons: list[str] = Field(description="why the scenario failed; empty when it passed")


class ErrorKind(BaseModel):
    """A row of Locust's `*_failures.csv`: what went wrong, how often."""

    scenario: str
    users: int
    method: str
    name: str
    error: str
    occurrences: int


class RampKnee(BaseModel):
    """Where p95 first crossed the target as users grew; `users` None when it never did."""

    scenario: str
    p95_target_ms: float | None
    steps: list[int]
    users: int | None


class LoadTestResults(BaseModel):
    scenarios: list[ScenarioResult]
    target: str
    duration_s: float
    errors: list[ErrorKind] = Field(default_factory=list)
    ramp: list[RampKnee] = Field(default_factory=list)
    interrupted: bool = Field(default=False, description="stopped by Ctrl-C: what ran is kept")
    plan: ScenarioFile | None = Field(default=None, description="the scenarios and their targets")
    reports: list[str] = Field(default_factory=list, description="Locust's CSV / HTML files kept")

    def scenario(self, name: str) -> Scenario | None:
        if self.plan is None:
            return None
        return next((s for s in self.plan.scenarios if s.name == name), None)


def judge(scenario: Scenario, users: int, measured: Measurement) -> ScenarioResult:
    """Pass only on evidence: a run with no completed request fails, whatever the targets."""
    reasons: list[str] = []
    if measured.requests == 0:
        reasons.append("リクエストが 1 件も完了しなかった（計測できず）")
    else:
        for label, value, limit in (("p95", measured.p95_ms, scenario.p95_ms),
                                    ("p99", measured.p99_ms, scenario.p99_ms)):
            if limit is not None and (value is None or value > limit):
                reasons.append(f"{label} {value:g}ms が目標 {limit:g}ms を超過" if value is not None
                               else f"{label} を計測できず（目標 {limit:g}ms）")
        if scenario.max_error_rate is not None and measured.error_rate > scenario.max_error_rate:
            reasons.append(f"エラー率 {percent(measured.error_rate)}（{measured.failures}/"
                           f"{measured.requests} 件）が上限 {percent(scenario.max_error_rate)} を超過")
        if scenario.min_rps is not None and measured.rps < scenario.min_rps:
            reasons.append(f"スループット {measured.rps:.1f} req/s が目標 {scenario.min_rps:g} "
                           "req/s に届かない")
    return ScenarioResult(
        name=scenario.name, users=users, requests=measured.requests, rps=round(measured.rps, 2),
        p50_ms=measured.p50_ms, p95_ms=measured.p95_ms, p99_ms=measured.p99_ms,
        error_rate=round(measured.error_rate, 6), passed=not reasons, reasons=reasons)


def knee(scenario: Scenario, steps: list[ScenarioResult]) -> RampKnee:
    """The first user count whose measured p95 is above the scenario's p95 target."""
    crossed = None
    if scenario.p95_ms is not None:
        crossed = next((s.users for s in steps
                        if s.p95_ms is not None and s.p95_ms > scenario.p95_ms), None)
    return RampKnee(scenario=scenario.name, p95_target_ms=scenario.p95_ms,
                    steps=[s.users for s in steps], users=crossed)


def load_results(path: Path) -> LoadTestResults:
    """A `results.json` written by `loadtest run` (for the report's section 6)."""
    try:
        return LoadTestResults.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise ScenarioFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValidationError as exc:
        raise ScenarioFileError(f"{path}: not a loadtest results file: {first_error(exc)}") from None
