"""DOC009: unresolved placeholders in parameter files, parameter sheets or runbooks."""

from __future__ import annotations

import re
from typing import Iterable

from sre_agent.environments import is_prod
from sre_agent.iac.deployments import deployments, parameter_file_readers
from sre_agent.resolve import stack_model
from sre_agent.models import FileKind, Finding, Perspective, Severity
from sre_agent.parsing.markdown import PROCEDURE, MarkdownDoc, heading_role
from sre_agent.rules.base import Rule, RuleContext

PLACEHOLDER = re.compile(
    r"(?<![A-Za-z0-9_])(CHANGE_?ME(?:_[A-Z0-9_]+)?|REPLACE_?ME(?:_[A-Z0-9_]+)?|TBD|TODO|FIXME|X{4,}|x{4,})(?![A-Za-z_])"
    r"|(要確認|未定|調整中|後日記載)")
# In a command, `xxxx` marks an argument the operator fills in, like `<stack-name>`; in a value
# table or a parameter file it is a value nobody has filled in.
FILL_IN = re.compile(r"^(X{4,}|x{4,})$")
# Values that only stand in for a real one, in the files a deploy reads: fill-in markers, the
# domains reserved for examples (RFC 2606) and the account ids of AWS's own documentation.
PARAMETER_PLACEHOLDER = re.compile(
    r"(?<![A-Za-z0-9_])(REPLACE[_-]?WITH[\w-]*|YOUR[_/-][A-Z0-9_/-]+|PLACEHOLDER[\w-]*|<[^<>\s\"]+>)"
    r"|[\w.+-]+@example\.(?:com|org|net|jp|co\.jp)\b"
    r"|(?<![0-9])(123456789012|111111111111|000000000000)(?![0-9])", re.IGNORECASE)
class UnresolvedPlaceholder(Rule):
    """
    ## What it does
    Scans parameter files (CloudFormation parameter JSON, `.tfvars`), parameter sheets and
    runbooks (`運用手順`, `手順書`, `README`, `パラメーターシート`) for placeholders left in:
    `CHANGE_ME`, `REPLACE_ME`, `XXXX` (an account id or ARN part), `TBD`, `TODO`, `FIXME`,
    要確認, 未定. In parameter files — what a deploy really reads — also `REPLACE_WITH_…`,
    `YOUR_…`, `<…>`, addresses at the example domains (`alerts@example.com`) and the account
    ids of AWS's documentation (`123456789012`), `PLACEHOLDER…`, `YOUR/…` URL segments; in a
    production parameter file that a deploy of the project reads (`--parameters file://…`, or
    a deploy script that names the file and passes a filtered copy) these are errors, since they are deployed as they are (a production file no
    command is seen reading stays a warning). A placeholder in the value of a key that no
    template the file deploys reads (declared and passed to a child that ignores it) changes
    nothing and is not reported. Reports each line once (a parameter file once, listing its holes). Single-file check:
    runs in light mode too.
    Illustrations are not unfinished work: code blocks that are examples (a 記入例, a README
    usage example, an NG example — see the block role of the markdown model) and sections headed
    例 / Example / NG are skipped, and in the commands of a procedure `xxxx` marks a value the
    operator fills in at run time, like `<stack-name>`.

    ## Why is this bad
    A placeholder in a parameter file is deployed as is (an alarm mailed to
    `CHANGE_ME@example.com` notifies nobody); in a runbook it is found by the on-call engineer in
    the middle of an incident, when the real value is no longer anyone's to look up.

    ## Example
    ```json
    {"ParameterKey": "AlertEmail", "ParameterValue": "CHANGE_ME"}
    ```

    ## Use instead
    ```json
    {"ParameterKey": "AlertEmail", "ParameterValue": "order-ops@example.co.jp"}
    ```

    ## References
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
    """

    id = "SRE-DOC-009"
    name = "unresolved-placeholder"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "未確定のプレースホルダーが残っている"
    title_en = "Unresolved placeholder"
    passed_ja = "パラメーター・手順書にプレースホルダーなし"
    passed_en = "No placeholders left in parameters and runbooks"
    fix_ja = "実際の値を記入する（決まっていない場合は担当と期限を課題管理に登録し、デプロイを止める）"
    fix_en = "Fill in the real value (or track the open item and block the deploy until it is decided)"

    def _files(self, ctx: RuleContext) -> list[str]:
        project = ctx.project
        paths = [p.path for p in project.parameter_sets]
        paths += [d.path for d in project.documents
                  if d.kind is FileKind.DESIGN_DOC and d.is_runbook]
        return sorted(set(p for p in paths if p in project.texts))

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        documents = {d.path: d.doc for d in ctx.project.documents}
        parameter_envs = _parameter_file_environments(ctx)
        for path in self._files(ctx):
            skipped, commands = _illustrations(documents[path]) if path in documents else (set(), set())
            in_parameters = path in parameter_envs
            prod = in_parameters and is_prod(parameter_envs[path])
            hits: list[tuple[int, str, str]] = []
            ignored = _unused_values(ctx, path) if in_parameters else set()
            for number, line in enumerate(ctx.project.texts[path].splitlines(), start=1):
                if number in skipped:
                    continue
                m = next((m for m in PLACEHOLDER.finditer(line)
                          if not (number in commands and FILL_IN.match(m.group(0)))
                          and not (not in_parameters and _generated_id(line, m))), None)
                if m is None and in_parameters:
                    m = PARAMETER_PLACEHOLDER.search(line)
                if m and not any(m.group(0) in value for value in ignored):
                    hits.append((number, m.group(0), line.strip()[:80]))
            if in_parameters and hits:  # one file a deploy reads: one finding listing its holes
                yield self._parameter_file(ctx, path, hits, parameter_envs.get(path), prod)
                continue
            for number, token, text in hits:
                yield self.finding(ctx, file=path, line=number, message=ctx.text(
                    f"`{token}` が残っている: {text}", f"placeholder `{token}` left in: {text}"))

    def _parameter_file(self, ctx: RuleContext, path: str, hits: list[tuple[int, str, str]],
                        env: str | None, prod: bool) -> Finding:
        """❌ only for a production file a deploy command of the project is seen reading; a
        production file no command is seen reading (an orphaned copy, a path the scripts spell
        differently, a temporary copy) is a warning that says what would happen if it were used."""
        tokens = list(dict.fromkeys(token for _, token, _ in hits))
        shown = ", ".join(f"`{t}`" for t in tokens[:3]) + (
            ctx.text(f" ほか {len(tokens) - 3} 件", f" and {len(tokens) - 3} more") if len(tokens) > 3 else "")
        lines = ", ".join(str(n) for n, _, _ in hits[:5]) + (" …" if len(hits) > 5 else "")
        reader = None
        if prod:
            deploy = next((d for d in deployments(ctx.project) if any(p.path == path for p in d.parameter_sets)), None)
            reader = (deploy.file, deploy.line) if deploy else parameter_file_readers(ctx.project).get(path)
        if reader is not None:
            tail = ctx.text(f"。本番のパラメータファイルで、{reader[0]}:{reader[1]} のデプロイがこの値のまま使う",
                            f": a production parameter file that the deploy at {reader[0]}:{reader[1]} "
                            "uses as is")
        elif prod:
            tail = ctx.text("。本番用のパラメータファイルで、このまま使われると本番にこの値が入る",
                            ": a production parameter file; used as is, these values reach production")
        else:
            tail = ""
        return self.finding(
            ctx, file=path, line=hits[0][0], environment=env,
            severity=Severity.ERROR if reader is not None else None,
            message=ctx.text(f"パラメータファイルにプレースホルダー {len(hits)} 件（行 {lines}）: {shown}",
                             f"{len(hits)} placeholders in the parameter file (lines {lines}): {shown}") + tail)

    def coverage(self, ctx: RuleContext) -> str | None:
        files = self._files(ctx)
        return f"パラメーター・手順書 {len(files)} 件を確認" if files else None


def _unused_values(ctx: RuleContext, path: str) -> set[str]:
    """Values of a parameter file's keys that no template it deploys reads (a `SlackWebhookUrl`
    declared and passed to a child that never uses it): a placeholder there changes nothing.
    Empty when the file's templates are not known."""
    model = stack_model(ctx.project)
    sets = [p for p in ctx.project.parameter_sets if p.path == path and not p.terraform]
    unused: set[str] = set()
    for pset in sets:
        templates = [t for t in ctx.project.templates if any(f is pset for f in model.parameter_files(t))]
        if not templates:
            continue
        unused |= {str(value) for key, value in pset.values.items()
                   if isinstance(value, (str, int)) and not any(model.uses_parameter(t, key) for t in templates)}
    return unused


# AWS assigns these ids at creation: a design's route table can only say `igw-xxxxx`.
_AWS_ID_PREFIX = re.compile(r"(?:igw|nat|vgw|tgw|tgw-attach|vpc|subnet|sg|rtb|eni|i|ami|vpce|acl|eipalloc|pcx|cgw|"
                            r"lt|fs|fsap|snap|vol|db|cluster|arn:aws:[a-z0-9-]+:[a-z0-9-]*:[0-9x]*:?[a-z-]*)[-/:]$",
                            re.IGNORECASE)


def _generated_id(line: str, match: re.Match) -> bool:
    """`nat-xxxxx` in a document: the id AWS will assign, not a value someone forgot."""
    return bool(match.group(1)) and match.group(1)[0] in "xX" and bool(
        _AWS_ID_PREFIX.search(line[max(0, match.start() - 40):match.start()]))


def _parameter_file_environments(ctx: RuleContext) -> dict[str, str | None]:
    """Each parameter file's environment: the one it deploys, not only the one its name says."""
    from sre_agent.iac.stacks import environment_of

    found: dict[str, str | None] = {}
    for pset in ctx.project.parameter_sets:
        env = environment_of(pset)
        if found.get(pset.path) is None:
            found[pset.path] = env
    return found


def _illustrations(doc: MarkdownDoc) -> tuple[set[int], set[int]]:
    """(lines of examples: code blocks that are not the procedure and sections headed 例 / NG /
    Example, lines of procedure code blocks, where `xxxx` is a value the reader fills in)."""
    skipped: set[int] = set()
    commands: set[int] = set()
    sections = sorted((s for s in doc.sections() if s.level > 0), key=lambda s: s.line)
    ends = [s.line for s in sections[1:]] + [len(doc.lines()) + 1]
    for section, end in zip(sections, ends):
        if heading_role(section.path()) is not None:
            skipped.update(range(section.line, end))
    for block in doc.code_blocks():
        for k in range(1, block.text.count("\n") + 2):
            if block.role_of(k) != PROCEDURE:
                skipped.add(block.line + k - 1)
            else:  # a command's `xxxx` and a config sample's `"ClientId": "xxxx"` are for the reader
                commands.add(block.line + k - 1)
    return skipped, commands
