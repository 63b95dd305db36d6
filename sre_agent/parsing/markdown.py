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


@dataclass(frozen=True)
class CodeBlock:
    lang: str
    text: str
    line: int  # first line inside the fence: text line k is at line + k - 1


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
            i += 2 if inline else 1
            continue
        if tok.type == "table_open":
            table, i = _table(tokens, i)
            stack[-1].tables.append(table)
            continue
        if tok.type == "fence":
            info = tok.info.split()
            stack[-1].code_blocks.append(
                CodeBlock(lang=info[0].lower() if info else "", text=tok.content, line=last_line + 1)
            )
        elif tok.type == "code_block":
            stack[-1].code_blocks.append(CodeBlock(lang="", text=tok.content, line=last_line))
        elif tok.type == "inline":
            stack[-1].paragraphs.append(Paragraph(text=tok.content, line=last_line))
        i += 1

    titles = [(s.level, s.title) for s in root.walk() if s.level > 0]
    title = next((t for lvl, t in titles if lvl == 1), titles[0][1] if titles else "")
    return MarkdownDoc(root=root, title=title, source=text)
