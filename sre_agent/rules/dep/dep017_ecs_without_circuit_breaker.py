"""DEP017: an ECS service whose failed deployment is neither stopped nor rolled back."""

from __future__ import annotations

from typing import Any, Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.parsing.terraform import unwrap
from sre_agent.resolve import UNKNOWN, CfnEvaluator, as_bool, cfn_contexts, tf_value, tf_contexts
from sre_agent.rules._resources import cfn_exists, env_phrase
from sre_agent.rules.base import Rule, RuleContext

# Blue/green (CodeDeploy) and external controllers roll back by their own means.
ROLLING = ("ECS",)


class EcsWithoutCircuitBreaker(Rule):
    """
    ## What it does
    Reports an ECS service (`AWS::ECS::Service`, `aws_ecs_service`) deployed by the rolling
    ECS controller (the default) without a deployment circuit breaker that both stops and rolls
    back a failed deployment: `DeploymentConfiguration.DeploymentCircuitBreaker` with
    `Enable: true` and `Rollback: true` (`deployment_circuit_breaker { enable = true,
    rollback = true }`). Values are judged for production (parent stack, parameter file, else
    the default). Services deployed by CodeDeploy (blue/green) or an external controller are not
    reported; unresolvable values are not reported.

    ## Why is this bad
    Without it, a task definition whose containers crash on start (a bad image, a missing
    secret) is retried for hours: the deployment never finishes, CloudFormation waits hours for
    the service to stabilise before it rolls the stack back (Terraform and `ecs update-service`
    never roll back), and with a MinimumHealthyPercent below 100 old tasks are stopped to make
    room for tasks that never become healthy. With it, ECS stops after a few failed tasks and
    returns to the last deployment that worked, in minutes.

    ## Example
    ```yaml
    Service:
      Type: AWS::ECS::Service
      Properties:
        LaunchType: FARGATE
        DesiredCount: 2
    ```

    ## Use instead
    ```yaml
        DeploymentConfiguration:
          DeploymentCircuitBreaker:
            Enable: true
            Rollback: true
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
    - standards/cloudformation.md §2 ロールバック手順を用意する
    """

    id = "SRE-DEP-017"
    name = "ecs-service-without-circuit-breaker"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "ECS サービスにデプロイのサーキットブレーカー（自動ロールバック）なし"
    title_en = "ECS service without a deployment circuit breaker (automatic rollback)"
    passed_ja = "ECS サービスは失敗したデプロイを自動で止めて戻す"
    passed_en = "ECS services stop and roll back failed deployments"
    fix_ja = ("DeploymentConfiguration.DeploymentCircuitBreaker を Enable: true / Rollback: true にする"
              "（Terraform: deployment_circuit_breaker { enable = true rollback = true }）")
    fix_en = ("Set DeploymentConfiguration.DeploymentCircuitBreaker Enable: true and Rollback: true "
              "(Terraform: deployment_circuit_breaker { enable = true rollback = true })")

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for template in ctx.project.templates:
            for service in template.of_type("AWS::ECS::Service"):
                controller = service.properties.get("DeploymentController")
                kind = controller.get("Type", "ECS") if isinstance(controller, dict) else "ECS"
                if kind not in ROLLING:
                    continue
                config = service.properties.get("DeploymentConfiguration")
                breaker = config.get("DeploymentCircuitBreaker") if isinstance(config, dict) else None
                for env in cfn_contexts(template, ctx.project, prod_only=True):
                    if not cfn_exists(template, service, env):
                        continue
                    evaluator = CfnEvaluator(template, env)
                    missing = self._missing(breaker, lambda raw: as_bool(evaluator.value(raw)))
                    if missing is None:
                        continue
                    line = (service.property_line("DeploymentConfiguration")
                            if isinstance(config, dict) else service.line)
                    yield self._report(ctx, template.path, line, service.logical_id, missing,
                                       env_phrase(ctx.text, env), env.name, cloudformation=True)
                    break
        yield from self._terraform(ctx)

    @staticmethod
    def _missing(breaker: Any, truth) -> list[str] | None:
        """The switches that are not on (None when both are on or a value is unknown)."""
        if not isinstance(breaker, dict):
            return ["Enable", "Rollback"]
        values = {key: truth(breaker.get(key, False)) for key in ("Enable", "Rollback")}
        if any(v is UNKNOWN for v in values.values()):
            return None
        off = [key for key, value in values.items() if not value]
        return off or None

    def _report(self, ctx: RuleContext, path: str, line: int, resource: str, missing: list[str],
                where: str, env: str | None, cloudformation: bool = False) -> Finding:
        """CloudFormation itself waits for the service to stabilise and rolls the stack back in
        the end, hours later; Terraform (and `ecs update-service`) leave the failing deployment
        running."""
        if missing != ["Rollback"] and cloudformation:
            ja = (f"{where}の `{resource}` にデプロイのサーキットブレーカーがない。起動に失敗するタスク定義を"
                  "デプロイすると ECS はタスクの起動を繰り返し、CloudFormation はサービスの安定を数時間待ってから"
                  "ようやくロールバックする（その間スタックは更新中のままで、修正版も出せない）")
            en = (f"`{resource}` has no deployment circuit breaker in {where}: a task definition that fails "
                  "to start is relaunched over and over while CloudFormation waits hours for the service to "
                  "stabilise before it rolls back (the stack stays busy; no fix can be deployed meanwhile)")
        elif missing == ["Rollback"]:
            ja = f"{where}の `{resource}` のサーキットブレーカーは失敗したデプロイを止めるが前の版に戻さない（Rollback 無効）"
            en = f"`{resource}` stops a failed deployment but does not roll back in {where} (Rollback off)"
        else:
            ja = (f"{where}の `{resource}` にデプロイのサーキットブレーカーがない。起動に失敗するタスク定義の"
                  "デプロイが止まらず、前の版にも戻らない")
            en = (f"`{resource}` has no deployment circuit breaker in {where}: a task definition that "
                  "fails to start keeps being deployed and is not rolled back")
        return self.finding(ctx, file=path, line=line, resource=resource, environment=env,
                            message=ctx.text(ja, en))

    def _terraform(self, ctx: RuleContext) -> Iterable[Finding]:
        project = ctx.project
        for tf in project.terraform:
            for service in tf.resources("aws_ecs_service"):
                controller = service.body.get("deployment_controller")
                if isinstance(controller, list) and controller and isinstance(controller[0], dict):
                    if unwrap(controller[0].get("type", "ECS")) not in ROLLING:
                        continue
                blocks = service.body.get("deployment_circuit_breaker")
                breaker = blocks[0] if isinstance(blocks, list) and blocks and isinstance(blocks[0], dict) else None
                for env in tf_contexts(tf, project, prod_only=True):
                    shaped = None if breaker is None else {
                        "Enable": tf_value(_Body(breaker), "enable", env.values),
                        "Rollback": tf_value(_Body(breaker), "rollback", env.values)}
                    missing = self._missing(shaped, as_bool)
                    if missing is None:
                        continue
                    line = service.attribute_line("rollback") if breaker is not None else service.line
                    yield self._report(ctx, tf.path, line, service.address, missing,
                                       env_phrase(ctx.text, env), env.name)
                    break

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates for _ in t.of_type("AWS::ECS::Service"))
        count += sum(1 for tf in ctx.project.terraform for _ in tf.resources("aws_ecs_service"))
        return ctx.text(f"ECS サービス {count} 件のサーキットブレーカーを確認",
                        f"{count} ECS services checked for a circuit breaker") if count else None


class _Body(dict):
    """A nested HCL block read like a resource: `tf_value` looks attributes up with `get`."""

    def get(self, name: str, default: Any = None) -> Any:
        return unwrap(super().get(name, default))
