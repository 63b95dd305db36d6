"""IAC001: environment names or AWS account ids written into resource definitions."""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.parsing.cloudformation import line_of
from sre_agent.rules._resources import SUB_VARIABLE
from sre_agent.rules.base import Rule, RuleContext

ENV_TOKENS = {"prod", "prd", "production", "stg", "staging", "dev", "development", "develop"}
ACCOUNT_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
PROSE_KEYS = {"Description", "AlarmDescription", "GroupDescription", "DBSubnetGroupDescription",
              "ReplicationGroupDescription", "CacheSubnetGroupDescription", "Comment",
              "AssertDescription", "description"}
BUILD_MODE_VARIABLES = frozenset({"NODE_ENV", "RACK_ENV", "FLASK_ENV", "MIX_ENV", "BABEL_ENV", "GIN_MODE"})
TF_INTERPOLATION = re.compile(r"\$\{[^}]*\}")
DEVICE_PATH = re.compile(r"/dev/\S*")


# A container image names the registry it is pulled from, often another account's (a shared
# build account, a vendor's, AWS's own sample images): that account is not this stack's.
REGISTRY_ACCOUNT = re.compile(r"(?<![0-9])[0-9]{12}(?=\.dkr\.ecr\.)")


_HINT = re.compile("|".join(sorted(map(re.escape, ENV_TOKENS), key=len, reverse=True))
                   + r"|[0-9]{12}", re.IGNORECASE)


def hardcoded(text: str, interpolation: re.Pattern) -> list[str]:
    """Environment names and account ids in a string, outside `${...}` substitutions."""
    if not _HINT.search(text):
        return []      # most strings name no environment: one search instead of four passes
    bare = DEVICE_PATH.sub(" ", interpolation.sub(" ", text))
    found = [t for t in re.split(r"[^A-Za-z0-9]+", bare) if t.lower() in ENV_TOKENS]
    return found + ACCOUNT_ID.findall(REGISTRY_ACCOUNT.sub(" ", bare))


def _cfn_hits(node: Any, depth: int = 0) -> Iterator[tuple[str, int | None]]:
    if depth > 40:
        return
    if isinstance(node, str):
        if "\n" in node.strip() or node.count(" ") >= 3:
            return  # prose (an Output's 「デプロイ後の手順」): it names environments, it configures none
        for hit in hardcoded(node, SUB_VARIABLE):
            yield hit, line_of(node)
    elif isinstance(node, int) and not isinstance(node, bool) and ACCOUNT_ID.fullmatch(str(node)):
        yield str(node), None
    elif isinstance(node, dict):
        if str(node.get("Name", "")).upper() in BUILD_MODE_VARIABLES:
            return  # `NODE_ENV: production` is the framework's build mode in every environment
        for key, child in node.items():
            if key not in PROSE_KEYS:
                yield from _cfn_hits(child, depth + 1)
    elif isinstance(node, list):
        for item in node:
            yield from _cfn_hits(item, depth + 1)


def _tf_hits(node: Any, depth: int = 0) -> Iterator[str]:
    if depth > 40:
        return
    if isinstance(node, str):
        yield from hardcoded(node, TF_INTERPOLATION)
    elif isinstance(node, dict):
        for key, child in node.items():
            if key not in PROSE_KEYS and not key.startswith("__"):
                yield from _tf_hits(child, depth + 1)
    elif isinstance(node, list):
        for item in node:
            yield from _tf_hits(item, depth + 1)


def _first_line_with(text: str, token: str, start: int) -> int:
    """Scalars inside `!Sub` carry no line mark: find the token from the resource line on."""
    lines = text.splitlines()
    for number in range(start, len(lines) + 1):
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(token)}(?![A-Za-z0-9])", lines[number - 1]):
            return number
    return start


class HardcodedEnvironment(Rule):
    """
    ## What it does
    Reports resources (and outputs) whose definition contains an environment name (`prod`,
    `prd`, `production`, `stg`, `staging`, `dev`, …) or a 12-digit AWS account id as literal text:
    `BucketName: order-mgmt-prd-invoices`, `!Sub arn:aws:sns:${AWS::Region}:111122223333:alerts`.
    The account of a container registry an image is pulled from (`111122223333.dkr.ecr…`) is
    not this stack's and is not reported. Text inside `${...}` substitutions, descriptions,
    device paths (`/dev/xvda`) and the
    Parameters / Mappings / Conditions / Rules sections (where per-environment values belong) is
    not checked. AWS-owned account ids (the ELB log-delivery account in a bucket policy) are
    reported too: keep them in a Mappings table keyed by region. Terraform: resource blocks,
    outside `${...}` interpolations. One finding per resource, at the first occurrence.

    ## Why is this bad
    The same template is deployed to every environment. A hard-coded `prd` makes staging write
    to production's bucket or topic, or makes the stg deploy fail on a name collision; a
    hard-coded account id breaks the template in any other account and hides cross-account access.

    ## Example
    ```yaml
    InvoiceBucket:
      Type: AWS::S3::Bucket
      Properties:
        BucketName: order-mgmt-prd-invoices
    ```

    ## Use instead
    ```yaml
        BucketName: !Sub ${ProjectName}-${Environment}-invoices-${AWS::AccountId}
    ```

    ## References
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
    - standards/cloudformation.md §3 パラメータと環境差分
    - standards/terraform.md §5 変数と環境差分
    """

    id = "SRE-IAC-001"
    name = "hardcoded-environment-or-account"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.WARNING
    title_ja = "環境名・アカウント ID のハードコード"
    title_en = "Environment name or account id hard-coded"
    passed_ja = "リソース定義に環境名・アカウント ID のハードコードなし"
    passed_en = "No environment names or account ids hard-coded in resources"
    fix_ja = "`!Sub ${Environment}` / `${AWS::AccountId}`（TF は var.environment / data.aws_caller_identity）に置き換える"
    fix_en = "Use `!Sub ${Environment}` / `${AWS::AccountId}` (Terraform: var.environment / data.aws_caller_identity)"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for template in ctx.project.templates:
            sections = [(r.logical_id, r.line, r.properties) for r in template.resources.values()]
            outputs = template.data.get("Outputs")
            if isinstance(outputs, dict):
                sections += [(str(name), line_of(name) or 1, body) for name, body in outputs.items()]
            for name, default_line, body in sections:
                hits = list(_cfn_hits(body))
                if hits:
                    line = hits[0][1] or _first_line_with(ctx.project.texts.get(template.path, ""),
                                                          hits[0][0], default_line)
                    yield self._report(ctx, template.path, line, name, [h for h, _ in hits])
        for tf in ctx.project.terraform:
            for block in tf.resources():
                hits = list(_tf_hits(block.body))
                if hits:
                    line = next((n for n in range(block.line, block.end_line + 1)
                                 if n <= len(tf.lines) and hits[0] in TF_INTERPOLATION.sub("", tf.lines[n - 1])),
                                block.line)
                    yield self._report(ctx, tf.path, line, block.address, hits)

    def _report(self, ctx: RuleContext, path: str, line: int, resource: str, hits: list[str]) -> Finding:
        shown = ", ".join(f"`{h}`" for h in dict.fromkeys(hits))
        return self.finding(
            ctx, file=path, line=line, resource=resource,
            message=ctx.text(f"`{resource}` に環境名・アカウント ID {shown} が直接書かれている",
                             f"`{resource}` hard-codes {shown}"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(len(t.resources) for t in ctx.project.templates)
        count += sum(1 for tf in ctx.project.terraform for _ in tf.resources())
        return ctx.text(f"リソース {count} 件の定義を確認", f"{count} resources checked") if count else None
