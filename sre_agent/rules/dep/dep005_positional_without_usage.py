"""DEP005: `$1` read under `set -u` before the script checked that it was given."""

from __future__ import annotations

import re
from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.parsing.shell import ShellCommand, ShellScript
from sre_agent.rules.base import Rule, RuleContext

_SINGLE_QUOTED = re.compile(r"'[^']*'")
_BARE = re.compile(r"(?<!\\)\$(?:([1-9])|\{([1-9][0-9]*)\})")  # $1, ${1}; not ${1:-x}
_DEFAULTED = re.compile(r"(?<!\\)\$\{([1-9][0-9]*):?[-?=+]")  # ${1:-x} ${1-x} ${1:?msg} ${1:=x}


def _text(command: ShellCommand) -> str:
    """The command's source without single-quoted strings (awk '{print $1}' is not an argument)."""
    return _SINGLE_QUOTED.sub("''", command.text)


def _is_usage_check(command: ShellCommand) -> bool:
    text = _text(command)
    if "$#" in text or "${#}" in text or command.name == "getopts":
        return True
    return "usage" in command.name.lower()


def _nounset_at(script: ShellScript, line: int) -> bool:
    state = False
    for option in script.set_options:
        if option.name == "nounset" and option.top_level and option.line <= line:
            state = option.enabled
    return state


class PositionalWithoutUsage(Rule):
    """
    ## What it does
    In shell scripts that enable `set -u` (nounset), finds the first read of a positional
    argument (`$1`, `"$2"`, `${3}`) at top level that comes before any usage check: a test of
    `$#`, a `${1:-default}` / `${1:?message}` form of the same argument, `getopts`, or a call of
    a `usage` function. `$1` inside a function body is the function's own argument and is not
    reported; nor is `$1` inside single quotes (`awk '{print $1}'`).

    ## Why is this bad
    Run without arguments, the script dies with `line 12: $1: unbound variable` instead of
    telling the operator how to call it. During an incident, at 3 a.m., the rollback script
    answering with a bash error costs minutes that the usage line would have saved.

    ## Example
    ```bash
    set -euo pipefail
    ENVIRONMENT=$1
    STACK=$2
    ```

    ## Use instead
    ```bash
    set -euo pipefail
    if [[ $# -ne 2 ]]; then
      echo "使い方: $0 <stg|prd> <stack>" >&2
      exit 2
    fi
    ENVIRONMENT="$1"
    ```

    ## References
    - https://www.gnu.org/software/bash/manual/html_node/The-Set-Builtin.html
    - standards/cloudformation.md「スクリプト規約」
    """

    id = "SRE-DEP-005"
    name = "positional-argument-without-usage"
    perspective = Perspective.OPERABILITY
    severity = Severity.WARNING
    title_ja = "引数チェック前に $1 を参照（unbound variable で異常終了）"
    title_en = "$1 read before any usage check (dies with 'unbound variable')"
    passed_ja = "位置引数は使い方チェックの後に参照"
    passed_en = "Positional arguments are read after a usage check"
    fix_ja = "引数を読む前に `if [[ $# -lt N ]]; then usage; fi` で引数の数を確認し、使い方を表示して終了する"
    fix_en = "Check `$#` before reading the arguments and print the usage (`if [[ $# -lt N ]]; then usage; fi`)"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for script in ctx.project.scripts:
            first = self._first_unchecked_read(script.script)
            if first is None:
                continue
            line, argument = first
            yield self.finding(
                ctx, file=script.path, line=line,
                message=ctx.text(
                    f"set -u の下で引数の数を確認する前に ${argument} を参照している。"
                    f"引数なしで実行すると使い方ではなく「{argument}: unbound variable」で終了する",
                    f"${argument} is read under set -u before any usage check: without arguments the "
                    f"script dies with '{argument}: unbound variable' instead of printing its usage"),
            )

    @staticmethod
    def _first_unchecked_read(script: ShellScript) -> tuple[int, str] | None:
        """Walks the top-level commands and the `case $1 in` / `for x in $1` headers in line order."""
        steps: list[tuple[int, int, str, ShellCommand | None]] = [
            (c.line, 0, _text(c), c) for c in script.commands if not c.in_function]
        steps += [(line, 1, _SINGLE_QUOTED.sub("''", raw), None)
                  for line, raw, in_function in script.header_words if not in_function]
        checked_all, defaulted = False, set()
        for line, _, text, command in sorted(steps, key=lambda s: (s[0], s[1])):
            if command is not None and _is_usage_check(command):
                checked_all = True
            defaulted |= {m.group(1) for m in _DEFAULTED.finditer(text)}
            if checked_all:
                return None
            for match in _BARE.finditer(text):
                argument = match.group(1) or match.group(2)
                if argument not in defaulted and _nounset_at(script, line):
                    return line, argument
        return None

    def coverage(self, ctx: RuleContext) -> str | None:
        scripts = [s for s in ctx.project.scripts
                   if any(o.name == "nounset" and o.enabled for o in s.script.set_options)]
        if not scripts:
            return None
        return ctx.text(f"set -u のスクリプト {len(scripts)} 件の引数の扱いを確認",
                        f"argument handling of {len(scripts)} set -u scripts checked")
