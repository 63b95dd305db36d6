"""Bash scripts as the commands they would run, with line numbers.

Rules ask "is `aws cloudformation deploy` ever called?"; a grep also answers yes for
`echo "aws cloudformation deploy"`, comments and heredoc bodies. This small hand-written
tokenizer (no dependency, never raises, never executes anything) recovers the commands
instead, including those nested in control structures, functions and `$( )`.
It approximates bash for review purposes: nothing is expanded, aliases and `eval` are not seen.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace
from pathlib import PurePath

_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_FUNC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:@-]*")
_IO_NUMBER = re.compile(r"\d+(?=[<>])")
_OPS = sorted([";;&", "&>>", "<<<", "<<-", ";;", ";&", "&&", "||", "|&", "<<", ">>", "<&", ">&",
               "<>", ">|", "&>", ";", "&", "|", "(", ")", "<", ">"], key=len, reverse=True)
_REDIRS = frozenset({"<", ">", ">>", "<&", ">&", "<>", ">|", "&>", "&>>", "<<<", "<<", "<<-"})
_CASE_ENDS = frozenset({";;", ";&", ";;&"})
_OPENERS = {"if": "if", "while": "loop", "until": "loop", "for": "loop", "select": "loop",
            "case": "case"}
_HEADERS = {"for": "forhead", "select": "forhead", "case": "casehead", "function": "fname"}
_CLOSERS = frozenset({"fi", "done", "esac", "}"})
_SKIPPED = frozenset({"then", "else", "elif", "do", "!"})
_ANSI = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "e": "\x1b", "a": "\a"}
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash"})
_SET_LETTERS = {"e": "errexit", "u": "nounset", "x": "xtrace", "v": "verbose", "f": "noglob",
                "n": "noexec", "C": "noclobber", "E": "errtrace", "T": "functrace", "a": "allexport",
                "b": "notify", "h": "hashall", "m": "monitor", "B": "braceexpand", "H": "histexpand",
                "P": "physical", "k": "keyword", "t": "onecmd"}
_WRAPPERS = {  # command -> its options that take an argument
    "sudo": ("-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T"), "env": ("-u", "-C", "-S"),
    "exec": ("-a",), "nice": ("-n",), "time": (), "nohup": (), "builtin": (), "command": (),
    "timeout": ("-s", "-k", "--signal", "--kill-after")}
_MAX_DEPTH = 40  # substitutions nested deeper stay literal text (guards the recursion)


@dataclass(frozen=True)
class ShellCommand:
    """One simple command; `words` are after quote removal but before any expansion."""

    words: tuple[str, ...]
    line: int
    end_line: int
    text: str
    assignments: tuple[str, ...] = ()
    in_substitution: bool = False
    in_function: bool = False  # inside a function body: `$1` there is the function's argument

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
    """An option switched by `set` or shebang flags. `top_level` is False inside a function,
    if/loop/case body, subshell or substitution, where it says nothing about the whole script."""

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
    header_words: tuple[tuple[int, str, bool], ...] = ()  # (line, raw word, in a function) of
    # `case WORD in` and `for x in WORDS` headers: expanded like arguments, but part of no command

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
    """Skip commands that only run the next word (sudo, env, nohup...) and their options."""
    i, n = 0, len(words)
    while i < n and words[i] in _WRAPPERS and words[i + 1:i + 2] not in (("-v",), ("-V",)):
        j = i + 1  # (`command -v aws` above only asks whether aws exists)
        while j < n and words[j].startswith("-") and words[j] != "-":
            if words[j] == "--":
                j += 1
                break
            j += 2 if words[j] in _WRAPPERS[words[i]] else 1
        while words[i] == "env" and j < n and _ASSIGN.match(words[j]):
            j += 1
        i = j + (words[i] == "timeout")  # timeout's duration
    return words[i:]


@dataclass
class _Tok:
    kind: str  # word | op | redir ; a newline is the op "\n"
    value: str  # quote-removed text for words, the operator itself otherwise
    start: int
    end: int
    raw: str = ""
    subs: list[ShellCommand] = field(default_factory=list)  # commands from $( ) in the word


class _Ctx:
    """State shared by nested lexers: positions are in the whole source, so lines are global."""

    def __init__(self, src: str, offset: int) -> None:
        self.src, self.offset, self.depth = src, offset, 0
        self.starts = [0] + [m.end() for m in re.finditer("\n", src)]
        self.sets: list[SetOption] = []
        self.functions: list[str] = []
        self.header_words: list[tuple[int, str, bool]] = []

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
            p, c = self.pos, src[self.pos]
            if c in " \t\r\f\v" or (c == "\\" and src.startswith("\n", p + 1, end)):
                self.pos += 1 if c != "\\" else 2
            elif c == "\n":
                self.toks.append(_Tok("op", "\n", p, p + 1))
                self.pos = p + 1
                self._skip_heredocs()
            elif c == "#":  # only reached at the start of a word
                nl = src.find("\n", p, end)
                self.pos = end if nl < 0 else nl
            elif c == ")" and self.closer and parens == 0 and cases == 0:
                self.pos = p + 1
                return
            elif src.startswith("((", p, end):  # arithmetic command, kept as one word
                q = self._balanced(p)
                self._add(_Tok("word", src[p:q], p, q, src[p:q]))
            elif c.isdigit() and _IO_NUMBER.match(src, p, end):  # the 2 of 2>&1
                self.pos = p + len(_IO_NUMBER.match(src, p, end).group())  # type: ignore[union-attr]
            else:
                op = next((o for o in _OPS if src.startswith(o, p, end)), None)
                if op is None or (c in "<>" and src.startswith("(", p + 1, end)):
                    tok = self._word(p)
                    prev = self.toks[-1] if self.toks else None
                    if tok.raw in ("case", "esac") and (cases or tok.raw == "case") and (
                            prev is None or prev.kind == "op" or prev.raw in _SKIPPED | {"{"}):
                        cases += 1 if tok.raw == "case" else -1  # `a)` patterns inside $( )
                    self._add(tok)
                    continue
                if op in ("(", ")") and (parens or op == "("):
                    parens += 1 if op == "(" else -1
                self._add(_Tok("redir" if op in _REDIRS else "op", op, p, p + len(op)))
                if op in ("<<", "<<-"):
                    self.want_delim = op == "<<-"

    def _add(self, tok: _Tok) -> None:
        if self.want_delim is not None and tok.kind == "word":
            self.heredocs.append((tok.value, self.want_delim))  # quote removal: <<'EOF' is EOF
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
            if c in "<>" and src.startswith("(", i + 1, end):  # process substitution <( )
                j, cmds = self._sub(i + 2)
                out.append(src[i:j])
                subs += cmds
            elif c == "(" and _ASSIGN.fullmatch(src, p, i):  # array assignment a=(x y)
                j = self._balanced(i)
                out.append(src[i:j])
            elif c in " \t\r\n;&|()<>":
                break
            elif c == "\\":
                j = i + 2
                out.append("" if src.startswith("\n", i + 1, end) else src[i + 1:min(j, end)])
            elif c == "'":
                j = src.find("'", i + 1, end)
                j = end if j < 0 else j
                out.append(src[i + 1:j])
                j += 1
            elif c == '"':
                j = self._dquote(i + 1, out, subs)
            elif c == "`":
                j = self._backtick(i, out, subs)
            elif c == "$":
                j = self._dollar(i, out, subs, quoted=False)
            else:
                j = i + 1
                out.append(c)
            i = j
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
            elif c in "`$":
                i = self._backtick(i, out, subs) if c == "`" else self._dollar(i, out, subs, True)
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
                step = 2 if src[j] == "\\" and j + 1 < end else 1
                buf.append(_ANSI.get(src[j + 1], src[j:j + 2]) if step == 2 else src[j])
                j += step
            out.append("".join(buf))
            return min(j + 1, end)
        if n == '"' and not quoted:  # $"..." locale string
            return self._dquote(i + 2, out, subs)
        if n == "(" and not src.startswith("((", i + 1, end):
            j, cmds = self._sub(i + 2)
            subs += cmds
        elif n in "({" and n:  # $(( arithmetic )) and ${parameter}
            j = self._balanced(i + 1, subs)
        else:
            j = i + 1
        out.append(src[i:j])
        return j

    def _balanced(self, i: int, subs: list[ShellCommand] | None = None) -> int:
        """End of the `( )` or `{ }` group opening at src[i]. Quotes are skipped in `( )`;
        in `${...}` (quotes there are unreliable) `$( )` is parsed into `subs`."""
        src, end, depth = self.src, self.end, 0
        opener, closer = src[i], ")" if src[i] == "(" else "}"
        while i < end:
            c = src[i]
            if c == "\\":
                i += 2
                continue
            if c in "'\"" and opener == "(":
                k = src.find(c, i + 1, end)
                i = end if k < 0 else k + 1
                continue
            if c == "$" and opener == "{" and subs is not None and src.startswith("(", i + 1, end) \
                    and not src.startswith("((", i + 1, end):
                i, cmds = self._sub(i + 2)
                subs += cmds
                continue
            depth += (c == opener) - (c == closer)
            if depth == 0:
                return i + 1
            i += 1
        return end

    def _sub(self, i: int) -> tuple[int, list[ShellCommand]]:
        """`$( ... )` / `<( ... )` from just after the "(": (end position, inner commands)."""
        if self.ctx.depth >= _MAX_DEPTH:
            return self._balanced(i - 1), []
        child = _Lexer(self.ctx, i, self.end, ")")
        cmds = self._nested(child)
        self.heredocs += child.heredocs  # `$(cat <<EOF)`: the body follows the outer line
        return max(child.pos, i), cmds

    def _backtick(self, i: int, out: list[str], subs: list[ShellCommand]) -> int:
        src, end, j = self.src, self.end, i + 1
        while j < end and src[j] != "`":
            j += 2 if src[j] == "\\" else 1
        if self.ctx.depth < _MAX_DEPTH:
            subs += self._nested(_Lexer(self.ctx, i + 1, min(j, end), None))
        out.append(src[i:min(j + 1, end)])
        return min(j + 1, end)

    def _nested(self, child: _Lexer) -> list[ShellCommand]:
        self.ctx.depth += 1
        try:
            child.run()
            return _Builder(self.ctx, child.toks, in_sub=True).run()
        finally:
            self.ctx.depth -= 1


class _Builder:
    """Groups tokens into simple commands, skipping keywords, case patterns and for-headers,
    and tracking block nesting so that `set` in a function or an if-body is not "top level"."""

    def __init__(self, ctx: _Ctx, toks: list[_Tok], in_sub: bool) -> None:
        self.ctx, self.toks, self.in_sub = ctx, toks, in_sub
        self.out: list[ShellCommand] = []
        self.stack: list[str] = []  # if | loop | case | func | group | sub
        self.mode = "normal"  # normal | forhead | casehead | pattern | fname
        self.func_pending = False  # a function name was read; its body opens next
        self._reset()

    def _reset(self) -> None:
        self.words: list[str] = []
        self.assigns: list[str] = []
        self.first: _Tok | None = None
        self.last: _Tok | None = None
        self.subs: list[ShellCommand] = []
        self.in_dbl = self.redir_next = False  # inside [[ ]]; next word is a redirect target

    def run(self) -> list[ShellCommand]:
        toks, i = self.toks, 0
        while i < len(toks):
            t, i = toks[i], i + 1
            self.subs += t.subs
            if self.redir_next:
                self.redir_next = False
                if t.kind == "word":
                    self._extend(t)
                    continue
            if self.mode != "normal":
                i = self._header(t, i)
            elif t.kind == "redir" and not self.in_dbl:
                self._extend(t)
                self.redir_next = True
            elif t.kind != "word":
                if self.in_dbl and t.value != "\n":  # `[[ a && b ]]`: operators are operands
                    self._word(t)
                    continue
                self._finish()
                if t.value in _CASE_ENDS and self.stack[-1:] == ["case"]:
                    self.mode = "pattern"
                elif t.value == "(":
                    self._push("func" if self.func_pending else "sub")
                elif t.value == ")" and self.stack:
                    self.stack.pop()
            elif self.words and not (t.raw == "{" and self.words[0] == "time"):  # time { ..; }
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
                self._command_position(t)
        self._finish()
        return self.out

    def _parens_follow(self, i: int) -> bool:
        pair = self.toks[i:i + 2]
        return [(t.kind, t.value) for t in pair] == [("op", "("), ("op", ")")]

    def _header(self, t: _Tok, i: int) -> int:
        """for/case headers, case patterns and function names are not commands."""
        mode, op, word = self.mode, t.kind == "op", t.kind == "word"
        if mode == "fname":
            self.mode = "normal"
            if word:
                self._define(t.value)
                i += 2 if self._parens_follow(i) else 0
            return i
        if word and (mode == "casehead" and t.raw != "in" or mode == "forhead"):
            self.ctx.header_words.append((self.ctx.line(t.start), t.raw, "func" in self.stack))
        if mode == "forhead" and op and t.value in (";", "\n"):
            self.mode = "normal"
        elif mode == "casehead" and word and t.raw == "in":
            self.mode = "pattern"
        elif mode == "pattern" and (word and t.raw == "esac" or op and t.value == ")"):
            self.mode = "normal"
            if word and self.stack:
                self.stack.pop()
        else:
            return i
        self._finish()  # emits substitutions seen in the header, e.g. `for f in $(ls)`
        return i

    def _command_position(self, t: _Tok) -> None:
        """An unquoted word where a command may start: a reserved word or the command name."""
        kw = t.value
        if kw in _OPENERS:
            self._push(_OPENERS[kw])
        elif kw in _CLOSERS:
            if self.stack:
                self.stack.pop()
        elif kw == "{":
            self._push("func" if self.func_pending else "group")
        elif kw not in _SKIPPED and kw != "function":
            self._word(t)
        self.mode = _HEADERS.get(kw, self.mode)

    def _define(self, name: str) -> None:
        self.ctx.functions.append(name)
        self.func_pending = True

    def _push(self, kind: str) -> None:
        self.stack.append(kind)
        self.func_pending = False

    def _extend(self, t: _Tok) -> None:
        self.first = self.first or t
        self.last = t

    def _word(self, t: _Tok) -> None:
        self.words.append(t.value)
        self._extend(t)
        if self.words == ["[["] and t.kind == "word":
            self.in_dbl = True
        elif t.value == "]]":
            self.in_dbl = False

    def _finish(self) -> None:
        """Emit the command gathered so far (if any), then the substitutions inside it."""
        first, last, ctx = self.first, self.last, self.ctx
        if first is not None and last is not None and (self.words or self.assigns):
            text = re.sub(r"[ \t]*\\\n[ \t]*", " ", ctx.src[first.start:last.end])
            cmd = ShellCommand(tuple(self.words), ctx.line(first.start),
                               ctx.line(max(first.start, last.end - 1)), text,
                               tuple(self.assigns), self.in_sub, "func" in self.stack)
            self.out.append(cmd)
            if cmd.words[:1] == ("set",):
                top = not self.in_sub and all(kind == "group" for kind in self.stack)
                ctx.sets += _set_flags(cmd.words[1:], cmd.line, top)
        if "func" in self.stack:  # `$( )` inside a function body is in the function too
            self.subs = [replace(sub, in_function=True) for sub in self.subs]
        self.out += self.subs
        self._reset()


def _set_flags(args: tuple[str, ...] | list[str], line: int, top: bool) -> list[SetOption]:
    """`-euo pipefail`, `-o errexit`, `+e`: letters map to long names, `o` takes the next arg."""
    found: list[SetOption] = []
    waiting: list[bool] = []  # each `o` letter waits for an option name
    for arg in args:
        if waiting:
            found.append(SetOption(arg, line, waiting.pop(0), top))
            continue
        if arg in ("-", "--") or not arg.startswith(("-", "+")):
            break
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
    builder = _Builder(ctx, lexer.toks, in_sub=False)
    for step in (lexer.run, builder.run):
        try:
            step()
        except Exception:  # a tokenizer bug must not cost the review: keep what was parsed
            pass
    sets: list[SetOption] = []
    index = _shell_index(shebang) if shebang is not None else None
    if shebang is not None and index is not None:  # `#!/bin/bash -e` is `set -e` on line 1
        sets = _set_flags(shebang[2:].split()[index + 1:], 1 + line_offset, True)
    sets += sorted(ctx.sets, key=lambda opt: opt.line)  # those in substitutions came first
    return ShellScript(tuple(builder.out), shebang, tuple(sets), tuple(ctx.functions),
                       tuple(sorted(ctx.header_words)))


def is_shell_text(text: str, filename: str) -> bool:
    """A `.sh`/`.bash` file, or any file whose shebang runs sh, bash, zsh, dash (or ksh/ash)."""
    if PurePath(str(filename)).suffix.lower() in (".sh", ".bash"):
        return True
    first_line = _normalise(text or "").split("\n", 1)[0]
    return first_line.startswith("#!") and _shell_index(first_line) is not None
