"""DEP014: nested stacks whose templates nothing uploads."""

from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import urlsplit

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import stack_model
from sre_agent.parsing.shell import ShellCommand
from sre_agent.rules._deploy import cfn_action, command_blocks
from sre_agent.rules.base import Rule, RuleContext

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")


def is_packaging(command: ShellCommand) -> bool:
    """`aws cloudformation package`, `sam package`, or `aws s3 cp/sync` of template files."""
    if cfn_action(command) == "package" or (command.name == "sam" and command.has_words("sam", "package")):
        return True
    if command.name == "aws" and (command.has_words("s3", "cp") or command.has_words("s3", "sync")):
        sources = [w for w in command.words if not w.startswith(("-", "s3://"))]
        return command.has_words("s3", "sync") or any(
            "templat" in w.lower() or w.lower().endswith(TEMPLATE_SUFFIXES) for w in sources)
    return False


def _url_text(node: Any) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        (key, arg), = node.items()
        if key == "Fn::Sub":
            return arg if isinstance(arg, str) else (arg[0] if isinstance(arg, list) and arg else "")
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            return "".join(p if isinstance(p, str) else "${}" for p in arg[1])
        if key == "Ref":
            return "${" + str(arg) + "}"
    return ""


def literal_bucket(url: str) -> str | None:
    """The bucket of an http(s) TemplateURL when it is written out, not a parameter: path-style
    `s3.amazonaws.com/<bucket>/…` or virtual-hosted `<bucket>.s3.<region>.amazonaws.com/…`.
    `${AWS::Region}` in the host does not make the bucket a parameter."""
    if not url.startswith(("http://", "https://")):
        return None
    parts = urlsplit(url)
    host, path = parts.netloc, [p for p in parts.path.split("/") if p]
    if host.startswith(("s3.", "s3-")):
        bucket = path[0] if path else ""
    elif ".s3." in host or ".s3-" in host:
        bucket = host.split(".s3", 1)[0]
    else:
        bucket = host
    return bucket if bucket and "${" not in bucket else None


class NestedStackNotPackaged(Rule):
    """
    ## What it does
    For templates with nested stacks (`AWS::CloudFormation::Stack`), checks that the deploy
    path — shell scripts, runbook `bash` blocks and workflow `run:` steps — uploads the child
    templates: `aws cloudformation package`, `sam package`, or `aws s3 cp` / `aws s3 sync` of
    template files. Reported once per parent template, at its first nested stack's `TemplateURL`, when no such step exists.
    A local `TemplateURL` (a relative path) needs `package` too and is reported the same way.
    When every `TemplateURL` of the parent writes its bucket out (`https://s3.amazonaws.com/
    some-bucket/vpc.yaml`, no `!Sub` / `!Ref` of a bucket parameter), that is what the finding
    says first: the children deployed are whatever sits in that bucket, not this repository's
    files (named when the URL's key matches one), and the fix is a bucket parameter plus the
    upload step. A parent that mixes the two names its hard-coded children too.

    ## Why is this bad
    The parent stack deploys whatever is in the bucket, not what is in the repository: a
    reviewed change to a child template never reaches AWS (or an old, unreviewed one does), and
    a new environment fails on a missing S3 object. Rolling back the parent does not roll back
    a child template that someone uploaded by hand.

    ## Example
    ```yaml
    NetworkStack:
      Type: AWS::CloudFormation::Stack
      Properties:
        TemplateURL: !Sub https://${TemplateBucket}.s3.amazonaws.com/network.yaml
    ```

    ## Use instead
    ```bash
    aws cloudformation package --template-file infra/main.yaml \
      --s3-bucket "$TEMPLATE_BUCKET" --s3-prefix "$RELEASE" --output-template-file packaged.yaml
    aws cloudformation create-change-set --template-body file://packaged.yaml ...
    ```

    ## References
    - https://docs.aws.amazon.com/cli/latest/reference/cloudformation/package.html
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-nested-stacks.html
    """

    id = "SRE-DEP-014"
    name = "nested-stack-without-packaging"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "ネストスタックのテンプレートをアップロードする手順がない"
    title_en = "Nested stack templates are never uploaded"
    passed_ja = "ネストスタックのテンプレートはデプロイ手順でパッケージ・アップロード"
    passed_en = "Nested stack templates are packaged / uploaded by the deploy path"
    fix_ja = "デプロイスクリプトで `aws cloudformation package`（またはリリースごとのプレフィックスへの `aws s3 sync`）を実行してから Change Set を作成する"
    fix_en = "Run `aws cloudformation package` (or `aws s3 sync` to a per-release prefix) in the deploy script before creating the change set"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        if any(is_packaging(c) for b in command_blocks(ctx.project) for c in b.commands):
            return
        for template in ctx.project.templates:  # one finding per parent: one missing step
            stacks = list(template.of_type("AWS::CloudFormation::Stack"))
            if not stacks:
                continue
            urls = {s.logical_id: _url_text(s.properties.get("TemplateURL")) for s in stacks}
            shown = ", ".join(f"`{s.logical_id}`（{urls[s.logical_id] or 'TemplateURL'}）"
                              for s in stacks[:3]) + (f" ほか {len(stacks) - 3} 件" if len(stacks) > 3 else "")
            shown_en = ", ".join(f"`{s.logical_id}` ({urls[s.logical_id] or 'TemplateURL'})"
                                 for s in stacks[:3]) + (f" and {len(stacks) - 3} more" if len(stacks) > 3 else "")
            first = stacks[0]
            place = dict(file=template.path, line=first.property_line("TemplateURL"), resource=first.logical_id)
            literal = {s.logical_id: literal_bucket(urls[s.logical_id]) for s in stacks}
            literal = {k: v for k, v in literal.items() if v}
            if literal and len(literal) == len(stacks):
                yield self._hard_coded(ctx, template, literal, place)
                continue
            also_ja = also_en = ""
            if literal:  # some children point at a fixed bucket, the others at a parameter
                named = ", ".join(f"`{n}`" for n in literal)
                buckets = ", ".join(f"`{b}`" for b in sorted(set(literal.values())))
                also_ja = f"。うち {named} はバケット {buckets} を直書きしていて、パラメータにもなっていない"
                also_en = f"; {named} hard-code the bucket {buckets} instead of a parameter"
            yield self.finding(
                ctx, **place,
                message=ctx.text(
                    f"ネストスタック {shown} のテンプレートを S3 にアップロードする手順"
                    "（aws cloudformation package / aws s3 cp・sync）がスクリプト・手順書・CI のどこにもない"
                    + also_ja,
                    f"nested stacks {shown_en}: no step in the scripts, runbooks or CI uploads their "
                    "templates (aws cloudformation package / aws s3 cp or sync)" + also_en))

    def _hard_coded(self, ctx: RuleContext, template, literal: dict[str, str], place: dict) -> Finding:
        """TemplateURLs that name a bucket outright: whatever sits in that bucket is deployed,
        not this repository's child templates — a fix to a child (or a fork's edit) never
        reaches AWS, and nobody here may own the bucket. That is the problem to name; an upload
        step would not help while the URL is fixed (the remediation says both)."""
        buckets = sorted(set(literal.values()))
        children = [link.child.path for link in stack_model(ctx.project).children(template)
                    if link.resource.logical_id in literal]
        names = ", ".join(f"`{n}`" for n in list(literal)[:3]) + (
            f" ほか {len(literal) - 3} 件" if len(literal) > 3 else "")
        names_en = ", ".join(f"`{n}`" for n in list(literal)[:3]) + (
            f" and {len(literal) - 3} more" if len(literal) > 3 else "")
        local_ja = local_en = ""
        if children:
            more = f" ほか {len(children) - 1} 件" if len(children) > 1 else ""
            local_ja = f"このリポジトリの {children[0]}{more}を直しても反映されない。"
            local_en = f" — edits to this repository's {children[0]}" + (
                f" and {len(children) - 1} more" if len(children) > 1 else "") + " never reach AWS"
        bucket_list = "・".join(f"`{b}`" for b in buckets)
        return self.finding(
            ctx, **place,
            message=ctx.text(
                f"ネストスタック {names}（すべて）の TemplateURL がバケット {bucket_list} を直書きした固定 URL で、"
                f"パラメータになっていない。デプロイされる子テンプレートはそのバケットにある版で、{local_ja}"
                "自分のバケットにアップロードしても URL が固定なのでその版は使われない",
                f"nested stacks {names_en} (all of them) use a TemplateURL that hard-codes the bucket "
                f"{', '.join(buckets)} (no parameter): what gets deployed is whatever sits in that bucket"
                f"{local_en}; uploading them to a bucket of one's own changes nothing while the URL is fixed"),
            remediation=ctx.text(
                "バケットをパラメータにし（`!Sub https://${TemplateBucket}.s3.amazonaws.com/${Release}/…`）、"
                "デプロイ手順で `aws cloudformation package`（またはリリースごとのプレフィックスへの `aws s3 sync`）"
                "を実行してから Change Set を作成する",
                "Make the bucket a parameter (`!Sub https://${TemplateBucket}.s3.amazonaws.com/${Release}/…`) and "
                "run `aws cloudformation package` (or `aws s3 sync` to a per-release prefix) in the deploy "
                "path before creating the change set"))

    def coverage(self, ctx: RuleContext) -> str | None:
        stacks = [f"{t.path} `{s.logical_id}`" for t in ctx.project.templates
                  for s in t.of_type("AWS::CloudFormation::Stack")]
        return ", ".join(stacks[:3]) if stacks else None
