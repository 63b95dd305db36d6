"""cfn-lint, in process, on the templates we already decoded.

Building cfn-lint's config and rule collection costs ~0.45 s; `cfnlint.api.lint()` pays it on
every call. We build them once per process and run each already-decoded template through
`run_template_by_data`, so a template is parsed once for our rules and cfn-lint alike.
Where a match lands and what it is called comes from `peer_catalogue`, not from cfn-lint's
own E/W/I letter: its warnings mix deploy breakers with style.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from sre_agent.analyzers.base import ANALYZER_ERROR_ID
from sre_agent.analyzers.peer_catalogue import place_cfn_lint
from sre_agent.analyzers.toollogs import captured
from sre_agent.filecache import digest
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules.base import RuleContext
from sre_agent.workers import chunked


@cache
def _engine(region: str) -> tuple[Any, Any]:
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    config = ConfigMixIn(regions=[region], include_checks=["I"])
    return config, Runner(config).rules


class CfnLintAnalyzer:
    name = "cfn-lint"

    def __init__(self, region: str = "ap-northeast-1") -> None:
        self.region = region

    def version(self) -> str:
        from cfnlint.version import __version__

        return __version__

    def chunks(self, ctx: RuleContext) -> list[list[str]]:
        return chunked([t.path for t in ctx.project.templates], 4)

    def analyze(self, ctx: RuleContext) -> list[Finding]:
        return self.analyze_files(ctx, [t.path for t in ctx.project.templates])

    def analyze_files(self, ctx: RuleContext, files: list[str]) -> list[Finding]:
        return [f for _, found in self.analyze_items(ctx, files) for f in found]

    def analyze_items(self, ctx: RuleContext, files: list[str]) -> list[tuple[str | None, list[Finding]]]:
        """Each template's findings on their own: a template's result depends on its own text
        only (no cross-file checks this way), so it can be cached per file (filecache.py)."""
        from cfnlint.runner import run_template_by_data

        config, rules = _engine(self.region)
        wanted = set(files)
        results: list[tuple[str | None, list[Finding]]] = []
        for template in ctx.project.templates:
            if template.path in wanted:
                with captured():
                    matches = list(run_template_by_data(template.data, config, rules))
                results.append((template.path, [self._finding(ctx, template.path, match)
                                                for match in matches]))
        return results

    def cache_key(self, ctx: RuleContext, item: str) -> str | None:
        text = ctx.project.texts.get(item)
        if text is None:
            return None
        return f"cfn-lint|{self.version()}|{self.region}|{ctx.lang}|{item}|{digest(text)}"

    def _finding(self, ctx: RuleContext, path: str, match: Any) -> Finding:
        rule_id = match.rule.id
        if rule_id == "E0002":
            return self._crash(ctx, path, match)
        resource = None
        match_path = getattr(match, "path", None) or []
        if len(match_path) > 1 and match_path[0] == "Resources":
            resource = str(match_path[1])
        place = place_cfn_lint(rule_id, match.rule.shortdesc)
        return Finding(
            id=f"cfn-lint:{rule_id}", source="cfn-lint", severity=place.severity,
            perspective=place.perspective,
            file=path, line=match.linenumber or None, resource=resource,
            title=ctx.text(place.ja, place.en), message=match.message,
            remediation=ctx.text(f"cfn-lint {rule_id} の説明に従って修正: {match.rule.source_url}",
                                 f"Fix as cfn-lint {rule_id} describes: {match.rule.source_url}"),
        )

    def _crash(self, ctx: RuleContext, path: str, match: Any) -> Finding:
        """E0002 is cfn-lint saying one of its own rules raised: that rule did not run here."""
        failed = re.search(r"\brule ([EWI]\d{4})", match.message)
        check = failed.group(1) if failed else "E0002"
        return Finding(
            id=ANALYZER_ERROR_ID, source="cfn-lint", severity=Severity.INFO,
            perspective=Perspective.OPERABILITY, file=path, line=match.linenumber or None,
            related_ids=[f"cfn-lint:{check}"],
            title=ctx.text(f"cfn-lint の検査 {check} が実行できなかった",
                           f"cfn-lint rule {check} could not run"),
            message=ctx.text(f"cfn-lint の {check} が例外で止まったため、この項目は未確認: {match.message}",
                             f"cfn-lint's {check} raised, so this item is unchecked: {match.message}"),
            remediation=ctx.text(f"{check} の観点は手で確認する（cfn-lint の不具合）",
                                 f"Check what {check} covers by hand (a cfn-lint bug)"))
