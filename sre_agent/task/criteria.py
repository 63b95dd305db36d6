"""Section 7: the role's quality criteria, each judged from the self-review of the delivery.

A line is ticked only when the files it needs exist and no warning- or error-level finding of
the rules that test it remains; the evidence names those files and rules (and, where a rule
passed, what it saw). An unticked line carries the findings that block it.
"""

from __future__ import annotations

import re

from sre_agent.models import Severity
from sre_agent.task.evidence import CheckResult, Evidence, judged

SCRIPT_ORDER = ("create", "describe", "execute", "rollback")
_ERREXIT = re.compile(r"^\s*set\s+-[A-Za-z]*e[A-Za-z]*u[A-Za-z]*o\s+pipefail\b", re.MULTILINE)


def _passed(ev: Evidence, *rule_ids: str) -> str:
    """What the rules that passed saw (their coverage evidence), to back a tick."""
    wanted = {r if r.startswith("SRE-") else f"SRE-{r[:3]}-{r[3:]}" for r in rule_ids}
    seen = [f"{p.rule_id}: {', '.join(dict.fromkeys(p.evidence.split(', ')))}"
            for p in [*ev.review.passed, *(ev.design_review.passed if ev.design_review else [])]
            if p.rule_id in wanted]
    return "；".join(seen[:3])


def _with_passed(text: str, ev: Evidence, *rule_ids: str) -> str:
    passed = _passed(ev, *rule_ids)
    return f"{text}（{passed}）" if passed else text


def four_scripts(ev: Evidence, source: str | None = None) -> CheckResult:
    paths = [ev.scripts.get(key) for key in SCRIPT_ORDER]
    present = [p for p in paths if ev.exists(p)]
    return judged(
        "Change Set スクリプトが4種類すべて作成されている",
        ev.blocking("DEP003", "DEP005", "DEP007", "DEP016"),
        f"{', '.join(present)}（SRE-DEP-003 / 005 / 007 と shellcheck の指摘 0 件）",
        precondition=len(present) == 4,
        missing=f"不足: {', '.join(k for k, p in zip(SCRIPT_ORDER, paths) if not ev.exists(p))}",
        source=source)


def no_direct_deploy(ev: Evidence, source: str | None = None) -> CheckResult:
    scanned = [p for p in [*ev.scripts.values(), ev.runbook] if ev.exists(p)]
    return judged(
        "直接デプロイが禁止されている（aws cloudformation deploy / create-stack / update-stack を使わない）",
        ev.blocking("DEP001", "DEP002"),
        f"スクリプト {len(ev.scripts)} 件と手順書のコマンドを走査し SRE-DEP-001 / 002 の指摘 0 件"
        f"（{', '.join(scanned)}）",
        precondition=bool(scanned), missing="走査するスクリプト・手順書がない", source=source)


def error_handling(ev: Evidence, source: str | None = None) -> CheckResult:
    without = [p for p in ev.scripts.values() if ev.exists(p) and not _ERREXIT.search(ev.text(p))]
    result = judged(
        "エラーハンドリングが実装されている",
        ev.blocking("DEP004", "DEP008", "DEP016"),
        f"スクリプト {len(ev.scripts)} 件すべてが set -euo pipefail で始まり、非同期呼び出しの後に wait"
        "（SRE-DEP-004 / 008 と shellcheck の指摘 0 件）",
        precondition=bool(ev.scripts) and not without,
        missing=f"set -euo pipefail がない: {', '.join(without) or 'スクリプトがない'}", source=source)
    return result


# what rollback.sh must do by itself for the procedure to be called clear
ROLLBACK_COVERAGE = {
    "UPDATE_FAILED": "失敗した更新", "UPDATE_ROLLBACK_FAILED": "止まったロールバック",
    "UPDATE_IN_PROGRESS": "進行中の更新", "UPDATE_COMPLETE": "安定状態からの前回リリース",
}


def clear_rollback(ev: Evidence, source: str | None = None) -> CheckResult:
    """Ticked from behaviour: the runbook section, the script's own state table covering the
    failure states, both runbooks carrying the same rollback text, and an application release
    that the script really rolls back (an SSM-held image tag is restored, not re-resolved)."""
    rollback = ev.scripts.get("rollback")
    has_section = ev.exists(ev.runbook) and "ロールバック" in ev.text(ev.runbook or "")
    uncovered = [label for state, label in ROLLBACK_COVERAGE.items() if state not in ev.rollback_states]
    gaps = []
    if not ev.exists(rollback) or not has_section:
        gaps.append("ロールバックスクリプトまたは手順書のロールバック節がない")
    if uncovered:
        gaps.append(f"{rollback} が扱わない状態: {'、'.join(uncovered)}")
    if ev.runbooks_disagree:
        gaps.append(f"アプリケーションの戻し方が手順書間で一致しない: {'、'.join(ev.runbooks_disagree)}")
    if ev.image_tag_in_ssm and not ev.restores_image_tag:
        gaps.append(f"{rollback} はイメージタグ（SSM パラメータ）を戻さない。アプリケーションだけのリリースは"
                    "変更セットが空になり、手順書の手作業（SSM の書き戻し）なしでは戻らない")
    documents = "・".join(p for p in (ev.runbook, ev.incident) if ev.exists(p))
    evidence = _with_passed(
        f"{documents} の同じロールバック手順と {rollback} の状態ごとの処理"
        f"（{len(ev.rollback_states)} 状態を処理、それ以外は理由を示して中止。delete-stack を使わない）"
        + ("、イメージタグは前回リリースの記録から rollback.sh が戻す" if ev.image_tag_in_ssm else "")
        + "。SRE-DEP-009 / 010 / DOC-006 の指摘 0 件", ev, "DOC006")
    return judged("ロールバック手順が明確", ev.blocking("DEP009", "DEP010", "DOC006", "BAK004"),
                  evidence, precondition=not gaps, missing="；".join(gaps), source=source)


def monitoring(ev: Evidence, source: str | None = None) -> CheckResult:
    """Alarms that notify a subscribed topic, every design monitoring row matched (DOC010) and,
    when the documents ask for one, the AWS Budgets budget."""
    gaps = []
    if ev.alarms == 0 or ev.topics_with_subscription == 0:
        gaps.append(f"アラーム {ev.alarms} 件 / 購読つき通知先 {ev.topics_with_subscription} 件")
    if ev.budget_required and not ev.budgets:
        gaps.append(f"設計書が求める AWS Budgets の予算（{ev.budget_required}）がテンプレートにない")
    evidence = (f"CloudWatch アラーム {ev.alarms} 件（うち SLO バーンレート {ev.burn_rate_alarms} 件）、"
                f"購読つき SNS トピック {ev.topics_with_subscription} 件、"
                + ("設計書の監視表とアラームの照合（SRE-DOC-010）、" if ev.design_review else "")
                + (f"AWS Budgets の予算 {ev.budgets} 件（{ev.budget_required} の要求）、" if ev.budget_required else "")
                + "SRE-MON-001〜010 / DOC-010 の指摘 0 件")
    return judged(
        "監視・アラートが設定されている",
        ev.blocking("DOC010", prefixes=("SRE-MON-",)),
        _with_passed(evidence, ev, "MON004", "MON006", "DOC010"),
        precondition=not gaps, missing="；".join(gaps), source=source)


def multi_az(ev: Evidence, source: str | None = None) -> CheckResult:
    return judged(
        "マルチAZ配置されている",
        ev.blocking("DOC002", prefixes=("SRE-MAZ-",)),
        _with_passed("SRE-MAZ-001〜007 / DOC-002 の指摘 0 件", ev, "MAZ001", "MAZ002", "MAZ004"),
        precondition=bool(ev.templates), missing="テンプレートがない", source=source)


def slo(ev: Evidence, source: str | None = None) -> CheckResult:
    return judged(
        "SLO/SLI が定義されている",
        ev.blocking("DOC004", "MON009"),
        f"SLO {ev.slo_rows} 指標（{ev.slo_source}）、エラーバジェットのバーンレートアラーム "
        f"{ev.burn_rate_alarms} 件（SRE-DOC-004 / MON-009 の指摘 0 件）",
        precondition=ev.slo_rows > 0, missing="設計書・仕様に SLO の定義がない", source=source)


def postmortem(ev: Evidence, source: str | None = None) -> CheckResult:
    return judged(
        "ポストモーテムのテンプレートがある",
        ev.blocking("DOC005"),
        _with_passed(f"{ev.postmortem}", ev, "DOC005"),
        precondition=ev.exists(ev.postmortem),
        missing="未作成（タスクの期待する成果物に含まれていない）", source=source)


def cost_estimate(ev: Evidence, source: str | None = None) -> CheckResult:
    return judged(
        "コスト試算が含まれている",
        ev.blocking("CST001", "CST002", "CST004"),
        f"組み込み価格表による本番月額 ${ev.monthly_usd:,.2f}（{ev.cost_document or '1. インフラ設計「リソース一覧」'}、"
        "行の和と合計の一致（SRE-CST-001）・見積の有無（SRE-CST-002）・コードとの差（SRE-CST-004）の指摘 0 件）"
        if ev.monthly_usd is not None else "",
        precondition=bool(ev.monthly_usd) and ev.exists(ev.cost_document), missing="テンプレートから価格を出せるリソースがない",
        source=source)


def cfn_lint_clean(ev: Evidence) -> CheckResult:
    errors = [f for f in ev.review.active_findings()
              if f.source == "cfn-lint" and f.severity is Severity.ERROR]
    ran = any(run.name == "cfn-lint" and not run.error for run in ev.review.analyzers)
    return judged("CloudFormation テンプレートが cfn-lint を通る（エラー 0 件）", errors,
                  f"{len(ev.templates)} テンプレートを cfn-lint で検査",
                  precondition=ran and bool(ev.templates), missing="cfn-lint が実行されていない")


def no_error_findings(ev: Evidence) -> CheckResult:
    return judged("セルフレビューで ❌（error）の指摘がない", ev.errors(),
                  f"sre-review（SRE ルール・cfn-lint・checkov・shellcheck）: 判定 {ev.review.verdict}、"
                  f"指摘 {len(ev.review.active_findings())} 件（うち error {len(ev.errors())} 件）")


MANDATORY = (four_scripts, no_direct_deploy, error_handling, clear_rollback, monitoring, multi_az)
RECOMMENDED = (slo, postmortem, cost_estimate)
STANDARDS = (cfn_lint_clean, no_error_findings)


def section7(ev: Evidence) -> dict[str, list[CheckResult]]:
    return {"mandatory": [check(ev) for check in MANDATORY],
            "recommended": [check(ev) for check in RECOMMENDED],
            "standards": [check(ev) for check in STANDARDS]}
