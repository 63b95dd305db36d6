"""MON008: log groups that keep every log line forever."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.parsing.cloudformation import CfnTemplate, line_of
from sre_agent.resolve import UNKNOWN, CfnEvaluator, as_bool, cfn_text
from sre_agent.iac.terraform import tf_container_definitions
from sre_agent.rules._alarms import AlarmIndex, Wired, alarm_index
from sre_agent.rules.base import Rule, RuleContext

LOG_GROUP_CFN = "AWS::Logs::LogGroup"
LOG_GROUP_TF = "aws_cloudwatch_log_group"
NO_VALUE = {"Ref": "AWS::NoValue"}
RDS_EXPORTS_CFN = {"AWS::RDS::DBInstance": ("instance", "DBInstanceIdentifier"),
                   "AWS::RDS::DBCluster": ("cluster", "DBClusterIdentifier")}
RDS_EXPORTS_TF = {"aws_db_instance": ("instance", "identifier"),
                  "aws_rds_cluster": ("cluster", "cluster_identifier")}


class LogGroupWithoutRetention(Rule):
    """
    ## What it does
    Reports CloudWatch Logs log groups that never expire:

    - `AWS::Logs::LogGroup` without `RetentionInDays` (also when an `!If` selects
      `AWS::NoValue` in an environment);
    - `aws_cloudwatch_log_group` without `retention_in_days`, or with `retention_in_days = 0`
      (0 means "never expire");
    - ECS container definitions whose `awslogs` driver creates the group itself
      (`awslogs-create-group: "true"`) for a group that no template or Terraform file of the
      project defines: a group created that way has no retention. Reported on the task
      definition;
    - RDS instances and clusters exporting logs (`EnableCloudwatchLogsExports`,
      `enabled_cloudwatch_logs_exports`) whose target groups
      (`/aws/rds/instance/<id>/<log>`, `/aws/rds/cluster/<id>/<log>`) are not declared in the
      project: RDS creates them without retention. Identifiers that cannot be evaluated are
      not reported.

    ## Why is this bad
    Log storage grows for the life of the system and is billed every month
    (USD 0.033/GB-month in Tokyo), usually unnoticed until it dominates the bill; logs with
    personal data are also kept longer than any policy allows.

    ## Example
    ```yaml
    AppLogGroup:
      Type: AWS::Logs::LogGroup
      Properties:
        LogGroupName: /ecs/juchu-prd/app
    ```

    ## Use instead
    ```yaml
        RetentionInDays: !If [IsProduction, 90, 30]
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html#SettingLogRetention
    - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html
    """

    id = "SRE-MON-008"
    name = "log-group-without-retention"
    perspective = Perspective.MONITORING
    severity = Severity.WARNING
    equivalents = ("checkov:CKV_AWS_66",)
    title_ja = "保持期間のないロググループ"
    title_en = "Log group without retention"
    passed_ja = "ロググループに保持期間を設定済み"
    passed_en = "Log groups have a retention period"
    fix_ja = "RetentionInDays（retention_in_days）を設定する（例: 本番 90 日、検証 30 日）"
    fix_en = "Set RetentionInDays (retention_in_days), e.g. 90 days in production, 30 elsewhere"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        index = alarm_index(ctx.project)
        for template in ctx.project.templates:
            for group in template.of_type(LOG_GROUP_CFN):
                env = self._cfn_unbounded(index, template, group.properties)
                if env is UNKNOWN:
                    continue
                yield self._group(ctx, template.path, group.property_line("RetentionInDays"),
                                  group.logical_id, env)
        for tf in ctx.project.terraform:
            for block in tf.resources(LOG_GROUP_TF):
                if "retention_in_days" not in block.body:
                    yield self._group(ctx, tf.path, block.line, block.address, None)
                elif block.get("retention_in_days") == 0:
                    yield self._group(ctx, tf.path, block.attribute_line("retention_in_days"),
                                      block.address, None, zero=True)
        yield from self._implicit_groups(ctx, index)
        yield from self._rds_log_exports(ctx, index)

    def _cfn_unbounded(self, index: AlarmIndex, template: CfnTemplate, props: dict) -> Any:
        """None when RetentionInDays is absent, an environment name when an `!If` removes it
        there, UNKNOWN when retention is set (or cannot be told)."""
        if "RetentionInDays" not in props:
            return None
        raw = props["RetentionInDays"]
        if raw == NO_VALUE:
            return None
        if isinstance(raw, dict) and isinstance(raw.get("Fn::If"), list) and len(raw["Fn::If"]) == 3:
            condition, when_true, when_false = raw["Fn::If"]
            if NO_VALUE not in (when_true, when_false):
                return UNKNOWN
            for ctx in index.cfn.contexts(template):
                chosen = CfnEvaluator(template, ctx).condition(condition)
                if chosen is not UNKNOWN and (when_true if chosen else when_false) == NO_VALUE:
                    return ctx.name
        return UNKNOWN

    def _group(self, ctx: RuleContext, path: str, line: int, resource: str, env: str | None,
               zero: bool = False) -> Finding:
        where = ctx.text(f"（{env} 環境）" if env else "", f" in {env}" if env else "")
        if zero:
            where = ctx.text("（retention_in_days = 0 は無期限）", " (retention_in_days = 0 means never expire)")
        return self.finding(
            ctx, file=path, line=line, resource=resource, environment=env,
            message=ctx.text(
                f"ロググループ `{resource}` に保持期間がない{where}。ログが無期限に蓄積し、保管料金が増え続ける",
                f"log group `{resource}` has no retention{where}: logs are kept forever and the "
                "storage bill grows without bound"))

    # --- groups created by the awslogs driver ---

    def _implicit_groups(self, ctx: RuleContext, index: AlarmIndex) -> Iterator[Finding]:
        declared = self._declared_names(index)
        for template in ctx.project.templates:
            for task in template.of_type("AWS::ECS::TaskDefinition"):
                containers = task.properties.get("ContainerDefinitions")
                for container in containers if isinstance(containers, list) else []:
                    options = _options(container, "LogConfiguration", "Options")
                    key = next((k for k in options if k == "awslogs-create-group"), None)
                    if key is None or as_bool(options[key]) is not True:
                        continue
                    group = options.get("awslogs-group")
                    managed = index.cfn.resolve(template, group)
                    if isinstance(managed, Wired) and managed.type == LOG_GROUP_CFN:
                        continue
                    names = {cfn_text(template, c, group) for c in index.cfn.contexts(template)}
                    if UNKNOWN in names or names & declared:
                        continue
                    yield self._implicit(ctx, template.path, line_of(key) or task.line,
                                         task.logical_id, sorted(names)[0])
        for tf in ctx.project.terraform:
            for task in tf.resources("aws_ecs_task_definition"):
                containers = tf_container_definitions(task)
                for container in containers if isinstance(containers, list) else []:
                    options = _options(container, "logConfiguration", "options")
                    if as_bool(options.get("awslogs-create-group")) is not True:
                        continue
                    group = options.get("awslogs-group")
                    if not isinstance(group, str) or "${aws_cloudwatch_log_group." in group:
                        continue
                    names = {index.tf.interpolate(group, c.values) for c in index.tf.variable_sets}
                    if UNKNOWN in names or names & declared:
                        continue
                    line = next((n for n in range(task.line, task.end_line + 1)
                                 if "awslogs-create-group" in tf.lines[n - 1]), task.line)
                    yield self._implicit(ctx, tf.path, line, task.address, sorted(names)[0])

    # --- groups created by RDS log exports ---

    def _rds_log_exports(self, ctx: RuleContext, index: AlarmIndex) -> Iterator[Finding]:
        """RDS creates `/aws/rds/instance|cluster/<id>/<log>` on first export, without
        retention, unless the group already exists (declared in IaC under that name)."""
        declared = self._declared_names(index)
        for template in ctx.project.templates:
            for db in template.of_type(*RDS_EXPORTS_CFN):
                kind, id_prop = RDS_EXPORTS_CFN[db.type]
                logs = db.properties.get("EnableCloudwatchLogsExports")
                logs = [x for x in logs if isinstance(x, str)] if isinstance(logs, list) else []
                if not logs or (db.type == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in db.properties):
                    continue
                node = db.properties.get(id_prop)
                ids = {cfn_text(template, c, node) for c in index.cfn.contexts(template)} \
                    if node is not None else {None}
                missing = self._missing_rds_groups(kind, ids, logs, declared)
                if missing:
                    yield self._rds(ctx, template.path, db.property_line("EnableCloudwatchLogsExports"),
                                    db.logical_id, missing)
        for tf in ctx.project.terraform:
            for db in tf.resources(*RDS_EXPORTS_TF):
                kind, id_attr = RDS_EXPORTS_TF[db.type]
                logs = db.get("enabled_cloudwatch_logs_exports")
                logs = [x for x in logs if isinstance(x, str)] if isinstance(logs, list) else []
                if not logs or (db.type == "aws_db_instance" and "cluster_identifier" in db.body):
                    continue
                raw = db.get(id_attr)
                ids = {index.tf.interpolate(raw, c.values) if isinstance(raw, str) else UNKNOWN
                       for c in index.tf.variable_sets} if raw is not None else {None}
                missing = self._missing_rds_groups(kind, ids, logs, declared)
                if missing:
                    yield self._rds(ctx, tf.path, db.attribute_line("enabled_cloudwatch_logs_exports"),
                                    db.address, missing)

    @staticmethod
    def _missing_rds_groups(kind: str, ids: set, logs: list[str], declared: set[str]) -> list[str]:
        if UNKNOWN in ids:
            return []
        missing = []
        for identifier in sorted(ids, key=str):
            for log in logs:
                name = f"/aws/rds/{kind}/{identifier.lower() if identifier else '<auto-generated-id>'}/{log}"
                if identifier is None or name not in declared:
                    missing.append(name)
        return list(dict.fromkeys(missing))

    def _rds(self, ctx: RuleContext, path: str, line: int, resource: str, groups: list[str]) -> Finding:
        shown = ", ".join(f"`{g}`" for g in groups[:3]) + (" ほか" if len(groups) > 3 else "")
        return self.finding(
            ctx, file=path, line=line, resource=resource,
            message=ctx.text(
                f"`{resource}` のログエクスポートが RDS にロググループ {shown} を自動作成させる。"
                "自動作成されたロググループには保持期間がなく、ログが無期限に蓄積する",
                f"`{resource}` exports logs to {shown.replace(' ほか', ' and more')}, which RDS "
                "creates without retention: the logs grow forever"),
            remediation=ctx.text(
                "エクスポート先のロググループ（/aws/rds/instance/<DB識別子>/<ログ種別>）を保持期間付きで事前に定義し、DB から DependsOn する",
                "Declare the export log groups (/aws/rds/instance/<db id>/<log type>) with a retention "
                "beforehand and make the DB depend on them"))

    def _declared_names(self, index: AlarmIndex) -> set[str]:
        names: set[str] = set()
        for template in index.project.templates:
            for group in template.of_type(LOG_GROUP_CFN):
                node = group.properties.get("LogGroupName")
                names |= {v for v in (cfn_text(template, c, node) for c in index.cfn.contexts(template))
                          if v is not UNKNOWN} if node is not None else set()
        for tf in index.project.terraform:
            for block in tf.resources(LOG_GROUP_TF):
                raw = block.get("name")
                if isinstance(raw, str):
                    names |= {v for v in (index.tf.interpolate(raw, c.values) for c in index.tf.variable_sets)
                              if v is not UNKNOWN}
        return names

    def _implicit(self, ctx: RuleContext, path: str, line: int, resource: str, group: str) -> Finding:
        return self.finding(
            ctx, file=path, line=line, resource=resource,
            message=ctx.text(
                f"`{resource}` の awslogs-create-group: true がロググループ `{group}` を自動作成する。"
                "自動作成されたロググループには保持期間がなく、ログが無期限に蓄積する",
                f"`{resource}` lets the awslogs driver create `{group}` (awslogs-create-group: true); "
                "a group created that way has no retention and grows forever"),
            remediation=ctx.text(
                "ロググループを IaC で保持期間付きで定義し、awslogs-group にその参照を渡す（awslogs-create-group は削除）",
                "Define the log group in IaC with a retention and pass its reference as awslogs-group "
                "(drop awslogs-create-group)"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates for _ in t.of_type(LOG_GROUP_CFN))
        count += sum(1 for tf in ctx.project.terraform for _ in tf.resources(LOG_GROUP_TF))
        return ctx.text(f"ロググループ {count} 件を確認", f"{count} log groups checked") if count else None


def _options(container: Any, config_key: str, options_key: str) -> dict:
    config = container.get(config_key) if isinstance(container, dict) else None
    options = config.get(options_key) if isinstance(config, dict) else None
    return options if isinstance(options, dict) else {}
