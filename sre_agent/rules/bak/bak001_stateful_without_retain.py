"""BAK001: a stateful resource that a stack update or delete would throw away."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.resolve import UNKNOWN, CfnEvaluator, cfn_contexts
from sre_agent.rules._resources import key_line, tf_prevent_destroy
from sre_agent.rules.base import Rule, RuleContext

DATABASES = {"AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::DynamoDB::Table",
             "AWS::DynamoDB::GlobalTable"}
OTHER_STATEFUL = {"AWS::EFS::FileSystem", "AWS::S3::Bucket"}
KEEP = {"Snapshot", "Retain", "RetainExceptOnCreate"}
POLICIES = ("DeletionPolicy", "UpdateReplacePolicy")
TF_DATABASES = ("aws_db_instance", "aws_rds_cluster", "aws_dynamodb_table")
TF_OTHER = ("aws_efs_file_system", "aws_s3_bucket")


# The property that gives a resource a custom physical name (CloudFormation cannot replace it).
NAME_PROPERTIES = {"AWS::RDS::DBInstance": "DBInstanceIdentifier", "AWS::RDS::DBCluster": "DBClusterIdentifier",
                   "AWS::DynamoDB::Table": "TableName", "AWS::S3::Bucket": "BucketName",
                   "AWS::ElastiCache::ReplicationGroup": "ReplicationGroupId",
                   "AWS::OpenSearchService::Domain": "DomainName", "AWS::DocDB::DBCluster": "DBClusterIdentifier"}


class StatefulWithoutRetain(Rule):
    """
    ## What it does
    CloudFormation: reports an RDS instance or cluster, DynamoDB table, EFS file system or S3
    bucket whose `DeletionPolicy` or `UpdateReplacePolicy` is missing or `Delete` (both must be
    `Snapshot` or `Retain`; `!If` is evaluated per environment). RDS instances that belong to an
    Aurora cluster are exempt (the cluster holds the data). Severity is error for databases
    (RDS, Aurora, DynamoDB) and warning for EFS; info for S3, which CloudFormation cannot delete
    while it holds objects (the stack delete fails instead of losing the data). Only `UpdateReplacePolicy` missing on a
    resource with a custom physical name (`DBInstanceIdentifier`, `TableName`, `BucketName`) is
    info: CloudFormation refuses to replace a custom-named resource, so no update can drop it —
    until the name is removed.
    Terraform: reports `aws_db_instance` / `aws_rds_cluster` without `lifecycle { prevent_destroy
    = true }` and without a final snapshot (`skip_final_snapshot = true` or no
    `final_snapshot_identifier`), `aws_dynamodb_table` without `prevent_destroy` or
    `deletion_protection_enabled = true`, `aws_efs_file_system` without `prevent_destroy`, and
    `aws_s3_bucket` with `force_destroy = true` and no `prevent_destroy`.

    ## Why is this bad
    CloudFormation's default is `Delete`. A stack deleted by mistake, or an update that replaces
    the resource (a renamed identifier, a changed property that requires replacement), deletes
    the database or bucket with no snapshot: the data is gone and the backups go with the instance.

    ## Example
    ```yaml
    Database:
      Type: AWS::RDS::DBInstance
      Properties: ...
    ```

    ## Use instead
    ```yaml
    Database:
      Type: AWS::RDS::DBInstance
      DeletionPolicy: Snapshot
      UpdateReplacePolicy: Snapshot
    ```

    ## References
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html
    - standards/cloudformation.md §5 データ保護
    - standards/terraform.md §4 可用性とデータ保護
    """

    id = "SRE-BAK-001"
    name = "stateful-resource-without-retain-policy"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.WARNING
    equivalents = ("cfn-lint:I3011", "cfn-lint:W3011")
    title_ja = "ステートフルなリソースに削除・置換時の保護なし"
    title_en = "Stateful resource without a retain/snapshot policy"
    passed_ja = "データを持つリソースに DeletionPolicy / UpdateReplacePolicy（Snapshot / Retain）あり"
    passed_en = "Stateful resources have DeletionPolicy / UpdateReplacePolicy Snapshot or Retain"
    fix_ja = "DeletionPolicy と UpdateReplacePolicy を Snapshot（RDS）または Retain にする"
    fix_en = "Set DeletionPolicy and UpdateReplacePolicy to Snapshot (RDS) or Retain"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for template in ctx.project.templates:
            contexts = cfn_contexts(template, ctx.project)
            for resource in template.of_type(*DATABASES, *OTHER_STATEFUL):
                if resource.type == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in resource.properties:
                    continue
                missing = []
                env_name = None
                for policy in POLICIES:
                    raw = resource.body.get(policy, "Delete")
                    bad_envs = []
                    for env in contexts:
                        value = CfnEvaluator(template, env).value(raw)
                        if value is not UNKNOWN and value not in KEEP:
                            bad_envs.append(env.name)
                    if bad_envs:
                        missing.append(policy)
                        if len(bad_envs) < len(contexts):
                            env_name = bad_envs[0]
                if not missing:
                    continue
                named = NAME_PROPERTIES.get(resource.type)
                if missing == ["UpdateReplacePolicy"] and named and named in resource.properties:
                    # CloudFormation refuses to replace a resource with a custom name: no replacement
                    # can drop the data today, but removing the name re-opens the hole.
                    self.accepted = True  # known and explained: no ✅ for this rule
                    yield self.finding(
                        ctx, file=template.path, line=key_line(resource.body, "UpdateReplacePolicy") or resource.line,
                        resource=resource.logical_id, severity=Severity.INFO,
                        message=ctx.text(
                            f"{resource.type} `{resource.logical_id}` に UpdateReplacePolicy がない。固有名"
                            f"（{named}）のため置換は CloudFormation に拒否されるが、名前を外すと置換でデータが消える",
                            f"{resource.type} `{resource.logical_id}` has no UpdateReplacePolicy; its custom "
                            f"{named} makes CloudFormation refuse a replacement, until the name is removed"))
                    continue
                if resource.type == "AWS::S3::Bucket":
                    # CloudFormation cannot delete a bucket that holds objects: a stack delete or a
                    # replacement fails and leaves it in place. Worth knowing, not data loss.
                    self.accepted = True
                    yield self.finding(
                        ctx, file=template.path, line=key_line(resource.body, missing[0]) or resource.line,
                        resource=resource.logical_id, severity=Severity.INFO,
                        message=ctx.text(
                            f"S3 バケット `{resource.logical_id}` に {' / '.join(missing)}（Retain）がない。空でないバケットは"
                            "削除されず、スタック削除・置換が失敗して止まる（データは残る）",
                            f"S3 bucket `{resource.logical_id}` has no Retain {' / '.join(missing)}: a bucket with objects "
                            "is not deleted, the stack delete or replacement fails instead (the data stays)"))
                    continue
                database = resource.type in DATABASES
                line = key_line(resource.body, missing[0]) or resource.line
                where = ctx.text(f"（{env_name} 環境）", f" (in {env_name})") if env_name else ""
                yield self.finding(
                    ctx, file=template.path, line=line, resource=resource.logical_id,
                    environment=env_name, severity=Severity.ERROR if database else Severity.WARNING,
                    message=ctx.text(
                        f"{resource.type} `{resource.logical_id}` の {' / '.join(missing)} が Snapshot / Retain でない"
                        f"{where}（スタック削除・置換でデータが消える）",
                        f"{resource.type} `{resource.logical_id}` has no Snapshot/Retain {' / '.join(missing)}"
                        f"{where}: a stack delete or replacement destroys the data"))
        for tf in ctx.project.terraform:
            for block in tf.resources(*TF_DATABASES, *TF_OTHER):
                reason = self._tf_reason(block)
                if reason is None:
                    continue
                yield self.finding(
                    ctx, file=tf.path, line=block.line, resource=block.address,
                    severity=Severity.ERROR if block.type in TF_DATABASES else Severity.WARNING,
                    message=ctx.text(f"`{block.address}` は {reason[0]}（destroy・置換でデータが消える）",
                                     f"`{block.address}` {reason[1]}: a destroy or replacement loses the data"),
                    remediation=ctx.text("`lifecycle { prevent_destroy = true }` を付ける"
                                         "（RDS は skip_final_snapshot = false と final_snapshot_identifier も）",
                                         "Add `lifecycle { prevent_destroy = true }` (and a final snapshot for RDS)"))

    @staticmethod
    def _tf_reason(block) -> tuple[str, str] | None:
        if tf_prevent_destroy(block):
            return None
        if block.type in ("aws_db_instance", "aws_rds_cluster"):
            if block.get("skip_final_snapshot") is not True and block.get("final_snapshot_identifier"):
                return None
            return ("prevent_destroy も最終スナップショット（final_snapshot_identifier）もない",
                    "has neither prevent_destroy nor a final snapshot")
        if block.type == "aws_dynamodb_table":
            if block.get("deletion_protection_enabled") is True:
                return None
            return ("prevent_destroy も deletion_protection_enabled もない",
                    "has neither prevent_destroy nor deletion_protection_enabled")
        if block.type == "aws_s3_bucket":
            if block.get("force_destroy") is not True:
                return None
            return ("force_destroy = true で prevent_destroy がない", "has force_destroy = true and no prevent_destroy")
        return ("prevent_destroy がない", "has no prevent_destroy")

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates for _ in t.of_type(*DATABASES, *OTHER_STATEFUL))
        count += sum(1 for tf in ctx.project.terraform for _ in tf.resources(*TF_DATABASES, *TF_OTHER))
        return ctx.text(f"ステートフルなリソース {count} 件を確認",
                        f"{count} stateful resources checked") if count else None
