"""`sre-agent mcp`: the review as tools over the Model Context Protocol (stdio).

A thin adapter like the CLI: tools take paths, confine them to the server's root, call the core
(`review`, `render`) and return. Agent frameworks that are not Claude Code reach us this way;
Claude Code does too, through the `.mcp.json` entry `sre-agent install-claude` writes.

Why the root is ours to enforce: a tool's arguments come from a model, and a model can be
talked into asking for `../../etc` or a symlink planted in the project. The root is fixed when
the server starts (`--root`, else Claude Code's `CLAUDE_PROJECT_DIR`, else the working
directory) — MCP roots are deprecated and a client-declared root would be the client's word.

stdout carries protocol only: the SDK's stdio transport points fd 1 at stderr while it serves
(children and C code included), and each tool call also redirects `sys.stdout` to stderr, so a
stray print in cfn-lint, checkov or a rule can never corrupt a message.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Callable, Literal, TypeVar

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from sre_agent.models import Review

try:    # the task flow (`sre-agent task`) is optional here: without it, no handle_task tool
    from sre_agent.task.flow import TaskResult
except ImportError:  # pragma: no cover
    TaskResult = None

if TYPE_CHECKING:
    from sre_agent.review import ReviewConfig

T = TypeVar("T")
LOG = logging.getLogger("sre_agent.mcp")
SERVER_NAME = "sre-agent"
INSTRUCTIONS = (
    "SRE review of a project's design documents (Japanese 基本設計書 and friends), "
    "CloudFormation, Terraform and deploy scripts. Call `review` with the paths to check "
    "(mode light = the named files inside their project, like /check; deep = the whole chain "
    "企画 → 要件 → 設計 → code, like /check all), then reason over its findings; every finding "
    "names a rule id that `explain_rule` documents. Paths are relative to the server's root.")


class PathRefused(ValueError):
    """A tool argument names something outside the server's root (or nothing at all)."""


def confine(root: Path, raw: str, must_exist: bool = True) -> Path:
    """The real path `raw` names, if it stays inside `root` (already resolved).

    Three ways out are told apart, so the model (and its user) learn which one they tried:
    an absolute path elsewhere, a `..` climb, and a symbolic link whose target is outside.
    A path still to be created (`must_exist=False`) is judged by its nearest existing folder.
    """
    if not raw or not raw.strip() or "\0" in raw:
        raise PathRefused("refused: empty path")
    given = Path(raw)
    lexical = Path(os.path.normpath(given if given.is_absolute() else root / given))
    if not lexical.is_relative_to(root):
        if given.is_absolute():
            raise PathRefused(f"refused: {raw} is outside the server root {root}")
        raise PathRefused(f"refused: {raw} leaves the server root {root} through '..'")
    if not lexical.exists() and not lexical.is_symlink():
        if must_exist:
            raise PathRefused(f"path not found: {raw} (paths are relative to {root})")
        existing = next(parent for parent in lexical.parents if parent.exists())
        resolved = existing.resolve() / lexical.relative_to(existing)
    else:
        resolved = lexical.resolve()
    if not resolved.is_relative_to(root):
        raise PathRefused(f"refused: {raw} is a symbolic link (or passes through one) that "
                          f"resolves outside the server root {root}")
    return resolved


class RuleSummary(BaseModel):
    """One entry of the catalogue, enough to choose which rule to ask `explain_rule` about."""

    id: str = Field(description="Full rule id, e.g. SRE-DEP-004")
    code: str = Field(description="Short code accepted everywhere, e.g. DEP004")
    name: str = Field(description="The bad pattern in kebab-case")
    perspective: str = Field(description="operability | infrastructure | monitoring | cost")
    severity: str = Field(description="Default severity: error | warning | info")
    title: str = Field(description="Japanese title of the finding")


class RuleCatalogue(BaseModel):
    rules: list[RuleSummary]


def build_server(root: Path, llm: Literal["auto", "on", "off"] = "auto") -> MCPServer:
    """The MCPServer with our tools, bound to `root` (resolved). Separate from `main` so the
    tools can be exercised in-process as well as over stdio."""
    server = MCPServer(name=SERVER_NAME, instructions=INSTRUCTIONS, version=_version())
    one_at_a_time = anyio.Lock()  # a review forks workers and tunes the GC process-wide

    @server.tool()
    async def review(
        paths: Annotated[list[str], Field(min_length=1, description=(
            "Files or folders to review, relative to the server root (e.g. ['.'] or "
            "['infra/stacks/02-database.yaml']); nothing outside the root is accepted"))],
        ctx: Context,
        mode: Annotated[Literal["light", "deep"], Field(description=(
            "light = /check: findings for the named files only, judged inside their project; "
            "deep = /check all: the whole project, cross-document checks and the LLM pass"))
        ] = "deep",
        lang: Annotated[Literal["ja", "en"], Field(description="language of the markdown")] = "ja",
    ) -> Annotated[CallToolResult, Review]:
        """SRE review: returns the `## sre レビュー結果` markdown as text and the sre-review/1
        JSON contract (verdict yes|conditional|no, files, findings with file/line/resource and
        rule id) as structured content. Nothing reviewed is executed."""
        try:
            targets = [confine(root, raw) for raw in paths]
        except PathRefused as exc:
            raise ToolError(str(exc)) from None
        await ctx.report_progress(0, 3, f"reviewing {len(targets)} path(s) in {mode} mode")
        run = partial(_review_quietly, root, targets, mode, lang, llm)
        try:
            async with one_at_a_time:
                result = await anyio.to_thread.run_sync(run)
        except ToolError:
            raise
        except Exception as exc:  # the engine turns file problems into findings; this is ours
            LOG.debug("review failed", exc_info=True)
            raise ToolError(f"review failed: {type(exc).__name__}: {exc}") from None
        await ctx.report_progress(1, 3, f"analyzers done: {len(result.findings)} finding(s)")
        from sre_agent.render import render

        await ctx.report_progress(2, 3, "rendering")
        markdown = render(result, "md", lang)
        contract = json.loads(render(result, "json", lang))
        await ctx.report_progress(3, 3, f"verdict: {result.verdict}")
        return CallToolResult(content=[TextContent(type="text", text=markdown)],
                              structured_content=contract)

    if TaskResult is not None:
        @server.tool()
        async def handle_task(
            task: Annotated[str, Field(description=(
                "The PM agent's task block as written: Task: / 入力情報: / 期待する成果物: / "
                "制約: (markdown), or the same as JSON. Its input paths are relative to the "
                "server root"))],
            out: Annotated[str, Field(description=(
                "Delivery folder, relative to the server root; new or empty"))],
            ctx: Context,
        ) -> Annotated[CallToolResult, TaskResult]:
            """Deliver what a PM task block asks for — CloudFormation templates and parameter
            files, the four change-set scripts, the runbook (incident procedure, postmortem
            template when asked) — reviewed with the same engine. Returns the `# インフラレポート`
            as text and the TaskResult (files, self-review, section 7) as structured content."""
            from sre_agent.task import TaskError, parse_task
            from sre_agent.task.flow import handle_task as deliver

            try:
                spec = parse_task(task)
            except TaskError as exc:
                raise ToolError(f"task: {exc}") from None
            try:
                for item in spec.inputs:     # a task block must not read outside the root either
                    for raw in item.paths():
                        confine(root, raw, must_exist=False)
                out_dir = confine(root, out, must_exist=False)
            except PathRefused as exc:
                raise ToolError(str(exc)) from None
            await ctx.report_progress(0, 2, f"delivering {spec.title}")
            run = partial(_quietly, deliver, spec, out_dir, root=root)
            try:
                async with one_at_a_time:
                    result = await anyio.to_thread.run_sync(run)
            except TaskError as exc:
                raise ToolError(f"task: {exc}") from None
            except Exception as exc:
                LOG.debug("task failed", exc_info=True)
                raise ToolError(f"task failed: {type(exc).__name__}: {exc}") from None
            review = result.self_review
            await ctx.report_progress(2, 2, f"self-review {review.verdict}: {review.errors} "
                                            f"error(s), {review.warnings} warning(s)")
            report = (out_dir / result.report).read_text(encoding="utf-8")
            return CallToolResult(content=[TextContent(type="text", text=report)],
                                  structured_content=json.loads(result.model_dump_json()))

    @server.tool()
    def explain_rule(
        rule_id: Annotated[str, Field(description="A rule id or short code: SRE-DEP-004, DEP004")],
    ) -> str:
        """What a rule checks, the outage it prevents, an example and the fix."""
        from sre_agent.rules.base import rule_by_id

        rule = rule_by_id(rule_id)
        if rule is None:
            raise ToolError(f"unknown rule: {rule_id} (list_rules gives the catalogue)")
        return rule.documentation()

    @server.tool()
    def list_rules() -> RuleCatalogue:
        """The catalogue of our SRE rules (cfn-lint and checkov findings keep their own ids)."""
        from sre_agent.rules.base import all_rules, short_code

        return RuleCatalogue(rules=[
            RuleSummary(id=r.id, code=short_code(r.id), name=r.name,
                        perspective=r.perspective.value, severity=r.severity.value,
                        title=r.title_ja) for r in all_rules()])

    return server


def _review_quietly(root: Path, targets: list[Path], mode: str, lang: str, llm: str) -> Review:
    """The review as the CLI would run it in this project: its `.sre-review.toml` /
    `[tool.sre-review]` selection, severities, spellings, regions, standards and baseline apply."""
    from sre_agent import baseline as baselines
    from sre_agent.config import ConfigError, load_config
    from sre_agent.review import ReviewConfig

    try:
        settings = load_config(targets[0]).settings
        known = baselines.load(Path(settings.baseline), lang) if settings.baseline else None
    except (ConfigError, baselines.BaselineError) as exc:
        raise ToolError(f"project configuration: {exc}") from None
    config = ReviewConfig(mode=mode, lang=lang, llm=llm, cache=True, **settings.review_options())
    result = _quietly(review_within, root, targets, config)
    return baselines.apply(result, known, Path(settings.baseline)) if known is not None else result


def review_within(root: Path, targets: list[Path], config: ReviewConfig) -> Review:
    """`review`, except that a light review never reads above the server root. Light mode
    loads the project around the named files (the nearest `.git` or `.claude/`), which for a
    server started in a monorepo's sub-folder is the whole monorepo; then the part inside the
    root is the project instead."""
    from sre_agent.project import load_project, relative
    from sre_agent.review import find_project_root, review, review_project

    found = find_project_root(targets[0]) if config.mode == "light" else None
    if found is None or found.is_relative_to(root):
        return review(targets, config)
    focus = [relative(path, root) if path != root else "." for path in targets]
    return review_project(load_project([root], max_bytes=config.max_file_bytes), config,
                          focus=focus)


def _quietly(call: Callable[..., T], *args: object, **kwargs: object) -> T:
    """A core call, with any stray print sent to stderr instead of the protocol stream."""
    with contextlib.redirect_stdout(sys.stderr):
        return call(*args, **kwargs)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sre-agent")
    except PackageNotFoundError:
        return "dev"


def server_root(given: str | None) -> Path:
    """`--root`, else the project Claude Code launched us for, else the working directory."""
    return Path(given or os.environ.get("CLAUDE_PROJECT_DIR") or os.getcwd()).resolve()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="sre-agent mcp", description="MCP server on stdio: tools review, explain_rule, "
        "list_rules, handle_task. Paths are confined to the root.")
    parser.add_argument("--root", metavar="DIR", help="the only folder tools may read (default: "
                        "$CLAUDE_PROJECT_DIR, else the working directory)")
    parser.add_argument("--llm", choices=("off", "on", "auto"), default="auto",
                        help="LLM pass of deep reviews; auto = on when ANTHROPIC_API_KEY is set")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logs on stderr")
    args = parser.parse_args(argv)
    root = server_root(args.root)
    if not root.is_dir():
        print(f"sre-agent mcp: error: root is not a directory: {args.root or root}", file=sys.stderr)
        return 2
    from sre_agent.cli import _setup_logging

    _setup_logging(args.verbose)   # before the SDK's basicConfig: our stderr handler wins
    LOG.info("serving %s", root)
    build_server(root, args.llm).run("stdio")
    return 0
