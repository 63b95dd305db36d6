"""DEP015: CI that deploys with long-lived AWS keys, or deploys from pull requests."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import yaml

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._deploy import (
    DEPLOY_ACTIONS, WorkflowJob, cfn_action, compose_workflow, mapping_get, terraform_subcommand,
    workflow_jobs,
)
from sre_agent.rules.base import Rule, RuleContext

KEY_NAMES = frozenset({"aws-access-key-id", "AWS_ACCESS_KEY_ID"})  # the secret key comes with it
DEPLOY_ACTIONS_USES = ("aws-actions/amazon-ecs-deploy-task-definition",
                       "aws-actions/aws-cloudformation-github-deploy")
PR_TRIGGERS = ("pull_request", "pull_request_target")


def _walk_keys(node: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key, value
            yield from _walk_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk_keys(item)


def _pr_trigger_line(root: Any) -> tuple[str, int] | None:
    _, on = mapping_get(root, "on")
    if on is None:
        _, on = mapping_get(root, "true")
    if isinstance(on, yaml.ScalarNode):
        return (on.value, on.start_mark.line + 1) if on.value in PR_TRIGGERS else None
    items = on.value if isinstance(on, (yaml.SequenceNode, yaml.MappingNode)) else []
    for item in items:
        node = item[0] if isinstance(item, tuple) else item
        if isinstance(node, yaml.ScalarNode) and node.value in PR_TRIGGERS:
            return node.value, node.start_mark.line + 1
    return None


def _deploy_line(job: WorkflowJob) -> int | None:
    """Line of the job's first deploying step (CloudFormation/Terraform/ECS deploy, deploy script)."""
    for step in job.steps:
        if step.uses and step.uses.startswith(DEPLOY_ACTIONS_USES):
            return step.line
        for command in step.shell.commands if step.shell else ():
            base = command.name.rsplit("/", 1)[-1]
            if (cfn_action(command) in DEPLOY_ACTIONS
                    or terraform_subcommand(command)[0] in ("apply", "destroy")
                    or (command.name == "aws" and command.has_words("ecs", "update-service"))
                    or (base.endswith(".sh") and ("deploy" in base or "execute" in base))):
                return command.line
    return None


def _runs_on_pull_request(job: WorkflowJob) -> bool:
    condition = str(job.data.get("if", ""))
    return not ("github.event_name" in condition or "github.ref" in condition)


class CiLongLivedKeys(Rule):
    """
    ## What it does
    Reads the GitHub Actions workflows (`.github/workflows/*.yml`) and reports
    - long-lived AWS access keys: `aws-access-key-id` given to
      `aws-actions/configure-aws-credentials`, or `AWS_ACCESS_KEY_ID` in an `env:` block, at
      the line of the key id;
    - a job that deploys (execute-change-set, deploy, create/update/delete-stack,
      `terraform apply`, `aws ecs update-service`, a `*deploy*.sh` script, the AWS deploy actions)
      in a workflow triggered by `pull_request` / `pull_request_target`, unless the job's `if:`
      restricts it by `github.event_name` or `github.ref`; at the deploying step.

    ## Why is this bad
    A long-lived key with deploy rights lives forever in a secret store, is copied to laptops,
    is never rotated and keeps working after the person who made it left; a leaked key deploys
    (or deletes) production. OIDC gives each run a one-hour role session bound to the
    repository and branch. Deploying from `pull_request` puts unreviewed, unmerged code into the
    environment — the review happens after the deploy.

    ## Example
    ```yaml
    on: pull_request
    jobs:
      deploy:
        steps:
          - uses: aws-actions/configure-aws-credentials@v4
            with:
              aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
              aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
    ```

    ## Use instead
    ```yaml
    on:
      push:
        branches: [main]
    permissions:
      id-token: write
      contents: read
    jobs:
      deploy:
        environment: prd
        steps:
          - uses: aws-actions/configure-aws-credentials@v4
            with:
              role-to-assume: arn:aws:iam::123456789012:role/order-mgmt-deployer
              aws-region: ap-northeast-1
    ```

    ## References
    - https://docs.github.com/en/actions/deployment/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services
    - https://github.com/aws-actions/configure-aws-credentials#oidc
    """

    id = "SRE-DEP-015"
    name = "ci-deploy-with-long-lived-keys"
    perspective = Perspective.OPERABILITY
    severity = Severity.ERROR
    title_ja = "CI が長期アクセスキーで、または pull_request からデプロイ"
    title_en = "CI deploys with long-lived keys or from pull requests"
    passed_ja = "CI は OIDC（role-to-assume）で認証し、マージ後にのみデプロイ"
    passed_en = "CI authenticates with OIDC (role-to-assume) and deploys only after merge"
    fix_ja = ("configure-aws-credentials の role-to-assume と `permissions: id-token: write` による OIDC 認証に切り替え、"
              "アクセスキーを削除する。デプロイは main への push（environment 承認付き）でのみ行う")
    fix_en = ("Switch to OIDC (configure-aws-credentials role-to-assume with `permissions: id-token: write`), "
              "delete the access keys, and deploy only on push to main behind an environment approval")

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        jobs = list(workflow_jobs(ctx.project))
        for path in ctx.project.workflows:
            _, root = compose_workflow(ctx.project, path)
            if root is None:
                continue
            for key, value in _walk_keys(root):
                if isinstance(key, yaml.ScalarNode) and key.value in KEY_NAMES \
                        and isinstance(value, yaml.ScalarNode) and value.value:
                    yield self.finding(
                        ctx, file=path, line=key.start_mark.line + 1,
                        message=ctx.text(
                            f"長期アクセスキー（{key.value}: {value.value}）で AWS に認証している。"
                            "OIDC（role-to-assume）なら実行ごとの一時認証情報になる",
                            f"authenticates to AWS with a long-lived key ({key.value}: {value.value}); OIDC "
                            "(role-to-assume) gives each run temporary credentials"),
                    )
            trigger = _pr_trigger_line(root)
            if trigger is None:
                continue
            for job in jobs:
                if job.path != path or not _runs_on_pull_request(job):
                    continue
                line = _deploy_line(job)
                if line is None:
                    continue
                yield self.finding(
                    ctx, file=path, line=line,
                    message=ctx.text(
                        f"ジョブ `{job.job_id}` が {trigger[0]} トリガー（{trigger[1]} 行目）でデプロイしている。"
                        "レビュー・マージ前のコードが環境に反映される",
                        f"job `{job.job_id}` deploys on the {trigger[0]} trigger (line {trigger[1]}): unreviewed, "
                        "unmerged code reaches the environment"),
                )

    def coverage(self, ctx: RuleContext) -> str | None:
        workflows = ctx.project.workflows
        if not workflows:
            return None
        return ctx.text(f"ワークフロー {len(workflows)} 件（{workflows[0]} ほか）の認証とトリガーを確認",
                        f"credentials and triggers of {len(workflows)} workflows checked ({workflows[0]} …)")
