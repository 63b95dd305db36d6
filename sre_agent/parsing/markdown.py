"""Markdown design documents (基本設計書 and the like) as a tree of heading sections.

Reviewers ask section-shaped questions ("is there a 監視 section, and does its table have a 閾値
column?"), so the document is folded into sections by heading level, each holding its own
paragraphs, tables and code blocks with 1-based source lines for findings to point at.
markdown-it-py does the tokenising; this module only walks its token stream.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterator

from markdown_it import MarkdownIt
from markdown_it.token import Token

_MD = MarkdownIt("commonmark").enable("table")

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_EMPHASIS = (
    re.compile(r"(`+)(.+?)\1"),  # `code` / ``code``
    re.compile(r"\*\*(.+?)\*\*"),  # **strong**
    re.compile(r"__(.+?)__"),  # __strong__
    re.compile(r"(?<![*\w])\*(?![\s*])([^*]+?)(?<!\s)\*(?![*\w])"),  # *em*, but not 5 * 3
)
# 約 ("about") before a number, at the start of the cell or after a space/punctuation. The
# boundary keeps words such as 契約3年 / 予約 intact.
_APPROX = re.compile(r"(?:^|(?<=[\s(\[「、,:/~]))約\s*(?=[0-9$¥€£])")
_WS = re.compile(r"\s+")
_NEWLINES = re.compile(r"\r\n|\r|\n")


def normalize_cell(text: str) -> str:
    """Canonical form of a cell or title, so rules can compare `９９．９％` with `99.9%`.

    NFKC folds full-width digits, letters and symbols (％（）＄￥) to ASCII/¥ and leaves kana,
    kanji and emoji alone; markdown emphasis and `<br>` are dropped; whitespace is collapsed;
    an approximation 約 before a number is removed (約43分 -> 43分).
    """
    s = unicodedata.normalize("NFKC", text).replace("\uffe5", "\u00a5")  # ￥ -> ¥ (NFKC does this too)
    s = _BR.sub(" ", s)
    for pattern in _EMPHASIS:
        s = pattern.sub(lambda m: m.group(m.lastindex or 0), s)
    s = _WS.sub(" ", s).strip()
    return _APPROX.sub("", s).strip()


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    raw_rows: tuple[tuple[str, ...], ...]
    line: int
    row_lines: tuple[int, ...]

    def column(self, *keywords: str) -> int | None:
        """Index of the first header cell containing any keyword (normalized, case-insensitive)."""
        wanted = [k for k in (normalize_cell(k).casefold() for k in keywords) if k]
        for index, cell in enumerate(self.header):
            if any(k in cell.casefold() for k in wanted):
                return index
        return None

    def as_dicts(self) -> list[dict[str, str]]:
        """Body rows keyed by header cell; with duplicate headers the leftmost column wins."""
        result = []
        for row in self.rows:
            record: dict[str, str] = {}
            for name, value in zip(self.header, row):
                record.setdefault(name, value)
            result.append(record)
        return result


PROCEDURE = "procedure"  # commands of the project's own procedure: reviewed like a script
EXAMPLE = "example"  # an illustration (README usage, 例 / Example, a design option): not run
BAD = "bad"  # a deliberately wrong example (NG / Bad / ❌ / アンチパターン)


@dataclass(frozen=True)
class CodeBlock:
    lang: str
    text: str
    line: int  # first line inside the fence: text line k is at line + k - 1
    role: str = PROCEDURE
    # Per text line, when comments inside the block switch roles (`# ❌ Bad` ... `# ✅ Good`);
    # empty when every line has `role`.
    line_roles: tuple[str, ...] = field(default=(), compare=False)

    def role_of(self, k: int) -> str:
        """Role of text line k (1-based)."""
        return self.line_roles[k - 1] if 0 < k <= len(self.line_roles) else self.role

    def text_of(self, role: str = PROCEDURE) -> str:
        """The text with the lines of other roles blanked (line numbers unchanged)."""
        lines = self.text.split("\n")
        return "\n".join(line if self.role_of(k) == role else ""
                         for k, line in enumerate(lines, start=1))


@dataclass(frozen=True)
class Paragraph:
    text: str
    line: int


@dataclass
class Section:
    title: str
    level: int
    line: int
    paragraphs: list[Paragraph] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    code_blocks: list[CodeBlock] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)
    parent: Section | None = field(default=None, repr=False, compare=False)

    def walk(self) -> Iterator[Section]:
        """This section, then its descendants in document order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def path(self) -> tuple[str, ...]:
        """Titles from the top-level heading down to this one (the root's path is empty)."""
        titles: list[str] = []
        node: Section | None = self
        while node is not None and node.level > 0:
            titles.append(node.title)
            node = node.parent
        return tuple(reversed(titles))


@dataclass
class MarkdownDoc:
    root: Section
    title: str
    source: str = ""

    def sections(self) -> Iterator[Section]:
        return self.root.walk()

    def find_sections(self, *keywords: str) -> list[Section]:
        """Headed sections whose normalized title contains any keyword (case-insensitive)."""
        wanted = [k for k in (normalize_cell(k).casefold() for k in keywords) if k]
        return [
            s for s in self.sections() if s.level > 0 and any(k in s.title.casefold() for k in wanted)
        ]

    def tables(self) -> list[tuple[Section, Table]]:
        return [(s, t) for s in self.sections() for t in s.tables]

    def code_blocks(self) -> list[CodeBlock]:
        return [c for s in self.sections() for c in s.code_blocks]

    def lines(self) -> list[str]:
        """Source lines, numbered like every `line` here (lines()[n - 1] is line n)."""
        lines = _NEWLINES.split(self.source)
        if lines and lines[-1] == "":
            lines.pop()
        return lines


# --- code block roles --------------------------------------------------------------------------
# A code block in a document is either the project's own procedure (a runbook step, the deploy
# section of a README) or an illustration: a usage example, a design option, a deliberately bad
# example. Markers are read from the nearest label (the paragraph right above the fence, e.g.
# 「❌ **NG**:」), then the headings from the innermost out, then the block itself.

_BAD = re.compile(
    r"❌|✗|✖|(?<![A-Za-z])(?:(?-i:NG|BAD)|Bad(?=\s*(?:[:：]|$|例|ケース|パターン|Example|Case|Pattern|Practice))"
    r"|bad\s+(?:example|case|pattern|practice))(?![A-Za-z])"
    r"|anti-?pattern|アンチパターン|悪い例|悪例|誤った例|間違った例|間違い例|やってはいけない|避けるべき"
    r"|(?<![A-Za-z])(?:don'?t|wrong)(?![A-Za-z])", re.IGNORECASE)
_GOOD = re.compile(
    r"✅|⭕|(?<![A-Za-z])(?:good|better|use instead"
    r"|(?-i:OK)(?=\s*(?:[:：]|$|例|ケース|パターン|Example|Case|Pattern|Practice)))(?![A-Za-z])"
    r"|良い例|よい例|正しい例|推奨例|改善後|修正後",
    re.IGNORECASE)
_EXAMPLE = re.compile(
    r"(?<![定条慣])例(?![外年会])|(?<![A-Za-z])(?:examples?|e\.g\.|sample code|alternatives?)(?![A-Za-z-])"
    r"|サンプル(?!アプリ)|構成イメージ|実装イメージ|選択肢|比較|代替案", re.IGNORECASE)
_PROCEDURE = re.compile(
    r"手順|runbook|playbook|procedure|(?<![A-Za-z])step|ステップ|デプロイ|deploy|リリース|release"
    r"|ロールバック|rollback|切り戻|切戻|復旧|リストア|restore|構築|セットアップ|setup|quick\s*start"
    r"|クイックスタート|使い方|usage|運用|作業|移行|migration|トラブルシュート|トラブルシューティング"
    r"|troubleshoot|対処|障害対応", re.IGNORECASE)
# Names nobody deploys: `my-stack`, `my-app-prod`, `hoge`, an elided `...`.
_GENERIC = re.compile(
    r"(?<![\w-])(?:my[-_](?:stack|app|application|project|bucket|cluster|service|function|repo"
    r"|table|db|vpc|role|env|image)|mystack|hoge|fuga|piyo)(?![A-Za-z])"
    r"|(?:^|\s)(?:\.\.\.|…)(?=\s|$)")
# Values the reader fills in: `<stack-name>`, `{ACCOUNT_ID}`, `your-bucket`, `xxxx`.
_FILL_IN = re.compile(
    r"<[A-Za-z_\u3040-\u30ff\u4e00-\u9fff][^<>\n]*>|(?<![$\w])\{[A-Za-z_][A-Za-z0-9_]*\}"
    r"|(?<![\w-])(?:your[-_]\w+|YOUR_\w+)|(?<![A-Za-z])[xX]{3,}(?![A-Za-z])")
_NUMBERED_STEP = re.compile(r"^\s*#\s*(?:\d+[.)．]|step\s*\d|ステップ\s*\d|[①-⑳])", re.IGNORECASE)


def has_fill_in(text: str) -> bool:
    """True when commands (not comments) hold values the reader fills in (`<stack>`, `vpc-xxx`)."""
    return bool(_FILL_IN.search("\n".join(_code_lines(text))))


def _marker_role(text: str) -> str | None:
    """BAD, EXAMPLE (a good example or an illustration) or None for a title or label."""
    bad, good = bool(_BAD.search(text)), bool(_GOOD.search(text))
    if bad and not good:
        return BAD
    if good or bad or _EXAMPLE.search(text):
        return EXAMPLE  # "Good/Bad Example集": a comparison, decided per block below
    return None


def _code_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip() and not line.lstrip().startswith("#")]


def heading_role(headings: tuple[str, ...]) -> str | None:
    """BAD or EXAMPLE when the innermost heading with a marker says so (「NG例」, 「実装例」)."""
    for title in reversed(headings):
        role = _marker_role(title)
        if role is not None:
            return role
    return None


# A listing of a script file kept in a document (`#!/bin/bash` on top, 「スクリプト内部で実行される
# コマンド」, 「付録: スクリプト詳細」) shows what the script does; the script itself is reviewed.
_LISTING = re.compile(r"内部で実行|内部処理|スクリプト(?:の)?(?:詳細|内容|中身|全文|ソース)|script\s+(?:contents|listing|source)",
                      re.IGNORECASE)
# `# 以下、他のスタックと同様` inside a block: an abbreviated sketch of steps shown in full elsewhere.
_ABBREVIATED = re.compile(r"^\s*#.*(?:同様|省略|以下略|略す)", re.MULTILINE)


def block_role(headings: tuple[str, ...], label: str, text: str) -> str:
    """The role of a code block from its label, its headings (innermost first) and its text."""
    if text.lstrip().startswith("#!") or _LISTING.search(label or "") or (
            headings and _LISTING.search(headings[-1])) or _ABBREVIATED.search(text):
        return EXAMPLE
    label_role = _marker_role(label) if label else None
    if label_role is not None:
        return label_role
    role = heading_role(headings)
    if role is not None:
        return role
    code = "\n".join(_code_lines(text))
    if _GENERIC.search(code):
        return EXAMPLE
    procedure = any(_PROCEDURE.search(t) for t in (*headings, label)) or any(
        _NUMBERED_STEP.match(line) for line in text.split("\n"))
    if _FILL_IN.search(code) and not procedure:
        return EXAMPLE
    return PROCEDURE


def line_roles(text: str, role: str) -> tuple[str, ...]:
    """Per-line roles when comments inside the block mark a bad part (`# ❌ 悪い例`) and its
    correction (`# ✅ 良い例`); empty when no comment switches the role."""
    current, roles, switched = role, [], False
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(("#", "//", "--")):
            comment = stripped.lstrip("#/- ")
            marker = _marker_role(comment) if (_BAD.search(comment) or _GOOD.search(comment)) else None
            if marker == BAD:
                current, switched = BAD, True
            elif marker == EXAMPLE and current == BAD:
                current = EXAMPLE
        roles.append(current)
    return tuple(roles) if switched else ()


def _line(token: Token, default: int) -> int:
    return token.map[0] + 1 if token.map else default


def _table(tokens: list[Token], start: int) -> tuple[Table, int]:
    """Build a Table from tokens[start] (table_open); return it and the index after table_close."""
    header: list[str] = []
    body: list[list[str]] = []
    row_lines: list[int] = []
    table_line = _line(tokens[start], 0)
    in_head = False
    row: list[str] = []
    i = start + 1
    while i < len(tokens) and tokens[i].type != "table_close":
        tok = tokens[i]
        if tok.type in ("thead_open", "thead_close"):
            in_head = tok.type == "thead_open"
        elif tok.type == "tr_open":
            row = []
            if not in_head:
                row_lines.append(_line(tok, row_lines[-1] + 1 if row_lines else table_line + 2))
        elif tok.type == "inline":
            row.append(tok.content.strip())
        elif tok.type == "tr_close":
            if in_head:
                header = row
            else:
                body.append(row)
        i += 1
    table = Table(
        header=tuple(normalize_cell(c) for c in header),
        rows=tuple(tuple(normalize_cell(c) for c in r) for r in body),
        raw_rows=tuple(tuple(r) for r in body),
        line=table_line,
        row_lines=tuple(row_lines),
    )
    return table, i + 1


def _tokens(text: str) -> list[Token]:
    try:
        return _MD.parse(text)
    except Exception:  # a reviewer must not crash on a strange document; see parse_markdown
        return []


def parse_markdown(text: str) -> MarkdownDoc:
    """Fold markdown into heading sections; never raises on str input.

    Content belongs to the innermost open heading; a heading closes every open heading of the
    same or deeper level. Should markdown-it itself fail, the whole text becomes one paragraph.
    """
    root = Section(title="", level=0, line=0)
    stack = [root]
    tokens = _tokens(text)
    if not tokens and text.strip():
        root.paragraphs.append(Paragraph(text, 1))
    last_line = 1
    label = ""  # the paragraph between the last heading / code block and the next fence
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        last_line = _line(tok, last_line)
        if tok.type == "heading_open":
            inline = tokens[i + 1] if i + 1 < len(tokens) and tokens[i + 1].type == "inline" else None
            level = int(tok.tag[1:]) if tok.tag[1:].isdigit() else 1
            while stack[-1].level >= level:
                stack.pop()
            section = Section(
                title=normalize_cell(inline.content if inline else ""),
                level=level,
                line=last_line,
                parent=stack[-1],
            )
            stack[-1].children.append(section)
            stack.append(section)
            label = ""
            i += 2 if inline else 1
            continue
        if tok.type == "table_open":
            table, i = _table(tokens, i)
            stack[-1].tables.append(table)
            label = ""
            continue
        if tok.type in ("fence", "code_block"):
            info = tok.info.split() if tok.type == "fence" else []
            role = block_role(stack[-1].path(), label, tok.content)
            stack[-1].code_blocks.append(CodeBlock(
                lang=info[0].lower() if info else "", text=tok.content,
                line=last_line + 1 if tok.type == "fence" else last_line,
                role=role, line_roles=line_roles(tok.content, role)))
            label = ""
        elif tok.type == "inline":
            stack[-1].paragraphs.append(Paragraph(text=tok.content, line=last_line))
            last = normalize_cell(tok.content.split("\n")[-1])
            label = last if len(last) <= 80 else ""  # a label, not a paragraph of prose
        i += 1

    titles = [(s.level, s.title) for s in root.walk() if s.level > 0]
    title = next((t for lvl, t in titles if lvl == 1), titles[0][1] if titles else "")
    return MarkdownDoc(root=root, title=title, source=text)
