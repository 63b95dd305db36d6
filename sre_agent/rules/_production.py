"""The shape of "property X must be Y in production" rules, so each such rule is its metadata.

The loop every one of them needs — each resource of the types, each production context of its
template (parent stack, parameter file, default), skip a resource whose Condition is false
there, evaluate the value, stay silent on UNKNOWN, report once with where the value came from —
lives here once, as checkov's BaseResourceValueCheck does for its checks.
"""

from __future__ import annotations

from typing import Any, ClassVar, Iterable

from sre_agent.models import Finding, Severity
from sre_agent.parsing.cloudformation import CfnResource
from sre_agent.parsing.terraform import TfBlock
from sre_agent.resolve import UNKNOWN, CfnEvaluator, as_bool, cfn_contexts, tf_value, tf_contexts
from sre_agent.rules._resources import cfn_exists, env_phrase, parameters_read
from sre_agent.rules.base import Rule, RuleContext

ABSENT = object()  # a property whose absence is not judged


class ProductionSetting(Rule):
    """A production resource whose setting is not the safe one. Subclasses declare the types,
    the property / attribute, its value when absent, and `safe(value)` (a boolean is safe when
    true unless they say otherwise)."""

    cfn_types: ClassVar[tuple[str, ...]] = ()
    cfn_property: ClassVar[str] = ""
    cfn_absent: ClassVar[Any] = ABSENT
    tf_types: ClassVar[tuple[str, ...]] = ()
    tf_attribute: ClassVar[str] = ""
    tf_absent: ClassVar[Any] = ABSENT
    subject_ja: ClassVar[str] = ""   # what the coverage line counts, e.g. "RDS"
    subject_en: ClassVar[str] = ""
    remediation_tf_ja: ClassVar[str | None] = None
    remediation_tf_en: ClassVar[str | None] = None

    def convert(self, value: Any) -> Any:
        return as_bool(value)

    def safe(self, value: Any) -> bool:
        return bool(value)

    def skip_cfn(self, resource: CfnResource) -> bool:
        return False

    def skip_tf(self, block: TfBlock) -> bool:
        return False

    def describe(self, ctx: RuleContext, resource: str, name: str, value: Any, where: str) -> str:
        shown = str(value).lower() if isinstance(value, bool) else f"{value}"
        return ctx.text(f"`{resource}` の {name} が {where}で {shown}",
                        f"`{resource}` has {name} {shown} in {where}")

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for finding, value in self._check(ctx):
            yield self._deliberate(ctx, finding, value)

    def _deliberate(self, ctx: RuleContext, finding: Finding, value: Any) -> Finding:
        """A parameter sheet that sets this very value with a reason (`| DeletionProtection |
        false | POCでは無効 |`) makes the finding a documented choice: info citing it, no ✅."""
        from sre_agent.docfacts import facts_of

        names = {self.cfn_property.casefold(), self.tf_attribute.casefold()} - {""}
        shown = str(value).lower() if isinstance(value, bool) else (
            f"{value:g}" if isinstance(value, float) else str(value).casefold())
        for where, name, documented, reason in facts_of(ctx.project).deliberate_settings:
            if name in names and documented == shown:
                self.accepted = True
                finding.severity = Severity.INFO
                finding.message += ctx.text(f"（設計書 {where.file}:{where.line} で意図した設定と明記: {reason}）",
                                            f" (documented as deliberate in {where.file}:{where.line}: {reason})")
                break
        return finding

    @staticmethod
    def _where(ctx: RuleContext, env, template, raw: Any, present: bool) -> str:
        """Where the prod value comes from. A value written into the template, or a property left
        out (the service default applies), is the same in every environment: no parameter file
        or parent can change it, so it is not called a default."""
        if not present:
            return ctx.text(f"{env.label} 環境（テンプレートで未指定のため全環境でサービスの既定値）",
                            f"{env.label} (not set in the template: the service default, in every environment)")
        if not isinstance(raw, (dict, list)):
            return ctx.text(f"{env.label} 環境（テンプレートに直書きで全環境同じ値）",
                            f"{env.label} (written into the template: the same in every environment)")
        return env_phrase(ctx.text, env, parameters_read(template, raw))

    def _check(self, ctx: RuleContext) -> Iterable[tuple[Finding, Any]]:
        project = ctx.project
        for template in project.templates:
            for resource in template.of_type(*self.cfn_types):
                if self.skip_cfn(resource):
                    continue
                raw = resource.properties.get(self.cfn_property, self.cfn_absent)
                if raw is ABSENT:
                    continue
                for env in cfn_contexts(template, project, prod_only=True):
                    if not cfn_exists(template, resource, env):
                        continue
                    value = self.convert(CfnEvaluator(template, env).value(raw))
                    if value is UNKNOWN or self.safe(value):
                        continue
                    yield self.finding(
                        ctx, file=template.path, line=resource.property_line(self.cfn_property),
                        resource=resource.logical_id, environment=env.name,
                        message=self.describe(ctx, resource.logical_id, self.cfn_property, value,
                                              self._where(ctx, env, template, raw,
                                                          self.cfn_property in resource.properties))), value
                    break
        for tf in project.terraform:
            for block in tf.resources(*self.tf_types):
                if self.skip_tf(block):
                    continue
                for env in tf_contexts(tf, project, prod_only=True):
                    raw = (tf_value(block, self.tf_attribute, env.values)
                           if self.tf_attribute in block.body else self.tf_absent)
                    if raw is ABSENT:
                        break
                    value = self.convert(raw)
                    if value is UNKNOWN or self.safe(value):
                        continue
                    remediation = (ctx.text(self.remediation_tf_ja, self.remediation_tf_en)
                                   if self.remediation_tf_ja and self.remediation_tf_en else None)
                    yield self.finding(
                        ctx, file=tf.path, line=block.attribute_line(self.tf_attribute),
                        resource=block.address, environment=env.name, remediation=remediation,
                        message=self.describe(ctx, block.address, self.tf_attribute, value,
                                              env_phrase(ctx.text, env))), value
                    break

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates for r in t.of_type(*self.cfn_types)
                    if not self.skip_cfn(r))
        count += sum(1 for tf in ctx.project.terraform for b in tf.resources(*self.tf_types)
                     if not self.skip_tf(b))
        return ctx.text(f"{self.subject_ja} {count} 件の本番の {self.cfn_property or self.tf_attribute} を確認",
                        f"{self.cfn_property or self.tf_attribute} of {count} {self.subject_en} checked "
                        "for production") if count else None
