"""The rule contract: one class per file, metadata on the class, docs in the docstring.

The engine finds rules by walking this package (`all_rules`), so adding a rule is one file and
one fixture folder. A rule's docstring is its user documentation, with the headings
*What it does*, *Why is this bad*, *Example*, *Use instead*, *References*; `sre-agent rule ID`
prints it and docs/rules.md is generated from it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import textwrap
from dataclasses import dataclass
from functools import cache
from typing import ClassVar, Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.project import Project

CODE = re.compile(r"^(?:SRE-)?([A-Z]{3})-?(\d{3})$")


@dataclass
class RuleContext:
    project: Project
    lang: str = "ja"

    def text(self, ja: str, en: str) -> str:
        return en if self.lang == "en" else ja


class Rule:
    id: ClassVar[str]
    name: ClassVar[str]
    perspective: ClassVar[Perspective]
    severity: ClassVar[Severity]
    title_ja: ClassVar[str]
    title_en: ClassVar[str]
    passed_ja: ClassVar[str]
    passed_en: ClassVar[str]
    fix_ja: ClassVar[str]
    fix_en: ClassVar[str]
    # Ids of cfn-lint / checkov checks that report the same problem on the same resource;
    # their findings merge into ours instead of printing a second line.
    equivalents: ClassVar[tuple[str, ...]] = ()

    @property
    def code(self) -> str:
        return short_code(self.id)

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        raise NotImplementedError

    def coverage(self, ctx: RuleContext) -> str | None:
        """What this rule looked at, for the ✅ line when it finds nothing; None = not applicable."""
        return None

    def finding(self, ctx: RuleContext, *, file: str | None, line: int | None,
                message: str, resource: str | None = None, remediation: str | None = None,
                severity: Severity | None = None, environment: str | None = None) -> Finding:
        return Finding(
            id=self.id, source="sre", severity=severity or self.severity,
            perspective=self.perspective, file=file, line=line, resource=resource,
            message=message, remediation=remediation or ctx.text(self.fix_ja, self.fix_en),
            title=ctx.text(self.title_ja, self.title_en), environment=environment,
        )

    @classmethod
    def documentation(cls) -> str:
        doc = textwrap.dedent(cls.__doc__ or "").strip()
        header = (f"{cls.id} ({short_code(cls.id)}) {cls.name}\n"
                  f"perspective: {cls.perspective.value} · default severity: {cls.severity.value}")
        if cls.equivalents:
            header += f"\nmerges with: {', '.join(cls.equivalents)}"
        return f"{header}\n\n{doc}\n"


def short_code(rule_id: str) -> str:
    match = CODE.match(rule_id.strip().upper())
    return f"{match.group(1)}{match.group(2)}" if match else rule_id


def canonical_id(text: str) -> str:
    """`MAZ001`, `maz-001` and `SRE-MAZ-001` all name SRE-MAZ-001; other ids pass through."""
    match = CODE.match(text.strip().upper())
    return f"SRE-{match.group(1)}-{match.group(2)}" if match else text.strip()


@cache
def all_rules() -> tuple[type[Rule], ...]:
    import sre_agent.rules as package

    found: dict[str, type[Rule]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Rule) and obj.__module__ == module.__name__ and "id" in vars(obj):
                if obj.id in found:
                    raise RuntimeError(f"duplicate rule id {obj.id}")
                found[obj.id] = obj
    return tuple(found[key] for key in sorted(found))


def rule_by_id(text: str) -> type[Rule] | None:
    wanted = canonical_id(text)
    return next((r for r in all_rules() if r.id == wanted), None)
