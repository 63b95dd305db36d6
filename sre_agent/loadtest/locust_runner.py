"""One scenario at one user count, run by Locust as a headless subprocess.

Locust is the load generator (gevent users, its own statistics, its CSV and HTML reports); we
only write its locustfile, start it, and read its `*_stats.csv` / `*_failures.csv`. The child
runs in its own session with LOCUST_* variables removed and its folder as working directory, so
neither a terminal's Ctrl-C nor a stray `locust.conf` reaches it unasked: on Ctrl-C we send it
SIGINT ourselves, and Locust stops its users and writes its reports as on a normal end.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Iterator

import jinja2

from sre_agent.loadtest.results import ErrorKind, Measurement
from sre_agent.loadtest.scenarios import Scenario

STARTUP_GRACE_S = 60.0  # Locust's start and shutdown on top of the run time, before we stop it
STOP_GRACE_S = 10.0  # after SIGINT, time Locust gets to write its reports before it is killed
PROBE_TIMEOUT_S = 3.0


class LoadTestError(RuntimeError):
    """The run cannot start or Locust failed: one line for the user."""


@dataclass
class LocustOutcome:
    measurement: Measurement | None  # None: Locust wrote no statistics (stopped before any)
    errors: list[ErrorKind] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    interrupted: bool = False


def locust_executable() -> Path:
    """The `locust` script installed beside this interpreter (the same environment as us)."""
    path = Path(sys.executable).parent / "locust"
    if not path.exists():
        raise LoadTestError(f"Locust is not installed beside {sys.executable} ({path} missing): "
                            "pip install 'sre-agent[loadtest]'")
    return path


def check_target(target: str) -> str:
    """A base URL with an http(s) scheme and a host; returned without a trailing slash."""
    parsed = urllib.parse.urlsplit(target)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise LoadTestError(f"target must be an http:// or https:// URL with a host, not {target!r}")
    return target.rstrip("/")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 3xx already proves the target answers; never follow it elsewhere


def probe(target: str) -> str | None:
    """One GET of the target's base URL: None when it answers (any HTTP status), else why not."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(target + "/", method="GET"),
                         timeout=PROBE_TIMEOUT_S):
            return None
    except urllib.error.HTTPError:
        return None
    except urllib.error.URLError as exc:
        reason = exc.reason
        return getattr(reason, "strerror", None) or str(reason)
    except (TimeoutError, OSError) as exc:
        return getattr(exc, "strerror", None) or type(exc).__name__


@cache
def _locustfile_template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("sre_agent", "templates"),
                             autoescape=False, keep_trailing_newline=True)
    env.filters["py"] = repr  # every value enters the file as a Python literal, never as code
    return env.get_template("loadtest/locustfile.py.j2")


def write_locustfile(scenario: Scenario, users: int, spawn_rate: float, duration: float,
                     path: Path) -> None:
    path.write_text(_locustfile_template().render(
        name=scenario.name, method=scenario.method, path=scenario.path,
        body_json=json.dumps(scenario.body, ensure_ascii=False), think_time=float(scenario.think_time),
        users=users, spawn_rate=f"{spawn_rate:g}", duration=int(duration), filename=path.name),
        encoding="utf-8")


def run_locust(scenario: Scenario, target: str, users: int, duration: float, workdir: Path,
               label: str) -> LocustOutcome:
    """Run Locust for `duration` seconds and read its CSV; Ctrl-C stops it and keeps its numbers."""
    spawn_rate = min(scenario.spawn_rate or users, users)
    locustfile = workdir / f"{label}_locustfile.py"
    write_locustfile(scenario, users, spawn_rate, duration, locustfile)
    prefix = workdir / label
    for suffix in ("_stats.csv", "_failures.csv", "_exceptions.csv", "_stats_history.csv", ".html"):
        Path(f"{prefix}{suffix}").unlink(missing_ok=True)  # an earlier run's, in a reused --out
    command = [str(locust_executable()), "-f", locustfile.name, "--headless", "-u", str(users),
               "-r", f"{spawn_rate:g}", "-t", f"{max(1, round(duration))}s", "--host", target,
               "--csv", prefix.name, "--html", f"{label}.html", "--only-summary",
               "--stop-timeout", "0"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    log_path = workdir / f"{label}.log"
    interrupted = False
    with open(log_path, "wb") as log, _sigterm_interrupts():
        child = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True,
                                 preexec_fn=_default_sigint)
        try:
            child.wait(timeout=duration + STARTUP_GRACE_S)
        except KeyboardInterrupt:
            interrupted = True
            _stop(child)
        except subprocess.TimeoutExpired:
            _stop(child)
            raise LoadTestError(f"Locust did not finish scenario {scenario.name!r} within "
                                f"{duration + STARTUP_GRACE_S:.0f} s; see {log_path}") from None
        except BaseException:
            _stop(child)
            raise
    stats = Path(f"{prefix}_stats.csv")
    measurement = read_stats(stats) if stats.exists() else None
    if measurement is None and not interrupted:
        raise LoadTestError(f"Locust wrote no statistics for scenario {scenario.name!r} (exit "
                            f"{child.returncode}): {_last_line(log_path)}")
    failures = Path(f"{prefix}_failures.csv")
    errors = read_failures(failures, scenario.name, users) if failures.exists() else []
    files = [p for p in (stats, failures, workdir / f"{label}.html") if p.exists()]
    return LocustOutcome(measurement, errors, files, interrupted)


def _default_sigint() -> None:
    """In the child: a shell that started us in the background left SIGINT ignored, and Locust
    must still stop (and write its reports) on the SIGINT we send it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While Locust runs, SIGTERM to us stops it like Ctrl-C does instead of orphaning it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop(child: subprocess.Popen) -> None:
    """SIGINT first (Locust writes its reports), then kill if it lingers."""
    if child.poll() is not None:
        return
    try:
        child.send_signal(signal.SIGINT)
        child.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    except KeyboardInterrupt:  # a second Ctrl-C: do not wait any longer
        child.kill()
        child.wait()


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
             if line.strip()]
    return lines[-1].strip() if lines else "no output"


_PERCENTILE_COLUMNS = {"p50_ms": "50%", "p95_ms": "95%", "p99_ms": "99%"}


def read_stats(path: Path) -> Measurement | None:
    """The `Aggregated` row of Locust's `*_stats.csv`; None before Locust wrote one."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    row = next((r for r in rows if r.get("Name") == "Aggregated"), None)
    if row is None:
        return None
    missing = [c for c in ("Request Count", "Failure Count", "Requests/s",
                           *_PERCENTILE_COLUMNS.values()) if c not in row]
    if missing:
        raise LoadTestError(f"{path.name}: Locust's CSV lacks the columns {', '.join(missing)}")
    percentiles = {key: _number(row[column]) for key, column in _PERCENTILE_COLUMNS.items()}
    return Measurement(requests=int(row["Request Count"]), failures=int(row["Failure Count"]),
                       rps=float(row["Requests/s"]), **percentiles)


def _number(cell: str) -> float | None:
    return None if cell in ("", "N/A") else float(cell)


def read_failures(path: Path, scenario: str, users: int) -> list[ErrorKind]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [ErrorKind(scenario=scenario, users=users, method=row["Method"], name=row["Name"],
                          error=row["Error"], occurrences=int(row["Occurrences"]))
                for row in csv.DictReader(handle)]


def file_label(index: int, scenario: Scenario, users: int) -> str:
    """`01-get-items-u10`: ASCII, unique per scenario and user count, sorted in run order."""
    slug = re.sub(r"[^a-z0-9]+", "-", scenario.request.lower()).strip("-")[:40] or "request"
    return f"{index:02d}-{slug}-u{users}"
