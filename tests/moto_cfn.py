"""Running the delivered change-set scripts for real: against moto's server mode, or against the
recorded stand-in `aws` in tests/fake_aws/.

Both run the real AWS CLI of this virtualenv. The environment is built from scratch (no profile,
config or credentials file of the machine) so nothing outside the test can be reached or used.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

VENV_BIN = Path(sys.executable).parent
FAKE_AWS = Path(__file__).resolve().parent / "fake_aws"
REGION = "ap-northeast-1"
SCRIPT_TIMEOUT = 120  # seconds; a waiter that never ends must fail the test, not hang it


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_server(log_path: Path) -> Iterator[str]:
    """`python -m moto.server` on 127.0.0.1 and a free port; stopped when the block ends."""
    port = _free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                    "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"moto server did not start: {log_path.read_text()}")
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _base_environment(home: Path) -> dict[str, str]:
    return {
        "PATH": f"{VENV_BIN}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "CFN_POLL_SECONDS": "0",
    }


def moto_environment(endpoint: str, home: Path) -> dict[str, str]:
    """The real `aws` first on PATH, pointed at moto through AWS_ENDPOINT_URL."""
    return {**_base_environment(home), "AWS_ENDPOINT_URL": endpoint}


@dataclass
class Recording:
    """The stand-in `aws` answering from one recording; `calls()` is what the scripts asked."""

    recording: Path
    state: Path

    def environment(self, home: Path) -> dict[str, str]:
        env = _base_environment(home)
        env["PATH"] = f"{FAKE_AWS}{os.pathsep}{env['PATH']}"
        env["FAKE_AWS_RECORDING"] = str(self.recording)
        env["FAKE_AWS_STATE"] = str(self.state)
        return env

    def calls(self) -> list[dict]:
        log = self.state / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]

    def operations(self) -> list[str]:
        return [call["operation"] for call in self.calls()]


def recording(name: str, state: Path) -> Recording:
    state.mkdir(parents=True, exist_ok=True)
    return Recording(FAKE_AWS / "recordings" / f"{name}.json", state)


def run_script(delivery: Path, script: str, *arguments: str, env: dict[str, str],
               stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    """Runs `scripts/<script>` from the delivery root, as the runbook does."""
    return subprocess.run([f"scripts/{script}", *arguments], cwd=delivery, env=env, stdin=stdin,
                          capture_output=True, text=True, timeout=SCRIPT_TIMEOUT)


def aws(env: dict[str, str], *arguments: str) -> str:
    """One read-only AWS CLI call for the test's own checks (stdout, stripped)."""
    done = subprocess.run(["aws", *arguments], env=env, capture_output=True, text=True,
                          timeout=SCRIPT_TIMEOUT, check=True)
    return done.stdout.strip()
