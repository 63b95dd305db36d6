"""デプロイ手順書 (初回 / 更新 / ロールバック), and when asked the incident-response procedure
and the postmortem template, written from the delivery plan with the real script calls.

The same jinja2 macros render the runbook file and section 5 of the report, so the two cannot
disagree. Every command block is a procedure our own review reads as commands (DEP rules):
change sets only, described before they run, approved before production.
"""

from __future__ import annotations

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


__all__ = ["RunbookFacts", "SloRow", "runbook_sections", "write_runbook",
           "write_incident_procedure", "write_postmortem_template", "RUNBOOK", "INCIDENT", "POSTMORTEM"]
