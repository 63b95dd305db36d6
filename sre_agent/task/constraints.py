"""The task's 制約 lines as checks of the delivery.

Each line we know (直接デプロイ禁止, dry-run必須, エラーハンドリング必須, …) maps to the
findings and files that prove it; a line we do not know is listed as not checked — a
requirement we cannot verify is said so, never reported as met.
"""

from __future__ import annotations

from collections.abc import Callable

from sre_agent.cost import USD_JPY
from sre_agent.docfacts.values import money
from sre_agent.parsing.markdown import parse_markdown
from sre_agent.task import criteria
from sre_agent.task.evidence import CheckResult, Evidence, judged
from sre_agent.task.model import ConstraintItem, fold

Check = Callable[[Evidence, str], CheckResult]


def dry_run(ev: Evidence, source: str) -> CheckResult:
    """dry-run = every change goes through a change set that is described before it runs."""
    order = _describe_before_execute(ev)
    return judged(
        "dry-run（Change Set の作成・内容確認の後に実行）",
        ev.blocking("DEP001", "DEP002", "DEP006"),
        f"{ev.scripts.get('describe')} で変更内容（置換・削除される状態保持リソースを強調）を確認してから "
        f"{ev.scripts.get('execute')} を承認つきで実行。{ev.runbook} の手順 {order} 箇所すべてで "
        "describe が execute より前（SRE-DEP-001 / 002 / 006 の指摘 0 件）",
        precondition=ev.exists(ev.scripts.get("describe")) and order > 0,
        missing="describe-changeset.sh がない、または手順書で describe が execute より前にない",
        source=source)


def _describe_before_execute(ev: Evidence) -> int:
    """Runbook sections that run execute-changeset.sh; 0 if any of them does not describe first."""
    if not ev.exists(ev.runbook):
        return 0
    doc = parse_markdown(ev.text(ev.runbook or ""))
    count = 0
    for section in doc.sections():
        text = "\n".join(block.text for block in section.code_blocks)
        if "execute-changeset.sh" not in text:
            continue
        describe = text.find("describe-changeset.sh")
        if describe < 0 or describe > text.find("execute-changeset.sh"):
            return 0
        count += 1
    return count


def approval(ev: Evidence, source: str) -> CheckResult:
    return judged("本番反映は承認後", ev.blocking("DEP006"),
                  f"{ev.scripts.get('execute')} は対話での確認入力、CI では --yes と APPROVED_BY を要求"
                  "（SRE-DEP-006 の指摘 0 件）", precondition=ev.exists(ev.scripts.get("execute")),
                  missing="execute-changeset.sh がない", source=source)


def immutable_image(ev: Evidence, source: str) -> CheckResult:
    return judged("可変タグ（latest 等）のイメージを使わない", ev.blocking("DEP012"),
                  "SRE-DEP-012 の指摘 0 件", precondition=bool(ev.templates), source=source)


def no_literal_secrets(ev: Evidence, source: str) -> CheckResult:
    return judged("シークレットを直書きしない", ev.blocking("SEC001", "SEC002"),
                  "SRE-SEC-001 / 002 の指摘 0 件（DB マスターパスワードは ManageMasterUserPassword で管理）",
                  precondition=bool(ev.templates), source=source)


def budget(ev: Evidence, source: str) -> CheckResult:
    amounts = money(source)
    limit = amounts[0] if amounts else None
    if limit is None or ev.monthly_usd is None:
        return CheckResult(label="予算内", met=None, source=source,
                           evidence="金額または試算がないため確認できない")
    limit_usd = limit.amount / USD_JPY if limit.currency == "JPY" else limit.amount
    within = ev.monthly_usd <= limit_usd
    rate = f"、1 USD = {USD_JPY:g} 円換算" if limit.currency == "JPY" else ""
    return CheckResult(
        label="予算内", met=within, source=source,
        evidence=f"本番の月額試算 ${ev.monthly_usd:,.2f} ≤ 上限 ${limit_usd:,.2f}（{limit.text}{rate}。"
                 "データ転送量・ログ取り込み量など従量分は含まない）" if within else
                 f"本番の月額試算 ${ev.monthly_usd:,.2f} が上限 ${limit_usd:,.2f}（{limit.text}{rate}）を超える")


def _error_handling(ev: Evidence, source: str) -> CheckResult:
    return criteria.error_handling(ev, source)


# (keywords in the folded line, check); the first match wins
KNOWN: tuple[tuple[tuple[str, ...], Check], ...] = (
    (("直接デプロイ", "cloudformation deploy", "create-stack", "update-stack"), criteria.no_direct_deploy),
    (("dry-run", "dry run", "ドライラン", "事前確認", "変更内容を確認", "change set 必須"), dry_run),
    (("エラーハンドリング", "エラー処理", "pipefail", "set -e"), _error_handling),
    (("ロールバック",), criteria.clear_rollback),
    (("マルチaz", "multi-az", "複数az", "冗長"), criteria.multi_az),
    (("監視", "アラート", "アラーム"), criteria.monitoring),
    (("承認",), approval),
    (("latest", "イメージタグ", "可変タグ"), immutable_image),
    (("シークレット", "パスワード", "秘密情報", "認証情報", "直書き"), no_literal_secrets),
    (("月額", "予算", "コスト", "費用"), budget),
    (("slo",), criteria.slo),
)


def known_check(text: str) -> Check | None:
    folded = fold(text)
    return next((check for words, check in KNOWN if any(w in folded for w in words)), None)


def check_constraints(items: list[ConstraintItem], ev: Evidence) -> list[CheckResult]:
    """One result per 制約 line, in the task's order; unknown lines come back unchecked."""
    results = []
    for item in items:
        check = known_check(item.text)
        if check is None:
            results.append(CheckResult(label=item.text, met=None, source=item.text,
                                       evidence="この制約を成果物から機械的に確認する方法がない（要人手確認）"))
            continue
        result = check(ev, item.text)
        result.label = item.text   # the PM reads back their own words
        results.append(result)
    return results


def unknown_constraints(items: list[ConstraintItem]) -> list[str]:
    return [item.text for item in items if known_check(item.text) is None]


__all__ = ["check_constraints", "known_check", "unknown_constraints"]
