"""The report's pieces read back from real templates (the clean scenario): the diagram's
subnets and edges, the alarms table, and the runbook written from a plan."""

from __future__ import annotations

import re
from pathlib import Path

from sre_agent.deliver.plan import DeliveryPlan, StackPlan
from sre_agent.deliver.runbook import RunbookFacts, app_rollback_text, runbook_sections, write_runbook
from sre_agent.parsing.markdown import parse_markdown
from sre_agent.task.delivered import read_delivery
from sre_agent.task.diagram import mermaid

CLEAN = Path(__file__).parent.parent / "fixtures" / "scenarios" / "clean-ecs-rds"


def test_diagram_places_resources_by_tier_and_az_and_draws_the_sg_edges() -> None:
    diagram = mermaid(read_delivery(CLEAN))
    edges = {line.strip() for line in diagram.splitlines() if "->" in line}
    assert edges >= {
        "Internet -->|HTTPS| LoadBalancer_AZ1", "Internet -->|HTTPS| LoadBalancer_AZ2",
        "LoadBalancer_AZ1 -->|8080| Service_AZ1", "LoadBalancer_AZ2 -->|8080| Service_AZ2",
        "Service_AZ1 -->|5432| Database_AZ1", "Service_AZ2 -->|5432| Database_AZ1",
        "Database_AZ1 -. 同期レプリケーション .-> Database_AZ2",
        "NatGateway1_AZ1 -.-> Internet", "NatGateway2_AZ2 -.-> Internet", "Alarms --> Topic1"}
    assert 'subgraph public["Public Subnet"]' in diagram
    # the clean scenario runs the service and the database in the same private subnets
    assert 'subgraph shared["Private Subnet - App / Data"]' in diagram
    assert 'subgraph PrivateSubnet2["AZ2 10.40.11.0/24"]' in diagram
    assert 'Alarms["CloudWatch アラーム × 9"]' in diagram


def test_alarm_rows_quote_the_production_values() -> None:
    rows = {a.name: a for a in read_delivery(CLEAN).alarms}
    assert rows["inventory-prd-alb-healthy-hosts-low"].threshold == "< 2"   # !If [IsProduction, 2, 1]
    assert rows["inventory-prd-alb-target-5xx"].evaluation == "60秒 × 3回中2回"
    assert rows["inventory-prd-rds-free-storage-low"].threshold == "< 10737418240（10 GiB）"
    assert rows["inventory-prd-alb-error-rate"].metric.startswith("メトリクス計算 `100 * FILL(errors, 0)")
    assert {a.notify for a in rows.values()} == {"AlertTopic"}


def _facts() -> RunbookFacts:
    plan = DeliveryPlan(project="inventory", environments=["stg", "prd"], stacks=[
        StackPlan(name="network", template="infra/templates/network/vpc.yaml",
                  parameters={"stg": "infra/parameters/stg/network.json", "prd": "infra/parameters/prd/network.json"}),
        StackPlan(name="database", template="infra/templates/database/rds.yaml", stateful=True,
                  parameters={"stg": "infra/parameters/stg/database.json", "prd": "infra/parameters/prd/database.json"}),
        StackPlan(name="compute", template="infra/templates/compute/ecs.yaml", named_iam=True,
                  parameters={"stg": "infra/parameters/stg/compute.json", "prd": "infra/parameters/prd/compute.json"})])
    scripts = {k: f"scripts/{k}-changeset.sh" for k in ("create", "describe", "execute")}
    return RunbookFacts(title="在庫管理システム", plan=plan, scripts={**scripts, "rollback": "scripts/rollback.sh"})


def test_runbook_runs_every_stack_in_order_through_a_described_change_set(tmp_path) -> None:
    path = write_runbook(_facts(), tmp_path)
    doc = parse_markdown(path.read_text(encoding="utf-8"))
    titles = [s.title for s in doc.sections() if s.level == 2]
    assert titles[:3] == ["初回デプロイ", "更新デプロイ(Change Set使用)", "ロールバック"]  # NFKC-normalized titles
    blocks = [b.text for b in doc.code_blocks() if b.lang == "bash"]
    first = [b for b in blocks if "ENV=stg" in b]
    assert [re.search(r"STACK=(\w+)", b).group(1) for b in first] == ["network", "database", "compute"]
    for block in blocks:
        if "execute-changeset.sh" in block:
            assert block.index("describe-changeset.sh") < block.index("execute-changeset.sh")
        assert not re.search(r"cloudformation (deploy|create-stack|update-stack|delete-stack)", block)
    assert "STACK=compute" in "\n".join(blocks), "a routine release changes the application stack"
    assert "database スタックをロールバックしてもデータは戻らない" in path.read_text(encoding="utf-8")


def test_report_section5_uses_the_same_procedures_as_the_runbook(tmp_path) -> None:
    facts = _facts()
    section = runbook_sections(facts, "###")
    runbook = write_runbook(facts, tmp_path).read_text(encoding="utf-8")
    assert section.replace("### ", "## ") in runbook


def test_runbook_tags_a_production_release_as_the_design_names_it(tmp_path) -> None:
    facts = _facts()
    facts.release_tag = "release/<環境>/<日付>-<連番>"
    runbook = write_runbook(facts, tmp_path).read_text(encoding="utf-8")
    assert 'git tag -a "release/${ENV}/$(date -u +%Y%m%d)-${SEQ}"' in runbook
    assert 'SEQ=$(( $(git tag -l "release/${ENV}/$(date -u +%Y%m%d)-*" | wc -l) + 1 ))' in runbook
    assert "git add .releases" in runbook and "git push --follow-tags" in runbook


def test_application_rollback_follows_what_rollback_sh_does(tmp_path) -> None:
    """An SSM-held image tag: when rollback.sh writes the recorded tag back, the runbook has no
    hand-made SSM step; when it does not, the runbook restores the previously deployed tag (from
    the ECS task definitions, not the SSM history) before calling it."""
    facts = _facts()
    facts.image_tag = ("ImageTag", "ssm", "/inventory/prd/app/image-tag")
    manual = app_rollback_text(facts)
    assert 'aws ssm put-parameter --name "/inventory/prd/app/image-tag"' in manual
    assert "aws ecs list-task-definitions" in manual and "get-parameter-history" not in manual
    assert manual.index("put-parameter") < manual.index("scripts/rollback.sh prd compute")
    facts.restores_image_tag = True
    automatic = app_rollback_text(facts)
    assert "put-parameter" not in automatic.split("```bash", 1)[1]
    assert "scripts/rollback.sh prd compute" in automatic
    assert automatic in write_runbook(facts, tmp_path).read_text(encoding="utf-8")
