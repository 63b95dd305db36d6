"""Curated perspective and severity for checkov checks.

Offline, checkov reports no severities, so we decide: reliability checks (multi-AZ, backups,
deletion protection) go to the perspective an SRE would read them in; exposure that can be
exploited from the internet is an error; hardening is a warning; hygiene is info (appendix only).
Checks not listed default to インフラ技術の評価 / warning.
"""

from __future__ import annotations

from sre_agent.models import Perspective, Severity

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO
OPS, INFRA, MON, COST = (Perspective.OPERABILITY, Perspective.INFRASTRUCTURE,
                         Perspective.MONITORING, Perspective.COST)

CHECKOV_MAP: dict[str, tuple[Perspective, Severity]] = {
    # availability and data protection
    "CKV_AWS_157": (INFRA, W),   # RDS multi-AZ (merges into SRE-MAZ-001)
    "CKV_AWS_293": (INFRA, W),   # DB deletion protection
    "CKV_AWS_133": (OPS, W),     # RDS backup policy
    "CKV_AWS_28": (OPS, W),      # DynamoDB point-in-time recovery
    "CKV_AWS_21": (OPS, W),      # S3 versioning
    "CKV_AWS_150": (INFRA, W),   # ALB deletion protection
    "CKV_AWS_116": (OPS, W),     # Lambda dead-letter queue
    "CKV_AWS_226": (INFRA, I),   # RDS auto minor version upgrade
    # monitoring
    "CKV_AWS_118": (MON, W),     # RDS enhanced monitoring
    "CKV_AWS_353": (MON, I),     # RDS performance insights
    "CKV_AWS_129": (MON, W),     # RDS log exports
    "CKV_AWS_65": (MON, W),      # ECS container insights
    "CKV_AWS_91": (MON, W),      # ALB access logs
    "CKV_AWS_18": (MON, I),      # S3 access logs
    "CKV_AWS_50": (MON, I),      # Lambda X-Ray tracing
    "CKV_AWS_67": (MON, W),      # CloudTrail multi-region
    # cost: unbounded log storage
    "CKV_AWS_66": (COST, W),     # log group retention set
    "CKV_AWS_338": (COST, I),    # log group retention ≥ 1 year (compliance, not cost)
    # exposure that is exploitable as written
    "CKV_AWS_17": (INFRA, E),    # RDS publicly accessible
    "CKV_AWS_24": (INFRA, E),    # SSH open to 0.0.0.0/0
    "CKV_AWS_25": (INFRA, E),    # RDP open to 0.0.0.0/0
    "CKV_AWS_260": (INFRA, W),   # HTTP 80 open to 0.0.0.0/0
    "CKV_AWS_41": (INFRA, E),    # hard-coded AWS credentials in provider
    "CKV_AWS_46": (INFRA, E),    # secrets in EC2 user data
    "CKV_AWS_45": (INFRA, E),    # secrets in Lambda environment
    # hygiene: kept for the appendix, not an item line
    "CKV_AWS_23": (INFRA, I),    # security group rule description
    "CKV_AWS_158": (INFRA, I),   # log group KMS encryption
    "CKV_AWS_26": (INFRA, I),    # SNS topic encryption
    "CKV_AWS_336": (INFRA, I),   # ECS read-only root filesystem
    "CKV_AWS_249": (INFRA, I),   # ECS task role differs from execution role
    "CKV_AWS_115": (INFRA, I),   # Lambda concurrency limit
    "CKV_AWS_117": (INFRA, I),   # Lambda inside a VPC
    "CKV_AWS_173": (INFRA, I),   # Lambda environment encryption
    "CKV_AWS_272": (INFRA, I),   # Lambda code signing
    "CKV_AWS_161": (INFRA, I),   # RDS IAM authentication
    "CKV_AWS_119": (INFRA, I),   # DynamoDB CMK
    "CKV_AWS_149": (INFRA, I),   # Secrets Manager CMK
    "CKV_AWS_53": (INFRA, I), "CKV_AWS_54": (INFRA, I),   # S3 public access block fields
    "CKV_AWS_55": (INFRA, I), "CKV_AWS_56": (INFRA, I),
}
PREFIX_MAP: dict[str, tuple[Perspective, Severity]] = {
    "CKV_SECRET_": (INFRA, E),   # a secret in a file: rotate it, history keeps it
    "CKV_GHA_": (OPS, W),
    "CKV2_GHA_": (OPS, W),
}
DEFAULT = (INFRA, W)


def classify(check_id: str) -> tuple[Perspective, Severity]:
    if check_id in CHECKOV_MAP:
        return CHECKOV_MAP[check_id]
    for prefix, value in PREFIX_MAP.items():
        if check_id.startswith(prefix):
            return value
    return DEFAULT
