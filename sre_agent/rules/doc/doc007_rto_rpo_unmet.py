"""DOC007: RTO / RPO undefined, or an RPO the backup design cannot meet."""

from __future__ import annotations

import re
from typing import Iterable

from sre_agent.docfacts import RecoveryFact, facts_of
from sre_agent.docfacts.built import rds_attribute
from sre_agent.docfacts.extract import has
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN, as_number
from sre_agent.rules.base import Rule, RuleContext

# RDS automated backups ship transaction logs every 5 minutes: point-in-time restore reaches
# to about 5 minutes before the failure (LatestRestorableTime).
PITR_RPO_MINUTES = 5.0
PITR_WORDS = ("ポイントインタイム", "pitr", "point-in-time", "継続的", "トランザクションログ")
SYNC_WORDS = ("同期", "マルチaz", "multi-az", "レプリケーション", "スタンバイ", "deletionpolicy",
              "スナップショット取得", "削除・置換", "az 障害", "az障害")
FREQUENCIES = (
    (re.compile(r"(\d+)\s*時間(?:ごと|毎|おき)"), lambda m: float(m.group(1)) * 60),
    (re.compile(r"(\d+)\s*分(?:ごと|毎|おき)"), lambda m: float(m.group(1))),
    (re.compile(r"毎時|1時間ごと|hourly", re.IGNORECASE), lambda m: 60.0),
    (re.compile(r"日次|毎日|1日1回|daily|夜間バッチ", re.IGNORECASE), lambda m: 1440.0),
    (re.compile(r"週次|毎週|weekly", re.IGNORECASE), lambda m: 10080.0),
)


def span(minutes: float) -> str:
    """5分 / 1時間 / 1日 — minutes as a person writes them."""
    if minutes >= 1440 and minutes % 1440 == 0:
        return f"{minutes / 1440:g}日"
    if minutes >= 60 and minutes % 60 == 0:
        return f"{minutes / 60:g}時間"
    return f"{minutes:g}分"


def documented_interval(context: str) -> float | None:
    for pattern, minutes in FREQUENCIES:
        m = pattern.search(context)
        if m:
            return minutes(m)
    return None


COMPUTE_ONLY = ("ecs", "タスク", "コンテナ", "fargate", "ec2", "アプリケーション", "alb", "az障害", "az 障害")
DATA_WORDS = ("rds", "db", "データベース", "aurora", "s3", "efs", "dynamodb", "データ破損", "バックアップ")


class RtoRpoUnmet(Rule):
    """
    ## What it does
    Reads RTO / RPO from the documents (`| リソース | RPO | RTO | バックアップ頻度 |` tables,
    `| RPO（目標復旧時点） | 5分 |` rows, prose) and reports (1) a project whose documents define
    no RTO or no RPO, and (2) an RPO shorter than the backup interval that protects it: RPO 5分
    with 日次スナップショット is 24 hours of lost orders. RDS automated backups (retention ≥ 1
    day in the production parameters) give point-in-time restore to about 5 minutes, so an RDS
    RPO of 5 minutes is met by them even when the document only mentions snapshots; a document
    that promises PITR while the code turns automated backups off (retention 0) is reported.
    RPO 0 rows for AZ failure (同期レプリケーション / マルチAZ) are not judged here (DOC002
    checks the multi-AZ claim). Deep mode only.

    ## Why is this bad
    The RPO is the amount of data the business agreed to lose. If the backups cannot deliver it,
    the first restore loses more than anyone signed off — discovered during the incident.

    ## Example
    ```markdown
    | RDS | 5分 | 1時間 | 日次スナップショット（AWS Backup） | 7世代 |
    ```
    with `BackupRetentionPeriod: 0` in the template.

    ## Use instead
    Enable RDS automated backups (`BackupRetentionPeriod: 7` or more, PITR to ~5 minutes), or
    state the RPO the design really gives (24 時間).

    ## References
    - https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIT.html
    - https://docs.aws.amazon.com/wellarchitected/latest/reliability-pillar/rel_planning_for_recovery_objective_defined_recovery.html
    """

    id = "SRE-DOC-007"
    name = "rto-rpo-undefined-or-unmet"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "RTO / RPO が未定義、またはバックアップ設計で満たせない"
    title_en = "RTO / RPO undefined or not achievable by the backup design"
    passed_ja = "RTO / RPO を定義し、バックアップ設計で満たせる"
    passed_en = "RTO / RPO are defined and achievable"
    fix_ja = "RTO / RPO を定義し、RPO に見合うバックアップ（RDS 自動バックアップによる PITR など）を設計・実装する"
    fix_en = "Define RTO / RPO and back them with matching backups (e.g. RDS automated backups for PITR)"

    def _rds_pitr(self, ctx: RuleContext) -> tuple[bool | None, list]:
        """True when every prod RDS instance keeps automated backups; None with no RDS."""
        items = list(rds_attribute(ctx.project, "BackupRetentionPeriod", "backup_retention_period", default=1))
        if not items:
            return None, items
        values = [as_number(i.value) for i in items]
        if any(v is UNKNOWN for v in values):
            return None, items
        return all(v >= 1 for v in values), items

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        facts = facts_of(ctx.project)
        if ctx.mode == "light" or not facts.design_doc_count:
            return
        missing = [k for k in ("RTO", "RPO")
                   if not any(r.kind == k and r.minutes is not None for r in facts.recovery)]
        if missing:
            names = " / ".join(missing)
            yield self.finding(ctx, file=None, line=None, message=ctx.text(
                f"設計書に {names} の定義がない（障害復旧目標が決まっていない）",
                f"the design documents define no {names}"))
        pitr, items = self._rds_pitr(ctx)
        for fact in facts.recovery:
            if fact.kind == "RPO" and fact.minutes is not None:
                finding = self._unmet(ctx, fact, pitr, items)
                if finding is not None:
                    yield finding

    def _unmet(self, ctx: RuleContext, fact: RecoveryFact, pitr: bool | None, items: list) -> Finding | None:
        context = fact.context
        if has(context, SYNC_WORDS):
            return None
        innermost = fact.section.split(" / ")[-1] if fact.section else ""
        if has(innermost, COMPUTE_ONLY) and not has(innermost + context, DATA_WORDS):
            return None  # 「ECS タスク全停止」 loses no data: its RPO is not the database's
        about_rds = has(context, ("rds", "db", "データベース", "aurora", "postgres", "mysql")) or (
            items and not has(context, ("s3", "efs", "dynamodb", "ファイル", "ec2", "ebs")))
        claims_pitr = has(context, PITR_WORDS)
        if about_rds and pitr is True:
            interval, basis_ja, basis_en = PITR_RPO_MINUTES, "RDS 自動バックアップの PITR", "RDS PITR"
        elif about_rds and pitr is False and claims_pitr:
            names = ", ".join(f"`{i.resource}`" for i in items)
            return self.finding(ctx, file=fact.where.file, line=fact.where.line, message=ctx.text(
                f"RPO {span(fact.minutes)}をポイントインタイムリカバリで満たすと記載しているが、{names} は本番で自動バックアップ無効"
                f"（BackupRetentionPeriod 0）",
                f"RPO {fact.minutes:g} min relies on point-in-time recovery, but {names} has automated "
                f"backups off in production"))
        elif claims_pitr:
            return None
        else:
            interval = documented_interval(context)
            basis_ja = basis_en = "documented backup frequency"
            basis_ja = "記載のバックアップ頻度"
            if interval is None:
                return None
        if fact.minutes >= interval:
            return None
        return self.finding(ctx, file=fact.where.file, line=fact.where.line, message=ctx.text(
            f"RPO {span(fact.minutes)}に対し、{basis_ja}（{span(interval)}ごと）では最大 {span(interval)}分のデータを失う"
            f"（「{context}」）",
            f"RPO {fact.minutes:g} min, but the {basis_en} can lose up to {interval:g} min of data"))

    def coverage(self, ctx: RuleContext) -> str | None:
        facts = facts_of(ctx.project)
        if ctx.mode == "light":
            return None
        found = [f"{r.kind} {r.minutes:g}分 ({r.where})" for r in facts.recovery if r.minutes is not None]
        return ", ".join(found[:3]) if found else None
