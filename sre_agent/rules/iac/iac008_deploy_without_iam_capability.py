"""IAC008: a deploy command that does not acknowledge the IAM resources its template creates."""

from __future__ import annotations

from typing import Iterable

from sre_agent.iac.deployments import deployments
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import stack_model
from sre_agent.rules.base import Rule, RuleContext

# IAM resources CloudFormation asks to be acknowledged, and the property that names them.
IAM_TYPES = {
    "AWS::IAM::Role": "RoleName", "AWS::IAM::User": "UserName", "AWS::IAM::Group": "GroupName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName", "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::Policy": None, "AWS::IAM::AccessKey": None, "AWS::IAM::UserToGroupAddition": None,
    "AWS::IAM::RolePolicy": None, "AWS::IAM::UserPolicy": None, "AWS::IAM::GroupPolicy": None,
}


class DeployWithoutIamCapability(Rule):
    """
    ## What it does
    Follows each `aws cloudformation create-change-set` / `create-stack` / `update-stack` /
    `deploy` of the scripts and runbook procedures to the templates it deploys (and their nested
    children) and reports one whose `--capabilities` does not acknowledge what they create:
    `CAPABILITY_IAM` for IAM resources, `CAPABILITY_NAMED_IAM` when one of them has a custom name
    (`RoleName`, `UserName`, `GroupName`, `ManagedPolicyName`, `InstanceProfileName`). A
    capability chosen by a variable is not judged.

    ## Why is this bad
    CloudFormation refuses the change: `InsufficientCapabilitiesException: Requires capabilities :
    [CAPABILITY_NAMED_IAM]`. The first deploy of the stack fails — usually in the release window,
    after every earlier stack went through.

    ## Example
    ```bash
    # stacks/03-compute.yaml creates a role with RoleName: !Sub ${ProjectName}-task-role
    aws cloudformation create-change-set ... --capabilities CAPABILITY_IAM
    ```

    ## Use instead
    ```bash
    aws cloudformation create-change-set ... --capabilities CAPABILITY_NAMED_IAM
    ```
    (or drop the custom names and let CloudFormation name the roles).

    ## References
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-template.html#using-iam-capabilities
    - standards/cloudformation.md §1 デプロイは変更セット経由で行う
    """

    id = "SRE-IAC-008"
    name = "deploy-without-iam-capability"
    perspective = Perspective.OPERABILITY
    severity = Severity.ERROR
    title_ja = "デプロイコマンドが IAM の capability を承認していない（InsufficientCapabilities で失敗）"
    title_en = "Deploy command does not acknowledge IAM capabilities (fails with InsufficientCapabilities)"
    passed_ja = "デプロイコマンドはテンプレートが作る IAM リソースの capability を承認している"
    passed_en = "Deploy commands acknowledge the IAM capabilities their templates need"
    fix_ja = "IAM リソースに固有名があれば --capabilities CAPABILITY_NAMED_IAM、なければ CAPABILITY_IAM を付ける"
    fix_en = "Pass --capabilities CAPABILITY_NAMED_IAM when IAM resources have custom names, else CAPABILITY_IAM"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        model = stack_model(ctx.project)
        for deployment in deployments(ctx.project):
            if deployment.capabilities is None:
                continue
            given = set(deployment.capabilities)
            short: list[str] = []
            for template in deployment.templates:
                family = [template] + [link.child for link in model.children(template)]
                iam = [r for t in family for r in t.of_type(*IAM_TYPES)]
                named = [r for r in iam if IAM_TYPES[r.type] and IAM_TYPES[r.type] in r.properties]
                if named and "CAPABILITY_NAMED_IAM" not in given:
                    name = IAM_TYPES[named[0].type]
                    short.append(ctx.text(f"{template.path}（`{named[0].logical_id}` の {name} → CAPABILITY_NAMED_IAM）",
                                          f"{template.path} (`{named[0].logical_id}` has {name}: CAPABILITY_NAMED_IAM)"))
                elif iam and not given & {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}:
                    short.append(ctx.text(f"{template.path}（`{iam[0].logical_id}` → CAPABILITY_IAM）",
                                          f"{template.path} (`{iam[0].logical_id}`: CAPABILITY_IAM)"))
            if short:
                shown = "; ".join(short[:3]) + (f" ほか {len(short) - 3} 件" if len(short) > 3 else "")
                yield self.finding(ctx, file=deployment.file, line=deployment.line, message=ctx.text(
                    f"`{deployment.action}` の --capabilities（{' '.join(deployment.capabilities) or 'なし'}）では"
                    f"テンプレートの IAM リソースを作れない: {shown}",
                    f"`{deployment.action}` passes --capabilities {' '.join(deployment.capabilities) or '(none)'}, "
                    f"which does not cover the IAM resources of {shown}"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for d in deployments(ctx.project) if d.capabilities is not None)
        return ctx.text(f"デプロイコマンド {count} 件の capability を確認",
                        f"capabilities of {count} deploy commands checked") if count else None
