"""Wall time of `sre-review` next to the cfn-lint and checkov CLIs on the same files.

    .venv/bin/python benchmarks/compare_cli.py [--runs 5] [PROJECT ...]

Defaults to the bundled scenarios. Each command runs as a fresh process (what a user and CI
pay, interpreter start-up included); the table shows medians and the ratio of sre-review to the
two CLIs run back to back. A benchmark to rerun, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
QUIET_CHECKOV = {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, **QUIET_CHECKOV}, check=False)
    return time.perf_counter() - started


def templates_of(project: Path) -> list[str]:
    sys.path.insert(0, str(ROOT))
    from sre_agent.project import load_project

    loaded = load_project([project])
    return [str(project / t.path) for t in loaded.templates]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("projects", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    projects = args.projects or sorted(p for p in (ROOT / "fixtures" / "scenarios").iterdir()
                                       if p.is_dir())
    print(f"{'project':<18} {'sre-review':>10} {'cfn-lint':>9} {'checkov':>8} {'both':>7} {'ratio':>6}")
    for project in projects:
        templates = templates_of(project)
        commands = {
            "sre-review": [str(BIN / "sre-review"), str(project), "--format", "json"],
            "cfn-lint": [str(BIN / "cfn-lint"), *templates] if templates else None,
            "checkov": [str(BIN / "checkov"), "-d", str(project), "--quiet", "--compact",
                        "--framework", "cloudformation", "terraform", "secrets"],
        }
        medians = {}
        for name, command in commands.items():
            runs = [seconds(command) for _ in range(args.runs)] if command else [0.0]
            medians[name] = statistics.median(runs)
        both = medians["cfn-lint"] + medians["checkov"]
        print(f"{project.name:<18} {medians['sre-review']:>9.2f}s {medians['cfn-lint']:>8.2f}s "
              f"{medians['checkov']:>7.2f}s {both:>6.2f}s {medians['sre-review'] / both:>6.2f}")


if __name__ == "__main__":
    main()
