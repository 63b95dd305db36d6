"""Load tests without a load run: the scenario file, judging, the knee, plan, section 6, refusals."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from sre_agent.cli import main as cli_main
from sre_agent.loadtest import (
    LoadTestResults, ScenarioFile, ScenarioFileError, load_scenario_file, plan_from_documents,
    section6_markdown,
)
from sre_agent.loadtest.results import Measurement, judge, knee
from sre_agent.loadtest.scenarios import Scenario

ROOT = Path(__file__).resolve().parent.parent
EC_ORDER = ROOT / "fixtures/loadtest/ec-order-api/docs"
CLEAN = ROOT / "fixtures/scenarios/clean-ecs-rds"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenarios.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_issue_example_parses_with_percent_rate_and_duration(tmp_path):
    plan = load_scenario_file(_write(tmp_path, """\
target: http://127.0.0.1:8080        # never defaulted
duration: 60s
scenarios:
  - name: 商品一覧取得
    request: GET /items
    users: 50
    spawn_rate: 10
    p95_ms: 200
    p99_ms: 500
    max_error_rate: 0.1%
  - name: 注文登録
    request: POST /orders
    body: {"sku": "A-100", "quantity": 1}
    users: 5
    max_error_rate: 0.002
  - name: 在庫
    request: /stock
    users: 1
"""))
    assert plan.target == "http://127.0.0.1:8080" and plan.duration == 60
    items, order, stock = plan.scenarios
    assert (items.method, items.path, items.max_error_rate) == ("GET", "/items", pytest.approx(0.001))
    assert order.body == {"sku": "A-100", "quantity": 1} and order.max_error_rate == 0.002
    assert stock.request == "GET /stock"


@pytest.mark.parametrize("body, message", [
    ("duration: 60s\nscenarios: []\n", "scenarios: List should have at least 1 item"),
    ("scenarios:\n  - {name: a, request: GET /, users: 0}\n", "scenarios[0].users:"),
    ("scenarios:\n  - {name: a, request: GET /, users: 1, max_error_rate: 5}\n",
     "5 is not a fraction: write 5% or 0.05"),
    ("scenarios:\n  - {name: a, request: FETCH /, users: 1}\n", "unknown HTTP method 'FETCH'"),
    ("scenarios:\n  - {name: a, request: items, users: 1}\n", "write the request as `GET /path`"),
    ("scenarios:\n  - {name: a, request: GET /, users: 1, p95: 200}\n",
     "scenarios[0].p95: Extra inputs are not permitted"),
    ("scenarios:\n  - {name: a, request: GET /, users: 1}\n  - {name: a, request: GET /, users: 1}\n",
     "scenario names must be unique: a"),
    ("duration: soon\nscenarios:\n  - {name: a, request: GET /, users: 1}\n", "not a duration"),
    ("scenarios:\n  - {name: a, request: GET /, users: 1, body: {x: 1}}\n",
     "a body is sent with POST, PUT or PATCH, not GET"),
    ("scenarios: [\n", "not valid YAML"),
])
def test_bad_scenario_files_give_one_line(tmp_path, body, message):
    with pytest.raises(ScenarioFileError) as info:
        load_scenario_file(_write(tmp_path, body))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bad_file_is_exit_2_without_traceback(tmp_path, capsys):
    path = _write(tmp_path, "scenarios:\n  - {name: a, request: GET /, users: 1, p95: 200}\n")
    assert cli_main(["loadtest", "run", str(path), "--target", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "p95: Extra inputs are not permitted" in err and "Traceback" not in err


SCENARIO = Scenario(name="商品一覧取得", request="GET /items", users=10, p95_ms=200, p99_ms=500,
                    max_error_rate=0.001, min_rps=20)


def test_judge_passes_only_within_every_target():
    good = judge(SCENARIO, 10, Measurement(requests=1000, failures=1, rps=50, p50_ms=80,
                                           p95_ms=200, p99_ms=480))
    assert good.passed and good.reasons == [] and good.error_rate == 0.001
    bad = judge(SCENARIO, 10, Measurement(requests=1000, failures=20, rps=12.5, p50_ms=150,
                                          p95_ms=210, p99_ms=900))
    assert not bad.passed
    assert bad.reasons == [
        "p95 210ms が目標 200ms を超過", "p99 900ms が目標 500ms を超過",
        "エラー率 2.0%（20/1000 件）が上限 0.1% を超過",
        "スループット 12.5 req/s が目標 20 req/s に届かない"]


def test_judge_fails_a_run_that_measured_nothing():
    result = judge(Scenario(name="x", request="GET /", users=1), 1,
                   Measurement(requests=0, failures=0, rps=0, p50_ms=None, p95_ms=None, p99_ms=None))
    assert not result.passed and "計測できず" in result.reasons[0]


def test_json_keys_per_scenario_are_exactly_the_contract():
    result = judge(SCENARIO, 10, Measurement(requests=10, failures=0, rps=30, p50_ms=1, p95_ms=2,
                                             p99_ms=3))
    assert set(result.model_dump()) == {"name", "users", "requests", "rps", "p50_ms", "p95_ms",
                                        "p99_ms", "error_rate", "passed", "reasons"}


def _step(users: int, p95: float) -> Measurement:
    return Measurement(requests=100, failures=0, rps=40, p50_ms=p95 / 2, p95_ms=p95, p99_ms=p95)


def test_knee_is_the_first_step_above_the_p95_target():
    steps = [judge(SCENARIO, u, _step(u, p)) for u, p in ((2, 45), (5, 180), (10, 420), (20, 900))]
    assert knee(SCENARIO, steps).users == 10
    assert knee(SCENARIO, steps[:2]).users is None
    assert knee(Scenario(name="n", request="GET /", users=1), steps).users is None


def test_plan_from_endpoint_table_matches_the_document():
    plan = plan_from_documents([EC_ORDER])
    assert plan is not None and plan.target is None
    got = {s.name: (s.request, s.users, s.p95_ms, s.p99_ms, s.max_error_rate)
           for s in plan.scenarios}
    assert got == {
        "商品一覧取得": ("GET /api/v1/items", 200, 200, 500, pytest.approx(0.001)),
        "商品詳細取得": ("GET /api/v1/items/{itemId}", 200, 150, 400, pytest.approx(0.001)),
        "カート追加": ("POST /api/v1/cart/items", 50, 300, 800, pytest.approx(0.001)),
        "注文確定": ("POST /api/v1/orders", 30, 1000, 2000, pytest.approx(0.0005)),
    }
    assert all(s.source.endswith(f"02_要件定義書.md:{line}")
               for s, line in zip(plan.scenarios, (32, 33, 34, 35)))


def test_plan_from_bundled_scenario_keeps_the_documents_numbers():
    """clean-ecs-rds: 性能要件 rows without endpoints; the SLO's error rate applies to each."""
    plan = plan_from_documents([CLEAN / "docs"])
    got = [(s.name, s.request, s.users, s.p95_ms, s.min_rps, s.max_error_rate)
           for s in plan.scenarios]
    assert got == [
        ("オンライン応答時間", "GET /", 300, 500, None, pytest.approx(0.001)),
        # users from the required rate: ⌈30 × 0.5 s⌉ and ⌈60 × 0.5 s (the SLO's p95)⌉
        ("在庫 API 応答時間", "GET /", 15, 500, 30, pytest.approx(0.001)),
        ("ピーク時スループット", "GET /", 30, None, 60, pytest.approx(0.001)),
    ]


@pytest.mark.parametrize("scenario, expected", [
    ("ecs-rds-broken", [("オンライン応答時間", 200, 500, None), ("オンライン応答時間（ピーク）", 600, 2000, None),
                        ("スループット", 25, None, 50)]),  # the EDI batch row (1万件を 15 分以内) is no HTTP load
    ("terraform-ecs", [("画面応答時間", 100, 1000, None), ("送り状発行 API", 5, 500, 10)]),
])
def test_plan_reads_seconds_peaks_and_throughput_rows(scenario, expected):
    plan = plan_from_documents([ROOT / "fixtures/scenarios" / scenario / "docs"])
    assert [(s.name, s.users, s.p95_ms, s.min_rps) for s in plan.scenarios] == expected


def test_plan_command_writes_yaml_that_run_reads_back(tmp_path, capsys):
    out = tmp_path / "plan.yaml"
    assert cli_main(["loadtest", "plan", str(CLEAN / "docs"), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "# TODO: 文書にエンドポイントの記載がない" in text
    assert "# 同時ユーザー数は 30 req/s × (p95 0.5 秒 + 思考時間 0 秒) = 15" in text
    reread = load_scenario_file(out)
    assert reread.target is None
    assert reread == plan_from_documents([CLEAN / "docs"])
    # the plan leaves the target to the user, and run refuses without one
    assert cli_main(["loadtest", "run", str(out)]) == 2
    assert "no target" in capsys.readouterr().err


def test_plan_without_tables_is_exit_2(tmp_path, capsys):
    (tmp_path / "README.md").write_text("# メモ\n\n性能の話はまだない。\n", encoding="utf-8")
    assert cli_main(["loadtest", "plan", str(tmp_path)]) == 2
    assert "no performance or SLO table" in capsys.readouterr().err
    assert plan_from_documents([tmp_path]) is None


def test_section6_without_results_lists_the_plan_and_no_numbers():
    plan = plan_from_documents([EC_ORDER])
    text = section6_markdown(plan, None)
    assert text.startswith("## 6. 性能テスト結果（QAと連携）\n")
    assert "未実施 — QA と連携して実施予定" in text
    assert "| 商品一覧取得 | 200 | p95 200ms 以内 / p99 500ms 以内（エラー率 0.1% 以下） | 未実施 |" in text
    assert "| 注文確定 | 30 | p95 1秒 以内 / p99 2秒 以内（エラー率 0.05% 以下） | 未実施 |" in text
    assert "✅" not in text and "❌" not in text and "req/s" not in text
    assert "未実施 — QA と連携して実施予定" in section6_markdown(None, None)


def test_section6_from_a_results_json_round_trip():
    plan = ScenarioFile(target="http://127.0.0.1:1", duration=3, scenarios=[SCENARIO])
    result = judge(SCENARIO, 10, Measurement(requests=400, failures=0, rps=130.2, p50_ms=90,
                                             p95_ms=260, p99_ms=410))
    results = LoadTestResults.model_validate_json(LoadTestResults(
        scenarios=[result], target=plan.target, duration_s=3, plan=plan).model_dump_json())
    text = section6_markdown(None, results)
    assert "| 商品一覧取得 | 10 | p95 200ms 以内 / p99 500ms 以内（エラー率 0.1% 以下、20 req/s 以上）" \
           " | ❌ p95 260ms・エラー率 0.0% |" in text
    assert "「商品一覧取得」（10 ユーザー）が目標未達: p95 260ms が目標 200ms を超過。" in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_run_refuses_a_dead_target(tmp_path, capsys):
    path = _write(tmp_path, "scenarios:\n  - {name: a, request: GET /, users: 1}\n")
    port = _free_port()  # nothing listens there any more
    assert cli_main(["loadtest", "run", str(path), "--target", f"http://127.0.0.1:{port}",
                     "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"target http://127.0.0.1:{port} does not answer (Connection refused)" in err
    assert not list((tmp_path / "out").glob("*.csv"))  # Locust never started


@pytest.mark.parametrize("argv, message", [
    (["--max-users", "5"], "asks for 10 users, above --max-users 5"),
    (["--ramp", "2,60"], "asks for 60 users, above --max-users 50"),
    (["--target", "ftp://127.0.0.1/"], "target must be an http:// or https:// URL"),
])
def test_run_refuses_beyond_the_caps_before_any_request(tmp_path, capsys, argv, message):
    path = _write(tmp_path, "target: http://127.0.0.1:9\n"
                  "scenarios:\n  - {name: a, request: GET /, users: 10}\n")
    assert cli_main(["loadtest", "run", str(path), *argv]) == 2
    assert message in capsys.readouterr().err


def _ramp_results(rps: tuple[float, float, float], p95: tuple[float, float, float]) -> LoadTestResults:
    scenario = Scenario(name="在庫引当", request="GET /stock", users=2, p95_ms=100)
    steps = [judge(scenario, users, Measurement(requests=200, failures=0, rps=r, p50_ms=p / 2,
                                                p95_ms=p, p99_ms=p))
             for users, r, p in zip((2, 5, 10), rps, p95)]
    return LoadTestResults(scenarios=steps, target="http://127.0.0.1:1", duration_s=5,
                           ramp=[knee(scenario, steps)],
                           plan=ScenarioFile(duration=5, scenarios=[scenario]))


def test_analysis_names_saturation_when_throughput_stays_flat():
    text = section6_markdown(None, _ramp_results((48.2, 48.0, 48.7), (42, 110, 200)))
    assert "- 在庫引当: p95 が目標 100ms を超えたのは **5 ユーザー**から（段階 2、5、10 ユーザー）" in text
    analysis = text.split("### ボトルネック分析\n\n", 1)[1]
    assert analysis.startswith("「在庫引当」が目標未達 — 5 ユーザーで p95 110ms が目標 100ms を超過、"
                               "10 ユーザーで p95 200ms が目標 100ms を超過。")
    assert "2 ユーザー 42ms → 5 ユーザー 110ms → 10 ユーザー 200ms" in analysis
    assert "48.2 → 48.7 req/s（×1.0、ユーザーは ×5）" in analysis and "（飽和）" in analysis


def test_analysis_says_no_saturation_when_throughput_follows_users():
    text = section6_markdown(None, _ramp_results((38, 92, 184), (56, 57, 56)))
    assert "ニーは見つからない" in text
    analysis = text.split("### ボトルネック分析\n\n", 1)[1]
    assert analysis.startswith("計測した 3 件はすべて目標内。")
    assert "計測した範囲では飽和していない" in analysis and "飽和）" not in analysis


def test_load_results_reads_a_written_file_and_refuses_others(tmp_path):
    from sre_agent.loadtest import load_results

    written = _ramp_results((38, 92, 184), (56, 57, 56))
    path = tmp_path / "results.json"
    path.write_text(written.model_dump_json(), encoding="utf-8")
    assert load_results(path) == written
    path.write_text('{"scenarios": "none"}', encoding="utf-8")
    with pytest.raises(ScenarioFileError, match="not a loadtest results file"):
        load_results(path)


def test_plan_takes_an_unqualified_response_time_as_p95_but_never_an_average(tmp_path):
    (tmp_path / "性能設計.md").write_text("""\
# 基本設計書: 性能設計

## 1. 性能要件

| 機能 | API | 同時接続数 | 目標レスポンスタイム | 備考 |
|------|-----|------------|----------------------|------|
| 商品検索 | `GET /search?q=shoes` | 40 | 800ms | 現行は平均 300ms |
| 会員ログイン | `POST /login` | 20 | 平均 200ms | |

## 2. 性能監視

| メトリクス | 閾値 | 通知先 |
|------------|------|--------|
| TargetResponseTime p95 | 500ms | 運用チーム |
""", encoding="utf-8")
    from sre_agent.loadtest.plan import planned_scenarios

    planned = planned_scenarios([tmp_path])
    assert [(p.scenario.name, p.scenario.request, p.scenario.users, p.scenario.p95_ms)
            for p in planned] == [("商品検索", "GET /search?q=shoes", 40, 800)]
    assert planned[0].notes == ["百分位の記載がない応答時間を p95 として扱った"]


def test_plan_converts_a_required_rate_into_users_and_marks_what_it_assumed(tmp_path: Path) -> None:
    """A row that gives req/s and no user count is planned with users = rps × (p95 + think time)
    and says so; a rate row without any latency target takes the SLO's p95; an endpoint the
    documents do not name is marked as a placeholder, not planned as a requirement."""
    (tmp_path / "要件.md").write_text("""# 要件定義書

## 性能要件

| 項目 | 目標値 | 測定条件 |
|------|--------|----------|
| 在庫照会 | 95%ile 400ms以内 | 25 リクエスト/秒 |
| ピーク時スループット | 50 リクエスト/秒 | 月末 |

## SLO

| 指標 | 目標値 | 測定方法 |
|------|--------|----------|
| レスポンスタイム | 95%ile 500ms以内 | ALB TargetResponseTime |
""", encoding="utf-8")
    from sre_agent.loadtest.plan import planned_scenarios

    planned = {p.scenario.name: p for p in planned_scenarios([tmp_path])}
    stock, peak = planned["在庫照会"], planned["ピーク時スループット"]
    assert (stock.scenario.users, stock.users_basis) == (10, "derived")   # ⌈25 × 0.4⌉
    assert "25 req/s × (p95 0.4 秒 + 思考時間 0 秒) = 10" in stock.users_formula
    assert (peak.scenario.users, peak.users_basis) == (25, "derived")     # ⌈50 × 0.5⌉ from the SLO
    assert "p95 は SLO" in peak.users_formula
    assert stock.request_basis == peak.request_basis == "default"
    assert not any("仮にツールの既定値" in n for n in stock.notes + peak.notes)
