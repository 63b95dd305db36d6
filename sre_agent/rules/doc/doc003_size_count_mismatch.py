"""DOC003: sizes and counts in the documents differ from what the code builds."""

from __future__ import annotations

from typing import Iterable

from sre_agent.docfacts import SizeFact, facts_of
from sre_agent.docfacts.built import Built, app_log_groups, ecs_services, rds_attribute
from sre_agent.environments import is_prod
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN, as_number
from sre_agent.rules.base import Rule, RuleContext

LABELS = {
    "db_instance_class": ("RDS インスタンスクラス", "RDS instance class"),
    "db_storage_gb": ("RDS ストレージ（GB）", "RDS storage (GB)"),
    "backup_retention_days": ("自動バックアップ保持期間（日）", "backup retention (days)"),
    "task_min": ("タスク数（最小）", "minimum task count"),
    "task_max": ("タスク数（最大）", "maximum task count"),
    "task_desired": ("タスク数", "task count"),
    "app_log_retention_days": ("アプリケーションログ保持期間（日）", "application log retention (days)"),
    "log_retention_days": ("ログ保持期間（日）", "log retention (days)"),
}


def built_values(project) -> dict[str, list[Built]]:
    """Production values per size key; a key is only compared when exactly one resource has it."""
    values: dict[str, list[Built]] = {
        "db_instance_class": list(rds_attribute(project, "DBInstanceClass", "instance_class")),
        "db_storage_gb": list(rds_attribute(project, "AllocatedStorage", "allocated_storage")),
        "backup_retention_days": list(rds_attribute(project, "BackupRetentionPeriod",
                                                    "backup_retention_period", default=1)),
    }
    services = list(ecs_services(project))
    values["task_desired"] = [s.desired for s in services]
    values["task_min"] = [s.minimum or s.desired for s in services]
    values["task_max"] = [s.maximum or s.desired for s in services]
    logs = list(app_log_groups(project))
    values["app_log_retention_days"] = logs
    values["log_retention_days"] = logs
    return values


def same(documented: str | float, built) -> bool | None:
    """True/False, or None when the built value cannot be resolved."""
    if built is UNKNOWN or built is None:
        return None
    if isinstance(documented, str):
        return documented.strip().casefold() == str(built).strip().casefold()
    number = as_number(built)
    return None if number is UNKNOWN else abs(number - documented) < 1e-9


class SizeCountMismatch(Rule):
    """
    ## What it does
    Reads the sizes and counts of the parameter sheets (`| パラメーター | 値 |` rows such as
    インスタンスクラス db.t4g.medium, ストレージ gp3 50GB, 自動バックアップ保持期間 14日,
    タスク数（最小）2; per-environment tables `| 環境 | … | タスク数（最小-最大） |` with `2-4`;
    log tables `| ログ種別 | 保持期間 |`) and compares the production values with the code: the
    RDS instance's class, storage and backup retention, the ECS service's desired count and
    auto-scaling min / max (no auto scaling = a fixed count), the retention of the log group the
    task definition writes to. A key is compared only when the code has exactly one such
    resource. Deep mode only.

    ## Why is this bad
    The parameter sheet is what capacity planning, the cost estimate and the 納品 check were
    done against. A mismatch means either the system is smaller than the load test assumed or
    the bill is larger than the budget approved — and reviewers of either document miss it.

    ## Example
    Sheet: `| タスク数（最小-最大） | 2-4 |`; template: a service with `DesiredCount: 2` and no
    scalable target (it can never grow to 4).

    ## Use instead
    Keep one source of truth: generate the sheet from the parameter files, or review both in
    the same pull request; add the missing `AWS::ApplicationAutoScaling::ScalableTarget`.

    ## References
    - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-auto-scaling.html
    - https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.html
    """

    id = "SRE-DOC-003"
    name = "documented-size-differs-from-code"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.WARNING
    title_ja = "設計書のサイズ・台数がコードと違う"
    title_en = "Documented sizes and counts differ from the code"
    passed_ja = "設計書のサイズ・台数はコードと一致"
    passed_en = "Documented sizes and counts match the code"
    fix_ja = "パラメーターシートとパラメーターファイル（テンプレート）のどちらが正しいか決めて揃える"
    fix_en = "Decide which of the parameter sheet and the parameter files is right and align the other"

    def _pairs(self, ctx: RuleContext) -> Iterable[tuple[str, list[SizeFact], Built]]:
        facts = [f for f in facts_of(ctx.project).sizes if is_prod(f.environment)]
        built = built_values(ctx.project)
        keys = sorted({f.key for f in facts})
        for key in keys:
            resources = built.get(key) or []
            if len(resources) != 1:
                continue
            yield key, [f for f in facts if f.key == key], resources[0]

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        if ctx.mode == "light":
            return
        for key, facts, item in self._pairs(ctx):
            by_value: dict[str | float, list[SizeFact]] = {}
            for fact in facts:
                if same(fact.value, item.value) is False:
                    by_value.setdefault(fact.value, []).append(fact)
            for value, stated in by_value.items():
                label_ja, label_en = LABELS[key]
                where = ", ".join(str(f.where) for f in stated[:3])
                shown = value if isinstance(value, str) else f"{value:g}"
                built = item.value if isinstance(item.value, str) else f"{as_number(item.value):g}"
                yield self.finding(
                    ctx, file=item.file, line=item.line, resource=item.resource,
                    environment=item.environment,
                    message=ctx.text(
                        f"{label_ja}: 設計書 {where} は {shown}、コード `{item.resource}` は {built}"
                        f"（{item.environment or '既定値'}）",
                        f"{label_en}: {where} says {shown}, the code `{item.resource}` builds {built}"
                        f" ({item.environment or 'default'})"),
                )

    def coverage(self, ctx: RuleContext) -> str | None:
        if ctx.mode == "light":
            return None
        pairs = list(self._pairs(ctx))
        if not pairs:
            return None
        return "、".join(LABELS[key][0] for key, _, _ in pairs) + " をコードと照合"
