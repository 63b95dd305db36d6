"""MAZ001: a production database that lives in one Availability Zone."""

from __future__ import annotations

from sre_agent.models import Perspective, Severity
from sre_agent.parsing.cloudformation import CfnResource
from sre_agent.rules._production import ProductionSetting


class RdsSingleAz(ProductionSetting):
    """
    ## What it does
    Checks that every RDS DB instance (CloudFormation `AWS::RDS::DBInstance`, Terraform
    `aws_db_instance`) is multi-AZ in production. A value given by a parameter or variable is
    judged by the production parameter file (`prd.json`, `prod.tfvars`, …), else its default;
    `!If [IsProduction, true, false]` is evaluated for production. Instances that belong to an
    Aurora cluster are exempt (the cluster provides the failover). Unresolvable values are not
    reported.

    ## Why is this bad
    A single-AZ instance is down for the whole AZ outage and for every maintenance reboot
    (minutes to hours); with Multi-AZ, RDS fails over to the standby in about one to two minutes.

    ## Example
    ```yaml
    Database:
      Type: AWS::RDS::DBInstance
      Properties:
        MultiAZ: false
    ```

    ## Use instead
    ```yaml
        MultiAZ: !If [IsProduction, true, false]
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZSingleStandby.html
    - standards/cloudformation.md「可用性」
    """

    id = "SRE-MAZ-001"
    name = "rds-single-az-in-prod"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.ERROR
    accepted_by_design = "single-az"
    equivalents = ("checkov:CKV_AWS_157",)
    title_ja = "RDS がシングルAZ"
    title_en = "RDS is single-AZ"
    passed_ja = "RDS は本番でマルチAZ"
    passed_en = "RDS is multi-AZ in production"
    fix_ja = "本番環境で MultiAZ を true にする（例: `MultiAZ: !If [IsProduction, true, false]`）"
    fix_en = "Make MultiAZ true in production (e.g. `MultiAZ: !If [IsProduction, true, false]`)"

    cfn_types = ("AWS::RDS::DBInstance",)
    cfn_property, cfn_absent = "MultiAZ", False
    tf_types = ("aws_db_instance",)
    tf_attribute, tf_absent = "multi_az", False
    subject_ja, subject_en = "RDS", "RDS instances"
    remediation_tf_ja = "本番の tfvars で multi_az = true にする（例: `multi_az = var.environment == \"prd\"`）"
    remediation_tf_en = "Set multi_az = true for production (e.g. `multi_az = var.environment == \"prd\"`)"

    def skip_cfn(self, resource: CfnResource) -> bool:
        return "DBClusterIdentifier" in resource.properties  # the Aurora cluster fails over
