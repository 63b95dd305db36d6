"""DOC008: a compliance claim (a ticked checklist item) that the code does not back."""

from __future__ import annotations

from typing import Callable, Iterable

from sre_agent.docfacts import ChecklistClaim, facts_of
from sre_agent.docfacts.built import alarms, alarms_with_actions, rds_attribute
from sre_agent.docfacts.extract import has
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN, as_bool, as_number
from sre_agent.rules.base import Rule, RuleContext
from sre_agent.rules.doc.doc002_redundancy_claim_single_az import single_az_resources

# Evidence: returns None when backed (or cannot be judged), else (ja, en) naming what is missing.
Evidence = Callable[[object], "tuple[str, str] | None"]


def _multi_az(project) -> tuple[str, str] | None:
    bad = [item for component in ("rds", "ecs", "elasticache")
           for item, _, _ in single_az_resources(project, component)]
    if not bad:
        return None
    names = ", ".join(f"`{b.resource}`（{b.file}:{b.line}）" for b in bad[:3])
    return f"{names} が本番でシングルAZ / 1 台", f"{names} is single-AZ / single-instance in production"


def _monitoring(project) -> tuple[str, str] | None:
    if not (project.templates or project.terraform):
        return None
    if not alarms(project):
        return "テンプレートに CloudWatch アラームが 1 件もない", "the templates define no CloudWatch alarm"
    if not alarms_with_actions(project):
        return "どのアラームにも通知先（AlarmActions）がない", "no alarm has an AlarmActions target"
    return None


def _backup(project) -> tuple[str, str] | None:
    has_plan = any(list(t.of_type("AWS::Backup::BackupPlan")) for t in project.templates) or any(
        True for tf in project.terraform for _ in tf.resources("aws_backup_plan"))
    off = [i for i in rds_attribute(project, "BackupRetentionPeriod", "backup_retention_period", default=1)
           if as_number(i.value) is not UNKNOWN and as_number(i.value) < 1]
    if off and not has_plan:
        names = ", ".join(f"`{i.resource}`（{i.file}:{i.line}）" for i in off[:3])
        return f"{names} の自動バックアップが無効", f"{names} has automated backups off"
    return None


def _flag(cfn: str, tf: str, ja: str, en: str) -> Evidence:
    def check(project) -> tuple[str, str] | None:
        off = [i for i in rds_attribute(project, cfn, tf, default=False)
               if as_bool(i.value) is not UNKNOWN and not as_bool(i.value)]
        if not off:
            return None
        names = ", ".join(f"`{i.resource}`（{i.file}:{i.line}）" for i in off[:3])
        return f"{names} の {ja} が本番で無効", f"{names} has {en} off in production"
    return check


CLAIMS: tuple[tuple[tuple[str, ...], Evidence], ...] = (
    (("マルチAZ", "マルチ AZ", "Multi-AZ", "冗長化", "冗長構成"), _multi_az),
    (("監視", "アラート", "アラーム", "monitoring"), _monitoring),
    (("バックアップ", "backup"), _backup),
    (("削除保護", "deletion protection"), _flag("DeletionProtection", "deletion_protection",
                                             "削除保護（DeletionProtection）", "deletion protection")),
    (("暗号化", "encryption"), _flag("StorageEncrypted", "storage_encrypted",
                                    "ストレージ暗号化（StorageEncrypted）", "storage encryption")),
)


class ComplianceClaimWithoutEvidence(Rule):
    """
    ## What it does
    Reads ticked compliance items in reports and checklists (`- [x] マルチAZ配置`,
    `- [x] 監視・アラート設定`, or a `| 確認項目 | 結果 |` table row marked ✅ / 済 / OK) and
    checks that the code backs each one: マルチAZ / 冗長化 → every production RDS instance is
    Multi-AZ, every ECS service runs at least 2 tasks, ElastiCache fails over; 監視 / アラート →
    CloudWatch alarms exist and at least one notifies (AlarmActions); バックアップ → RDS automated
    backups on (or an AWS Backup plan); 削除保護 / 暗号化 → DeletionProtection / StorageEncrypted.
    The finding points at the ticked line and names the resource that contradicts it. Deep
    mode only.

    ## Why is this bad
    A 構築完了報告書 or a 納品チェックリスト is what the customer signs off on; a ticked item that
    is not true is found in the first incident, after acceptance, and is a contractual problem
    on top of an operational one.

    ## Example
    ```markdown
    - [x] マルチAZ配置（RDS・ECS）
    ```
    with `prd.json`: `"MultiAZ": "false"`.

    ## Use instead
    Tick items only with the evidence next to them (the template line, a screenshot of the
    console), or fix the code before the report is issued.

    ## References
    - https://docs.aws.amazon.com/wellarchitected/latest/reliability-pillar/welcome.html
    """

    id = "SRE-DOC-008"
    name = "compliance-claim-without-evidence"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "チェック済みの項目をコードが裏付けていない"
    title_en = "A ticked compliance item is not backed by the code"
    passed_ja = "チェック済みの項目はコードで裏付けられている"
    passed_en = "Ticked compliance items are backed by the code"
    fix_ja = "コードを直すか、チェックを外して未対応として報告する（証跡としてテンプレートの該当行を記載する）"
    fix_en = "Fix the code, or untick the item and report it as open (cite the template line as evidence)"

    def _judged(self, ctx: RuleContext) -> Iterable[tuple[ChecklistClaim, tuple[str, str] | None]]:
        for claim in facts_of(ctx.project).checklist:
            for words, evidence in CLAIMS:
                if has(claim.text, words):
                    yield claim, evidence(ctx.project)
                    break

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        if ctx.mode == "light":
            return
        for claim, missing in self._judged(ctx):
            if missing is None:
                continue
            yield self.finding(ctx, file=claim.where.file, line=claim.where.line, message=ctx.text(
                f"「{claim.text}」をチェック済みとしているが、{missing[0]}",
                f"'{claim.text}' is ticked, but {missing[1]}"))

    def coverage(self, ctx: RuleContext) -> str | None:
        if ctx.mode == "light":
            return None
        judged = list(self._judged(ctx))
        return f"チェック済み項目 {len(judged)} 件をコードと照合" if judged else None
