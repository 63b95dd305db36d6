"""The pre-commit hooks and the GitHub Action: they parse, and what they run works.

pre-commit and the Actions runner are not installed here; the tests do what each does with
its file — the hook's entry with the staged files that match its `files` pattern, the action's
`run` scripts with its inputs in the environment — on a copy of a scenario project.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SCENARIOS

BIN = Path(sys.executable).parent
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "order-mgmt"
    shutil.copytree(SCENARIOS / "ecs-rds-broken", root)
    (root / ".git").mkdir()
    return root


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_hooks_file_shape() -> None:
    assert [hook["id"] for hook in HOOKS] == ["sre-review", "sre-review-project"]
    for hook in HOOKS:
        assert hook["language"] == "python" and hook["name"]
        assert shlex.split(hook["entry"])[0] in SCRIPTS      # a console script of this package
        re.compile(hook["files"])
    assert HOOKS[0].get("pass_filenames", True) is True
    assert HOOKS[1]["pass_filenames"] is False


def test_the_files_pattern_picks_what_we_review() -> None:
    pattern = re.compile(HOOKS[0]["files"])
    picked = ["infra/templates/database/rds.yaml", "infra/parameters/prd.json", "scripts/rollback.sh",
              "docs/03_基本設計/04_可用性設計.md", "terraform/main.tf", "envs/prod.tfvars",
              ".github/workflows/deploy.yml"]
    left = ["app/main.py", "docs/images/構成図.png", "Dockerfile", "README"]
    assert [p for p in picked if pattern.search(p)] == picked
    assert [p for p in left if pattern.search(p)] == []


def test_the_changed_files_hook_reviews_them_inside_their_project(project: Path) -> None:
    hook = HOOKS[0]
    staged = ["infra/templates/database/rds.yaml", "scripts/rollback.sh", "docs/images/構成図.png"]
    files = [p for p in staged if re.search(hook["files"], p)]
    result = subprocess.run([*shlex.split(hook["entry"]), *hook.get("args", []), *files],
                            cwd=project, env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and result.stderr == ""
    assert result.stdout.startswith("## sre レビュー結果")
    assert "infra/templates/database/rds.yaml:98 `Database`" in result.stdout     # the staged files
    assert "scripts/rollback.sh:1" in result.stdout
    assert "scripts/deploy-hotfix.sh" not in result.stdout                        # not staged
    assert not (project / ".claude-state").exists()


def test_the_project_hook_reviews_everything(project: Path) -> None:
    hook = HOOKS[1]
    result = subprocess.run([*shlex.split(hook["entry"]), *hook.get("args", [])],
                            cwd=project, env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and result.stderr == ""
    assert "scripts/deploy-hotfix.sh" in result.stdout and "- 運用可能: ❌ No" in result.stdout


def test_action_shape() -> None:
    assert ACTION["runs"]["using"] == "composite"
    steps = ACTION["runs"]["steps"]
    uses = [step.get("uses") for step in steps if "uses" in step]
    assert uses == ["actions/setup-python@v6", "github/codeql-action/upload-sarif@v4"]
    upload = next(step for step in steps if step.get("uses", "").startswith("github/codeql-action"))
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    assert "always()" in upload["if"]
    for step in steps:
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], "inputs go through env, never into the script"
    assert set(ACTION["inputs"]) >= {"paths", "mode", "fail-on", "sarif-file", "baseline", "args"}


def _run_step(step_id: str | None, name: str | None, inputs: dict[str, str], cwd: Path,
              outputs: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    """Run one `run` step as the runner would: bash -eo pipefail, env with the inputs and the
    earlier steps' outputs substituted, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files."""
    step = next(s for s in ACTION["runs"]["steps"] if (step_id and s.get("id") == step_id)
                or (name and s.get("name") == name))
    values = {f"inputs.{k}": v for k, v in {**{k: str(v.get("default", "")) for k, v in
                                               ACTION["inputs"].items()}, **inputs}.items()}
    values.update({f"steps.review.outputs.{k}": v for k, v in (outputs or {}).items()})

    def expand(text: str) -> str:
        return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", lambda m: values[m.group(1)], text)

    output, summary = cwd.parent / "github_output", cwd.parent / "step_summary"
    output.write_text("", encoding="utf-8")
    summary.write_text("", encoding="utf-8")
    env = {**_env(), **{k: expand(str(v)) for k, v in step.get("env", {}).items()},
           "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                            cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    written = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if line)
    return result, written, summary.read_text(encoding="utf-8")


def test_the_action_reviews_writes_sarif_and_fails_per_fail_on(project: Path) -> None:
    review, outputs, summary = _run_step("review", None, {"paths": "docs infra scripts"}, project)
    assert review.returncode == 0, review.stderr        # the upload step must still run
    assert outputs == {"exit-code": "1"}
    sarif = json.loads((project / "sre-review.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    assert any(r["ruleId"] == "SRE-MAZ-001" for r in sarif["runs"][0]["results"])
    assert summary.startswith("## sre レビュー結果") and "- 運用可能: ❌ No" in summary
    fail, _, _ = _run_step(None, "Fail per fail-on", {}, project, outputs)
    assert fail.returncode == 1 and "::error title=sre-review::" in fail.stdout


def test_the_action_passes_its_baseline_and_arguments(project: Path, tmp_path: Path) -> None:
    base = tmp_path / "known.json"
    created = subprocess.run([str(BIN / "sre-review"), str(project), "--create-baseline", str(base),
                              "--lang", "en", "-q"], capture_output=True, text=True, timeout=300)
    assert created.returncode == 1
    review, outputs, summary = _run_step("review", None, {"baseline": str(base), "args": "--lang en"}, project)
    assert review.returncode == 0 and outputs == {"exit-code": "0"}
    assert "known findings hidden" in summary
    bad, outputs, _ = _run_step("review", None, {"args": "--mode fast"}, project)
    assert bad.returncode == 2 and outputs == {"exit-code": "2"} and "could not run" in bad.stdout
