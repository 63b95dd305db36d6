"""The deploy-path helpers the DEP rules share (sre_agent/rules/_deploy.py)."""

from __future__ import annotations

from pathlib import Path

from conftest import write
from sre_agent.parsing.shell import parse_shell
from sre_agent.project import load_project
from sre_agent.rules._deploy import (
    case_patterns, change_set_roles, command_blocks, confirmation_reads, has_non_interactive_path,
    workflow_jobs,
)


def test_commands_in_function_bodies_are_marked() -> None:
    script = parse_shell("log() {\n  echo \"$1\" $(date)\n}\nfunction f { x=$2; }\nENV=$1\n")
    marked = {(c.line, c.words[:1] or c.assignments): c.in_function for c in script.commands}
    assert marked == {(2, ("echo",)): True, (2, ("date",)): True, (4, ("x=$2",)): True,
                      (5, ("ENV=$1",)): False}


def test_confirmation_reads_skip_data_reads() -> None:
    text = ("while read -r line; do :; done < f\ncat x | while IFS= read -r a; do :; done\n"
            "read -r A B <<< \"$x\"\necho -n 'ok? '; read ans\nread -rp 'p: ' b\n")
    commands = parse_shell(text).commands
    assert [c.line for c in confirmation_reads(commands, text)] == [4, 5]
    assert [c.line for c in confirmation_reads(commands)] == [5]  # runbooks: only read -p


def test_case_patterns_and_roles(tmp_path: Path) -> None:
    text = "case \"$1\" in\n  -y | --yes) Y=1 ;;\n  rollback) do_it ;;\n  # x) comment\nesac\n"
    assert list(case_patterns(text)) == [(2, ["-y", "--yes"]), (3, ["rollback"])]
    write(tmp_path, "scripts/cs.sh", "#!/bin/bash\nset -euo pipefail\n" + text.replace(
        "do_it", "aws cloudformation describe-change-set --stack-name s --change-set-name c"))
    script = load_project([tmp_path]).scripts[0]
    assert change_set_roles(script) == {"describe", "rollback"}
    assert has_non_interactive_path(script)


def test_workflow_run_steps_keep_file_lines(tmp_path: Path) -> None:
    write(tmp_path, ".github/workflows/d.yml", "on: push\njobs:\n  d:\n    environment: prd\n"
          "    steps:\n      - run: |\n          echo a\n          terraform apply tfplan\n"
          "      - run: aws cloudformation deploy --stack-name x\n")
    project = load_project([tmp_path])
    job = next(workflow_jobs(project))
    assert job.protected and job.line == 3
    lines = [(c.line, c.name) for b in command_blocks(project) for c in b.commands]
    assert lines == [(7, "echo"), (8, "terraform"), (9, "aws")]
