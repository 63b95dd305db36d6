"""Run file analyzers in forked worker processes, with a time budget per file.

Why processes: checkov can hang on input it does not guard against (a YAML alias bomb kept
`checkov -f` busy for over 60 s), and a Python thread cannot be stopped. A forked worker
inherits the already-parsed project (nothing to pickle going in), is handed its files one chunk
at a time, and is killed when a chunk outlives its budget; the chunk is then retried file by
file, so only the file that really hangs is reported, and a new worker serves the rest. Two
workers (cfn-lint, checkov) run at the same time on the machine's two cores while the parent
runs our rules; when one analyzer's queue runs dry its slot helps the other (on 1,000 templates
cfn-lint has twice checkov's work, and would otherwise finish alone on one core).

Workers end with os._exit: interpreter shutdown after importing checkov costs over a second.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
import traceback
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterator

PER_EXTRA_FILE = 5.0    # a chunk may take one file's budget plus this for each further file
MEMORY_LIMIT = 4 * 1024 ** 3  # address space per worker: an alias bomb fails, not the machine
Task = Callable[[list[str]], list[Any]]
# Parsing templates, cfn-lint and checkov allocate millions of objects that live as long as the
# review: the default thresholds run a collection every 700 allocations, and each full one walks
# the whole parsed project again (loading 300 templates: 2.1 s with them, 1.0 s with these).
FEW_COLLECTIONS = (50_000, 20, 20)


@contextmanager
def few_collections() -> Iterator[None]:
    old = gc.get_threshold()
    gc.set_threshold(*FEW_COLLECTIONS)
    try:
        yield
    finally:
        gc.set_threshold(*old)


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


def _child(task: Task | None, conn: Connection, memory_limit: int,
           warm: Callable[[], None] | None = None) -> None:
    """Serve chunks until the parent sends None: one chunk in flight, so a kill loses one.
    A prewarmed child (task None) runs `warm` first, then takes `(factory, payload)` and serves
    `factory(payload)`: it was forked before the project existed, so it is told what it needs."""
    _limit_memory(memory_limit)
    gc.set_threshold(*FEW_COLLECTIONS)
    try:
        if task is None:
            if warm is not None:
                try:
                    warm()
                except Exception:   # the first chunk will fail the same way and say why
                    pass
            first = conn.recv()
            if first is None:
                return
            factory, payload = first
            task = factory(payload)
        while (chunk := conn.recv()) is not None:
            try:
                conn.send(("done", task(chunk)))
            except (Exception, MemoryError, RecursionError) as exc:
                conn.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=3)))
    except (EOFError, OSError):
        pass
    finally:
        conn.close()
        os._exit(0)


class WorkerRun:
    """One analyzer's queue of chunks and what came of them. `drive_all` serves the queue with
    worker processes: one to begin with, a second when another analyzer's worker runs dry."""

    def __init__(self, name: str, task: Task, chunks: list[list[str]], budget_per_file: float,
                 memory_limit: int = MEMORY_LIMIT, per_extra_file: float = PER_EXTRA_FILE):
        self.name = name
        self.task = task
        self.pending: deque[list[str]] = deque(c for c in chunks if c)
        self.budget_per_file = budget_per_file
        self.memory_limit = memory_limit
        self.per_extra_file = per_extra_file
        self.outcome = PoolResult()
        self.live = 0
        self.processes_started = 0
        self.prewarmed: Prewarmed | None = None    # adopted by the first worker, if given
        self.handover: tuple[Callable[[Any], Task], Any] | None = None

    def budget(self, chunk: list[str]) -> float:
        return self.budget_per_file + self.per_extra_file * (len(chunk) - 1)

    def blame(self, chunk: list[str], reason: str) -> None:
        """A chunk failed as a whole: retry its files one by one, or record the single file."""
        if len(chunk) > 1:
            self.pending.extend([f] for f in chunk)
        else:
            self.outcome.failures.append(FileFailure(chunk[0], reason))


class _Worker:
    """One forked process serving a WorkerRun's queue, one chunk at a time."""

    def __init__(self, run: WorkerRun) -> None:
        self.run = run
        self.chunk: list[str] | None = None
        self.deadline = 0.0
        if run.prewarmed is not None and run.handover is not None:
            warm, run.prewarmed = run.prewarmed, None
            warm.adopted = True
            self.conn, self.process = warm.conn, warm.process
            self.conn.send(run.handover)
        else:
            context = multiprocessing.get_context("fork")
            self.conn, child_conn = context.Pipe(duplex=True)
            self.process = context.Process(target=_child,
                                           args=(run.task, child_conn, run.memory_limit),
                                           daemon=False, name=f"sre-review-{run.name}")
            self.process.start()
            child_conn.close()
        run.live += 1
        run.processes_started += 1
        self.feed()

    @property
    def alive(self) -> bool:
        return self.process is not None

    def feed(self) -> None:
        """Send the next chunk, or tell the worker to exit when the queue is empty."""
        if self.run.pending:
            self.chunk = self.run.pending.popleft()
            self.deadline = time.monotonic() + self.run.budget(self.chunk)
            try:
                self.conn.send(self.chunk)
                return
            except (OSError, ValueError):  # died already: recv() will report it
                return
        self.chunk = None
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.stop()

    def handle(self, message: tuple) -> None:
        chunk, self.chunk = self.chunk, None
        if message[0] == "done":
            self.run.outcome.results.extend(message[1])
        elif message[0] == "error" and chunk is not None:
            self.run.blame(chunk, message[1])
        self.feed()

    def expire(self) -> None:
        """The chunk outlived its budget: kill the worker and blame the chunk."""
        chunk = self.chunk
        self.stop(kill=True)
        if chunk is not None:
            self.run.blame(chunk, f"timed out after {int(self.run.budget_per_file)} s")

    def closed(self) -> None:
        """The pipe closed mid-chunk: the worker died (e.g. killed by the OOM killer)."""
        chunk = self.chunk
        self.stop(kill=True)
        if chunk is not None:
            self.run.blame(chunk, "analyzer process died")

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        self.conn.close()
        if kill and self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.process = None
        self.run.live -= 1


class Prewarmed:
    """A worker forked before the project is loaded, importing its tool meanwhile: on an edit
    rerun the tool's import (checkov: ~2.4 s) is the longest part of the review, and it need not
    wait for our parsing. A WorkerRun adopts it (`prewarmed` + `handover`) or `close()` ends it."""

    def __init__(self, name: str, warm: Callable[[], None], memory_limit: int = MEMORY_LIMIT) -> None:
        context = multiprocessing.get_context("fork")
        self.conn, child_conn = context.Pipe(duplex=True)
        self.process: Any = context.Process(target=_child,
                                            args=(None, child_conn, memory_limit, warm),
                                            daemon=False, name=f"sre-review-{name}")
        self.process.start()
        child_conn.close()
        self.adopted = False

    def close(self) -> None:
        """Not needed after all (nothing left to run): tell it to exit, then reap it."""
        if self.adopted:
            return
        self.adopted = True
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)


MIN_SHARED_CHUNKS = 3  # a helper process costs an import (cfn-lint ~1 s, checkov ~3 s)


def _next_run(runs: list[WorkerRun]) -> WorkerRun | None:
    """The queue a free process slot should serve: one nobody serves, else the longest one."""
    orphaned = [r for r in runs if r.pending and r.live == 0]
    if orphaned:
        return orphaned[0]
    shared = [r for r in runs if len(r.pending) >= MIN_SHARED_CHUNKS]
    return max(shared, key=lambda r: len(r.pending), default=None)


def drive_all(runs: list[WorkerRun], while_waiting: Callable[[], None] | None = None) -> None:
    """Start one worker per run, do the parent's own work, then serve the pipes until every
    queue is empty. There are never more processes than runs (one per core by design): when a
    worker's queue runs dry, its slot goes to the longest remaining queue."""
    slots = len(runs)
    gc.freeze()   # the parsed project goes to the permanent generation: no worker walks it
    try:
        workers = [_Worker(run) for run in runs if run.pending]
        if while_waiting is not None:
            while_waiting()
        while True:
            workers = [w for w in workers if w.alive]
            while len(workers) < slots and (run := _next_run(runs)) is not None:
                workers.append(_Worker(run))
            if not workers:
                return
            live = {w.conn: w for w in workers}
            timeout = max(0.0, min(w.deadline for w in workers) - time.monotonic())
            for conn in wait(list(live), timeout=timeout):
                worker = live[conn]
                if not worker.alive:
                    continue
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    worker.closed()
                    continue
                worker.handle(message)
            now = time.monotonic()
            for worker in workers:
                if worker.alive and worker.deadline <= now and not _has_data(worker.conn):
                    worker.expire()
    finally:
        gc.unfreeze()   # a long-lived caller (a server) must get its memory back later


def _has_data(conn: Connection) -> bool:
    try:
        return conn.poll(0)
    except (OSError, EOFError):
        return False


def chunked(files: list[str], size: int) -> list[list[str]]:
    return [files[i:i + size] for i in range(0, len(files), size)]
