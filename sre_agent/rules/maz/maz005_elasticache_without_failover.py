"""MAZ005: an ElastiCache cache that cannot fail over to another AZ."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN, CfnEvaluator, as_bool, as_number, cfn_contexts, tf_value, tf_contexts
from sre_agent.rules._resources import cfn_exists, env_phrase
from sre_agent.rules.base import Rule, RuleContext

FLAGS_CFN = ("AutomaticFailoverEnabled", "MultiAZEnabled")
FLAGS_TF = ("automatic_failover_enabled", "multi_az_enabled")


class ElastiCacheWithoutFailover(Rule):
    """
    ## What it does
    Reports, for production, an ElastiCache replication group (`AWS::ElastiCache::ReplicationGroup`,
    `aws_elasticache_replication_group`) without `AutomaticFailoverEnabled` and `MultiAZEnabled`
    (both default to false), and a single-node cache cluster (`AWS::ElastiCache::CacheCluster`,
    `aws_elasticache_cluster` with `NumCacheNodes` / `num_cache_nodes` below 2, which is always
    the case for Redis/Valkey clusters). Values from parameters use the production parameter file,
    `!If` is evaluated for production; unresolvable values are not reported.

    ## Why is this bad
    Without automatic failover, losing the primary node (AZ outage, hardware failure, some
    maintenance) makes the cache read-only or unreachable until someone promotes a replica by
    hand; sessions and rate limits kept in the cache are gone for every user.

    ## Example
    ```yaml
    SessionCache:
      Type: AWS::ElastiCache::ReplicationGroup
      Properties:
        NumCacheClusters: 2
    ```

    ## Use instead
    ```yaml
        NumCacheClusters: 2
        AutomaticFailoverEnabled: true
        MultiAZEnabled: true
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/AutoFailover.html
    - standards/cloudformation.md §4 可用性
    - standards/terraform.md §4 可用性とデータ保護
    """

    id = "SRE-MAZ-005"
    name = "elasticache-without-failover"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.WARNING
    accepted_by_design = "single-az"
    title_ja = "ElastiCache の自動フェイルオーバー / マルチAZ なし"
    title_en = "ElastiCache without automatic failover / Multi-AZ"
    passed_ja = "ElastiCache は本番で自動フェイルオーバー・マルチAZ"
    passed_en = "ElastiCache has automatic failover and Multi-AZ in production"
    fix_ja = "レプリカを 1 つ以上置き、AutomaticFailoverEnabled と MultiAZEnabled を true にする"
    fix_en = "Add at least one replica and set AutomaticFailoverEnabled and MultiAZEnabled to true"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        project = ctx.project
        for template in project.templates:
            for env in cfn_contexts(template, project, prod_only=True):
                evaluator = CfnEvaluator(template, env)
                for group in template.of_type("AWS::ElastiCache::ReplicationGroup"):
                    if not cfn_exists(template, group, env):
                        continue
                    off = [f for f in FLAGS_CFN if as_bool(evaluator.value(group.properties.get(f, False))) is False]
                    if off:
                        yield self._report(ctx, template.path, group.property_line(off[0]),
                                           group.logical_id, off, env)
                for cluster in template.of_type("AWS::ElastiCache::CacheCluster"):
                    nodes = as_number(evaluator.value(cluster.properties.get("NumCacheNodes", 1)))
                    if cfn_exists(template, cluster, env) and nodes is not UNKNOWN and nodes < 2:
                        yield self._single(ctx, template.path, cluster.property_line("NumCacheNodes"),
                                           cluster.logical_id, env)
                break  # one production context is enough: the same resource, the same line
        for tf in project.terraform:
            for env in tf_contexts(tf, project, prod_only=True):
                for group in tf.resources("aws_elasticache_replication_group"):
                    off = [f for f in FLAGS_TF
                           if as_bool(tf_value(group, f, env.values) if f in group.body else False) is False]
                    if off:
                        yield self._report(ctx, tf.path, group.attribute_line(off[0]), group.address, off, env)
                for cluster in tf.resources("aws_elasticache_cluster"):
                    if "replication_group_id" in cluster.body:
                        continue
                    nodes = as_number(tf_value(cluster, "num_cache_nodes", env.values)
                                      if "num_cache_nodes" in cluster.body else 1)
                    if nodes is not UNKNOWN and nodes < 2:
                        yield self._single(ctx, tf.path, cluster.attribute_line("num_cache_nodes"),
                                           cluster.address, env)
                break  # one production context is enough: the same resource, the same line

    def _report(self, ctx: RuleContext, path: str, line: int, resource: str, off: list[str], env) -> Finding:
        flags = " / ".join(off)
        return self.finding(
            ctx, file=path, line=line, resource=resource, environment=env.name,
            message=ctx.text(f"`{resource}` の {flags} が {env_phrase(ctx.text, env)}で無効（プライマリ障害時に自動で切り替わらない）",
                             f"`{resource}` has {flags} off in {env_phrase(ctx.text, env)}: no automatic failover"))

    def _single(self, ctx: RuleContext, path: str, line: int, resource: str, env) -> Finding:
        return self.finding(
            ctx, file=path, line=line, resource=resource, environment=env.name,
            message=ctx.text(f"キャッシュクラスター `{resource}` が {env_phrase(ctx.text, env)}で単一ノード",
                             f"Cache cluster `{resource}` is a single node in {env_phrase(ctx.text, env)}"),
            remediation=ctx.text("本番はレプリケーショングループ（レプリカ 1 つ以上、自動フェイルオーバー有効）にする",
                                 "Use a replication group with a replica and automatic failover in production"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates
                    for _ in t.of_type("AWS::ElastiCache::ReplicationGroup", "AWS::ElastiCache::CacheCluster"))
        count += sum(1 for tf in ctx.project.terraform
                     for _ in tf.resources("aws_elasticache_replication_group", "aws_elasticache_cluster"))
        return ctx.text(f"ElastiCache {count} 件を確認", f"{count} ElastiCache resources checked") if count else None
