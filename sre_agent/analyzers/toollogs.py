"""The analyzers' own logging stays theirs: nothing of it reaches our stderr unless `-v`.

checkov logs through the root logger (`logging.warning(...)`), and its import (logging_init)
turns the root logger to DEBUG, restyles the first root handler — ours — and adds a StringIO
handler that keeps every debug line of the run in memory. So: after the import we undo that,
and each tool run is wrapped in `captured()`, which hands the root logger to a collector for
the run. A check that crashed inside checkov (`Failed to run check CKV_AWS_361 on
<file>:<type>.<name>` with its traceback) is read back from the collected records and becomes an
info-level `analyzer-error` finding naming the check, the file and the resource.
"""

from __future__ import annotations

import logging
import os
import re
from contextlib import contextmanager
from typing import Iterator

LOG = logging.getLogger("sre_agent.analyzers")
CRASH = re.compile(r"^Failed to run check (?P<check>\S+) on (?P<file>.+?):(?P<type>[A-Za-z][\w:]*?)\.(?P<name>[^.]+)$")


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def verbose() -> bool:
    return logging.getLogger("sre_agent").isEnabledFor(logging.DEBUG)


def undo_checkov_logging_init(saved: list[tuple[logging.Handler, logging.Formatter | None, int]],
                              level: int) -> None:
    """Call after importing checkov with what the root logger looked like before it."""
    root = logging.getLogger()
    keep = {handler for handler, _, _ in saved}
    for handler in list(root.handlers):
        if handler not in keep:
            root.removeHandler(handler)
    for handler, formatter, handler_level in saved:
        handler.setFormatter(formatter)
        handler.setLevel(handler_level)
    root.setLevel(level)


@contextmanager
def checkov_imported() -> Iterator[None]:
    """Import checkov's runners inside this block: its logging set-up is undone at the end."""
    root = logging.getLogger()
    saved = [(h, h.formatter, h.level) for h in root.handlers]
    level = root.level
    try:
        yield
    finally:
        undo_checkov_logging_init(saved, level)


@contextmanager
def captured() -> Iterator[list[logging.LogRecord]]:
    """Every record logged during the block, kept from the terminal (shown too with -v)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    collector = _Collector()
    loud = verbose()
    root.handlers = [collector, *handlers] if loud else [collector]
    root.setLevel(logging.DEBUG if loud else logging.WARNING)
    try:
        yield collector.records
    finally:
        root.handlers = handlers
        root.setLevel(level)


def crashed_checks(records: list[logging.LogRecord]) -> list[dict[str, str]]:
    """The checks that crashed, as {check, file, resource, error} (file as checkov wrote it)."""
    crashes = []
    for record in records:
        match = CRASH.match(record.getMessage())
        if not match:
            continue
        error = ""
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            error = f"{type(exc).__name__}: {exc}"
        crashes.append({"check": match["check"], "file": _real_path(match["file"]),
                        "resource": match["name"], "error": error})
    return crashes


def _real_path(logged: str) -> str:
    """checkov logs `/` + the path relative to the working directory (`/../../tmp/x.yaml`)."""
    for candidate in (os.path.join(os.getcwd(), logged.lstrip("/")), logged):
        if os.path.exists(candidate):
            return os.path.normpath(candidate)
    return os.path.normpath(logged)
