"""The scenario file: what to load, how hard, and the targets a run is judged against.

A public format (see the README's "Load tests" section), so it is strict: unknown keys are
errors (a typo such as `p95: 200` must not silently drop a target), `target` is never defaulted
(the user names the system under test), and rates and durations accept the ways people write
them (`0.1%` or `0.001`, `60s` / `2m` / `90`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|h|m|s)?")
_REQUEST = re.compile(r"^\s*(?:(?P<method>[A-Za-z]+)\s+)?(?P<path>/\S*)\s*$")


class ScenarioFileError(ValueError):
    """The scenario file cannot be read or does not validate: one line for the user."""


def seconds(value: Any) -> float:
    """`60s`, `2m`, `1m30s`, `1h`, `500ms` or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration such as 60s, 2m or 90")
    if isinstance(value, (int, float)):
        total = float(value)
    else:
        text = str(value).strip().lower()
        parts = list(_DURATION_PART.finditer(text))
        if not text or not parts or "".join(p.group(0) for p in parts) != text.replace(" ", ""):
            raise ValueError(f"not a duration: {value!r} (write 60s, 2m or 90)")
        scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}
        total = sum(float(p.group(1)) * scale[p.group(2)] for p in parts)
    if total < 0:
        raise ValueError("a duration cannot be negative")
    return total


def fraction(value: Any) -> float:
    """`0.1%` → 0.001; a bare number is already a fraction and must lie in 0–1."""
    if isinstance(value, bool):
        raise ValueError("an error rate such as 0.1% or 0.001")
    if isinstance(value, str) and value.strip().endswith("%"):
        number = float(value.strip()[:-1])
        result = number / 100
    else:
        result = float(value)
        if result > 1:
            raise ValueError(f"{value} is not a fraction: write {value}% or {result / 100:g}")
    if not 0 <= result <= 1:
        raise ValueError(f"an error rate must lie between 0 and 100%: {value}")
    return result


class Scenario(BaseModel):
    """One kind of request, the load to put on it and what counts as good enough."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    request: str = Field(description="method and path: `GET /items` (GET when only a path)")
    body: dict[str, Any] | list[Any] | None = Field(
        default=None, description="JSON body sent with the request (POST / PUT / PATCH)")
    users: int = Field(ge=1, description="concurrent users")
    spawn_rate: float | None = Field(default=None, gt=0, description="users started per second; "
                                     "default: all at once")
    think_time: float = Field(default=0.0, description="pause of each user between requests")
    p95_ms: float | None = Field(default=None, gt=0)
    p99_ms: float | None = Field(default=None, gt=0)
    max_error_rate: float | None = Field(default=None, description="a fraction, 0–1")
    min_rps: float | None = Field(default=None, gt=0, description="throughput the run must reach")
    source: str | None = Field(default=None, description="where the targets were read: file:line")

    @field_validator("request")
    @classmethod
    def _request_shape(cls, value: str) -> str:
        match = _REQUEST.match(value)
        if not match:
            raise ValueError(f"write the request as `GET /path`, not {value!r}")
        method = (match.group("method") or "GET").upper()
        if method not in METHODS:
            raise ValueError(f"unknown HTTP method {method!r}")
        return f"{method} {match.group('path')}"

    @field_validator("think_time", mode="before")
    @classmethod
    def _think(cls, value: Any) -> float:
        return seconds(value)

    @field_validator("max_error_rate", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> float | None:
        return None if value is None else fraction(value)

    @model_validator(mode="after")
    def _body_needs_a_method_with_one(self) -> "Scenario":
        if self.body is not None and self.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
            raise ValueError(f"a body is sent with POST, PUT or PATCH, not {self.method}")
        return self

    @property
    def method(self) -> str:
        return self.request.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return self.request.split(" ", 1)[1]

    def target_text(self) -> str:
        """目標レスポンスタイム as the report writes it: `p95 200ms 以内（p99 500ms）`."""
        parts = []
        if self.p95_ms is not None:
            parts.append(f"p95 {_ms(self.p95_ms)} 以内")
        if self.p99_ms is not None:
            parts.append(f"p99 {_ms(self.p99_ms)} 以内")
        text = " / ".join(parts) or "応答時間の目標なし"
        extra = []
        if self.max_error_rate is not None:
            extra.append(f"エラー率 {percent(self.max_error_rate)} 以下")
        if self.min_rps is not None:
            extra.append(f"{self.min_rps:g} req/s 以上")
        return text + (f"（{'、'.join(extra)}）" if extra else "")


class ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str | None = Field(default=None, description="base URL of the system under test")
    duration: float = Field(default=60.0, gt=0, description="seconds per scenario (per ramp step)")
    scenarios: list[Scenario] = Field(min_length=1)

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return seconds(value)

    @field_validator("target", mode="before")
    @classmethod
    def _blank_target(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _unique_names(self) -> "ScenarioFile":
        names = [s.name for s in self.scenarios]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"scenario names must be unique: {', '.join(duplicates)}")
        return self


def load_scenario_file(path: Path) -> ScenarioFile:
    """Read and validate; every failure is a `ScenarioFileError` with one readable line."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ScenarioFileError(f"{path}{where}: not valid YAML: "
                                f"{getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise ScenarioFileError(f"{path}: expected a mapping with `target`, `duration` and "
                                "`scenarios`")
    try:
        return ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioFileError(f"{path}: {first_error(exc)}") from None


def first_error(exc: ValidationError) -> str:
    """`scenarios[0].users: Input should be greater than or equal to 1` (and how many more)."""
    errors = exc.errors()
    error = errors[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
    message = str(error["msg"]).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where or 'file'}: {message}{more}"


def percent(rate: float) -> str:
    """0.001 → `0.1%`; 0.2 → `20.0%`."""
    value = rate * 100
    return f"{value:.1f}%" if value >= 1 or value == 0 else f"{value:.2g}%"


def _ms(value: float) -> str:
    return f"{value / 1000:g}秒" if value >= 1000 and value % 100 == 0 else f"{value:g}ms"
