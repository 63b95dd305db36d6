"""Reading facts out of design documents by heading keywords and table headers.

Documents differ in layout (one 基本設計書, a folder per phase, a parameter sheet per domain),
never in vocabulary: a cost table has a 月額 column and a 合計 row wherever it lives, an RTO is
written RTO or 目標復旧時間. So every extractor looks at *units* — a table row with its header
and section, or one source line of prose — and keys on words, never on section numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from sre_agent.environments import canonical
from sre_agent.models import FileKind
from sre_agent.parsing.markdown import Section, Table
from sre_agent.docfacts import values as v
from sre_agent.docfacts.facts import (
    AvailabilityFact, BudgetFact, ChecklistClaim, CostLine, CostTable, DeployClaim, DocFacts,
    ErrorBudgetFact,
    MonitoringRow, RecoveryFact, RedundancyClaim, SizeFact, SloFact, Where,
)

AVAILABILITY_WORDS = ("稼働率", "可用性", "availability", "sla", "稼動率")
ERROR_BUDGET_WORDS = ("エラーバジェット", "エラー予算", "error budget")
ERROR_RATE_WORDS = ("エラー率", "error rate", "5xx率", "5xxエラー率", "失敗率", "エラーレート")
SUCCESS_RATE_WORDS = ("成功率", "success rate")
MAINTENANCE_WORDS = ("計画停止", "メンテナンス", "保守", "maintenance")
SLO_TITLE_WORDS = ("slo", "sli", "サービスレベル", "service level")
REDUNDANCY_WORDS = ("マルチaz", "multi-az", "multiaz", "2az", "複数az", "冗長", "azごと", "az ごと",
                    "各az", "スタンバイ", "最小2タスク", "2タスク", "2台")
NEGATIVE_WORDS = ("シングルaz", "単一az構成", "なし", "無効", "しない", "不要", "1台のみ")
MONEY_HEADER = ("月額", "年額", "費用", "金額", "コスト", "料金", "cost", "monthly", "yearly",
                "annual", "per month")
NOT_MONEY_HEADER = ("単価", "根拠", "備考", "unit", "スペック", "数量", "内訳", "時間")
COST_TITLE_WORDS = ("コスト", "費用", "見積", "試算", "料金", "cost")
TOTAL_WORDS = ("合計", "総計", "総額", "total")
SUBTOTAL_WORDS = ("小計", "subtotal")
POSTMORTEM_WORDS = ("ポストモーテム", "postmortem", "post-mortem", "障害報告書")
TEMPLATE_WORDS = ("テンプレート", "template", "様式", "雛形", "ひな形")
INCIDENT_REPORT_WORDS = ("インシデントレポート", "インシデント報告", "障害報告", "事後レビュー", "振り返り",
                         "incident report", "incident review")
# The parts of a postmortem (Google SRE book's example), as a report outline names them.
POSTMORTEM_PARTS = (("影響", ("影響", "impact")), ("原因", ("原因", "root cause")),
                    ("タイムライン", ("タイムライン", "時系列", "経緯", "timeline")),
                    ("再発防止策", ("再発防止", "対策", "action item")),
                    ("担当・期限", ("担当", "期限", "owner", "due")))
ROLLBACK_WORDS = ("ロールバック", "切り戻し", "切戻し", "rollback", "ロールバック手順")
REGION_WORDS = {"ap-northeast-1": ("ap-northeast-1", "東京リージョン", "東京region"),
                "us-east-1": ("us-east-1", "バージニア北部", "バージニアリージョン", "n. virginia")}
DATE_STATED = re.compile(r"(\d{4}\s*年\s*\d{1,2}\s*月|\d{4}[-/]\d{1,2})[^|\n]{0,12}(時点|現在|価格|料金)"
                         r"|(as of|時点)\s*\d{4}")
CHECKBOX = re.compile(r"^\s*(?:[-*+]\s*)?\[(?P<mark>[xX✓✔])\]\s*(?P<text>.+)$")
COMPONENTS = (
    ("nat", ("nat",)),
    ("elasticache", ("elasticache", "redis", "valkey", "memcached", "キャッシュ")),
    ("rds", ("rds", "aurora", "db", "データベース", "postgresql", "mysql")),
    ("ecs", ("ecs", "fargate", "タスク", "コンテナ", "アプリケーションサーバ")),
    ("alb", ("alb", "ロードバランサ", "elb", "nlb")),
)


def has(text: str, words: tuple[str, ...]) -> bool:
    lowered = text.casefold()
    return any(word.casefold() in lowered for word in words)


# Services that share a word with one of ours (コンテナ**レジストリ**, RDS の**バックアップ**先 S3)
# but are not that component: a row about them says nothing about the component's redundancy.
OTHER_SERVICES = ("ecr", "コンテナレジストリ", "コンテナイメージ", "レジストリ", "registry", "s3",
                  "バックアップ", "backup", "スナップショット", "snapshot", "cloudfront", "route 53",
                  "route53", "secrets manager", "パラメータストア", "parameter store")


def _names_other_service(text: str) -> bool:
    lowered = v.fold(text).casefold()
    return any(re.search(rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])", lowered) for w in OTHER_SERVICES)


def component_of(text: str) -> str | None:
    lowered = v.fold(text).casefold()
    for phrase in ("コンテナレジストリ", "コンテナイメージ"):  # ECR, not the ECS service
        lowered = lowered.replace(phrase, " ")
    for name, words in COMPONENTS:
        if any(re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", lowered) for w in words):
            return name
    return None


def environments_in(text: str) -> list[str]:
    """Canonical environments named in the text, in order (本番, stg, ステージング, prd …)."""
    found = []
    for token in re.findall(r"[A-Za-z]+|本番|検証|開発|ステージング", v.fold(text)):
        env = canonical(token) or ("stg" if token == "ステージング" else None)
        if env:
            found.append(env)
    return found


def environment_in(text: str) -> str | None:
    found = environments_in(text)
    return found[0] if found else None


@dataclass
class Unit:
    """One table row (cells + header) or one prose line, with its section."""

    doc_path: str
    section: Section
    line: int
    text: str
    cells: tuple[str, ...] = ()
    table: Table | None = None

    @property
    def where(self) -> Where:
        return Where(self.doc_path, self.line)

    def titles(self) -> str:
        return " / ".join(self.section.path())


def units(doc_path: str, sections: list[Section]) -> list[Unit]:
    result = []
    for section in sections:
        for paragraph in section.paragraphs:
            for offset, text in enumerate(paragraph.text.split("\n")):
                if text.strip():
                    result.append(Unit(doc_path, section, paragraph.line + offset, text))
        for table in section.tables:
            for row, line in zip(table.rows, table.row_lines):
                result.append(Unit(doc_path, section, line, " | ".join(row), row, table))
    return result


def is_readme(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].casefold()
    return name.startswith(("readme", "changelog", "contributing", "license", "notice", "code_of_conduct"))


def design_documents(project) -> list:
    return [d for d in project.documents if d.kind is FileKind.DESIGN_DOC]


def extract(project) -> DocFacts:
    facts = DocFacts()
    docs = design_documents(project)
    # A README explains a repository; it is not a 設計書. A project with READMEs only has no
    # design documents for the completeness rules (SLO, RTO/RPO, cost estimate) to miss things in.
    facts.design_doc_count = sum(1 for d in docs if not is_readme(d.path))
    for document in docs:
        sections = list(document.doc.sections())
        doc_units = units(document.path, sections)
        _documents_and_sections(facts, document, sections)
        for unit in doc_units:
            _availability(facts, unit)
            _error_budget(facts, unit)
            _slo(facts, unit)
            _recovery(facts, unit)
            _redundancy(facts, unit)
            _single_az_decision(facts, unit)
            _deliberate_setting(facts, unit)
            _fixed_capacity_decision(facts, unit)
            _sizes(facts, unit)
            _monitoring(facts, unit)
            _budget(facts, unit, document.path)
            _checklist(facts, unit)
            _deploy(facts, unit)
        for section in sections:
            for table in section.tables:
                cost = _cost_table(document, section, table)
                if cost is not None:
                    facts.cost_tables.append(cost)
    return facts


def _documents_and_sections(facts: DocFacts, document, sections: list[Section]) -> None:
    name = PurePosixPath(document.path).name
    if has(name, POSTMORTEM_WORDS) or (has(document.doc.title, POSTMORTEM_WORDS)
                                       and has(name + document.doc.title, TEMPLATE_WORDS)):
        facts.postmortem_templates.append(Where(document.path, 1))
    for section in sections:
        if section.level == 0:
            continue
        if has(section.title, POSTMORTEM_WORDS) and has(section.title, TEMPLATE_WORDS):
            facts.postmortem_templates.append(Where(document.path, section.line))
        elif has(section.title, INCIDENT_REPORT_WORDS + POSTMORTEM_WORDS):
            text = " ".join([p.text for p in section.paragraphs]
                            + [" ".join((*t.header, *(c for row in t.rows for c in row))) for t in section.tables])
            named = [part for part, words in POSTMORTEM_PARTS if has(text, words)]
            if len(named) >= 3 and "原因" in named:  # an outline of the report, not a mention
                facts.incident_report_outlines.append(
                    (Where(document.path, section.line), tuple(p for p, _ in POSTMORTEM_PARTS if p not in named)))
        if has(section.title, ROLLBACK_WORDS) and (section.paragraphs or section.code_blocks
                                                    or section.tables or section.children):
            facts.rollback_procedures.append(Where(document.path, section.line))
        if has(section.title, SLO_TITLE_WORDS):
            facts.slo_sections.append(Where(document.path, section.line))
    text = document.text.casefold()
    for region, words in REGION_WORDS.items():
        for word in words:
            index = text.find(word.casefold())
            if index >= 0:
                facts.regions.append((region, Where(document.path, text.count("\n", 0, index) + 1)))
                break


def _goal_percents(text: str) -> list[float]:
    """Percentages that can be availability targets (90–100 %, not a 95%ile)."""
    folded = v.fold(text)
    result = []
    for value, offset in v.percents(folded):
        after = folded[offset:offset + 12]
        if re.match(r"\d+(?:\.\d+)?\s*%\s*ile", after) or folded[max(0, offset - 1):offset] == "p":
            continue
        if 90 <= value < 100:
            result.append(value)
    return result


def _availability(facts: DocFacts, unit: Unit) -> None:
    if not has(unit.text, AVAILABILITY_WORDS) or has(unit.text, ERROR_BUDGET_WORDS):
        return
    goals = _goal_percents(unit.text)
    if len(goals) != 1:
        return
    folded = v.fold(unit.text)
    found = [d for d in v.durations(unit.text) if d.period is not None and not has(
        folded[max(0, d.offset - 8):d.offset + len(d.text) + 8], MAINTENANCE_WORDS)]
    if not found:
        facts.availability.append(AvailabilityFact(unit.where, goals[0], None, unit.text))
    for duration in found:
        facts.availability.append(AvailabilityFact(unit.where, goals[0], duration, unit.text))


def _error_budget(facts: DocFacts, unit: Unit) -> None:
    if not has(unit.text, ERROR_BUDGET_WORDS):
        return
    budgets = []
    for value, _ in v.percents(unit.text):
        if 0 < value <= 5:
            budgets.append(value)
        elif 90 <= value < 100:
            budgets.append(round(100 - value, 6))
    found = [d for d in v.durations(unit.text) if d.unit_minutes < 1440]
    if len(set(budgets)) != 1 or not found:
        return
    for duration in found:
        if duration.period is None and "月" not in unit.text:
            continue
        if duration.period is None:
            duration = v.Duration(duration.minutes, "month", duration.text, duration.unit_minutes,
                                  duration.decimals)
        facts.error_budgets.append(ErrorBudgetFact(unit.where, budgets[0], duration, unit.text))


def _slo(facts: DocFacts, unit: Unit) -> None:
    in_slo = has(unit.titles(), SLO_TITLE_WORDS) or (
        unit.table is not None and unit.table.column("指標", "SLI", "SLO") is not None
        and unit.table.column("目標") is not None)
    label = unit.cells[0] if unit.cells else unit.text
    rate_words = has(label, ERROR_RATE_WORDS) or has(label, SUCCESS_RATE_WORDS)
    goal_table = unit.table is not None and unit.table.column("目標", "target", "slo") is not None \
        and unit.table.column("閾値", "しきい値", "threshold") is None
    if not (in_slo or (goal_table and rate_words)):
        return
    if not unit.cells:
        return
    target = unit.cells[1] if len(unit.cells) > 1 else ""
    error_rate = None
    found = v.percents(target)
    if found and has(label, ERROR_RATE_WORDS) and found[0][0] < 50:
        error_rate = found[0][0]
    elif found and has(label, SUCCESS_RATE_WORDS) and found[0][0] >= 50:
        error_rate = round(100 - found[0][0], 6)
    elif found and has(label, AVAILABILITY_WORDS) and 90 <= found[0][0] < 100 and has(
            " ".join(unit.cells[2:]), ("5xx", "成功率", "エラー", "error", "success")):
        error_rate = round(100 - found[0][0], 6)  # availability measured as the share of good requests
    facts.slos.append(SloFact(unit.where, label, target, error_rate))


def _recovery(facts: DocFacts, unit: Unit) -> None:
    table = unit.table
    if table is not None and (table.column("RPO") is not None or table.column("RTO") is not None) \
            and not has(unit.cells[0], ("RTO", "RPO")):
        for kind, words in (("RPO", ("RPO", "目標復旧時点")), ("RTO", ("RTO", "目標復旧時間"))):
            index = table.column(*words)
            if index is not None and index < len(unit.cells):
                facts.recovery.append(RecoveryFact(unit.where, kind, v.minutes(unit.cells[index]),
                                                   unit.text, unit.titles()))
        return
    for kind, words in (("RPO", ("RPO", "目標復旧時点")), ("RTO", ("RTO", "目標復旧時間"))):
        if unit.cells and has(unit.cells[0], words):
            value = unit.cells[1] if len(unit.cells) > 1 else ""
            facts.recovery.append(RecoveryFact(unit.where, kind, v.minutes(value), unit.text, unit.titles()))
        elif not unit.cells:
            m = re.search(rf"(?:{'|'.join(words)})\s*[（(]?[^0-9\n]{{0,12}}?[:：は]\s*([^、。,]+)",
                          v.fold(unit.text))
            if m:
                facts.recovery.append(RecoveryFact(unit.where, kind, v.minutes(m.group(1)),
                                                   unit.text, unit.titles()))


def _redundancy(facts: DocFacts, unit: Unit) -> None:
    table = unit.table
    if table is None or not unit.cells:
        return
    redundancy_col = table.column("冗長", "マルチAZ", "可用性")
    component_col = table.column("コンポーネント", "構成要素", "リソース", "サービス", "対象")
    label = unit.cells[0]
    if redundancy_col is not None and component_col is not None:
        claim = unit.cells[redundancy_col] if redundancy_col < len(unit.cells) else ""
        # `| コンテナレジストリ | Amazon ECR | … | マルチAZ（デフォルト） |`: the AWS サービス column
        # names the service exactly; a registry or a backup store is not the ECS service or the DB
        service_col = table.column("awsサービス", "aws サービス", "サービス名", "aws service")
        named = [unit.cells[i] for i in (component_col, service_col)
                 if i is not None and i < len(unit.cells)]
        if any(_names_other_service(text) for text in named):
            return
        component = component_of(unit.cells[component_col])
        if service_col is not None and service_col != component_col and service_col < len(unit.cells):
            component = component_of(unit.cells[service_col]) or component
        if component and has(claim, REDUNDANCY_WORDS) and not has(claim, NEGATIVE_WORDS):
            facts.redundancy.append(RedundancyClaim(unit.where, component, unit.text))
        return
    # parameter sheet rows: | マルチAZ | 有効 |
    if has(label, ("マルチAZ", "Multi-AZ", "MultiAZ")) and len(unit.cells) > 1:
        value = unit.cells[1]
        if has(value, ("有効", "true", "あり", "yes", "enabled", "○")) and not has(value, NEGATIVE_WORDS):
            component = component_of(label) or component_of(unit.titles()) or "rds"
            facts.redundancy.append(RedundancyClaim(unit.where, component, unit.text))


SINGLE_AZ = re.compile(r"単一\s*AZ|シングル\s*AZ|single[\s-]*az|1\s*AZ構成", re.IGNORECASE)
_NO_REDUNDANCY = re.compile(r"\s*(?:\*\*)?(?:なし|無し|無効|false|no\b|単一\s*AZ|シングル\s*AZ|single[\s-]*az|1\s*AZ)",
                            re.IGNORECASE)
_ADOPTED = re.compile(r"(?:単一|シングル)\s*AZ\s*構成\s*の?\s*採用|single[\s-]*az\s+(?:is\s+)?(?:adopted|by design)",
                      re.IGNORECASE)


def _single_az_decision(facts: DocFacts, unit: Unit) -> None:
    """A requirement or decision that the system is not redundant: a table row whose item is
    冗長化 / マルチAZ / 可用性構成 and whose value says なし or 単一AZ, or an ADR adopting a
    single-AZ layout. Scoped to staging or development only, it says nothing of production."""
    text = v.fold(unit.text)
    named = set(environments_in(text + " " + unit.titles()))
    if named and "prod" not in named:
        return
    if unit.table is not None and len(unit.cells) > 1:
        label, value = unit.cells[0], v.fold(unit.cells[1])
        # 「単一 AZ 障害でサービスを継続」 is the opposite: it asks to survive the loss of one AZ
        if has(label, ("冗長", "マルチAZ", "Multi-AZ", "MultiAZ", "可用性構成", "AZ構成")) and \
                _NO_REDUNDANCY.match(value) and not has(value, ("障害", "耐", "継続", "failure")):
            facts.single_az_decisions.append(unit.where)
            return
    if _ADOPTED.search(text):
        facts.single_az_decisions.append(unit.where)


_NO_AUTOSCALING = re.compile(r"(?:auto\s*scaling|オートスケーリング|オートスケール)\s*(?:は)?\s*(?:なし|無し|不要|しない|使用しない|未使用)",
                             re.IGNORECASE)


def _fixed_capacity_decision(facts: DocFacts, unit: Unit) -> None:
    """「Auto Scalingなし」 in the design (not scoped to staging / development only)."""
    named = set(environments_in(unit.text + " " + unit.titles()))
    if named and "prod" not in named:
        return
    if _NO_AUTOSCALING.search(v.fold(unit.text)):
        facts.fixed_capacity_decisions.append(unit.where)


_PROPERTY = re.compile(r"^`?([A-Za-z][A-Za-z0-9_]{3,})`?$")
# Reasons a design gives for a weaker setting: it is a PoC / verification system, or cost.
_REASON = re.compile(r"poc|検証|コスト|費用|削減|不要|容易|一時|使い捨て|学習|デモ|demo|sandbox", re.IGNORECASE)


# A row the author keeps out of the table's sum: already counted, included in another row, or
# for reference only.
OUTSIDE_THE_TOTAL = ("想定済み", "計上済み", "計上済", "算入済み", "内数", "別途計上", "参考値", "（参考）", "(参考)",
                     "合計に含まない", "合計外", "含まない")


def _deliberate_setting(facts: DocFacts, unit: Unit) -> None:
    """`| DeletionProtection | false | POCでは無効 |`: the design sets the property on purpose."""
    if unit.table is None or len(unit.cells) < 3:
        return
    name = _PROPERTY.match(unit.cells[0].strip())
    reason = " ".join(unit.cells[2:])
    if name and _REASON.search(v.fold(reason)):
        value = unit.cells[1].strip().strip("`").strip().casefold()
        facts.deliberate_settings.append((unit.where, name.group(1).casefold(), value, reason.strip()))


SIZE_LABELS = (
    ("task_min", ("タスク数（最小）", "タスク数(最小)", "最小タスク数", "mincapacity", "最小キャパシティ")),
    ("task_max", ("タスク数（最大）", "タスク数(最大)", "最大タスク数", "maxcapacity", "最大キャパシティ")),
    ("task_desired", ("タスク数", "desiredcount", "希望タスク数", "起動タスク数")),
    ("db_instance_class", ("インスタンスクラス", "instance class", "dbinstanceclass", "インスタンスタイプ")),
    ("backup_retention_days", ("バックアップ保持期間", "backupretention", "バックアップ保持",
                               "自動バックアップ保持")),
    ("db_storage_gb", ("ストレージ", "allocatedstorage", "ストレージ容量")),
    ("log_retention_days", ("ログ保持期間", "retentionindays", "ログ保存期間")),
)


def _size_environment(unit: Unit) -> str:
    for title in reversed(unit.section.path()):
        env = environment_in(title)
        if env:
            return env
    if len(unit.cells) > 2:
        note = unit.cells[-1].strip()
        env = canonical(note) if note else None
        if env:
            return env
    return "prod"


def _sizes(facts: DocFacts, unit: Unit) -> None:
    table = unit.table
    if table is None or not unit.cells:
        return
    if table.column("閾値", "しきい値", "threshold") is not None:
        return  # a monitoring table: 「フリーストレージ容量 10GB以下」 is an alarm, not a size
    env_col = table.column("環境", "environment")
    if env_col is not None:
        env = canonical(unit.cells[env_col]) or environment_in(unit.cells[env_col])
        if env is None:
            return
        for index, header in enumerate(table.header):
            if index >= len(unit.cells) or "タスク数" not in header:
                continue
            cell = v.fold(unit.cells[index])
            pair = re.match(r"^\s*(\d+)\s*[-〜~～]\s*(\d+)", cell)
            if pair and ("最小" in header or "最大" in header or "min" in header.lower()):
                facts.sizes.append(SizeFact(unit.where, "task_min", float(pair.group(1)), env, unit.text))
                facts.sizes.append(SizeFact(unit.where, "task_max", float(pair.group(2)), env, unit.text))
            elif v.number(cell) is not None:
                key = "task_min" if "最小" in header else "task_max" if "最大" in header else "task_desired"
                facts.sizes.append(SizeFact(unit.where, key, v.number(cell), env, unit.text))
        return
    log_col = table.column("保持期間", "保存期間")
    if log_col is not None and table.column("ログ") is not None and log_col < len(unit.cells):
        value = v.days(unit.cells[log_col])
        if value is not None:
            label = unit.cells[0]
            kind = ("rds_log_retention_days" if has(label, ("rds", "postgresql", "mysql", "db"))
                    else "app_log_retention_days" if has(label, ("アプリ", "app", "ecs", "コンテナ"))
                    else None)
            if kind:
                facts.sizes.append(SizeFact(unit.where, kind, value, "prod", unit.text))
        return
    if table.column("値", "設定値", "value") is None or len(unit.cells) < 2:
        return
    value_col = table.column("値", "設定値", "value")
    label = v.fold(unit.cells[0]).replace(" ", "").casefold()
    cell = unit.cells[value_col] if value_col < len(unit.cells) else ""
    for key, words in SIZE_LABELS:
        if not any(w.replace(" ", "").casefold() in label for w in words):
            continue
        if key == "db_storage_gb" and has(label, ("上限", "自動拡張", "空き", "max", "フリー", "free", "残")):
            break
        parsed: str | float | None
        if key == "db_instance_class":
            m = re.search(r"\b((?:db|cache)\.[a-z0-9]+\.[a-z0-9]+)\b", v.fold(cell))
            parsed = m.group(1) if m else None
        elif key == "db_storage_gb":
            parsed = v.gigabytes(cell)
        elif key in ("backup_retention_days", "log_retention_days"):
            parsed = v.days(cell)
        else:
            parsed = v.number(cell)
        if parsed is not None:
            facts.sizes.append(SizeFact(unit.where, key, parsed, _size_environment(unit), unit.text))
        break


def _monitoring(facts: DocFacts, unit: Unit) -> None:
    table = unit.table
    if table is None or not unit.cells:
        return
    # `| アラーム名 | メトリクス | 閾値 |` (a parameter sheet): the metric column wins over the name
    metric_col = table.column("メトリクス", "監視項目", "metric")
    name_col = table.column("アラーム", "alarm")
    if metric_col is None:
        metric_col, name_col = name_col, None
    threshold_col = table.column("閾値", "しきい値", "threshold")
    if metric_col is None or threshold_col is None or threshold_col >= len(unit.cells):
        return
    if _is_scaling_policy(table.header, unit.section.path()):
        return
    period_col = table.column("評価期間", "期間", "period")
    target_col = table.column("通知先", "通知", "target")
    tool_col = table.column("ツール", "監視ツール", "tool")
    env_col = table.column("環境", "environment")
    level_cols = [table.column(*words) for words in LEVEL_COLUMNS]

    def cell(index: int | None) -> str:
        return unit.cells[index] if index is not None and index < len(unit.cells) else ""

    environment = environment_in(cell(env_col)) or _monitoring_environment(unit)
    level = next((found for col in level_cols if col is not None and (found := alert_level(cell(col)))), "")
    facts.monitoring.append(MonitoringRow(unit.where, cell(metric_col), cell(threshold_col),
                                          cell(period_col), cell(target_col), cell(tool_col), environment,
                                          cell(name_col) if name_col != metric_col else "",
                                          " / ".join(unit.section.path()), level))


# Where a monitoring table says how loud a row is: a 重要度 column first, else the action
# column (`SNS通知（Critical）`), else an アラート column holding 警告 / 重大.
LEVEL_COLUMNS = (("重要度", "レベル", "severity", "優先度", "緊急度"), ("アクション", "action", "通知"),
                 ("アラート",))
LEVEL_WORDS = (("critical", ("critical", "重大", "緊急", "致命", "high")),
               ("warning", ("warning", "warn", "警告", "注意", "medium")),
               ("info", ("info", "情報", "参考", "low")))


def alert_level(text: str) -> str:
    """critical | warning | info when the cell names one (`Warning`, `SNS通知（Info）`, 重大), else ""."""
    folded = v.fold(text).casefold()
    for level, words in LEVEL_WORDS:
        if any(re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", folded) for w in words):
            return level
    return ""


SCALING_WORDS = ("スケールアウト", "スケールイン", "スケーリング", "オートスケール", "autoscaling",
                 "auto scaling", "scale out", "scale-out", "scale in", "scale-in", "target tracking")


def _is_scaling_policy(header: tuple[str, ...], headings: tuple[str, ...]) -> bool:
    """An Auto Scaling table (`| メトリクス | スケールアウト閾値 |`) sets when to add tasks, not
    when to page someone: its thresholds are not alarms."""
    text = " ".join((*header, *headings[-1:])).casefold()
    return any(word in text for word in SCALING_WORDS)


def _monitoring_environment(unit: Unit) -> str:
    """stg only when the section says so and does not name production too (本番・ステージング共通)."""
    named = set(environments_in(" ".join(unit.section.path())))
    return "prod" if not named or "prod" in named else sorted(named)[0]


BUDGET_LABELS = ("予算", "運用費", "運用コスト", "ランニングコスト", "利用料", "費用上限", "コスト上限")
LIMIT_WORDS = ("以内", "以下", "上限", "まで", "を超えない", "予算内", "未満", "目標")
NOT_BUDGET = ("アラート", "budgets", "通知", "見積", "試算", "初期", "構築費", "追加", "オプション",
              "場合", "削減", "内訳")
_AMOUNT = r"[$¥]?\s*\d[\d,]*(?:\.\d+)?\s*(?:万|千)?\s*(?:円|ドル|USD|JPY)?"
# 「月額運用費用: 10万円以内」「予算は月1,000円程度」「月1,000円予算内」: a budget stated as such
_BUDGET_PHRASE = re.compile(
    rf"(?P<label>{'|'.join(BUDGET_LABELS)})[^。0-9$¥]{{0,16}}?(?P<amount>{_AMOUNT})(?P<after>[^。]{{0,8}})"
    rf"|(?P<amount2>{_AMOUNT})\s*の?予算")


def _budget_phrase(text: str) -> str | None:
    """The amount part of a line or cell that states a budget (a label and a limit), else None."""
    folded = v.fold(text)
    for m in _BUDGET_PHRASE.finditer(folded):
        if m.group("amount2"):
            return m.group("amount2")
        if m.group("label") == "予算" or has(m.group("after"), LIMIT_WORDS):
            return m.group("amount")
    return None


def _budget(facts: DocFacts, unit: Unit, path: str) -> None:
    """Budgets are stated, not inferred from any yen amount: a 予算 row (or a 運用費 row of a 予算 /
    制約 table), or a line that says 予算 / 上限 / 以内 next to the amount. A remark in prose such as
    「WAF を追加すると月額約3,420円」 is a cost, not the budget."""
    in_plan = has(PurePosixPath(path).name, ("企画", "要件定義", "計画書", "提案", "制約"))
    budget_section = has(unit.titles(), ("予算", "制約"))
    if not (in_plan or budget_section):
        return
    if not has(unit.text, ("月額", "月", "monthly", "per month")) or has(unit.text, NOT_BUDGET):
        return
    if unit.cells:
        label, values = unit.cells[0], " | ".join(unit.cells[1:])
        stated = has(label, ("予算",)) or (has(label, BUDGET_LABELS) and (
            budget_section or has(values, LIMIT_WORDS)))
        text = values if stated else next(
            (p for p in (_budget_phrase(c) for c in unit.cells[1:]) if p), None)
    else:
        text = _budget_phrase(unit.text)
    if not text:
        return
    amounts = v.money(text)
    if not amounts:
        return
    folded = v.fold(unit.text)
    before = folded[:folded.find(amounts[0].text)] if amounts[0].text in folded else folded
    env = environment_in(before) or ("stg" if has(before, ("ステージング",)) else None)
    if env is not None and env != "prod":
        return  # a staging / development budget is not the production constraint
    facts.budgets.append(BudgetFact(unit.where, amounts[0], unit.text))


def _checklist(facts: DocFacts, unit: Unit) -> None:
    if not unit.cells:
        m = CHECKBOX.match(unit.text)
        if m:
            facts.checklist.append(ChecklistClaim(unit.where, v.fold(m.group("text"))))
        return
    table = unit.table
    status = next((i for i, h in enumerate(table.header) if i > 0 and has(
        h, ("結果", "状態", "チェック", "確認", "対応状況", "status"))), None) if table else None
    if status is not None and status < len(unit.cells):
        cell = unit.cells[status]
        if re.search(r"✅|✔|済|^OK$|^○$|完了|\[x\]", cell, re.IGNORECASE):
            facts.checklist.append(ChecklistClaim(unit.where, v.fold(unit.cells[0])))


DEPLOY_STRATEGIES = (
    ("blue_green", ("blue/green", "blue-green", "ブルーグリーン", "ブルー/グリーン", "codedeploy")),
    ("canary", ("カナリア", "canary")),
    ("rolling", ("ローリング", "rolling")),
    ("zero_downtime", ("ゼロダウンタイム", "無停止", "zero downtime", "zero-downtime")),
)


def _deploy(facts: DocFacts, unit: Unit) -> None:
    """Deploy strategies promised in デプロイ / CI/CD / リリース sections (or anywhere by name)."""
    for strategy, words in DEPLOY_STRATEGIES:
        if has(unit.text, words) and not has(unit.text, ("しない", "行わない", "使用しない", "not ")):
            facts.deploy_claims.append(DeployClaim(unit.where, strategy, unit.text))


def _cost_table(document, section: Section, table: Table) -> CostTable | None:
    money_cols = [i for i, h in enumerate(table.header)
                  if has(h, MONEY_HEADER) and not has(h, NOT_MONEY_HEADER)]
    titles = " / ".join(section.path())
    if not money_cols:
        return None
    if not (has(titles, COST_TITLE_WORDS) or any(has(table.header[i], ("月額", "年額", "monthly"))
                                                  for i in money_cols)):
        return None
    periods = tuple("year" if has(table.header[i], ("年額", "年間", "yearly", "annual", "per year"))
                    else "month" for i in money_cols)
    currencies = [v.currency_of_header(table.header[i]) for i in money_cols]
    rows, subtotals, total = [], [], None
    converted = False  # some cell states the amount in both currencies: the rate is given
    signed = []  # per priced row: is every amount written as an increment (+$15.90)?
    raw_rows = table.raw_rows if len(table.raw_rows) == len(table.rows) else table.rows
    for row, raw, line in zip(table.rows, raw_rows, table.row_lines):
        label = row[0] if row else ""
        amounts = []
        for index, currency in zip(money_cols, currencies):
            # the raw cell: 約 / 概算 / 程度 mark a rounded figure (normalised cells drop 約)
            cell = raw[index] if index < len(raw) else row[index] if index < len(row) else None
            found = v.money(cell, currency) if cell is not None else []
            amounts.append(found[0] if found else None)
            if len({m.currency for m in found}) > 1 and re.search(r"[≒≈=→]|換算", cell or ""):
                converted = True
        others = " | ".join(c for i, c in enumerate(row) if i not in money_cols)
        cost_line = CostLine(Where(document.path, line), label, tuple(amounts), others)
        if has(label, ("tco",)) or (has(label, (*TOTAL_WORDS, "総額")) and re.search(
                r"\d+\s*(?:年|か月|ヶ月|カ月|months?|years?)", v.fold(label))):
            continue  # 「5年(63か月)総額」: a projection over years, not the sum of the rows above
        if has(label, SUBTOTAL_WORDS):
            subtotals.append(cost_line)
        elif has(label, TOTAL_WORDS):
            total = cost_line
        elif has(" ".join(row), OUTSIDE_THE_TOTAL):
            continue  # 「¥111,600（想定済み）」: already counted elsewhere, left out of the 合計 on purpose
        elif any(a is not None for a in amounts):
            rows.append(cost_line)
            signed.append(all(v.fold(row[i]).lstrip().startswith("+") for i, a in zip(money_cols, amounts)
                              if a is not None and i < len(row)))
    if not rows:
        return None
    text = document.text
    region = None
    for name, words in REGION_WORDS.items():
        if has(text, words):
            region = name
            break
    environment = None
    for title in reversed(section.path()):
        environment = environment_in(title)
        if environment:
            break
    return CostTable(Where(document.path, table.line), section.title,
                     tuple(table.header[i] for i in money_cols), periods, tuple(rows),
                     tuple(subtotals), total, environment, region,
                     bool(DATE_STATED.search(v.fold(text))), all(signed), titles, converted)
