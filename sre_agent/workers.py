"""Run file analyzers in forked worker processes, with a time budget per file.

Why processes: checkov can hang on input it does not guard against (a YAML alias bomb kept
`checkov -f` busy for over 60 s), and a Python thread cannot be stopped. A forked worker
inherits the already-parsed project (nothing to pickle going in), runs its files in chunks, and
is killed when a chunk outlives its budget; the chunk is then retried file by file, so only the
file that really hangs is reported, and the worker restarts for the rest. Two workers (cfn-lint,
checkov) run at the same time on the machine's two cores while the parent runs our rules.

Workers end with os._exit: interpreter shutdown after importing checkov costs over a second.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Callable

STARTUP_BUDGET = 120.0  # imports (checkov alone is ~2 s) and rule building before the first chunk
PER_EXTRA_FILE = 5.0    # a chunk may take one file's budget plus this for each further file
MEMORY_LIMIT = 4 * 1024 ** 3  # address space per worker: an alias bomb fails, not the machine
Task = Callable[[list[str]], list[Any]]


@dataclass
class FileFailure:
    file: str
    reason: str


@dataclass
class PoolResult:
    results: list[Any] = field(default_factory=list)
    failures: list[FileFailure] = field(default_factory=list)


def _limit_memory(limit: int) -> None:
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or hard > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # not on this platform: time budgets still hold
        pass


def _child(task: Task, chunks: list[list[str]], conn: Connection, memory_limit: int) -> None:
    _limit_memory(memory_limit)
    try:
        for index, chunk in enumerate(chunks):
            conn.send(("start", index))
            try:
                conn.send(("done", index, task(chunk)))
            except (Exception, MemoryError, RecursionError) as exc:
                detail = f"{type(exc).__name__}: {exc}"
                conn.send(("error", index, detail, traceback.format_exc(limit=3)))
        conn.send(("finished",))
    finally:
        conn.close()
        os._exit(0)


class WorkerRun:
    """One analyzer's files processed by a (re)started worker; driven by `drive_all`."""

    def __init__(self, name: str, task: Task, chunks: list[list[str]], budget_per_file: float,
                 memory_limit: int = MEMORY_LIMIT, per_extra_file: float = PER_EXTRA_FILE):
        self.name = name
        self.task = task
        self.pending: deque[list[str]] = deque(c for c in chunks if c)
        self.budget_per_file = budget_per_file
        self.memory_limit = memory_limit
        self.per_extra_file = per_extra_file
        self.outcome = PoolResult()
        self.process: Any = None
        self.conn: Connection | None = None
        self.sent: list[list[str]] = []
        self.current: int | None = None
        self.deadline = 0.0

    @property
    def done(self) -> bool:
        return self.conn is None and not self.pending

    def start(self) -> None:
        if not self.pending:
            return
        context = multiprocessing.get_context("fork")
        parent_conn, child_conn = context.Pipe(duplex=False)
        self.sent = list(self.pending)
        self.pending.clear()
        self.process = context.Process(target=_child, args=(self.task, self.sent, child_conn, self.memory_limit),
                                       daemon=False, name=f"sre-review-{self.name}")
        self.process.start()
        child_conn.close()
        self.conn = parent_conn
        self.current = None
        self.deadline = time.monotonic() + STARTUP_BUDGET

    def handle(self, message: tuple) -> None:
        kind = message[0]
        if kind == "start":
            self.current = message[1]
            chunk = self.sent[self.current]
            self.deadline = (time.monotonic() + self.budget_per_file
                             + self.per_extra_file * (len(chunk) - 1))
        elif kind == "done":
            self.outcome.results.extend(message[2])
            self.current = None
        elif kind == "error":
            chunk = self.sent[message[1]]
            if len(chunk) > 1:      # find the file that fails: retry the chunk one by one
                self.pending.extend([f] for f in chunk)
            else:
                self.outcome.failures.append(FileFailure(chunk[0], message[2]))
            self.current = None
        elif kind == "finished":
            self._stop()

    def expire(self) -> None:
        """The worker outlived its budget: kill it, blame the chunk (or its single file)."""
        index = self.current
        remaining = self.sent[(index + 1) if index is not None else 0:]
        self._stop(kill=True)
        if index is None:           # it never got to its first chunk
            self.outcome.failures.extend(FileFailure(f, "worker did not start in time")
                                         for c in remaining for f in c)
            return
        chunk = self.sent[index]
        if len(chunk) > 1:
            self.pending.extend([f] for f in chunk)
        else:
            seconds = int(self.budget_per_file)
            self.outcome.failures.append(FileFailure(chunk[0], f"timed out after {seconds} s"))
        self.pending.extend(remaining)
        self.start()

    def closed(self) -> None:
        """The pipe closed without 'finished': the worker died (e.g. killed by the OOM killer)."""
        index = self.current
        sent = self.sent
        self._stop(kill=True)
        if index is None:
            self.outcome.failures.extend(FileFailure(f, "analyzer process died") for c in sent for f in c)
            return
        chunk = sent[index]
        if len(chunk) == 1:
            self.outcome.failures.append(FileFailure(chunk[0], "analyzer process died"))
        else:
            self.pending.extend([f] for f in chunk)
        self.pending.extend(sent[index + 1:])
        self.start()

    def _stop(self, kill: bool = False) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.process is not None:
            if kill and self.process.is_alive():
                self.process.kill()
            self.process.join(timeout=5)
            self.process = None
        if not kill and self.pending:
            self.start()


def drive_all(runs: list[WorkerRun], while_waiting: Callable[[], None] | None = None) -> None:
    """Start every run, do the parent's own work, then serve the pipes until all are done."""
    for run in runs:
        run.start()
    if while_waiting is not None:
        while_waiting()
    while not all(run.done for run in runs):
        live = {run.conn: run for run in runs if run.conn is not None}
        if not live:
            for run in runs:
                if run.pending:
                    run.start()
            continue
        timeout = max(0.0, min(run.deadline for run in live.values()) - time.monotonic())
        ready = wait(list(live), timeout=timeout)
        for conn in ready:
            run = live[conn]
            try:
                message = conn.recv()
            except (EOFError, OSError):
                run.closed()
                continue
            run.handle(message)
        now = time.monotonic()
        for run in live.values():
            if run.conn is not None and run.deadline <= now and not _has_data(run.conn):
                run.expire()


def _has_data(conn: Connection) -> bool:
    try:
        return conn.poll(0)
    except (OSError, EOFError):
        return False


def chunked(files: list[str], size: int) -> list[list[str]]:
    return [files[i:i + size] for i in range(0, len(files), size)]
