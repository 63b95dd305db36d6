"""Worker processes: a hanging or crashing file is stopped and reported, the rest still runs."""

from __future__ import annotations

import os
import time

from sre_agent.workers import WorkerRun, drive_all


def task(files: list[str]) -> list[str]:
    results = []
    for name in files:
        if name.startswith("hang"):
            time.sleep(60)
        if name.startswith("crash"):
            raise ValueError(f"cannot parse {name}")
        if name.startswith("slow"):
            time.sleep(0.2)
        if name.startswith("die"):
            os._exit(3)
        results.append(f"ok:{name}")
    return results


def run(chunks: list[list[str]], budget: float = 1.0) -> WorkerRun:
    worker = WorkerRun("test", task, chunks, budget, per_extra_file=0.5)
    started = time.monotonic()
    drive_all([worker])
    assert time.monotonic() - started < 20
    return worker


def test_a_hanging_file_is_stopped_and_the_rest_analyzed() -> None:
    worker = run([["a", "hang-1", "b"], ["c"]])
    assert sorted(worker.outcome.results) == ["ok:a", "ok:b", "ok:c"]
    assert [(f.file, f.reason) for f in worker.outcome.failures] == [("hang-1", "timed out after 1 s")]


def test_a_crashing_file_is_isolated_from_its_chunk() -> None:
    worker = run([["a", "crash-1", "b"], ["c"]])
    assert sorted(worker.outcome.results) == ["ok:a", "ok:b", "ok:c"]
    assert [(f.file, f.reason) for f in worker.outcome.failures] == [
        ("crash-1", "ValueError: cannot parse crash-1")]


def test_a_dying_worker_is_replaced() -> None:
    worker = run([["a"], ["die-1"], ["b"]])
    assert sorted(worker.outcome.results) == ["ok:a", "ok:b"]
    assert [(f.file, f.reason) for f in worker.outcome.failures] == [("die-1", "analyzer process died")]


def test_two_workers_run_side_by_side_while_the_parent_works() -> None:
    first, second = WorkerRun("one", task, [["a"], ["b"]], 5), WorkerRun("two", task, [["c"]], 5)
    seen = []
    drive_all([first, second], while_waiting=lambda: seen.append("parent"))
    assert seen == ["parent"]
    assert sorted(first.outcome.results + second.outcome.results) == ["ok:a", "ok:b", "ok:c"]


def test_a_free_slot_helps_the_longest_queue() -> None:
    slow = WorkerRun("slow", task, [[f"slow-{i}"] for i in range(12)], 5)
    quick = WorkerRun("quick", task, [["q"]], 5)
    drive_all([slow, quick])
    assert slow.processes_started == 2 and quick.processes_started == 1
    assert sorted(slow.outcome.results) == sorted(f"ok:slow-{i}" for i in range(12))
    assert quick.outcome.results == ["ok:q"] and not slow.outcome.failures


def test_a_hang_in_a_shared_queue_is_blamed_once() -> None:
    slow = WorkerRun("slow", task, [[f"slow-{i}"] for i in range(6)] + [["hang-1"]] + [["slow-x"]], 1.0,
                     per_extra_file=0.5)
    drive_all([slow, WorkerRun("quick", task, [["q"]], 5)])
    assert sorted(slow.outcome.results) == sorted([f"ok:slow-{i}" for i in range(6)] + ["ok:slow-x"])
    assert [(f.file, f.reason) for f in slow.outcome.failures] == [("hang-1", "timed out after 1 s")]


def warm_up() -> None:
    time.sleep(0.3)          # stands for a slow import (checkov: seconds)


def prefixed(prefix: str):
    """What a prewarmed worker is handed once the parent knows its work."""
    return lambda files: [f"{prefix}:{task([name])[0]}" for name in files]


def test_a_prewarmed_worker_takes_its_task_late_and_serves_the_queue() -> None:
    from sre_agent.workers import Prewarmed

    warm = Prewarmed("test", warm_up)
    worker = WorkerRun("test", task, [["a", "b"], ["c"]], 5.0)
    worker.prewarmed, worker.handover = warm, (prefixed, "late")
    drive_all([worker])
    assert sorted(worker.outcome.results) == ["late:ok:a", "late:ok:b", "late:ok:c"]
    assert warm.adopted and worker.processes_started == 1


def test_a_prewarmed_worker_nobody_needs_is_ended() -> None:
    from sre_agent.workers import Prewarmed

    warm = Prewarmed("test", warm_up)
    warm.close()
    assert not warm.process.is_alive() and warm.process.exitcode is not None


def test_the_collector_gets_the_project_back_after_the_workers() -> None:
    """drive_all freezes the heap for its forks; a long-lived caller (a server) must not keep
    every reviewed project in the permanent generation."""
    import gc

    run([["a"]])
    assert gc.get_freeze_count() == 0
