"""SEC002: the database master password travels as a stack parameter or Terraform variable."""

from __future__ import annotations

from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._resources import cfn_refs, cfn_strings, tf_refs
from sre_agent.rules.base import Rule, RuleContext

PASSWORD_PROPERTY = {"AWS::RDS::DBInstance": "MasterUserPassword", "AWS::RDS::DBCluster": "MasterUserPassword"}
TF_PASSWORD = {"aws_db_instance": "password", "aws_rds_cluster": "master_password"}


class DbPasswordParameter(Rule):
    """
    ## What it does
    Reports an RDS instance or Aurora cluster whose master password comes from a template
    parameter (`MasterUserPassword: !Ref DBPassword`, usually `NoEcho: true`) or a Terraform
    variable (`password = var.db_password`), instead of Secrets Manager: a dynamic reference
    (`{{resolve:secretsmanager:...}}`, also inside `!Sub` / `!Join`), `ManageMasterUserPassword:
    true` / `manage_master_user_password = true`, or a `aws_secretsmanager_secret_version` data
    source. Literal passwords are SEC001's.

    ## Why is this bad
    The password has to exist somewhere to be passed in: a parameter file, a CI secret, an
    operator's shell history. NoEcho hides it from the console but not from whoever runs the
    deploy, Terraform writes variables to the state file in plain text, and rotation means a
    stack update that nobody dares to run — so it is never rotated.

    ## Example
    ```yaml
    Parameters:
      DBPassword:
        Type: String
        NoEcho: true
    Resources:
      Database:
        Type: AWS::RDS::DBInstance
        Properties:
          MasterUserPassword: !Ref DBPassword
    ```

    ## Use instead
    ```yaml
          ManageMasterUserPassword: true
    ```

    ## References
    - https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html
    - standards/security.md §2 データベースの認証情報
    """

    id = "SRE-SEC-002"
    name = "db-password-as-parameter"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.WARNING
    title_ja = "DB パスワードをパラメータで受け渡し"
    title_en = "Database password passed as a parameter"
    passed_ja = "DB のマスターパスワードは Secrets Manager で管理"
    passed_en = "Database master passwords are managed by Secrets Manager"
    fix_ja = "ManageMasterUserPassword: true（または {{resolve:secretsmanager:...}}）にしてパラメータを削除する"
    fix_en = "Use ManageMasterUserPassword: true (or {{resolve:secretsmanager:...}}) and drop the parameter"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        for template in ctx.project.templates:
            for db in template.of_type(*PASSWORD_PROPERTY):
                raw = db.properties.get(PASSWORD_PROPERTY[db.type])
                if raw is None or isinstance(raw, str):
                    continue
                if any("{{resolve:" in s for s in cfn_strings(raw)):
                    continue
                params = sorted(cfn_refs(raw) & set(template.parameters))
                if not params:
                    continue
                definition = template.parameters.get(params[0])
                no_echo = isinstance(definition, dict) and str(definition.get("NoEcho", "")).lower() == "true"
                kind = ctx.text("NoEcho パラメータ" if no_echo else "パラメータ",
                                "NoEcho parameter" if no_echo else "parameter")
                yield self.finding(
                    ctx, file=template.path, line=db.property_line(PASSWORD_PROPERTY[db.type]),
                    resource=db.logical_id,
                    message=ctx.text(f"`{db.logical_id}` のマスターパスワードを{kind} `{params[0]}` で受け渡している",
                                     f"`{db.logical_id}` takes its master password from the {kind} `{params[0]}`"))
        for tf in ctx.project.terraform:
            for db in tf.resources(*TF_PASSWORD):
                raw = db.get(TF_PASSWORD[db.type])
                if not isinstance(raw, str) or "${var." not in raw:
                    continue
                if any(a.startswith("data.aws_secretsmanager") for a, _ in tf_refs(raw)):
                    continue
                variable = raw.split("${var.", 1)[1].split("}", 1)[0].split(".", 1)[0]
                yield self.finding(
                    ctx, file=tf.path, line=db.attribute_line(TF_PASSWORD[db.type]), resource=db.address,
                    message=ctx.text(f"`{db.address}` のマスターパスワードを変数 `{variable}` で受け渡している（state に平文で残る）",
                                     f"`{db.address}` takes its master password from variable `{variable}` (kept in plain text in the state)"),
                    remediation=ctx.text("manage_master_user_password = true にして password 変数を削除する",
                                         "Use manage_master_user_password = true and drop the password variable"))

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for t in ctx.project.templates for _ in t.of_type(*PASSWORD_PROPERTY))
        count += sum(1 for tf in ctx.project.terraform for _ in tf.resources(*TF_PASSWORD))
        return ctx.text(f"RDS {count} 件のパスワード管理を確認",
                        f"{count} RDS resources checked for password handling") if count else None
