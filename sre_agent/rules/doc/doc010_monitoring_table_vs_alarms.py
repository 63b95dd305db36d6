"""DOC010: the monitoring table of the design documents against the alarms the code defines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator, NamedTuple

from sre_agent.docfacts import facts_of
from sre_agent.docfacts.extract import COMPONENTS, ERROR_RATE_WORDS, component_of, has
from sre_agent.docfacts.facts import MonitoringRow
from sre_agent.docfacts.values import fold
from sre_agent.environments import is_prod
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN, CfnEvaluator, as_number, tf_value
from sre_agent.rules._alarms import Alarm, AlarmIndex, Wired, alarm_index, is_percent, prod_value, wired_resource
from sre_agent.rules.base import Rule, RuleContext

NAMESPACES = {"alb": ("AWS/ApplicationELB",), "ecs": ("AWS/ECS", "ECS/ContainerInsights"),
              "rds": ("AWS/RDS",), "elasticache": ("AWS/ElastiCache",), "nat": ("AWS/NATGateway",),
              "apigateway": ("AWS/ApiGateway",)}
# The resources that publish a namespace's metrics: a row about a service the code does not build
# (an API Gateway the design dropped) is not an alarm the code forgot.
PUBLISHERS = {
    "AWS/ApplicationELB": ("AWS::ElasticLoadBalancingV2::LoadBalancer", "aws_lb", "aws_alb"),
    "AWS/ECS": ("AWS::ECS::Service", "AWS::ECS::Cluster", "aws_ecs_service", "aws_ecs_cluster"),
    "ECS/ContainerInsights": ("AWS::ECS::Service", "AWS::ECS::Cluster", "aws_ecs_service", "aws_ecs_cluster"),
    "AWS/RDS": ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "aws_db_instance", "aws_rds_cluster"),
    "AWS/ElastiCache": ("AWS::ElastiCache::ReplicationGroup", "AWS::ElastiCache::CacheCluster",
                        "aws_elasticache_replication_group", "aws_elasticache_cluster"),
    "AWS/NATGateway": ("AWS::EC2::NatGateway", "aws_nat_gateway"),
    "AWS/ApiGateway": ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api", "AWS::Serverless::Api",
                       "AWS::Serverless::HttpApi", "aws_api_gateway_rest_api", "aws_apigatewayv2_api"),
}
API_GATEWAY_WORDS = ("api gateway", "apigateway", "api gw", "api-gateway")
# names as the console or a hurried author writes them → the metric CloudWatch publishes
SPELLINGS = {"RunningTasksCount": "RunningTaskCount", "DesiredTasksCount": "DesiredTaskCount"}
# A threshold cell that asks for no alarm: `-`, 空, ダッシュボードのみ, 参考値 (graphed, not alarmed)
NO_ALARM = ("ダッシュボード", "dashboard", "グラフ", "可視化", "参考", "記録のみ", "監視のみ", "なし", "不要",
            "n/a", "対象外")
# Japanese and English ways a monitoring table names a metric; the first match wins, so the
# more specific words (異常ホスト before 正常ホスト, 空きメモリ before メモリ) come first.
ALIASES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("unhealthyhost", "異常ホスト", "非正常ホスト", "unhealthy host"), ("UnHealthyHostCount",)),
    (("healthyhost", "正常ホスト", "healthy host", "ヘルシーホスト"), ("HealthyHostCount",)),
    (("5xx",), ("HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count")),
    (("4xx",), ("HTTPCode_Target_4XX_Count", "HTTPCode_ELB_4XX_Count")),
    (("応答時間", "レスポンスタイム", "レスポンス時間", "レイテンシ", "response time", "latency"),
     ("TargetResponseTime",)),
    (("リクエスト数", "request count"), ("RequestCount",)),
    (("空きメモリ", "freeable memory", "空きメモリー"), ("FreeableMemory",)),
    (("空きストレージ", "空き容量", "ストレージ空き", "free storage", "ディスク空き"), ("FreeStorageSpace",)),
    (("レプリカラグ", "レプリケーション遅延", "replica lag"), ("ReplicaLag", "AuroraReplicaLag")),
    (("接続数", "コネクション数", "connections"), ("DatabaseConnections", "CurrConnections")),
    (("エビクション", "eviction"), ("Evictions",)),
    (("メモリ使用率", "メモリー使用率", "memory utilization", "memory usage"),
     ("MemoryUtilization", "DatabaseMemoryUsagePercentage", "MemoryUtilized")),
    (("cpu",), ("CPUUtilization", "EngineCPUUtilization", "CpuUtilized")),
)
# CamelCase CloudWatch names, also those that start with a digit (`4XXError`, `5XXError`)
CLOUDWATCH_NAME = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z0-9][A-Za-z0-9_]*[A-Za-z][A-Za-z0-9_]*")
BACKTICKED = re.compile(r"`([A-Za-z0-9][A-Za-z0-9_]*)`")
# a number that is not part of a token (`p95`, `v2`): 80%, 500ms, 10GiB, 2
THRESHOLD = re.compile(r"(?<![A-Za-z0-9_.])(\d+(?:\.\d+)?)\s*(%|ms|ミリ秒|秒|sec|s\b|分|min\b|gib|gb|mib|mb|kib|kb)?",
                       re.IGNORECASE)
# thresholds relative to a baseline say nothing a static alarm threshold can be compared with
RELATIVE = ("倍", "前週", "前日", "平常", "平均比", "異常検知", "anomaly", "ベースライン", "baseline",
            "標準偏差", "σ")
ABOVE = ("超", "以上", "を超え", "より大きい", ">", "≥", "above", "over", "or more")
BELOW = ("未満", "以下", "を下回", "より小さい", "<", "≤", "below", "under", "less")
BYTES = frozenset({"FreeStorageSpace", "FreeableMemory", "FreeLocalStorage", "BytesUsedForCache"})
SECONDS = frozenset({"TargetResponseTime", "ReplicaLag", "ReadLatency", "WriteLatency", "Latency"})
MILLISECONDS = frozenset({"AuroraReplicaLag", "IntegrationLatency", "Duration"})
MILLISECOND_NAMESPACES = frozenset({"AWS/ApiGateway", "AWS/Lambda"})  # their `Latency` is in ms
TIME_UNITS = {"ms": 0.001, "ミリ秒": 0.001, "秒": 1.0, "sec": 1.0, "s": 1.0, "分": 60.0, "min": 60.0}
BYTE_UNITS = {"kib": (1024,), "mib": (1024 ** 2,), "gib": (1024 ** 3,),
              "kb": (1000, 1024), "mb": (1000 ** 2, 1024 ** 2), "gb": (1000 ** 3, 1024 ** 3)}


class Differing(NamedTuple):
    """An alarm on a row's metric whose production threshold or direction is not the row's."""
    alarm: Alarm
    metric: str
    threshold: float
    direction: str | None
    stricter: bool  # same direction, fires before the documented value


@dataclass(frozen=True)
class DocThreshold:
    value: float
    unit: str
    direction: str | None  # "above" | "below"
    per_minute: bool


def parse_threshold(text: str) -> DocThreshold | None:
    """`80%超`, `10件以上/分`, `500ms超`, `10GiB未満`, `2未満（stg は 1未満）` — the first value."""
    folded = fold(text)
    match = THRESHOLD.search(folded)
    if match is None or has(folded, RELATIVE):
        return None
    after = folded[match.end():match.end() + 12]
    direction = "above" if has(after, ABOVE) else "below" if has(after, BELOW) else None
    per_minute = has(folded, ("/分", "毎分", "per minute", "/min"))
    return DocThreshold(float(match.group(1)), (match.group(2) or "").lower(), direction, per_minute)


def is_alarm_requirement(threshold: str) -> bool:
    """A threshold with a number (or a relative one: 平常時の3倍): `-`, 空, ダッシュボードのみ are not."""
    folded = fold(threshold).casefold()
    if has(folded, RELATIVE):
        return True
    return bool(re.search(r"\d", folded)) and not has(folded, NO_ALARM)


def metric_names(row: MonitoringRow) -> tuple[str, ...]:
    """CloudWatch metric names a row means: written out (`HTTPCode_Target_5XX_Count`, `4XXError`,
    `Latency` in backticks), or by alias."""
    written = tuple(m for m in CLOUDWATCH_NAME.findall(row.metric)
                    if sum(c.isupper() for c in m) >= 2 and any(c.islower() for c in m))
    if written:
        return tuple(SPELLINGS.get(m, m) for m in written)
    quoted = tuple(m for m in BACKTICKED.findall(row.metric) if m[0].isupper() and any(c.islower() for c in m))
    if quoted:
        return quoted
    lowered = fold(row.metric).casefold()
    for words, names in ALIASES:
        if any(w.casefold() in lowered for w in words):
            return names
    return ()


def row_namespaces(row: MonitoringRow) -> tuple[str, ...] | None:
    """The namespaces of the component the metric cell names, else the one the row's own section
    names (`#### RDS メトリクス`, `### API Gateway`); None when neither says (any namespace)."""
    component = None
    for text in (row.metric, row.name):  # `5XXError` with the alarm name `API-Gateway-5xx-High`
        component = "apigateway" if has(text, API_GATEWAY_WORDS) else component_of(text)
        if component is not None:
            break
    if component is None and row.section:
        title = row.section.split(" / ")[-1]
        lowered = fold(title).casefold()
        named = {name for name, words in COMPONENTS
                 if any(re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", lowered) for w in words)}
        if has(title, API_GATEWAY_WORDS):
            named.add("apigateway")
        component = named.pop() if len(named) == 1 else None
    return NAMESPACES.get(component or "")


def native_values(threshold: DocThreshold, metric: str, namespace: str | None = None) -> list[float]:
    """The documented value in the metric's own unit (bytes, seconds, …); alternatives for GB/MB.
    Times are converted both ways (`1000ms` ⇔ 1 for a metric in seconds, `1秒` ⇔ 1000 in ms)."""
    value, unit = threshold.value, threshold.unit
    if metric in BYTES and unit in BYTE_UNITS:
        return [value * factor for factor in BYTE_UNITS[unit]]
    if unit in TIME_UNITS and (metric in SECONDS or metric in MILLISECONDS):
        seconds = value * TIME_UNITS[unit]
        in_ms = metric in MILLISECONDS or (metric == "Latency" and namespace in MILLISECOND_NAMESPACES)
        return [seconds * 1000 if in_ms else seconds]
    return [value]


def percent_like(namespace: str | None, metric: str) -> bool:
    return is_percent(namespace, metric) or metric.endswith(("Utilization", "Percentage", "Percent"))


def percent_base(index: AlarmIndex, alarm: Alarm, metric: str) -> float | None:
    """What 100 % means for a count or a byte metric of one DB instance: `max_connections` of its
    DB parameter group for DatabaseConnections, `AllocatedStorage` (GiB) for FreeStorageSpace.
    None when the alarm's instance or the value cannot be resolved (a formula, a default group)."""
    if metric not in ("DatabaseConnections", "FreeStorageSpace"):
        return None
    for watched in alarm.metrics:
        if watched.name != metric or "DBInstanceIdentifier" not in watched.dimensions:
            continue
        db = wired_resource(index, alarm, "DBInstanceIdentifier", watched.dimensions["DBInstanceIdentifier"])
        if not isinstance(db, Wired):
            return None
        if db.type == "AWS::RDS::DBInstance":
            return _cfn_base(index, db, metric)
        if db.type == "aws_db_instance":
            return _tf_base(index, db, metric)
    return None


def _prod_only(values: list) -> float | None:
    numbers = {as_number(v) for v in values}
    return numbers.pop() if len(numbers) == 1 and UNKNOWN not in numbers else None


def _cfn_base(index: AlarmIndex, db: Wired, metric: str) -> float | None:
    template = next((t for t in index.project.templates if t.path == db.file), None)
    resource = template.resources.get(db.resource) if template is not None else None
    if resource is None:
        return None
    contexts = index.cfn.contexts(template)
    contexts = [c for c in contexts if c.name and is_prod(c.name)] or contexts
    if metric == "FreeStorageSpace":
        node = resource.properties.get("AllocatedStorage")
        size = _prod_only([CfnEvaluator(template, c).value(node) for c in contexts]) if node is not None else None
        return size * 1024 ** 3 if size else None
    group = resource.properties.get("DBParameterGroupName")
    name = group.get("Ref") if isinstance(group, dict) else None
    found = template.resources.get(name) if isinstance(name, str) else None
    if found is None or found.type != "AWS::RDS::DBParameterGroup":
        return None
    parameters = found.properties.get("Parameters")
    node = parameters.get("max_connections") if isinstance(parameters, dict) else None
    return _prod_only([CfnEvaluator(template, c).value(node) for c in contexts]) if node is not None else None


def _tf_base(index: AlarmIndex, db: Wired, metric: str) -> float | None:
    block = index.tf.blocks.get(db.resource)
    if block is None:
        return None
    contexts = index.tf.variable_sets
    contexts = [c for c in contexts if c.name and is_prod(c.name)] or contexts
    if metric == "FreeStorageSpace":
        size = _prod_only([tf_value(block, "allocated_storage", c.values) for c in contexts]) \
            if "allocated_storage" in block.body else None
        return size * 1024 ** 3 if size else None
    ref = block.get("parameter_group_name")
    m = re.fullmatch(r"\$\{\s*(aws_db_parameter_group\.[A-Za-z0-9_-]+)\.(?:name|id)\s*\}", ref) \
        if isinstance(ref, str) else None
    group = index.tf.blocks.get(m.group(1)) if m else None
    if group is None:
        return None
    for parameter in group.body.get("parameter") or []:
        if isinstance(parameter, dict) and parameter.get("name") == "max_connections":
            return _prod_only([parameter.get("value")])
    return None


def direction_of(operator: object) -> str | None:
    if not isinstance(operator, str) or "LowerOrGreater" in operator or "Upper" in operator:
        return None
    return "above" if operator.startswith("Greater") else "below" if operator.startswith("Less") else None


GENERIC_QUALIFIERS = frozenset({
    "service", "services", "ecs", "rds", "alb", "elb", "monitoring", "metrics", "metric", "alarm",
    "alarms", "cloudwatch", "aws", "db", "database", "api", "app", "application", "system", "infra",
    "common", "all", "the", "and", "for", "cpu", "memory"})


def _qualifiers(row) -> set[str]:
    """The service a row's own heading names (`#### Admin Service` → admin)."""
    title = row.section.split(" / ")[-1] if row.section else ""
    return {w for w in re.findall(r"[a-z][a-z0-9]{2,}", title.casefold()) if w not in GENERIC_QUALIFIERS}


def _identity(alarm) -> str:
    raw = alarm.raw("AlarmName", "alarm_name")
    return re.sub(r"[^a-z0-9]", "", f"{alarm.resource} {raw if isinstance(raw, str) else raw!r}".casefold())


RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def _one_per_place(ctx: RuleContext, found: Iterable[tuple[tuple, Finding | None]]) -> Iterator[Finding]:
    """Design documents are often copied into several folders, and list warning and critical
    rows: one finding per alarm (or per requirement), naming the rest; none for an alarm that
    some documented row agrees with (None in its group)."""
    groups: dict[tuple, list[Finding | None]] = {}
    for key, finding in found:
        groups.setdefault(key, []).append(finding)
    for entries in groups.values():
        if None in entries:
            continue  # some documented row agrees with this alarm
        findings = sorted((f for f in entries if f is not None), key=lambda f: RANK[f.severity])
        first = findings[0]
        if len(findings) > 1:
            if first.file and first.file.endswith((".md", ".markdown")):
                others = [f"{f.file}:{f.line}" for f in findings[1:]]
            else:
                others = [m.group(1) for f in findings[1:] if (m := re.search(r"（([^（）]+:\d+)）", f.message))]
            shown = ", ".join(others[:3]) + (f" ほか {len(others) - 3} 件" if len(others) > 3 else "")
            first.message += ctx.text(f"（同じ指摘: {shown}）", f" (also: {shown})") if shown else ""
        yield first


# Metrics only one kind of resource publishes (by name, whatever the row's heading says).
METRIC_PUBLISHERS = {
    **dict.fromkeys(("BurstCreditBalance", "PercentIOLimit", "ClientConnections", "PermittedThroughput",
                     "MeteredIOBytes", "StorageBytes"), ("AWS::EFS::FileSystem", "aws_efs_file_system")),
    **dict.fromkeys(("BytesDropCountBlackhole", "PacketDropCountNoRoute", "PacketDropCountBlackhole",
                     "BytesDropCountNoRoute"), ("AWS::EC2::TransitGateway", "aws_ec2_transit_gateway")),
}


def _published(project, names: tuple[str, ...]) -> bool:
    types = {t for name in names for t in METRIC_PUBLISHERS.get(name, ())}
    if not types or any(name not in METRIC_PUBLISHERS for name in names):
        return True
    return any(True for t in project.templates for _ in t.of_type(*types)) or any(
        True for tf in project.terraform for _ in tf.resources(*types))


def _has_read_replica(project) -> bool:
    return any("SourceDBInstanceIdentifier" in r.properties
               for t in project.templates for r in t.of_type("AWS::RDS::DBInstance")) or any(
        "replicate_source_db" in b.body for tf in project.terraform for b in tf.resources("aws_db_instance"))


# Metrics that count traffic, not failures: a missing alarm on them is a capacity question.
TRAFFIC_VOLUME = frozenset({
    "RequestCount", "BytesIn", "BytesOut", "ProcessedBytes", "NetworkIn", "NetworkOut", "NetworkBytesIn",
    "NetworkBytesOut", "NetworkPacketsIn", "NetworkPacketsOut", "PacketsIn", "PacketsOut",
    "BytesInFromSource", "BytesInFromDestination", "BytesOutToSource", "BytesOutToDestination",
    "NewConnectionCount", "Count"})


def _same_signal(entry: tuple, row: MonitoringRow, names: tuple[str, ...],
                 namespaces: tuple[str, ...] | None) -> bool:
    """A row of another document about the same metric of the same service (two rows of one
    table — a 5XX count and a 5XX rate — are two alarms the design asks for, not a drift)."""
    other, other_names, other_namespaces, _ = entry
    return (other.where.file != row.where.file and bool(set(other_names) & set(names))
            and (namespaces is None or other_namespaces is None or bool(set(namespaces) & set(other_namespaces)))
            and _qualifiers(other) == _qualifiers(row))


def _service_qualified(rows, index) -> bool:
    """True when the alarms carry the services' names, so a row of one service's table is
    compared with that service's alarms only (and, if it has none, reported as missing)."""
    words = {w for row, _, _ in rows for w in _qualifiers(row)}
    return any(w in _identity(a) for a in index.alarms for w in words)


class MonitoringTableVsAlarms(Rule):
    """
    ## What it does
    Reads each row of the documents' monitoring tables (メトリクス / 監視項目 with 閾値) and
    looks for the CloudWatch alarm that implements it, CloudFormation or Terraform: same metric
    name (written out, or named in Japanese: CPU使用率, 空きストレージ, 正常ホスト数, 5XXエラー,
    応答時間 …) in the namespace of the component the row names (ALB, ECS, RDS, ElastiCache).
    It reports a row with no such alarm (at the document line), and an alarm whose production
    threshold or direction differs from the documented one (at the alarm's `Threshold`, citing
    the document line). Units are converted to the metric's own (500ms → 0.5 s, 10GiB →
    10737418240 bytes, `10件/分` on a 5-minute period → 50). Error-rate rows need a metric-math
    alarm on the 5XX count (their threshold is MON009's job). Rows it cannot map to a metric,
    rows whose ツール is not CloudWatch, staging rows (an 環境 column or a ステージング section),
    relative thresholds (平常時の2倍, anomaly detection), a metric named without its component
    when alarms on it exist in several namespaces, and thresholds it cannot resolve are left
    alone, and so are Auto Scaling tables (scale-out thresholds are not alarms) and ReplicaLag
    when the code builds no read replica. A row under a service's own heading (`#### Admin
    Service`) is compared with that service's alarms when the alarm names carry the services'
    names. When the code has no alarm at all, the rows are reported once, together. The same
    missing alarm asked for in several documents (a database design's `DatabaseConnections >
    80` and the monitoring design's row under `### RDS`) is one finding naming the other rows.
    Deep mode only.

    Reported as info, not as a warning: an alarm stricter than its row (same direction, it
    fires before the documented value: the document has drifted, nothing goes unwatched); a
    missing alarm for a row the design itself ranks Info (重要度 column, or `SNS通知（Info）`),
    or on a traffic-volume metric (RequestCount, BytesIn, ProcessedBytes …: a capacity signal,
    not a failure); and a missing alarm when a row of another document on the same metric is
    what the code implements (要件定義書 says 5xx 率 5 %, the 監視設計 refines it to 件数 > 10 and the
    alarm follows that: the documents disagree with each other, and the finding says which);
    and a missing UnHealthyHostCount alarm when a HealthyHostCount-too-low alarm exists (the
    total outage pages someone; only a partial failure goes unreported).

    ## Why is this bad
    The monitoring design is what the operations team believes is watched. A row with no alarm
    behind it is an outage nobody is paged for; a threshold that differs (70 % in the design,
    80 % in the code) means the runbooks, capacity plans and the customer's SLA report were
    written for an alarm that does not exist.

    ## Example
    05_監視設計.md: `| ECS CPUUtilization | 80%超 | 5分 × 3回 |` — no alarm on AWS/ECS
    CPUUtilization in any template; `| RDS CPUUtilization | 70%超 |` against `Threshold: 80`.

    ## Use instead
    Define the alarm for every row, with the documented threshold — or correct the document
    when the code is right — so that design and code say the same thing.

    ## References
    - https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Best_Practice_Recommended_Alarms_AWS_Services.html
    - standards/operations.md §5 設計書と SLO
    """

    id = "SRE-DOC-010"
    name = "monitoring-table-differs-from-alarms"
    perspective = Perspective.MONITORING
    severity = Severity.WARNING
    title_ja = "監視設計のアラームがコードにない・閾値が異なる"
    title_en = "Documented alarm missing from the code, or with another threshold"
    passed_ja = "監視設計の各項目に同じ閾値のアラームあり"
    passed_en = "Every documented monitoring row has an alarm with the same threshold"
    fix_ja = "監視設計の項目ごとにアラームを定義し、閾値を設計書と一致させる（コードが正しければ設計書を直す）"
    fix_en = "Define an alarm per documented row with the documented threshold (or fix the document)"

    def rows(self, ctx: RuleContext) -> Iterator[tuple[MonitoringRow, tuple[str, ...], tuple[str, ...] | None]]:
        """(row, metric names, namespaces or None for any) for the rows that name a metric."""
        for row in facts_of(ctx.project).monitoring:
            if row.tool and not has(row.tool, ("cloudwatch", "aws")) or not is_prod(row.environment):
                continue  # another tool's alarm, or a staging table compared with prod values
            if not is_alarm_requirement(row.threshold):
                continue  # `-` / ダッシュボードのみ: graphed, not alarmed
            names = metric_names(row)
            if names:
                yield row, names, row_namespaces(row)

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        if ctx.mode == "light" or not (ctx.project.templates or ctx.project.terraform):
            return
        rows = list(self.rows(ctx))
        if not rows:
            return
        index = alarm_index(ctx.project)
        if not index.alarms:
            yield self.none_defined(ctx, [row for row, _, _ in rows])
            return
        for finding in _one_per_place(ctx, self._findings(ctx, rows, index)):
            if finding.severity is Severity.INFO:
                self.accepted = True  # no ✅ saying every row has the same threshold
            yield finding

    def _findings(self, ctx: RuleContext, rows: list, index: AlarmIndex) -> Iterator[tuple[tuple, Finding | None]]:
        """(group, finding): a missing alarm is grouped by what the rows ask for (the same row
        copied into several documents), a differing threshold by the alarm it is reported at."""
        qualified = _service_qualified(rows, index)
        agreed: list[tuple[MonitoringRow, tuple[str, ...], tuple[str, ...] | None, Alarm]] = []
        missing: list[tuple[tuple, MonitoringRow, tuple[str, ...], tuple[str, ...] | None, bool]] = []
        for row, names, namespaces in rows:
            if has(row.metric, ("メトリクスフィルタ", "メトリクスフィルター", "metric filter")):
                continue  # a log metric filter's custom metric: named by the filter, not by AWS
            if not _published(ctx.project, names):
                continue  # EFS / Transit Gateway metrics for a resource the code does not build
            if "ReplicaLag" in names and not _has_read_replica(ctx.project):
                continue  # only a read replica publishes it; the design row, not the code, is off
            if namespaces and not self.built(ctx, index, namespaces):
                continue  # the design's API Gateway is neither built nor watched by this code
            error_rate = has(row.metric, ERROR_RATE_WORDS) or ("率" in row.metric and "5xx" in row.metric.casefold())
            # an error rate needs metric math; any other row may be a plain or an anomaly alarm
            matching = [a for a in index.alarms if (a.math or not error_rate) and any(
                m.name in names and (namespaces is None or m.namespace in namespaces) for m in a.metrics)]
            plain = [a for a in matching if not a.math]
            words = _qualifiers(row)
            if qualified and words and matching:  # `#### Admin Service` rows vs the Admin alarms only
                matching = [a for a in matching if any(w in _identity(a) for w in words)]
                plain = [a for a in matching if not a.math]
            if not matching:
                key = ("missing", names, namespaces, re.sub(r"\s", "", row.threshold), " ".join(sorted(words)))
                missing.append((key, row, names, namespaces, error_rate))
            elif not error_rate and plain:
                verdict = self.judge(index, row, names, plain)
                if isinstance(verdict, list) and verdict:
                    finding = self.differs(ctx, row, verdict)
                    yield ("differs", finding.file, finding.line), finding
                    continue
                if isinstance(verdict, Alarm):
                    agreed.append((row, names, namespaces, verdict))
                # the row agrees with an alarm (or cannot tell which): those alarms are fine
                for alarm in plain:
                    yield ("differs", alarm.file, alarm.attribute_line("Threshold", "threshold")), None
        # `DatabaseConnections > 80` in the database design (no component named) and under `### RDS`
        # in the monitoring design are one requirement: group the unnamed row with the named one
        named = [k for k, *_ in missing if k[2] is not None]
        healthy = [a for a in index.alarms if not a.math and any(
            m.name == "HealthyHostCount" for m in a.metrics) and direction_of(
            prod_value(index, a, "ComparisonOperator", "comparison_operator")) == "below"]
        for key, row, names, namespaces, error_rate in missing:
            if "UnHealthyHostCount" in names and healthy:
                yield key, self.complement(ctx, row, healthy[0])
                continue
            covered = next((entry for entry in agreed if _same_signal(entry, row, names, namespaces)), None)
            group = key if namespaces is not None else next(
                (k for k in named if set(k[1]) & set(names) and k[3:] == key[3:]), key)
            yield group, self.missing(ctx, row, names, namespaces, error_rate, covered)

    def built(self, ctx: RuleContext, index: AlarmIndex, namespaces: tuple[str, ...]) -> bool:
        """The code builds the service, or watches it (a monitoring stack apart from the resources)."""
        types = {t for ns in namespaces for t in PUBLISHERS.get(ns, ())}
        if not types or any(m.namespace in namespaces for a in index.alarms for m in a.metrics):
            return True
        return any(True for t in ctx.project.templates for _ in t.of_type(*types)) or any(
            True for tf in ctx.project.terraform for _ in tf.resources(*types))

    def missing(self, ctx: RuleContext, row: MonitoringRow, names: tuple[str, ...],
                namespaces: tuple[str, ...] | None, error_rate: bool,
                covered: tuple[MonitoringRow, tuple[str, ...], tuple[str, ...] | None, Alarm] | None = None) -> Finding:
        """At the document row. Info when the design itself ranks the row as informational, when
        the metric is a traffic volume (a capacity signal, not a failure), or when another
        documented row on the same metric is what the code's alarm implements (the documents
        disagree with each other; the signal is watched)."""
        watched = f"{namespaces[0] + ' ' if namespaces else ''}{names[0]}"
        if error_rate:
            watched = ctx.text(f"{watched} のメトリクス計算", f"metric math on {watched}")
        if _qualifiers(row):  # which service's row it is (`#### Admin Service`)
            watched = f"{row.section.split(' / ')[-1]}: {watched}"
        message = ctx.text(
            f"監視設計の「{row.metric}」（閾値 {row.threshold}）に対応するアラーム（{watched}）がテンプレートにない",
            f"The monitoring design lists '{row.metric}' ({row.threshold}) but no alarm on {watched} is defined")
        informational = True
        if covered is not None:
            other, _, _, alarm = covered
            message += ctx.text(
                f"。ただし同じメトリクスは別の設計（{other.where}）の「{other.metric} {other.threshold}」どおり"
                f" `{alarm.resource}` が監視している: 設計書どうしの閾値の定義が食い違う（どちらかに揃える）",
                f"; the same metric is watched by `{alarm.resource}` as {other.where} specifies "
                f"('{other.metric} {other.threshold}'): the documents disagree with each other (align them)")
        elif row.level == "info":
            message += ctx.text("（設計上の重要度は Info）", " (the design ranks it Info)")
        elif set(names) <= TRAFFIC_VOLUME:
            message += ctx.text("（トラフィック量の監視で、障害の検知ではない）",
                                " (a traffic-volume signal, not a failure signal)")
        else:
            informational = False
        return self.finding(ctx, file=row.where.file, line=row.where.line, message=message,
                            severity=Severity.INFO if informational else None)

    def complement(self, ctx: RuleContext, row: MonitoringRow, alarm: Alarm) -> Finding:
        """An UnHealthyHostCount row without its alarm while a HealthyHostCount-too-low alarm
        exists: a total outage pages someone; only a partial one (which the load balancer routes
        around while ECS replaces the task) goes unreported — info, not a gap in outage alerting."""
        return self.finding(ctx, file=row.where.file, line=row.where.line, severity=Severity.INFO, message=ctx.text(
            f"監視設計の「{row.metric}」（閾値 {row.threshold}）のアラームはないが、`{alarm.resource}`"
            "（HealthyHostCount が下回る）が全ターゲット停止を検知する。一部のタスクだけの異常は通知されない"
            "（タスク 1 つの構成なら同じ障害）",
            f"no alarm for '{row.metric}' ({row.threshold}), but `{alarm.resource}` (HealthyHostCount too low) "
            "catches every target failing; a partial failure is not reported (with one task it is the same failure)"))

    def judge(self, index: AlarmIndex, row: MonitoringRow, names: tuple[str, ...],
              alarms: list[Alarm]) -> Alarm | list[Differing] | None:
        """The alarm that implements the row, else the alarms on its metric that differ from it;
        None when the row cannot be compared (no parsable threshold, no known 100 %, `CPU使用率`
        with no component when RDS and ECS both have CPU alarms)."""
        documented = parse_threshold(row.threshold)
        if documented is None:
            return None
        if len({m.namespace for a in alarms for m in a.metrics if m.name in names}) > 1:
            return None  # `CPU使用率` with no component: RDS or ECS — cannot tell which to compare
        judged: list[Differing] = []
        for alarm in alarms:
            threshold = as_number(prod_value(index, alarm, "Threshold", "threshold"))
            if threshold is UNKNOWN or not isinstance(threshold, (int, float)):
                continue
            watched = next(m for m in alarm.metrics if m.name in names)
            metric = watched.name or ""
            wanted = native_values(documented, metric, watched.namespace)
            if documented.unit == "%" and not percent_like(watched.namespace, metric):
                # 接続数 80% / 空きストレージ 20%: a share of max_connections or AllocatedStorage
                base = percent_base(index, alarm, metric)
                if base is None:
                    return None  # 100 % is not known: nothing to compare the alarm's count or bytes with
                wanted = [documented.value / 100 * base]
            if documented.per_minute:
                period = as_number(prod_value(index, alarm, "Period", "period"))
                if isinstance(period, (int, float)) and period > 0:
                    wanted += [w * period / 60 for w in wanted]
            direction = direction_of(prod_value(index, alarm, "ComparisonOperator", "comparison_operator"))
            same_value = any(abs(threshold - w) <= 0.01 * max(abs(w), 1e-9) for w in wanted)
            same_direction = documented.direction is None or direction is None or direction == documented.direction
            if same_value and same_direction:
                return alarm
            # the same direction, but it fires before the documented value is reached
            stricter = same_direction and (direction or documented.direction) is not None and all(
                threshold < w if (direction or documented.direction) == "above" else threshold > w for w in wanted)
            judged.append(Differing(alarm, metric, threshold, direction, stricter))
        return judged

    def differs(self, ctx: RuleContext, row: MonitoringRow, judged: list[Differing]) -> Finding:
        """At the alarm's Threshold; info when the alarm is stricter than the document (it pages
        earlier than designed: the document has drifted, nothing goes unwatched)."""
        alarm, metric, threshold, direction, stricter = judged[0]
        value = f"{threshold:,.0f}（{threshold / 1024 ** 3:.3g} GiB）" if metric in BYTES else f"{threshold:g}"
        shown = {"above": ctx.text("（超）", " (above)"), "below": ctx.text("（未満）", " (below)")}.get(direction or "", "")
        message = ctx.text(
            f"`{alarm.resource}` の閾値 {value}{shown}が監視設計（{row.where}）の「{row.metric} {row.threshold}」と異なる",
            f"`{alarm.resource}` alerts at {value}{shown}, but the monitoring design at {row.where} says "
            f"'{row.metric} {row.threshold}'")
        if stricter:
            message += ctx.text("。設計より早く通知する側の差なので監視の抜けではない（設計書を実装に合わせる）",
                                "; it alerts earlier than designed, so nothing goes unwatched (align the document)")
        return self.finding(ctx, file=alarm.file, line=alarm.attribute_line("Threshold", "threshold"),
                            resource=alarm.resource, message=message,
                            severity=Severity.INFO if stricter or row.level == "info" else None)

    def none_defined(self, ctx: RuleContext, rows: list[MonitoringRow]) -> Finding:
        listed = ", ".join(f"「{r.metric}」" if ctx.lang != "en" else f"'{r.metric}'" for r in rows[:5])
        more = ctx.text(f" ほか {len(rows) - 5} 項目", f" and {len(rows) - 5} more") if len(rows) > 5 else ""
        return self.finding(ctx, file=rows[0].where.file, line=rows[0].where.line, message=ctx.text(
            f"監視設計に {len(rows)} 項目（{listed}{more}）があるが、コードにアラームが一つもない",
            f"The monitoring design lists {len(rows)} alarms ({listed}{more}) but the code defines none"))

    def coverage(self, ctx: RuleContext) -> str | None:
        if ctx.mode == "light" or not (ctx.project.templates or ctx.project.terraform):
            return None
        rows = list(self.rows(ctx))
        return ctx.text(f"監視設計の {len(rows)} 項目とアラームを照合",
                        f"{len(rows)} documented monitoring rows matched against the alarms") if rows else None
