"""A repository that holds everything a reviewer meets in the wild, generated on demand.

Not committed as files: the 60 MB file and 1,500 documents are written by `build()` into a
temporary folder. Used by tests/test_hostile.py and by the benchmark.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ALIAS_BOMB = ("AWSTemplateFormatVersion: '2010-09-09'\n"
              "Metadata:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
              + "".join(f"  {chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
                        for i in range(9))
              + "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n")


def big_template(resources: int) -> str:
    lines = ["AWSTemplateFormatVersion: '2010-09-09'", "Description: 3,000 リソースの巨大スタック",
             "Resources:"]
    for i in range(resources):
        lines += [f"  Queue{i:04d}:", "    Type: AWS::SQS::Queue", "    Properties:",
                  f"      QueueName: order-events-{i:04d}", "      MessageRetentionPeriod: 345600"]
    return "\n".join(lines) + "\n"


def nested_json(depth: int) -> str:
    return ('{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"X": {"Type": "AWS::S3::Bucket",'
            ' "Properties": ' + "[" * depth + "]" * depth + "}}}")


def build(root: Path, big_file_mb: int = 60, markdown_files: int = 1500) -> Path:
    infra, docs, scripts = root / "infra", root / "docs", root / "scripts"
    for folder in (infra, docs / "notes", scripts, root / "terraform"):
        folder.mkdir(parents=True, exist_ok=True)
    (infra / "alias-bomb.yaml").write_text(ALIAS_BOMB)
    (infra / "nested.json").write_text(nested_json(50_000))
    with open(infra / "huge.yaml", "wb") as out:
        chunk = b"# padding line of a generated template\n" * 26_000
        for _ in range(big_file_mb):
            out.write(chunk[: 1024 * 1024])
    (infra / "big-stack.yaml").write_text(big_template(3000))
    (infra / "random.yaml").write_bytes(os.urandom(4096))
    (infra / "empty.yaml").write_text("")
    (infra / "bom-crlf.yaml").write_bytes(
        "\ufeffAWSTemplateFormatVersion: '2010-09-09'\r\nResources:\r\n  Logs:\r\n"
        "    Type: AWS::Logs::LogGroup\r\n    Properties:\r\n      RetentionInDays: 30\r\n"
        .encode("utf-8"))
    (infra / "syntax error.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Db:\n    Type: AWS::RDS::DBInstance\n"
        "    Properties: {Engine: postgres\n")
    (infra / "テンプレート 日本語.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
    (root / "terraform" / "broken.tf").write_text('resource "aws_s3_bucket" "x" {\n  bucket = \n')
    (scripts / "invalid-utf8.sh").write_bytes(b"#!/bin/bash\nset -euo pipefail\necho \"\xff\xfe\x80 done\"\n")
    (docs / "基本設計書.md").write_bytes(
        "# 基本設計書\n\n## 可用性設計\n\n| 項目 | 目標値 |\n|---|---|\n| 目標稼働率 | 99.9% |\n"
        .encode("cp932"))
    for i in range(markdown_files):
        (docs / "notes" / f"note-{i:04d}.md").write_text(f"# 議事録 {i}\n\n- 決定事項なし\n")
    outside = root.parent / f"{root.name}-outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.sh").write_text("#!/bin/bash\necho never read\n")
    os.symlink(outside / "secret.sh", root / "scripts" / "link-outside.sh")
    os.symlink(root, root / "loop")
    return root
