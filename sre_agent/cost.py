"""A monthly cost estimate from the templates and parameter files, with explicit units.

The price table (`sre_agent/data/prices.json`) is embedded, dated and per region: list
prices, on-demand, 730 hours a month. The estimate prices what the code provisions by the hour
or month (Fargate tasks, database instances and storage, load balancers, NAT gateways, public
IPv4, alarms, keys, secrets); usage-driven costs (data transfer, NAT data processing, log
ingestion, S3 contents) are not guessed — they are listed as unpriced so a reader sees what the
figure leaves out. `estimate()` returns one `CostItem` per resource line so that a report can
print the table and a rule can compare it with the documents.
"""

from __future__ import annotations

import json
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from sre_agent.environments import canonical, is_prod
from sre_agent.resolve import UNKNOWN, CfnEvaluator, EnvContext, as_bool, as_number, cfn_contexts, tf_value, tf_variable_sets

HOURS_PER_MONTH = 730
USD_JPY = 150.0  # exchange rate assumed when a document's amounts are in yen: 1 USD = 150 JPY
DEFAULT_REGION = "ap-northeast-1"
_ARN_REGION = re.compile(r"arn:aws:[a-z0-9-]+:([a-z]{2}-[a-z]+-\d):")
# The project's configured price region (`price-region`), for the review running now: it wins
# over what the parameter files and documents suggest.
CONFIGURED_REGION: ContextVar[str | None] = ContextVar("sre_agent_price_region", default=None)


@cache
def price_table() -> dict[str, Any]:
    return json.loads(resources.files("sre_agent").joinpath("data/prices.json").read_text("utf-8"))


@dataclass(frozen=True)
class CostItem:
    """One priced line: `quantity` `unit` at `unit_price` USD each, per month."""

    category: str  # fargate | rds | aurora | elasticache | alb | nlb | nat | ipv4 | cloudwatch | kms | secrets | ebs
    resource: str
    file: str
    line: int
    spec: str
    unit_price: float  # USD per unit
    unit: str  # "task-hour", "instance-hour", "GB-month", "alarm-metric-month", ...
    quantity: float
    note: str = ""

    @property
    def monthly(self) -> float:
        return self.unit_price * self.quantity


@dataclass
class Estimate:
    environment: str | None
    region: str
    region_source: str
    as_of: str
    items: list[CostItem] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)
    # categories with a resource the code builds but the estimate could not price (an instance
    # class missing from the price table, a task definition it cannot resolve): "not built" is
    # never concluded for them
    unpriced_categories: set[str] = field(default_factory=set)

    @property
    def total(self) -> float:
        return sum(item.monthly for item in self.items)

    def by_category(self) -> dict[str, float]:
        result: dict[str, float] = {}
        for item in self.items:
            result[item.category] = result.get(item.category, 0.0) + item.monthly
        return result


def project_region(project, document_regions: list[str] | None = None) -> tuple[str, str]:
    """The region the project deploys to: an ARN in a parameter file, else the documents, else
    the default (Tokyo). Returns (region, where it was read)."""
    for pset in project.parameter_sets:
        for value in pset.values.values():
            m = _ARN_REGION.search(str(value))
            if m and m.group(1) in price_table()["regions"]:
                return m.group(1), pset.path
    for region in document_regions or []:
        if region in price_table()["regions"]:
            return region, "design documents"
    return DEFAULT_REGION, "default"


def environments(project) -> list[str | None]:
    """Canonical environments that have parameter files (prod first); [None] when there are none."""
    names = {canonical(p.environment) if p.environment else None for p in project.parameter_sets}
    names.discard(None)
    ordered = sorted(names, key=lambda n: (not is_prod(n), n))
    return ordered or [None]


def _cfn_context(template, project, environment: str | None) -> EnvContext:
    contexts = cfn_contexts(template, project)
    for ctx in contexts:
        if environment is not None and ctx.name == environment:
            return ctx
    prod = cfn_contexts(template, project, prod_only=True)
    return prod[0] if environment is None or is_prod(environment) else contexts[0]


def _num(value: Any) -> float | None:
    number = as_number(value)
    return None if number is UNKNOWN else number


def estimate(project, environment: str | None = None, region: str | None = None,
             document_regions: list[str] | None = None) -> Estimate:
    """Monthly cost of one environment (None = production or defaults) in USD, per resource."""
    found_region, source = project_region(project, document_regions)
    if region is None and CONFIGURED_REGION.get() is not None:
        found_region, source = CONFIGURED_REGION.get(), "configuration (price-region)"
    if region is not None:
        found_region, source = region, "given"
    table = price_table()
    prices = table["regions"][found_region]
    result = Estimate(environment, found_region, source, table["as_of"])
    for template in project.templates:
        ctx = _cfn_context(template, project, environment)
        _cfn_items(template, CfnEvaluator(template, ctx), prices, result)
    if project.terraform:
        contexts = tf_variable_sets(project.terraform, project.parameter_sets)
        ctx = next((c for c in contexts if environment and c.name == environment), None) or \
            tf_variable_sets(project.terraform, project.parameter_sets, prod_only=True)[0]
        for tf in project.terraform:
            _tf_items(tf, ctx.values, prices, result)
    return result


def _rds_price(prices: dict, engine: str, klass: str) -> float | None:
    engine = (engine or "").lower()
    if engine.startswith("aurora"):
        return prices["aurora"].get(klass)
    family = "mysql" if engine in ("mysql", "mariadb") else "postgres"
    return prices["rds"][family].get(klass)


def _add_rds(result: Estimate, prices: dict, *, resource: str, file: str, line: int, engine: str,
             klass: Any, multi_az: Any, storage: Any, storage_type: Any, in_cluster: bool) -> None:
    if not isinstance(klass, str):
        result.unpriced.append(f"{resource}: インスタンスクラスを解決できない")
        result.unpriced_categories.add("aurora" if in_cluster else "rds")
        return
    hourly = _rds_price(prices, engine, klass)
    if hourly is None:
        result.unpriced.append(f"{resource}: {klass} は価格表にない")
        result.unpriced_categories.add("aurora" if in_cluster else "rds")
        return
    multi = as_bool(multi_az)
    factor = price_table()["rds_multi_az_factor"] if multi is True and not in_cluster else 1
    spec = f"{klass} {'マルチAZ' if factor == 2 else 'シングルAZ'}" if not in_cluster else f"{klass}（Aurora）"
    result.items.append(CostItem("aurora" if in_cluster else "rds", resource, file, line, spec,
                                 hourly * factor, "instance-hour", HOURS_PER_MONTH))
    size = _num(storage)
    if size and not in_cluster:
        kind = storage_type if isinstance(storage_type, str) else "gp2"
        per_gb = prices["rds_storage_gb_month"].get(kind, prices["rds_storage_gb_month"]["gp3"])
        result.items.append(CostItem("rds", resource, file, line, f"{kind} {size:g}GB"
                                     + (" ×2（マルチAZ）" if factor == 2 else ""),
                                     per_gb * factor, "GB-month", size))


def _cfn_items(template, ev: CfnEvaluator, prices: dict, result: Estimate) -> None:
    path = template.path
    resources_ = template.resources
    for res in resources_.values():
        props = res.properties
        value = lambda name, default=UNKNOWN: ev.value(props[name]) if name in props else default  # noqa: E731
        if res.type == "AWS::ECS::Service":
            _cfn_service(template, ev, res, prices, result)
        elif res.type == "AWS::RDS::DBInstance":
            in_cluster = "DBClusterIdentifier" in props
            engine = value("Engine", "aurora-postgresql" if in_cluster else "postgres")
            _add_rds(result, prices, resource=res.logical_id, file=path, line=res.line,
                     engine=str(engine), klass=value("DBInstanceClass"), multi_az=value("MultiAZ", False),
                     storage=value("AllocatedStorage", None), storage_type=value("StorageType", "gp2"),
                     in_cluster=in_cluster)
            if as_bool(value("ManageMasterUserPassword", False)) is True:
                result.items.append(CostItem("secrets", res.logical_id, path, res.line,
                                             "マスターユーザーシークレット", prices["secret_month"],
                                             "secret-month", 1))
        elif res.type == "AWS::ElastiCache::ReplicationGroup":
            node = value("CacheNodeType")
            count = _num(value("NumCacheClusters", None)) or (
                (_num(value("NumNodeGroups", 1)) or 1) * (1 + (_num(value("ReplicasPerNodeGroup", 0)) or 0)))
            _add_cache(result, prices, res.logical_id, path, res.line, node, count)
        elif res.type == "AWS::ElastiCache::CacheCluster":
            _add_cache(result, prices, res.logical_id, path, res.line, value("CacheNodeType"),
                       _num(value("NumCacheNodes", 1)) or 1)
        elif res.type == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            kind = value("Type", "application")
            lb = prices["nlb"] if kind == "network" else prices["alb"]
            name = "NLB" if kind == "network" else "ALB"
            result.items.append(CostItem("nlb" if kind == "network" else "alb", res.logical_id, path,
                                         res.line, f"{name} 1台 + 1 LCU 想定", lb["hour"] + lb["lcu_hour"],
                                         "LB-hour (incl. 1 LCU)", HOURS_PER_MONTH))
            if value("Scheme", "internet-facing") != "internal":
                subnets = props.get("Subnets") or props.get("SubnetMappings") or []
                count = len(subnets) if isinstance(subnets, list) else 2
                result.items.append(CostItem("ipv4", res.logical_id, path, res.line,
                                             f"パブリック IPv4 × {count}（{name}）", prices["public_ipv4_hour"],
                                             "IPv4-hour", HOURS_PER_MONTH * count))
        elif res.type == "AWS::EC2::NatGateway":
            result.items.append(CostItem("nat", res.logical_id, path, res.line, "NAT Gateway 1台",
                                         prices["nat_gateway"]["hour"], "NAT-hour", HOURS_PER_MONTH,
                                         note="データ処理料金（/GB）は含まない"))
        elif res.type == "AWS::EC2::EIP":
            result.items.append(CostItem("ipv4", res.logical_id, path, res.line, "Elastic IP（パブリック IPv4）",
                                         prices["public_ipv4_hour"], "IPv4-hour", HOURS_PER_MONTH))
        elif res.type == "AWS::CloudWatch::Alarm":
            metrics = props.get("Metrics")
            count = sum(1 for m in metrics if isinstance(m, dict) and "MetricStat" in m) \
                if isinstance(metrics, list) else 1
            result.items.append(CostItem("cloudwatch", res.logical_id, path, res.line,
                                         f"標準アラーム（メトリクス {count}）",
                                         prices["cloudwatch"]["alarm_metric_month"], "alarm-metric-month",
                                         max(count, 1)))
        elif res.type == "AWS::KMS::Key":
            result.items.append(CostItem("kms", res.logical_id, path, res.line, "カスタマー管理キー",
                                         prices["kms_key_month"], "key-month", 1))
        elif res.type == "AWS::SecretsManager::Secret":
            result.items.append(CostItem("secrets", res.logical_id, path, res.line, "シークレット",
                                         prices["secret_month"], "secret-month", 1))
        elif res.type == "AWS::EC2::Volume":
            size = _num(value("Size", None))
            if size:
                result.items.append(CostItem("ebs", res.logical_id, path, res.line, f"EBS gp3 {size:g}GB",
                                             prices["ebs_gp3_gb_month"], "GB-month", size))
        elif res.type == "AWS::Logs::LogGroup":
            result.unpriced.append(f"{res.logical_id}: CloudWatch Logs の取り込み量（/GB）は見積に含まない")
        elif res.type == "AWS::S3::Bucket":
            result.unpriced.append(f"{res.logical_id}: S3 の保存量は見積に含まない")


def launch_kind(launch_type: Any, strategy: Any, compatibilities: Any = None) -> str | None:
    """How an ECS service's tasks run: "fargate", "fargate_spot" (all of them on FARGATE_SPOT),
    "ec2", or None when the code does not say (the cluster's default capacity provider strategy).
    `LaunchType: FARGATE`, a capacity provider strategy of FARGATE / FARGATE_SPOT, or a task
    definition that requires FARGATE all mean Fargate."""
    if isinstance(launch_type, str) and launch_type.upper() in ("FARGATE", "EC2", "EXTERNAL"):
        return "fargate" if launch_type.upper() == "FARGATE" else "ec2"
    providers = []
    for entry in strategy if isinstance(strategy, list) else []:
        name = entry.get("CapacityProvider", entry.get("capacity_provider")) if isinstance(entry, dict) else None
        providers.append(str(name).upper() if isinstance(name, str) else None)
    if providers:
        if all(p in ("FARGATE", "FARGATE_SPOT") for p in providers):
            return "fargate_spot" if set(providers) == {"FARGATE_SPOT"} else "fargate"
        return "ec2" if None not in providers else None
    if isinstance(compatibilities, list) and [str(c).upper() for c in compatibilities] == ["FARGATE"]:
        return "fargate"
    return None


def _unless_absent(ev: CfnEvaluator, node: Any, default: Any) -> Any:
    """An `!If` whose branch in this environment is `AWS::NoValue` leaves the property out, so
    CloudFormation's default applies (a new ECS service starts 1 task; auto scaling sets the rest)."""
    branch = node.get("Fn::If") if isinstance(node, dict) and len(node) == 1 else None
    if isinstance(branch, list) and len(branch) == 3:
        cond = ev.condition(branch[0])
        if cond is not UNKNOWN:
            return _unless_absent(ev, branch[1] if cond else branch[2], default)
    return default if node == {"Ref": "AWS::NoValue"} else node


def _cfn_service(template, ev: CfnEvaluator, res, prices: dict, result: Estimate) -> None:
    props = res.properties
    ref = props.get("TaskDefinition")
    task = template.resources.get(ref["Ref"]) if isinstance(ref, dict) and "Ref" in ref else None
    compat = ev.value(task.properties["RequiresCompatibilities"]) \
        if task is not None and "RequiresCompatibilities" in task.properties else None
    kind = launch_kind(ev.value(props["LaunchType"]) if "LaunchType" in props else None,
                       ev.value(props["CapacityProviderStrategy"]) if "CapacityProviderStrategy" in props
                       else None, compat)
    if kind == "ec2":
        result.unpriced.append(f"{res.logical_id}: EC2 起動タイプ（コンテナインスタンスの料金は見積に含まない）")
        result.unpriced_categories.add("fargate")
        return
    if task is None:
        result.unpriced.append(f"{res.logical_id}: タスク定義を解決できない")
        result.unpriced_categories.add("fargate")
        return
    cpu = _num(ev.value(task.properties.get("Cpu", UNKNOWN)))
    memory = _num(ev.value(task.properties.get("Memory", UNKNOWN)))
    desired = _num(ev.value(_unless_absent(ev, props.get("DesiredCount", 1), 1)))
    minimum = None
    for target in template.of_type("AWS::ApplicationAutoScaling::ScalableTarget"):
        if res.logical_id in repr(target.properties.get("ResourceId")):
            minimum = _num(ev.value(target.properties.get("MinCapacity", UNKNOWN)))
    if cpu is None or memory is None or desired is None:
        result.unpriced.append(f"{res.logical_id}: CPU / メモリ / タスク数を解決できない")
        result.unpriced_categories.add("fargate")
        return
    tasks = max(desired, minimum or 0)
    _add_fargate(result, prices, res.logical_id, template.path, res.line, cpu, memory, tasks,
                 spot=kind == "fargate_spot")


def _add_fargate(result: Estimate, prices: dict, resource: str, file: str, line: int,
                 cpu: float, memory: float, tasks: float, spot: bool = False) -> None:
    vcpu, gb = cpu / 1024, memory / 1024
    per_task = vcpu * prices["fargate"]["vcpu_hour"] + gb * prices["fargate"]["gb_hour"]
    if spot:  # Fargate Spot's price moves; the on-demand price is its upper bound
        result.items.append(CostItem("fargate", resource, file, line,
                                     f"{vcpu:g}vCPU / {gb:g}GB × {tasks:g}タスク（FARGATE_SPOT、オンデマンド価格で上限）",
                                     per_task, "task-hour", HOURS_PER_MONTH * tasks,
                                     note="Spot の割引（変動）は含まない"))
        return
    result.items.append(CostItem("fargate", resource, file, line,
                                 f"{vcpu:g}vCPU / {gb:g}GB × {tasks:g}タスク（常時）", per_task,
                                 "task-hour", HOURS_PER_MONTH * tasks))


def _add_cache(result: Estimate, prices: dict, resource: str, file: str, line: int, node: Any,
               count: float) -> None:
    hourly = prices["elasticache"].get(node) if isinstance(node, str) else None
    if hourly is None:
        result.unpriced.append(f"{resource}: ノードタイプ {node!r} は価格表にない")
        result.unpriced_categories.add("elasticache")
        return
    result.items.append(CostItem("elasticache", resource, file, line, f"{node} × {count:g}ノード",
                                 hourly, "node-hour", HOURS_PER_MONTH * count))


def _tf_items(tf, variables: dict, prices: dict, result: Estimate) -> None:
    path = tf.path
    tasks = {b.name: b for b in tf.resources("aws_ecs_task_definition")}
    for block in tf.resources():
        get = lambda name, default=UNKNOWN: tf_value(block, name, variables) if name in block.body else default  # noqa: E731
        if block.type == "aws_ecs_service":
            ref = str(block.get("task_definition", ""))
            task = next((t for name, t in tasks.items() if f"aws_ecs_task_definition.{name}." in ref), None)
            strategy = block.body.get("capacity_provider_strategy")
            kind = launch_kind(get("launch_type", None), strategy if isinstance(strategy, list) else
                               [strategy] if isinstance(strategy, dict) else None,
                               task.get("requires_compatibilities") if task else None)
            if kind == "ec2":
                result.unpriced.append(f"{block.address}: EC2 起動タイプ（コンテナインスタンスの料金は見積に含まない）")
                result.unpriced_categories.add("fargate")
                continue
            cpu = _num(tf_value(task, "cpu", variables)) if task else None
            memory = _num(tf_value(task, "memory", variables)) if task else None
            desired = _num(get("desired_count", 1))
            if cpu is None or memory is None or desired is None:
                result.unpriced.append(f"{block.address}: CPU / メモリ / タスク数を解決できない")
                result.unpriced_categories.add("fargate")
                continue
            _add_fargate(result, prices, block.address, path, block.line, cpu, memory, desired,
                         spot=kind == "fargate_spot")
        elif block.type == "aws_db_instance":
            _add_rds(result, prices, resource=block.address, file=path, line=block.line,
                     engine=str(get("engine", "postgres")), klass=get("instance_class"),
                     multi_az=get("multi_az", False), storage=get("allocated_storage", None),
                     storage_type=get("storage_type", "gp2"), in_cluster=False)
        elif block.type == "aws_rds_cluster_instance":
            _add_rds(result, prices, resource=block.address, file=path, line=block.line,
                     engine="aurora", klass=get("instance_class"), multi_az=False, storage=None,
                     storage_type=None, in_cluster=True)
        elif block.type in ("aws_lb", "aws_alb"):
            kind = get("load_balancer_type", "application")
            lb = prices["nlb"] if kind == "network" else prices["alb"]
            result.items.append(CostItem("nlb" if kind == "network" else "alb", block.address, path,
                                         block.line, "LB 1台 + 1 LCU 想定", lb["hour"] + lb["lcu_hour"],
                                         "LB-hour (incl. 1 LCU)", HOURS_PER_MONTH))
        elif block.type == "aws_nat_gateway":
            count = _num(get("count", 1)) or 1
            result.items.append(CostItem("nat", block.address, path, block.line, f"NAT Gateway {count:g}台",
                                         prices["nat_gateway"]["hour"], "NAT-hour", HOURS_PER_MONTH * count,
                                         note="データ処理料金（/GB）は含まない"))
        elif block.type == "aws_eip":
            count = _num(get("count", 1)) or 1
            result.items.append(CostItem("ipv4", block.address, path, block.line, "Elastic IP",
                                         prices["public_ipv4_hour"], "IPv4-hour", HOURS_PER_MONTH * count))
        elif block.type == "aws_cloudwatch_metric_alarm":
            result.items.append(CostItem("cloudwatch", block.address, path, block.line, "標準アラーム",
                                         prices["cloudwatch"]["alarm_metric_month"], "alarm-metric-month", 1))
        elif block.type == "aws_elasticache_replication_group":
            _add_cache(result, prices, block.address, path, block.line, get("node_type"),
                       _num(get("num_cache_clusters", 1)) or 1)


__all__ = ["CostItem", "Estimate", "estimate", "price_table", "project_region", "environments",
           "HOURS_PER_MONTH", "USD_JPY"]
