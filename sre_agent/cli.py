"""Command-line adapters: `sre-review PATH...` and the `sre-agent` command group.

Thin by design: parse arguments, call the core, print. Exit codes are the contract's:
0 yes/conditional, 1 no (or conditional with `--fail-on warning`), 2 usage errors.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _setup_logging(verbose: bool) -> None:
    """Ours first: checkov's import calls logging.basicConfig, a no-op once the root has a handler."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("sre-review: %(levelname)s %(message)s"))
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger("sre_agent").setLevel(logging.DEBUG if verbose else logging.WARNING)
    for noisy in ("cfnlint", "checkov", "detect_secrets", "bc_jsonpath_ng"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL + 1)


def _review_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="SRE review of design documents, CloudFormation, Terraform and "
        "deploy scripts. Prints `## sre レビュー結果` (or JSON / SARIF).",
        epilog="Settings also come from .sre-review.toml or [tool.sre-review] in pyproject.toml "
        "(nearest to the first PATH, up to the git root). Precedence: flag > .sre-review.toml > "
        "pyproject.toml > default.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to review")
    parser.add_argument("--format", "-f", choices=("md", "json", "sarif"), default="md")
    parser.add_argument("--lang", choices=("ja", "en"), default=None, help="default: ja")
    parser.add_argument("--mode", choices=("light", "deep"), default=None,
                        help="light = /check (given paths only); deep = /check all (default)")
    parser.add_argument("--fail-on", choices=("error", "warning"), default=None,
                        help="exit 1 on a ❌ No (error, the default) or also on ⚠️ 条件付き (warning)")
    parser.add_argument("--region", default=None,
                        help="region cfn-lint validates for (default: ap-northeast-1)")
    parser.add_argument("--price-region", default=None, metavar="REGION",
                        help="region of the prices in cost estimates (default: read from the project)")
    parser.add_argument("--select", type=_prefixes, default=None, metavar="PREFIX,...",
                        help="report only rule ids starting with these (SRE-DEP, DEP0, CKV_AWS_, E3)")
    parser.add_argument("--ignore", type=_prefixes, default=None, metavar="PREFIX,...",
                        help="never report rule ids starting with these")
    parser.add_argument("--max-file-size", type=int, default=5 * 1024 * 1024, metavar="BYTES",
                        help="larger files are listed as skipped: too large")
    parser.add_argument("--standards", metavar="DIR",
                        help="the project's own technical standards (markdown); replaces ours "
                        "(default: .claude/docs/40_standards/ of an agent framework project, else ours)")
    parser.add_argument("--config", metavar="FILE",
                        help="read settings from FILE only (.sre-review.toml or pyproject.toml)")
    parser.add_argument("--baseline", metavar="FILE",
                        help="leave out the findings FILE already knows (see --create-baseline)")
    parser.add_argument("--create-baseline", metavar="FILE",
                        help="write this run's findings to FILE as the baseline")
    parser.add_argument("--record", metavar="DIR",
                        help="write the agent framework's review record JSON into DIR "
                        "(default: .claude-state/reviews/ when the project has it)")
    parser.add_argument("--no-record", action="store_true", help="write no review record")
    parser.add_argument("--no-cache", action="store_true",
                        help="review again even if nothing changed since the last run")
    parser.add_argument("--file-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="time cfn-lint or checkov may spend on one file before it is stopped "
                        "and reported")
    parser.add_argument("--llm", choices=("off", "on", "auto"), default="auto",
                        help="LLM analysis with the anthropic SDK; auto = on when "
                        "ANTHROPIC_API_KEY is set. ANTHROPIC_BASE_URL, SRE_AGENT_LLM_TIMEOUT "
                        "(seconds per request) and SRE_AGENT_LLM_BUDGET (seconds) are honoured")
    parser.add_argument("--model", default=None,
                        help="model for the LLM pass (default: $SRE_AGENT_MODEL or a current "
                        "Sonnet-class model; light mode: a Haiku-class one)")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the result to FILE")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress display on stderr (it only appears on a terminal)")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logs on stderr")
    return parser


def _prefixes(text: str) -> list[str]:
    prefixes = [p.strip() for p in text.split(",") if p.strip()]
    if not prefixes:
        raise argparse.ArgumentTypeError("give at least one rule id prefix")
    return prefixes


class _UsageError(Exception):
    """A bad path, configuration or baseline: one line on stderr, exit 2."""


def run_review(argv: list[str], prog: str = "sre-review") -> int:
    args = _review_parser(prog).parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return _review_and_report(args, prog)
    except _UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _review_and_report(args: argparse.Namespace, prog: str) -> int:
    from sre_agent import baseline as baselines
    from sre_agent.config import ConfigError, load_config

    missing = [p for p in args.paths if not Path(p).exists() and not Path(p).is_symlink()]
    if missing:
        raise _UsageError(f"path not found: {missing[0]}")
    try:
        settings = load_config(Path(args.paths[0]), Path(args.config) if args.config else None).settings
    except ConfigError as exc:
        raise _UsageError(str(exc)) from None
    standards = args.standards or settings.standards
    if standards and not Path(standards).is_dir():
        raise _UsageError(f"path not found: {standards}")
    lang = args.lang or settings.lang or "ja"
    known = None
    baseline_file = args.baseline or (settings.baseline if not args.create_baseline else None)
    if baseline_file:
        try:
            known = baselines.load(Path(baseline_file), lang)
        except baselines.BaselineError as exc:
            raise _UsageError(str(exc)) from None
    from sre_agent.progress import ReviewProgress
    from sre_agent.render import render
    from sre_agent.review import ReviewConfig, review

    try:
        config = ReviewConfig(
            lang=lang, mode=args.mode or settings.mode or "deep",
            region=args.region or settings.region or "ap-northeast-1",
            max_file_bytes=args.max_file_size, llm=args.llm, model=args.model,
            file_timeout=args.file_timeout, cache=not args.no_cache, standards=standards,
            select=tuple(args.select if args.select is not None else settings.select),
            ignore=tuple(args.ignore if args.ignore is not None else settings.ignore),
            severity=settings.severity, environments=settings.aliases(),
            price_region=_price_region(args.price_region) or settings.price_region)
    except ValueError as exc:
        raise _UsageError(str(exc).splitlines()[0]) from None
    with ReviewProgress(enabled=False if args.quiet else None, lang=lang) as progress:
        result = review(args.paths, config, progress=progress.update)
    if args.create_baseline:
        try:
            count = baselines.create(result, Path(args.create_baseline), lang)
        except OSError as exc:
            raise _UsageError(f"cannot write the baseline {args.create_baseline}: "
                              f"{exc.strerror or exc}") from None
        if not args.quiet:
            print(f"{prog}: baseline written: {args.create_baseline} ({count} findings)", file=sys.stderr)
    if known is not None:
        result = baselines.apply(result, known, Path(baseline_file))
    output = render(result, args.format, lang)
    if args.output:
        Path(args.output).write_text(output, encoding="utf-8")
    else:
        sys.stdout.write(output)
        sys.stdout.flush()
    _write_record(args, result, lang)
    fail_on = args.fail_on or settings.fail_on or "error"
    failing = {"no"} if fail_on == "error" else {"no", "conditional"}
    return EXIT_FAIL if result.verdict in failing else EXIT_OK


def _price_region(region: str | None) -> str | None:
    from sre_agent.cost import price_table

    regions = price_table()["regions"]
    if region is not None and region not in regions:
        raise _UsageError(f"no price table for {region!r} (priced: {', '.join(sorted(regions))})")
    return region


def _write_record(args: argparse.Namespace, result, lang: str) -> None:
    """The framework's review record, when asked for or when the project keeps them."""
    from sre_agent import records

    if args.no_record:
        return
    folder = Path(args.record) if args.record else records.default_folder([Path(p) for p in args.paths])
    if folder is not None:
        try:
            records.write(result, [Path(p).as_posix() for p in args.paths], folder, lang)
        except OSError as exc:
            raise _UsageError(f"cannot write the review record in {folder}: {exc.strerror or exc}") from None


def _rule_command(argv: list[str]) -> int:
    from sre_agent.rules.base import rule_by_id

    if len(argv) != 1:
        print("usage: sre-agent rule ID   (e.g. sre-agent rule DEP004)", file=sys.stderr)
        return EXIT_USAGE
    rule = rule_by_id(argv[0])
    if rule is None:
        print(f"sre-agent: error: unknown rule: {argv[0]} (see `sre-agent rules`)", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(rule.documentation())
    return EXIT_OK


def _rules_command(argv: list[str]) -> int:
    from sre_agent.rules.base import all_rules, rules_markdown, short_code

    if argv == ["--markdown"]:
        sys.stdout.write(rules_markdown())
        return EXIT_OK
    if argv:
        print("usage: sre-agent rules [--markdown]", file=sys.stderr)
        return EXIT_USAGE
    for rule in all_rules():
        print(f"{rule.id}  {short_code(rule.id)}  {rule.severity.value:<7}  "
              f"{rule.perspective.value:<14}  {rule.name}")
    return EXIT_OK


# name -> (where the command lives as "module:function" taking argv and returning an exit code,
# its help line). A command module is imported only when its command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "review": ("sre_agent.cli:_agent_review", "PATH...   the SRE review (same as sre-review)"),
    "rule": ("sre_agent.cli:_rule_command", "ID          print a rule's documentation"),
    "rules": ("sre_agent.cli:_rules_command",
              "           list the rules (--markdown: the docs/rules.md page)"),
    "task": ("sre_agent.task.cli:main",
             "TASK.md --out DIR  deliver a PM task: templates, change-set scripts, runbook, report"),
    "mcp": ("sre_agent.mcp_server:main",
            "[--root DIR]  MCP server on stdio: review, explain_rule, list_rules, handle_task"),
    "install-claude": ("sre_agent.install_claude:main",
                       "[DIR] [--force]  Claude Code: the sre agent, /sre-check, .mcp.json"),
    "loadtest": ("sre_agent.loadtest:main",
                 "plan DOCS... | run SCENARIOS.yaml  load tests with Locust (section 6)"),
}


def _agent_review(argv: list[str]) -> int:
    return run_review(argv, prog="sre-agent review")


def _usage() -> str:
    lines = [f"usage: sre-agent {{{','.join(COMMANDS)}}} ...", ""]
    lines += [f"  {name} {help_line}" for name, (_, help_line) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage(), file=sys.stderr if not argv else sys.stdout)
        return EXIT_USAGE if not argv else EXIT_OK
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"sre-agent: error: unknown command: {command}", file=sys.stderr)
        return EXIT_USAGE
    module_name, function_name = COMMANDS[command][0].split(":")
    import importlib

    function = getattr(importlib.import_module(module_name), function_name)
    return _guarded(lambda: function(rest))


def agent_main() -> None:
    _exit_now(main())


def review_main() -> None:
    _exit_now(_guarded(lambda: run_review(sys.argv[1:])))


def _exit_now(code: int) -> None:
    """Skip interpreter teardown (garbage-collecting cfn-lint's schemas costs ~0.5 s): the
    output is flushed and nothing else is left to do."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass
    os._exit(code)


def _guarded(call) -> int:
    """argparse exits 2 itself; anything unexpected is one line on stderr, not a traceback."""
    try:
        return call()
    except BrokenPipeError:      # `sre-review . | head`: the reader has what it wanted
        return EXIT_OK
    except KeyboardInterrupt:
        print("sre-review: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USAGE
    except Exception as exc:  # pragma: no cover - the last line of defence
        logging.getLogger("sre_agent").debug("internal error", exc_info=True)
        print(f"sre-review: internal error: {type(exc).__name__}: {exc} (rerun with -v)",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
