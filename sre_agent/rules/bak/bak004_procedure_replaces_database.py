"""BAK004: a restore or update procedure that replaces the production database."""

from __future__ import annotations

import re
from typing import Iterable

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.parsing.shell import ShellCommand
from sre_agent.resolve import UNKNOWN, cfn_contexts, cfn_text, tf_value, tf_contexts
from sre_agent.rules._resources import cfn_refs
from sre_agent.rules.base import Rule, RuleContext

# Properties whose change makes CloudFormation create a new database and delete the old one.
REPLACING = {
    "AWS::RDS::DBInstance": ("DBInstanceIdentifier", "Engine", "DBSnapshotIdentifier", "DBName"),
    "AWS::RDS::DBCluster": ("DBClusterIdentifier", "Engine", "SnapshotIdentifier", "DatabaseName"),
}
IDENTIFIER = {"AWS::RDS::DBInstance": "DBInstanceIdentifier", "AWS::RDS::DBCluster": "DBClusterIdentifier"}
# The same for Terraform ("forces replacement" in the plan).
TF_REPLACING = {
    "aws_db_instance": ("identifier", "engine", "snapshot_identifier", "db_name", "name"),
    "aws_rds_cluster": ("cluster_identifier", "engine", "snapshot_identifier", "database_name"),
}
TF_VARIABLE = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)")
TF_CALLS = ("apply", "plan")
RESTORES = {  # aws rds subcommand -> option naming the new database
    "restore-db-instance-from-db-snapshot": "--db-instance-identifier",
    "restore-db-instance-from-s3": "--db-instance-identifier",
    "restore-db-instance-to-point-in-time": "--target-db-instance-identifier",
    "restore-db-cluster-from-snapshot": "--db-cluster-identifier",
    "restore-db-cluster-to-point-in-time": "--db-cluster-identifier",
}
STACK_CALLS = ("create-change-set", "update-stack", "deploy", "create-stack")
SHELL_EXPANSION = re.compile(r"\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*")


def _word_pattern(word: str) -> re.Pattern | None:
    """`order-mgmt-${ENV}-db` -> a regex where each expansion matches anything; None when the
    word has fewer than 4 literal characters (a bare `$DB_ID` says nothing)."""
    parts = SHELL_EXPANSION.split(word)
    if sum(len(p) for p in parts) < 4:
        return None
    return re.compile(".+".join(re.escape(p) for p in parts), re.IGNORECASE)


class ProcedureReplacesDatabase(Rule):
    """
    ## What it does
    Looks at scripts and the shell blocks of runbooks for two procedures that replace a database
    managed by the stack (scope kept to what can be matched reliably):

    1. `aws rds restore-db-instance-from-db-snapshot` (and the other `restore-db-*` commands)
       whose new identifier is the identifier the stack gives its DB (`DBInstanceIdentifier` /
       `DBClusterIdentifier` resolved per environment; shell variables in the command match any
       text, e.g. `order-mgmt-${ENV}-db` matches `order-mgmt-prd-db`).
    2. A stack update (`create-change-set`, `update-stack`, `deploy`, `create-stack`) whose
       `--parameters` / `--parameter-overrides` set a parameter that feeds a replacing property
       of an RDS resource: the identifier, `Engine`, `DBSnapshotIdentifier` /
       `SnapshotIdentifier` or the database name (`UsePreviousValue=true` is fine).

    3. Terraform: `terraform apply` / `plan` with `-var name=...` for a variable that feeds a
       replacing attribute of `aws_db_instance` / `aws_rds_cluster` (`identifier`, `engine`,
       `snapshot_identifier`, the database name), or `-replace=` naming the database.

    Identifiers held in shell variables assigned elsewhere, parameter files passed with
    `file://` and `-var-file` are not analysed.

    ## Why is this bad
    Changing these properties makes CloudFormation create a new database and delete the old
    one: every write since the snapshot is lost, the endpoint changes, and with `DeletionPolicy:
    Delete` the old instance and its automated backups are gone. Restoring outside the stack into
    the stack's own identifier leaves an instance the stack does not manage: the next update
    fails or replaces it again.

    ## Example
    ```bash
    aws cloudformation create-change-set --stack-name order-mgmt-prd-database \
      --parameters ParameterKey=DBSnapshotIdentifier,ParameterValue=order-mgmt-prd-db-20240901
    ```

    ## Use instead
    Restore to a *new* identifier (`order-mgmt-prd-db-restored-20240901`), verify it, then switch
    the application's endpoint (Secrets Manager / parameter) to it; import it into the stack
    afterwards if needed. Review the change set's `Replacement` column before executing.

    ## References
    - https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_RestoreFromSnapshot.html
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-rds-dbinstance.html
    - standards/operations.md §7 バックアップとリストア手順
    """

    id = "SRE-BAK-004"
    name = "procedure-replaces-database"
    perspective = Perspective.OPERABILITY
    severity = Severity.ERROR
    title_ja = "データベースを置き換える手順"
    title_en = "Procedure replaces the database"
    passed_ja = "リストア・更新手順は既存データベースを置き換えない"
    passed_en = "Restore and update procedures do not replace the database"
    fix_ja = "新しい識別子にリストアして検証後に接続先を切り替える。識別子・エンジン・スナップショット指定をパラメータで変更しない"
    fix_en = "Restore to a new identifier and switch the endpoint after verification; never change the identifier, engine or snapshot through parameters"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        identifiers, parameters = self._stack_databases(ctx)
        tf_variables, tf_databases = self._terraform_databases(ctx)
        if not (identifiers or parameters or tf_databases):
            return
        for path, command in ctx.project.commands():
            if command.name == "terraform" and any(command.has_words(c) for c in TF_CALLS):
                finding = self._terraform(ctx, path, command, tf_variables, tf_databases)
            elif command.name != "aws":
                continue
            else:
                finding = self._restore(ctx, path, command, identifiers) if command.has_words("rds") \
                    else self._override(ctx, path, command, parameters)
            if finding:
                yield finding

    @staticmethod
    def _terraform_databases(ctx: RuleContext) -> tuple[dict[str, tuple[str, str]], set[str]]:
        """(variable -> (address, replacing attribute), addresses of the databases)."""
        variables: dict[str, tuple[str, str]] = {}
        addresses: set[str] = set()
        for tf in ctx.project.terraform:
            for db in tf.resources(*TF_REPLACING):
                addresses.add(db.address)
                for attr in TF_REPLACING[db.type]:
                    for name in TF_VARIABLE.findall(str(db.get(attr, ""))):
                        if name not in ("environment", "env", "project_name", "project"):
                            variables.setdefault(name, (db.address, attr))
        return variables, addresses

    def _terraform(self, ctx: RuleContext, path: str, command: ShellCommand,
                   variables: dict[str, tuple[str, str]], addresses: set[str]) -> Finding | None:
        """`terraform apply -var snapshot_identifier=...` or `-replace=aws_db_instance.main`."""
        words = list(command.words)
        for i, word in enumerate(words):
            flag, _, value = word.partition("=")
            if flag in ("-var", "--var", "-replace", "--replace") and not value and i + 1 < len(words):
                value = words[i + 1]
            if flag in ("-replace", "--replace") and value.split("[", 1)[0] in addresses:
                return self.finding(ctx, file=path, line=command.line, resource=value, message=ctx.text(
                    f"`terraform {words[1] if len(words) > 1 else ''} -replace={value}` がデータベースを作り直す（旧 DB は削除される）",
                    f"`-replace={value}` recreates the database (the old one is destroyed)"))
            if flag in ("-var", "--var") and "=" in value:
                key = value.split("=", 1)[0].strip("'\"")
                if key in variables:
                    resource, attr = variables[key]
                    return self.finding(ctx, file=path, line=command.line, resource=resource, message=ctx.text(
                        f"変数 `{key}` を上書きしている: `{resource}` の {attr} が変わり、DB が置き換え（新規作成・旧 DB 削除）になる",
                        f"Overrides variable `{key}`: it changes {attr} of `{resource}`, which replaces the database"))
        return None

    def _stack_databases(self, ctx: RuleContext) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
        """(identifier -> resource, parameter name -> (resource, property))."""
        identifiers: dict[str, str] = {}
        parameters: dict[str, tuple[str, str]] = {}
        for template in ctx.project.templates:
            for db in template.of_type(*REPLACING):
                raw = db.properties.get(IDENTIFIER[db.type])
                for env in cfn_contexts(template, ctx.project):
                    value = cfn_text(template, env, raw) if raw is not None else UNKNOWN
                    if isinstance(value, str) and value:
                        identifiers[value.lower()] = db.logical_id
                for prop in REPLACING[db.type]:
                    for name in cfn_refs(db.properties.get(prop)) & set(template.parameters):
                        if name not in ("ProjectName", "Environment"):
                            parameters.setdefault(name, (db.logical_id, prop))
        for tf in ctx.project.terraform:
            for db in tf.resources("aws_db_instance", "aws_rds_cluster"):
                attr = "identifier" if db.type == "aws_db_instance" else "cluster_identifier"
                for env in tf_contexts(tf, ctx.project):
                    value = tf_value(db, attr, env.values)
                    if isinstance(value, str) and value and "${" not in value:
                        identifiers[value.lower()] = db.address
        return identifiers, parameters

    def _restore(self, ctx: RuleContext, path: str, command: ShellCommand,
                 identifiers: dict[str, str]) -> Finding | None:
        for subcommand, option in RESTORES.items():
            if not command.has_words("rds", subcommand):
                continue
            target = command.option(option)
            pattern = _word_pattern(target) if target else None
            if pattern is None:
                return None
            match = next((i for i in sorted(identifiers) if pattern.fullmatch(i)), None)
            if match is None:
                return None
            return self.finding(
                ctx, file=path, line=command.line, resource=identifiers[match],
                message=ctx.text(
                    f"`aws rds {subcommand}` がスタック管理の DB と同じ識別子 `{target}`（= `{match}`）にリストアしている",
                    f"`aws rds {subcommand}` restores into `{target}` (= `{match}`), the identifier of the stack's database"))
        return None

    def _override(self, ctx: RuleContext, path: str, command: ShellCommand,
                  parameters: dict[str, tuple[str, str]]) -> Finding | None:
        if not any(command.has_words("cloudformation", call) for call in STACK_CALLS):
            return None
        for key in self._overridden_keys(command.words):
            if key in parameters:
                resource, prop = parameters[key]
                return self.finding(
                    ctx, file=path, line=command.line, resource=resource,
                    message=ctx.text(
                        f"パラメータ `{key}` を上書きしている: `{resource}` の {prop} が変わり、DB が置き換え（新規作成・旧 DB 削除）になる",
                        f"Overrides parameter `{key}`: it changes {prop} of `{resource}`, which replaces the database"))
        return None

    @staticmethod
    def _overridden_keys(words: tuple[str, ...]) -> list[str]:
        keys, mode = [], None
        for word in words:
            if word.startswith("--"):
                mode = word if word in ("--parameters", "--parameter-overrides") else None
                continue
            if mode == "--parameter-overrides" and "=" in word:
                keys.append(word.split("=", 1)[0])
            elif mode == "--parameters" and "ParameterKey=" in word and "UsePreviousValue=true" not in word:
                keys.append(word.split("ParameterKey=", 1)[1].split(",", 1)[0])
        return keys

    def coverage(self, ctx: RuleContext) -> str | None:
        count = sum(1 for _, c in ctx.project.commands() if c.name == "aws" and (
            any(c.has_words("rds", sub) for sub in RESTORES)
            or any(c.has_words("cloudformation", call) for call in STACK_CALLS))
            or c.name == "terraform" and any(c.has_words(call) for call in TF_CALLS))
        return ctx.text(f"リストア・スタック更新のコマンド {count} 件を確認",
                        f"{count} restore / stack update commands checked") if count else None
