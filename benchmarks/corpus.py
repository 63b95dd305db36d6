"""Generate an N-template CloudFormation corpus for the scaling curve.

    .venv/bin/python benchmarks/corpus.py 100 /tmp/corpus-100

Templates are the bundled scenarios' real templates, each copy made unique (a comment line),
spread over stacks of 4 with a parent template that nests them, with parameter files and
change-set scripts — the shape of a real multi-stack project, grown to size.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "fixtures" / "scenarios" / name for name in ("clean-ecs-rds", "ecs-rds-broken")]


def source_templates() -> list[Path]:
    found = []
    for scenario in SOURCES:
        for path in sorted((scenario / "infra").rglob("*.yaml")):
            if "legacy" not in path.parts:
                found.append(path)
    return found


def parent_template(children: list[Path]) -> str:
    """A stack's parent: one nested stack per template of the folder, so editing a parent
    changes what its children are judged with (the shared-template case of the edit loop)."""
    lines = ["AWSTemplateFormatVersion: '2010-09-09'",
             "Description: generated parent stack (nested stacks of this folder)",
             "Parameters:", "  Environment:", "    Type: String", "    AllowedValues: [stg, prd]",
             "Resources:"]
    for index, child in enumerate(children):
        lines += [f"  Child{index}:", "    Type: AWS::CloudFormation::Stack", "    Properties:",
                  f"      TemplateURL: ./{child.name}", "      Parameters:",
                  "        Environment: !Ref Environment"]
    return "\n".join(lines) + "\n"


def generate(count: int, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    templates = source_templates()
    for index in range(count):
        source = templates[index % len(templates)]
        stack = f"stack{index // 4:04d}"
        text = source.read_text(encoding="utf-8")
        text = f"# generated copy {index} of {source.name} for {stack}\n" + text
        out = target / "infra" / stack / f"{index:04d}-{source.name}"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    for stack in sorted({p.parent for p in (target / "infra").glob("stack*/*.yaml")}):
        (stack / "parent.yaml").write_text(parent_template(sorted(stack.glob("0*.yaml"))),
                                           encoding="utf-8")
    scripts = ROOT / "fixtures" / "scenarios" / "clean-ecs-rds" / "scripts"
    shutil.copytree(scripts, target / "scripts")
    params = ROOT / "fixtures" / "scenarios" / "clean-ecs-rds" / "infra" / "parameters"
    shutil.copytree(params, target / "infra" / "parameters")
    return target


if __name__ == "__main__":
    generate(int(sys.argv[1]), Path(sys.argv[2]))
    print(sys.argv[2])
