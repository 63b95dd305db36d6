"""`sre-agent loadtest plan DOCS...` and `sre-agent loadtest run SCENARIOS.yaml`: parse, call, print.

Exit codes: 0 every scenario met its targets, 1 one missed them, 2 a usage error or a refusal
(no target, a target that does not answer, a cap exceeded, Locust missing), 130 on Ctrl-C
(after writing what was measured).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from sre_agent.loadtest.locust_runner import LoadTestError
from sre_agent.loadtest.results import LoadTestResults
from sre_agent.loadtest.scenarios import ScenarioFileError, load_scenario_file

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
PROG = "sre-agent loadtest"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Load tests with Locust: scenarios "
                                     "from the design documents' performance / SLO tables, a "
                                     "headless run, results judged against the targets.")
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="write a scenario file from the design documents")
    plan.add_argument("docs", nargs="+", metavar="DOCS", help="design documents or folders")
    plan.add_argument("--output", "-o", metavar="FILE", help="write the YAML to FILE")
    run = commands.add_parser("run", help="run the scenarios with Locust and judge them")
    run.add_argument("scenarios", metavar="SCENARIOS.yaml")
    run.add_argument("--target", metavar="URL", help="base URL of the system under test "
                     "(overrides the file's `target`)")
    run.add_argument("--format", "-f", choices=("md", "json"), default="md")
    run.add_argument("--out", metavar="DIR", help="keep Locust's CSV / HTML reports, the "
                     "locustfiles and results.json / results.md in DIR")
    run.add_argument("--ramp", metavar="N,N,...", type=_user_counts,
                     help="run every scenario at these user counts and report the knee")
    run.add_argument("--max-users", type=int, default=50, metavar="N",
                     help="refuse scenarios or ramp steps above N users (default 50)")
    run.add_argument("--max-duration", type=float, default=60.0, metavar="SECONDS",
                     help="shorten each run to at most this (default 60)")
    return parser


def _user_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"user counts separated by commas, not {text!r}") from None
    if not counts or any(c < 1 for c in counts):
        raise argparse.ArgumentTypeError("user counts must be positive integers")
    return sorted(set(counts))


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        return _plan(args) if args.command == "plan" else _run(args)
    except (ScenarioFileError, LoadTestError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _plan(args: argparse.Namespace) -> int:
    from sre_agent.loadtest.plan import plan_yaml_from_documents

    paths = [Path(p) for p in args.docs]
    missing = next((p for p in paths if not p.exists()), None)
    if missing is not None:
        raise LoadTestError(f"path not found: {missing}")
    planned = plan_yaml_from_documents(paths)
    if planned is None:
        raise LoadTestError("no performance or SLO table with a response-time or throughput "
                            "target found in " + ", ".join(map(str, paths)))
    plan, text = planned
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"{PROG}: wrote {len(plan.scenarios)} scenarios to {args.output}; set `target:` "
              "before `run`", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from sre_agent.loadtest.render import section6_markdown
    from sre_agent.loadtest.run import run_plan

    if args.max_users < 1 or args.max_duration <= 0:
        raise LoadTestError("--max-users and --max-duration must be positive")
    plan = load_scenario_file(Path(args.scenarios))
    out = Path(args.out) if args.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sre-loadtest-") as scratch:
        results = run_plan(plan, target=args.target, max_users=args.max_users,
                           max_duration=args.max_duration, ramp=args.ramp,
                           workdir=out or Path(scratch))
        if out is None:
            results.reports = []  # the scratch folder goes away with its reports
    json_text = results.model_dump_json(indent=2) + "\n"
    md_text = section6_markdown(plan, results)
    if out is not None:
        (out / "results.json").write_text(json_text, encoding="utf-8")
        (out / "results.md").write_text(md_text, encoding="utf-8")
    sys.stdout.write(json_text if args.format == "json" else md_text)
    sys.stdout.flush()
    return _exit_code(results)


def _exit_code(results: LoadTestResults) -> int:
    if results.interrupted:
        print(f"{PROG}: interrupted; the scenarios measured so far are reported", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK if all(r.passed for r in results.scenarios) else EXIT_FAIL
