"""MON010: ECS containers whose output goes nowhere."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.parsing.cloudformation import line_of
from sre_agent.iac.terraform import tf_container_definitions
from sre_agent.rules._alarms import tf_container_line
from sre_agent.rules.base import Rule, RuleContext


class ContainerWithoutLogConfiguration(Rule):
    """
    ## What it does
    Reports ECS container definitions without a log configuration: `LogConfiguration` in an
    `AWS::ECS::TaskDefinition`'s `ContainerDefinitions`, `logConfiguration` in a Terraform
    `aws_ecs_task_definition`'s `container_definitions` when it is written inline
    (`jsonencode([...])` or a JSON heredoc; `file()` / `templatefile()` are not read). Any log
    driver counts (awslogs, awsfirelens, splunk…). One finding per container.

    ## Why is this bad
    On Fargate, stdout/stderr of a container without a log driver is discarded. When the
    container crashes at startup or returns 5XX, there is nothing to read: the investigation
    starts blind and the root cause of the incident may never be known.

    ## Example
    ```yaml
    ContainerDefinitions:
      - Name: app
        Image: !Sub ${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/juchu-app:${ImageTag}
    ```

    ## Use instead
    ```yaml
        LogConfiguration:
          LogDriver: awslogs
          Options:
            awslogs-group: !Ref AppLogGroup
            awslogs-region: !Ref AWS::Region
            awslogs-stream-prefix: app
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html
    """

    id = "SRE-MON-010"
    name = "container-without-log-configuration"
    perspective = Perspective.MONITORING
    severity = Severity.WARNING
    title_ja = "ログ設定のないコンテナ"
    title_en = "Container without a log configuration"
    passed_ja = "全コンテナにログ設定あり"
    passed_en = "Every container has a log configuration"
    fix_ja = "コンテナ定義に LogConfiguration（awslogs と保持期間付きのロググループ）を設定する"
    fix_en = "Add a LogConfiguration (awslogs to a log group with retention) to the container"

    def _containers(self, ctx: RuleContext) -> Iterator[tuple[str, int, str, Any, bool]]:
        """(file, line, task definition, container name, has log configuration)."""
        for template in ctx.project.templates:
            for task in template.of_type("AWS::ECS::TaskDefinition"):
                containers = task.properties.get("ContainerDefinitions")
                for container in containers if isinstance(containers, list) else []:
                    if isinstance(container, dict):
                        yield (template.path, line_of(container) or task.line, task.logical_id,
                               container.get("Name"), bool(container.get("LogConfiguration")))
        for tf in ctx.project.terraform:
            for task in tf.resources("aws_ecs_task_definition"):
                containers = tf_container_definitions(task)
                for container in containers if isinstance(containers, list) else []:
                    if isinstance(container, dict):
                        name = container.get("name")
                        yield (tf.path, tf_container_line(task, name), task.address, name,
                               bool(container.get("logConfiguration")))

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for path, line, task, name, logged in self._containers(ctx):
            if logged:
                continue
            shown = name if isinstance(name, str) else "?"
            yield self.finding(
                ctx, file=path, line=line, resource=task,
                message=ctx.text(
                    f"`{task}` のコンテナ `{shown}` にログ設定がなく、標準出力・エラー出力が破棄される",
                    f"container `{shown}` of `{task}` has no log configuration: its stdout/stderr "
                    "is discarded"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for _ in self._containers(ctx))
        return ctx.text(f"コンテナ定義 {count} 件を確認", f"{count} container definitions checked") \
            if count else None
