"""BAK002: production RDS with automated backups off or kept for less than a week."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN, as_number, cfn_contexts, tf_value, tf_contexts
from sre_agent.rules._resources import cfn_exists, cfn_number, env_phrase
from sre_agent.rules.base import Rule, RuleContext

MIN_DAYS = 7


def _is_cluster_member_or_replica(props: dict) -> bool:
    return "DBClusterIdentifier" in props or "SourceDBInstanceIdentifier" in props


class ShortBackupRetention(Rule):
    """
    ## What it does
    Reports, for production, an RDS DB instance or Aurora cluster (`AWS::RDS::DBInstance`,
    `AWS::RDS::DBCluster`, `aws_db_instance`, `aws_rds_cluster`) whose `BackupRetentionPeriod`
    is 0 (automated backups and point-in-time restore off) or below 7 days. An absent value is
    AWS's default of 1 day. Aurora member instances and read replicas are exempt. Values from
    parameters use the production parameter file, else the default; unresolvable values are not
    reported.

    ## Why is this bad
    Data corruption (a bad migration, an application bug, a wrong `DELETE`) is often noticed days
    later — after a weekend or at month-end closing. With one day of retention the last good
    state is already gone; with 0 there is no point-in-time restore at all.

    ## Example
    ```yaml
    Database:
      Type: AWS::RDS::DBInstance
      Properties:
        BackupRetentionPeriod: 1
    ```

    ## Use instead
    ```yaml
        BackupRetentionPeriod: !If [IsProduction, 14, 1]
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html
    - standards/cloudformation.md §5 データ保護
    - standards/terraform.md §4 可用性とデータ保護
    """

    id = "SRE-BAK-002"
    name = "rds-backup-retention-too-short"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.ERROR
    title_ja = "RDS の自動バックアップが無効 / 保持期間が短い"
    title_en = "RDS automated backups off or retention too short"
    passed_ja = "本番 RDS の自動バックアップ保持期間は 7 日以上"
    passed_en = "Production RDS keeps automated backups for 7 days or more"
    fix_ja = "本番の BackupRetentionPeriod を 7 日以上（推奨 14 日以上）にする"
    fix_en = "Set BackupRetentionPeriod to 7 days or more (14 recommended) in production"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        project = ctx.project
        for template in project.templates:
            for db in template.of_type("AWS::RDS::DBInstance", "AWS::RDS::DBCluster"):
                if db.type == "AWS::RDS::DBInstance" and _is_cluster_member_or_replica(db.properties):
                    continue
                for env in cfn_contexts(template, project, prod_only=True):
                    if not cfn_exists(template, db, env):
                        continue
                    days = cfn_number(template, env, db.properties.get("BackupRetentionPeriod", 1))
                    if days is UNKNOWN or days >= MIN_DAYS:
                        continue
                    yield self._report(ctx, template.path, db.property_line("BackupRetentionPeriod"),
                                       db.logical_id, "BackupRetentionPeriod", days, env)
                    break
        for tf in project.terraform:
            for db in tf.resources("aws_db_instance", "aws_rds_cluster"):
                if any(k in db.body for k in ("replicate_source_db", "cluster_identifier")) \
                        and db.type == "aws_db_instance":
                    continue
                for env in tf_contexts(tf, project, prod_only=True):
                    raw = tf_value(db, "backup_retention_period", env.values) \
                        if "backup_retention_period" in db.body else 1
                    days = as_number(raw)
                    if days is UNKNOWN or days >= MIN_DAYS:
                        continue
                    yield self._report(ctx, tf.path, db.attribute_line("backup_retention_period"),
                                       db.address, "backup_retention_period", days, env)
                    break

    def _report(self, ctx: RuleContext, path: str, line: int, resource: str, attr: str,
                days: float, env) -> Finding:
        if days <= 0:
            state = ctx.text("0（自動バックアップ無効・ポイントインタイムリストア不可）",
                             "0 (automated backups and point-in-time restore off)")
        else:
            state = ctx.text(f"{days:g} 日（{MIN_DAYS} 日未満）", f"{days:g} days (below {MIN_DAYS})")
        return self.finding(
            ctx, file=path, line=line, resource=resource, environment=env.name,
            message=ctx.text(f"`{resource}` の {attr} が {env_phrase(ctx.text, env)}で {state}",
                             f"`{resource}` has {attr} {state} in {env_phrase(ctx.text, env)}"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates
                    for _ in t.of_type("AWS::RDS::DBInstance", "AWS::RDS::DBCluster"))
        count += sum(1 for tf in ctx.project.terraform for _ in tf.resources("aws_db_instance", "aws_rds_cluster"))
        return ctx.text(f"RDS {count} 件のバックアップ保持期間を確認",
                        f"{count} RDS resources checked for backup retention") if count else None
