"""`sre-agent install-claude [DIR]`: our SRE agent, a `/check`-compatible command and the MCP
server entry, written into a Claude Code project (the agent framework's layout).

A project's `.claude/` and `.mcp.json` belong to its team: we add, we never silently replace.
A file we would write that already holds something else is kept and reported as skipped;
`--force` replaces it and keeps the original beside it as `<name>.bak`. `.mcp.json` is merged
key by key — the user's other servers always stay. A rerun writes nothing.

`--plugin` writes the same agent and command in the Claude Code plugin layout
(`.claude-plugin/plugin.json` and a one-plugin `marketplace.json`, `agents/`, `commands/`,
`.mcp.json`); the repository's own plugin
files are generated that way, so the two installations cannot drift apart.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import jinja2
from pydantic import BaseModel

SERVER_KEY = "sre-agent"
SERVER_ENTRY: dict[str, object] = {"command": "sre-agent", "args": ["mcp"]}
MCP_JSON = ".mcp.json"
TOOLS = ("review", "explain_rule", "list_rules", "handle_task")


@dataclass(frozen=True)
class Layout:
    """Where the files go, and how Claude Code names our MCP tools there: a project's
    `.mcp.json` server gives `mcp__<server>__<tool>`, a plugin's `mcp__plugin_<plugin>_<server>__`."""

    agent: str
    command: str
    tool_prefix: str
    manifest: str | None = None
    marketplace: str | None = None   # lets `/plugin marketplace add <this repo>` find the plugin


PROJECT = Layout(agent=".claude/agents/sre/AGENT.md", command=".claude/commands/sre-check.md",
                 tool_prefix=f"mcp__{SERVER_KEY}__")
PLUGIN = Layout(agent="agents/sre.md", command="commands/sre-check.md",
                tool_prefix=f"mcp__plugin_sre-agent_{SERVER_KEY}__",
                manifest=".claude-plugin/plugin.json",
                marketplace=".claude-plugin/marketplace.json")


class Action(str, Enum):
    WRITTEN = "written"        # the file was not there
    MERGED = "merged"          # our server entry was added to the user's .mcp.json
    UNCHANGED = "unchanged"    # already what we would write
    REPLACED = "replaced"      # --force: theirs is kept as <name>.bak
    SKIPPED = "skipped"        # theirs differs and is kept


class Outcome(BaseModel):
    path: str
    action: Action
    note: str = ""


def rendered_files(layout: Layout) -> dict[str, str]:
    """Every file of `layout` except `.mcp.json` (merged, not written), path → content."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("sre_agent", "templates/claude"),
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                             autoescape=False)
    tools = {name: layout.tool_prefix + name for name in TOOLS}
    files = {layout.agent: env.get_template("agent.md.j2").render(tools=tools),
             layout.command: env.get_template("sre-check.md.j2").render(tools=tools)}
    if layout.manifest:
        files[layout.manifest] = _dump_json(plugin_manifest())
    if layout.marketplace:
        manifest = plugin_manifest()
        files[layout.marketplace] = _dump_json({
            "name": "sre-agent", "owner": manifest["author"],
            "plugins": [{"name": manifest["name"], "source": "./",
                         "description": manifest["description"]}]})
    return files


def plugin_manifest() -> dict[str, object]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("sre-agent")
    except PackageNotFoundError:
        ours = "0.0.0"
    return {
        "name": "sre-agent",
        "version": ours,
        "description": "SRE review for Claude Code: an sre agent, /sre-check (light / all = deep) "
                       "and the sre-agent MCP server (review, explain_rule, list_rules, handle_task) over "
                       "design documents, CloudFormation, Terraform and deploy scripts",
        "author": {"name": "sre-agent contributors"},
        "license": "MIT",
        "keywords": ["sre", "review", "cloudformation", "terraform", "mcp", "change-set"],
    }


def install(target: Path, *, force: bool = False, layout: Layout = PROJECT) -> list[Outcome]:
    outcomes = [_place(target, rel, content, force)
                for rel, content in rendered_files(layout).items()]
    outcomes.append(_merge_mcp_json(target, force))
    return outcomes


def _place(target: Path, rel: str, content: str, force: bool) -> Outcome:
    path = target / rel
    if path.is_symlink() or (path.exists() and not path.is_file()):
        return Outcome(path=rel, action=Action.SKIPPED,
                       note="not a regular file (a link or a folder); left alone")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        return Outcome(path=rel, action=Action.WRITTEN)
    if _read(path) == content:
        return Outcome(path=rel, action=Action.UNCHANGED)
    if not force:
        return Outcome(path=rel, action=Action.SKIPPED,
                       note="holds other content; kept (--force replaces it, keeping a .bak)")
    backup = _backup(path)
    path.write_text(content, encoding="utf-8")
    return Outcome(path=rel, action=Action.REPLACED, note=f"the previous one is {backup.name}")


def _merge_mcp_json(target: Path, force: bool) -> Outcome:
    path = target / MCP_JSON
    if path.is_symlink() or (path.exists() and not path.is_file()):
        return Outcome(path=MCP_JSON, action=Action.SKIPPED,
                       note="not a regular file (a link or a folder); left alone")
    if not path.exists():
        path.write_text(_dump_json({"mcpServers": {SERVER_KEY: SERVER_ENTRY}}), encoding="utf-8")
        return Outcome(path=MCP_JSON, action=Action.WRITTEN)
    text = _read(path)
    try:
        config = json.loads(text)
        problem = None if isinstance(config, dict) and isinstance(
            config.get("mcpServers", {}), dict) else "has no mcpServers object"
    except ValueError as exc:
        config, problem = None, f"is not valid JSON ({exc})"
    if problem is not None:
        if not force:
            return Outcome(path=MCP_JSON, action=Action.SKIPPED,
                           note=f"{problem}; kept (--force rewrites it, keeping a .bak)")
        backup = _backup(path)
        path.write_text(_dump_json({"mcpServers": {SERVER_KEY: SERVER_ENTRY}}), encoding="utf-8")
        return Outcome(path=MCP_JSON, action=Action.REPLACED, note=f"{problem}; the previous one "
                       f"is {backup.name}")
    servers: dict = config.setdefault("mcpServers", {})
    others = [name for name in servers if name != SERVER_KEY]
    kept = f"kept {len(others)} other server(s): {', '.join(others)}" if others else ""
    current = servers.get(SERVER_KEY)
    if current == SERVER_ENTRY:
        return Outcome(path=MCP_JSON, action=Action.UNCHANGED, note=kept)
    if current is not None and not force:
        return Outcome(path=MCP_JSON, action=Action.SKIPPED,
                       note=f"its '{SERVER_KEY}' server is configured differently; kept "
                       "(--force replaces that entry only)")
    servers[SERVER_KEY] = SERVER_ENTRY
    if current is None:
        path.write_text(_dump_json(config), encoding="utf-8")
        return Outcome(path=MCP_JSON, action=Action.MERGED, note=kept)
    backup = _backup(path)
    path.write_text(_dump_json(config), encoding="utf-8")
    return Outcome(path=MCP_JSON, action=Action.REPLACED,
                   note=f"'{SERVER_KEY}' entry replaced; {kept or 'no other servers'}; the "
                   f"previous file is {backup.name}")


def _backup(path: Path) -> Path:
    """The first free `<name>.bak`, `<name>.bak.1`, …: a second --force never loses the first."""
    candidate, n = path.with_name(path.name + ".bak"), 0
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = path.with_name(f"{path.name}.bak.{n}")
    candidate.write_bytes(path.read_bytes())
    return candidate


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _dump_json(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="sre-agent install-claude",
        description="Write the sre agent, the /sre-check command and the sre-agent MCP server "
        "entry into a Claude Code project. Existing files that differ are kept unless --force. "
        "Exit 0 when everything is in place, 1 when something was skipped.")
    parser.add_argument("dir", nargs="?", default=".", metavar="DIR", help="project folder (default .)")
    parser.add_argument("--force", action="store_true",
                        help="replace files that differ (each original is kept as <name>.bak)")
    parser.add_argument("--plugin", action="store_true",
                        help="the Claude Code plugin layout instead (.claude-plugin/plugin.json, "
                        "agents/, commands/, .mcp.json)")
    args = parser.parse_args(argv)
    target = Path(args.dir)
    if not target.is_dir():
        print(f"sre-agent install-claude: error: not a directory: {args.dir}", file=sys.stderr)
        return 2
    outcomes = install(target, force=args.force, layout=PLUGIN if args.plugin else PROJECT)
    width = max(len(a.value) for a in Action)
    for outcome in outcomes:
        note = f"  ({outcome.note})" if outcome.note else ""
        print(f"{outcome.action.value:<{width}}  {outcome.path}{note}")
    skipped = [o for o in outcomes if o.action is Action.SKIPPED]
    if skipped:
        print(f"{len(skipped)} file(s) skipped: rerun with --force to replace them", file=sys.stderr)
    return 1 if skipped else 0
