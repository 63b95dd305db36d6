"""What the model may read: the role's context limits, applied before anything is sent.

The role definition (shared/spec/sre-role.seed.md) lets the SRE read the infra parts of the
design documents, the technical standards, the IaC and the scripts — never application source
code and never business-requirement detail. So: templates, Terraform, parameter files, scripts
and CI workflows are sent whole; design documents only by their sections whose heading names
an infra topic (the section and its sub-sections); standards whole; everything else is listed
as not sent, with the reason. All text is redacted (see redact.py; the lines the deterministic
findings report as literal secrets are masked whatever their shape) and line-numbered with the
file's own line numbers so the model can cite them. Redaction reads every file before masking
any: a value masked in one file (a parameter file's password) is masked wherever another file
repeats it (a README, a runbook), and so are the values found in the files read but not sent
(a design document without an infra section), application code aside; `ctx.redactor.scrub`
masks them in any other text sent (finding messages, cross-document facts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from sre_agent.llm.redact import Redactor
from sre_agent.models import FileKind
from sre_agent.project import APP_SOURCE_SUFFIXES, Document, Project

# shared/spec/design-docs.md's heading keywords, plus the operational topics of the role.
INFRA_KEYWORDS = (
    "監視", "アラート", "バックアップ", "RTO", "RPO", "コスト", "費用", "予算", "マルチAZ", "冗長",
    "SLO", "SLI", "SLA", "稼働率", "可用性", "性能", "応答時間", "ロールバック", "障害", "ポストモーテム",
    "インフラ", "ネットワーク", "デプロイ", "リリース", "運用", "DR", "災害", "スケール", "スケーリング",
    "CloudFormation", "Terraform", "IaC", "構成図", "システム構成", "非機能", "ログ", "セキュリティ",
    "データベース", "コンピュート", "パラメータ", "パラメーター", "手順", "CI/CD", "バッチ",
)


@dataclass
class ContextFile:
    path: str
    kind: str        # iac | parameters | script | workflow | design-doc | standard
    group: str       # stack:<dir> | parameters | scripts | docs:<dir> | standards
    numbered: str    # redacted text, each line prefixed with its line number in the file
    excerpt: bool = False
    sent_lines: int = 0
    ranges: list[tuple[int, int]] | None = None   # None = the whole file

    def covers(self, line: int) -> bool:
        return self.ranges is None or any(a <= line <= b for a, b in self.ranges)


@dataclass
class ProjectContext:
    files: list[ContextFile] = field(default_factory=list)
    not_sent: list[str] = field(default_factory=list)   # "path — reason"
    redactor: Redactor = field(default_factory=Redactor)

    @property
    def paths(self) -> set[str]:
        return {f.path for f in self.files}

    def covers(self, path: str, line: int) -> bool:
        """Whether this line of this file is part of what is sent."""
        return any(f.path == path and f.covers(line) for f in self.files)


def numbered_lines(text: str, ranges: list[tuple[int, int]] | None = None) -> tuple[str, int]:
    lines = text.split("\n")
    ranges = ranges or [(1, len(lines))]
    out: list[str] = []
    count = 0
    for start, end in ranges:
        if out:
            out.append("   …|")
        for number in range(start, min(end, len(lines)) + 1):
            out.append(f"{number:>5}| {neutralise(lines[number - 1])}")
            count += 1
    return "\n".join(out), count


def neutralise(line: str) -> str:
    """A file cannot close our data delimiters and speak outside them."""
    for tag in ("project_data", "file", "deterministic_findings", "cross_document_facts"):
        line = line.replace(f"</{tag}", f"<\\/{tag}").replace(f"<{tag}", f"<\\{tag}")
    return line


def infra_ranges(document: Document) -> list[tuple[int, int]]:
    """Line ranges (1-based, inclusive) of the sections whose heading names an infra topic;
    a selected section brings its sub-sections, and the title line is always kept."""
    sections = sorted((s for s in document.doc.sections() if s.line >= 1 and s.title),
                      key=lambda s: s.line)
    total = len(document.text.split("\n"))
    ranges: list[tuple[int, int]] = []
    for index, section in enumerate(sections):
        if not any(k.casefold() in section.title.casefold() for k in INFRA_KEYWORDS):
            continue
        end = total
        for later in sections[index + 1:]:
            if later.level <= section.level:
                end = later.line - 1
                break
        if ranges and section.line <= ranges[-1][1]:
            continue                      # inside a section already selected
        if ranges and section.line == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((section.line, end))
    if sections and ranges and ranges[0][0] != sections[0].line:
        ranges.insert(0, (sections[0].line, sections[0].line))
    return ranges


def _group(path: str, prefix: str) -> str:
    parent = str(PurePosixPath(path).parent)
    return f"{prefix}:{'.' if parent == '.' else parent}"


def select_context(project: Project, flagged: dict[str, set[int]] | None = None) -> ProjectContext:
    """What is sent, redacted. `flagged` (path → line numbers, `redact.flagged_lines`) are the
    lines our rules found a literal secret on: masked even where no redaction pattern matches."""
    ctx = ProjectContext(redactor=Redactor(flagged))
    taken: set[str] = set()

    def add(path: str, kind: str, group: str, ranges=None) -> None:
        _, count = numbered_lines(project.texts.get(path, ""), ranges)   # numbered once redacted
        ctx.files.append(ContextFile(path, kind, group, "", bool(ranges), count, ranges))
        taken.add(path)

    for template in project.templates:
        add(template.path, "iac", _group(template.path, "stack"))
    for tf in project.terraform:
        add(tf.path, "iac", _group(tf.path, "stack"))
    for params in project.parameter_sets:
        if params.path in project.texts:
            add(params.path, "parameters", "parameters")
    for script in project.scripts:
        add(script.path, "script", "scripts")
    for workflow in project.workflows:
        if workflow in project.texts and workflow not in taken:
            add(workflow, "workflow", "scripts")
    for document in project.documents:
        if document.kind is FileKind.STANDARD:
            add(document.path, "standard", "standards")
            continue
        ranges = infra_ranges(document)
        total = len(document.text.split("\n"))
        if not ranges:
            ctx.not_sent.append(f"{document.path} — no infra section (business/requirement content)")
            taken.add(document.path)
            continue
        add(document.path, "design-doc", _group(document.path, "docs"), ranges)
        left = total - ctx.files[-1].sent_lines
        if left > 0:
            ctx.not_sent.append(f"{document.path} — {left} of {total} lines: non-infra sections")
    for record in sorted(project.files, key=lambda r: r.path):
        path = record.path
        if path in taken:
            continue
        if PurePosixPath(path).suffix.lower() in APP_SOURCE_SUFFIXES:
            ctx.not_sent.append(f"{path} — application code (outside the SRE role)")
        elif path not in project.texts:
            ctx.not_sent.append(f"{path} — {record.status.value}: {record.error or 'not read'}")
        elif record.kind in (FileKind.CLOUDFORMATION, FileKind.TERRAFORM):  # unparsable IaC
            add(path, "iac", _group(path, "stack"))
        elif record.kind is FileKind.SCRIPT:
            add(path, "script", "scripts")
        else:
            ctx.not_sent.append(f"{path} — not an infra artifact")
    _redact(ctx, project)
    return ctx


LEARN_MAX_CHARS = 200_000     # a larger unsent file (a lock file, a dump) is not read for values


def _redact(ctx: ProjectContext, project: Project) -> None:
    """Redact every file sent, all at once (see the module's docstring); first remember the
    values of the text files not sent, except application code (outside the role, and large)."""
    sent = {f.path for f in ctx.files}
    for path, text in sorted(project.texts.items()):
        if path not in sent and len(text) <= LEARN_MAX_CHARS \
                and PurePosixPath(path).suffix.lower() not in APP_SOURCE_SUFFIXES:
            ctx.redactor.learn(path, text)
    texts = ctx.redactor.redact_all([(f.path, project.texts.get(f.path, "")) for f in ctx.files])
    for file, text in zip(ctx.files, texts):
        file.numbered = numbered_lines(text, file.ranges)[0]
