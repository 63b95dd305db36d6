"""BAK003: a production database that one API call can delete."""

from __future__ import annotations

from typing import Any

from sre_agent.models import Perspective, Severity
from sre_agent.parsing.cloudformation import CfnResource
from sre_agent.parsing.terraform import TfBlock
from sre_agent.rules._production import ProductionSetting
from sre_agent.rules.base import RuleContext


class DeletionProtectionOff(ProductionSetting):
    """
    ## What it does
    Reports, for production, an RDS DB instance or Aurora cluster (`AWS::RDS::DBInstance`,
    `AWS::RDS::DBCluster`, `aws_db_instance`, `aws_rds_cluster`) whose `DeletionProtection` /
    `deletion_protection` is false or absent (the default is false). Aurora member instances are
    exempt (protection is set on the cluster). `!If [IsProduction, true, false]` is fine.

    ## Why is this bad
    A `delete-stack` on the wrong stack, a `terraform destroy` in the wrong workspace or a
    console click deletes the production database; deletion protection turns that into an error
    message instead of an incident.

    ## Example
    ```yaml
    Database:
      Type: AWS::RDS::DBInstance
      Properties:
        DeletionProtection: false
    ```

    ## Use instead
    ```yaml
        DeletionProtection: !If [IsProduction, true, false]
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html#USER_DeletionProtection
    - standards/cloudformation.md §5 データ保護
    - standards/terraform.md §4 可用性とデータ保護
    """

    id = "SRE-BAK-003"
    name = "rds-deletion-protection-off-in-prod"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.WARNING
    equivalents = ("checkov:CKV_AWS_293", "checkov:CKV_AWS_139")
    title_ja = "本番 RDS の削除保護が無効"
    title_en = "RDS deletion protection off in production"
    passed_ja = "本番 RDS は削除保護あり"
    passed_en = "Production RDS has deletion protection"
    fix_ja = "本番で DeletionProtection を true にする（例: `!If [IsProduction, true, false]`）"
    fix_en = "Set DeletionProtection to true in production (e.g. `!If [IsProduction, true, false]`)"

    cfn_types = ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster")
    cfn_property, cfn_absent = "DeletionProtection", False
    tf_types = ("aws_db_instance", "aws_rds_cluster")
    tf_attribute, tf_absent = "deletion_protection", False
    subject_ja, subject_en = "RDS", "RDS resources"

    def skip_cfn(self, resource: CfnResource) -> bool:
        return resource.type == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in resource.properties

    def skip_tf(self, block: TfBlock) -> bool:
        return block.type == "aws_db_instance" and "cluster_identifier" in block.body

    def describe(self, ctx: RuleContext, resource: str, name: str, value: Any, where: str) -> str:
        return ctx.text(f"`{resource}` の {name} が {where}で無効", f"`{resource}` has {name} off in {where}")
