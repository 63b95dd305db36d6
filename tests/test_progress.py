"""Progress on stderr: only on a terminal, only for a review that takes more than a moment."""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from conftest import SCENARIOS
from sre_agent.progress import ReviewProgress

BIN = Path(sys.executable).parent


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_slow_review_shows_its_stage_and_a_fast_one_shows_nothing() -> None:
    slow = Terminal()
    with ReviewProgress(slow, delay=0.05) as progress:
        progress.update("load")
        time.sleep(0.3)
        progress.update("analyze")
        time.sleep(0.3)
    assert "ファイルを読み込み中" in slow.getvalue()
    assert "cfn-lint・checkov・SRE ルールで解析中" in slow.getvalue()
    fast = Terminal()
    with ReviewProgress(fast, delay=0.5) as progress:
        progress.update("load")
    time.sleep(0.6)                    # the timer was cancelled: nothing appears afterwards either
    assert fast.getvalue() == ""


def test_silent_when_not_a_terminal_or_quiet() -> None:
    for stream, enabled in ((io.StringIO(), None), (Terminal(), False)):
        with ReviewProgress(stream, enabled=enabled, delay=0.01) as progress:
            progress.update("analyze")
            time.sleep(0.2)
        assert stream.getvalue() == ""


def _stderr_on_a_terminal(*args: str) -> tuple[int, str, str]:
    """Run sre-review with stderr on a pseudo-terminal (as in an interactive shell) and stdout
    on a pipe; returns the exit code, stdout and everything written to the terminal."""
    leader, follower = os.openpty()
    process = subprocess.Popen([str(BIN / "sre-review"), *args], stdout=subprocess.PIPE,
                               stderr=follower, text=True)
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:          # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    stdout = process.stdout.read() if process.stdout else ""
    code = process.wait(timeout=60)
    os.close(leader)
    return code, stdout, seen.decode("utf-8", "replace")


def test_the_cli_shows_progress_on_a_terminal_and_keeps_stdout_clean() -> None:
    code, stdout, terminal = _stderr_on_a_terminal(str(SCENARIOS / "ecs-rds-broken"), "--no-cache")
    assert code == 1
    assert stdout.startswith("## sre レビュー結果")
    assert "レビュー中" in terminal and "\x1b[" in terminal    # a spinner, drawn with escapes
    assert "レビュー中" not in stdout
    code, _, terminal = _stderr_on_a_terminal(str(SCENARIOS / "ecs-rds-broken"), "--no-cache", "-q")
    assert code == 1 and "レビュー中" not in terminal
