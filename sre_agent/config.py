"""Project configuration: `.sre-review.toml` or `[tool.sre-review]` in `pyproject.toml`.

A team writes down once what every run of the review should share — which rule ids it wants,
severity changes it agreed on, its own environment spellings, the region its prices are in —
instead of repeating flags in CI, pre-commit and on laptops.

Precedence, highest first: a CLI flag > `.sre-review.toml` > `[tool.sre-review]` in
`pyproject.toml` > the defaults. Each file is the nearest one found from the first reviewed
path upward, stopping at the git root (the folder holding `.git`) or the filesystem root; the two
files are merged key by key, `.sre-review.toml` winning. Relative paths in a file (`standards`,
`baseline`) are read from the file's folder. An unknown key or a bad value is a `ConfigError`
(the CLI prints it in one line and exits 2): a typo must not silently turn a check off.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sre_agent.environments import ALIASES

DEDICATED_FILE = ".sre-review.toml"
PYPROJECT = "pyproject.toml"
ENVIRONMENTS = sorted(set(ALIASES.values()))


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the file and the key."""


class ProjectConfig(BaseModel):
    """The keys a configuration file may hold (kebab-case, as in `pyproject.toml` tools)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False, frozen=True)

    select: list[str] = Field(default_factory=list,
                              description="report only ids starting with one of these prefixes")
    ignore: list[str] = Field(default_factory=list,
                              description="never report ids starting with one of these prefixes")
    severity: dict[str, Literal["error", "warning", "info"]] = Field(
        default_factory=dict, description="id prefix → severity; the most specific prefix wins")
    environments: dict[str, list[str]] = Field(
        default_factory=dict, description="canonical environment → the project's own spellings")
    price_region: str | None = Field(None, alias="price-region")
    region: str | None = None
    mode: Literal["light", "deep"] | None = None
    lang: Literal["ja", "en"] | None = None
    fail_on: Literal["error", "warning"] | None = Field(None, alias="fail-on")
    standards: str | None = None
    baseline: str | None = None

    @field_validator("select", "ignore")
    @classmethod
    def _no_empty_prefix(cls, prefixes: list[str]) -> list[str]:
        if any(not p.strip() for p in prefixes):
            raise ValueError("an empty prefix would match every rule")
        return [p.strip() for p in prefixes]

    @field_validator("environments")
    @classmethod
    def _known_environments(cls, names: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = [n for n in names if n not in ENVIRONMENTS]
        if unknown:
            raise ValueError(f"unknown environment {unknown[0]!r} (use one of {', '.join(ENVIRONMENTS)})")
        return names

    @field_validator("price_region")
    @classmethod
    def _priced_region(cls, region: str | None) -> str | None:
        from sre_agent.cost import price_table

        regions = price_table()["regions"]
        if region is not None and region not in regions:
            raise ValueError(f"no price table for {region!r} (priced: {', '.join(sorted(regions))})")
        return region

    def review_options(self) -> dict[str, Any]:
        """The `ReviewConfig` fields this file sets, for adapters without flags of their own
        (the MCP server): the same rule selection, severities, spellings and regions as the CLI."""
        options: dict[str, Any] = {
            "select": tuple(self.select), "ignore": tuple(self.ignore), "severity": self.severity,
            "environments": self.aliases(), "price_region": self.price_region,
            "standards": self.standards}
        if self.region:
            options["region"] = self.region
        return options

    def aliases(self) -> dict[str, str]:
        """Spelling → canonical environment, for `environments.extra_aliases`."""
        return {spelling.strip().lower(): env for env, spellings in self.environments.items()
                for spelling in spellings}


def id_names(rule_id: str) -> tuple[str, ...]:
    """The spellings a prefix may match: `checkov:CKV_AWS_157`, `CKV_AWS_157`; `SRE-DEP-001`,
    `DEP001`; `cfn-lint:E3012`, `E3012` (upper case)."""
    from sre_agent.rules.base import short_code

    bare = rule_id.split(":", 1)[-1]
    return tuple(dict.fromkeys(n.upper() for n in (rule_id, bare, short_code(bare))))


def matches_prefix(rule_id: str, prefixes: tuple[str, ...] | list[str]) -> bool:
    names = id_names(rule_id)
    return any(name.startswith(prefix.upper()) for prefix in prefixes for name in names)


def is_reported(rule_id: str, select: tuple[str, ...] | list[str],
                ignore: tuple[str, ...] | list[str]) -> bool:
    """`select` narrows to what it names (empty: everything); `ignore` then removes."""
    return (not select or matches_prefix(rule_id, select)) and not matches_prefix(rule_id, ignore)


def severity_override(rule_id: str, overrides: dict[str, str]) -> str | None:
    """The configured severity of an id: the most specific matching prefix wins — the one that
    covers most of the spelling it matched, so `DEP004` beats `SRE-DEP` for SRE-DEP-004."""
    names = id_names(rule_id)
    coverage = {p: max(len(p) / len(n) for n in names if n.startswith(p.upper()))
                for p in overrides if any(n.startswith(p.upper()) for n in names)}
    return overrides[max(coverage, key=coverage.__getitem__)] if coverage else None


class LoadedConfig(BaseModel):
    """The merged settings and the files they came from (empty: defaults only)."""

    settings: ProjectConfig = Field(default_factory=ProjectConfig)
    sources: list[str] = Field(default_factory=list)


def load_config(start: Path, explicit: Path | None = None) -> LoadedConfig:
    """The configuration for a review whose first path is `start`. `explicit` (`--config FILE`)
    replaces the search: either file form, read alone."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file not found: {explicit}")
        table = _table_of(explicit, required=explicit.name == PYPROJECT)
        return LoadedConfig(settings=_validate(_resolved(table, explicit), explicit),
                            sources=[str(explicit)])
    dedicated, pyproject = _nearest(start)
    merged: dict[str, Any] = {}
    sources: list[str] = []
    for found in (pyproject, dedicated):           # lowest precedence first
        if found is None:
            continue
        table = _table_of(found)
        if table is not None:
            _validate(table, found)                  # each file's own errors name that file
            merged.update(_resolved(table, found))
            sources.append(str(found))
    return LoadedConfig(settings=_validate(merged, Path(sources[-1]) if sources else start),
                        sources=sources)


def _nearest(start: Path) -> tuple[Path | None, Path | None]:
    """The nearest `.sre-review.toml` and the nearest `pyproject.toml` with our table."""
    folder = start.resolve()
    if not folder.is_dir():
        folder = folder.parent
    dedicated = pyproject = None
    for current in (folder, *folder.parents):
        if dedicated is None and (current / DEDICATED_FILE).is_file():
            dedicated = current / DEDICATED_FILE
        candidate = current / PYPROJECT
        if pyproject is None and candidate.is_file() and _table_of(candidate) is not None:
            pyproject = candidate
        if (current / ".git").exists():
            break
    return dedicated, pyproject


def _table_of(path: Path, required: bool = False) -> dict[str, Any] | None:
    """The settings table of a file: the whole `.sre-review.toml`, or `[tool.sre-review]`."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if path.name != PYPROJECT:
        return data
    table = data.get("tool", {}).get("sre-review")
    if table is None and required:
        raise ConfigError(f"{path}: no [tool.sre-review] table")
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.sre-review] must be a table")
    return table


def _resolved(table: dict[str, Any] | None, source: Path) -> dict[str, Any]:
    """Folder paths in a file are relative to that file, not to wherever the CLI was started."""
    resolved = dict(table or {})
    for key in ("standards", "baseline"):
        if isinstance(resolved.get(key), str):
            resolved[key] = str((source.parent / resolved[key]).resolve())
    return resolved


def _validate(table: dict[str, Any], source: Path) -> ProjectConfig:
    try:
        return ProjectConfig.model_validate(table)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "(table)"
        if error["type"] == "extra_forbidden":
            known = ", ".join(f.alias or name for name, f in ProjectConfig.model_fields.items())
            raise ConfigError(f"{source}: unknown key {key!r} (known keys: {known})") from None
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{source}: {key}: {message}") from None


__all__ = ["ConfigError", "LoadedConfig", "ProjectConfig", "is_reported", "load_config",
           "severity_override"]
