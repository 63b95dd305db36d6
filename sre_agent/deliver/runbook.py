"""デプロイ手順書 (初回 / 更新 / ロールバック), and when asked the incident-response procedure
and the postmortem template, written from the delivery plan with the real script calls.

The same jinja2 macros render the runbook file and section 5 of the report, so the two cannot
disagree. Every command block is a procedure our own review reads as commands (DEP rules):
change sets only, described before they run, approved before production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jinja2

from sre_agent.deliver.plan import DeliveryPlan
from sre_agent.environments import is_prod

RUNBOOK = "docs/90_運用手順/デプロイ手順書.md"
INCIDENT = "docs/90_運用手順/障害対応手順書.md"
POSTMORTEM = "docs/90_運用手順/ポストモーテムテンプレート.md"


@dataclass
class SloRow:
    name: str
    target: str
    method: str
    source: str = ""   # file:line it was read from


@dataclass
class RollbackArm:
    """One branch of rollback.sh's `case "$STATUS"`: the states it matches and what it does."""

    states: list[str]
    action: str
    refused: bool = False     # the script stops with directions instead of acting


# what a branch of rollback.sh does, by the command it runs (first match wins)
_ARM_ACTIONS = (
    ("cancel-update-stack", "進行中の更新を取り消す（cancel-update-stack）→ 完了まで待つ"),
    ("continue-update-rollback", "止まったロールバックを再開する（continue-update-rollback）→ 完了まで待つ"),
    ("rollback-stack", "失敗した操作を最後の安定状態へ戻す（rollback-stack）→ 完了まで待つ"),
    ("redeploy_previous_release", "`.releases/` に記録された前回リリースで変更セットを作成 → 内容確認 → 承認 → 実行"),
    ("wait stack-rollback-complete", "CloudFormation が進めているロールバックの完了を待つ"),
)
_CASE = re.compile(r'^case "\$STATUS" in\n(?P<body>.*?)^esac', re.MULTILINE | re.DOTALL)
_ARM = re.compile(r"^  (?P<pattern>[^\s(][^)\n]*)\)\n?(?P<body>.*?);;", re.MULTILINE | re.DOTALL)
_DIE = re.compile(r'\bdie ((?:"[^"]*"\s*(?:\\\n\s*)?)+)')


def rollback_arms(script: str) -> list[RollbackArm]:
    """The state table of the delivered rollback.sh, read from its last `case "$STATUS"`, so the
    runbooks describe what the script does and not what someone remembered it doing."""
    cases = list(_CASE.finditer(script))
    if not cases:
        return []
    arms = []
    for match in _ARM.finditer(cases[-1].group("body")):
        states = [p.strip() for p in match.group("pattern").split("|")]
        body = match.group("body")
        action = next((text for command, text in _ARM_ACTIONS if command in body), None)
        if action is None and (died := _DIE.search(body)):
            message = "".join(re.findall(r'"([^"]*)"', died.group(1)))
            message = message.replace("$STACK_NAME", "<スタック名>").replace("$STATUS", "<状態>")
            arms.append(RollbackArm(states, f"中止（何もしない）: {message}", refused=True))
        else:
            arms.append(RollbackArm(states, action or "（スクリプトを参照）"))
    return arms


@dataclass
class DatabaseFacts:
    """The production database the restore procedure works on: the stack output naming it."""

    stack: str
    output: str        # the Outputs key whose value is the DB instance identifier
    engine: str = ""   # postgres / mysql / …: which dump tools the procedure shows


@dataclass
class MaintenanceSwitch:
    """The parameter that stops the application (tasks to 0) through a change set."""

    file: str          # production parameter file
    name: str
    on: str = "true"
    off: str = "false"


@dataclass
class DbAdminTask:
    """The one-off task that creates the application's DB login, run the way the service runs
    (its subnets and security group, read from the stack exports the service imports)."""

    stack: str                 # the stack whose outputs name it (compute)
    task_output: str           # output: the task definition
    cluster_output: str        # output: the cluster
    container: str             # the container whose exit code tells success
    subnet_exports: list[str] = field(default_factory=list)   # export name suffixes, e.g. AppSubnet1Id
    security_group_exports: list[str] = field(default_factory=list)
    log_group: str = ""        # where its output goes (logical id of the log group)
    stream_prefix: str = ""
    service_output: str = ""  # output: the service's name (to wait until its tasks run)


@dataclass
class RunbookFacts:
    """What the procedures quote besides the plan: script paths, alarms, SLOs."""

    title: str
    plan: DeliveryPlan
    scripts: dict[str, str]                      # create/describe/execute/rollback → path
    alarms: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    log_groups: list[tuple[str, str]] = field(default_factory=list)
    slos: list[SloRow] = field(default_factory=list)
    error_budget: str = ""
    prerequisites: list[str] = field(default_factory=list)
    recovery: list[tuple[str, str, str, str]] = field(default_factory=list)  # RTO/RPO: 項目, 目標, 備考, 出典
    # how a release's image tag reaches the task definition: (parameter, "ssm" | "file", the SSM
    # parameter name or the parameter file, for the production environment)
    image_tag: tuple[str, str, str] | None = None
    rollback: list[RollbackArm] = field(default_factory=list)   # rollback.sh's state table
    restores_image_tag: bool = False       # rollback.sh itself writes the previous tag back to SSM
    rollback_takes_release: bool = False   # rollback.sh accepts the release (record or Git tag) to go back to
    database: DatabaseFacts | None = None
    maintenance_parameter: MaintenanceSwitch | None = None
    release_tag: str = ""                  # the design's Git tag for a release, e.g. release/prd/<YYYYMMDD>-<連番>
    contacts: list[tuple[str, str, str]] = field(default_factory=list)  # 役割, 連絡先, 出典
    incident_path: str = INCIDENT
    registry: tuple[str, str] | None = None    # (stack, output with the ECR repository URI)
    test_alarm: str = ""                       # a notifying alarm the first deploy fires on purpose
    maintenance_alarms: list[str] = field(default_factory=list)  # page while the service is stopped
    db_admin: DbAdminTask | None = None        # first deploy: compute in maintenance, this task, compute again
    overrides: bool = False                    # create-changeset.sh takes PARAMETER_OVERRIDES for one run
    resyncs_failed_update: bool = False        # execute-changeset.sh puts SSM values back after a rolled-back update
    other_maintenance: list[str] = field(default_factory=list)  # other stacks with their own maintenance switch

    @property
    def release_tag_shell(self) -> str:
        """The design's release tag with its date (UTC) and environment filled in by the shell and
        its sequence number from `${SEQ}`, which the runbook sets on the line above."""
        tag = re.sub(r"<(?:YYYYMMDD|yyyymmdd|日付|date|DATE)>", "$(date -u +%Y%m%d)", self.release_tag)
        tag = re.sub(r"<(?:連番|seq|SEQ|n|N|番号)>", "${SEQ}", tag)
        return re.sub(r"<(?:環境|env|ENV|environment)>", "${ENV}", tag)

    @property
    def release_example(self) -> str:
        """A release name a rollback line can carry as its value (edited by the operator)."""
        if not self.release_tag:
            return f"{self.prod_env}-20261201T000000Z"
        tag = re.sub(r"<(?:YYYYMMDD|yyyymmdd|日付|date|DATE)>", "20261201", self.release_tag)
        tag = re.sub(r"<(?:連番|seq|SEQ|n|N|番号)>", "1", tag)
        return re.sub(r"<(?:環境|env|ENV|environment)>", self.prod_env, tag)

    @property
    def first_env(self) -> str:
        return next((e for e in self.plan.environments if not is_prod(e)), self.plan.environments[0])

    @property
    def prod_env(self) -> str:
        return next((e for e in self.plan.environments if is_prod(e)), self.plan.environments[-1])

    @property
    def update_stack(self) -> str:
        """The stack a routine release changes: the application's, else the last stateless one."""
        names = [s.name for s in self.plan.stacks]
        app = next((n for n in names if any(w in n for w in ("compute", "app", "ecs", "service"))), None)
        stateless = [s.name for s in self.plan.stacks if not s.stateful]
        return app or (stateless[-1] if stateless else names[-1])

    @property
    def stateful(self) -> list[str]:
        return [s.name for s in self.plan.stacks if s.stateful]


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("sre_agent", "templates/task"),
                              autoescape=False, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def render(name: str, **context) -> str:
    return _environment().get_template(name).render(**context)


def runbook_sections(facts: RunbookFacts, level: str = "###") -> str:
    """初回デプロイ / 更新デプロイ（Change Set使用）/ ロールバック under `level` headings."""
    return render("runbook_sections.md.j2", facts=facts, h=level)


def app_rollback_text(facts: RunbookFacts) -> str:
    """How an application release is rolled back: the block both runbooks must contain."""
    module = _environment().get_template("_procedures.md.j2").make_module()
    return str(module.app_rollback(facts)).strip()


def _write(out_dir: Path, path: str, text: str) -> Path:
    target = out_dir / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def write_runbook(facts: RunbookFacts, out_dir: Path) -> Path:
    return _write(out_dir, RUNBOOK, render("deploy_runbook.md.j2", facts=facts,
                                           sections=runbook_sections(facts, "##")))


def write_incident_procedure(facts: RunbookFacts, out_dir: Path) -> Path:
    return _write(out_dir, INCIDENT, render("incident_response.md.j2", facts=facts,
                                            runbook=RUNBOOK, postmortem=POSTMORTEM))


def write_postmortem_template(facts: RunbookFacts, out_dir: Path) -> Path:
    return _write(out_dir, POSTMORTEM, render("postmortem.md.j2", facts=facts, incident=INCIDENT))


__all__ = ["RunbookFacts", "DbAdminTask", "RollbackArm", "DatabaseFacts", "MaintenanceSwitch", "rollback_arms", "app_rollback_text", "SloRow", "runbook_sections", "write_runbook",
           "write_incident_procedure", "write_postmortem_template", "RUNBOOK", "INCIDENT", "POSTMORTEM"]
