"""The edit loop: how long `sre-review` takes again after one edit, next to a cold review and
the cfn-lint + checkov CLIs, in one run on the same machine.

    .venv/bin/python benchmarks/edit_loop.py                     # a generated 300-template corpus
    .venv/bin/python benchmarks/edit_loop.py --templates 100 --runs 3
    .venv/bin/python benchmarks/edit_loop.py /path/to/a/checkout   # and any checkout, copied first

Runs, each a fresh `sre-review PATH --format json` process with its own cache directory:
cold (empty cache), unchanged rerun, one template edited (a comment line appended), one
parameter file edited (a value changed), one shared parent template edited (a nested stack's
parent, which changes what its children are judged with). After each edit the result is
compared with a cold `--no-cache` review of the edited tree (timings left out): `same` must be
yes — a fast wrong answer is worse than a slow one. Times are medians of --runs. The project is
copied to a temporary folder first: a checkout given here is never modified.
A benchmark to rerun, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from compare_cli import BIN, QUIET  # noqa: E402  (same folder; it puts the checkout on sys.path)


def timed(command: list[str], env: dict[str, str], out: Path | None = None) -> float:
    started = time.perf_counter()
    with open(out or os.devnull, "w", encoding="utf-8") as sink:
        subprocess.run(command, stdout=sink, stderr=subprocess.DEVNULL, env=env, check=False)
    return time.perf_counter() - started


def comparable(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    for run in data.get("analyzers", []):
        run.pop("seconds", None)
    return data


class Loop:
    def __init__(self, project: Path, work: Path, runs: int) -> None:
        self.project, self.runs = project, runs
        self.cache = work / "cache"
        self.env = {**os.environ, **QUIET, "XDG_CACHE_HOME": str(self.cache)}
        self.out = work / "out.json"
        self.cold_out = work / "cold.json"

    def review(self, *extra: str) -> list[str]:
        return [str(BIN / "sre-review"), str(self.project), "--format", "json", *extra]

    def median(self, command: list[str]) -> float:
        return statistics.median(timed(command, self.env, self.out) for _ in range(self.runs))

    def cold(self) -> float:
        samples = []
        for _ in range(self.runs):
            shutil.rmtree(self.cache, ignore_errors=True)
            samples.append(timed(self.review(), self.env, self.out))
        return statistics.median(samples)

    def after_edit(self, path: Path, edit) -> tuple[float, bool]:
        """Edit, review (from the cache), compare with a cold review of the edited tree; each
        run edits anew so that the cache never already holds the result."""
        samples = []
        for index in range(self.runs):
            path.write_text(edit(path.read_text(encoding="utf-8"), index), encoding="utf-8")
            samples.append(timed(self.review(), self.env, self.out))
        timed(self.review("--no-cache"), self.env, self.cold_out)
        return statistics.median(samples), comparable(self.out) == comparable(self.cold_out)

    def clis(self, templates: list[Path]) -> tuple[float, float]:
        lint = statistics.median(
            timed([str(BIN / "cfn-lint"), *map(str, templates)], self.env) for _ in range(self.runs))
        checkov = statistics.median(
            timed([str(BIN / "checkov"), "-d", str(self.project), "--quiet", "--compact",
                   "--framework", "cloudformation", "terraform", "secrets"], self.env)
            for _ in range(self.runs))
        return lint, checkov


def comment(text: str, index: int) -> str:
    return text + f"# edit {index} {time.time_ns()}\n"


def parameter_value(text: str, index: int) -> str:
    """Change the first ParameterValue that is a plain number or word."""
    return re.sub(r'("ParameterValue"\s*:\s*")([^"]*)(")',
                  lambda m: f"{m.group(1)}{m.group(2)}-e{index}{m.group(3)}", text, count=1)


def pick(project: Path) -> dict[str, Path | None]:
    from sre_agent.project import load_project

    loaded = load_project([project])
    templates = sorted(loaded.templates, key=lambda t: t.path)
    nested = [t for t in templates if any(r.type == "AWS::CloudFormation::Stack"
                                          for r in t.resources.values())]
    children = [t for t in templates if t not in nested]
    parameters = sorted((project / p.path for p in loaded.parameter_sets
                         if (project / p.path).suffix == ".json"), key=str)
    return {"template": project / (children or templates)[0].path if templates else None,
            "parameters": parameters[0] if parameters else None,
            "parent": project / nested[0].path if nested else None,
            "all": [project / t.path for t in templates]}


def bench(source: Path, work: Path, runs: int) -> list[dict]:
    project = work / source.name
    shutil.copytree(source, project, symlinks=True)
    loop = Loop(project, work, runs)
    chosen = pick(project)
    lint, checkov = loop.clis(chosen["all"])
    both = lint + checkov
    cold = loop.cold()
    rows = [{"run": "cfn-lint + checkov CLIs", "seconds": both, "detail": f"{lint:.1f} + {checkov:.1f} s"},
            {"run": "cold", "seconds": cold, "same": None},
            {"run": "unchanged rerun", "seconds": loop.median(loop.review()), "same": None}]
    for name, key, edit in (("one template edited", "template", comment),
                            ("one parameter file edited", "parameters", parameter_value),
                            ("shared parent template edited", "parent", comment)):
        path = chosen[key]
        if path is None:
            rows.append({"run": name, "seconds": None, "detail": "none in this project"})
            continue
        seconds, same = loop.after_edit(path, edit)
        rows.append({"run": name, "seconds": seconds, "same": same,
                     "detail": str(path.relative_to(project))})
    for row in rows:
        if row["seconds"] is not None:
            row["vs_cold"] = row["seconds"] / cold
            row["vs_clis"] = row["seconds"] / both
    return [{"project": source.name, "templates": len(chosen["all"]), **row} for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("projects", nargs="*", type=Path, help="checkouts to measure too")
    parser.add_argument("--templates", type=int, default=300,
                        help="size of the generated corpus (children and their parents)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from corpus import generate

    work = Path(tempfile.mkdtemp(prefix="sre-edit-loop-"))
    sources = []
    if args.templates:
        sources.append(generate(args.templates * 4 // 5, work / "generated" / f"corpus-{args.templates}"))
    sources += [p.resolve() for p in args.projects]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, runs={args.runs}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    print(f"| project | templates | run | wall | × cold | × CLIs | same as cold | what |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for index, source in enumerate(sources):
        for row in bench(source, work / f"p{index}", args.runs):
            rows.append(row)
            wall = "—" if row["seconds"] is None else f"{row['seconds']:.2f} s"
            ratio = lambda key: f"{row[key]:.3f}" if key in row else "—"  # noqa: E731
            same = {None: "—", True: "yes", False: "**NO**"}[row.get("same")]
            print(f"| {row['project']} | {row['templates']} | {row['run']} | {wall} | "
                  f"{ratio('vs_cold')} | {ratio('vs_clis')} | {same} | {row.get('detail', '')} |",
                  flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
