"""Whole projects end to end: seeded defects found, clean project not ❌, golden renderings.

Golden files live in tests/snapshots/; after an intended change, regenerate them with
`SRE_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_scenarios.py` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SCENARIOS
from sre_agent import render, review
from sre_agent.models import Review
from sre_agent.review import ReviewConfig

SNAPSHOTS = ROOT / "tests" / "snapshots"
NAMES = sorted(p.name for p in SCENARIOS.iterdir() if p.is_dir())


@cache
def reviewed(name: str, lang: str = "ja") -> Review:
    return review([SCENARIOS / name], ReviewConfig(lang=lang))


def expectations(name: str) -> dict:
    return yaml.safe_load((SCENARIOS / f"{name}.expected.yaml").read_text(encoding="utf-8"))


def stable(text: str) -> str:
    """Tool versions and timings change between machines; the review itself must not."""
    text = re.sub(r'("version": )"[^"]*"', r'\1"<version>"', text)
    text = re.sub(r'("seconds": )[0-9.]+', r"\1 0", text)
    return re.sub(r"(sre-rules|cfn-lint|checkov|shellcheck) \d[\w.]*", r"\1 <version>", text)


def assert_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("SRE_UPDATE_SNAPSHOTS"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with SRE_UPDATE_SNAPSHOTS=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


@pytest.mark.parametrize("name", NAMES)
def test_seeded_defects_are_reported_at_their_locations(name: str) -> None:
    result = reviewed(name)
    spec = expectations(name)
    found = {(f.id, f.file, f.line) for f in result.findings if not f.suppressed}
    for seeded in spec["seeded"]:
        assert (seeded["id"], seeded["file"], seeded["line"]) in found, seeded
        if seeded.get("resource"):
            assert any(f.resource == seeded["resource"] for f in result.findings
                       if (f.id, f.file, f.line) == (seeded["id"], seeded["file"], seeded["line"]))
    status = {f.path: f.status.value for f in result.files}
    for path in spec.get("error_files", []):
        assert status[path] == "error"
    for path in spec.get("skipped_files", []):
        assert status[path] == "skipped"
    assert result.verdict == ("no" if spec["seeded"] else result.verdict)
    if not spec["seeded"]:
        assert result.verdict in ("yes", "conditional")


@pytest.mark.parametrize("name", NAMES)
def test_every_file_is_accounted_for_once(name: str) -> None:
    on_disk = {p.relative_to(SCENARIOS / name).as_posix()
               for p in (SCENARIOS / name).rglob("*") if p.is_file()}
    listed = [f.path for f in reviewed(name).files]
    assert sorted(listed) == sorted(on_disk)


@pytest.mark.parametrize("name", NAMES)
def test_markdown_matches_golden(name: str) -> None:
    assert_snapshot(f"{name}.md", stable(render(reviewed(name), "md")))


@pytest.mark.parametrize("name", NAMES)
def test_json_matches_golden(name: str) -> None:
    text = render(reviewed(name), "json")
    data = json.loads(text)
    assert data["schema"] == "sre-review/1"
    assert set(data) >= {"schema", "root", "verdict", "files", "findings", "llm"}
    assert_snapshot(f"{name}.json", stable(text))


def test_english_rendering_keeps_the_structure() -> None:
    text = render(reviewed("ecs-rds-broken", "en"), "md", "en")
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings[:6] == ["## SRE review", "### Operability", "### Infrastructure",
                            "### Monitoring and alerting", "### Cost and troubleshooting",
                            "### Overall"]
    assert "- Operable: ❌ No" in text
    assert_snapshot("ecs-rds-broken.en.md", stable(text))
