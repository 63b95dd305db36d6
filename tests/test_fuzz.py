"""Property: whatever a repository holds, the review returns a complete, valid result."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sre_agent import render, review
from sre_agent.review import ReviewConfig

TEMPLATE_PIECES = st.sampled_from([
    "AWSTemplateFormatVersion: '2010-09-09'\n", "Resources:\n", "  Db:\n",
    "    Type: AWS::RDS::DBInstance\n", "    Type: [AWS::S3::Bucket]\n", "    Properties:\n",
    "      MultiAZ: !Ref Missing\n", "      MultiAZ: !If [IsProd, true]\n", "  - &a [*a]\n",
    "Conditions: {IsProd: !Equals [!Ref Env]}\n", "\t\tbroken: [\n", "Outputs: 3\n",
    "      AlarmActions: []\n", "    Type: AWS::CloudWatch::Alarm\n", "{\"Resources\": {\n",
])
SCRIPT_PIECES = st.sampled_from([
    "#!/bin/bash\n", "set -euo pipefail\n", "set +e\n", "aws cloudformation deploy \\\n",
    "  --stack-name \"$1\"\n", "echo \"unterminated\n", "cat <<EOF\n", "EOF\n", "$(aws s3 ls\n",
    "if [ -z \"${X:-}\" ]; then\n", "fi\n", "case $1 in\n", "  a) exit 1 ;;\n", "}\n", "`\n",
])
MARKDOWN_PIECES = st.sampled_from([
    "# 基本設計書\n", "## 可用性\n", "| 項目 | 目標値 |\n", "|---|---|\n", "| 稼働率 | ９９．９％ |\n",
    "```bash\n", "aws cloudformation deploy --stack-name x\n", "```\n", "<!-- sre-review: ignore=DEP001 -->\n",
    "| 合計 | | **$1** |\n", "\n", "- [x] マルチAZ配置\n", "~~~\n", "| a |\n",
])


def document(pieces: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(pieces, st.text(max_size=20)), max_size=12).map("".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=document(TEMPLATE_PIECES), script=document(SCRIPT_PIECES),
       markdown=document(MARKDOWN_PIECES), raw=st.binary(max_size=64))
def test_any_input_gives_a_complete_valid_review(template: str, script: str, markdown: str,
                                                  raw: bytes) -> None:
    root = Path(tempfile.mkdtemp(prefix="sre-fuzz-"))
    try:
        files = {"infra/app.yaml": template.encode("utf-8", "surrogatepass"),
                 "scripts/deploy.sh": script.encode("utf-8", "surrogatepass"),
                 "docs/設計.md": markdown.encode("utf-8", "surrogatepass"), "infra/raw.yaml": raw}
        for rel, content in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(content)
        result = review([root], ReviewConfig(analyzers=("sre", "cfn-lint"), workers=False))
        assert sorted(f.path for f in result.files) == sorted(files)
        data = json.loads(render(result, "json"))
        assert data["schema"] == "sre-review/1"
        assert data["verdict"] in ("yes", "conditional", "no")
        for record in data["files"]:
            assert record["status"] == "reviewed" or record["error"]
        for finding in data["findings"]:
            assert finding["severity"] in ("error", "warning", "info") and finding["message"]
        assert render(result, "md").startswith("## sre レビュー結果\n")
    finally:
        shutil.rmtree(root, ignore_errors=True)
