"""Tests for the bash tokenizer rules use to find what a deploy script really runs."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from sre_agent.parsing.shell import (
    SetOption,
    ShellCommand,
    ShellScript,
    is_shell_text,
    parse_shell,
)

CHANGE_SET_SCRIPT = """#!/usr/bin/env bash
# 本番環境へ CloudFormation の変更セットを適用する
set -euo pipefail

STACK="${1:-my-app-prod}"
CHANGE_SET="deploy-$(date +%Y%m%d%H%M%S)"

notify() {
  curl -fsS -X POST -d "text=$1" "$SLACK_WEBHOOK_URL" > /dev/null 2>&1 || true
}

# aws cloudformation deploy --stack-name "$STACK"   (旧手順。使わないこと)
echo "aws cloudformation deploy は使わず、変更セットで適用します"
aws cloudformation create-change-set \\
  --stack-name "$STACK" \\
  --change-set-name "$CHANGE_SET" \\
  --template-body file://template.yaml \\
  --change-set-type UPDATE \\
  --capabilities CAPABILITY_NAMED_IAM \\
  --parameters ParameterKey=Env,ParameterValue=prod \\
  --region ap-northeast-1
aws cloudformation wait change-set-create-complete \\
  --stack-name "$STACK" --change-set-name "$CHANGE_SET"

cat <<EOF
次のコマンドで手動適用もできます:
  aws cloudformation deploy --stack-name $STACK --template-file template.yaml
EOF

read -r -p "変更セットを実行しますか? (yes/no): " ANSWER
if [ "$ANSWER" != "yes" ]; then
  echo "中止しました" >&2
  exit 1
fi

aws cloudformation execute-change-set --stack-name "$STACK" --change-set-name "$CHANGE_SET"
notify "デプロイ完了: ${STACK}"
"""


def names(script: ShellScript) -> list[tuple[str, int]]:
    return [(cmd.name, cmd.line) for cmd in script.commands]


def test_change_set_script_commands_and_lines() -> None:
    script = parse_shell(CHANGE_SET_SCRIPT)
    assert names(script) == [
        ("set", 3),
        ("", 5),
        ("", 6),
        ("date", 6),
        ("curl", 9),
        ("true", 9),
        ("echo", 13),
        ("aws", 14),
        ("aws", 22),
        ("cat", 25),
        ("read", 30),
        ("[", 31),
        ("echo", 32),
        ("exit", 33),
        ("aws", 36),
        ("notify", 37),
    ]
    assert script.shebang == "#!/usr/bin/env bash"
    assert script.functions == ("notify",)
    assert [cmd.in_substitution for cmd in script.commands[2:4]] == [False, True]


def test_deploy_only_in_echo_heredoc_and_comment_is_not_a_call() -> None:
    script = parse_shell(CHANGE_SET_SCRIPT)
    assert script.calls("cloudformation", "deploy") == []
    assert script.calls("aws", "cloudformation", "deploy") == []
    echo = script.commands[6]
    assert echo.words == ("echo", "aws cloudformation deploy は使わず、変更セットで適用します")
    assert not echo.has_words("cloudformation", "deploy")
    assert [c.line for c in script.calls("cloudformation", "execute-change-set")] == [36]


def test_continuation_lines_join_into_one_command() -> None:
    script = parse_shell(CHANGE_SET_SCRIPT)
    (create,) = script.calls("cloudformation", "create-change-set")
    assert (create.line, create.end_line) == (14, 21)
    assert create.text == (
        'aws cloudformation create-change-set --stack-name "$STACK" '
        '--change-set-name "$CHANGE_SET" --template-body file://template.yaml '
        "--change-set-type UPDATE --capabilities CAPABILITY_NAMED_IAM "
        "--parameters ParameterKey=Env,ParameterValue=prod --region ap-northeast-1"
    )
    assert create.option("--change-set-type") == "UPDATE"
    assert create.option("--stack-name") == "$STACK"
    assert create.option("--region") == "ap-northeast-1"
    wait = script.calls("wait", "change-set-create-complete")[0]
    assert (wait.line, wait.end_line) == (22, 23)


def test_read_gate_if_test_and_redirections() -> None:
    script = parse_shell(CHANGE_SET_SCRIPT)
    read = script.commands[10]
    assert read.words == ("read", "-r", "-p", "変更セットを実行しますか? (yes/no): ", "ANSWER")
    test = script.commands[11]
    assert test.words == ("[", "$ANSWER", "!=", "yes", "]")
    assert script.commands[12].words == ("echo", "中止しました")  # `>&2` removed
    curl = script.commands[4]
    assert curl.words[-1] == "$SLACK_WEBHOOK_URL"  # `> /dev/null 2>&1` removed
    assert script.commands[1].assignments == ("STACK=${1:-my-app-prod}",)
    assert script.commands[1].words == ()


def test_set_euo_pipefail_on_one_line() -> None:
    script = parse_shell("#!/bin/bash\nset -euo pipefail\necho hi\n")
    assert script.set_options == (
        SetOption("errexit", 2, True),
        SetOption("nounset", 2, True),
        SetOption("pipefail", 2, True),
    )
    assert all(script.enabled_at_top(o) for o in ("errexit", "nounset", "pipefail", "e", "-u"))
    assert not script.enabled_at_top("xtrace")


def test_set_options_on_separate_lines() -> None:
    script = parse_shell("set -e\nset -u\nset -o pipefail\naws s3 ls\n")
    assert [(o.name, o.line) for o in script.set_options] == [
        ("errexit", 1), ("nounset", 2), ("pipefail", 3)]
    assert script.enabled_at_top("errexit") and script.enabled_at_top("pipefail")
    script = parse_shell("set -eu\necho start\nset -o pipefail\nset -o errexit\n")
    assert script.enabled_at_top("pipefail") and script.enabled_at_top("nounset")


def test_set_plus_e_later_disables() -> None:
    script = parse_shell("set -euo pipefail\naws s3 ls\nset +e\nrisky_command\n")
    assert not script.enabled_at_top("errexit")
    assert script.enabled_at_top("nounset")
    assert script.set_options[-1] == SetOption("errexit", 3, False)
    assert not parse_shell("set -o errexit\nset +o errexit\n").enabled_at_top("errexit")


def test_set_inside_function_or_if_is_not_top_level() -> None:
    script = parse_shell(
        "main() {\n  set -e\n  aws cloudformation deploy --stack-name x\n}\nmain \"$@\"\n")
    assert script.set_options == (SetOption("errexit", 2, True, top_level=False),)
    assert not script.enabled_at_top("errexit")
    script = parse_shell('if [ "$CI" = true ]; then\n  set -e\nfi\n')
    assert not script.enabled_at_top("errexit")
    script = parse_shell("set -e\ncleanup() {\n  set +e\n  rm -rf \"$TMP\"\n}\n")
    assert script.enabled_at_top("errexit")  # set +e only inside the function
    assert parse_shell("{ set -e; }\n").enabled_at_top("errexit")
    assert not parse_shell("( set -e )\n").enabled_at_top("errexit")


def test_shebang_flags_count_as_set() -> None:
    script = parse_shell("#!/bin/bash -e\naws s3 ls\n")
    assert script.set_options == (SetOption("errexit", 1, True),)
    assert script.enabled_at_top("errexit")
    assert parse_shell("#!/bin/bash -ex\n").enabled_at_top("xtrace")
    assert not parse_shell("#!/usr/bin/env bash\n").set_options
    assert not parse_shell("#!/usr/bin/python3 -u\n").set_options


def test_substitution_inside_assignment() -> None:
    script = parse_shell(
        'STACK=my-app\n'
        'STATUS=$(aws cloudformation describe-stacks --stack-name "$STACK" '
        "--query 'Stacks[0].StackStatus' --output text)\n"
        'echo "状態: ${STATUS}"\n')
    outer, inner = script.commands[1], script.commands[2]
    assert outer.words == () and outer.line == 2
    assert outer.assignments == (
        "STATUS=$(aws cloudformation describe-stacks --stack-name \"$STACK\" "
        "--query 'Stacks[0].StackStatus' --output text)",)
    assert inner.in_substitution and inner.line == 2
    assert inner.words == ("aws", "cloudformation", "describe-stacks", "--stack-name", "$STACK",
                           "--query", "Stacks[0].StackStatus", "--output", "text")
    assert inner.option("--query") == "Stacks[0].StackStatus"
    assert script.calls("describe-stacks") == [inner]


def test_multiline_nested_and_backtick_substitutions() -> None:
    script = parse_shell(
        'OUTPUTS=$(\n'
        '  aws cloudformation describe-stacks \\\n'
        '    --stack-name "$STACK" | jq -r ".Stacks[0].Outputs"\n'
        ')\n'
        'DIR="$(dirname "$(readlink -f "$0")")"\n'
        'ACCOUNT=`aws sts get-caller-identity --query Account --output text`\n'
        'echo "done: $(date)"\n')
    assert [(c.name, c.line, c.in_substitution) for c in script.commands] == [
        ("", 1, False), ("aws", 2, True), ("jq", 3, True),
        ("", 5, False), ("dirname", 5, True), ("readlink", 5, True),
        ("", 6, False), ("aws", 6, True),
        ("echo", 7, False), ("date", 7, True),
    ]
    assert script.commands[0].end_line == 4
    assert script.commands[1].end_line == 3
    assert script.commands[4].words == ("dirname", '$(readlink -f "$0")')


def test_case_inside_substitution_and_the_word_case() -> None:
    script = parse_shell(
        'KIND=$(case "$ENV" in prod) echo large;; *) echo small;; esac)\n'
        'MSG=$(echo "use case" case)\n'
        'aws s3 ls\n')
    assert [(c.name, c.line, c.in_substitution) for c in script.commands] == [
        ("", 1, False), ("echo", 1, True), ("echo", 1, True),
        ("", 2, False), ("echo", 2, True), ("aws", 3, False)]


def test_if_not_command_and_process_substitution() -> None:
    script = parse_shell(
        'if ! aws cloudformation describe-stacks --stack-name "$STACK" >/dev/null 2>&1; then\n'
        '  echo "スタックがありません: $STACK"\n'
        '  exit 1\n'
        'fi\n'
        'while read -r name; do\n'
        '  echo "$name"\n'
        'done < <(aws cloudformation list-stacks --query "StackSummaries[].StackName")\n')
    first = script.commands[0]
    assert first.words == ("aws", "cloudformation", "describe-stacks", "--stack-name", "$STACK")
    assert not first.in_substitution
    assert names(script) == [("aws", 1), ("echo", 2), ("exit", 3), ("read", 5), ("echo", 6),
                             ("aws", 7)]
    assert script.commands[-1].in_substitution


def test_option_forms() -> None:
    spaced = parse_shell("aws cloudformation create-change-set --change-set-type CREATE\n")
    joined = parse_shell("aws cloudformation create-change-set --change-set-type=CREATE\n")
    for script in (spaced, joined):
        assert script.commands[0].option("--change-set-type") == "CREATE"
        assert script.commands[0].option("--stack-name") is None
    assert parse_shell("aws x --no-wait").commands[0].option("--no-wait") == ""


def test_wrappers_are_skipped_for_name_and_has_words() -> None:
    cases = {
        "sudo aws s3 sync ./dist s3://bucket": "aws",
        "sudo -u deploy -E aws cloudformation deploy --stack-name x": "aws",
        "env AWS_PROFILE=prod AWS_REGION=ap-northeast-1 aws cloudformation deploy": "aws",
        "nohup ./long_job.sh &": "./long_job.sh",
        "time terraform apply -auto-approve": "terraform",
        "exec kubectl rollout status deploy/web": "kubectl",
        "command aws --version": "aws",
        "command -v aws": "command",
        "timeout 600 aws cloudformation deploy": "aws",
    }
    cases["time { aws cloudformation deploy; }"] = "aws"
    for line, expected in cases.items():
        assert parse_shell(line).commands[0].name == expected, line
    cmd = parse_shell("sudo -u deploy aws cloudformation deploy --stack-name x").commands[0]
    assert cmd.words[0] == "sudo"
    assert cmd.has_words("aws", "cloudformation", "deploy")
    assert not cmd.has_words("cloudformation", "--stack-name")


def test_leading_assignments() -> None:
    (cmd,) = parse_shell("AWS_PROFILE=prod STACK='a b' aws cloudformation deploy\n").commands
    assert cmd.assignments == ("AWS_PROFILE=prod", "STACK=a b")
    assert cmd.words == ("aws", "cloudformation", "deploy")
    (cmd,) = parse_shell("export STACK=foo\n").commands
    assert cmd.words == ("export", "STACK=foo") and cmd.assignments == ()
    (cmd,) = parse_shell("REGIONS=(us-east-1 ap-northeast-1)\n").commands
    assert cmd.assignments == ("REGIONS=(us-east-1 ap-northeast-1)",)


def test_line_offset() -> None:
    script = parse_shell("set -e\necho a\n\n  aws s3 ls \\\n  --recursive\n", line_offset=10)
    assert [(c.name, c.line, c.end_line) for c in script.commands] == [
        ("set", 11, 11), ("echo", 12, 12), ("aws", 14, 15)]
    assert script.set_options[0].line == 11


def test_crlf_and_bom() -> None:
    text = "\ufeff#!/bin/bash\r\nset -e\r\necho \"ok\"\r\naws s3 ls \\\r\n  --recursive\r\n"
    script = parse_shell(text)
    assert script.shebang == "#!/bin/bash"
    assert [(c.words, c.line) for c in script.commands] == [
        (("set", "-e"), 2), (("echo", "ok"), 3), (("aws", "s3", "ls", "--recursive"), 4)]
    assert script.enabled_at_top("errexit")


def test_comments_only_at_word_start() -> None:
    script = parse_shell(
        "echo a#b   # trailing comment\n"
        'echo $# ${#ARR[@]} "# not a comment"\n'
        "  # aws cloudformation deploy\n"
        "echo done;# comment after semicolon\n")
    assert [c.words for c in script.commands] == [
        ("echo", "a#b"), ("echo", "$#", "${#ARR[@]}", "# not a comment"), ("echo", "done")]
    assert [c.line for c in script.commands] == [1, 2, 4]


def test_quotes() -> None:
    script = parse_shell(
        "echo 'single $HOME \"x\"' \"double \\\"q\\\" $HOME\" $'tab\\there' mixed\"a\"'b'\n"
        'echo "multi\nline"\nafter\n')
    assert script.commands[0].words == (
        "echo", 'single $HOME "x"', 'double "q" $HOME', "tab\there", "mixedab")
    assert (script.commands[1].line, script.commands[1].end_line) == (2, 3)
    assert script.commands[1].words == ("echo", "multi\nline")
    assert (script.commands[2].name, script.commands[2].line) == ("after", 4)


def test_heredoc_variants_are_skipped_but_counted() -> None:
    script = parse_shell(
        "cat <<'EOF' > /tmp/deploy.sh\n"
        "aws cloudformation deploy --stack-name $STACK\n"
        "EOF\n"
        "if true; then\n"
        "\tcat <<-\"END\"\n"
        "\t\taws cloudformation deploy\n"
        "\tEND\n"
        "fi\n"
        "mail -s report ops@example.com <<< \"aws cloudformation deploy\"\n"
        "kubectl apply -f - << MANIFEST ; echo applied\n"
        "kind: ConfigMap\n"
        "MANIFEST\n"
        "echo after\n")
    assert names(script) == [("cat", 1), ("true", 4), ("cat", 5), ("mail", 9), ("kubectl", 10),
                             ("echo", 10), ("echo", 13)]
    assert script.calls("cloudformation", "deploy") == []
    assert script.commands[0].words == ("cat",)


def test_unterminated_heredoc_swallows_rest() -> None:
    script = parse_shell("echo start\ncat <<EOF\naws cloudformation deploy\n")
    assert names(script) == [("echo", 1), ("cat", 2)]


def test_control_structures() -> None:
    script = parse_shell(
        'case "$ENV" in\n'
        '  prod|production)\n'
        '    aws cloudformation deploy --stack-name prod ;;\n'
        '  staging) deploy_staging ;;\n'
        '  *)\n'
        '    echo "unknown: $ENV" >&2\n'
        '    exit 2\n'
        '    ;;\n'
        'esac\n'
        'for region in us-east-1 ap-northeast-1; do\n'
        '  aws s3 ls --region "$region"\n'
        'done\n'
        'for f in $(ls *.yaml)\n'
        'do cfn-lint "$f"; done\n'
        'while true; do sleep 5; break; done\n'
        '( cd infra && terraform apply ) | tee apply.log\n'
        '{ echo a; echo b; } >> out.log\n'
        '[[ -n "$X" && "$X" == prod ]] && echo ok\n'
        'until test -f done.flag; do sleep 1; done\n'
        '(( count++ ))\n')
    assert names(script) == [
        ("aws", 3), ("deploy_staging", 4), ("echo", 6), ("exit", 7),
        ("aws", 11), ("ls", 13), ("cfn-lint", 14), ("true", 15), ("sleep", 15), ("break", 15),
        ("cd", 16), ("terraform", 16), ("tee", 16), ("echo", 17), ("echo", 17),
        ("[[", 18), ("echo", 18), ("test", 19), ("sleep", 19), ("(( count++ ))", 20),
    ]
    assert script.commands[15].words == ("[[", "-n", "$X", "&&", "$X", "==", "prod", "]]")
    assert script.commands[5].in_substitution


def test_functions_recorded_and_bodies_parsed() -> None:
    script = parse_shell(
        "function cleanup {\n  rm -rf \"$TMP_DIR\"\n}\n"
        "function rollback() {\n  aws cloudformation cancel-update-stack --stack-name x\n}\n"
        "deploy () {\n  set -e\n  aws cloudformation deploy --stack-name x\n}\n"
        "trap cleanup EXIT\n")
    assert script.functions == ("cleanup", "rollback", "deploy")
    assert names(script) == [("rm", 2), ("aws", 5), ("set", 8), ("aws", 9), ("trap", 11)]
    assert not script.enabled_at_top("errexit")


def test_keywords_only_in_command_position() -> None:
    script = parse_shell('echo if then done fi\n"if" x\n')
    assert script.commands[0].words == ("echo", "if", "then", "done", "fi")
    assert script.commands[1].words == ("if", "x")


def test_is_shell_text() -> None:
    assert is_shell_text("", "scripts/deploy.sh")
    assert is_shell_text("", "scripts/DEPLOY.BASH")
    assert is_shell_text("#!/bin/bash\necho hi\n", "deploy")
    assert is_shell_text("#!/usr/bin/env zsh\n", "run")
    assert is_shell_text("\ufeff#!/bin/dash -e\r\n", "run")
    assert is_shell_text("#!/bin/sh\n", "hooks/pre-commit")
    assert not is_shell_text("#!/usr/bin/env python3\nprint()\n", "tool")
    assert not is_shell_text("echo hi\n", "README.md")


def test_dataclasses_are_frozen() -> None:
    cmd = ShellCommand(("echo",), 1, 1, "echo")
    assert cmd.name == "echo" and ShellCommand((), 1, 1, "").name == ""
    try:
        cmd.line = 2  # type: ignore[misc]
    except AttributeError:
        pass
    else:
        raise AssertionError("ShellCommand must be frozen")


def _check_sane(script: ShellScript) -> None:
    assert isinstance(script, ShellScript)
    for cmd in script.commands:
        assert 1 <= cmd.line <= cmd.end_line
        assert isinstance(cmd.name, str)


FUZZ_ALPHABET = list("ab$(){}[]\"'`\\#;&|<>!=-_ \t\n\r*?~%@") + [
    "EOF", "<<", "<<-", "$(", "${", "case ", " in ", "esac", "if ", "then", "fi", "do ", "done",
    "function ", "()", "\x00", "\ufeff", "デプロイ", "aws ", "set -e", "\\\n", "))", "`"]


def test_random_malformed_input_never_raises() -> None:
    rng = random.Random(20240601)
    for _ in range(500):
        text = "".join(rng.choice(FUZZ_ALPHABET) for _ in range(rng.randint(0, 120)))
        _check_sane(parse_shell(text))
        is_shell_text(text, "x")


def test_truncated_and_mutated_real_script_never_raises() -> None:
    rng = random.Random(7)
    for _ in range(200):
        cut = rng.randint(0, len(CHANGE_SET_SCRIPT))
        pos = rng.randint(0, cut)
        text = CHANGE_SET_SCRIPT[:pos] + rng.choice(FUZZ_ALPHABET) + CHANGE_SET_SCRIPT[pos:cut]
        _check_sane(parse_shell(text))


def test_deep_nesting_does_not_recurse_forever() -> None:
    _check_sane(parse_shell("echo " + "$(" * 3000 + "aws x" + ")" * 3000))
    _check_sane(parse_shell("x=" + "`" * 5000))
    _check_sane(parse_shell("echo " + "${" * 3000))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_hypothesis_any_text_never_raises(text: str) -> None:
    _check_sane(parse_shell(text))
