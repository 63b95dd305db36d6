"""Secrets never leave the machine: every line sent to the model is scanned first.

Each masked value becomes `[REDACTED]` and is counted once, per file (`counts`) and under the
first kind that claimed it (`by_kind`), in this order:

- `private-key`: PEM private key blocks, removed whole (every line of the block, not just BEGIN);
- `connection-string`: the password of `postgres://app:pw@host`;
- `key-value`: a secret-named key with a literal value anywhere in a line — YAML / JSON keys
  (`MasterUserPassword: x`, `{"password": "x"}`), Terraform / .env / shell assignments
  (`db_password = "x"`, `env DB_PASS=x docker run`, `-e MYSQL_PASS=x`), and a markdown table
  cell after an English label cell (`| DB_PASSWORD | x |`);
- `parameter-file`: a password-like `ParameterKey` / `Name` whose value sits in a separate
  `ParameterValue` / `Value` (same line or the next one);
- `command-flag`: `--master-user-password 'x'`, `--db-password=x`, `--secret-string "x"`, but not
  switches that take no value (`--password-stdin`, `--with-token`, SEC001's SWITCH_FLAG);
- `japanese-label`: a credential-looking token after パスワード / 秘密鍵 / トークン / シークレット /
  認証情報 / 暗証番号 / APIキー / アクセスキー in prose (`初期パスワード：x`, `パスワードは x です`), in
  the cells after such a label cell in a markdown table (`| DB パスワード | x |`) and in the
  column under such a header (`| ユーザー | 初期パスワード |`, then `| admin | x |`);
- `detect-secrets`: detect-secrets' line scan (bundled with checkov as `bc-detect-secrets`): AWS
  keys, tokens, JWTs, keyword passwords and long high-entropy strings the patterns above missed;
- `flagged-by-rules`: a line our deterministic findings report as a literal secret (SEC001,
  checkov's CKV_SECRET_*) that nothing above masked: its value part, else its whole content.

The patterns run before detect-secrets because they know a value's exact extent. A value is
masked only when it is a literal: variables, substitutions, CloudFormation tags and dynamic
references (`$X`, `$(...)`, `${X}`, `!Ref`, `{{resolve:...}}`), Terraform references, placeholders,
booleans, units, host names and paths are ordinary text the model needs and stay as written;
in Japanese prose a value must be one credential-like token, so `パスワードは Secrets Manager で
管理する` stays readable. Redaction keeps the line count, so line numbers quoted by the model
still match the files.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

from sre_agent.models import Finding
from sre_agent.rules.sec.sec001_literal_secret import (
    NOT_SECRET_NAME, NOT_SECRET_WORDS, PLACEHOLDER as EXAMPLE_VALUE, SAFE_VALUE, SECRET_NAME,
    SWITCH_FLAG, LiteralSecret, _is_setting_value, is_secret_name)

PLACEHOLDER = "[REDACTED]"
KINDS = ("detect-secrets", "private-key", "connection-string", "key-value", "parameter-file",
         "command-flag", "japanese-label", "flagged-by-rules")
_PLUGINS = [
    {"name": "AWSKeyDetector"}, {"name": "PrivateKeyDetector"}, {"name": "KeywordDetector"},
    {"name": "Base64HighEntropyString", "limit": 4.5}, {"name": "HexHighEntropyString", "limit": 3.0},
    {"name": "BasicAuthDetector"}, {"name": "JwtTokenDetector"}, {"name": "GitHubTokenDetector"},
    {"name": "SlackDetector"}, {"name": "StripeDetector"}, {"name": "SendGridDetector"},
    {"name": "TwilioKeyDetector"}, {"name": "ArtifactoryDetector"}, {"name": "MailchimpDetector"},
]
_ENTROPY = {"Base64 High Entropy String": 4.5, "Hex High Entropy String": 3.0}
_PROSE_SUFFIXES = (".md", ".markdown", ".txt", ".rst", ".adoc")

_CONNECTION = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:)([^\s@'\"]+)(@)", re.I)
# A key: a bare or quoted name not inside a longer word, a `$VAR`, a path or a `--flag`.
_KEY = re.compile(r"""(?<![\w$.:/@%-])(["']?)([A-Za-z_][\w.-]*)\1""")
_SEPARATOR = re.compile(r"[ \t]*(:(?!:)|=(?![=~]))[ \t]*")
_FLAG = re.compile(r"(?<![\w-])--([A-Za-z][\w-]*)(=|[ \t]+)")
_PARAM_KEY = re.compile(r"""(?<!\w)["']?(?:ParameterKey|Key|Name)["']?\s*[:=]\s*["']?([\w.-]+)""")
_PARAM_VALUE = re.compile(r"""["']?(?:ParameterValue|Value)["']?\s*[:=]\s*""")
_OWN_PARAM_KEY = re.compile(r"ParameterKey|\bKey\b|\bName\b")
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_PEM_END = re.compile(r"-----END [A-Z ]*PRIVATE KEY-----")
# An unquoted token ends at whitespace, a quote or a separator of the surrounding syntax.
_TOKEN = re.compile(r"""[^\s"'`,;}]+""")
# Terraform expressions are references, not literals: `var.db_password`, `random_password.db.result`.
_REFERENCE = re.compile(r"^(var|local|module|data|each|count|path|self|terraform)\.\w"
                        r"|^(aws|azurerm|google|random|tls|kubernetes|helm|null|time)_\w+\.\w")
_FUNCTION_CALL = re.compile(r"^[A-Za-z_][\w.]*\(")        # `jsondecode(...)`, `os.environ.get(`
# `Authorization: Bearer <token>` in a curl line or a runbook: the header's name is no secret word.
_AUTH_HEADER = re.compile(r"\b(?:Bearer|Basic|token)[ \t]+([A-Za-z0-9._~+/=-]{8,})")
# Words that make a secret-sounding key a setting or a pointer, beyond SEC001's list.
_SETTING_WORDS = frozenset({"source", "required", "location", "store", "manager", "provider",
                            "method", "mode", "description", "comment", "note", "label", "title"})
_PASS_COMPOUNDS = frozenset({"through", "thru", "role", "rate", "fail"})
_NOT_VALUES = frozenset({"true", "false", "null", "nil", "none", "yes", "no", "on", "off", "~",
                         "read", "write", "read-only", "readonly", "auto", "manual", "public",
                         "private", "internal", "external", "header", "query", "cookie", "any",
                         "all", "empty", "n/a", "na", "tbd"})

_JA_LABEL = (r"(?:パスワード|パスフレーズ|秘密鍵|シークレット(?:キー)?|トークン|認証情報|暗証番号|"
             r"(?:API|ＡＰＩ)[ 　]?キー|アクセスキー)")
_JA_NOTE = r"(?:[ \t　]*[（(][^）)]{0,20}[）)])?"    # `パスワード（本番）`, `パスワード (prd)`
_JA_PROSE = re.compile(rf"({_JA_LABEL}){_JA_NOTE}[ \t　]*(?:[:：=＝]|は|が)[ \t　]*")
_JA_LABEL_CELL = re.compile(rf"[^|]{{0,24}}?({_JA_LABEL}){_JA_NOTE}")
_EN_LABEL_CELL = re.compile(r"[A-Za-z][\w .-]{0,39}")
_WRAPPERS = {"`": "`", '"': '"', "'": "'", "「": "」", "『": "』", "【": "】"}
_JA_TOKEN = re.compile(r"[!-~]+")
_AFTER_JA_VALUE = re.compile(r"$|[\s。、，．）」』】|｜ぁ-ゖ]")   # end, space, punctuation, a particle
# Names a credential label is followed by in prose: `トークンは Cognito が発行`, `SHA-256 でハッシュ`.
_KNOWN_NAMES = frozenset({
    "secrets", "secretsmanager", "parameterstore", "ssm", "kms", "iam", "vault", "1password",
    "lastpass", "bitwarden", "keepass", "cognito", "okta", "keycloak", "github", "gitlab", "oidc",
    "saml", "sso", "ldap", "jwt", "mfa", "totp", "otp", "bcrypt", "scrypt", "cloudhsm", "hsm", "acm",
    "sts", "sops", "githubactions", "identitycenter", "activedirectory", "awskms", "awssecretsmanager"})
_ALGORITHM_OR_VERSION = re.compile(
    r"^(hmac-?)?(sha|aes|rsa|hs|rs|es|ps|pbkdf|argon|md|ed|tls|ssl|http|ipv|utf|base|x|pkcs|oauth|"
    r"auth|ec|s|route|v|ver|version)[-_ ]?\d+(\.\d+)*(id)?$|^[\d.,:/%+-]+$", re.I)
_CREDENTIAL_SYMBOL = re.compile(r"[!@#$%^&*+=?|<>\\]")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


class _Line:
    """One line and the spans of it to mask; spans never overlap, the first claim wins."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.spans: list[tuple[int, int, str]] = []
        self.whole: str | None = None        # the kind that masked the whole line (PEM)

    @property
    def masked(self) -> bool:
        return bool(self.spans) or self.whole is not None

    def claim(self, start: int, end: int, kind: str) -> bool:
        if start >= end or self.whole is not None \
                or any(s < end and start < e for s, e, _ in self.spans):
            return False
        self.spans.append((start, end, kind))
        return True

    def render(self) -> str:
        if self.whole is not None:
            return PLACEHOLDER
        text = self.text
        for start, end, _ in sorted(self.spans, reverse=True):
            text = text[:start] + PLACEHOLDER + text[end:]
        return text


class Redactor:
    """Masks secrets file by file and counts them for the appendix (`counts` per path,
    `by_kind` per kind). `flagged` (path → 1-based line numbers, see `flagged_lines`) names the
    lines our rules found a literal secret on: those are masked even when no pattern knows them."""

    def __init__(self, flagged: Mapping[str, Iterable[int]] | None = None) -> None:
        self.flagged: dict[str, set[int]] = {path: set(lines) for path, lines in (flagged or {}).items()}
        self.counts: dict[str, int] = {}
        self.by_kind: dict[str, int] = {}

    def redact(self, path: str, text: str) -> str:
        from detect_secrets.settings import transient_settings

        prose = path in ("findings", "facts") or path.lower().endswith(_PROSE_SUFFIXES)
        lines = [_Line(line) for line in text.split("\n")]
        in_pem = False
        columns: dict[int, str] = {}           # label columns of the markdown table we are in
        with transient_settings({"plugins_used": _PLUGINS}):
            for index, line in enumerate(lines):
                if in_pem or _PEM_BEGIN.search(line.text):
                    if not in_pem:
                        self._count(path, "private-key")   # one block, one secret
                    in_pem = not _PEM_END.search(line.text)
                    line.whole = "private-key"
                    continue
                previous = lines[index - 1].text if index else ""
                _connection_strings(line)
                _key_values(line, prose)
                _auth_headers(line)
                _parameter_values(line, previous)
                _command_flags(line)
                _japanese_labels(line)
                columns = _table(lines, index, columns)
                _detect_secrets(line)
        _flagged(lines, self.flagged.get(path, set()))
        for line in lines:
            for _, _, kind in line.spans:
                if kind:                       # "": the rest of a value already counted
                    self._count(path, kind)
        return "\n".join(line.render() for line in lines)

    def _count(self, path: str, kind: str) -> None:
        self.counts[path] = self.counts.get(path, 0) + 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1


def flagged_lines(findings: Iterable[Finding]) -> dict[str, set[int]]:
    """Path → line numbers our deterministic findings report a literal secret on: SEC001
    (`SRE-SEC-001`) and checkov's secrets checks (`checkov:CKV_SECRET_*`), suppressed ones
    included — an accepted secret still must not reach the API."""
    flagged: dict[str, set[int]] = {}
    for finding in findings:
        ids = [finding.id, *finding.related_ids]
        if finding.file and finding.line and any(
                i == LiteralSecret.id or i.removeprefix("checkov:").startswith("CKV_SECRET_") for i in ids):
            flagged.setdefault(finding.file, set()).add(finding.line)
    return flagged


# -- what is a secret ---------------------------------------------------------------------------

def _is_secret_key(name: str) -> bool:
    """SEC001's notion of a secret's name, minus a few setting words (`ApiKeySource`), plus a
    bare `pass` word (`DB_PASS`, `mysqlPass`; not `bypass`, `passed`, `PassRole`)."""
    words = [w.lower() for part in re.split(r"[^A-Za-z0-9]+", name) for w in _WORD.findall(part)]
    if any(word in _SETTING_WORDS for word in words):
        return False
    if is_secret_name(name):
        return True
    return "pass" in words and not NOT_SECRET_NAME.search(name) \
        and not any(word in NOT_SECRET_WORDS or word in _PASS_COMPOUNDS for word in words)


def _is_literal(value: str) -> bool:
    """A value written out, not a reference to one: not a variable, substitution, tag, dynamic
    reference, Terraform expression, placeholder, boolean/enum, number, host name or path.
    Short values count (`DB_PASSWORD=x` is still a password); 4+ digits count (a PIN)."""
    text = value.strip()
    if not text or PLACEHOLDER in text or not text.isascii():
        return False       # a value in Japanese is a description, not a credential
    if text[0] in "!$`{[(<%" or any(s in text for s in ("${", "{{", "$(", "<%")) \
            or _FUNCTION_CALL.match(text):
        return False
    if text.lower() in _NOT_VALUES:
        return False
    if text.isdigit():
        return len(text) >= 4
    return not (_is_setting_value(text) or SAFE_VALUE.match(text) or EXAMPLE_VALUE.match(text)
                or _REFERENCE.match(text) or text.startswith(("~/", "./", "../")))


def _credential_like(token: str, pin: bool = False) -> bool:
    """Whether a token in prose or a table cell looks like a credential rather than a word:
    one ASCII token with a digit or a symbol, or a long camel-case one that is not a known
    product name; digits alone only for a PIN (暗証番号)."""
    if not token or not token.isascii() or any(ch.isspace() for ch in token):
        return False
    if token.isdigit():
        return pin and len(token) >= 4
    if len(token) < 4 or not _is_literal(token) or _known_name(token):
        return False
    if any(ch.isdigit() for ch in token) or _CREDENTIAL_SYMBOL.search(token):
        return True
    return len(token) >= 8 and bool(re.search(r"[a-z][A-Z]", token)) and not SECRET_NAME.search(token)


def _known_name(token: str) -> bool:
    """A product, protocol, algorithm or version named in prose: `Cognito`, `SHA-256`, `v2`."""
    return bool(_ALGORITHM_OR_VERSION.match(token)) \
        or token.lower().replace("-", "").replace("_", "") in _KNOWN_NAMES


def _value_at(text: str, pos: int, rest_of_line: bool = False) -> tuple[int, int, bool] | None:
    """(start, end, quoted) of the value starting at `pos`: a quoted string's content, the rest
    of a YAML line (without its comment), or one token."""
    if pos >= len(text):
        return None
    quote = text[pos]
    if quote in "\"'":
        end = text.find(quote, pos + 1)
        return (pos + 1, end if end > 0 else len(text), True)
    if rest_of_line:
        end = len(text)
        comment = re.search(r"\s#", text[pos:])
        if comment:
            end = pos + comment.start()
        end = len(text[:end].rstrip())
        return (pos, end, False) if end > pos else None
    token = _TOKEN.match(text, pos)
    return (pos, token.end(), False) if token else None


# -- the patterns -------------------------------------------------------------------------------

def _connection_strings(line: _Line) -> None:
    for match in _CONNECTION.finditer(line.text):
        line.claim(match.start(2), match.end(2), "connection-string")


def _key_values(line: _Line, prose: bool) -> None:
    """`key: value` / `key = value` / `"key": "value"` / `KEY=value` anywhere in the line.
    In a YAML line (key first, outside prose) an unquoted value runs to the end of the line;
    elsewhere it is one token, and in prose `password: managed by ...` is a phrase, kept."""
    text = line.text
    for key in _KEY.finditer(text):
        separator = _SEPARATOR.match(text, key.end())
        if not separator or not _is_secret_key(key.group(2)):
            continue
        colon = separator.group(1) == ":"
        after = text[separator.start(1) + 1:separator.start(1) + 2]
        if colon and not key.group(1) and after not in ("", " ", "\t"):
            continue                       # `arn:aws:...`, `token.actions...com:aud`, a URL
        yaml_line = colon and not prose and text[:key.start()].strip() in ("", "-")
        found = _value_at(text, separator.end(), rest_of_line=yaml_line)
        if not found:
            continue
        start, end, quoted = found
        value = text[start:end]
        if not quoted and value.endswith("\\"):
            continue                       # a line continuation, not a value
        if not quoted and colon and not yaml_line:
            if re.match(r"[ \t]+[A-Za-z]", text[end:]):
                continue                   # `Password: managed by Secrets Manager`
            if prose and _known_name(value):
                continue                   # `Token: GitHub が発行`
        if _is_literal(value):
            line.claim(start, end, "key-value")


def _auth_headers(line: _Line) -> None:
    if "uthorization" in line.text:
        for match in _AUTH_HEADER.finditer(line.text):
            if _is_literal(match.group(1)):
                line.claim(match.start(1), match.end(1), "key-value")


def _parameter_values(line: _Line, previous: str) -> None:
    """`"ParameterKey": "DbPassword", "ParameterValue": "x"`, also split over two lines, and
    a container environment's `Name: DB_PASSWORD` / `Value: x`."""
    own = _PARAM_KEY.search(line.text)
    if own and _OWN_PARAM_KEY.search(line.text):
        secret = _is_secret_key(own.group(1))
    else:
        before = _PARAM_KEY.search(previous)
        secret = bool(before and _is_secret_key(before.group(1))) and not _OWN_PARAM_KEY.search(line.text)
    if not secret:
        return
    for match in _PARAM_VALUE.finditer(line.text):
        found = _value_at(line.text, match.end())
        if found and _is_literal(line.text[found[0]:found[1]]):
            line.claim(found[0], found[1], "parameter-file")


def _command_flags(line: _Line) -> None:
    """`--master-user-password 'x'`, `--db-password=x`; a switch (`--password-stdin`) takes no
    value, so the word after it is left alone."""
    text = line.text
    for match in _FLAG.finditer(text):
        flag, inline = match.group(1), match.group(2) == "="
        if not _is_secret_key(flag) or (not inline and SWITCH_FLAG.search(flag)):
            continue
        found = _value_at(text, match.end())
        if not found:
            continue
        value = text[found[0]:found[1]]
        if value.startswith("-") or value == "\\" or not _is_literal(value):
            continue
        line.claim(found[0], found[1], "command-flag")


def _japanese_labels(line: _Line) -> None:
    """Prose: a credential-looking token after a label and `:`/`：`/`=`/`＝`/`は`/`が`."""
    text = line.text
    for match in _JA_PROSE.finditer(text):
        found = _ja_value(text, match.end(), pin=match.group(1) == "暗証番号")
        if found:
            line.claim(*found, "japanese-label")


def _ja_value(text: str, pos: int, pin: bool) -> tuple[int, int] | None:
    """The credential-looking token at `pos` (optionally in backticks / quotes / 「」), when it
    stands alone: `パスワードは Hunter2-Prod です` yes, `パスワードは Secrets Manager で管理` no."""
    closing = _WRAPPERS.get(text[pos:pos + 1])
    start = pos + 1 if closing else pos
    token = _JA_TOKEN.match(text, start)
    if not token:
        return None
    end = token.end()
    if closing and closing in text[start:end]:
        end = text.index(closing, start)
    elif closing is None:
        while end > start and (text[end - 1] in ".,;:|"
                               or (text[end - 1] == ")" and "(" not in text[start:end])):
            end -= 1
    after = end + 1 if closing and text[end:end + 1] == closing else end
    if not _AFTER_JA_VALUE.match(text, after) and text[after:after + 1] not in ".,;:)":
        return None                        # `3600秒`, `16文字以上`: a quantity, not a value
    if re.match(r"[ \t]+[A-Za-z]", text[after:]):
        return None                        # `Secrets Manager で管理`: a name, not a value
    return (start, end) if _credential_like(text[start:end], pin) else None


_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?(\s*:?-{2,}:?\s*\|)+\s*(:?-{2,}:?\s*)?$")


def _cells(text: str) -> list[tuple[int, int]]:
    bars = [m.start() for m in re.finditer(r"(?<!\\)\|", text)]
    return [(a + 1, b) for a, b in zip(bars, bars[1:])]


def _label_of(cell: str) -> str | None:
    """The label a table cell names: `DB パスワード` → パスワード, `DB_PASSWORD` → "key"; None for
    a value, a header like `値`, or a setting (`パスワードポリシー`, `シークレット名`)."""
    content = cell.strip().strip("*_").strip()
    japanese = _JA_LABEL_CELL.fullmatch(content)
    if japanese:
        return japanese.group(1)
    if _EN_LABEL_CELL.fullmatch(content) and _is_secret_key(content.replace(" ", "_")):
        return "key"
    return None


def _mask_cell(line: _Line, start: int, end: int, label: str) -> None:
    raw = line.text[start:end]
    value = raw.strip()
    offset = start + raw.index(value) if value else start
    for wrapper in ("**", "`", '"', "'", "「"):
        closing = _WRAPPERS.get(wrapper, wrapper)
        if len(value) > 2 * len(wrapper) and value.startswith(wrapper) and value.endswith(closing):
            offset, value = offset + len(wrapper), value[len(wrapper):-len(closing)]
    if value and _credential_like(value, pin=label == "暗証番号"):
        line.claim(offset, offset + len(value), "key-value" if label == "key" else "japanese-label")


def _table(lines: list[_Line], index: int, columns: dict[int, str]) -> dict[int, str]:
    """A markdown table row: the cells after a label cell (`| DB パスワード | x |`), and the cells
    under a label column header (`| ユーザー | パスワード |` then `| admin | x |`). Returns the
    label columns in force for the rows below (empty outside a table)."""
    line = lines[index]
    if not _TABLE_ROW.match(line.text) or _TABLE_RULE.match(line.text):
        return columns if _TABLE_RULE.match(line.text) else {}
    cells = _cells(line.text)
    below = lines[index + 1].text if index + 1 < len(lines) else ""
    if _TABLE_RULE.match(below):              # a header row: its label columns apply below
        columns = {i: label for i, (a, b) in enumerate(cells) if (label := _label_of(line.text[a:b]))}
        header = True
    else:
        header = False
    label: str | None = None
    for column, (start, end) in enumerate(cells):
        if label is None:
            label = _label_of(line.text[start:end])
            if label is None and column in columns and not header:
                _mask_cell(line, start, end, columns[column])
            continue
        _mask_cell(line, start, end, label)
    return columns


def _detect_secrets(line: _Line) -> None:
    from detect_secrets.core.scan import scan_line

    for secret in list(scan_line(line.text)):
        value = secret.secret_value or ""
        if not _worth_redacting(secret.type, value):
            continue
        for match in re.finditer(re.escape(value), line.text):
            line.claim(match.start(), match.end(), "detect-secrets")


def _worth_redacting(kind: str, value: str) -> bool:
    """detect-secrets' ad-hoc line scan is eager: entropy hits include words like
    `MasterUserPassword`; keep only long, really random strings of those two plugins."""
    if len(value) < 6 or PLACEHOLDER in value:
        return False
    if kind in _ENTROPY:
        from detect_secrets.plugins import high_entropy_strings as entropy

        plugin = (entropy.HexHighEntropyString if kind.startswith("Hex")
                  else entropy.Base64HighEntropyString)(limit=_ENTROPY[kind])
        return len(value) >= 20 and plugin.calculate_shannon_entropy(value) >= _ENTROPY[kind]
    return True


# -- lines our rules flagged --------------------------------------------------------------------

def _flagged(lines: list[_Line], numbers: set[int]) -> None:
    """A flagged line nothing masked gets its value part masked. A command continued with `\\`
    is one finding on its first line, so the whole command counts; a `ParameterKey` line
    means the `ParameterValue` line after it."""
    for number in sorted(numbers):
        index = number - 1
        if not 0 <= index < len(lines):
            continue
        group = [index]
        while lines[group[-1]].text.rstrip().endswith("\\") and group[-1] + 1 < len(lines) \
                and len(group) < 40:
            group.append(group[-1] + 1)
        if any(lines[i].masked for i in group):
            continue
        if len(group) > 1:
            if not any(_mask_loose_flag(lines[i]) for i in group):
                for i in group:        # no idea where in the command: all of it, counted once
                    text = lines[i].text
                    indent = len(text) - len(text.lstrip())
                    lines[i].claim(indent, len(text.rstrip()), "flagged-by-rules" if i == index else "")
            continue
        target = index
        text = lines[index].text
        if "ParameterKey" in text and "ParameterValue" not in text:
            target = next((i for i in range(index + 1, min(index + 4, len(lines)))
                           if "ParameterValue" in lines[i].text), index)
            if lines[target].masked:
                continue
        _mask_value_part(lines, target)


def _mask_loose_flag(line: _Line) -> bool:
    """The value of a secret-named flag whatever it looks like: our rules said it is a literal."""
    for match in _FLAG.finditer(line.text):
        if _is_secret_key(match.group(1)) and (match.group(2) == "=" or not SWITCH_FLAG.search(match.group(1))):
            found = _value_at(line.text, match.end())
            if found and not line.text[found[0]:found[1]].startswith("-"):
                return line.claim(found[0], found[1], "flagged-by-rules")
    return False


def _mask_value_part(lines: list[_Line], index: int) -> None:
    """The quoted literal after the key's `:`/`=`, a secret flag's value, the rest of the line
    after the separator — else the whole content after the indentation. A key whose value is
    a block (`Default: |`) has it on the next line."""
    line = lines[index]
    text = line.text
    quoted = re.search(r"""[:=]\s*(["'])(.+?)\1""", text)
    if quoted:
        line.claim(quoted.start(2), quoted.end(2), "flagged-by-rules")
        return
    if _mask_loose_flag(line):
        return
    separator = re.search(r"(?::(?=\s|$)|=)[ \t]*", text)
    if separator:
        found = _value_at(text, separator.end(), rest_of_line=True)
        block = found is None or text[found[0]:found[1]] in ("|", ">", "|-", ">-", "|+", ">+")
        if not block:
            line.claim(found[0], found[1], "flagged-by-rules")
            return
        if index + 1 < len(lines):
            line = lines[index + 1]
            text = line.text
    indent = len(text) - len(text.lstrip())
    line.claim(indent, len(text.rstrip()), "flagged-by-rules")
