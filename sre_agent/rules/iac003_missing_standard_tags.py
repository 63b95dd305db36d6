"""IAC003: taggable resources without the standard Name / Environment / ManagedBy tags."""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._resources import cfn_tags
from sre_agent.rules.base import Rule, RuleContext

STANDARD_TAGS = ("Name", "Environment", "ManagedBy")
# The console lists these by their Name tag; other resources have a name property of their own.
NAME_TAGGED = ("AWS::EC2::",)
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
    """

    id = "SRE-IAC-003"
    name = "resources-without-standard-tags"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.INFO
    title_ja = "標準タグ（Name / Environment / ManagedBy）なし"
    title_en = "Standard tags (Name / Environment / ManagedBy) missing"
    passed_ja = "タグ付け可能なリソースに標準タグあり"
    passed_en = "Taggable resources carry the standard tags"
    fix_ja = "Name / Environment / ManagedBy タグを付ける（共通のものはスタックの --tags でも可）"
    fix_en = "Add Name / Environment / ManagedBy tags (common ones may be stack tags via --tags)"

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
            listed = ", ".join(f"`{r.logical_id}`（{'/'.join(m)}）" if ctx.lang != "en"
                               else f"`{r.logical_id}` ({'/'.join(m)})" for r, m in lacking[:5])
            more = ctx.text(f" ほか {len(lacking) - 5} 件", f" and {len(lacking) - 5} more") if len(lacking) > 5 else ""
            yield self.finding(
                ctx, file=template.path, line=lacking[0][0].line,
                message=ctx.text(f"標準タグが不足しているリソース {len(lacking)} 件: {listed}{more}",
                                 f"{len(lacking)} resources lack standard tags: {listed}{more}"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates for r in t.resources.values() if is_taggable(r.type))
        return ctx.text(f"タグ付け可能なリソース {count} 件を確認",
                        f"{count} taggable resources checked") if count else None
