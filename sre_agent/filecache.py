"""Per-file results of cfn-lint and checkov, so an edit re-runs the tools on what changed only.

Each analyzer names what its result for one item depends on (`cache_key`: the tool's version,
our options, the file's path and content — for Terraform, every Terraform file of the project,
since variables and local modules cross files); the key also carries a digest of our own source
code, which turns tool output into findings. A stale result is worse than a slow one: anything
we cannot key is not cached.

One SQLite file in the user's cache directory (never in the reviewed tree): it survives two
reviews at once (SQLite's locking, WAL), and is bounded — past `MAX_BYTES` of results the least
recently used rows go. Every failure (a locked, read-only or corrupt database) degrades to "not
cached": the review runs as if there were no cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import time
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sre_agent.models import Finding

LOG = logging.getLogger("sre_agent.filecache")
SCHEMA = "file-results/1"
MAX_BYTES = 256 * 1024 ** 2
PACKAGE = Path(__file__).resolve().parent
# Our code between a tool's output and a finding: the adapters and their catalogue, the finding
# model, how files are read and parsed, and SEC001's test that checkov's secrets reuse.
RESULT_CODE = ("analyzers/*.py", "models.py", "filecache.py", "project.py", "textio.py",
               "parsing/*.py", "rules/sec/sec001_literal_secret.py", "rules/_resources.py",
               "rules/base.py")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sre-agent" / "file-results.sqlite"


@cache
def code_digest() -> str:
    """Our version and the source that turns tool output into findings (`RESULT_CODE`): a change
    there (titles, the peer catalogue, line mapping) must not be answered from old results."""
    hasher = hashlib.sha256(SCHEMA.encode())
    for name in ("sre-agent", "bc-detect-secrets"):
        try:
            hasher.update(f"{name}={version(name)}".encode())
        except PackageNotFoundError:
            hasher.update(f"{name}=?".encode())
    for path in sorted(p for pattern in RESULT_CODE for p in PACKAGE.glob(pattern)):
        hasher.update(path.relative_to(PACKAGE).as_posix().encode())
        hasher.update(path.read_bytes())
    return hasher.hexdigest()


def full_key(key: str) -> str:
    return digest(f"{code_digest()}\0{key}")


class FileResults:
    """get / put findings lists by key; a no-op when the database cannot be used."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_path()
        self.db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), timeout=10, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, "
                            "findings TEXT NOT NULL, size INTEGER NOT NULL, used REAL NOT NULL)")
        except (OSError, sqlite3.Error) as exc:
            LOG.debug("file-result cache unavailable: %s", exc)
            self.close()

    def get_many(self, keys: list[str]) -> dict[str, list[Finding]]:
        if self.db is None or not keys:
            return {}
        found: dict[str, list[Finding]] = {}
        try:
            rows: list[tuple[str, str]] = []
            for start in range(0, len(keys), 500):
                batch = keys[start:start + 500]
                rows += self.db.execute(
                    f"SELECT key, findings FROM results WHERE key IN ({','.join('?' * len(batch))})",
                    batch).fetchall()
            for key, text in rows:
                found[key] = [Finding.model_validate(item) for item in json.loads(text)]
            if rows:
                now = time.time()
                self.db.executemany("UPDATE results SET used = ? WHERE key = ?",
                                    [(now, key) for key, _ in rows])
        except (sqlite3.Error, ValueError) as exc:
            LOG.debug("file-result cache read failed: %s", exc)
            return {}
        return found

    def put_many(self, entries: dict[str, list[Finding]]) -> None:
        if self.db is None or not entries:
            return
        now = time.time()
        rows = []
        for key, findings in entries.items():
            text = json.dumps([f.model_dump(mode="json") for f in findings], ensure_ascii=False)
            rows.append((key, text, len(text), now))
        try:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?)", rows)
            self.db.execute("COMMIT")
            self._bound()
        except sqlite3.Error as exc:
            LOG.debug("file-result cache write failed: %s", exc)
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def _bound(self) -> None:
        assert self.db is not None
        (total,) = self.db.execute("SELECT COALESCE(SUM(size), 0) FROM results").fetchone()
        if total <= MAX_BYTES:
            return
        excess = total - MAX_BYTES * 3 // 4          # make room for a while, not for one row
        self.db.execute("DELETE FROM results WHERE key IN (SELECT key FROM (SELECT key, "
                        "SUM(size) OVER (ORDER BY used, key) AS running FROM results) "
                        "WHERE running <= ?)", (excess,))

    def close(self) -> None:
        if self.db is not None:
            try:
                self.db.close()
            except sqlite3.Error:
                pass
        self.db = None
