"""IAC003: taggable resources without the standard Name / Environment / ManagedBy tags."""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import tf_locals, tf_variable_defaults
from sre_agent.rules._resources import cfn_tags, tf_modules
from sre_agent.rules._tags import (
    provider_default_tags, resource_provider, tag_keys, tf_taggable_types,
)
from sre_agent.rules.base import Rule, RuleContext

STANDARD_TAGS = ("Name", "Environment", "ManagedBy")
# The console lists these by their Name tag; other resources have a name property of their own.
NAME_TAGGED = ("AWS::EC2::",)
TF_NAME_TAGGED = ("aws_vpc", "aws_subnet", "aws_instance", "aws_security_group", "aws_eip", "aws_nat_gateway",
                  "aws_internet_gateway", "aws_egress_only_internet_gateway", "aws_route_table",
                  "aws_network_acl", "aws_network_interface", "aws_ebs_volume", "aws_launch_template",
                  "aws_ec2_", "aws_customer_gateway", "aws_vpn_", "aws_default_")
TF_NAME_EXEMPT = ("_rule", "_association", "_attachment")
STACK_CALLS = ("create-change-set", "deploy", "create-stack", "update-stack")


@lru_cache(maxsize=512)
def is_taggable(resource_type: str) -> bool:
    """Whether the resource type has a `Tags` property, from cfn-lint's resource schemas."""
    try:
        from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type)
        return "Tags" in schema.schema.get("properties", {})
    except Exception:  # unknown or custom type: cfn-lint reports it; we just do not ask for tags
        return False


def stack_tag_keys(ctx: RuleContext) -> set[str]:
    """Tag keys the deploy scripts put on whole stacks (`--tags Key=ManagedBy,Value=...` or
    `--tags ManagedBy=CloudFormation`): CloudFormation propagates them to every resource."""
    keys: set[str] = set()
    for _, command in ctx.project.commands():
        if command.name != "aws" or not any(command.has_words("cloudformation", c) for c in STACK_CALLS):
            continue
        collecting = False
        for word in command.words:
            if word.startswith("--"):
                collecting = word == "--tags"
                continue
            if collecting and "=" in word:
                if word.startswith("Key="):
                    keys.add(word[4:].split(",", 1)[0])
                else:
                    keys.add(word.split("=", 1)[0])
    return keys


class MissingStandardTags(Rule):
    """
    ## What it does
    Reports (info), once per CloudFormation template, the taggable resources (types whose schema
    has a `Tags` property) that lack the standard tags `Environment` and `ManagedBy`, and — for
    EC2/VPC resources, which the console lists by it — `Name`. Tags that the deploy scripts put
    on the whole stack (`--tags Key=ManagedBy,...` on `create-change-set` / `deploy`) count for
    every resource. The finding points at the first resource concerned and lists up to five.
    Terraform projects are not checked (provider `default_tags` and per-resource taggability
    are not modelled).

    ## Why is this bad
    During an incident, tags are how you find "every production resource of this system" in the
    console, Cost Explorer and Config; an untagged NAT gateway or volume is invisible to the cost
    report and to the cleanup, and nobody knows whether it is safe to delete.

    ## Example
    ```yaml
    HttpsListener:
      Type: AWS::ElasticLoadBalancingV2::Listener
      Properties: ...            # no Tags
    ```

    ## Use instead
    ```yaml
          Tags:
            - Key: Name
              Value: !Sub ${ProjectName}-${Environment}-https-listener
            - Key: Environment
              Value: !Ref Environment
            - Key: ManagedBy
              Value: CloudFormation
    ```

    ## References
    - https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html
    - standards/cloudformation.md §6 タグ
    - standards/terraform.md §7 タグ
    """

    id = "SRE-IAC-003"
    name = "resources-without-standard-tags"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.INFO
    title_ja = "標準タグ（Name / Environment / ManagedBy）なし"
    title_en = "Standard tags (Name / Environment / ManagedBy) missing"
    passed_ja = "タグ付け可能なリソースに標準タグあり"
    passed_en = "Taggable resources carry the standard tags"
    fix_ja = "Name / Environment / ManagedBy タグを付ける（共通のものはスタックの --tags、Terraform は provider の default_tags でも可）"
    fix_en = "Add Name / Environment / ManagedBy tags (common ones may be stack tags via --tags, or Terraform provider default_tags)"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        from_stack = stack_tag_keys(ctx)
        for template in ctx.project.templates:
            lacking = []
            for resource in template.resources.values():
                if not is_taggable(resource.type):
                    continue
                wanted = STANDARD_TAGS if resource.type.startswith(NAME_TAGGED) else STANDARD_TAGS[1:]
                missing = [t for t in wanted if t not in cfn_tags(resource) and t not in from_stack]
                if missing:
                    lacking.append((resource, missing))
            if not lacking:
                continue
            yield self.report(ctx, template.path, lacking[0][0].line, None,
                              [(r.logical_id, m) for r, m in lacking])
        yield from self.check_terraform(ctx)

    def report(self, ctx: RuleContext, path: str, line: int, resource: str | None,
               lacking: list[tuple[str, list[str]]]) -> Finding:
        listed = ", ".join(f"`{r}`（{'/'.join(m)}）" if ctx.lang != "en" else f"`{r}` ({'/'.join(m)})"
                           for r, m in lacking[:5])
        more = ctx.text(f" ほか {len(lacking) - 5} 件", f" and {len(lacking) - 5} more") if len(lacking) > 5 else ""
        return self.finding(
            ctx, file=path, line=line, resource=resource,
            message=ctx.text(f"標準タグが不足しているリソース {len(lacking)} 件: {listed}{more}",
                             f"{len(lacking)} resources lack standard tags: {listed}{more}"))

    def check_terraform(self, ctx: RuleContext) -> Iterable[Finding]:
        taggable = tf_taggable_types()
        # a variable that a tfvars file sets may differ per environment: its default says nothing
        overridden = {k for p in ctx.project.parameter_sets if p.terraform for k in p.values}
        project_providers = self.providers(ctx.project.terraform, overridden)
        for files in tf_modules(ctx.project.terraform).values():
            local_values = tf_locals(files)
            defaults = self.defaults(files, overridden)
            providers = self.providers(files, overridden) or project_providers
            for tf in files:
                lacking = []
                for block in tf.resources():
                    if block.type not in taggable:
                        continue
                    own = tag_keys(block.body.get("tags"), local_values, defaults)
                    inherited = providers.get(resource_provider(block), set() if not providers else None)
                    if own is None or inherited is None:
                        continue
                    wanted = STANDARD_TAGS if self.wants_name(block.type) else STANDARD_TAGS[1:]
                    missing = [t for t in wanted if t not in own and t not in inherited]
                    if missing:
                        lacking.append((block, missing))
                if lacking:
                    first = lacking[0][0]
                    yield self.report(ctx, tf.path, first.line, first.address,
                                      [(b.address, m) for b, m in lacking])

    @staticmethod
    def defaults(files: list, overridden: set[str]) -> dict:
        return {k: v for k, v in tf_variable_defaults(files).items() if k not in overridden}

    def providers(self, files: list, overridden: set[str]) -> dict[str, set[str] | None]:
        return provider_default_tags(files, tf_locals(files), self.defaults(files, overridden))

    @staticmethod
    def wants_name(tf_type: str) -> bool:
        return tf_type.startswith(TF_NAME_TAGGED) and not tf_type.endswith(TF_NAME_EXEMPT)

    def coverage(self, ctx: RuleContext) -> str | None:
        taggable = tf_taggable_types()
        count = sum(1 for t in ctx.project.templates for r in t.resources.values() if is_taggable(r.type))
        count += sum(1 for tf in ctx.project.terraform for b in tf.resources() if b.type in taggable)
        return ctx.text(f"タグ付け可能なリソース {count} 件を確認",
                        f"{count} taggable resources checked") if count else None
