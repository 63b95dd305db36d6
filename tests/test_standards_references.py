"""Rule documentation that cites `standards/<file>.md §N <title>` points at a real section."""

from __future__ import annotations

import re

from conftest import ROOT
from sre_agent.rules.base import all_rules

CITATION = re.compile(r"standards/([\w-]+\.md) §(\d+) (\S[^\n]*)")


def test_every_standards_citation_names_an_existing_section() -> None:
    checked = 0
    for rule in all_rules():
        for name, number, title in CITATION.findall(rule.__doc__ or ""):
            path = ROOT / "standards" / name
            assert path.exists(), f"{rule.id} cites missing {path}"
            headings = re.findall(r"^## (\d+)\. (.+)$", path.read_text(encoding="utf-8"), re.MULTILINE)
            assert (number, title.strip()) in headings, f"{rule.id}: no '§{number} {title}' in {name}"
            checked += 1
    assert checked


def test_every_standards_section_names_the_rules_that_enforce_it() -> None:
    for path in sorted((ROOT / "standards").glob("*.md")):
        sections = re.split(r"^## ", path.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]
        assert sections, path
        for section in sections:
            assert re.search(r"\b[A-Z]{3}\d{3}\b", section), f"{path.name} §{section.splitlines()[0]} names no rule"
