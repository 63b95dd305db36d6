"""Document facts, value normalisation, the cost estimator and light / deep mode."""

from __future__ import annotations

import pytest

from conftest import RULE_FIXTURES, SCENARIOS
from sre_agent.cost import HOURS_PER_MONTH, estimate, price_table
from sre_agent.docfacts import facts_of
from sre_agent.docfacts.values import durations, minutes, money, percents
from sre_agent.project import load_project
from sre_agent.rules.base import RuleContext, all_rules
from sre_agent.rules.doc.doc001_availability_downtime_mismatch import matching_basis


@pytest.mark.parametrize(("text", "amount", "currency"), [
    ("$121", 121, "USD"), ("121ドル", 121, "USD"), ("10万円以内", 100_000, "JPY"),
    ("¥100,000", 100_000, "JPY"), ("１０万円", 100_000, "JPY"), ("約1.35万円", 13_500, "JPY"),
    ("600USD（約9万円）", 600, "USD"), ("US$ 1,200", 1200, "USD"),
])
def test_money_spellings(text: str, amount: float, currency: str) -> None:
    first = money(text)[0]
    assert (first.amount, first.currency) == (amount, currency)


def test_money_ignores_other_units_without_a_currency_column() -> None:
    assert money("gp3 50GB") == []
    assert [m.amount for m in money("54,770", "JPY")] == [54_770]


@pytest.mark.parametrize(("text", "expected", "period"), [
    ("月間43.2分以内", 43.2, "month"), ("月間約43分", 43, "month"), ("4.38 時間/年", 262.8, "year"),
    ("年間 8.76 時間", 525.6, "year"), ("月間４３．２分", 43.2, "month"),
])
def test_duration_spellings(text: str, expected: float, period: str) -> None:
    found = durations(text)[0]
    assert found.minutes == pytest.approx(expected) and found.period == period


def test_percent_and_rpo_values() -> None:
    assert percents("９９．９％")[0][0] == 99.9
    assert minutes("0（同期レプリケーション）") == 0
    assert minutes("1時間") == 60
    assert minutes("-") is None


def test_correct_downtimes_are_accepted_and_the_basis_is_named() -> None:
    assert matching_basis(0.05, durations("4.38 時間/年")[0]) == ("365日", "365-day")
    assert matching_basis(0.1, durations("月間43.2分")[0])[0] == "30日"
    assert matching_basis(0.1, durations("44.6分/月")[0])[0] == "31日"
    assert matching_basis(0.05, durations("月間約43分")[0]) is None


def test_facts_are_extracted_once_per_project_with_locations() -> None:
    project = load_project([SCENARIOS / "clean-ecs-rds"])
    facts = facts_of(project)
    assert facts_of(project) is facts
    assert {(f.where.file, f.where.line) for f in facts.budgets} >= {("docs/01_企画書.md", 36)}
    table = next(t for t in facts.cost_tables if t.total is not None)
    assert (table.where.file, table.total.where.line, table.total.amounts[0].amount) == \
        ("docs/03_基本設計/08_コスト見積.md", 25, 54_770)
    assert table.environment == "prod" and table.region == "ap-northeast-1" and table.date_stated
    assert {c.component for c in facts.redundancy} == {"alb", "ecs", "rds", "nat"}


def test_shift_jis_documents_are_read() -> None:
    project = load_project([RULE_FIXTURES / "DOC001" / "correct-messy-spellings"])
    assert any(f.percent == 99.99 for f in facts_of(project).availability)


def test_price_table_is_dated_and_has_both_regions() -> None:
    table = price_table()
    assert table["as_of"] and table["hours_per_month"] == HOURS_PER_MONTH
    assert {"ap-northeast-1", "us-east-1"} <= set(table["regions"])


def test_estimate_of_the_clean_scenario_prices_every_hourly_resource() -> None:
    result = estimate(load_project([SCENARIOS / "clean-ecs-rds"]), "prod")
    assert result.region == "ap-northeast-1"
    categories = result.by_category()
    assert {"fargate", "rds", "alb", "nat", "ipv4", "cloudwatch"} <= set(categories)
    assert categories["nat"] == pytest.approx(2 * 0.062 * 730)
    db = next(i for i in result.items if i.resource == "Database" and i.unit == "instance-hour")
    assert "マルチAZ" in db.spec and db.unit_price == pytest.approx(0.204)
    assert 300 < result.total < 380


def test_light_mode_skips_the_cross_document_chain() -> None:
    project = load_project([SCENARIOS / "ecs-rds-broken"])
    found = {mode: {r.id for r in all_rules() for _ in r().check(RuleContext(project, mode=mode))}
             for mode in ("light", "deep")}
    chain = {"SRE-DOC-002", "SRE-DOC-003", "SRE-DOC-008", "SRE-CST-003", "SRE-CST-004"}
    assert chain <= found["deep"] and not chain & found["light"]
    assert {"SRE-DOC-001", "SRE-CST-001", "SRE-DOC-009"} <= found["light"]


def test_deploy_strategy_claims(tmp_path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "基本設計書.md").write_text(
        "# 基本設計書\n\n## 9. デプロイ設計\n\n"
        "| 項目 | 方式 |\n|---|---|\n| アプリケーション | Blue/Green（CodeDeploy） |\n"
        "| インフラ | ローリング更新は使用しない |\n\nリリースはゼロダウンタイムで行う。\n", encoding="utf-8")
    claims = facts_of(load_project([tmp_path])).deploy_claims
    assert {(c.strategy, c.where.line) for c in claims} == {("blue_green", 7), ("zero_downtime", 10)}


def test_rounded_money_carries_its_precision() -> None:
    rounded = money("約3.1万円")[0]
    assert rounded.amount == 31_000 and rounded.approximate and rounded.tolerance == 500
    assert money("月1,000円程度")[0].tolerance == 50
    exact = money("31,420円")[0]
    assert not exact.approximate and exact.tolerance == 0


def test_fargate_is_recognised_by_launch_type_capacity_providers_or_compatibilities() -> None:
    from sre_agent.cost import launch_kind

    assert launch_kind("FARGATE", None) == "fargate"
    assert launch_kind(None, [{"CapacityProvider": "FARGATE", "Weight": 1},
                              {"CapacityProvider": "FARGATE_SPOT", "Weight": 3}]) == "fargate"
    assert launch_kind(None, [{"capacity_provider": "FARGATE_SPOT", "weight": 1}]) == "fargate_spot"
    assert launch_kind(None, None, ["FARGATE"]) == "fargate"
    assert launch_kind("EC2", None) == "ec2"
    assert launch_kind(None, [{"CapacityProvider": "app-asg-provider"}]) == "ec2"
    assert launch_kind(None, None) is None


def test_a_design_copied_into_two_folders_gives_one_finding_per_alarm() -> None:
    from sre_agent.rules.base import RuleContext, rule_by_id

    project = load_project([RULE_FIXTURES / "DOC010" / "copied-design-docs"])
    [finding] = rule_by_id("DOC010")().check(RuleContext(project))
    assert finding.resource == "EcsCpuAlarm" and "同じ指摘" in finding.message
