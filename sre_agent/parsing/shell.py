"""Bash scripts as the commands they would run, with line numbers.

Rules ask "is `aws cloudformation deploy` ever called?"; a grep also answers yes for
`echo "aws cloudformation deploy"`, comments and heredoc bodies. This small hand-written
tokenizer (no dependency, never raises, never executes anything) recovers the commands
instead, including those nested in control structures, functions and `$( )`.
It is a reviewer's approximation of bash, not a bash implementation: no expansion, no aliases.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import PurePath

_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_FUNC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:@-]*")
_IO_NUMBER = re.compile(r"\d+(?=[<>])")
_OPS = tuple(sorted((";;&", "&>>", "<<<", "<<-", ";;", ";&", "&&", "||", "|&", "<<", ">>", "<&",
                     ">&", "<>", ">|", "&>", ";", "&", "|", "(", ")", "<", ">"), key=len, reverse=True))
_REDIRS = frozenset({"<", ">", ">>", "<&", ">&", "<>", ">|", "&>", "&>>", "<<<", "<<", "<<-"})
_CASE_ENDS = frozenset({";;", ";&", ";;&"})
_ANSI = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "e": "\x1b", "a": "\a"}
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash"})
_SET_LETTERS = {"e": "errexit", "u": "nounset", "x": "xtrace", "v": "verbose", "f": "noglob",
                "n": "noexec", "C": "noclobber", "E": "errtrace", "T": "functrace", "a": "allexport",
                "b": "notify", "h": "hashall", "m": "monitor", "B": "braceexpand", "H": "histexpand",
                "P": "physical", "k": "keyword", "t": "onecmd"}
_MAX_DEPTH = 40  # nested substitutions deeper than this stay literal text (guards recursion)


@dataclass(frozen=True)
class ShellCommand:
    """One simple command; `words` are after quote removal but before any expansion."""

    words: tuple[str, ...]
    line: int
    end_line: int
    text: str
    assignments: tuple[str, ...] = ()
    in_substitution: bool = False

    @property
    def name(self) -> str:
        """The command actually run: `sudo -u x aws ...` and `env A=b aws ...` are `aws`."""
        rest = _strip_wrappers(self.words)
        return rest[0] if rest else (self.words[0] if self.words else "")

    def has_words(self, *seq: str) -> bool:
        """True if `seq` occurs contiguously in the words after wrappers."""
        words, n = _strip_wrappers(self.words), len(seq)
        return any(words[i:i + n] == seq for i in range(len(words) - n + 1))

    def option(self, flag: str) -> str | None:
        """Value of `--flag value` or `--flag=value` ("" when the flag ends the command)."""
        for i, word in enumerate(self.words):
            if word == flag:
                return self.words[i + 1] if i + 1 < len(self.words) else ""
            if word.startswith(flag + "="):
                return word[len(flag) + 1:]
        return None


@dataclass(frozen=True)
class SetOption:
    """A shell option switched by `set` or shebang flags; `top_level` is False inside a
    function, if/loop/case body, subshell or substitution, where it says nothing about the script."""

    name: str
    line: int
    enabled: bool
    top_level: bool = True


@dataclass(frozen=True)
class ShellScript:
    commands: tuple[ShellCommand, ...]
    shebang: str | None
    set_options: tuple[SetOption, ...]
    functions: tuple[str, ...]

    def enabled_at_top(self, option: str) -> bool:
        """Whether the last top-level `set` of `option` (long name or letter) enables it."""
        name, state = _SET_LETTERS.get(option.lstrip("-+"), option), False
        for opt in self.set_options:
            if opt.name == name and opt.top_level:
                state = opt.enabled
        return state

    def calls(self, *seq: str) -> list[ShellCommand]:
        return [cmd for cmd in self.commands if cmd.has_words(*seq)]


def _strip_wrappers(words: tuple[str, ...]) -> tuple[str, ...]:
    """Skip commands that just run the next word (sudo, env, nohup...) with their options."""
    i, n = 0, len(words)

    def skip_options(with_arg: str) -> int:
        j = i + 1
        while j < n and words[j].startswith("-") and words[j] != "-":
            if words[j] == "--":
                return j + 1
            j += 2 if words[j] in with_arg.split() else 1
        return j

    while i < n:
        word = words[i]
        if word == "sudo":
            i = skip_options("-u -g -C -D -h -p -r -t -U -T")
        elif word == "env":
            i = skip_options("-u -C -S")
            while i < n and _ASSIGN.match(words[i]):
                i += 1
        elif word in ("exec", "time", "nohup", "builtin", "nice"):
            i = skip_options("-a -n")
        elif word == "command" and not (i + 1 < n and words[i + 1] in ("-v", "-V")):
            i = skip_options("")  # `command -v aws` only asks whether aws exists
        elif word == "timeout":
            i = skip_options("-s -k --signal --kill-after") + 1  # the duration
        else:
            break
    return words[i:]


@dataclass
class _Tok:
    kind: str  # word | op | redir ; a newline is the op "\n"
    value: str  # quote-removed text for words
    start: int
    end: int
    raw: str = ""
    subs: list[ShellCommand] = field(default_factory=list)


class _Ctx:
    """Whole-source state shared by nested lexers: positions map to lines globally."""

    def __init__(self, src: str, offset: int) -> None:
        self.src, self.offset, self.depth = src, offset, 0
        self.starts = [0] + [m.end() for m in re.finditer("\n", src)]
        self.sets: list[SetOption] = []
        self.functions: list[str] = []

    def line(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos) + self.offset


class _Lexer:
    """Splits src[pos:end] into tokens; with closer=")" it stops after the unmatched `)`."""

    def __init__(self, ctx: _Ctx, pos: int, end: int, closer: str | None) -> None:
        self.ctx, self.src, self.pos, self.end, self.closer = ctx, ctx.src, pos, end, closer
        self.toks: list[_Tok] = []
        self.heredocs: list[tuple[str, bool]] = []  # (terminator, strip leading tabs)
        self.want_delim: bool | None = None

    def run(self) -> None:
        src, end, parens, cases = self.src, self.end, 0, 0
        while self.pos < end:
            p = self.pos
            c = src[p]
            if c in " \t\r\f\v":
                self.pos += 1
            elif c == "\\" and src.startswith("\n", p + 1, end):
                self.pos += 2
            elif c == "\n":
                self.toks.append(_Tok("op", "\n", p, p + 1))
                self.pos = p + 1
                self._skip_heredocs()
            elif c == "#":
                nl = src.find("\n", p, end)
                self.pos = end if nl < 0 else nl
            elif c == ")" and self.closer and parens == 0 and cases == 0:
                self.pos = p + 1
                return
            elif src.startswith("((", p, end):  # arithmetic command, kept as one word
                q = self._balanced(p)
                self._add(_Tok("word", src[p:q], p, q, src[p:q]))
            elif c in "<>" and src.startswith("(", p + 1, end):
                self._add(self._word(p))
            elif c.isdigit() and _IO_NUMBER.match(src, p, end):
                self.pos = _IO_NUMBER.match(src, p, end).end()  # type: ignore[union-attr]
            else:
                op = next((o for o in _OPS if src.startswith(o, p, end)), None)
                if op is None:
                    tok = self._word(p)
                    cases += {"case": 1, "esac": -1}.get(tok.raw, 0) if cases or tok.raw == "case" else 0
                    self._add(tok)
                    continue
                parens += {"(": 1, ")": -1}.get(op, 0) if parens or op == "(" else 0
                self._add(_Tok("redir" if op in _REDIRS else "op", op, p, p + len(op)))
                if op in ("<<", "<<-"):
                    self.want_delim = op == "<<-"

    def _add(self, tok: _Tok) -> None:
        if self.want_delim is not None and tok.kind == "word":
            self.heredocs.append((tok.value, self.want_delim))
        self.want_delim = None
        self.toks.append(tok)
        self.pos = max(tok.end, self.pos + 1)

    def _skip_heredocs(self) -> None:
        """Heredoc bodies start after the newline ending their command; they are data."""
        src, end = self.src, self.end
        for delim, strip in self.heredocs:
            while self.pos < end:
                nl = src.find("\n", self.pos, end)
                line = src[self.pos:end if nl < 0 else nl]
                self.pos = end if nl < 0 else nl + 1
                if (line.lstrip("\t") if strip else line).rstrip(" \t\r") == delim:
                    break
        self.heredocs = []

    def _word(self, p: int) -> _Tok:
        src, end, out, subs, i = self.src, self.end, [], [], p
        while i < end:
            c = src[i]
            if c in "<>" and src.startswith("(", i + 1, end):  # process substitution
                j, cmds = self._sub(i + 2)
                out.append(src[i:j])
                subs += cmds
                i = j
            elif c == "(" and _ASSIGN.fullmatch(src, p, i):  # array assignment a=(x y)
                j = self._balanced(i)
                out.append(src[i:j])
                i = j
            elif c in " \t\r\n;&|()<>":
                break
            elif c == "\\":
                if not src.startswith("\n", i + 1, end):
                    out.append(src[i + 1:min(i + 2, end)])
                i += 2
            elif c == "'":
                j = src.find("'", i + 1, end)
                j = end if j < 0 else j
                out.append(src[i + 1:j])
                i = j + 1
            elif c == '"':
                i = self._dquote(i + 1, out, subs)
            elif c == "`":
                i = self._backtick(i, out, subs)
            elif c == "$":
                i = self._dollar(i, out, subs, quoted=False)
            else:
                out.append(c)
                i += 1
        i = min(i, end)
        return _Tok("word", "".join(out), p, i, src[p:i], subs)

    def _dquote(self, i: int, out: list[str], subs: list[ShellCommand]) -> int:
        src, end = self.src, self.end
        while i < end:
            c = src[i]
            if c == '"':
                return i + 1
            if c == "\\" and i + 1 < end:
                n = src[i + 1]
                out.append("" if n == "\n" else n if n in '"\\$`' else c + n)
                i += 2
            elif c == "`":
                i = self._backtick(i, out, subs)
            elif c == "$":
                i = self._dollar(i, out, subs, quoted=True)
            else:
                out.append(c)
                i += 1
        return end

    def _dollar(self, i: int, out: list[str], subs: list[ShellCommand], quoted: bool) -> int:
        src, end = self.src, self.end
        n = src[i + 1] if i + 1 < end else ""
        if n == "'" and not quoted:  # $'...' ANSI-C quoting
            j, buf = i + 2, []
            while j < end and src[j] != "'":
                if src[j] == "\\" and j + 1 < end:
                    buf.append(_ANSI.get(src[j + 1], src[j:j + 2]))
                    j += 2
                else:
                    buf.append(src[j])
                    j += 1
            out.append("".join(buf))
            return min(j + 1, end)
        if n == '"' and not quoted:  # $"..." locale string
            return self._dquote(i + 2, out, subs)
        if n == "(":
            if src.startswith("((", i + 1, end):  # $(( arithmetic )) has no commands
                j = self._balanced(i + 1)
            else:
                j, cmds = self._sub(i + 2)
                subs += cmds
            out.append(src[i:j])
            return j
        if n == "{":
            j = self._brace(i + 1, subs)
            out.append(src[i:j])
            return j
        out.append("$")
        return i + 1

    def _brace(self, i: int, subs: list[ShellCommand]) -> int:
        """`${...}` up to its matching brace; `${#x}` and `${x:-$(cmd)}` included."""
        src, end, depth = self.src, self.end, 0
        while i < end:
            c = src[i]
            if c == "\\":
                i += 2
                continue
            if c == "$" and src.startswith("(", i + 1, end) and not src.startswith("((", i + 1, end):
                i, cmds = self._sub(i + 2)
                subs += cmds
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return end

    def _balanced(self, i: int) -> int:
        """End of the parenthesised text starting at src[i] == "(" (quotes respected)."""
        src, end, depth = self.src, self.end, 0
        while i < end:
            c = src[i]
            if c == "\\":
                i += 2
                continue
            if c in "'\"":
                k = src.find(c, i + 1, end)
                i = end if k < 0 else k + 1
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return end

    def _sub(self, i: int) -> tuple[int, list[ShellCommand]]:
        """Parse `$( ... )` / `<( ... )` starting after the "(": (end position, commands)."""
        ctx = self.ctx
        if ctx.depth >= _MAX_DEPTH:
            return self._balanced(i - 1), []
        ctx.depth += 1
        try:
            child = _Lexer(ctx, i, self.end, ")")
            child.run()
            self.heredocs += child.heredocs  # `$(cat <<EOF)`: the body follows the outer line
            return max(child.pos, i), _Builder(ctx, child.toks, in_sub=True).run()
        finally:
            ctx.depth -= 1

    def _backtick(self, i: int, out: list[str], subs: list[ShellCommand]) -> int:
        src, end, j = self.src, self.end, i + 1
        while j < end and src[j] != "`":
            j += 2 if src[j] == "\\" else 1
        j = min(j, end)
        if self.ctx.depth < _MAX_DEPTH:
            self.ctx.depth += 1
            try:
                child = _Lexer(self.ctx, i + 1, j, None)
                child.run()
                subs += _Builder(self.ctx, child.toks, in_sub=True).run()
            finally:
                self.ctx.depth -= 1
        out.append(src[i:min(j + 1, end)])
        return min(j + 1, end)


class _Builder:
    """Groups tokens into simple commands, skipping keywords, case patterns and for-headers,
    and tracking block nesting so `set` inside a function or an if-body is not "top level"."""

    def __init__(self, ctx: _Ctx, toks: list[_Tok], in_sub: bool) -> None:
        self.ctx, self.toks, self.in_sub = ctx, toks, in_sub
        self.out: list[ShellCommand] = []
        self.stack: list[str] = []  # if | loop | case | func | group | sub
        self.mode = "normal"  # normal | forhead | casehead | pattern | fname
        self.func_pending = False
        self._reset()

    def _reset(self) -> None:
        self.words: list[str] = []
        self.assigns: list[str] = []
        self.first: _Tok | None = None
        self.last: _Tok | None = None
        self.subs: list[ShellCommand] = []
        self.in_dbl = self.redir_next = False

    def run(self) -> list[ShellCommand]:
        toks, i = self.toks, 0
        while i < len(toks):
            t = toks[i]
            i += 1
            self.subs += t.subs
            if self.redir_next:
                self.redir_next = False
                if t.kind == "word":
                    self._extend(t)
                    continue
            if self.mode != "normal":
                i = self._header(t, i)
                continue
            if t.kind == "redir" and not self.in_dbl:
                self._extend(t)
                self.redir_next = True
            elif t.kind != "word":
                if self.in_dbl and t.value != "\n":  # `[[ a && b ]]`: operators are operands
                    self._word(t)
                    continue
                self._finish()
                if t.value in _CASE_ENDS and self.stack and self.stack[-1] == "case":
                    self.mode = "pattern"
                elif t.value == "(":
                    self._push("func" if self.func_pending else "sub")
                elif t.value == ")":
                    self._pop()
            elif self.words:
                self._word(t)
            elif _ASSIGN.match(t.raw):
                self.assigns.append(t.value)
                self._extend(t)
            elif self.assigns or t.raw != t.value:  # quoted words are never keywords
                self._word(t)
            elif self._parens_follow(i) and _FUNC_NAME.fullmatch(t.value):
                self._define(t.value)  # name() { ... }
                i += 2
            else:
                self._keyword_or_word(t)
        self._finish()
        return self.out

    def _parens_follow(self, i: int) -> bool:
        toks = self.toks
        return i + 1 < len(toks) and all(t.kind == "op" for t in toks[i:i + 2]) and (
            toks[i].value, toks[i + 1].value) == ("(", ")")

    def _header(self, t: _Tok, i: int) -> int:
        """for/case headers, case patterns and function names are not commands."""
        mode, op, word = self.mode, t.kind == "op", t.kind == "word"
        if mode == "fname":
            self.mode = "normal"
            if word:
                self._define(t.value)
                i += 2 if self._parens_follow(i) else 0
            return i
        if mode == "forhead" and op and t.value in (";", "\n"):
            self.mode = "normal"
        elif mode == "casehead" and word and t.raw == "in":
            self.mode = "pattern"
        elif mode == "pattern" and (word and t.raw == "esac" or op and t.value == ")"):
            if word:
                self._pop()
            self.mode = "normal"
        else:
            return i
        self._finish()  # emits substitutions seen in the header, e.g. `for f in $(ls)`
        return i

    def _keyword_or_word(self, t: _Tok) -> None:
        """A word in command position: a keyword, an assignment or the command name."""
        kw = t.value
        if kw in ("if", "while", "until"):
            self._push("if" if kw == "if" else "loop")
        elif kw in ("fi", "done", "esac", "}"):
            self._pop()
        elif kw == "{":
            self._push("func" if self.func_pending else "group")
        elif kw in ("for", "select"):
            self._push("loop")
            self.mode = "forhead"
        elif kw == "case":
            self._push("case")
            self.mode = "casehead"
        elif kw == "function":
            self.mode = "fname"
        elif kw not in ("then", "else", "elif", "do", "!"):
            self._word(t)

    def _define(self, name: str) -> None:
        self.ctx.functions.append(name)
        self.func_pending = True

    def _push(self, kind: str) -> None:
        self.stack.append(kind)
        self.func_pending = False

    def _pop(self) -> None:
        if self.stack:
            self.stack.pop()

    def _extend(self, t: _Tok) -> None:
        self.first = self.first or t
        self.last = t

    def _word(self, t: _Tok) -> None:
        self.words.append(t.value)
        self._extend(t)
        if len(self.words) == 1 and t.value == "[[" and t.kind == "word":
            self.in_dbl = True
        elif t.value == "]]":
            self.in_dbl = False

    def _finish(self) -> None:
        first, last, ctx = self.first, self.last, self.ctx
        if first is not None and last is not None and (self.words or self.assigns):
            text = re.sub(r"[ \t]*\\\n[ \t]*", " ", ctx.src[first.start:last.end])
            cmd = ShellCommand(tuple(self.words), ctx.line(first.start),
                               ctx.line(max(first.start, last.end - 1)), text,
                               tuple(self.assigns), self.in_sub)
            self.out.append(cmd)
            if cmd.words[:1] == ("set",):
                top = not self.in_sub and all(kind == "group" for kind in self.stack)
                ctx.sets += _set_flags(cmd.words[1:], cmd.line, top)
        self.out += self.subs
        self._reset()


def _set_flags(args: tuple[str, ...] | list[str], line: int, top: bool) -> list[SetOption]:
    """`-euo pipefail`, `-o errexit`, `+e`: letters map to long names, `o` takes the next arg."""
    found: list[SetOption] = []
    waiting: list[bool] = []  # each `o` letter waits for an option name
    for arg in args:
        if waiting:
            found.append(SetOption(arg, line, waiting.pop(0), top))
        elif arg in ("-", "--") or not arg.startswith(("-", "+")):
            break
        else:
            for letter in arg[1:]:
                if letter == "o":
                    waiting.append(arg[0] == "-")
                elif letter in _SET_LETTERS:
                    found.append(SetOption(_SET_LETTERS[letter], line, arg[0] == "-", top))
    return found


def _normalise(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def _shell_index(shebang: str) -> int | None:
    """Index of the shell among the shebang's words (`/usr/bin/env bash` -> 1), else None."""
    for index, word in enumerate(shebang[2:].split()):
        base = word.rsplit("/", 1)[-1]
        if base in _SHELLS:
            return index
        if base != "env" and not word.startswith("-"):
            return None
    return None


def parse_shell(text: str, line_offset: int = 0) -> ShellScript:
    """Parse bash text; never raises. `line_offset` shifts lines (scripts embedded elsewhere)."""
    src = _normalise(text)
    first_line = src.split("\n", 1)[0]
    shebang = first_line if first_line.startswith("#!") else None
    ctx = _Ctx(src, line_offset)
    lexer = _Lexer(ctx, 0, len(src), None)
    try:
        lexer.run()
    except Exception:  # a tokenizer bug must not cost the review: keep what was lexed
        pass
    builder = _Builder(ctx, lexer.toks, in_sub=False)
    try:
        builder.run()
    except Exception:
        pass
    sets: list[SetOption] = []
    index = _shell_index(shebang) if shebang is not None else None
    if shebang is not None and index is not None:  # `#!/bin/bash -e` is `set -e` on line 1
        sets = _set_flags(shebang[2:].split()[index + 1:], 1 + line_offset, True)
    sets += sorted(ctx.sets, key=lambda opt: opt.line)
    return ShellScript(tuple(builder.out), shebang, tuple(sets), tuple(ctx.functions))


def is_shell_text(text: str, filename: str) -> bool:
    """A `.sh`/`.bash` file, or any file whose shebang runs sh, bash, zsh, dash (or ksh/ash)."""
    if PurePath(str(filename)).suffix.lower() in (".sh", ".bash"):
        return True
    first_line = _normalise(text or "").split("\n", 1)[0]
    return first_line.startswith("#!") and _shell_index(first_line) is not None
