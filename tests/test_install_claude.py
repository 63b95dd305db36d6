"""`sre-agent install-claude`: on an empty folder and on a copy of an agent-framework project
(its own agents, /check and .mcp.json). Every written file must parse the way Claude Code reads
it, a rerun must change nothing, and a user's different file must survive unless --force."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import anyio
import pytest
import yaml
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from sre_agent.install_claude import MCP_JSON, PLUGIN, PROJECT, main, rendered_files
from tests.conftest import ROOT, write

FRAMEWORK = ROOT / "fixtures" / "framework" / "clinic-reservation"
AGENT, COMMAND = PROJECT.agent, PROJECT.command
OUR_ENTRY = {"command": "sre-agent", "args": ["mcp"]}


def front_matter(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), path
    head, body = text[4:].split("\n---\n", 1)
    data = yaml.safe_load(head)
    assert isinstance(data, dict), path
    return data, body


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_installed_files_parse(folder: Path, prefix: str = "mcp__sre-agent__") -> None:
    agent, agent_body = front_matter(folder / AGENT)
    assert agent["name"] == "sre" and agent["model"] == "sonnet"
    assert "## sre レビュー結果" in agent["description"] + agent_body
    tools = [t.strip() for t in agent["tools"].split(",")]
    assert {"Read", "Bash", f"{prefix}review", f"{prefix}explain_rule"} <= set(tools)
    assert "sre-agent task TASK.md --out" in agent_body
    command, command_body = front_matter(folder / COMMAND)
    assert set(command) == {"description", "argument-hint", "allowed-tools"}
    assert f"{prefix}review" in command["allowed-tools"]
    assert "$ARGUMENTS" in command_body and "`all`" in command_body
    servers = json.loads((folder / MCP_JSON).read_text(encoding="utf-8"))["mcpServers"]
    assert servers["sre-agent"] == OUR_ENTRY


def test_empty_folder_gets_everything_and_a_rerun_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "new-project"
    project.mkdir()
    assert main([str(project)]) == 0
    assert capsys.readouterr().out.split("\n")[:3] == [
        f"written    {AGENT}", f"written    {COMMAND}", f"written    {MCP_JSON}"]
    assert_installed_files_parse(project)
    before = snapshot(project)
    assert set(before) == {AGENT, COMMAND, MCP_JSON}

    assert main([str(project)]) == 0
    assert capsys.readouterr().out.split("\n")[:3] == [
        f"unchanged  {AGENT}", f"unchanged  {COMMAND}", f"unchanged  {MCP_JSON}"]
    assert snapshot(project) == before


def test_framework_project_is_merged_into_and_its_files_are_kept(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "clinic-reservation"
    shutil.copytree(FRAMEWORK, project)
    original = snapshot(project)

    # the framework ships its own sre agent: kept, reported, exit 1
    assert main([str(project)]) == 1
    out = capsys.readouterr().out
    assert f"skipped    {AGENT}  (holds other content; kept" in out
    assert f"written    {COMMAND}" in out
    assert f"merged     {MCP_JSON}  (kept 2 other server(s): github, notion)" in out
    after = snapshot(project)
    for rel in (AGENT, ".claude/commands/check.md", ".claude/agents/pm/AGENT.md",
                ".claude/agents/architect/AGENT.md", ".claude/CLAUDE.md", "docs/03_基本設計書.md"):
        assert after[rel] == original[rel], rel
    assert set(after) == set(original) | {COMMAND}
    merged = json.loads(after[MCP_JSON])["mcpServers"]
    theirs = json.loads(original[MCP_JSON])["mcpServers"]
    assert list(merged) == ["github", "notion", "sre-agent"]
    assert {k: merged[k] for k in theirs} == theirs and merged["sre-agent"] == OUR_ENTRY

    # a rerun writes nothing
    assert main([str(project)]) == 1
    assert snapshot(project) == after
    capsys.readouterr()

    # --force replaces their agent and keeps it beside ours
    assert main([str(project), "--force"]) == 0
    assert f"replaced   {AGENT}  (the previous one is AGENT.md.bak)" in capsys.readouterr().out
    forced = snapshot(project)
    assert forced[AGENT + ".bak"] == original[AGENT]
    assert forced[AGENT] == rendered_files(PROJECT)[AGENT].encode()
    assert forced[MCP_JSON] == after[MCP_JSON] and forced[COMMAND] == after[COMMAND]
    assert_installed_files_parse(project)
    assert main([str(project), "--force"]) == 0   # idempotent with --force too
    assert snapshot(project) == forced


def test_a_different_server_entry_is_kept_without_force(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    theirs = {"mcpServers": {"sre-agent": {"command": "/opt/sre/bin/sre-agent",
                                           "args": ["mcp", "--root", "/srv/app"]},
                             "github": {"command": "npx", "args": ["-y", "gh-mcp"]}}}
    mcp_json = write(tmp_path, MCP_JSON, json.dumps(theirs, indent=4))
    before = mcp_json.read_bytes()
    assert main([str(tmp_path)]) == 1
    assert "its 'sre-agent' server is configured differently; kept" in capsys.readouterr().out
    assert mcp_json.read_bytes() == before

    assert main([str(tmp_path), "--force"]) == 0
    servers = json.loads(mcp_json.read_text())["mcpServers"]
    assert servers == {"sre-agent": OUR_ENTRY, "github": theirs["mcpServers"]["github"]}
    assert (tmp_path / ".mcp.json.bak").read_bytes() == before


def test_an_unreadable_mcp_json_is_never_rewritten_without_force(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = write(tmp_path, MCP_JSON, '{"mcpServers": {"github": {"command": "npx",}}\n')
    before = broken.read_bytes()
    assert main([str(tmp_path)]) == 1
    assert "is not valid JSON" in capsys.readouterr().out
    assert broken.read_bytes() == before
    assert main([str(tmp_path), "--force"]) == 0
    assert json.loads(broken.read_text())["mcpServers"] == {"sre-agent": OUR_ENTRY}
    assert (tmp_path / ".mcp.json.bak").read_bytes() == before
    # a second --force keeps the first backup
    write(tmp_path, MCP_JSON, "[]")
    assert main([str(tmp_path), "--force"]) == 0
    assert (tmp_path / ".mcp.json.bak").read_bytes() == before
    assert (tmp_path / ".mcp.json.bak.1").read_text() == "[]"


def test_links_are_not_written_through(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    target = write(elsewhere, "shared-check.md", "# 共有コマンド\n")
    (project / ".claude" / "commands").mkdir(parents=True)
    (project / COMMAND).symlink_to(target)
    assert main([str(project), "--force"]) == 1
    assert f"skipped    {COMMAND}  (not a regular file" in capsys.readouterr().out
    assert target.read_text() == "# 共有コマンド\n"


def test_not_a_directory_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == f"sre-agent install-claude: error: not a directory: {tmp_path / 'nope'}\n"


def test_the_written_server_entry_starts_our_server(tmp_path: Path) -> None:
    """The `.mcp.json` entry, run as Claude Code would run it, serves the tools the agent names."""
    assert main([str(tmp_path)]) == 0
    entry = json.loads((tmp_path / MCP_JSON).read_text())["mcpServers"]["sre-agent"]
    command = shutil.which(entry["command"], path=str(Path(sys.executable).parent))
    assert command is not None
    params = StdioServerParameters(command=command, args=entry["args"], cwd=str(tmp_path),
                                   env={"HOME": str(tmp_path / "home")})

    async def listed() -> set[str]:
        with anyio.fail_after(30):
            async with stdio_client(params) as (read, write_):
                async with ClientSession(read, write_) as client:
                    await client.initialize()
                    return {tool.name for tool in (await client.list_tools()).tools}

    served = anyio.run(listed)
    agent, _ = front_matter(tmp_path / AGENT)
    named = {t.strip().removeprefix("mcp__sre-agent__") for t in agent["tools"].split(",")
             if t.strip().startswith("mcp__")}
    assert named == served == {"review", "explain_rule", "list_rules", "handle_task"}


def test_the_repository_plugin_is_what_install_claude_writes() -> None:
    """The checked-in plugin (`sre-agent install-claude --plugin .`) cannot drift from the
    project installation: same templates, the plugin's tool names."""
    for rel, content in rendered_files(PLUGIN).items():
        assert (ROOT / rel).read_text(encoding="utf-8") == content, (
            f"{rel} is stale: run `sre-agent install-claude --plugin --force .`")
    manifest = json.loads((ROOT / ".claude-plugin" / "plugin.json").read_text())
    assert manifest["name"] == "sre-agent" and manifest["description"]
    market = json.loads((ROOT / ".claude-plugin" / "marketplace.json").read_text())
    assert market["plugins"] == [{"name": "sre-agent", "source": "./",
                                  "description": manifest["description"]}]
    assert json.loads((ROOT / MCP_JSON).read_text())["mcpServers"]["sre-agent"] == OUR_ENTRY
    agent, _ = front_matter(ROOT / PLUGIN.agent)
    assert "mcp__plugin_sre-agent_sre-agent__review" in agent["tools"]
    command, _ = front_matter(ROOT / PLUGIN.command)
    assert "mcp__plugin_sre-agent_sre-agent__review" in command["allowed-tools"]
