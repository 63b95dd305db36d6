"""Discovery and parsing: the given paths become one `Project` of parsed artifacts.

Every file under the given paths gets a `FileRecord` — reviewed, skipped with the reason, or
error with the parse error and its line — so nothing the user handed us is silently lost.
Symbolic links are never followed (a link out of the tree, or a loop, cannot be read by us).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator, TypeVar

from sre_agent.environments import canonical, environment_of_path
from sre_agent.models import FileKind, FileRecord, FileStatus
from sre_agent.parsing.cloudformation import (
    CfnTemplate, TemplateParseError, looks_like_template, parse_template,
)
from sre_agent.parsing.markdown import PROCEDURE, CodeBlock, MarkdownDoc, has_fill_in, parse_markdown
from sre_agent.parsing.shell import ShellCommand, ShellScript, is_shell_text, parse_shell
from sre_agent.parsing.terraform import HclParseError, TfFile, parse_terraform, parse_tfvars
from sre_agent.textio import TextDecodeError, decode_text, looks_binary

IGNORED_DIRS = frozenset({
    ".git", ".hg", ".svn", ".terraform", "node_modules", "__pycache__", ".venv", "venv",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", ".idea", ".vscode",
    ".tox", ".aws-sam", "cdk.out",
})
SHELL_FENCES = frozenset({"bash", "sh", "shell", "console", "zsh", "shell-session"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
DATA_SUFFIXES = frozenset({".yaml", ".yml", ".json", ".template", ".cfn"})
APP_SOURCE_SUFFIXES = frozenset({
    ".py", ".js", ".ts", ".tsx", ".jsx", ".java", ".go", ".rb", ".php", ".cs", ".kt", ".rs",
})
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
RUNBOOK_WORDS = ("運用", "手順", "runbook", "playbook", "readme", "パラメータ", "パラメーター",
                 "parameter", "procedure", "deployment", "handover", "引継", "引き継")
# Hidden folders hold tools' state (a scratch copy of another project, caches), not the project;
# these few are the project's own configuration and are read.
READ_HIDDEN_DIRS = frozenset({".github", ".gitlab", ".circleci", ".buildkite", ".claude"})
# Inside an agent framework's `.claude/`, only the technical standards describe the project; the
# framework's guides, agents and skills are full of illustrative (often deliberately bad) examples.
FRAMEWORK_DIR = ".claude"
FRAMEWORK_STANDARDS = ".claude/docs/40_standards"
# Words in a framework standard's path that make it an infrastructure standard (the folder also
# holds coding, naming and test standards that say nothing about what we review).
INFRA_STANDARD_WORDS = ("infra", "iac", "cloudformation", "cfn", "terraform", "aws", "secret",
                        "security", "network", "container", "ecs", "deploy", "monitor", "observab",
                        "sre", "operation", "cost", "インフラ", "セキュリティ", "ネットワーク",
                        "デプロイ", "監視", "運用", "コスト", "シークレット")
# The framework's phase documents in the order `/check all` follows them; each is a file or a
# folder under docs/ whose name holds the phase's word (`01_企画書.md`, `03_基本設計/`).
PHASES = (("01_企画書", "企画"), ("02_要件定義書", "要件定義"), ("03_基本設計書", "基本設計"),
          ("04_詳細設計書", "詳細設計"))


@dataclass
class ScriptFile:
    path: str
    text: str
    script: ShellScript


@dataclass
class Document:
    path: str
    kind: FileKind  # design-doc or standard
    text: str
    doc: MarkdownDoc

    @property
    def is_runbook(self) -> bool:
        """A procedure document (運用手順, デプロイ手順書, README, parameter sheet) rather than a
        design chapter that explains options."""
        lowered = self.path.casefold()
        return any(word in lowered for word in RUNBOOK_WORDS) or PurePosixPath(lowered).name == "readme.md"

    def shell_blocks(self) -> list[tuple[CodeBlock, ShellScript]]:
        """Parsed once per document: every rule that follows commands asks again."""
        cached = self.__dict__.get("_shell_blocks")
        if cached is None:
            cached = self.__dict__["_shell_blocks"] = list(self._shell_blocks())
        return cached

    def _shell_blocks(self) -> Iterator[tuple[CodeBlock, ShellScript]]:
        """Fenced bash blocks that are the project's own procedure: their commands are reviewed
        like scripts. Illustrations are not run — usage examples, design options and bad
        examples (the block's role, see parsing.markdown.block_role) — and nothing in a
        technical standard is the project's deploy path. In a design chapter (not a runbook), a
        block with values left for the reader (`vpc-xxx`) illustrates the design even under a
        「デプロイ」 heading. Lines of a block marked bad by its own comments (`# ❌ 悪い例`) are
        left out, line numbers unchanged."""
        if self.kind is FileKind.STANDARD:
            return
        for block in self.doc.code_blocks():
            if not self.is_runbook and has_fill_in(block.text):
                continue
            if block.lang in SHELL_FENCES and block.role == PROCEDURE:
                yield block, parse_shell(_strip_prompts(block.text_of(PROCEDURE)),
                                         line_offset=block.line - 1)


@dataclass
class ParameterSet:
    """Values for one environment: a CFN parameter JSON or a Terraform tfvars file."""

    path: str
    environment: str | None
    values: dict[str, Any]
    terraform: bool = False
    stack: str | None = None  # the section of a file that holds several stacks' parameters


T = TypeVar("T")


@dataclass
class Project:
    root: Path
    files: list[FileRecord] = field(default_factory=list)
    templates: list[CfnTemplate] = field(default_factory=list)
    terraform: list[TfFile] = field(default_factory=list)
    scripts: list[ScriptFile] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    parameter_sets: list[ParameterSet] = field(default_factory=list)
    workflows: list[str] = field(default_factory=list)
    ci_configs: dict[str, str] = field(default_factory=dict)  # buildspec, GitLab, …: path → text
    texts: dict[str, str] = field(default_factory=dict)

    def abs(self, path: str) -> Path:
        return self.root / path

    def memo(self, key: str, build: Callable[[], T]) -> T:
        """A derived view (document facts, the alarm index) built once per review, not per rule."""
        store = self.__dict__.setdefault("_memo", {})
        if key not in store:
            store[key] = build()
        return store[key]

    def commands(self) -> Iterator[tuple[str, ShellCommand]]:
        """Every command the project would run: scripts and the procedure shell blocks of its
        documents (not examples, not standards; see `Document.shell_blocks`)."""
        for script in self.scripts:
            for command in script.script.commands:
                yield script.path, command
        for document in self.documents:
            for _block, parsed in document.shell_blocks():
                for command in parsed.commands:
                    yield document.path, command

    def record(self, path: str) -> FileRecord | None:
        return next((r for r in self.files if r.path == path), None)


def standard_files(folder: Path) -> list[Path]:
    """The standards a folder holds. A framework's `40_standards/` (any depth) contributes its
    infrastructure standards only; any other folder (`--standards DIR`) all of its `*.md`."""
    if folder.name != PurePosixPath(FRAMEWORK_STANDARDS).name:
        return sorted(folder.glob("*.md"))
    return sorted(path for path in folder.rglob("*.md")
                  if any(word in path.relative_to(folder).as_posix().casefold()
                         for word in INFRA_STANDARD_WORDS))


def framework_standards(root: Path) -> Path | None:
    """The agent framework's standards folder under a reviewed root, when it has infra standards."""
    folder = root / FRAMEWORK_STANDARDS
    return folder if folder.is_dir() and standard_files(folder) else None


def phase_documents(root: Path) -> dict[str, Path | None]:
    """Each phase of the framework's document chain and where it is (None: missing)."""
    docs = root / "docs"
    entries = []
    if docs.is_dir():
        for dirpath, dirnames, filenames in os.walk(docs, followlinks=False):
            depth = len(Path(dirpath).relative_to(docs).parts)
            dirnames[:] = sorted(d for d in dirnames if depth < 2 and not d.startswith("."))
            entries += [Path(dirpath) / d for d in dirnames]
            entries += [Path(dirpath) / f for f in sorted(filenames)
                        if PurePosixPath(f).suffix.lower() in MARKDOWN_SUFFIXES]
    entries.sort(key=lambda p: (len(p.relative_to(docs).parts), p.as_posix()))
    return {phase: next((e for e in entries if word in e.name), None) for phase, word in PHASES}


def _strip_prompts(text: str) -> str:
    """`$ aws ...` in a console block is the command `aws ...`; keep line count unchanged."""
    lines = text.split("\n")
    return "\n".join(line[2:] if line.startswith("$ ") else line for line in lines)


def project_root(paths: list[Path]) -> Path:
    resolved = [p.resolve() for p in paths]
    if len(resolved) == 1:
        return resolved[0] if resolved[0].is_dir() else resolved[0].parent
    return Path(os.path.commonpath([str(p) for p in resolved]))


def walk(paths: list[Path], root: Path) -> Iterator[Path]:
    """Files under the given paths in a stable order, without following any symbolic link."""
    seen: set[Path] = set()
    for given in paths:
        if given.is_symlink() or not given.is_dir():
            candidates: list[Path] = [given]
        else:
            candidates = []
            for dirpath, dirnames, filenames in os.walk(given, followlinks=False):
                dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS
                                     and not os.path.islink(os.path.join(dirpath, d)))
                candidates.extend(Path(dirpath) / name for name in sorted(filenames))
                candidates.extend(Path(dirpath) / d for d in sorted(os.listdir(dirpath))
                                  if d not in IGNORED_DIRS and os.path.islink(os.path.join(dirpath, d))
                                  and os.path.isdir(os.path.join(dirpath, d)))
        for candidate in candidates:
            key = Path(os.path.abspath(candidate))
            if key not in seen:
                seen.add(key)
                yield candidate


def relative(path: Path, root: Path) -> str:
    try:
        rel = Path(os.path.abspath(path)).relative_to(root)
    except ValueError:
        rel = Path(os.path.abspath(path))
    return PurePosixPath(*rel.parts).as_posix() if rel.parts else path.name


def load_project(paths: list[Path], max_bytes: int = DEFAULT_MAX_BYTES) -> Project:
    root = project_root(paths)
    project = Project(root=root)
    named = {relative(p, root) for p in paths}
    for path in walk(paths, root):
        rel = relative(path, root)
        why = None if rel in named or _named_below(rel, named) else _out_of_scope(rel)
        if why:
            project.files.append(_skip(rel, _kind_by_name(rel), why))
            continue
        try:
            record = _load_file(project, path, rel, max_bytes)
        except (Exception, RecursionError, MemoryError) as exc:  # a parser bug must not lose the rest
            record = _fail(rel, _kind_by_name(rel), f"internal parser error: {type(exc).__name__}: {exc}", None)
        project.files.append(record)
    project.files.sort(key=lambda r: r.path)
    return project


def _named_below(rel: str, named: set[str]) -> bool:
    """True when the user named a folder inside the hidden or framework folder itself."""
    return any(n not in ("", ".") and rel.startswith(n.rstrip("/") + "/") and _out_of_scope(n + "/x") for n in named)


def _skip(rel: str, kind: FileKind, why: str) -> FileRecord:
    return FileRecord(path=rel, kind=kind, status=FileStatus.SKIPPED, error=why)


def _fail(rel: str, kind: FileKind, message: str, line: int | None) -> FileRecord:
    where = f"line {line}: " if line else ""
    return FileRecord(path=rel, kind=kind, status=FileStatus.ERROR, error=f"{where}{message}")


def _out_of_scope(rel: str) -> str | None:
    """Why a file found while walking is not part of the project under review, or None."""
    parts = PurePosixPath(rel).parts[:-1]
    hidden = next((p for p in parts if p.startswith(".") and p not in READ_HIDDEN_DIRS), None)
    if hidden:
        return f"inside the hidden folder {hidden}/ (tool state, not the project); name it to review it"
    if FRAMEWORK_DIR in parts and not any("standards" in part for part in parts):
        return ("agent framework file (.claude/): guides and agents, not the project's design; "
                "only its technical standards are read")
    return None


def _load_file(project: Project, path: Path, rel: str, max_bytes: int) -> FileRecord:
    if path.is_symlink():
        return _skip(rel, FileKind.OTHER, "symbolic link, not followed")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return _skip(rel, _kind_by_name(rel), f"too large ({size:,} bytes > {max_bytes:,})")
        data = path.read_bytes()
    except OSError as exc:
        return _fail(rel, FileKind.OTHER, f"cannot read: {exc.strerror or exc}", None)
    if looks_binary(data):
        return _skip(rel, _kind_by_name(rel), "binary file")
    try:
        text, encoding = decode_text(data)
    except TextDecodeError as exc:
        return _skip(rel, _kind_by_name(rel), f"not text: {exc}")
    record = _parse(project, path, rel, text)
    record.encoding = encoding
    if record.status is not FileStatus.SKIPPED:
        project.texts[rel] = text
    return record


def _kind_by_name(rel: str) -> FileKind:
    suffix = PurePosixPath(rel).suffix.lower()
    if suffix == ".tf":
        return FileKind.TERRAFORM
    if suffix in (".sh", ".bash"):
        return FileKind.SCRIPT
    if suffix in MARKDOWN_SUFFIXES:
        return FileKind.DESIGN_DOC
    return FileKind.OTHER


def _is_standard(rel: str) -> bool:
    lowered = rel.lower()
    return "standards/" in lowered or "40_standards" in lowered or any(
        word in PurePosixPath(rel).name for word in ("規約", "標準", "standard"))


def _parse(project: Project, path: Path, rel: str, text: str) -> FileRecord:
    suffix = PurePosixPath(rel).suffix.lower()
    if suffix == ".tf":
        try:
            project.terraform.append(parse_terraform(rel, path, text))
        except HclParseError as exc:
            return _fail(rel, FileKind.TERRAFORM, f"HCL syntax error: {exc}", exc.line)
        return FileRecord(path=rel, kind=FileKind.TERRAFORM)
    if suffix == ".tfvars":
        try:
            values = parse_tfvars(text)
        except Exception as exc:  # hcl2/lark error types vary; all mean "does not parse"
            return _fail(rel, FileKind.PARAMETERS, f"HCL syntax error: {str(exc).splitlines()[0]}",
                         getattr(exc, "line", None))
        project.parameter_sets.append(
            ParameterSet(rel, environment_of_path(rel), values, terraform=True))
        return FileRecord(path=rel, kind=FileKind.PARAMETERS)
    if suffix in MARKDOWN_SUFFIXES:
        kind = FileKind.STANDARD if _is_standard(rel) else FileKind.DESIGN_DOC
        project.documents.append(Document(rel, kind, text, parse_markdown(text)))
        return FileRecord(path=rel, kind=kind)
    if is_ci_config(rel):
        project.ci_configs[rel] = text
        return _skip(rel, FileKind.OTHER, "CI pipeline file (not GitHub Actions): read only for the scripts it runs")
    if is_shell_text(text, rel):
        project.scripts.append(ScriptFile(rel, text, parse_shell(text)))
        return FileRecord(path=rel, kind=FileKind.SCRIPT)
    if suffix in DATA_SUFFIXES:
        return _parse_data_file(project, path, rel, text)
    if suffix in APP_SOURCE_SUFFIXES:
        return _skip(rel, FileKind.OTHER, "application source code is outside the SRE review")
    return _skip(rel, FileKind.OTHER, "not an infrastructure, script or document file")


CI_CONFIG = re.compile(r"(^|/)(buildspec[\w.-]*\.ya?ml|\.gitlab-ci\.ya?ml|Jenkinsfile[\w.-]*|azure-pipelines[\w.-]*\.ya?ml"
                       r"|bitbucket-pipelines\.ya?ml|\.circleci/config\.ya?ml|cloudbuild[\w.-]*\.ya?ml)$")


def is_ci_config(rel: str) -> bool:
    """A CI system's pipeline file other than GitHub Actions: kept for the scripts it runs, so a
    rule can tell a script a person runs from one a pipeline runs."""
    return CI_CONFIG.search(rel) is not None


def _parse_data_file(project: Project, path: Path, rel: str, text: str) -> FileRecord:
    if "/.github/workflows/" in f"/{rel}":
        project.workflows.append(rel)
        return FileRecord(path=rel, kind=FileKind.OTHER)
    if looks_like_template(text):
        try:
            project.templates.append(parse_template(rel, path, text))
        except TemplateParseError as exc:
            return _fail(rel, FileKind.CLOUDFORMATION, str(exc), exc.line)
        return FileRecord(path=rel, kind=FileKind.CLOUDFORMATION)
    if rel.lower().endswith(".json"):
        sections = _cfn_parameter_values(text)
        if sections is not None:
            project.parameter_sets += [ParameterSet(rel, environment_of_path(rel), values, stack=stack)
                                       for stack, values in sections]
            return FileRecord(path=rel, kind=FileKind.PARAMETERS)
    return _skip(rel, FileKind.OTHER,
                 "YAML/JSON that is neither a CloudFormation template nor a parameter file")


def _cfn_parameter_values(text: str) -> list[tuple[str | None, dict[str, Any]]] | None:
    """Values of a CFN CLI parameter file (`[{ParameterKey, ParameterValue}]`), a CodePipeline
    template configuration (`{"Parameters": {...}}`) or a file with one such list per stack
    (`{"network": [...], "database": [...]}`, split by the deploy script); None for other JSON."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if _is_key_list(data):
        return [(None, _key_list_values(data))]
    if isinstance(data, dict) and isinstance(data.get("Parameters"), dict):
        return [(None, {str(k): v for k, v in data["Parameters"].items()})]
    if isinstance(data, dict) and data and all(_is_key_list(v) for v in data.values()):
        return [(str(stack), _key_list_values(items)) for stack, items in data.items()]
    return None


def _is_key_list(data: Any) -> bool:
    return isinstance(data, list) and bool(data) and all(
        isinstance(item, dict) and "ParameterKey" in item for item in data)


def _key_list_values(items: list[dict]) -> dict[str, Any]:
    return {str(item["ParameterKey"]): item.get("ParameterValue") for item in items}


__all__ = ["Project", "ScriptFile", "Document", "ParameterSet", "load_project", "canonical",
           "framework_standards", "phase_documents", "standard_files"]
