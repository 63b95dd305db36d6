"""Reading an `InfraSpec` out of design documents.

The facts the review already extracts (`sre_agent.docfacts`: SLO rows, sizes from parameter
sheets, redundancy claims, monitoring tables, regions) are reused; the few a build needs and a
review does not (subnet CIDRs, task CPU / memory, the DB engine, the health-check path, the
project identifier) are read here the same way — by heading words and table headers, never by
section numbers. Every value records its `file:line`; a value the documents do not give gets
the conservative default with the reason, and a value that is only a placeholder
(`ops@example.co.jp`) is not used.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sre_agent.deliver.spec import (
    ALARM_WINDOWS, FARGATE_MEMORY, LOG_RETENTION_DAYS, AlarmThresholds, AlarmWindow, BudgetSpec, CacheSpec,
    DatabaseSpec, EnvironmentSpec, InfraSpec, SloSpec, SpecError, SpecResult, SpecSource, prerequisites_of,
)
from sre_agent.docfacts import values as v
from sre_agent.docfacts.extract import Unit, design_documents, environment_in, extract, has, units
from sre_agent.docfacts.facts import DocFacts, Where
from sre_agent.environments import canonical, is_prod
from sre_agent.project import Project, load_project

# Environment names as words (`prd`, `stg 環境`, `inventory-prd-db`), not paths (`/dev/null`).
ENV_WORD = re.compile(r"(?<![A-Za-z0-9_/.])(prd|prod|production|stg|staging|stage|dev|develop)(?![A-Za-z0-9_/])")
PROJECT_PREFIX = re.compile(
    r"(?<![A-Za-z0-9_/.-])([a-z][a-z0-9-]{0,29}[a-z0-9])-(?:<環境>|<env>|\$\{Environment\}|\$\{ENV\}|prd|prod|production|stg|staging|dev)(?![a-z0-9])")
PROJECT_ROW = re.compile(r"^\|\s*`?(?:ProjectName|プロジェクト識別子|プロジェクトID)`?\s*\|\s*`?([a-z][a-z0-9-]{1,30}[a-z0-9])`?\s*\|", re.M)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PLACEHOLDER_MAIL = re.compile(r"@example\.(?:com|org|net|jp|co\.jp)$|^(?:changeme|your|dummy|xxx)", re.I)
CIDR = re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3}/\d{1,2})\b")
ENV_ORDER = {"dev": 0, "test": 1, "stg": 2, "prod": 3}
# `5分 × 3回連続`, `1分 × 3回中2回`, `5分 × 1回`, `60秒 x 5回中3回`
EVALUATION = re.compile(r"(\d+)\s*(分|min|秒|sec|s)\w*\s*[×xX*]\s*(\d+)\s*回(?:\s*中\s*(\d+)\s*回)?")
# `直近 30 イメージ`, `最新 20 世代`: how many images the registry keeps
IMAGE_COUNT = re.compile(r"(?:直近|最新|最大)?\s*(\d+)\s*(?:イメージ|世代|個|images?)", re.I)
# `日曜 03:30〜04:30（JST）`, `02:00〜03:00 JST`; the RDS form `sun:18:30-sun:19:30`
JST_RANGE = re.compile(r"(?:([日月火水木金土])曜日?\s*)?(\d{1,2}):(\d{2})\s*[〜~～\-–]\s*(\d{1,2}):(\d{2})")
RDS_WINDOW = re.compile(r"((?:[a-z]{3}:)?\d{2}:\d{2}-(?:[a-z]{3}:)?\d{2}:\d{2})")
# an error-rate row of the ALB (the only HTTP front the templates build): `エラー率`, `error rate`
ERROR_RATE_ROW = ("エラー率", "error rate", "失敗率")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
JA_DAYS = dict(zip("月火水木金土日", DAYS))


@dataclass
class Found:
    """One value with the place it was read (or the reason it was defaulted)."""

    value: Any
    origin: str


@dataclass
class Reading:
    root: Path
    facts: DocFacts
    units: list[Unit]
    shared: dict[str, Found] = field(default_factory=dict)  # spec-wide fields
    per_env: dict[str, dict[str, Found]] = field(default_factory=dict)  # canonical env -> field
    notes: list[str] = field(default_factory=list)  # values seen and not used, with the reason

    def at(self, where: Where) -> str:
        path = self.root / where.file
        shown = os.path.relpath(path)
        return f"{shown if not shown.startswith('..') else path}:{where.line}"

    def put(self, name: str, value: Any, where: Where, env: str | None = None) -> None:
        """The first reading wins: documents repeat a value (要件定義 and 基本設計) in order."""
        target = self.shared if env is None else self.per_env.setdefault(env, {})
        target.setdefault(name, Found(value, self.at(where)))


def read_documents(paths: list[Path], project: str | None) -> SpecResult:
    loaded = load_project(paths)
    documents = design_documents(loaded)  # a technical standard describes no system
    if not documents:
        raise SpecError(f"no design documents (markdown) under {', '.join(str(p) for p in paths)}")
    reading = Reading(loaded.root, extract(loaded),
                      [u for d in documents for u in units(d.path, list(d.doc.sections()))])
    _from_facts(reading)
    for unit in reading.units:
        _cache(reading, unit)
        _subnets(reading, unit)
        _task_size(reading, unit)
        _parameter_row(reading, unit)
        _alert_email(reading, unit)
        _image_retention(reading, unit)
        _rds_windows(reading, unit)
    names = _environment_names(loaded)
    named = (project, "task: the project name given") if project else _project_name(reading, loaded)
    system = _system_name(reading, loaded)
    if system:
        reading.shared["description"] = system
    return _build(reading, names, named)


def _from_facts(r: Reading) -> None:
    facts = r.facts
    for region, where in facts.regions:
        r.put("region", region, where)
    for fact in facts.availability:
        r.put("slo.availability_percent", fact.percent, fact.where)
    for slo in facts.slos:
        if slo.error_rate_percent is not None and has(slo.name, ("エラー率", "error", "失敗率")):
            r.put("slo.error_rate_percent", slo.error_rate_percent, slo.where)
        latency = re.search(r"(?:(\d{2})\s*%\s*ile|p(\d{2}))[^0-9]*(\d+(?:\.\d+)?)\s*(ms|秒|s)(?![a-z])",
                            v.fold(slo.target), re.I)
        if latency and has(slo.name, ("レスポンス", "応答", "latency", "response")):
            pct = latency.group(1) or latency.group(2)
            ms = float(latency.group(3)) * (1 if latency.group(4) == "ms" else 1000)
            if pct in ("95", "99"):
                r.put(f"slo.latency_p{pct}_ms", int(ms), slo.where)
    for size in facts.sizes:
        env = size.environment
        if size.key in ("task_min", "task_max"):
            key = "min_capacity" if size.key == "task_min" else "max_capacity"
            r.put(key, int(size.value), size.where, env)
        elif size.key == "task_desired":
            r.put("task_desired", int(size.value), size.where, env)
        elif size.key == "db_instance_class" and str(size.value).startswith("db."):
            r.put("db_instance_class", size.value, size.where, env)
        elif size.key == "db_instance_class" and str(size.value).startswith("cache."):
            r.put("cache_node_type", size.value, size.where, env)
        elif size.key == "db_storage_gb":
            r.put("db_allocated_storage_gb", int(size.value), size.where, env)
            limit = re.search(r"(?:上限|最大|max)\D{0,6}(\d+)\s*(GB|GiB|TB)", v.fold(size.text), re.I)
            if limit:
                gb = int(limit.group(1)) * (1024 if limit.group(2).upper().startswith("T") else 1)
                r.put("db_max_allocated_storage_gb", gb, size.where, env)
        elif size.key == "backup_retention_days":
            r.put("db_backup_retention_days", int(size.value), size.where, env)
        elif size.key in ("app_log_retention_days", "log_retention_days"):
            r.put("log_retention_days", int(size.value), size.where, env)
        elif size.key == "rds_log_retention_days":
            r.put("db_log_retention_days", int(size.value), size.where, env)
    for claim in facts.redundancy:
        if claim.component == "rds":
            r.put("db_multi_az", True, claim.where, "prod")
            for env in _disabled_environments(claim.text):
                r.put("db_multi_az", False, claim.where, env)
        if claim.component == "elasticache":
            r.put("cache", True, claim.where)
    for row in facts.monitoring:
        if is_prod(row.environment):
            _monitoring_row(r, row.metric, row.threshold, row.where, row.period)


def _disabled_environments(text: str) -> list[str]:
    """`stg は無効` / `検証環境はシングルAZ`: the environments a redundancy row turns off."""
    found = []
    for m in re.finditer(r"(prd|prod|stg|staging|dev|検証|開発)\s*(?:環境)?\s*(?:は|:)\s*(無効|なし|シングル\s*AZ|false|single)",
                         v.fold(text), re.I):
        env = canonical(m.group(1))
        if env:
            found.append(env)
    return found


def _monitoring_row(r: Reading, metric: str, threshold: str, where: Where, period: str = "") -> None:
    """One row of the monitoring table: the threshold, and how long it must hold (the window)."""
    name = metric.casefold()
    if has(name, ("budgets", "予算", "利用料", "コスト", "cost")):
        _budget_row(r, threshold, where)
        return
    number = v.number(threshold)
    if number is None:
        return
    key = None
    if "ecs" in name and "cpu" in name:
        key = "ecs_cpu"
        r.put("alarms.ecs_cpu_percent", int(number), where)
    elif "ecs" in name and ("memory" in name or "メモリ" in name):
        key = "ecs_memory"
        r.put("alarms.ecs_memory_percent", int(number), where)
    elif "rds" in name and "cpu" in name:
        key = "rds_cpu"
        r.put("alarms.rds_cpu_percent", int(number), where)
    elif "freestorage" in name.replace(" ", "") or "空きストレージ" in name:
        gib = v.gigabytes(threshold)
        if gib:
            key = "rds_free_storage"
            r.put("alarms.rds_free_storage_gib", int(gib), where)
    elif "connections" in name or "接続数" in name:
        key = "rds_connections"
        r.put("alarms.rds_connections", int(number), where)
    elif "targetresponsetime" in name.replace(" ", "") or "応答時間" in name:
        key = "response_time"
        ms = number * (1000 if re.search(r"\d\s*(秒|s)\b", v.fold(threshold)) else 1)
        r.put("alarms.response_time_p95_ms", int(ms), where)
    elif (("5xx" in name and ("率" in name or "rate" in name or "ratio" in name)) or has(name, ERROR_RATE_ROW)) \
            and "%" in v.fold(threshold) and "4xx" not in name:
        key = "error_rate"
        r.put("alarms.error_rate_percent", number, where)
    elif "5xx_count" in name or ("5xx" in name and ("件" in threshold or "count" in name)):
        key = "target_5xx"
        r.put("alarms.target_5xx_per_minute", int(number), where)
    elif ("healthyhost" in name.replace(" ", "") or "正常" in name) and not has(name, ("unhealthy", "異常", "非正常")):
        key = "healthy_hosts"
    window = _window(period)
    if key and window:
        r.put(f"alarms.windows.{key}", window, where)


def _window(text: str) -> AlarmWindow | None:
    """`5分 × 3回連続` → 300 s, 3 of 3; `1分 × 3回中2回` → 60 s, 2 of 3; else None (日次, 即時)."""
    m = EVALUATION.search(v.fold(text))
    if not m:
        return None
    seconds = int(m.group(1)) * (60 if m.group(2) in ("分", "min") else 1)
    evaluations = int(m.group(3))
    try:
        return AlarmWindow(period=seconds, evaluations=evaluations, datapoints=int(m.group(4) or evaluations))
    except ValidationError:
        return None


def _budget_row(r: Reading, threshold: str, where: Where) -> None:
    """`月額予算 600USD の 80%（実績）/ 100%（予測）`: AWS Budgets in USD (the unit the budget is kept in)."""
    amounts = [m for m in v.money(threshold) if m.currency == "USD"]
    if not amounts:
        return
    r.put("budget.amount_usd", amounts[0].amount, where)
    folded = v.fold(threshold)
    for m in re.finditer(r"(\d+(?:\.\d+)?)\s*%\s*[(（]?\s*(実績|予測|actual|forecast)", folded, re.I):
        kind = "actual" if m.group(2).lower() in ("実績", "actual") else "forecast"
        r.put(f"budget.{kind}_percent", float(m.group(1)), where)


def _image_retention(r: Reading, unit: Unit) -> None:
    """A backup row about the container images (`コンテナイメージ（ECR…） | 直近 30 イメージ`)."""
    if not unit.cells or not has(unit.text, ("ecr", "コンテナイメージ", "container image")):
        return
    for cell in unit.cells[1:]:
        m = IMAGE_COUNT.search(v.fold(cell))
        if m and has(cell, ("直近", "最新", "世代", "保持", "イメージ", "image")) and not has(cell, ("ecr",)):
            r.put("image_retention_count", int(m.group(1)), unit.where)
            return


def _rds_windows(r: Reading, unit: Unit) -> None:
    """`| メンテナンスウィンドウ | 日曜 03:30〜04:30（JST） | UTC sun:18:30-sun:19:30 |`: the JST text is
    the intent; UTC is computed from it. A UTC column that disagrees is a design error, noted."""
    if not unit.cells:
        return
    label = v.fold(unit.cells[0]).casefold().replace(" ", "")
    kind = "maintenance_window" if has(label, ("メンテナンスウィンドウ", "maintenancewindow")) \
        else "backup_window" if has(label, ("バックアップウィンドウ", "backupwindow")) else None
    if kind is None:
        return
    rest = " | ".join(v.fold(c) for c in unit.cells[1:])
    written = RDS_WINDOW.search(rest.lower())
    jst = next((m for c in unit.cells[1:] if "jst" in v.fold(c).casefold() or "日本時間" in c
                for m in [JST_RANGE.search(v.fold(c))] if m), None)
    computed = _utc_window(jst, kind == "maintenance_window") if jst else None
    if computed:
        r.put(f"database.{kind}", computed, unit.where)
        if written and written.group(1) != computed:
            r.notes.append(f"{r.at(unit.where)} の{'メンテナンス' if kind == 'maintenance_window' else 'バックアップ'}"
                           f"ウィンドウ: 設計書の UTC 表記 {written.group(1)} は JST 表記（{jst.group(0)}）と合わない。"
                           f"JST から換算した {computed} を使う（設計書の UTC 表記の修正が必要）")
    elif written and (kind == "backup_window") == (":" not in written.group(1)[:4]):
        r.put(f"database.{kind}", written.group(1), unit.where)


def _utc_window(m: re.Match, weekly: bool) -> str | None:
    """JST (UTC+9) → the RDS window in UTC; a weekly window needs the day (日曜 → sat when it crosses midnight)."""
    day = JA_DAYS.get(m.group(1) or "")
    if weekly and day is None:
        return None
    parts = []
    for hour, minute in ((int(m.group(2)), int(m.group(3))), (int(m.group(4)), int(m.group(5)))):
        total = hour * 60 + minute - 9 * 60
        shift, total = (-1, total + 1440) if total < 0 else (0, total)
        text = f"{total // 60:02d}:{total % 60:02d}"
        if weekly:
            text = f"{DAYS[(DAYS.index(day) + shift) % 7]}:{text}"
        parts.append(text)
    end_hour = int(m.group(4)) * 60 + int(m.group(5))
    if weekly and end_hour < int(m.group(2)) * 60 + int(m.group(3)):  # ends after midnight JST: next day
        day_end = parts[1].split(":", 1)
        parts[1] = f"{DAYS[(DAYS.index(day_end[0]) + 1) % 7]}:{day_end[1]}"
    return "-".join(parts)


CACHE_WORDS = ("elasticache", "redis", "valkey")


def _cache(r: Reading, unit: Unit) -> None:
    """A component row naming ElastiCache / Redis / Valkey: the design has a cache. `レプリカ 2 台`
    gives the replicas; the engine is the one the row names."""
    if unit.table is None or not unit.cells or not has(unit.cells[0], CACHE_WORDS):
        return
    row = v.fold(unit.text)
    r.put("cache", True, unit.where)
    r.put("cache.engine", "redis" if has(unit.cells[0], ("redis",)) and not has(unit.cells[0], ("valkey",))
          else "valkey", unit.where)
    replicas = re.search(r"レプリカ\s*(\d+)\s*(?:台|ノード|個)|(\d+)\s*replicas?", row, re.I)
    if replicas:
        r.put("cache.replicas", int(replicas.group(1) or replicas.group(2)), unit.where)


def _subnets(r: Reading, unit: Unit) -> None:
    """`| サブネット名 | CIDR | AZ | タイプ |`: tiers from the type (or name) column, per environment."""
    table = unit.table
    if table is None or table.column("cidr") is None:
        return
    cidr_cell = unit.cells[table.column("cidr")] if table.column("cidr") < len(unit.cells) else ""
    match = CIDR.search(cidr_cell)
    if not match:
        return
    cidr = match.group(1)
    type_col = table.column("タイプ", "種別", "type", "用途", "区分")
    label = " ".join(c for i, c in enumerate(unit.cells) if i != table.column("cidr")).casefold()
    kind = unit.cells[type_col].casefold() if type_col is not None and type_col < len(unit.cells) else label
    env = _env_of(unit) or "all"
    if has(label, ("vpc",)) and not has(label, ("subnet", "サブネット")):
        r.put("vpc_cidr", cidr, unit.where, env)
        return
    tier = ("data" if has(kind + " " + label, ("データ", "data", "db", "rds", "database", "isolated"))
            else "public" if has(kind, ("パブリック", "public"))
            else "app" if has(kind, ("プライベート", "private", "アプリ", "app", "protected")) else None)
    if tier:
        bucket = r.per_env.setdefault(env, {}).setdefault(f"{tier}_subnets", Found([], r.at(unit.where)))
        if cidr not in bucket.value:
            bucket.value.append(cidr)


def _env_of(unit: Unit) -> str | None:
    env_col = unit.table.column("環境", "environment") if unit.table is not None else None
    if env_col is not None and env_col < len(unit.cells):
        return canonical(unit.cells[env_col]) or environment_in(unit.cells[env_col])
    for title in reversed(unit.section.path()):
        env = environment_in(title)
        if env:
            return env
    return None


def _task_size(r: Reading, unit: Unit) -> None:
    """`| 環境 | CPU | メモリ | タスク数 |`: 0.5 vCPU → 512 units, 1GB → 1024 MiB."""
    table = unit.table
    if table is None:
        return
    cpu_col, mem_col = table.column("cpu"), table.column("メモリ", "memory")
    env = _env_of(unit) if table.column("環境", "environment") is not None else None
    if cpu_col is None or mem_col is None or env is None or max(cpu_col, mem_col) >= len(unit.cells):
        return
    cpu = re.search(r"(\d+(?:\.\d+)?)\s*(vcpu|units?)?", v.fold(unit.cells[cpu_col]), re.I)
    memory = re.search(r"(\d+(?:\.\d+)?)\s*(GB|GiB|MB|MiB)", v.fold(unit.cells[mem_col]), re.I)
    if cpu:
        units_ = float(cpu.group(1)) * (1024 if (cpu.group(2) or "vcpu").lower() == "vcpu" and float(cpu.group(1)) <= 16 else 1)
        r.put("task_cpu", int(units_), unit.where, env)
    if memory:
        mib = float(memory.group(1)) * (1024 if memory.group(2).upper().startswith("G") else 1)
        r.put("task_memory", int(mib), unit.where, env)


def _parameter_row(r: Reading, unit: Unit) -> None:
    """`| パラメーター | 値 | 備考 |` rows the review does not need: engine, ports, health check."""
    table = unit.table
    if table is None or len(unit.cells) < 2 or table.column("値", "設定値", "value") is None:
        return
    label = v.fold(unit.cells[0]).replace(" ", "").casefold()
    value = v.fold(unit.cells[table.column("値", "設定値", "value")])
    if label in ("エンジン", "engine", "dbエンジン", "データベースエンジン"):
        engine = re.search(r"(postgres(?:ql)?|mysql)\s*(\d+(?:\.\d+)*)?", value, re.I)
        if engine:
            r.put("database.engine", "postgres" if engine.group(1).lower().startswith("postgres") else "mysql", unit.where)
            if engine.group(2):
                r.put("database.engine_version", engine.group(2), unit.where)
    elif "ヘルスチェックパス" in label or label in ("healthcheckpath",):
        path = re.search(r"(/[\w./-]*)", value)
        if path:
            r.put("health_check_path", path.group(1), unit.where)
    elif "猶予" in label or "graceperiod" in label:
        seconds = v.minutes(value)
        if seconds is not None:
            r.put("health_check_grace_seconds", int(round(seconds * 60)), unit.where)
    elif "コンテナポート" in label or label in ("containerport", "アプリケーションポート", "ポート番号"):
        port = v.number(value)
        if port:
            r.put("container_port", int(port), unit.where)
    elif "ノードタイプ" in label or "nodetype" in label:
        node = re.search(r"\b(cache\.[a-z0-9]+\.[a-z0-9]+)\b", value)
        if node:
            r.put("cache_node_type", node.group(1), unit.where, _env_of(unit) or "prod")
    elif label in ("vpccidr", "vpc"):
        match = CIDR.search(value)
        if match:
            r.put("vpc_cidr", match.group(1), unit.where, _env_of(unit) or "all")
    elif "マルチaz" in label and has(value, ("無効", "なし", "false", "シングル")):
        r.put("db_multi_az", False, unit.where, _env_of(unit) or "prod")


def _alert_email(r: Reading, unit: Unit) -> None:
    if not has(unit.text, ("通知", "アラート", "alert", "sns", "メール")):
        return
    for address in EMAIL.findall(unit.text):
        if PLACEHOLDER_MAIL.search(address):
            note = (f"{r.at(unit.where)} の通知先 {address} は例示用ドメインのため使わない"
                    "（SSM パラメータから読む）")
            if note not in r.notes:
                r.notes.append(note)
            continue
        r.put("alert_email", address, unit.where, _env_of(unit) or "all")


def _environment_names(loaded: Project) -> list[str]:
    """The environment names as the documents spell them (prd, not prod), in deploy order. A name
    seen once is not an environment of the system (a stray word); without any, stg and prd."""
    spelled: dict[str, Counter] = {}
    for document in design_documents(loaded):
        for word in ENV_WORD.findall(document.text):
            env = canonical(word)
            if env:
                spelled.setdefault(env, Counter())[word.lower()] += 1
    names = {env: counter.most_common(1)[0][0] for env, counter in spelled.items()
             if sum(counter.values()) >= 2}
    if "prod" not in names:
        names["prod"] = "prd"
    if len(names) == 1:
        names["stg"] = "stg"
    return [names[env] for env in sorted(names, key=lambda e: ENV_ORDER.get(e, 1))]


def _project_name(r: Reading, loaded: Project) -> tuple[str, str]:
    """The identifier the documents use in resource names (`inventory-<環境>-alert`), with the
    place it was first read; a parameter sheet's `| ProjectName | inventory |` row wins."""
    counts: Counter = Counter()
    first: dict[str, str] = {}
    for document in design_documents(loaded):
        written = PROJECT_ROW.search(document.text)
        if written:
            line = document.text.count("\n", 0, written.start()) + 1
            return written.group(1), r.at(Where(document.path, line))
        for m in PROJECT_PREFIX.finditer(document.text):
            counts[m.group(1)] += 1
            first.setdefault(m.group(1), r.at(Where(document.path, document.text.count("\n", 0, m.start()) + 1)))
    for name, _ in counts.most_common():
        if name not in ("release", "app", "aws", "cdk"):
            return name, f"{first[name]}（`{name}-<環境>-…` の命名、{counts[name]} 箇所）"
    raise SpecError("the design documents name no project identifier (e.g. `inventory-prd-...`): "
                    "pass the project name")


DOCUMENT_KINDS = ("企画書", "要件定義書", "基本設計書", "詳細設計書", "設計書", "仕様書", "目次")


def _system_name(r: Reading, loaded: Project) -> Found | None:
    """`在庫管理システム` from titles like 「在庫管理システム 要件定義書」: the words before the
    document kind, the most common across the documents."""
    counts: Counter = Counter()
    where: dict[str, str] = {}
    for document in design_documents(loaded):
        title = v.fold(document.doc.title)
        if not any(kind in title for kind in DOCUMENT_KINDS):
            continue
        name = re.split("|".join(DOCUMENT_KINDS), title)[0].strip()
        if name:
            counts[name] += 1
            where.setdefault(name, r.at(Where(document.path, 1)))
    if not counts:
        return None
    name = counts.most_common(1)[0][0]
    return Found(name, f"{where[name]}（文書タイトル {counts[name]} 件）")


def _build(r: Reading, names: list[str], named: tuple[str, str]) -> SpecResult:
    sources: list[SpecSource] = []
    project, project_origin = named

    def take(name: str, default: Any, why: str) -> Any:
        found = r.shared.get(name)
        value, origin = (found.value, found.origin) if found else (default, f"default: {why}")
        sources.append(SpecSource(field=name, value=str(value), origin=origin))
        return value

    spec_values: dict[str, Any] = {"project": project}
    sources.append(SpecSource(field="project", value=project, origin=project_origin))
    spec_values["description"] = take("description", "", "設計書のタイトルにシステム名なし")
    spec_values["region"] = take("region", "ap-northeast-1", "設計書にリージョンの記載なし（東京）")
    spec_values["container_port"] = take("container_port", 8080, "設計書にコンテナポートの記載なし")
    spec_values["health_check_path"] = take("health_check_path", "/health", "設計書にヘルスチェックパスの記載なし")
    spec_values["health_check_grace_seconds"] = take(
        "health_check_grace_seconds", 90, "設計書に猶予期間の記載なし（起動の遅いアプリでも再起動ループしない値）")
    db = DatabaseSpec()
    spec_values["database"] = DatabaseSpec(
        engine=take("database.engine", db.engine, "設計書に DB エンジンの記載なし"),
        engine_version=take("database.engine_version", db.engine_version, "設計書にエンジンバージョンの記載なし"),
        name=project.replace("-", "_"), master_username=f"{project.replace('-', '_')}_admin",
        app_username=f"{project.replace('-', '_')}_app",
        backup_window=take("database.backup_window", db.backup_window,
                           "設計書にバックアップウィンドウの記載なし（02:00〜03:00 JST）"),
        maintenance_window=take("database.maintenance_window", db.maintenance_window,
                                "設計書にメンテナンスウィンドウの記載なし（日曜 03:30〜04:30 JST）"))
    spec_values["image_retention_count"] = take(
        "image_retention_count", 30, "設計書にイメージの保持数の記載なし（ロールバック先として直近 30 イメージ）")
    if "budget.amount_usd" in r.shared:
        spec_values["budget"] = BudgetSpec(
            amount_usd=take("budget.amount_usd", 0, ""),
            actual_percent=take("budget.actual_percent", 80, "設計書に実績の通知割合の記載なし（80 %）"),
            forecast_percent=take("budget.forecast_percent", 100, "設計書に予測の通知割合の記載なし（100 %）"))
    if "cache" in r.shared:
        take("cache", True, "")
        engine = take("cache.engine", "valkey", "設計書にキャッシュエンジンの記載なし（Valkey）")
        spec_values["cache"] = CacheSpec(
            engine=engine,
            engine_version=take("cache.engine_version", "8.0" if engine == "valkey" else "7.1",
                                "設計書にエンジンバージョンの記載なし"),
            replicas=take("cache.replicas", 1, "設計書にレプリカ数の記載なし（自動フェイルオーバーに最低 1 台）"))
    slo = SloSpec()
    availability = take("slo.availability_percent", slo.availability_percent, "設計書に可用性目標の記載なし")
    spec_values["slo"] = SloSpec(
        availability_percent=availability,
        error_rate_percent=take("slo.error_rate_percent", round(100 - availability, 4),
                                "設計書にエラー率の目標なし（可用性目標の裏返し）"),
        latency_p95_ms=take("slo.latency_p95_ms", None if "slo.latency_p99_ms" in r.shared else slo.latency_p95_ms,
                            "設計書は p99 の目標のみ（p95 のアラームは置かない）" if "slo.latency_p99_ms" in r.shared
                            else "設計書に応答時間の目標なし"),
        latency_p99_ms=take("slo.latency_p99_ms", None, "設計書に p99 の目標なし（アラームを置かない）"))
    alarm_defaults = AlarmThresholds()
    spec_values["alarms"] = AlarmThresholds(**{
        key: take(f"alarms.{key}", getattr(alarm_defaults, key), "設計書の監視項目に記載なし")
        for key in AlarmThresholds.model_fields if key != "windows"}, windows={
        key: take(f"alarms.windows.{key}", alarm_defaults.windows[key], "設計書の監視項目に評価期間の記載なし")
        for key in ALARM_WINDOWS})
    environments = [_environment(r, name, sources) for name in names]
    spec_values["environments"] = environments
    try:
        spec = InfraSpec(**spec_values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SpecError(f"the documents describe an inconsistent system: "
                        f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    prerequisites = list(r.notes) + prerequisites_of(spec)
    return SpecResult(spec=spec, sources=sources, prerequisites=prerequisites)


ENV_DEFAULTS: dict[str, tuple[Any, str]] = {
    "task_cpu": (512, "設計書にタスク CPU の記載なし（0.5 vCPU）"),
    "task_memory": (1024, "設計書にタスクメモリの記載なし（1 GB）"),
    "min_capacity": (2, "設計書に最小タスク数の記載なし（本番は 2 以上が標準）"),
    "max_capacity": (4, "設計書に最大タスク数の記載なし（最小の 2 倍）"),
    "db_instance_class": ("db.t4g.medium", "設計書に DB インスタンスクラスの記載なし"),
    "db_allocated_storage_gb": (50, "設計書にストレージ容量の記載なし"),
    "db_max_allocated_storage_gb": (100, "設計書に自動拡張上限の記載なし（割り当ての 2 倍）"),
    "db_multi_az": (True, "設計書にマルチAZ の記載なし（本番標準どおり有効）"),
    "db_backup_retention_days": (14, "設計書にバックアップ保持期間の記載なし（標準の推奨 14 日）"),
    "cache_node_type": ("cache.t4g.small", "設計書にキャッシュノードタイプの記載なし"),
    "log_retention_days": (90, "設計書にログ保持期間の記載なし"),
    "db_log_retention_days": (30, "設計書に DB ログの保持期間の記載なし"),
}


def _environment(r: Reading, name: str, sources: list[SpecSource]) -> EnvironmentSpec:
    env = canonical(name) or name
    own, shared_env, prod = r.per_env.get(env, {}), r.per_env.get("all", {}), r.per_env.get("prod", {})
    values: dict[str, Any] = {"name": name}

    def take(key: str, default: Any, why: str) -> Any:
        if key in own:
            value, origin = own[key].value, own[key].origin
        elif key in shared_env:
            value, origin = shared_env[key].value, shared_env[key].origin
        elif key in prod:
            value = prod[key].value
            origin = prod[key].origin if is_prod(name) else \
                f"default: 設計書は本番の値のみ（{prod[key].origin}）。{name} も同じ値にする"
        else:
            value, origin = default, f"default: {why}"
        sources.append(SpecSource(field=f"environments.{name}.{key}", value=str(value), origin=origin))
        return value

    for key, (default, why) in ENV_DEFAULTS.items():
        if key != "cache_node_type" or "cache" in r.shared:  # no cache, no node type to report
            values[key] = take(key, default, why)
    values["desired_count"] = take("task_desired", values["min_capacity"], "希望タスク数は最小タスク数と同じ")
    if values["task_memory"] not in FARGATE_MEMORY.get(values["task_cpu"], ()):
        raise SpecError(f"{name}: the documents give a task size Fargate does not offer "
                        f"({values['task_cpu']} CPU units / {values['task_memory']} MiB)")
    for key in ("log_retention_days", "db_log_retention_days"):  # CloudWatch accepts fixed periods only
        values[key] = next(d for d in LOG_RETENTION_DAYS if d >= values[key])
    values.update(_network(r, name, env, take))
    values["alert_email"] = take("alert_email", None, "設計書に実在の通知先なし（SSM パラメータから読む）")
    try:
        return EnvironmentSpec(**values)
    except ValidationError as exc:
        raise SpecError(f"the documents describe an inconsistent {name} environment: "
                        f"{exc.errors()[0]['msg']}") from None


def _network(r: Reading, name: str, env: str, take: Any) -> dict[str, Any]:
    """Subnets from the documents; the VPC CIDR the smallest /16 holding them when not written;
    a tier the documents leave out (often the data tier) takes the next free /24s."""
    public = take("public_subnets", ["10.0.0.0/24", "10.0.1.0/24"], "設計書にサブネット表なし")
    app = take("app_subnets", ["10.0.10.0/24", "10.0.11.0/24"], "設計書にサブネット表なし")
    written = [ipaddress.ip_network(c) for c in public + app]
    supernet = ipaddress.ip_network(f"{written[0].network_address}/16", strict=False)
    vpc = take("vpc_cidr", str(supernet), "設計書に VPC CIDR の記載なし（サブネットを含む /16）")
    taken = {ipaddress.ip_network(c) for c in public + app}
    free = (s for s in ipaddress.ip_network(vpc).subnets(new_prefix=24)
            if s.network_address.packed[2] >= 20 and not any(s.overlaps(t) for t in taken))
    data_default = [str(subnet) for subnet, _ in zip(free, public)]
    if len(data_default) < len(public):
        raise SpecError(f"{name}: no free /24 left in {vpc} for the data subnets: give them in the documents")
    data = take("data_subnets", data_default,
                "設計書にデータ層サブネットなし（RDS・キャッシュ用に VPC 内の空き /24 を AZ ごとに割り当て）")
    return {"vpc_cidr": vpc, "public_subnets": public, "app_subnets": app, "data_subnets": data}
