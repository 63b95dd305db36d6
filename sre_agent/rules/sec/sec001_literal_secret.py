"""SEC001: a password or key written in a template, a parameter file or a script."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterable, Iterator

from sre_agent.models import Finding, Perspective, Severity
from sre_agent.rules._resources import key_line
from sre_agent.rules.base import Rule, RuleContext

SECRET_NAME = re.compile(
    r"password|passwd|passphrase|pwd|secret|token|credential|"
    r"(api|private|access|auth|signing|encryption|master|client)[-_]?key", re.IGNORECASE)
NOT_SECRET_NAME = re.compile(
    r"(name|id|ids|arn|arns|alias|length|path|version|type|rotation|days|period|enabled|policy|"
    r"parameter|ref|count|kms|url|uri|file|prefix|header|ttl|expiry|expiration|user|username)$",
    re.IGNORECASE)
# A key naming a secret's *setting* rather than the secret: `AccessTokenValidity`,
# `TokenValidityUnits`, `TokenEndpoint`, `SecretStringTemplate`, the `aud` of an OIDC condition.
# Matched as a whole word of the key (camelCase, snake_case, kebab-case and dots split).
NOT_SECRET_WORDS = frozenset({
    "validity", "unit", "units", "expiry", "expiration", "expires", "expire", "lifetime", "ttl",
    "timeout", "duration", "endpoint", "endpoints", "url", "urls", "uri", "uris", "audience", "aud",
    "issuer", "stdin", "length", "template", "arn", "arns", "name", "names", "type", "types",
    "rotation", "policy", "policies", "format", "hint", "scope", "scopes"})
_KEY_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
SAFE_VALUE = re.compile(
    r"^(\{\{resolve:|arn:|alias/|/|\$|file://|fileb://|s3://|ssm:|secretsmanager:)", re.IGNORECASE)
PLACEHOLDER = re.compile(r"^(<.*>|\[.*\]|x{3,}|\*{3,}|\.{3}|change[_-]?me([_-].*)?|replace[_-]?(me|with)([_-].*)?|"
                         r"tbd|todo|none|null|dummy|your[-_].*|ここに.*|（.*）)$", re.IGNORECASE)
# Values that are settings, not secrets: small numbers and durations (`60`, `30d`), units and
# enums (`days`, `hours`, `ENABLED`-like words listed here), host names (`sts.amazonaws.com`,
# an ECR registry) and URLs without credentials in them.
NUMBER_OR_DURATION = re.compile(
    r"^[+-]?\d{1,6}(\.\d+)?\s*(ms|s|m|h|d|w|sec|secs|seconds?|min|mins|minutes?|hours?|days?|weeks?)?$",
    re.IGNORECASE)
ENUM_WORDS = frozenset({
    "milliseconds", "seconds", "minutes", "hours", "days", "weeks", "months", "years",
    "enabled", "disabled", "enable", "disable", "required", "optional", "on", "off", "yes", "no",
    "legacy", "enforced", "audit", "bearer", "basic", "jwt", "opaque", "none", "default"})
HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*"
                      r"\.([a-z]{2,})(:\d{1,5})?(/[a-z0-9._/-]*)?$")
COMMON_TLDS = frozenset({"com", "net", "org", "io", "jp", "dev", "app", "local", "internal", "cloud",
                         "aws", "co", "info", "biz", "me", "ai"})
URL_WITHOUT_CREDENTIALS = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]+(/\S*)?$", re.IGNORECASE)
SCRIPT_ENV_NAMES = re.compile(r"^(AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|PGPASSWORD|MYSQL_PWD|"
                              r"[A-Z0-9_]*(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY)[A-Z0-9_]*)$")
# Command-line switches whose name mentions a secret but that take no value: the next word is
# the next argument (`docker login --password-stdin <registry>`, `gh auth login --with-token`,
# `aws cognito-idp create-user-pool-client --generate-secret`).
SWITCH_FLAG = re.compile(r"(^|-)stdin$|^(no|with|without|generate|manage|enable|disable|include|"
                         r"exclude|require|force|skip|allow|show|print|rotate)-", re.IGNORECASE)


@lru_cache(maxsize=16384)
def is_secret_name(name: str) -> bool:
    """A key that names a secret value: `DBPassword`, `api_token`, `--secret-string`.
    For condition keys (`token.actions.githubusercontent.com:aud`) only the part after the last
    `:` is the key's own name; the rest is the service that defines it."""
    own = name.rsplit(":", 1)[-1] if ":" in name else name
    if not SECRET_NAME.search(own) or NOT_SECRET_NAME.search(own):
        return False
    return not any(word.lower() in NOT_SECRET_WORDS for part in re.split(r"[^A-Za-z0-9]+", own)
                   for word in _KEY_WORD.findall(part))


@lru_cache(maxsize=16384)
def names_secret_setting(name: str) -> bool:
    """A key that mentions a secret but is not one (`TokenValidityUnits`, `PasswordPolicy`):
    nothing below it is a secret either (`RefreshToken: days`, `RequireNumbers: true`)."""
    own = name.rsplit(":", 1)[-1] if ":" in name else name
    return bool(SECRET_NAME.search(own)) and not is_secret_name(name)


def _is_setting_value(text: str) -> bool:
    """A number, duration, unit/enum word, host name or credential-free URL: not a secret."""
    if NUMBER_OR_DURATION.match(text) or text.lower() in ENUM_WORDS:
        return True
    host = HOSTNAME.match(text)
    if host and (text.count(".") >= 2 or host.group(4) in COMMON_TLDS):
        return True
    return bool(URL_WITHOUT_CREDENTIALS.match(text))


def literal_secret(value: Any) -> str | None:
    """The value when it is a literal that looks like a real secret, else None."""
    if not isinstance(value, str) or isinstance(value, bool):
        return None
    text = value.strip()
    if len(text) < 4 or text.lower() in ("true", "false") or "${" in text or "{{resolve:" in text:
        return None
    if SAFE_VALUE.match(text) or PLACEHOLDER.match(text) or _is_setting_value(text):
        return None
    if text.endswith(("...", "…")):
        return None  # `eyJraWQiOiJ...`: an example cut short, not a value anyone can use
    return text


class LiteralSecret(Rule):
    """
    ## What it does
    Reports a secret written as a literal value:

    - a CloudFormation parameter named like a password / secret / token / API or private key
      with a `Default`, a resource property of that kind with a string value (`MasterUserPassword:
      'xxx'`), or a container environment variable (`Name: DB_PASSWORD`, `Value: 'xxx'`);
    - the value of such a parameter in a parameter file (`prd.json`, `prod.tfvars`);
    - a Terraform `variable` default or resource attribute of that kind (`password = "xxx"`);
    - in scripts and runbook shell blocks: an option of that kind with a literal value
      (`--master-user-password 'xxx'`, `--secret-string`) and assignments such as
      `export AWS_SECRET_ACCESS_KEY=...`, `PGPASSWORD=...`;
    - a password inside a connection string in a template, whatever the key is called
      (`DATABASE_URL: postgresql://app:<literal>@host/db`).

    A value is a secret by what it is, not by the word above it: units, durations, enum words,
    host names and URLs without credentials under a key that mentions a token are settings
    (`TokenValidityUnits: {RefreshToken: days}`, `token.actions.githubusercontent.com:aud`).

    Not reported: dynamic references (`{{resolve:secretsmanager:...}}`), `ManageMasterUserPassword:
    true`, ARNs and SSM parameter names, shell variables and command substitutions, `file://`,
    and placeholders (`<password>`, `CHANGE_ME`). Names ending in Name/Id/Arn/Length… are not
    secrets (`KeyName`, `SecretArn`). The message never contains the value, only its length.

    ## Why is this bad
    A secret in Git is readable by everyone with repository access, forever (history keeps it
    after deletion), and ends up in CloudFormation's console, CI logs and shell history. Rotating
    it then requires a coordinated redeploy, so in practice it is never rotated.

    ## Example
    ```yaml
    Parameters:
      DBPassword:
        Type: String
        NoEcho: true
        Default: Juhacchu#2024
    ```

    ## Use instead
    ```yaml
        ManageMasterUserPassword: true   # RDS keeps the password in Secrets Manager
        # or: MasterUserPassword: '{{resolve:secretsmanager:order-mgmt/prd/db:SecretString:password}}'
    ```

    ## References
    - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references.html
    - standards/security.md §1 シークレットをコードに書かない
    """

    id = "SRE-SEC-001"
    name = "literal-secret"
    perspective = Perspective.INFRASTRUCTURE
    severity = Severity.ERROR
    # checkov's secrets scan reports file-level findings without a resource: they merge with our
    # file-level (parameter file / script) findings of the same file.
    equivalents = ("checkov:CKV_SECRET_2", "checkov:CKV_SECRET_6")
    title_ja = "パスワード・キーがリテラルで記載"
    title_en = "Password or key written as a literal"
    passed_ja = "テンプレート・パラメータ・スクリプトにシークレットのリテラルなし"
    passed_en = "No literal secrets in templates, parameter files or scripts"
    fix_ja = "値を削除して Secrets Manager（動的参照 `{{resolve:secretsmanager:...}}` / ManageMasterUserPassword）に置き、漏れた値はローテーションする"
    fix_en = "Remove the value, keep it in Secrets Manager (dynamic reference / ManageMasterUserPassword) and rotate the leaked one"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        yield from self._templates(ctx)
        yield from self._parameter_files(ctx)
        yield from self._terraform(ctx)
        yield from self._commands(ctx)

    def _report(self, ctx: RuleContext, path: str, line: int | None, resource: str | None,
                where: str, value: str) -> Finding:
        return self.finding(
            ctx, file=path, line=line, resource=resource,
            message=ctx.text(f"{where} にシークレットのリテラル値（{len(value)} 文字）が書かれている",
                             f"{where} holds a literal secret value ({len(value)} characters)"))

    def _templates(self, ctx: RuleContext) -> Iterator[Finding]:
        for template in ctx.project.templates:
            for name, definition in template.parameters.items():
                if not isinstance(definition, dict) or not is_secret_name(str(name)):
                    continue
                if str(definition.get("Type", "")).startswith("AWS::SSM::Parameter"):
                    continue
                value = literal_secret(definition.get("Default"))
                if value:
                    yield self._report(ctx, template.path, key_line(definition, "Default"), str(name),
                                       ctx.text(f"パラメータ `{name}` の Default", f"The Default of parameter `{name}`"),
                                       value)
            for resource in template.resources.values():
                for key, line, value in _secret_properties(resource.properties):
                    yield self._report(ctx, template.path, line or resource.line, resource.logical_id,
                                       ctx.text(f"`{resource.logical_id}` の {key}",
                                                f"{key} of `{resource.logical_id}`"), value)

    def _parameter_files(self, ctx: RuleContext) -> Iterator[Finding]:
        for pset in ctx.project.parameter_sets:
            text = ctx.project.texts.get(pset.path, "")
            for name, raw in pset.values.items():
                value = literal_secret(raw) if is_secret_name(str(name)) else None
                if value:
                    yield self._report(ctx, pset.path, _line_of_key(text, str(name), pset.terraform), None,
                                       ctx.text(f"`{name}` の値", f"The value of `{name}`"), value)

    def _terraform(self, ctx: RuleContext) -> Iterator[Finding]:
        for tf in ctx.project.terraform:
            for block in tf.blocks:
                if block.kind == "variable" and is_secret_name(block.name):
                    value = literal_secret(block.get("default"))
                    if value:
                        yield self._report(ctx, tf.path, block.attribute_line("default"), block.address,
                                           ctx.text(f"変数 `{block.name}` の default", f"The default of variable `{block.name}`"),
                                           value)
                elif block.kind == "resource":
                    for attr in block.body:
                        if is_secret_name(attr):
                            value = literal_secret(block.get(attr))
                            if value:
                                yield self._report(ctx, tf.path, block.attribute_line(attr), block.address,
                                                   f"`{block.address}.{attr}`", value)

    def _commands(self, ctx: RuleContext) -> Iterator[Finding]:
        for path, command in ctx.project.commands():
            words = list(command.words)
            pairs: list[tuple[str, str]] = [tuple(a.split("=", 1)) for a in command.assignments if "=" in a]
            if command.name in ("export", "declare", "readonly", "typeset") or (words and words[0] == "export"):
                pairs += [tuple(w.split("=", 1)) for w in words[1:] if "=" in w and not w.startswith("-")]
            for name, raw in pairs:
                value = literal_secret(raw)
                if value and SCRIPT_ENV_NAMES.match(name) and is_secret_name(name):
                    yield self._report(ctx, path, command.line, None, f"`{name}`", value)
                    break
            else:
                for index, word in enumerate(words):
                    if not word.startswith("--"):
                        continue
                    flag, _, inline = word.partition("=")
                    if not is_secret_name(flag[2:]) or (not inline and SWITCH_FLAG.search(flag[2:])):
                        continue  # a switch (`--password-stdin`): the next word is not its value
                    raw = inline if inline else (words[index + 1] if index + 1 < len(words) else "")
                    value = literal_secret(raw) if not raw.startswith("-") else None
                    if value:
                        label = " ".join(words[:3]) if command.name == "aws" else command.name
                        yield self._report(ctx, path, command.line, None,
                                           ctx.text(f"`{label}` の `{flag}`", f"`{flag}` of `{label}`"),
                                           value)
                        break

    def coverage(self, ctx: RuleContext) -> str | None:
        project = ctx.project
        total = len(project.templates) + len(project.parameter_sets) + len(project.terraform) + len(project.scripts)
        return ctx.text(f"テンプレート・パラメータ・スクリプト {total} ファイルを確認",
                        f"{total} templates, parameter files and scripts checked") if total else None


# `postgresql://app:S3cr3t@db.example:5432/app`: a password inside a connection string is a
# secret whatever the key above it is called (DATABASE_URL, ConnectionString, JdbcUrl).
URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^:/@\s]+:([^@\s/]+)@[^\s]+", re.IGNORECASE)


def url_password(value: Any) -> str | None:
    match = URL_CREDENTIALS.search(value) if isinstance(value, str) else None
    if not match or match.group(1).lower() in ("password", "pass", "passwd", "pw", "secret"):
        return None
    return literal_secret(match.group(1))


def _secret_properties(node: Any, depth: int = 0) -> Iterator[tuple[str, int | None, str]]:
    """(property, line, value) for literal secrets anywhere in a resource's properties,
    including `Name: DB_PASSWORD` / `Value: literal` pairs of container environments."""
    if depth > 30:
        return
    if isinstance(node, dict):
        name = node.get("Name")
        if isinstance(name, str) and "Value" in node and SCRIPT_ENV_NAMES.match(name.upper()) \
                and is_secret_name(name):
            value = literal_secret(node.get("Value"))
            if value:
                yield name, key_line(node, "Value"), value
        if isinstance(name, str) and url_password(node.get("Value")):
            yield name, key_line(node, "Value"), url_password(node.get("Value"))
        for key, child in node.items():
            if names_secret_setting(str(key)):
                continue  # `TokenValidityUnits: {RefreshToken: days}`, `PasswordPolicy: {...}`
            if isinstance(child, str) and key != "Value" and url_password(child):
                yield str(key), key_line(node, str(key)), url_password(child)
                continue
            if isinstance(child, str) and is_secret_name(str(key)):
                value = literal_secret(child)
                if value:
                    yield str(key), key_line(node, str(key)), value
            elif isinstance(child, (dict, list)) and not (isinstance(child, dict) and len(child) == 1
                                                          and str(next(iter(child))).startswith("Fn::")):
                yield from _secret_properties(child, depth + 1)
    elif isinstance(node, list):
        for item in node:
            yield from _secret_properties(item, depth + 1)


def _line_of_key(text: str, name: str, terraform: bool) -> int | None:
    """Line of a parameter's value in a parameter file: the line naming the key, or for the
    multi-line CLI format the `ParameterValue` line that follows it."""
    lines = text.splitlines()
    pattern = re.compile(rf"^\s*{re.escape(name)}\s*=") if terraform else re.compile(rf"\"{re.escape(name)}\"")
    for number, line in enumerate(lines, 1):
        if pattern.search(line):
            if terraform or "ParameterValue" in line or ":" in line.split(f'"{name}"', 1)[1]:
                return number
            for offset in range(number, min(number + 3, len(lines))):
                if "ParameterValue" in lines[offset]:
                    return offset + 1
            return number
    return None
