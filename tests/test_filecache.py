"""Per-file results of cfn-lint and checkov: an edit re-runs the tools on what changed, and the
answer is the one a cold review of the edited tree gives.

Real tools, real worker processes; the cache lives in the test's own XDG_CACHE_HOME (conftest).
What ran is read off the chunks handed to the worker pool.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sre_agent import filecache
from sre_agent.review import ReviewConfig, review

from conftest import SCENARIOS

CLEAN = "clean-ecs-rds"
RDS = "infra/templates/database/rds.yaml"


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """analyzer name → the items its workers were given in the last review."""
    review_module = sys.modules["sre_agent.review"]   # the package exports review() by this name
    seen: dict[str, list[str]] = {}
    original = review_module.WorkerRun

    def recording(name, task, chunks, *args, **kwargs):
        seen[name] = [item for chunk in chunks for item in chunk]
        return original(name, task, chunks, *args, **kwargs)

    monkeypatch.setattr(review_module, "WorkerRun", recording)
    return seen


def comparable(result) -> dict:
    data = json.loads(result.to_json())
    for run in data["analyzers"]:
        run.pop("seconds", None)
    return data


def project_copy(tmp_path: Path, name: str = CLEAN) -> Path:
    root = tmp_path / name
    shutil.copytree(SCENARIOS / name, root)
    return root


def cached_then_cold(root: Path) -> tuple[dict, dict]:
    cached = review([root], ReviewConfig(cache=True))
    cold = review([root], ReviewConfig(cache=False))
    return comparable(cached), comparable(cold)


def test_an_edited_template_runs_alone_and_the_result_equals_a_cold_review(
        tmp_path: Path, ran: dict[str, list[str]]) -> None:
    root = project_copy(tmp_path)
    review([root], ReviewConfig(cache=True))
    assert len(ran["cfn-lint"]) == 4 and len(ran["checkov"]) > 4
    template = root / RDS
    # a real change: the stateful DB loses its DeletionPolicy (cfn-lint and our rules see it)
    template.write_text(template.read_text(encoding="utf-8").replace(
        "    DeletionPolicy: Snapshot\n", "", 1), encoding="utf-8")
    cached, cold = cached_then_cold(root)
    assert cached == cold
    assert cached["findings"] != []
    review([root], ReviewConfig(cache=True))            # whole-review cache: nothing runs
    root.joinpath(RDS).write_text(template.read_text(encoding="utf-8") + "# one more edit\n",
                                  encoding="utf-8")
    review([root], ReviewConfig(cache=True))
    assert ran["cfn-lint"] == [RDS]
    assert sorted(ran["checkov"]) == [f"cloudformation:{RDS}", f"secrets:{RDS}"]


def test_an_edited_parameter_file_reruns_only_its_own_secrets_scan(
        tmp_path: Path, ran: dict[str, list[str]]) -> None:
    root = project_copy(tmp_path)
    review([root], ReviewConfig(cache=True))
    params = root / "infra/parameters/prd.json"
    params.write_text(params.read_text(encoding="utf-8").replace('"true"', '"false"', 1),
                      encoding="utf-8")
    cached = review([root], ReviewConfig(cache=True))
    assert ran["cfn-lint"] == [] and ran["checkov"] == ["secrets:infra/parameters/prd.json"]
    assert comparable(cached) == comparable(review([root], ReviewConfig(cache=False)))


def test_a_terraform_edit_reruns_every_terraform_module(
        tmp_path: Path, ran: dict[str, list[str]]) -> None:
    """Variables and local modules cross files: no Terraform result outlives a Terraform edit."""
    root = project_copy(tmp_path, "terraform-ecs")
    review([root], ReviewConfig(cache=True))
    terraform = sorted(i for i in ran["checkov"] if i.startswith("terraform:"))
    assert len(terraform) > 1
    edited = Path(root / terraform[0].split(":", 1)[1])
    edited.write_text(edited.read_text(encoding="utf-8") + "\n# reviewed\n", encoding="utf-8")
    cached = review([root], ReviewConfig(cache=True))
    assert sorted(i for i in ran["checkov"] if i.startswith("terraform:")) == terraform
    assert comparable(cached) == comparable(review([root], ReviewConfig(cache=False)))


def test_two_reviews_at_once_share_the_cache_without_harm(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    command = [str(Path(sys.executable).parent / "sre-review"), str(root), "--format", "json"]
    both = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [json.loads(process.communicate(timeout=600)[0]) for process in both]
    for output in outputs:
        for run in output["analyzers"]:
            run.pop("seconds", None)
    assert outputs[0] == outputs[1]
    database = sqlite3.connect(filecache.cache_path())
    assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert database.execute("SELECT COUNT(*) FROM results").fetchone()[0] > 0


def test_a_broken_cache_file_costs_speed_not_the_review(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    path = filecache.cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a database\n" * 100)
    assert comparable(review([root], ReviewConfig(cache=True))) == \
        comparable(review([root], ReviewConfig(cache=False)))


def test_the_cache_stays_within_its_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sre_agent.models import Finding, Perspective, Severity

    monkeypatch.setattr(filecache, "MAX_BYTES", 20_000)
    store = filecache.FileResults(tmp_path / "results.sqlite")
    finding = Finding(id="cfn-lint:E3012", source="cfn-lint", severity=Severity.WARNING,
                      perspective=Perspective.INFRASTRUCTURE, file="a.yaml", line=1,
                      message="x" * 400, remediation="fix it")
    for batch in range(10):
        store.put_many({f"key-{batch}-{n}": [finding] for n in range(10)})
    total = store.db.execute("SELECT SUM(size) FROM results").fetchone()[0]
    assert total <= 20_000
    assert store.get_many(["key-9-9"]) and not store.get_many(["key-0-0"])   # oldest went first


def test_results_made_by_other_code_are_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    key = filecache.full_key("cfn-lint|1.0|ap-northeast-1|ja|a.yaml|abc")
    monkeypatch.setattr(filecache, "code_digest", lambda: "another version of our adapters")
    assert filecache.full_key("cfn-lint|1.0|ap-northeast-1|ja|a.yaml|abc") != key
