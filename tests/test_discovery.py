"""Discovery: every file is classified by content and accounted for, links never followed."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import write
from sre_agent.models import FileKind, FileStatus
from sre_agent.project import load_project

TEMPLATE_NO_EXTENSION_HINT = """\
Description: 命名に template を含まないが中身は CloudFormation
Resources:
  AppBucket:
    Type: AWS::S3::Bucket
"""
NOT_A_TEMPLATE = """\
version: 0.2
phases:
  build:
    commands:
      - make
"""
PARAMS = '[{"ParameterKey": "Environment", "ParameterValue": "prd"}]'
BROKEN_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties: [unclosed
"""
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def test_files_are_classified_by_content(tmp_path: Path) -> None:
    write(tmp_path, "infra/storage.yml", TEMPLATE_NO_EXTENSION_HINT)
    write(tmp_path, "infra/buildspec.yml", NOT_A_TEMPLATE)
    write(tmp_path, "infra/parameters/prd.json", PARAMS)
    write(tmp_path, "infra/main.tf", 'resource "aws_s3_bucket" "logs" {\n  bucket = "x"\n}\n')
    write(tmp_path, "infra/envs/prd.tfvars", 'multi_az = true\n')
    write(tmp_path, "scripts/deploy", "#!/usr/bin/env bash\nset -euo pipefail\necho ok\n")
    write(tmp_path, "docs/03_基本設計書.md", "# 基本設計書\n\n## 可用性\n")
    write(tmp_path, "standards/45_cloudformation.md", "# CloudFormation 規約\n")
    write(tmp_path, "app/main.py", "print('app')\n")
    write(tmp_path, ".git/config", "[core]\n")
    kinds = {f.path: (f.kind, f.status) for f in load_project([tmp_path]).files}
    assert kinds == {
        "infra/storage.yml": (FileKind.CLOUDFORMATION, FileStatus.REVIEWED),
        "infra/buildspec.yml": (FileKind.OTHER, FileStatus.SKIPPED),
        "infra/parameters/prd.json": (FileKind.PARAMETERS, FileStatus.REVIEWED),
        "infra/main.tf": (FileKind.TERRAFORM, FileStatus.REVIEWED),
        "infra/envs/prd.tfvars": (FileKind.PARAMETERS, FileStatus.REVIEWED),
        "scripts/deploy": (FileKind.SCRIPT, FileStatus.REVIEWED),
        "docs/03_基本設計書.md": (FileKind.DESIGN_DOC, FileStatus.REVIEWED),
        "standards/45_cloudformation.md": (FileKind.STANDARD, FileStatus.REVIEWED),
        "app/main.py": (FileKind.OTHER, FileStatus.SKIPPED),
    }


def test_broken_binary_large_and_linked_files_are_listed_with_reasons(tmp_path: Path) -> None:
    write(tmp_path, "infra/broken.yaml", BROKEN_TEMPLATE)
    write(tmp_path, "docs/構成図.png", PNG)
    write(tmp_path, "infra/huge.yaml", "# pad\n" * 2000)
    outside = tmp_path.parent / f"{tmp_path.name}-outside.sh"
    outside.write_text("#!/bin/bash\necho secret\n")
    os.symlink(outside, tmp_path / "linked.sh")
    os.symlink(tmp_path, tmp_path / "loop")
    project = load_project([tmp_path], max_bytes=10_000)
    records = {f.path: f for f in project.files}
    assert records["infra/broken.yaml"].status is FileStatus.ERROR
    assert records["infra/broken.yaml"].kind is FileKind.CLOUDFORMATION
    assert records["infra/broken.yaml"].error.startswith("line ")
    assert records["docs/構成図.png"].status is FileStatus.SKIPPED
    assert records["docs/構成図.png"].error == "binary file"
    assert records["infra/huge.yaml"].error.startswith("too large")
    assert records["linked.sh"].error == "symbolic link, not followed"
    assert records["loop"].error == "symbolic link, not followed"
    assert not project.scripts, "the linked script outside the tree must not be read"


def test_shift_jis_design_document_is_read(tmp_path: Path) -> None:
    text = "# 基本設計書\n\n## 可用性設計\n\n| 項目 | 目標値 |\n|---|---|\n| 目標稼働率 | 99.9% |\n"
    write(tmp_path, "docs/基本設計書.md", text.encode("cp932"))
    project = load_project([tmp_path])
    assert project.files[0].status is FileStatus.REVIEWED
    assert project.files[0].encoding == "cp932"
    doc = project.documents[0].doc
    assert [s.title for s in doc.find_sections("可用性")] == ["可用性設計"]


def test_several_paths_share_one_root(tmp_path: Path) -> None:
    write(tmp_path, "docs/a.md", "# a\n")
    write(tmp_path, "scripts/b.sh", "#!/bin/bash\nset -euo pipefail\n")
    project = load_project([tmp_path / "docs", tmp_path / "scripts"])
    assert [f.path for f in project.files] == ["docs/a.md", "scripts/b.sh"]


def test_hidden_tool_folders_and_framework_guides_are_skipped_with_the_reason(tmp_path: Path) -> None:
    """A scratch copy of another project in a hidden folder, or the agent framework's guides
    full of deliberately bad examples, must not be reviewed as this project's deploy path."""
    write(tmp_path, ".aidev-temp/scripts/deploy.sh", "#!/bin/bash\naws cloudformation deploy --stack-name x\n")
    write(tmp_path, ".claude/docs/10_facilitation/手順.md", "# 悪い例\n```bash\naws cloudformation deploy\n```\n")
    write(tmp_path, ".claude/docs/40_standards/42_infra/iac/cloudformation.md", "# CloudFormation 規約\n")
    write(tmp_path, ".claude/docs/10_facilitation/2.4.3_技術標準適用チェックリスト.md", "# チェックリスト\n")
    write(tmp_path, ".github/workflows/deploy.yml", "on: push\njobs: {}\n")
    write(tmp_path, "infra/parameters/prd.json", PARAMS)
    project = load_project([tmp_path])
    status = {r.path: (r.status, r.error or "") for r in project.files}
    assert status[".aidev-temp/scripts/deploy.sh"][0] is FileStatus.SKIPPED
    assert ".aidev-temp/" in status[".aidev-temp/scripts/deploy.sh"][1]
    assert status[".claude/docs/10_facilitation/手順.md"][0] is FileStatus.SKIPPED
    assert status[".claude/docs/10_facilitation/2.4.3_技術標準適用チェックリスト.md"][0] is FileStatus.SKIPPED
    assert status[".claude/docs/40_standards/42_infra/iac/cloudformation.md"][0] is FileStatus.REVIEWED
    assert status[".github/workflows/deploy.yml"][0] is FileStatus.REVIEWED
    assert not project.scripts
    assert [d.path for d in project.documents] == [".claude/docs/40_standards/42_infra/iac/cloudformation.md"]
    # Named explicitly, a hidden folder is reviewed.
    named = load_project([tmp_path / ".aidev-temp"])
    assert [s.path for s in named.scripts] == ["scripts/deploy.sh"]
