"""`sre-agent task TASK.md --out DIR`: the delegated task in one call.

Prints the インフラレポート on stdout (the answer the PM agent reads) and a one-line summary on
stderr. Exit 0 when the self-review has no ❌ and every mandatory criterion and checkable 制約 is
met, 1 otherwise (the report says why), 2 for a task or input we cannot work from.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sre-agent task", description="Deliver what a PM agent's task block asks for "
        "(templates, change-set scripts, runbook), review it, and answer with the インフラレポート.")
    parser.add_argument("task", metavar="TASK", help="the task block: markdown (TASK.md) or JSON; - reads stdin")
    parser.add_argument("--out", required=True, metavar="DIR", help="delivery folder (new or empty)")
    parser.add_argument("--root", metavar="DIR", help="project root the task's paths are relative to "
                        "(default: the current folder; the task file's folder is tried next)")
    parser.add_argument("--format", choices=("md", "json"), default="md",
                        help="md: the report; json: the TaskResult (deliverables.json is written either way)")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from sre_agent.task.model import TaskError

    task: Path | str
    if args.task == "-":
        task = sys.stdin.read()
    else:
        task = Path(args.task)
        if not task.is_file():
            print(f"sre-agent task: error: task file not found: {task}", file=sys.stderr)
            return EXIT_USAGE
    if args.root and not Path(args.root).is_dir():
        print(f"sre-agent task: error: --root is not a folder: {args.root}", file=sys.stderr)
        return EXIT_USAGE
    from sre_agent.task.flow import handle_task

    try:
        result = handle_task(task, Path(args.out), root=Path(args.root) if args.root else None)
    except TaskError as exc:
        print(f"sre-agent task: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out = Path(args.out)
    if args.format == "json":
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write((out / result.report).read_text(encoding="utf-8"))
    review = result.self_review
    print(f"sre-agent task: {len(result.files)} files in {out} (report {result.report}, manifest "
          f"{result.manifest}); self-review {review.verdict}: {review.errors} error(s), "
          f"{review.warnings} warning(s)", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAIL
