"""What to build: the `InfraSpec` the templates are generated from, and where each value came from.

A spec is read from the design documents (`spec_from_documents`) or from a structured YAML /
JSON file (`spec_from_file`, for tasks that come without documents). Values the documents do
not give are defaulted conservatively — the production choice, the safer side — and every one
of them is listed in `SpecResult.sources` as `default: <why>`, so the report can say what was
decided for the reader rather than read from their design.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sre_agent.deliver.plan import ENVIRONMENT_NAME, ProjectName
from sre_agent.environments import is_prod

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)
# Fargate task sizes: CPU units -> the memory sizes (MiB) Fargate accepts with them.
FARGATE_MEMORY = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
}


class SpecError(ValueError):
    """A spec file or document set that cannot become a spec: one line, for exit code 2."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnvironmentSpec(Strict):
    """The values that may differ per environment (the documents' per-environment tables)."""

    name: str
    vpc_cidr: str = "10.0.0.0/16"
    public_subnets: list[str] = Field(default_factory=lambda: ["10.0.0.0/24", "10.0.1.0/24"])
    app_subnets: list[str] = Field(default_factory=lambda: ["10.0.10.0/24", "10.0.11.0/24"])
    data_subnets: list[str] = Field(default_factory=lambda: ["10.0.20.0/24", "10.0.21.0/24"])
    task_cpu: int = 512
    task_memory: int = 1024
    desired_count: int = 2
    min_capacity: int = 2
    max_capacity: int = 4
    db_instance_class: str = "db.t4g.medium"
    db_allocated_storage_gb: int = 50
    db_max_allocated_storage_gb: int = 100
    db_multi_az: bool = True
    db_backup_retention_days: int = 14
    cache_node_type: str = "cache.t4g.small"
    log_retention_days: int = 90
    db_log_retention_days: int = 30
    alert_email: str | None = Field(default=None, description="None: read from SSM (/<project>/<env>/alert/email)")
    certificate_arn: str | None = Field(default=None, description="None: read from SSM (/<project>/<env>/alb/certificate-arn)")
    image_tag: str | None = Field(default=None, description="None: read from SSM (/<project>/<env>/app/image-tag)")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not ENVIRONMENT_NAME.match(value):
            raise ValueError(f"environment name must match {ENVIRONMENT_NAME.pattern}: {value!r}")
        return value

    @field_validator("log_retention_days", "db_log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch Logs retention must be one of {LOG_RETENTION_DAYS}: {value}")
        return value

    @field_validator("image_tag")
    @classmethod
    def _image_tag(cls, value: str | None) -> str | None:
        if value is not None and (value.lower() in ("latest", "stable", "main") or canonical_env(value)):
            raise ValueError(f"image tag {value!r} is mutable: use a commit hash or a version")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "EnvironmentSpec":
        network = ipaddress.ip_network(self.vpc_cidr)
        tiers = (self.public_subnets, self.app_subnets, self.data_subnets)
        if any(len(tier) != len(self.public_subnets) or len(tier) < 2 for tier in tiers):
            raise ValueError(f"{self.name}: every subnet tier needs the same number (2 or more) of AZs")
        for cidr in (c for tier in tiers for c in tier):
            if not ipaddress.ip_network(cidr).subnet_of(network):  # type: ignore[arg-type]
                raise ValueError(f"{self.name}: subnet {cidr} is outside the VPC {self.vpc_cidr}")
        if self.task_memory not in FARGATE_MEMORY.get(self.task_cpu, ()):
            raise ValueError(f"{self.name}: Fargate has no task size of {self.task_cpu} CPU units / "
                             f"{self.task_memory} MiB")
        if not self.min_capacity <= self.desired_count <= self.max_capacity:
            raise ValueError(f"{self.name}: desired count must lie between min and max capacity")
        if self.db_max_allocated_storage_gb < self.db_allocated_storage_gb:
            raise ValueError(f"{self.name}: storage autoscaling limit below the allocated storage")
        return self

    @property
    def production(self) -> bool:
        return is_prod(self.name)

    @property
    def azs(self) -> int:
        return len(self.public_subnets)


WINDOW = re.compile(r"^(?:(mon|tue|wed|thu|fri|sat|sun):)?([01]\d|2[0-3]):([0-5]\d)-"
                    r"(?:(mon|tue|wed|thu|fri|sat|sun):)?([01]\d|2[0-3]):([0-5]\d)$")


class DatabaseSpec(Strict):
    engine: Literal["postgres", "mysql"] = "postgres"
    engine_version: str = "17.6"
    name: str = "app"
    master_username: str = "app_admin"
    app_username: str = Field(default="app", pattern=r"^[a-z][a-z0-9_]{0,62}$",
                              description="the application's own login; the master user is for DBAs")
    backup_window: str = Field(default="17:00-18:00", description="UTC, RDS PreferredBackupWindow")
    maintenance_window: str = Field(default="sat:18:30-sat:19:30",
                                    description="UTC, RDS PreferredMaintenanceWindow (日曜 03:30 JST)")

    @field_validator("backup_window", "maintenance_window")
    @classmethod
    def _window(cls, value: str) -> str:
        if not WINDOW.match(value):
            raise ValueError(f"an RDS window is hh:mm-hh:mm or ddd:hh:mm-ddd:hh:mm in UTC: {value!r}")
        return value

    @property
    def port(self) -> int:
        return 5432 if self.engine == "postgres" else 3306

    @property
    def family(self) -> str:
        major = self.engine_version.split(".")[0]
        return f"postgres{major}" if self.engine == "postgres" else f"mysql{'.'.join(self.engine_version.split('.')[:2])}"


class CacheSpec(Strict):
    engine: Literal["redis", "valkey"] = "valkey"
    engine_version: str = "8.0"
    replicas: int = Field(default=1, ge=1, description="read replicas per shard: failover needs one")

    @property
    def family(self) -> str:
        return f"{self.engine}{self.engine_version.split('.')[0]}" if self.engine == "valkey" \
            else f"redis{self.engine_version.split('.')[0]}.x"


class SloSpec(Strict):
    """The SLO table: the error budget and burn-rate alarms are computed from it."""

    availability_percent: float = Field(default=99.9, gt=90, lt=100)
    latency_p95_ms: int | None = 500
    latency_p99_ms: int | None = None
    error_rate_percent: float = Field(default=0.1, gt=0, lt=10)
    window_days: int = 30

    @property
    def error_budget_minutes(self) -> float:
        return round(self.window_days * 24 * 60 * (100 - self.availability_percent) / 100, 1)


class AlarmWindow(Strict):
    """How long a threshold must be crossed: `5分 × 3回連続` = 300 s, 3 of 3; `1分 × 3回中2回` = 60 s, 2 of 3."""

    period: int = Field(ge=10, le=86400, description="seconds")
    evaluations: int = Field(ge=1, le=100)
    datapoints: int = Field(ge=1, le=100)

    @model_validator(mode="after")
    def _fits(self) -> "AlarmWindow":
        if self.datapoints > self.evaluations:
            raise ValueError("datapoints to alarm exceed the evaluation periods")
        if self.period >= 60 and self.period % 60:
            raise ValueError(f"a CloudWatch period of a minute or more is a multiple of 60: {self.period}")
        return self


# The evaluation of each alarm the design's monitoring table may name, when it gives none.
ALARM_WINDOWS = {
    "error_rate": (300, 3, 3), "target_5xx": (60, 3, 2), "response_time": (300, 3, 3),
    "healthy_hosts": (60, 3, 3), "ecs_cpu": (300, 3, 3), "ecs_memory": (300, 3, 3),
    "rds_cpu": (300, 3, 3), "rds_free_storage": (300, 1, 1), "rds_connections": (300, 2, 2),
}


def _default_windows() -> dict[str, AlarmWindow]:
    return {key: AlarmWindow(period=p, evaluations=e, datapoints=d) for key, (p, e, d) in ALARM_WINDOWS.items()}


class AlarmThresholds(Strict):
    ecs_cpu_percent: int = 80
    ecs_memory_percent: int = 85
    rds_cpu_percent: int = 80
    rds_free_storage_gib: int = 10
    rds_connections: int | None = Field(default=None, description="None: 80% of the class's max_connections estimate")
    response_time_p95_ms: int | None = None  # None: the SLO's p95
    target_5xx_per_minute: int = 10
    error_rate_percent: float | None = Field(
        default=None, gt=0, lt=100,
        description="the design's own 5XX-ratio alarm (beside the burn-rate alarms); None: none asked for")
    windows: dict[str, AlarmWindow] = Field(default_factory=_default_windows)

    @field_validator("windows")
    @classmethod
    def _windows(cls, value: dict[str, AlarmWindow]) -> dict[str, AlarmWindow]:
        unknown = set(value) - set(ALARM_WINDOWS)
        if unknown:
            raise ValueError(f"unknown alarm windows {sorted(unknown)}: one of {sorted(ALARM_WINDOWS)}")
        return {**_default_windows(), **value}


class BudgetSpec(Strict):
    """AWS Budgets: the monthly cost budget and when it notifies (actual and forecasted spend)."""

    amount_usd: float = Field(gt=0)
    actual_percent: float = Field(default=80, gt=0, le=1000)
    forecast_percent: float = Field(default=100, gt=0, le=1000)


class InfraSpec(Strict):
    """Everything the templates and parameter files are generated from."""

    project: ProjectName
    region: str = "ap-northeast-1"
    description: str = Field(default="", description="one Japanese line: the system's name")
    environments: list[EnvironmentSpec]
    container_port: int = Field(default=8080, ge=1, le=65535)
    health_check_path: str = "/health"
    health_check_grace_seconds: int = Field(default=90, ge=0, le=2147483647)
    image_repository: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9._/-]{1,200}$",
                                         description="ECR repository name; None: <project>-<env>-app")
    image_retention_count: int = Field(default=30, ge=1, le=10000,
                                       description="images the ECR lifecycle policy keeps (rollback targets)")
    budget: BudgetSpec | None = Field(default=None, description="AWS Budgets; None: the documents ask for none")
    database: DatabaseSpec = Field(default_factory=DatabaseSpec)
    cache: CacheSpec | None = None
    slo: SloSpec = Field(default_factory=SloSpec)
    alarms: AlarmThresholds = Field(default_factory=AlarmThresholds)

    @field_validator("health_check_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"health check path must start with '/': {value!r}")
        return value

    @model_validator(mode="after")
    def _environments(self) -> "InfraSpec":
        names = [env.name for env in self.environments]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"environments must be distinct and not empty: {names}")
        return self

    @property
    def repository(self) -> str:
        """The ECR repository name as a `!Sub` string: one per environment, so a shared account
        holds the stg and prd repositories side by side."""
        return f"{self.image_repository}-${{Environment}}" if self.image_repository \
            else "${ProjectName}-${Environment}-app"

    def environment(self, name: str) -> EnvironmentSpec:
        return next(env for env in self.environments if env.name == name)


class SpecSource(Strict):
    """Where one value of the spec came from: `file:line` of a document, or `default: <why>`."""

    field: str
    value: str
    origin: str

    @property
    def defaulted(self) -> bool:
        return self.origin.startswith("default:")


class SpecResult(Strict):
    spec: InfraSpec
    sources: list[SpecSource]
    prerequisites: list[str] = Field(default_factory=list,
                                     description="what operators must create before the first deploy")

    def defaults(self) -> list[SpecSource]:
        return [s for s in self.sources if s.defaulted]

    def origin(self, field: str) -> str | None:
        return next((s.origin for s in self.sources if s.field == field), None)


def prerequisites_of(spec: InfraSpec) -> list[str]:
    """What operators must create before the first deploy: the SSM parameters the templates read
    for every value the spec leaves open (never invented, never a placeholder)."""
    needed = []
    for field, suffix, what in (
            ("alert_email", "alert/email", "String: アラート通知先のメールアドレス。運用チームが作成"),
            ("certificate_arn", "alb/certificate-arn", "String: ALB 用 ACM 証明書の ARN。運用チームが作成"),
            ("image_tag", "app/image-tag", "String: アプリのイメージタグ（Git コミットハッシュ）。イメージのビルドが書き込む")):
        if any(getattr(env, field) is None for env in spec.environments):
            for env in spec.environments:
                needed.append(f"SSM パラメータ /{spec.project}/{env.name}/{suffix}（{what}）")
    tag = (f"SSM パラメータ /{spec.project}/<環境>/app/image-tag にそのタグを書き込む"
           if any(env.image_tag is None for env in spec.environments) else "パラメータファイルの ImageTag と同じタグにする")
    needed.append("registry スタックの作成後・compute スタックの作成前に、アプリのイメージを ECR リポジトリ（registry "
                  f"スタックの出力 RepositoryUri）へコミットハッシュのタグで push し、{tag}（イメージがないと compute の作成は"
                  "タスクを起動できずにロールバックする）")
    needed.append(app_user_step(spec))
    return needed


def app_user_step(spec: InfraSpec) -> str:
    """The one-time step that gives the application its own login. No terminal reaches the database
    (its security group admits the app security group only), so a one-off ECS task of the compute
    stack does it from the app subnets; the passwords never leave Secrets Manager except into it."""
    project, user = spec.project, spec.database.app_username
    subnets = "/".join(f"AppSubnet{n}Id" for n in range(1, spec.environments[0].azs + 1))
    return (f"compute スタックの初回作成は MaintenanceMode=true（タスク 0 台。アプリ用 DB ユーザー {user} がまだないため）で行い、"
            f"その後 1 度だけ DB 管理タスク（compute スタックの出力 DbAdminTaskDefinition、ファミリー {project}-<環境>-db-admin）を "
            f"`aws ecs run-task` で実行して {user} を作成する: クラスター {project}-<環境>-cluster、起動タイプ FARGATE、"
            f"サブネットは network スタックの出力 {subnets}、セキュリティグループは AppSecurityGroupId、パブリック IP なし"
            f"（DB のセキュリティグループが許可するのはアプリのセキュリティグループだけ）。パスワードはタスクが Secrets Manager の "
            f"{project}/<環境>/db/app-user とマスターユーザーのシークレットから読み、コマンドラインにもログにも出ない。"
            "何度実行しても同じ結果になる（既にあればパスワードを更新するだけ）。`aws ecs wait tasks-stopped` で終了を待ち、"
            "コンテナ db-admin の exitCode が 0 であることを確認してから、MaintenanceMode=false の変更セットで compute を更新し、"
            f"`aws ecs wait services-stable --cluster {project}-<環境>-cluster --services {project}-<環境>-app` でタスクの起動を待つ"
            "（タスクは Auto Scaling の最小タスク数で変更セットの完了後に起動し、CloudFormation はそれを待たない）。"
            "タスクの接続先は database スタックの DB（出力 DBEndpointAddress）で、DB が作り直されたとき（スナップショットからの"
            "置き換えなど）も同じ手順でユーザーを作り直せる")


def canonical_env(tag: str) -> bool:
    from sre_agent.environments import canonical

    return canonical(tag) is not None


def spec_from_file(path: Path) -> InfraSpec:
    """A structured spec (YAML or JSON) for tasks that come without design documents."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the spec file: {exc}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: "
                        f"{str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a spec is a mapping with project, environments, …")
    try:
        return InfraSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "spec"
        raise SpecError(f"{path}: {where}: {first['msg']} ({exc.error_count()} problem(s))") from None


def spec_from_documents(paths: list[Path], project: str | None = None) -> SpecResult:
    """The spec the design documents under `paths` describe, each value with its source."""
    from sre_agent.deliver.spec_documents import read_documents

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise SpecError(f"design documents not found: {', '.join(missing)}")
    return read_documents(paths, project)


__all__ = [
    "InfraSpec", "EnvironmentSpec", "DatabaseSpec", "CacheSpec", "SloSpec", "AlarmThresholds", "AlarmWindow",
    "BudgetSpec", "ALARM_WINDOWS", "app_user_step",
    "SpecResult", "SpecSource", "SpecError", "spec_from_file", "spec_from_documents", "prerequisites_of",
    "LOG_RETENTION_DAYS",
]
