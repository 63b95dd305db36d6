"""A hostile repository: nothing lost, nothing hangs, no traceback, memory bounded.

The tree is generated (tests/hostile_tree.py), never committed: a 60 MB file, a YAML alias bomb,
50,000-deep JSON, a 3,000-resource template, binary data, broken YAML/HCL, Shift_JIS, odd names,
1,500 documents, symbolic links out of the tree and in a loop.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from hostile_tree import build

BIN = Path(sys.executable).parent
BOUND_SECONDS = 400
BOUND_RSS_KB = 1_500 * 1024


def test_hostile_tree_is_reviewed_completely_within_bounds(tmp_path: Path) -> None:
    root = build(tmp_path / "repo")
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*")
               if p.is_file() or p.is_symlink()} - {p.relative_to(root).as_posix()
                                                    for p in root.rglob("*") if p.is_dir() and not p.is_symlink()}
    started = time.monotonic()
    result = subprocess.run([str(BIN / "sre-review"), str(root), "--format", "json",
                             "--file-timeout", "20"], capture_output=True, text=True,
                            timeout=BOUND_SECONDS)
    elapsed = time.monotonic() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    data = json.loads(result.stdout)
    files = {f["path"]: f for f in data["files"]}
    assert set(files) == on_disk
    for record in files.values():
        assert record["status"] == "reviewed" or record["error"], record
    expect = {
        "infra/alias-bomb.yaml": ("error", "aliases"),
        "infra/nested.json": ("error", "nesting"),
        "infra/huge.yaml": ("skipped", "too large"),
        "infra/random.yaml": ("skipped", "binary"),
        "infra/syntax error.yaml": ("error", "line 6"),
        "terraform/broken.tf": ("error", "HCL syntax error"),
        "scripts/link-outside.sh": ("skipped", "symbolic link"),
        "loop": ("skipped", "symbolic link"),
    }
    for path, (status, reason) in expect.items():
        assert files[path]["status"] == status, files[path]
        assert reason in files[path]["error"], files[path]
    for path in ("infra/bom-crlf.yaml", "infra/テンプレート 日本語.yaml", "docs/基本設計書.md",
                 "scripts/invalid-utf8.sh", "infra/big-stack.yaml"):
        assert files[path]["status"] == "reviewed", files[path]
    assert files["infra/bom-crlf.yaml"]["kind"] == "cloudformation"
    # an analyzer that ran out of time on a file is a finding naming the file, never a hang
    stopped = {f["file"] for f in data["findings"] if f["id"] == "sre-agent:analyzer-error"}
    assert stopped <= {"infra/big-stack.yaml"}
    assert data["schema"] == "sre-review/1" and data["verdict"] in ("yes", "conditional", "no")
    assert elapsed < BOUND_SECONDS
    assert peak_kb < BOUND_RSS_KB, f"peak RSS {peak_kb // 1024} MB"
