"""Facts stated by the design documents, extracted once per project.

`facts_of(project)` reads every design document (heading keywords and table headers, never
section numbers) into a `DocFacts`: availability targets with their downtime, SLO rows, RTO /
RPO, redundancy claims, sizes from parameter sheets, monitoring tables, cost tables, budgets and
ticked checklists and deploy strategies (Blue/Green, ローリング, ゼロダウンタイム) — each with its file and line. The result is cached on the project object, so
the dozen rules that ask pay for the parsing once.
"""

from __future__ import annotations

from sre_agent.docfacts.extract import component_of, design_documents, environment_in, extract
from sre_agent.docfacts.facts import (
    AvailabilityFact, BudgetFact, ChecklistClaim, CostLine, CostTable, DeployClaim, DocFacts,
    ErrorBudgetFact, MonitoringRow, RecoveryFact, RedundancyClaim, SizeFact, SloFact, Where,
)

def facts_of(project) -> DocFacts:
    """The project's document facts, computed on first use and kept on the project."""
    return project.memo("docfacts", lambda: extract(project))


__all__ = [
    "facts_of", "DocFacts", "AvailabilityFact", "BudgetFact", "ChecklistClaim", "CostLine",
    "CostTable", "DeployClaim", "ErrorBudgetFact", "MonitoringRow", "RecoveryFact", "RedundancyClaim",
    "SizeFact", "SloFact", "Where", "component_of", "design_documents", "environment_in",
]
