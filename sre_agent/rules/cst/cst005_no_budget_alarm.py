"""CST005: no AWS Budgets budget defined with the infrastructure."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext


class NoBudgetAlarm(Rule):
    """
    ## What it does
    Reports a project whose CloudFormation or Terraform defines resources but no budget
    (`AWS::Budgets::Budget`, `aws_budgets_budget`). Informational: the budget may live in an
    organisation-level stack this review does not see.

    ## Why is this bad
    A runaway cost (a log flood, a forgotten load-test fleet) is found on the invoice a month
    later instead of the day it starts.

    ## Example
    Templates with ECS, RDS and NAT gateways and no budget anywhere.

    ## Use instead
    ```yaml
    MonthlyBudget:
      Type: AWS::Budgets::Budget
      Properties:
        Budget: {BudgetType: COST, TimeUnit: MONTHLY, BudgetLimit: {Amount: 700, Unit: USD}}
        NotificationsWithSubscribers:
          - Notification: {NotificationType: FORECASTED, ComparisonOperator: GREATER_THAN, Threshold: 80}
            Subscribers: [{SubscriptionType: SNS, Address: !Ref AlertTopic}]
    ```

    ## References
    - https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-managing-costs.html
    """

    id = "SRE-CST-005"
    name = "no-budget-alarm"
    perspective = Perspective.COST
    severity = Severity.INFO
    title_ja = "予算アラーム（AWS Budgets）がない"
    title_en = "No budget alarm (AWS Budgets)"
    passed_ja = "予算アラーム（AWS Budgets）を定義済み"
    passed_en = "A budget alarm (AWS Budgets) is defined"
    fix_ja = "AWS::Budgets::Budget を予算額と SNS 通知付きで定義する"
    fix_en = "Define an AWS::Budgets::Budget with the budget amount and an SNS notification"

    def _budgets(self, ctx: RuleContext) -> list[str]:
        found = [f"{t.path}:{r.line}" for t in ctx.project.templates
                 for r in t.of_type("AWS::Budgets::Budget")]
        found += [f"{tf.path}:{b.line}" for tf in ctx.project.terraform
                  for b in tf.resources("aws_budgets_budget")]
        return found

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        project = ctx.project
        has_resources = any(t.resources for t in project.templates) or any(
            True for tf in project.terraform for _ in tf.resources())
        if has_resources and not self._budgets(ctx):
            yield self.finding(ctx, file=None, line=None, message=ctx.text(
                "テンプレートに予算（AWS::Budgets::Budget）の定義がない",
                "no budget (AWS::Budgets::Budget) is defined in the templates"))

    def coverage(self, ctx: RuleContext) -> str | None:
        budgets = self._budgets(ctx)
        return ", ".join(budgets[:3]) if budgets else None
