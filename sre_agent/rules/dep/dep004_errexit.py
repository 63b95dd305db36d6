"""DEP004: bash scripts that keep going after a failed command."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._deploy import changes_infrastructure
from sre_agent.rules.base import Rule, RuleContext

REQUIRED = ("errexit", "nounset", "pipefail")
OPTION_NAMES = {"errexit": "-e (errexit)", "nounset": "-u (nounset)", "pipefail": "-o pipefail"}
RISK_JA = {"errexit": "",
           "nounset": "未定義の変数が空文字として使われる（{}）。",
           "pipefail": "パイプの途中の失敗（aws ... | jq）が見逃される。"}
RISK_EN = {"errexit": "",
           "nounset": "an unset variable expands to nothing ({})",
           "pipefail": "a failure inside a pipe (aws ... | jq) goes unnoticed"}


_PIPE = re.compile(r"(?<![|>&])\|(?![|&])")
_QUOTED = re.compile(r"'[^'\n]*'|\"(?:[^\"\\\n]|\\.)*\"")
_EXPANSION = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*|[1-9])(\}|(?![A-Za-z0-9_:}]))")
_ASSIGNED = re.compile(r"(?:^|[\s;(])(?:export\s+|local\s+|readonly\s+|declare\s+(?:-\w+\s+)*)?"
                       r"([A-Za-z_][A-Za-z0-9_]*)\+?=|\bread\s+(?:-\w+\s+)*([A-Za-z_][A-Za-z0-9_ ]*)"
                       r"|\bfor\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\b|\bgetopts\s+\S+\s+([A-Za-z_]\w*)")
_SHELL_VARIABLES = frozenset({"HOME", "PATH", "PWD", "OLDPWD", "USER", "SHELL", "HOSTNAME", "RANDOM",
                              "LINENO", "SECONDS", "BASH_SOURCE", "FUNCNAME", "IFS", "OPTARG", "OPTIND",
                              "PPID", "UID", "EUID", "BASH_VERSION", "PIPESTATUS", "REPLY", "TMPDIR"})
_TRIVIAL = frozenset({"echo", "printf", "export", "set", "true", ":", "exit", "return", "local",
                      "readonly", "declare", "shift", "cd", "source", ".", "trap", "unset"})


def _code(text: str) -> str:
    """The script without its comment lines, for spotting pipes and expansions."""
    lines = [line for line in text.split("\n") if not line.lstrip().startswith("#")]
    return "\n".join(lines)


# Commands that exit 0 on empty input: at the end of a pipe they hide a failure upstream
# (`aws … | jq -r .X` prints nothing and succeeds); `docker login --password-stdin` fails by itself.
# `| head` / `| tail` only shorten what is shown (and pipefail with `head` fails on SIGPIPE).
FORGIVING = frozenset({"jq", "tee", "grep", "egrep", "sort", "uniq", "awk", "sed", "cut", "tr", "wc",
                       "cat", "xargs", "yq", "base64"})


_ARGUMENT_CHECK = re.compile(r"\$#|\[\[?\s+-[zn]\s+\"?\$")


def sourced(script) -> bool:
    """A script meant to be `source`d (its usage line says so): `set -e` there would close the
    caller's shell on the first failed command, so it rightly has none."""
    name = script.path.rsplit("/", 1)[-1]
    return bool(re.search(rf"(?:^|\s)(?:source|\.)\s+\S*{re.escape(name)}", script.text))


# `local x=$(…)`: the declaration's own status (0) replaces the substitution's, so a failure
# inside is lost whatever the options (ShellCheck SC2155).
_DECLARATION = re.compile(r"^\s*(local|export|readonly|declare|typeset)((?:\s+-\w+)*)\s+"
                          r"([A-Za-z_][A-Za-z0-9_]*)=\$\(")


@dataclass(frozen=True)
class ForgivingPipe:
    """A pipe whose last command succeeds on empty input (`aws … | jq`), at its script line."""

    line: int
    first: str  # the command feeding the pipe
    last: str  # the forgiving command at its end
    masked_by: str | None = None  # `local PARAMS`: a declaration that hides the status anyway

    def shown(self) -> str:
        inner = f"{self.first} … | {self.last} …"
        return f"{self.masked_by}=$({inner})" if self.masked_by else inner


def _substitution_end(line: str, start: int) -> int:
    """Index of the `)` closing the `$(` that opens at `start`."""
    depth = 0
    for index in range(start + 1, len(line)):
        if line[index] == "(":
            depth += 1
        elif line[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    return len(line)


def forgiving_pipes(text: str) -> list[ForgivingPipe]:
    """Pipes ending in a command that exits 0 on empty input, with their line, and whether a
    declaration (`local x=$(… | jq)`) masks their status whatever `set -o pipefail` says."""
    lines = ["" if line.lstrip().startswith("#") else line for line in text.split("\n")]
    unquoted = _QUOTED.sub("''", "\n".join(lines)).split("\n")
    found: list[ForgivingPipe] = []
    index = 0
    while index < len(unquoted):
        start, logical = index + 1, unquoted[index]
        while logical.endswith("\\") and index + 1 < len(unquoted):  # continuation lines
            index += 1
            logical = logical[:-1] + " " + unquoted[index]
        index += 1
        segments = _PIPE.split(logical)
        if len(segments) < 2:
            continue
        last_words, first_words = segments[-1].split(), segments[0].split()
        if not last_words or last_words[0] not in FORGIVING:
            continue
        masked_by = None
        declaration = _DECLARATION.match(logical)
        if declaration and _substitution_end(logical, declaration.end() - 2) > len(logical) - len(segments[-1]):
            masked_by = f"{declaration.group(1)} {declaration.group(3)}"
            inside = logical[declaration.end():].split()
            first_words = inside or first_words
        found.append(ForgivingPipe(start, first_words[0] if first_words else "", last_words[0].rstrip(")"),
                                   masked_by))
    return found


def _outside_single_quotes(code: str) -> str:
    """The code with its single-quoted strings blanked: `jq '... $tag'` expands nothing."""
    out, quote = [], None
    for char in code:
        if quote == "'":
            if char == "'":
                quote = None
            out.append("\n" if char == "\n" else " ")
            continue
        if char == '"':
            quote = None if quote == '"' else '"'
        elif char == "'" and quote is None:
            quote = "'"
        out.append(char)
    return "".join(out)


def unset_variables(script) -> list[str]:
    """Variables the script expands without setting them or giving a default (`$1`, `$AWS_PROFILE`)."""
    code = _code(script.text)
    expanded = {name for name, _ in _EXPANSION.findall(_outside_single_quotes(code))}
    assigned = {name for match in _ASSIGNED.finditer(code) for group in match.groups() if group
                for name in group.split()}
    found: list[str] = []
    guarded = bool(_ARGUMENT_CHECK.search(code))  # `$#` or `[ -z "$STACK" ]`: arguments are checked
    for command in script.script.commands:
        for word in (*command.words, *command.assignments):
            for name, _ in _EXPANSION.findall(word):
                if name.isdigit() and (command.in_function or guarded):
                    continue  # `$1` in a function is the caller's argument; a checked argument is handled
                if name not in assigned and name not in _SHELL_VARIABLES and name not in found \
                        and name in expanded:
                    found.append(name)
    return found


def _matters(option: str, script) -> bool:
    """Whether a missing option can change what the script does: pipefail needs a pipe; nounset
    needs a variable the script expands without ever setting it or giving it a default; errexit
    needs a second command that would run after a failed one (and a script that checks its own
    failures — `|| exit`, `if !`, `$?` — and changes nothing is handling them itself)."""
    code = _code(script.text)
    if option == "pipefail":
        return bool(forgiving_pipes(script.text))
    if option == "nounset":
        return bool(unset_variables(script))
    significant = [c for c in script.script.commands
                   if c.words and c.name not in _TRIVIAL and not c.in_substitution]
    if len(significant) <= 1:
        return False
    handles = re.search(r"\|\|\s*(?:exit|return|\{|die|fail|error)|\bif\s+!|\$\?", code)
    return not (handles and not changes_infrastructure(script.script.commands))


def _masked_note(masked: list[ForgivingPipe]) -> tuple[str, str]:
    """The pipes pipefail alone cannot help: a declaration hides their status."""
    if not masked:
        return "", ""
    places = "、".join(f":{p.line} `{p.shown()}`" for p in masked[:2])
    places_en = ", ".join(f":{p.line} `{p.shown()}`" for p in masked[:2])
    return (f"（{places} は宣言が終了ステータスを隠すため pipefail だけでは止まらない。宣言と代入を分ける）",
            f" ({places_en}: the declaration hides the status, pipefail alone does not help; "
            "declare and assign separately)")


def _risk_ja(option: str, script) -> str:
    names = ", ".join(f"${n}" for n in unset_variables(script)[:3])
    return RISK_JA[option].format(names) if option == "nounset" else RISK_JA[option]


def _risk_en(option: str, script) -> str:
    names = ", ".join(f"${n}" for n in unset_variables(script)[:3])
    return RISK_EN[option].format(names) if option == "nounset" else RISK_EN[option]


class ScriptWithoutErrexit(Rule):
    """
    ## What it does
    Checks that every shell script turns on `errexit`, `nounset` and `pipefail` at top level —
    `set -euo pipefail`, or the same options on separate `set` lines — and does not turn them off
    again. A `set -e` inside a function or an `if` body does not count. The message names what
    is missing. Severity: error when errexit is missing (or turned off with `set +e`) in a script
    that changes infrastructure (a non-read-only `aws` call, `terraform apply`, `docker push`,
    a call of the deploy scripts); warning when `set -e` is there and only `-u` / `-o pipefail`
    is missing, or when the script changes nothing (a local helper). An option is only asked for
    where it changes what the script does: `pipefail` where a pipe ends in a command that succeeds
    on empty input (`aws … | jq`, `| tee`, `| grep`), `nounset` where a
    variable is expanded that the script never sets nor defaults (`$1`, `$AWS_PROFILE`), errexit
    where a second command would run after a failed one — and not in a script that changes
    nothing and checks its own failures (`if ! cfn-lint …`, `|| exit`, `$?`). A script meant to be
    sourced (`source ./assume-role.sh` in its usage) is not reported: options set there would
    close the caller's shell. A pipe inside a declaration — `local x=$(aws … | jq …)`, `export`,
    `readonly`, `declare` — loses its status whatever the options (the declaration returns 0):
    when such pipes are the only reason to want pipefail, the finding is at the pipe's line and
    says to split the declaration from the assignment as well; otherwise the line-1 finding
    names them. Expansions inside single quotes (`jq '… $tag'`) are not variables of the script.

    ## Why is this bad
    Without them a failed `create-change-set` is followed by `execute-change-set` of a change set
    that does not exist, an unset `$ENVIRONMENT` becomes a stack named `-app`, and
    `aws ... | jq` hides the failure of `aws`. The script reports success after a failed deploy.

    ## Example
    ```bash
    #!/bin/bash
    aws cloudformation create-change-set ...
    aws cloudformation execute-change-set ...
    ```

    ## Use instead
    ```bash
    #!/usr/bin/env bash
    set -euo pipefail
    ```

    ## References
    - https://www.gnu.org/software/bash/manual/html_node/The-Set-Builtin.html
    - standards/cloudformation.md「スクリプト規約」
    """

    id = "SRE-DEP-004"
    name = "script-without-errexit"
    perspective = Perspective.OPERABILITY
    severity = Severity.ERROR
    # a pipe masked by `local x=$(…)` is reported here at its line; shellcheck says SC2155 there too
    equivalents = ("shellcheck:SC2155",)
    title_ja = "エラーハンドリングなしのスクリプト"
    title_en = "Script without error handling"
    passed_ja = "全スクリプトで set -euo pipefail を設定"
    passed_en = "Every script sets -euo pipefail"
    fix_ja = "スクリプト冒頭（shebang の直後）に `set -euo pipefail` を追加する"
    fix_en = "Add `set -euo pipefail` right after the shebang"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for script in ctx.project.scripts:
            if sourced(script):
                continue
            missing = [o for o in REQUIRED if not script.script.enabled_at_top(o) and _matters(o, script)]
            if not missing:
                continue
            others = [OPTION_NAMES[o] for o in missing if o != "errexit"]
            pipes = forgiving_pipes(script.text) if "pipefail" in missing else []
            masked = [p for p in pipes if p.masked_by]
            if missing == ["pipefail"] and pipes and len(masked) == len(pipes):
                yield self._masked_pipe(ctx, script, masked[0])
                continue
            note_ja, note_en = _masked_note(masked)
            if "errexit" not in missing:
                # set -e stops at a failed command: a real risk remains, not an unsafe script.
                yield self.finding(
                    ctx, file=script.path, line=1, severity=Severity.WARNING,
                    message=ctx.text(
                        f"set -e はあるが {' と '.join(others)} がない。"
                        + "".join(_risk_ja(o, script) for o in missing) + note_ja,
                        f"set -e is there but {' and '.join(others)} is missing: "
                        + "; ".join(_risk_en(o, script) for o in missing) + note_en))
                continue
            turned_off = any(o.name == "errexit" and o.top_level and o.enabled
                             for o in script.script.set_options)
            changes = changes_infrastructure(script.script.commands)
            what_ja = "set +e で errexit を無効にしたまま" if turned_off else "set -e（errexit）がない"
            what_en = "errexit is turned off (set +e) and not back on" if turned_off else "no set -e (errexit)"
            also_ja = f"（{' と '.join(others)} もない）" if others else ""
            also_en = f" ({' and '.join(others)} missing too)" if others else ""
            yield self.finding(
                ctx, file=script.path, line=1,
                severity=Severity.ERROR if changes else Severity.WARNING,
                message=ctx.text(
                    f"{what_ja}{also_ja}。失敗したコマンドの後も処理が続く"
                    + ("（インフラを変更するスクリプトのため、失敗の後も次の変更が実行される）" if changes else "")
                    + note_ja,
                    f"{what_en}{also_en}: the script runs on after a failed command"
                    + (" (it changes infrastructure: the next change runs after a failure)" if changes else "")
                    + note_en))

    def _masked_pipe(self, ctx: RuleContext, script, pipe: ForgivingPipe) -> Finding:
        """`set -e` is there and the only pipe that matters sits in `local x=$(… | jq)`: the
        declaration returns 0 whatever the pipe did, so `pipefail` alone changes nothing there.
        Said at the pipe, with the fix that works: split the declaration, then pipefail."""
        keyword, name = pipe.masked_by.split(" ", 1)
        more = [p for p in forgiving_pipes(script.text) if p.masked_by and p.line != pipe.line]
        same_ja = f"。同じ形: {'、'.join(f':{p.line} {p.masked_by}' for p in more[:3])}" if more else ""
        same_en = f"; the same at {', '.join(f':{p.line} {p.masked_by}' for p in more[:3])}" if more else ""
        return self.finding(
            ctx, file=script.path, line=pipe.line, severity=Severity.WARNING,
            message=ctx.text(
                f"`{pipe.shown()}` は {keyword} 宣言が $(…) の終了ステータスを 0 で上書きするため、"
                f"{pipe.first} の失敗が set -e でも止まらず {name} が空のまま次へ進む"
                f"（-o pipefail を足すだけでは直らない）{same_ja}",
                f"`{pipe.shown()}`: the {keyword} declaration replaces the status of $(…) with 0, so a "
                f"failed {pipe.first} does not stop set -e and {name} goes on empty (adding -o pipefail "
                f"alone does not fix it){same_en}"),
            remediation=ctx.text(
                f"宣言と代入を分け（{keyword} {name}; {name}=$(…)）、`set -euo pipefail` にする",
                f"Declare and assign separately ({keyword} {name}; {name}=$(…)) and use `set -euo pipefail`"))

    def coverage(self, ctx: RuleContext) -> str | None:
        scripts = ctx.project.scripts
        if not scripts:
            return None
        return ctx.text(f"{scripts[0].path} ほか計 {len(scripts)} 件",
                        f"{scripts[0].path} and {len(scripts) - 1} more")
