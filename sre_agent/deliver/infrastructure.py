"""CloudFormation templates and per-stack, per-environment parameter files written from an InfraSpec.

Templates are jinja2 (`sre_agent/templates/deliver/cfn/`); parameter files are JSON dumped from
Python dicts. Each parameter file holds exactly the parameters its template declares — checked
here after rendering, because CloudFormation rejects an undeclared key and a missing required one
alike, at deploy time. Three values are never invented: the alert address, the certificate ARN
and the image tag. When the spec does not give them, the templates read them from SSM parameters
the operators (or the image build) create, and the spec's result lists those as prerequisites.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined

from sre_agent.deliver.plan import DeliveryPlan, StackPlan
from sre_agent.deliver.spec import LOG_RETENTION_DAYS, EnvironmentSpec, InfraSpec, SpecError

TEMPLATES = "templates/deliver/cfn"
# Fast and slow burn: (rate, long window s, short window s). 14.4x for 1 h spends 2 % of a
# 30-day budget; 6x for 6 h spends 5 % (The Site Reliability Workbook, "Alerting on SLOs").
BURN_RATES = {"fast": (14.4, 3600, 300), "slow": (6.0, 21600, 1800)}
SCALING_CPU_TARGET = 60
CACHE_SNAPSHOT_DAYS = 7
# Memory (GiB) of the burstable and general classes, for max_connections when the documents give
# no connection threshold: PostgreSQL LEAST(DBInstanceClassMemory/9531392, 5000), MySQL /12582880.
# The Elastic Load Balancing account that delivers ALB access logs, per Region opened before
# August 2022 (AWS "Enable access logs for your Application Load Balancer"); newer Regions use the
# logdelivery.elasticloadbalancing.amazonaws.com service principal instead.
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-south-1": "718504428378", "ap-northeast-1": "582318560864", "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331", "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266", "ca-central-1": "985666609251", "eu-central-1": "054676820928",
    "eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-west-3": "009996457667",
    "eu-south-1": "635631232127", "eu-north-1": "897822967062", "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
}
CLASS_MEMORY_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32,
                    "4xlarge": 64, "8xlarge": 128}


@dataclass(frozen=True)
class StackLayout:
    name: str          # the stack's short name: `<project>-<env>-<name>`
    template: str      # jinja2 template
    path: str          # template path from the delivery root
    stateful: bool
    purpose: str
    parameters: Callable[[InfraSpec, EnvironmentSpec], dict[str, Any]]


def _registry(spec: InfraSpec, env: EnvironmentSpec) -> dict[str, Any]:
    return {"ImageRetentionCount": spec.image_retention_count}


def _network(spec: InfraSpec, env: EnvironmentSpec) -> dict[str, Any]:
    values: dict[str, Any] = {"VpcCidr": env.vpc_cidr}
    for tier, cidrs in (("Public", env.public_subnets), ("App", env.app_subnets), ("Data", env.data_subnets)):
        values.update({f"{tier}Subnet{n}Cidr": cidr for n, cidr in enumerate(cidrs, start=1)})
    values["ContainerPort"] = spec.container_port
    values["FlowLogRetentionDays"] = env.log_retention_days
    return values


def _database(spec: InfraSpec, env: EnvironmentSpec) -> dict[str, Any]:
    return {"DBInstanceClass": env.db_instance_class, "DBAllocatedStorage": env.db_allocated_storage_gb,
            "DBMaxAllocatedStorage": env.db_max_allocated_storage_gb,
            "DBMultiAZ": "true" if env.db_multi_az else "false",
            "BackupRetentionPeriod": env.db_backup_retention_days,
            "DBLogRetentionDays": env.db_log_retention_days}


def _cache(spec: InfraSpec, env: EnvironmentSpec) -> dict[str, Any]:
    return {"CacheNodeType": env.cache_node_type}


def _compute(spec: InfraSpec, env: EnvironmentSpec) -> dict[str, Any]:
    return {"ImageTag": _value_or_ssm(spec, "image_tag", env, "app/image-tag"),
            "TaskCpu": env.task_cpu, "TaskMemory": env.task_memory,
            "MinCapacity": env.min_capacity,
            "MaxCapacity": env.max_capacity, "MaintenanceMode": "false", "HealthCheckPath": spec.health_check_path,
            "HealthCheckGracePeriodSeconds": spec.health_check_grace_seconds,
            "CertificateArn": _value_or_ssm(spec, "certificate_arn", env, "alb/certificate-arn"),
            "LogRetentionDays": env.log_retention_days}


def _monitoring(spec: InfraSpec, env: EnvironmentSpec) -> dict[str, Any]:
    values: dict[str, Any] = {"AlertEmail": _value_or_ssm(spec, "alert_email", env, "alert/email"),
                              "HealthyHostThreshold": env.min_capacity,
                              "DBConnectionsThreshold": connections_threshold(spec, env),
                              "MaintenanceMode": "false"}
    if spec.budget:
        values["MonthlyBudgetUsd"] = f"{spec.budget.amount_usd:g}"
    return values


STACKS = (
    StackLayout("registry", "ecr.yaml.j2", "infra/templates/registry/ecr.yaml", True,
                "ECR リポジトリ（不変タグ・プッシュ時スキャン・ライフサイクルで直近のイメージを保持。削除時も保持）",
                _registry),
    StackLayout("network", "vpc.yaml.j2", "infra/templates/network/vpc.yaml", False,
                "VPC・サブネット（パブリック／アプリ／データ）・NAT Gateway・フローログ・ALB とタスクのセキュリティグループ",
                _network),
    StackLayout("database", "rds.yaml.j2", "infra/templates/database/rds.yaml", True,
                "RDS（本番マルチAZ・自動バックアップ・削除保護・マスターパスワードは Secrets Manager 管理）・アプリ用 DB ユーザーのシークレット",
                _database),
    StackLayout("cache", "elasticache.yaml.j2", "infra/templates/cache/elasticache.yaml", True,
                "ElastiCache レプリケーショングループ（自動フェイルオーバー・マルチAZ・暗号化）", _cache),
    StackLayout("compute", "ecs.yaml.j2", "infra/templates/compute/ecs.yaml", False,
                "ECS Fargate サービス・ALB（HTTPS）・Auto Scaling・アプリのロググループ", _compute),
    StackLayout("monitoring", "alarms.yaml.j2", "infra/templates/monitoring/alarms.yaml", False,
                "SNS 通知・CloudWatch アラーム（設計書の監視項目）・SLO バーンレートアラーム", _monitoring),
)


def _value_or_ssm(spec: InfraSpec, field: str, env: EnvironmentSpec, suffix: str) -> str:
    """The spec's value when every environment gives one, else the SSM parameter name to read."""
    if _mode(spec, field) == "value":
        return str(getattr(env, field))
    return f"/{spec.project}/{env.name}/{suffix}"


def _mode(spec: InfraSpec, field: str) -> str:
    return "value" if all(getattr(env, field) for env in spec.environments) else "ssm"


def connections_threshold(spec: InfraSpec, env: EnvironmentSpec) -> int:
    """The documents' threshold for the class they sized it for, else 80 % of max_connections."""
    prod = next((e for e in spec.environments if e.production), spec.environments[-1])
    if spec.alarms.rds_connections and env.db_instance_class == prod.db_instance_class:
        return spec.alarms.rds_connections
    size = env.db_instance_class.rsplit(".", 1)[-1]
    memory = CLASS_MEMORY_GIB.get(size, 4) * 1024 ** 3
    divisor = 9531392 if spec.database.engine == "postgres" else 12582880
    return max(1, int(min(memory // divisor, 5000) * 0.8))


def burn_rate_context(spec: InfraSpec) -> dict[str, Any]:
    """The numbers the burn-rate alarms and the template's comments are written from."""
    budget = spec.slo.error_rate_percent
    hours = spec.slo.window_days * 24
    windows, composites, described = [], [], {}
    for speed, (rate, long, short) in BURN_RATES.items():
        threshold = round(rate * budget, 6)
        described[speed] = {
            "rate": f"{rate:g}", "threshold": f"{threshold:g}",
            "budget_percent": f"{rate * long / 3600 / hours * 100:g}",
            "exhaust_hours": f"{hours / rate:g}", "exhaust_days": f"{hours / rate / 24:g}"}
        ids = {}
        for seconds in (long, short):
            label = f"{seconds // 3600}h" if seconds >= 3600 else f"{seconds // 60}m"
            logical = f"SloBurn{speed.capitalize()}{label.upper()}Alarm"
            ids[seconds] = logical
            windows.append({"logical_id": logical, "name": f"{speed}-{label}", "rate": f"{rate:g}",
                            "threshold": f"{threshold:g}", "period": seconds,
                            "metric_id": f"{speed}{label}", "composite": f"SloBurn{speed.capitalize()}Alarm",
                            "label": f"{label} 窓"})
        composites.append({
            "logical_id": f"SloBurn{speed.capitalize()}Alarm", "name": speed, "rate": f"{rate:g}",
            "long": ids[long], "short": ids[short],
            "meaning": (f"このままでは {hours / rate:g} 時間でバジェットを使い切る。直ちに対応" if speed == "fast"
                        else f"このままでは {hours / rate / 24:g} 日でバジェットを使い切る。営業時間内に対応")})
    return {"burn_windows": windows, "burn_composites": composites, **described,
            "budget_minutes": f"{spec.slo.error_budget_minutes:g}", "min_requests": 10}


def window_text(period: int, evaluations: int, datapoints: int) -> str:
    """`5 分 × 3 回連続`, `1 分 × 3 回中 2 回`, `5 分 × 1 回`: the design table's own wording."""
    unit = f"{period // 60} 分" if period >= 60 else f"{period} 秒"
    if evaluations == 1:
        return f"{unit} × 1 回"
    return f"{unit} × {evaluations} 回連続" if datapoints == evaluations else f"{unit} × {evaluations} 回中 {datapoints} 回"


def db_admin_context(spec: InfraSpec) -> dict[str, Any]:
    """The one-off db-admin task: the engine's client image and an idempotent script that creates
    the app login if missing, then sets its password. The passwords come in as secrets (environment
    variables) and reach the SQL through client variables: never a command-line argument, never logged."""
    db, user = spec.database, spec.database.app_username
    major = db.engine_version.split(".")[0]
    if db.engine == "postgres":
        read = (r"\getenv app_password APP_PASSWORD" if int(major) >= 15  # psql 15+
                else r"\set app_password `printf '%s' \"$APP_PASSWORD\"`")
        sql = [r"\set ON_ERROR_STOP on", r"\set VERBOSITY terse", f"\\set app_user {user}", read,
               "SELECT format('CREATE ROLE %I LOGIN', :'app_user') "
               "WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \\gexec",
               "SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'app_user', :'app_password') \\gexec",
               f'GRANT CONNECT ON DATABASE "{db.name}" TO "{user}";',
               f'GRANT USAGE, CREATE ON SCHEMA public TO "{user}";',
               f"\\echo 'db-admin: login {user} created or updated'"]
        command = "printf '%s\\n' \"$ADMIN_SQL\" | psql --no-psqlrc --quiet --set ON_ERROR_STOP=1"
        environment = [("PGHOST", ("DBEndpointAddress",)), ("PGPORT", ("DBEndpointPort",)),
                       ("PGDATABASE", db.name), ("PGSSLMODE", "require")]
        secrets = [("PGUSER", "DBMasterUserSecretArn", "username"), ("PGPASSWORD", "DBMasterUserSecretArn", "password"),
                   ("APP_PASSWORD", "DBAppUserSecretArn", "password")]
        return {"client": "psql", "image": f"public.ecr.aws/docker/library/postgres:{major}",
                "sql": sql, "command": json.dumps(command), "environment": environment, "secrets": secrets}
    account = f"'{user}'@'%'"
    quoted = account.replace("'", "''")
    sql = [f"SET @ddl = CONCAT('CREATE USER IF NOT EXISTS {quoted} IDENTIFIED BY ', QUOTE(@app_password), ' REQUIRE SSL');",
           "PREPARE ddl FROM @ddl;", "EXECUTE ddl;", "DEALLOCATE PREPARE ddl;",
           f"SET @ddl = CONCAT('ALTER USER {quoted} IDENTIFIED BY ', QUOTE(@app_password), ' REQUIRE SSL');",
           "PREPARE ddl FROM @ddl;", "EXECUTE ddl;", "DEALLOCATE PREPARE ddl;",
           f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{db.name}`.* TO {account};",
           f"SELECT 'db-admin: login {user} created or updated' AS result;"]
    # The app secret's generated password excludes quotes and backslashes (rds.yaml), so the shell's
    # printf builtin can put it in a SQL string literal; it goes through the pipe, not an argument.
    command = ("{ printf \"SET @app_password = '%s';\\n\" \"$APP_PASSWORD\"; printf '%s\\n' \"$ADMIN_SQL\"; } | "
               "mysql --ssl-mode=REQUIRED --batch --host=\"$DB_HOST\" --port=\"$DB_PORT\" --user=\"$DB_USER\" \"$DB_NAME\"")
    environment = [("DB_HOST", ("DBEndpointAddress",)), ("DB_PORT", ("DBEndpointPort",)), ("DB_NAME", db.name)]
    secrets = [("DB_USER", "DBMasterUserSecretArn", "username"), ("MYSQL_PWD", "DBMasterUserSecretArn", "password"),
               ("APP_PASSWORD", "DBAppUserSecretArn", "password")]
    version = ".".join(db.engine_version.split(".")[:2])
    return {"client": "mysql", "image": f"public.ecr.aws/docker/library/mysql:{version}",
            "sql": sql, "command": json.dumps(command), "environment": environment, "secrets": secrets}


def _context(spec: InfraSpec) -> dict[str, Any]:
    prod = next((e for e in spec.environments if e.production), None)
    latency = [(stat, ms) for stat, ms in (("p95", spec.alarms.response_time_p95_ms or spec.slo.latency_p95_ms),
                                           ("p99", spec.slo.latency_p99_ms)) if ms]
    return {
        "spec": spec, "environments": spec.environments, "title": spec.description or spec.project,
        "prod_name": prod.name if prod else "prod", "azs": spec.environments[0].azs,
        "retention_values": ", ".join(str(d) for d in LOG_RETENTION_DAYS),
        "image_mode": _mode(spec, "image_tag"), "certificate_mode": _mode(spec, "certificate_arn"),
        "email_mode": _mode(spec, "alert_email"), "scaling_cpu_target": SCALING_CPU_TARGET,
        "engine_label": "PostgreSQL" if spec.database.engine == "postgres" else "MySQL",
        "log_exports": ["postgresql", "upgrade"] if spec.database.engine == "postgres" else ["error", "slowquery"],
        "snapshot_days": CACHE_SNAPSHOT_DAYS, "slo": spec.slo, "alarms": spec.alarms,
        "latency": latency,
        "windows": {key: {**w.model_dump(), "text": window_text(w.period, w.evaluations, w.datapoints)}
                    for key, w in spec.alarms.windows.items()},
        "elb_accounts": ELB_LOG_ACCOUNTS if spec.region in ELB_LOG_ACCOUNTS else {},
        "db_admin": db_admin_context(spec),
        "cache_nodes": [f"{n:03d}" for n in range(1, (spec.cache.replicas + 2) if spec.cache else 1)],
        **burn_rate_context(spec),
    }


def _check(spec: InfraSpec) -> None:
    """The standard's floors for production, which no parameter file may lower."""
    azs = {env.azs for env in spec.environments}
    if len(azs) != 1:
        raise SpecError(f"every environment needs the same number of AZs (one template): {sorted(azs)}")
    for env in spec.environments:
        if env.production and (env.desired_count < 2 or env.min_capacity < 2):
            raise SpecError(f"{env.name}: production runs at least 2 tasks (desired and minimum)")
        if env.production and (not env.db_multi_az or env.db_backup_retention_days < 7):
            raise SpecError(f"{env.name}: production RDS is multi-AZ with backups kept 7 days or more")


def write_infrastructure(spec: InfraSpec, out_dir: Path) -> DeliveryPlan:
    """Write the templates and parameter files under `out_dir`; the plan lists them in deploy order."""
    _check(spec)
    jinja = Environment(loader=PackageLoader("sre_agent", TEMPLATES), undefined=StrictUndefined,
                        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                        autoescape=False)
    context = _context(spec)
    stacks: list[StackPlan] = []
    for layout in STACKS:
        if layout.name == "cache" and spec.cache is None:
            continue
        text = jinja.get_template(layout.template).render(**context)
        declared = _declared_parameters(text, layout.path)
        target = out_dir / layout.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        files: dict[str, str] = {}
        for env in spec.environments:
            values = {"ProjectName": spec.project, "Environment": env.name, **layout.parameters(spec, env)}
            if set(values) != declared:
                raise AssertionError(f"{layout.path}: parameter file keys {sorted(set(values) ^ declared)} "
                                     "differ from the template's parameters")
            path = f"infra/parameters/{env.name}/{layout.name}.json"
            (out_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (out_dir / path).write_text(_parameter_file(values), encoding="utf-8")
            files[env.name] = path
        iam = "AWS::IAM::" in text  # every role is named <project>-<env>-<role> (64 characters at most)
        stacks.append(StackPlan(name=layout.name, template=layout.path, parameters=files,
                                stateful=layout.stateful, iam=iam, named_iam=iam, purpose=layout.purpose))
    return DeliveryPlan(project=spec.project, environments=[e.name for e in spec.environments],
                        region=spec.region, stacks=stacks)


def _parameter_file(values: dict[str, Any]) -> str:
    """The AWS CLI's `--parameters file://` shape, one parameter per line for readable diffs."""
    lines = [json.dumps({"ParameterKey": key, "ParameterValue": str(value)}, ensure_ascii=False)
             for key, value in values.items()]
    return "[\n  " + ",\n  ".join(lines) + "\n]\n"


class _CfnLoader(yaml.SafeLoader):
    """Reads the short-form intrinsic functions (!Ref, !Sub …) as plain data."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(node, deep=True)}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def _declared_parameters(text: str, path: str) -> set[str]:
    try:
        data = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise AssertionError(f"{path}: the generated template is not valid YAML: {exc}") from None
    return set(data.get("Parameters") or {})


__all__ = ["write_infrastructure", "STACKS", "burn_rate_context", "db_admin_context", "connections_threshold", "window_text"]
