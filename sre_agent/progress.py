"""Progress on stderr for reviews that take more than a moment.

The terminal stays quiet on purpose: nothing appears for a review that finishes within
`delay` seconds, nothing ever appears when stderr is not a terminal (CI logs, pipes, the MCP
server's stdio, pre-commit's captured output) or with `--quiet`, and the line is erased when
the review ends (rich's transient status), so stdout and the scroll-back hold only the result.
"""

from __future__ import annotations

import sys
import threading
from typing import IO

STAGES_JA = {"load": "ファイルを読み込み中", "analyze": "cfn-lint・checkov・SRE ルールで解析中"}
STAGES_EN = {"load": "reading the files", "analyze": "running cfn-lint, checkov and the SRE rules"}
DEFAULT_DELAY = 1.0


class ReviewProgress:
    """A spinner with the current stage, shown only once the review has run for `delay` s.

    Use as a context manager and pass `update` to `review(..., progress=...)`."""

    def __init__(self, stream: IO[str] | None = None, *, enabled: bool | None = None,
                 delay: float = DEFAULT_DELAY, lang: str = "ja") -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self.delay = delay
        self.labels = STAGES_EN if lang == "en" else STAGES_JA
        self.prefix = "sre-review: " if lang == "en" else "sre-review: レビュー中 — "
        self._stage = ""
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._status = None
        self._closed = False

    def __enter__(self) -> "ReviewProgress":
        if self.enabled:
            self._timer = threading.Timer(self.delay, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def update(self, stage: str) -> None:
        with self._lock:
            self._stage = self.labels.get(stage, stage)
            if self._status is not None:
                self._spinner.update(text=self._text())

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._status is not None:
                self._status.stop()
                self._status = None

    def _text(self) -> str:
        return f"{self.prefix}{self._stage}…"

    def _show(self) -> None:
        from rich.console import Console
        from rich.live import Live
        from rich.spinner import Spinner

        with self._lock:
            if self._closed:
                return
            console = Console(file=self.stream, force_terminal=True, highlight=False)
            self._spinner = Spinner("dots", self._text())
            # stdout is never touched: only the result goes there
            self._status = Live(self._spinner, console=console, transient=True,
                                redirect_stdout=False, redirect_stderr=False,
                                refresh_per_second=8)
            self._status.start()


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = ["ReviewProgress"]
