"""IAC007: a stack imports an export or reads an SSM parameter that nothing in the project writes."""

from __future__ import annotations

from typing import Iterable

from sre_agent.iac.crossstack import WILDCARD, readers, writers
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import Rule, RuleContext


class CrossStackReadWithoutWriter(Rule):
    """
    ## What it does
    Collects the names the project's stacks write for each other — CloudFormation exports
    (`Outputs.*.Export.Name`) and SSM parameters (`AWS::SSM::Parameter`, `aws_ssm_parameter`) —
    and the names they read (`Fn::ImportValue`, `{{resolve:ssm:…}}`, parameters of type
    `AWS::SSM::Parameter::Value<…>`, `data "aws_ssm_parameter"`), and reports a read no writer
    could produce. A part of a name that is only known at deploy time (`${AWS::StackName}`, a
    parameter) matches anything. A read in a namespace the project writes in (`/kintai/…` when the
    project writes `/kintai/prd/db/endpoint`) is a warning — likely a typo or a missing output; a
    read in a namespace the project never writes may be written by another repository and is
    info. AWS's public parameters (`/aws/service/…`) are not reported.

    ## Why is this bad
    `No export named kintai-prd-VpcID found` stops the deploy of the importing stack; an SSM
    name with a typo fails the change set, and a parameter written by hand outside IaC is lost
    when the account is rebuilt for disaster recovery.

    ## Example
    ```yaml
    # network.yaml exports ${ProjectName}-${Environment}-VpcId
    VpcId: !ImportValue kintai-prd-VpcID
    ```

    ## Use instead
    Read exactly the name the writing stack exports (`!ImportValue !Sub ${ProjectName}-${Environment}-VpcId`),
    and write every SSM parameter the stacks read from IaC.

    ## References
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/walkthrough-crossstackref.html
    - standards/cloudformation.md §3 パラメータと環境差分
    """

    id = "SRE-IAC-007"
    name = "cross-stack-read-without-writer"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "読み込むエクスポート / SSM パラメータを書くスタックがない"
    title_en = "Imported export / SSM parameter that no stack writes"
    passed_ja = "スタック間で読む値（エクスポート・SSM）はすべてプロジェクト内で書かれている"
    passed_en = "Every export / SSM parameter read across stacks is written in the project"
    fix_ja = "書き込み側のスタックのエクスポート名・パラメータ名と一致させる（外部管理なら手順書に出典を書く）"
    fix_en = "Match the writing stack's export / parameter name (if it is managed elsewhere, say where)"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        by_kind: dict[str, list] = {}
        for writer in writers(ctx.project):
            by_kind.setdefault(writer.kind, []).append(writer)
        exact = {(w.kind, w.name) for kind in by_kind.values() for w in kind}
        for read in readers(ctx.project):
            if (read.kind, read.name) in exact or read.name == WILDCARD:
                continue   # the same name written somewhere: no pattern needed
            same_kind = by_kind.get(read.kind, [])
            if any(w.could_be(read) for w in same_kind):
                continue
            ours = any(w.namespace and w.namespace == read.namespace for w in same_kind)
            what = ctx.text("エクスポート" if read.kind == "export" else "SSM パラメータ",
                            "export" if read.kind == "export" else "SSM parameter")
            if ours:
                message = ctx.text(
                    f"`{read.owner}` が読む{what} `{read.shown}` を書くスタックがプロジェクトにない"
                    "（同じ名前空間の値は書いているため、名前の誤りか出力漏れの可能性）",
                    f"`{read.owner}` reads the {what} `{read.shown}`, which no stack of the project writes "
                    "(the project writes others in that namespace: a typo or a missing output?)")
            else:
                message = ctx.text(
                    f"`{read.owner}` が読む{what} `{read.shown}` はプロジェクト外で管理されている（書き込み元が見当たらない）",
                    f"`{read.owner}` reads the {what} `{read.shown}`, written outside the project")
            yield self.finding(ctx, file=read.file, line=read.line, resource=read.owner, message=message,
                               severity=None if ours else Severity.INFO)

    def coverage(self, ctx: RuleContext) -> str | None:
        count = len(readers(ctx.project))
        return ctx.text(f"スタック間で読む値 {count} 件の書き込み元を確認",
                        f"{count} cross-stack reads checked for a writer") if count else None
