"""Wall time and peak memory of `sre-review` next to the cfn-lint and checkov CLIs.

    .venv/bin/python benchmarks/compare_cli.py                      # the bundled scenarios
    .venv/bin/python benchmarks/compare_cli.py --corpus 10 100 1000 --runs 3

Every command runs as a fresh process, as a user and CI pay for it (interpreter start-up
included), side by side in one run on the same machine. Columns: medians of --runs runs; `both`
is cfn-lint + checkov back to back; `ratio` = sre-review cold / both; `warm` = an unchanged
rerun served from the cache, and `warm/cold`. Generated corpora come from benchmarks/corpus.py.
A benchmark to rerun, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

QUIET = {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
MEASURE = ("import resource, subprocess, sys, time\n"
           "t = time.perf_counter()\n"
           "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
           "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


def measure(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """(seconds, peak RSS in MB over the command and every process it started)."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True,
                         text=True, env=env, check=True).stdout.split()
    return float(out[0]), int(out[1]) // 1024


def median_of(runs: int, command: list[str] | None, env: dict[str, str]) -> tuple[float, int]:
    if command is None:
        return 0.0, 0
    samples = [measure(command, env) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples)


def bench(project: Path, runs: int, cache_home: str) -> dict[str, float]:
    from sre_agent.project import load_project

    templates = [str(project / t.path) for t in load_project([project]).templates]
    env = {**os.environ, **QUIET, "XDG_CACHE_HOME": cache_home}
    review = [str(BIN / "sre-review"), str(project), "--format", "json"]
    cold, cold_mb = median_of(runs, review + ["--no-cache"], env)
    subprocess.run(review, stdout=subprocess.DEVNULL, env=env, check=False)   # fill the cache
    warm, _ = median_of(runs, review, env)
    lint, lint_mb = median_of(runs, [str(BIN / "cfn-lint"), *templates] if templates else None, env)
    checkov, checkov_mb = median_of(runs, [str(BIN / "checkov"), "-d", str(project), "--quiet",
                                           "--compact", "--framework", "cloudformation",
                                           "terraform", "secrets"], env)
    return {"templates": len(templates), "cold": cold, "warm": warm, "cfn-lint": lint,
            "checkov": checkov, "both": lint + checkov, "ratio": cold / (lint + checkov),
            "warm/cold": warm / cold, "rss_mb": cold_mb, "cli_rss_mb": max(lint_mb, checkov_mb)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("projects", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--corpus", nargs="*", type=int, default=[],
                        help="also generate corpora of these template counts")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args()
    from corpus import generate

    projects = list(args.projects)
    if not projects and not args.corpus:
        projects = sorted(p for p in (ROOT / "fixtures" / "scenarios").iterdir() if p.is_dir())
    work = Path(tempfile.mkdtemp(prefix="sre-bench-"))
    projects += [generate(n, work / f"corpus-{n}") for n in args.corpus]
    header = (f"{'project':<16} {'tmpl':>5} {'cold':>7} {'warm':>6} {'cfn-lint':>8} {'checkov':>8}"
              f" {'both':>7} {'ratio':>6} {'warm/cold':>9} {'peakMB':>7} {'cliMB':>6}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, runs={args.runs}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    print(header)
    rows = []
    for project in projects:
        row = bench(project, args.runs, str(work / "cache"))
        rows.append({"project": project.name, **row})
        print(f"{project.name:<16} {row['templates']:>5} {row['cold']:>6.2f}s {row['warm']:>5.2f}s "
              f"{row['cfn-lint']:>7.2f}s {row['checkov']:>7.2f}s {row['both']:>6.2f}s "
              f"{row['ratio']:>6.2f} {row['warm/cold']:>9.2f} {row['rss_mb']:>7} {row['cli_rss_mb']:>6}",
              flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
