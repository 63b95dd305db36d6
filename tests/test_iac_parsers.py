"""CloudFormation through cfn-lint's decoder and Terraform through hcl2, on real text."""

from __future__ import annotations

from pathlib import Path

import pytest

from sre_agent.parsing.cloudformation import TemplateParseError, looks_like_template, parse_template
from sre_agent.parsing.terraform import HclParseError, parse_terraform, parse_tfvars

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Environment:
    Type: String
    AllowedValues: [dev, stg, prd]
Conditions:
  IsProduction: !Equals [!Ref Environment, prd]
Resources:
  Database:
    Type: AWS::RDS::DBInstance
    DeletionPolicy: Snapshot
    Properties:
      MultiAZ: !If [IsProduction, true, false]
      DBSubnetGroupName: !ImportValue prd-DbSubnetGroup
"""
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)) + "Resources:\n  X:\n    Type: AWS::S3::Bucket\n"
TF = """\
resource "aws_db_instance" "main" {
  identifier     = "order-prd"
  instance_class = var.db_instance_class

  multi_az = false
  tags = {
    Name = "order-prd-db"
  }
}
"""


def test_template_keeps_intrinsics_and_lines() -> None:
    template = parse_template("db.yaml", Path("db.yaml"), TEMPLATE)
    db = template.resources["Database"]
    assert (db.type, db.line) == ("AWS::RDS::DBInstance", 9)
    assert db.properties["MultiAZ"] == {"Fn::If": ["IsProduction", True, False]}
    assert db.properties["DBSubnetGroupName"] == {"Fn::ImportValue": "prd-DbSubnetGroup"}
    assert db.property_line("MultiAZ") == 13
    assert db.property_line("Absent") == 9


def test_template_syntax_error_carries_the_line() -> None:
    with pytest.raises(TemplateParseError) as error:
        parse_template("bad.yaml", Path("bad.yaml"), TEMPLATE.replace("[dev, stg, prd]", "[dev, stg"))
    assert error.value.line == 6


def test_alias_amplification_is_refused_by_cfn_lints_guard() -> None:
    with pytest.raises(TemplateParseError):
        parse_template("bomb.yaml", Path("bomb.yaml"), ALIAS_BOMB)


def test_content_not_extension_makes_a_template() -> None:
    assert looks_like_template('{"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}')
    assert not looks_like_template("version: 0.2\nphases: {}\n")


def test_terraform_blocks_addresses_and_attribute_lines() -> None:
    tf = parse_terraform("rds.tf", Path("rds.tf"), TF)
    db = next(tf.resources("aws_db_instance"))
    assert (db.address, db.line, db.end_line) == ("aws_db_instance.main", 1, 9)
    assert db.get("multi_az") is False
    assert db.get("instance_class") == "${var.db_instance_class}"
    assert db.attribute_line("multi_az") == 5
    assert db.attribute_line("absent") == 1


def test_terraform_syntax_error_and_tfvars() -> None:
    with pytest.raises(HclParseError):
        parse_terraform("bad.tf", Path("bad.tf"), 'resource "aws_s3_bucket" "x" {\n  bucket = \n')
    assert parse_tfvars('multi_az = true\ndesired_count = 2\n') == {"multi_az": True, "desired_count": 2}
