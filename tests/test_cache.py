"""An unchanged rerun is served from the cache; any change of content or config is not."""

from __future__ import annotations

from pathlib import Path

import pytest

import importlib
from conftest import write
from sre_agent.review import ReviewConfig, review

SCRIPT = "#!/bin/bash\naws cloudformation deploy --stack-name a --template-file t.yaml\n"


def test_unchanged_rerun_comes_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    write(repo, "deploy.sh", SCRIPT)
    config = ReviewConfig(analyzers=("sre",), cache=True)
    first = review([repo], config)

    def must_not_review(*_args: object, **_kw: object) -> None:
        raise AssertionError("the project was loaded again although nothing changed")

    monkeypatch.setattr(importlib.import_module("sre_agent.review"), "load_project", must_not_review)
    assert review([repo], config) == first
    assert not list(repo.rglob("*.json")), "the cache must never be written into the reviewed tree"
    assert list((tmp_path / "cache" / "sre-agent" / "reviews").glob("*.json"))


def test_changed_content_or_config_reviews_again(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(repo, "deploy.sh", SCRIPT)
    config = ReviewConfig(analyzers=("sre",), cache=True)
    assert review([repo], config).verdict == "no"
    write(repo, "deploy.sh", "#!/bin/bash\nset -euo pipefail\necho ok\n")
    assert review([repo], config).verdict == "yes"
    english = review([repo], ReviewConfig(analyzers=("sre",), cache=True, lang="en"))
    assert english.passed[0].title.isascii()


def test_a_change_of_our_own_rules_reviews_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An editable install keeps its version while its rules change: the old result must not come back."""
    repo = tmp_path / "repo"
    write(repo, "deploy.sh", SCRIPT)
    config = ReviewConfig(analyzers=("sre",), cache=True)
    review([repo], config)
    package = tmp_path / "package"
    write(package, "rules/dep/dep001.py", "RULE = 'before'\n")
    cache_module = importlib.import_module("sre_agent.cache")
    monkeypatch.setattr(cache_module, "PACKAGE", package)
    before = cache_module.source_digest()
    write(package, "rules/dep/dep001.py", "RULE = 'after'\n")
    assert cache_module.source_digest() != before
    loads: list[object] = []
    real_load = importlib.import_module("sre_agent.review").load_project
    monkeypatch.setattr(importlib.import_module("sre_agent.review"), "load_project",
                        lambda *a, **kw: loads.append(a) or real_load(*a, **kw))
    review([repo], config)
    assert loads, "the review came from a cache entry written by other rule code"
