"""`sre-agent mcp` driven the way an agent framework drives it: a subprocess on stdio, spoken to
by the `mcp` SDK's own client. The review runs for real on a copy of a bundled scenario."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from sre_agent.mcp_server import PathRefused, confine, review_within
from sre_agent.review import ReviewConfig
from tests.conftest import SCENARIOS, write

SRE_AGENT = Path(sys.executable).with_name("sre-agent")
BROKEN = SCENARIOS / "ecs-rds-broken"
TASK_BLOCK = """Task: 在庫管理システムの CloudFormation テンプレートとデプロイスクリプトの作成

入力情報:
- 基本設計書: docs/（インフラ部分: 04_可用性設計、05_監視設計、06_バックアップ設計、08_コスト見積）
- デプロイ方式: CloudFormation

期待する成果物:
1. CloudFormation テンプレート（infra/）
2. Change Set スクリプト（4種類）
3. デプロイ手順書

制約:
- 直接デプロイ（aws cloudformation deploy）は禁止
- エラーハンドリング必須
"""


def _params(root: Path, tmp_path: Path, command: list[str] | None = None) -> StdioServerParameters:
    command = command or [str(SRE_AGENT), "mcp", "--root", str(root)]
    return StdioServerParameters(
        command=command[0], args=command[1:], cwd=str(tmp_path),
        env={"XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path / "home")})


def _drive(params: StdioServerParameters, script: Callable[[ClientSession], Awaitable[Any]],
           errlog=sys.stderr, seen: list | None = None) -> Any:
    """Run `script` against a fresh server; the whole session is bounded so a hang fails."""
    async def handler(message: Any) -> None:
        if seen is not None:
            seen.append(message)

    async def session() -> Any:
        with anyio.fail_after(60):
            async with stdio_client(params, errlog=errlog) as (read, write_):
                async with ClientSession(read, write_, message_handler=handler) as client:
                    await client.initialize()
                    return await script(client)

    return anyio.run(session)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(BROKEN, root)
    return root


def test_review_over_stdio_returns_markdown_verdict_and_contract(project: Path, tmp_path: Path) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def script(client: ClientSession):
        tools = await client.list_tools()

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            progress.append((done, total, message))

        whole = await client.call_tool("review", {"paths": ["."], "mode": "light"},
                                       progress_callback=on_progress)
        one = await client.call_tool("review", {"paths": ["infra/templates/database/rds.yaml"],
                                                "mode": "light"})
        return tools, whole, one

    seen: list = []
    tools, whole, one = _drive(_params(project, tmp_path), script, seen=seen)

    by_name = {tool.name: tool for tool in tools.tools}
    assert set(by_name) == {"review", "explain_rule", "list_rules", "handle_task"}
    review_tool = by_name["review"]
    assert review_tool.input_schema["required"] == ["paths"]
    assert review_tool.input_schema["properties"]["mode"]["enum"] == ["light", "deep"]
    assert review_tool.output_schema["properties"]["verdict"]["enum"] == ["yes", "conditional", "no"]

    assert not whole.is_error
    markdown = whole.content[0].text
    assert markdown.startswith("## sre レビュー結果")
    assert "- 運用可能: ❌ No" in markdown
    assert "[SRE-MAZ-001]" in markdown
    contract = whole.structured_content
    assert contract["schema"] == "sre-review/1" and contract["verdict"] == "no"
    assert contract["mode"] == "light"
    located = {(f["id"], f["file"], f["line"], f["resource"]) for f in contract["findings"]}
    assert ("SRE-MAZ-001", "infra/templates/database/rds.yaml", 98, "Database") in located
    assert ("SRE-DEP-001", "scripts/deploy-hotfix.sh", 23, None) in located
    statuses = {f["path"]: f["status"] for f in contract["files"]}
    assert statuses["infra/templates/legacy/bastion.yaml"] == "error"
    assert all(not p.startswith("/") and str(project) not in p for p in statuses)
    assert [message for _, _, message in progress][:3] == [
        "reviewing 1 path(s) in light mode",
        f"analyzers done: {len(contract['findings'])} finding(s)", "rendering"]
    assert [done for done, _, _ in progress] == [0, 1, 2, 3]
    # progress goes only to the call that asked for it (the second call sent no token)
    notified = [m for m in seen if getattr(m, "method", None) == "notifications/progress"]
    assert len(notified) == len(progress) == 4

    # one template, judged inside its project: findings for that file only
    assert not one.is_error
    files = {f["file"] for f in one.structured_content["findings"]}
    assert files == {"infra/templates/database/rds.yaml"}
    assert ("SRE-MAZ-001", 98) in {(f["id"], f["line"]) for f in one.structured_content["findings"]}


def test_paths_outside_the_root_are_refused(project: Path, tmp_path: Path) -> None:
    outside = write(tmp_path / "elsewhere", "infra/secret-stack.yaml",
                    "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n")
    (project / "shared-infra").symlink_to(outside.parent, target_is_directory=True)
    (project / "infra" / "imported.yaml").symlink_to(outside)

    async def script(client: ClientSession):
        results = {}
        for label, paths in {
            "dotdot": ["../elsewhere/infra"],
            "dotdot-mid": ["infra/../../elsewhere"],
            "absolute": [str(outside)],
            "symlink-dir": ["shared-infra"],
            "symlink-file": ["infra/imported.yaml"],
            "one-bad-of-two": ["infra", "/etc"],
            "missing": ["infra/nope.yaml"],
        }.items():
            results[label] = await client.call_tool("review", {"paths": paths, "mode": "light"})
        results["rule"] = await client.call_tool("explain_rule", {"rule_id": "NOPE999"})
        return results

    results = _drive(_params(project, tmp_path), script)
    texts = {label: result.content[0].text for label, result in results.items()}
    assert all(result.is_error for result in results.values()), texts
    assert all(result.structured_content is None for result in results.values())
    assert "through '..'" in texts["dotdot"] and "through '..'" in texts["dotdot-mid"]
    assert f"{outside} is outside the server root" in texts["absolute"]
    assert "/etc is outside the server root" in texts["one-bad-of-two"]
    assert "symbolic link" in texts["symlink-dir"] and "symbolic link" in texts["symlink-file"]
    assert "path not found: infra/nope.yaml" in texts["missing"]
    assert "unknown rule: NOPE999" in texts["rule"]


def test_handle_task_delivers_inside_the_root_only(tmp_path: Path) -> None:
    root = tmp_path / "inventory"
    shutil.copytree(SCENARIOS / "clean-ecs-rds" / "docs", root / "docs")
    write(tmp_path, "secret-docs/03_基本設計書.md", "# 基本設計書\n")

    async def script(client: ClientSession):
        return {
            "outside-input": await client.call_tool("handle_task", {
                "task": TASK_BLOCK.replace("docs/", "../secret-docs/"), "out": "delivery"}),
            "outside-out": await client.call_tool("handle_task", {
                "task": TASK_BLOCK, "out": str(tmp_path / "delivery")}),
            "not-a-task": await client.call_tool("handle_task", {
                "task": "インフラをいい感じにしてください", "out": "delivery"}),
            "delivered": await client.call_tool("handle_task", {
                "task": TASK_BLOCK, "out": "delivery"}),
        }

    results = _drive(_params(root, tmp_path), script)
    texts = {label: r.content[0].text for label, r in results.items()}
    assert "../secret-docs/ leaves the server root" in texts["outside-input"]
    assert "is outside the server root" in texts["outside-out"]
    assert texts["not-a-task"].startswith("Error executing tool handle_task: task: ")
    assert all(results[k].is_error for k in ("outside-input", "outside-out", "not-a-task"))
    assert not (tmp_path / "delivery").exists()

    delivered = results["delivered"]
    assert not delivered.is_error, texts["delivered"]
    assert texts["delivered"].startswith("# インフラレポート: ")
    assert "## 7. 技術標準への準拠" in texts["delivered"]
    result = delivered.structured_content
    assert sorted(result["scripts"]) == ["create", "describe", "execute", "rollback"]
    for entry in result["files"]:
        assert (root / "delivery" / entry["path"]).is_file(), entry
    assert (root / "delivery" / result["report"]).read_text(encoding="utf-8") == texts["delivered"]
    assert result["self_review"]["verdict"] in ("yes", "conditional", "no")


def test_rule_tools(project: Path, tmp_path: Path) -> None:
    async def script(client: ClientSession):
        return (await client.call_tool("explain_rule", {"rule_id": "dep004"}),
                await client.call_tool("list_rules", {}))

    explained, listed = _drive(_params(project, tmp_path), script)
    assert explained.content[0].text.startswith("SRE-DEP-004 (DEP004) script-without-errexit")
    rules = listed.structured_content["rules"]
    assert {"id": "SRE-DEP-004", "code": "DEP004", "name": "script-without-errexit",
            "perspective": "operability", "severity": "error"}.items() <= \
        next(r for r in rules if r["id"] == "SRE-DEP-004").items()
    assert len(rules) == len({r["id"] for r in rules}) > 50


STRAY = """
import os, subprocess, sys
import sre_agent.review
core = sys.modules["sre_agent.review"]   # the package re-exports a function of that name
real = core.review
def noisy(paths, config=None, llm_backend=None):
    print("stray print from the engine")
    os.write(1, b"stray bytes on fd 1\\n")
    subprocess.run(["echo", "stray output of a child process"])
    return real(paths, config, llm_backend)
core.review = noisy
from sre_agent.cli import main, _exit_now
_exit_now(main(["mcp", *sys.argv[1:]]))     # as the sre-agent entry point runs it
"""


def test_stdout_carries_protocol_only(tmp_path: Path) -> None:
    """Whatever the engine, a C extension or a child process writes lands on stderr."""
    root = tmp_path / "small"
    write(root, "scripts/deploy.sh", "#!/bin/bash\nset -euo pipefail\n"
          "aws cloudformation deploy --template-file infra/app.yaml --stack-name app\n")
    command = [sys.executable, "-c", STRAY, "--root", str(root)]
    seen: list = []
    stderr_path = tmp_path / "server-stderr.txt"

    async def script(client: ClientSession):
        return await client.call_tool("review", {"paths": ["scripts"], "mode": "light"})

    with stderr_path.open("w") as errlog:
        result = _drive(_params(root, tmp_path, command), script, errlog=errlog, seen=seen)
    assert not result.is_error, result.content
    assert result.structured_content["verdict"] == "no"   # the direct deploy, SRE-DEP-001
    assert [m for m in seen if isinstance(m, Exception)] == []
    stderr = stderr_path.read_text()
    for stray in ("stray print from the engine", "stray bytes on fd 1",
                  "stray output of a child process"):
        assert stray in stderr


def test_confine_accepts_what_stays_inside(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    write(root, "infra/app.yaml", "Resources: {}\n")
    write(root, "docs/03_基本設計書.md", "# 基本設計書\n")
    (root / "current").symlink_to(root / "infra", target_is_directory=True)
    assert confine(root, ".") == root
    assert confine(root, "infra/../docs") == root / "docs"
    assert confine(root, str(root / "infra" / "app.yaml")) == root / "infra" / "app.yaml"
    assert confine(root, "current/app.yaml") == root / "infra" / "app.yaml"
    assert confine(root, f"../{root.name}/infra") == root / "infra"   # out and back in
    for bad in ("", "  ", "..", "../elsewhere", "/", "infra/../../x"):
        with pytest.raises(PathRefused):
            confine(root, bad)


def test_bad_root_is_a_usage_error(tmp_path: Path) -> None:
    import subprocess

    done = subprocess.run([str(SRE_AGENT), "mcp", "--root", str(tmp_path / "nope")],
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                          env={**os.environ})
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == f"sre-agent mcp: error: root is not a directory: {tmp_path / 'nope'}"


def test_a_light_review_never_reads_above_the_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server started in a monorepo's sub-folder: light mode would load the whole monorepo
    (the nearest `.git`) as context; the part inside the root is the project instead."""
    import sre_agent.project

    core = sys.modules["sre_agent.review"]   # the package re-exports a function of that name
    mono = tmp_path / "mono"
    (mono / ".git").mkdir(parents=True)
    write(mono, "platform/parameters/prd.json", '{"Parameters": {"DbPassword": "hunter2-prd"}}\n')
    root = (mono / "services" / "orders").resolve()
    script = write(root, "scripts/deploy.sh", "#!/bin/bash\nset -euo pipefail\n"
                   "aws cloudformation deploy --template-file infra/app.yaml --stack-name orders\n")
    loaded: list[list[Path]] = []
    real = sre_agent.project.load_project

    def spy(paths, max_bytes=sre_agent.project.DEFAULT_MAX_BYTES):
        loaded.append([Path(p).resolve() for p in paths])
        return real(paths, max_bytes)

    monkeypatch.setattr(sre_agent.project, "load_project", spy)
    monkeypatch.setattr(core, "load_project", spy)
    config = ReviewConfig(mode="light", llm="off", workers=False, analyzers=("sre",))

    result = review_within(root, [script.resolve()], config)
    assert loaded == [[root]]
    assert {f.file for f in result.findings} == {"scripts/deploy.sh"}
    assert "SRE-DEP-001" in {f.id for f in result.findings}

    loaded.clear()   # a root that holds the project: the ordinary light review
    review_within(mono.resolve(), [script.resolve()], config)
    assert loaded == [[mono.resolve()]]


def test_the_root_is_the_flag_else_claude_code_s_project_else_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sre_agent.mcp_server import server_root

    flag, project, cwd = (tmp_path / name for name in ("flag", "project", "cwd"))
    for folder in (flag, project, cwd):
        folder.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    assert server_root(None) == cwd.resolve()
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(project))
    assert server_root(None) == project.resolve()
    assert server_root(str(flag)) == flag.resolve()


def test_the_project_configuration_applies_as_it_does_on_the_command_line(
        project: Path, tmp_path: Path) -> None:
    """A team's `.sre-review.toml` (ignore a family, raise a severity) shapes the review an agent
    asks for over MCP too; a broken file is a tool error naming it, not a silent default."""
    async def script(client: ClientSession):
        return await client.call_tool("review", {"paths": ["scripts"], "mode": "light"})

    before = _drive(_params(project, tmp_path), script).structured_content["findings"]
    assert any(f["id"] == "SRE-DEP-001" for f in before)
    write(project, ".sre-review.toml", 'ignore = ["SRE-DEP-001"]\n[severity]\nDEP004 = "info"\n')
    after = _drive(_params(project, tmp_path), script).structured_content["findings"]
    assert not any(f["id"] == "SRE-DEP-001" for f in after)
    assert {f["severity"] for f in after if f["id"] == "SRE-DEP-004"} <= {"info"}
    write(project, ".sre-review.toml", 'ignroe = ["SRE-DEP"]\n')
    broken = _drive(_params(project, tmp_path), script)
    assert broken.is_error and "ignroe" in broken.content[0].text
