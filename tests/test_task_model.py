"""The PM's task block: parsed into the model, and refused with one clear line when unworkable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sre_agent.task.constraints import known_check, unknown_constraints
from sre_agent.task.model import TaskError, parse_task

FIXTURE = Path(__file__).parent.parent / "fixtures" / "tasks" / "inventory-cfn" / "TASK.md"


def test_fixture_task_block_is_read_section_by_section() -> None:
    task = parse_task(FIXTURE.read_text(encoding="utf-8"))
    assert task.title == "在庫管理システムの CloudFormation テンプレートとデプロイスクリプトの作成"
    assert [(i.label, i.kind) for i in task.inputs] == [
        ("基本設計書", "design-docs"), ("技術標準", "standards"), ("デプロイ方式", "deploy-method")]
    assert task.inputs[0].paths() == ["fixtures/scenarios/clean-ecs-rds/docs/"]
    assert task.inputs[0].note.startswith("インフラ部分")
    assert [d.kinds for d in task.deliverables] == [
        ["templates"], ["scripts"], ["runbook"], ["incident", "postmortem"]]
    assert task.deliverables[1].details == ["create-changeset.sh", "describe-changeset.sh",
                                            "execute-changeset.sh", "rollback.sh"]
    assert [c.text for c in task.constraints][:3] == [
        "直接デプロイ（aws cloudformation deploy）は禁止", "dry-run必須", "エラーハンドリング必須"]
    assert task.constraints[0].line == 22   # lines of the file, fence and all
    assert task.problems() == []


def test_json_form_gives_the_same_model() -> None:
    markdown = parse_task(FIXTURE.read_text(encoding="utf-8"))
    data = {"title": markdown.title,
            "inputs": [{"label": i.label, "value": i.value} for i in markdown.inputs],
            "deliverables": [{"text": d.text, "details": d.details} for d in markdown.deliverables],
            "constraints": [c.text for c in markdown.constraints]}
    task = parse_task(json.dumps(data, ensure_ascii=False))
    assert [i.kind for i in task.inputs] == [i.kind for i in markdown.inputs]
    assert [d.kinds for d in task.deliverables] == [d.kinds for d in markdown.deliverables]
    assert [c.text for c in task.constraints] == [c.text for c in markdown.constraints]


@pytest.mark.parametrize("text, message", [
    ("Task: テンプレート作成\n\n入力情報:\n- 基本設計書: docs/\n\n制約:\n- dry-run必須\n",
     "no 期待する成果物"),
    ("Task: テンプレート作成\n\n期待する成果物:\n1. デプロイ手順書\n\n備考:\n- 急ぎ\n",
     "line 6: unknown section 「備考」"),
    ("入力情報:\n- 基本設計書: docs/\n\n期待する成果物:\n1. デプロイ手順書\n", "no `Task: <title>` line"),
    ("Task: A\n\n期待する成果物:\n1. 手順書\n\n期待する成果物:\n1. 手順書\n", "appears twice"),
    ('{"title": "x", "deliverables": ["デプロイ手順書"], "deadline": "明日"}', "deadline"),
    ("{not json", "task JSON is invalid"),
])
def test_unworkable_task_is_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(TaskError) as caught:
        parse_task(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_deliverables_and_inputs_we_cannot_place_are_reported_not_guessed() -> None:
    task = parse_task("Task: 構築\n\n入力情報:\n- 議事録: minutes.md\n\n期待する成果物:\n"
                      "1. CloudFormation テンプレート\n2. Terraform モジュール\n3. 運用ダッシュボードの画面設計\n")
    assert [d.kinds for d in task.deliverables] == [["templates"], ["unsupported"], ["unknown"]]
    problems = task.problems()
    assert any("議事録" in p for p in problems)
    assert any("Terraform モジュール" in p and "対応範囲外" in p for p in problems)
    assert any("運用ダッシュボードの画面設計" in p for p in problems)


def test_constraint_lines_map_to_checks_or_are_listed_unchecked() -> None:
    task = parse_task(FIXTURE.read_text(encoding="utf-8"))
    assert all(known_check(c.text) is not None for c in task.constraints)
    odd = parse_task("Task: A\n\n期待する成果物:\n1. デプロイ手順書\n\n制約:\n- 直接デプロイは禁止\n"
                     "- 作業は平日日中に限る\n")
    assert unknown_constraints(odd.constraints) == ["作業は平日日中に限る"]
