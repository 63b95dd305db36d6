"""Secrets never leave the machine: every line sent to the model is scanned first.

Each masked value becomes `[REDACTED]` and is counted once, per file (`counts`) and under the
first kind that claimed it (`by_kind`), in this order:

- `private-key`: PEM private key blocks, removed whole (every line of the block, not just BEGIN);
- `connection-string`: the password of `postgres://app:pw@host`;
- `key-value`: a secret-named key with a literal value anywhere in a line — YAML / JSON keys
  (`MasterUserPassword: x`, `{"password": "x"}`), Terraform / .env / shell assignments
  (`db_password = "x"`, `env DB_PASS=x docker run`, `-e MYSQL_PASS=x`), and a markdown table
  cell after an English label cell (`| DB_PASSWORD | x |`);
- `parameter-file`: a password-like `ParameterKey` / `Name` / `name` / `key` whose value sits in
  a separate `ParameterValue` / `Value` / `value` (same line or the next one: parameter files,
  Kubernetes / compose / ECS environment lists);
- `command-flag`: `--master-user-password 'x'`, `--db-password=x`, `--secret-string "x"`, but not
  switches that take no value (`--password-stdin`, `--with-token`, SEC001's SWITCH_FLAG); runbook
  shapes without such a flag (`mysql -px`, `docker login -p x`, `sshpass -p x`, `curl -u user:x`,
  `redis-cli -a x`, `openssl -passout pass:x`, `keytool -storepass x`); the `--value` of
  `aws ssm put-parameter` whose `--name` is secret-like or whose type is SecureString;
- `japanese-label`: read in NFKC (`パスワード：ｈｕｎｔｅｒ２` is masked in its own characters):
  after パスワード / 秘密鍵 / トークン / シークレット / 認証情報 / 暗証番号 / APIキー / アクセスキー,
  in prose a credential-looking token after a separator or particle (`初期パスワード：x`,
  `パスワードは x です`, `パスワードを x に設定`, `パスワード -> x`, the password of
  `認証情報：admin / x`); in a markdown table row naming such a label, its value cell whatever
  it holds (`| DB パスワード | any words |`, also before the label: `| prd | x | DB パスワード |`)
  unless it is none (`-`, `なし`, `自動生成`, `（別途通知）`) or names a store (`Secrets Manager で
  管理`, a path, an ARN), and credential-looking tokens of its other cells; and the column under
  such a header (`| 環境 | DB パスワード |`, then `| prd | x |`);
- `detect-secrets`: detect-secrets' line scan (bundled with checkov as `bc-detect-secrets`): AWS
  keys, tokens, JWTs, keyword passwords and long high-entropy strings the patterns above missed;
- `flagged-by-rules`: a line our deterministic findings report as a literal secret (SEC001,
  checkov's CKV_SECRET_*) that nothing above masked: its value part, else its whole content;
- `known-value`: a value masked anywhere else (see below), repeated here.

Every value masked is remembered (4+ characters; not a bare word like `password`, a reference,
an example or a short number like a PIN) and masked wherever it occurs in the files redacted
after it — `redact_all` reads them all first, so also before — and, with `scrub`, in any other
text sent (finding messages quoting a property value, cross-document facts).

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
import unicodedata
from typing import Iterable, Mapping, Sequence

from sre_agent.models import Finding
from sre_agent.rules.sec.sec001_literal_secret import (
    NOT_SECRET_NAME, NOT_SECRET_WORDS, PLACEHOLDER as EXAMPLE_VALUE, SAFE_VALUE, SECRET_NAME,
    SWITCH_FLAG, LiteralSecret, _is_setting_value, is_secret_name)

PLACEHOLDER = "[REDACTED]"
KINDS = ("detect-secrets", "private-key", "connection-string", "key-value", "parameter-file",
         "command-flag", "japanese-label", "flagged-by-rules", "known-value")
OTHER_TEXT = "(other text)"      # `counts` key of what `scrub` masks (finding messages, facts)
_MIN_KNOWN = 4                   # shorter masked values are not remembered
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
_PARAM_KEY = re.compile(r"""(?<![\w-])["']?(?:ParameterKey|Key|Name)["']?\s*[:=]\s*["']?([\w.-]+)""", re.I)
_PARAM_VALUE = re.compile(r"""(?<![\w.-])["']?(?:ParameterValue|Value)["']?\s*[:=]\s*""", re.I)
_OWN_PARAM_KEY = re.compile(r"ParameterKey|(?<![\w-])(?:Key|Name)\b", re.I)
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
# Read in NFKC (`：` is `:`, `　` a space). `パスワードの初期値は x`, `パスワードを x に設定`, `パスワード -> x`,
# `DB パスワード x`: a separator, a particle, or only spaces (the value must look like a credential).
_JA_SEPARATOR = r"(?:[:=]|->|=>|→|⇒|には|では|として|は|が|を|に|も)"
_JA_PROSE = re.compile(rf"({_JA_LABEL}){_JA_NOTE}(?:の[一-龥ぁ-んァ-ヶー]{{1,6}}?)?{_JA_NOTE}"
                       rf"(?:[ \t]*{_JA_SEPARATOR}[ \t]*|[ \t]+)")
_JA_PAIR = re.compile(r"[A-Za-z0-9][\w.@+-]{0,63}[ \t]*[/:,、][ \t]*")   # `admin / `, `admin:`
_JA_NEXT = re.compile(r"[ \t]*[/,、][ \t]*")
_JA_LABEL_CELL = re.compile(rf"[^|]{{0,24}}?({_JA_LABEL}){_JA_NOTE}")
_EN_LABEL_CELL = re.compile(r"[A-Za-z][\w .-]{0,39}")
_WRAPPERS = {"`": "`", '"': '"', "'": "'", "「": "」", "『": "』", "【": "】"}
_JA_TOKEN = re.compile(r"[!-~]+")
_AFTER_JA_VALUE = re.compile(r"$|[\s。、，．（）(「」』】|｜ぁ-ゖ]")   # end, space, punctuation, a particle
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


def _nfkc(text: str) -> tuple[str, list[int] | None]:
    """`text` NFKC-normalised character by character, and for each character of the result the
    index of the original character it came from (None: ASCII, nothing changes). Full-width
    `ｈｕｎｔｅｒ２` and `パスワード：` are matched as `hunter2` and `パスワード:`, then masked in
    the original characters."""
    if text.isascii():
        return text, None
    parts: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        normal = unicodedata.normalize("NFKC", char) or char
        parts.append(normal)
        origin.extend([index] * len(normal))
    return "".join(parts), origin


def _original(origin: list[int] | None, start: int, end: int) -> tuple[int, int]:
    if origin is None or start >= end:
        return start, end
    return origin[start], origin[end - 1] + 1


class _Line:
    """One line and the spans of it to mask; spans never overlap, the first claim wins."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.spans: list[tuple[int, int, str]] = []
        self.whole: str | None = None        # the kind that masked the whole line (PEM)
        self.norm, self.origin = _nfkc(text)

    @property
    def masked(self) -> bool:
        return bool(self.spans) or self.whole is not None

    def claim(self, start: int, end: int, kind: str) -> bool:
        if start >= end or self.whole is not None \
                or any(s < end and start < e for s, e, _ in self.spans):
            return False
        self.spans.append((start, end, kind))
        return True

    def claim_norm(self, start: int, end: int, kind: str) -> bool:
        """A span of `norm` (the NFKC text the Japanese patterns read), masked in `text`."""
        return self.claim(*_original(self.origin, start, end), kind)

    def cover(self, start: int, end: int, kind: str) -> bool:
        """Mask [start, end) even where it overlaps what is already masked: the parts not yet
        masked join the neighbouring spans (uncounted); a span of its own counts as `kind`."""
        if self.whole is not None or start >= end:
            return False
        overlapping = sorted((s, e) for s, e, _ in self.spans if s < end and start < e)
        if not overlapping:
            return self.claim(start, end, kind)
        position = start
        for s, e in overlapping:
            if position < s:
                self.spans.append((position, s, ""))
            position = max(position, e)
        if position < end:
            self.spans.append((position, end, ""))
        return False

    def values(self) -> list[str]:
        """The masked values, whole (touching spans joined)."""
        if self.whole is not None:
            text = self.text.strip()
            return [] if text.startswith("-----") else [text]
        return [self.text[start:end] for start, end in _merged(self.spans)]

    def render(self) -> str:
        if self.whole is not None:
            return PLACEHOLDER
        text = self.text
        for start, end in reversed(_merged(self.spans)):
            text = text[:start] + PLACEHOLDER + text[end:]
        return text


def _merged(spans: Iterable[tuple[int, int, str]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end, _ in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


class Redactor:
    """Masks secrets file by file and counts them for the appendix (`counts` per path,
    `by_kind` per kind). `flagged` (path → 1-based line numbers, see `flagged_lines`) names the
    lines our rules found a literal secret on: those are masked even when no pattern knows them.

    Every value masked (4+ characters) is remembered: later files have it masked wherever it
    occurs (`known-value`), and `scrub` masks it in any other text the caller sends (finding
    messages quoting a property value, cross-document facts). `redact_all` reads every file
    before masking any, so a value known from a later file is masked in an earlier one too."""

    def __init__(self, flagged: Mapping[str, Iterable[int]] | None = None) -> None:
        self.flagged: dict[str, set[int]] = {path: set(lines) for path, lines in (flagged or {}).items()}
        self.counts: dict[str, int] = {}
        self.by_kind: dict[str, int] = {}
        self.known: set[str] = set()           # remembered values, NFKC-normalised
        self._pattern: re.Pattern[str] | None = None

    def redact(self, path: str, text: str) -> str:
        return self.redact_all([(path, text)])[0]

    def redact_all(self, files: Sequence[tuple[str, str]]) -> list[str]:
        """`redact` for several files, each masked with the values remembered from all of them."""
        scanned = [self._scan(path, text) for path, text in files]
        for lines in scanned:
            self._remember(lines)
        return [self._finish(path, lines) for (path, _), lines in zip(files, scanned)]

    def learn(self, path: str, text: str) -> None:
        """Remember the values a file would have masked, without sending or counting it: a
        password in a file that is not sent is still masked where a sent file repeats it."""
        self._remember(self._scan(path, text))

    def scrub(self, text: str) -> str:
        """`text` with every remembered value masked wherever it occurs, longest first; each
        counted under `known-value` and the path `(other text)`. Line count unchanged."""
        pattern = self._known_pattern()
        if pattern is None:
            return text
        out: list[str] = []
        for raw in text.split("\n"):
            line = _Line(raw)
            for start, end in _known_spans(line, pattern):
                line.cover(start, end, "known-value")
            for _, _, kind in line.spans:
                if kind:
                    self._count(OTHER_TEXT, kind)
            out.append(line.render())
        return "\n".join(out)

    def _scan(self, path: str, text: str) -> list[_Line]:
        from detect_secrets.settings import transient_settings

        prose_file = path in ("findings", "facts") or path.lower().endswith(_PROSE_SUFFIXES)
        lines = [_Line(line) for line in text.split("\n")]
        in_pem = False
        fence: str | None = None               # a markdown code block: code, not prose
        columns: dict[int, str] = {}           # label columns of the markdown table we are in
        with transient_settings({"plugins_used": _PLUGINS}):
            for index, line in enumerate(lines):
                if in_pem or _PEM_BEGIN.search(line.text):
                    in_pem = not _PEM_END.search(line.text)
                    line.whole = "private-key"
                    continue
                if prose_file:
                    marker = re.match(r"\s*(```|~~~)", line.text)
                    if marker:
                        fence = None if fence == marker.group(1) else fence or marker.group(1)
                        continue
                previous = lines[index - 1].text if index else ""
                _connection_strings(line)
                _key_values(line, prose_file and fence is None)
                _auth_headers(line)
                _parameter_values(line, previous)
                _command_flags(line)
                _command_passwords(line)
                _japanese_labels(line)
                columns = _table(lines, index, columns)
                _detect_secrets(line)
        _put_parameter_values(lines)
        _flagged(lines, self.flagged.get(path, set()))
        return lines

    def _remember(self, lines: list[_Line]) -> None:
        for line in lines:
            for value in line.values():
                value = _nfkc(value.strip())[0]
                if _rememberable(value) and value not in self.known:
                    self.known.add(value)
                    self._pattern = None

    def _known_pattern(self) -> re.Pattern[str] | None:
        if self._pattern is None and self.known:
            alternatives = [rf"(?<!\d){re.escape(v)}(?!\d)" if v.isdigit() else re.escape(v)
                            for v in sorted(self.known, key=lambda v: (-len(v), v))]
            self._pattern = re.compile("|".join(alternatives))
        return self._pattern

    def _finish(self, path: str, lines: list[_Line]) -> str:
        pattern = self._known_pattern()
        in_pem = False
        for line in lines:
            if line.whole == "private-key" and not in_pem:
                self._count(path, "private-key")   # one block, one secret
            in_pem = line.whole == "private-key" and not _PEM_END.search(line.text)
            if pattern is not None:
                for start, end in _known_spans(line, pattern):
                    line.cover(start, end, "known-value")
            for _, _, kind in line.spans:
                if kind:                       # "": the rest of a value already counted
                    self._count(path, kind)
        return "\n".join(line.render() for line in lines)

    def _count(self, path: str, kind: str) -> None:
        self.counts[path] = self.counts.get(path, 0) + 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1


def _rememberable(value: str) -> bool:
    """A masked value worth masking everywhere: 4+ characters, not a reference or example
    (`${X}`, `!Ref X`, `eyJ...`), a bare secret word (`password`), a setting or a short number
    (a PIN `4821` is masked where it is labelled, not wherever `4821` occurs)."""
    if len(value) < _MIN_KNOWN or PLACEHOLDER in value or value in PLACEHOLDER:
        return False
    if value.endswith(("...", "…")) or any(s in value for s in ("${", "{{", "$(")) \
            or re.match(r"\$\w|!(Ref|Sub|GetAtt|ImportValue|Join|Select|FindInMap|If)\b", value):
        return False
    return not (value.lower() in _NOT_VALUES or SECRET_NAME.fullmatch(value)
                or EXAMPLE_VALUE.match(value) or _is_setting_value(value))


def _known_spans(line: _Line, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    if line.whole is not None:
        return []
    return [_original(line.origin, m.start(), m.end()) for m in pattern.finditer(line.norm)]


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
    if text.endswith(("...", "…")):
        return False       # `eyJraWQiOiJ...`: an example cut short
    if text[0] in "!$`{[(<%" or any(s in text for s in ("${", "{{", "$(", "<%")) \
            or _FUNCTION_CALL.match(text):
        return False
    if text.lower() in _NOT_VALUES:
        return False
    if text.isdigit():
        return len(text) >= 4
    return not (_is_setting_value(text) or SAFE_VALUE.match(text) or EXAMPLE_VALUE.match(text)
                or _REFERENCE.match(text) or text.startswith(("~/", "./", "../")))


def _credential_like(token: str, pin: bool = False, camel: bool = True) -> bool:
    """Whether a token in prose or a table cell looks like a credential rather than a word:
    one ASCII token with a digit or a symbol, or (`camel`) a long camel-case one that is not a
    known product name nor an identifier (`SecureString`, `ecsTaskExecutionRole`); digits alone
    only for a PIN (暗証番号)."""
    if not token or not token.isascii() or any(ch.isspace() for ch in token):
        return False
    if token.isdigit():
        return pin and len(token) >= 4
    if len(token) < 4 or not _is_literal(token) or _known_name(token):
        return False
    if any(ch.isdigit() for ch in token) or _CREDENTIAL_SYMBOL.search(token):
        return True
    words = _WORD.findall(token)
    return camel and len(token) >= 8 and bool(re.search(r"[a-z][A-Z]", token)) \
        and not SECRET_NAME.search(token) and not (words and words[-1].lower() in _IDENTIFIER_WORDS)


# The last word of a camel-case identifier, not of a password: `SecureString`, `ecsTaskExecutionRole`.
_IDENTIFIER_WORDS = frozenset({
    "role", "roles", "string", "policy", "group", "function", "table", "bucket", "name", "arn", "id",
    "type", "service", "cluster", "task", "execution", "manager", "store", "parameter", "template",
    "config", "configuration", "stack", "user", "value", "list", "map", "json", "yaml", "endpoint",
    "url", "path", "rule", "alarm", "topic", "queue", "instance", "subnet", "vpc", "gateway",
    "listener", "target", "log", "logs", "volume", "snapshot", "version", "alias", "resource",
    "output", "property", "condition", "mapping", "handler", "event", "provider", "pool", "client",
    "identity", "account", "key", "keys", "center", "connection", "proxy", "domain", "zone", "record"})


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
        if not re.search(r"^[$<{]|\.\.\.$", match.group(2)):    # `${DbPassword}`, `<literal>`, `x...`
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
        yaml_line = line.text[:match.start()].strip() in ("", "-")     # `value: two words`
        found = _value_at(line.text, match.end(), rest_of_line=yaml_line)
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


def _command_passwords(line: _Line) -> None:
    """Runbook commands whose password has no secret-named `--flag`: `mysql -pSECRET` (attached
    only: `-p db` prompts), `docker login -u AWS -p x`, `sshpass -p x`, `mongosh -p x`,
    `redis-cli -a x`, `curl -u user:x`, `openssl -passin pass:x`, `keytool -storepass x`."""
    text = line.text
    found: list[tuple[int, int]] = []
    if _MYSQL.search(text):
        found += [m.span(1) for m in _MYSQL_P.finditer(text)]
    if _SHORT_P_COMMAND.search(text):
        found += [m.span(1) for m in _SHORT_P.finditer(text)]
    if _REDIS.search(text):
        found += [m.span(1) for m in _REDIS_A.finditer(text)]
    if _CURL.search(text):
        found += [m.span(1) for m in _CURL_USER.finditer(text)]
    found += [m.span(1) for m in _SINGLE_DASH.finditer(text)]
    for start, _ in found:
        value = _value_at(text, start)
        if value is None:
            continue
        a, b = value[0], value[1]
        literal = text[a:b]
        if literal.startswith("pass:"):        # openssl's `pass:x`; `env:X` / `file:x` are not values
            a, literal = a + 5, literal[5:]
        if literal and not literal.startswith("-") and literal != "\\" and _is_literal(literal) \
                and not re.match(r"(env|file|fd|stdin):", literal):
            line.claim(a, b, "command-flag")


_MYSQL = re.compile(r"\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlsh|mariadb(?:-dump)?)\b")
_MYSQL_P = re.compile(r"(?<!\S)-p([^\s-])")
_SHORT_P_COMMAND = re.compile(r"\b(?:login|sshpass|mongo|mongosh|mongodump|mongorestore|mongoexport|"
                              r"mongoimport)\b")
_SHORT_P = re.compile(r"(?<!\S)-p(?:[ \t]+|=)?([^\s-])")
_REDIS = re.compile(r"\bredis-cli\b")
_REDIS_A = re.compile(r"(?<!\S)-a[ \t]+(\S)")
_CURL = re.compile(r"\bcurl\b")
_CURL_USER = re.compile(r"""(?<!\S)(?:-[A-Za-z]*u|--user)(?:[ \t]+|=)?["']?[^\s:'"$]+:([^\s@'"])""")
_SINGLE_DASH = re.compile(r"(?<![\w-])-(?:storepass|keypass|srcstorepass|deststorepass|srckeypass|"
                          r"destkeypass|passin|passout|password|passwd)(?:[ \t]+|=)(\S)")
_PUT_VALUE = re.compile(r"(?<![\w-])--value(=|[ \t]+)")
_PUT_NAME = re.compile(r"""(?<![\w-])--name(?:=|[ \t]+)["']?([^\s"']+)""")


def _put_parameter_values(lines: list[_Line]) -> None:
    """`aws ssm put-parameter --name /order/prd/db/password --value 'x'` (also continued over
    lines with `\\`): `--value` is a secret when the parameter's name is secret-like or its type
    is SecureString."""
    index = 0
    while index < len(lines):
        group = [index]
        while lines[group[-1]].text.rstrip().endswith("\\") and group[-1] + 1 < len(lines) \
                and len(group) < 40:
            group.append(group[-1] + 1)
        index = group[-1] + 1
        command = " ".join(lines[i].text for i in group)
        if "--value" not in command:
            continue
        names = [n.group(1) for n in _PUT_NAME.finditer(command)]
        if not ("SecureString" in command or any(_is_secret_key(n.replace("/", "_")) for n in names)):
            continue
        for i in group:
            text = lines[i].text
            for match in _PUT_VALUE.finditer(text):
                found = _value_at(text, match.end())
                if found and not text[found[0]:found[1]].startswith("-") \
                        and _is_literal(text[found[0]:found[1]]):
                    lines[i].claim(found[0], found[1], "command-flag")


def _japanese_labels(line: _Line) -> None:
    """Prose: a credential-looking token after a label and a separator or particle (`:`, `=`,
    `->`, `は`, `が`, `を`, `に`, `の初期値は`, ...), read in NFKC (`パスワード：ｈｕｎｔｅｒ２`), and
    the tokens listed after it (`認証情報：admin / Hunter2-Prod`)."""
    text = line.norm
    for match in _JA_PROSE.finditer(text):
        for found in _ja_values(text, match.end(), pin=match.group(1) == "暗証番号"):
            line.claim_norm(*found, "japanese-label")


def _ja_values(text: str, pos: int, pin: bool) -> list[tuple[int, int]]:
    """The value(s) at `pos`: one credential-like token, a `user / password` pair (the password
    part, any literal), and further tokens listed with `/`, `,`, `、`."""
    found = _ja_value(text, pos, pin)
    if found is None:
        pair = _JA_PAIR.match(text, pos)
        if not pair:
            return []
        found = _ja_value(text, pair.end(), pin, loose=True)
        if found is None:
            return []
    spans = [found]
    while len(spans) < 4:
        after = found[1] + (1 if text[found[1]:found[1] + 1] in _WRAPPERS.values() else 0)
        separator = _JA_NEXT.match(text, after)
        found = _ja_value(text, separator.end(), pin) if separator else None
        if found is None:
            break
        spans.append(found)
    return spans


def _ja_value(text: str, pos: int, pin: bool, loose: bool = False) -> tuple[int, int] | None:
    """The credential-looking token at `pos` (optionally in backticks / quotes / 「」), when it
    stands alone: `パスワードは Hunter2-Prod です` yes, `パスワードは Secrets Manager で管理` no.
    `loose`: any literal of 6+ characters that is no product name (the password of a pair)."""
    closing = _WRAPPERS.get(text[pos:pos + 1])
    start = pos + 1 if closing else pos
    token = _JA_TOKEN.match(text, start)
    if not token:
        return None
    end = token.end()
    if closing and closing in text[start:end]:
        end = text.index(closing, start)
    elif closing is None:
        while end > start and (text[end - 1] in ".,;:|("
                               or (text[end - 1] == ")" and "(" not in text[start:end])):
            end -= 1
    after = end + 1 if closing and text[end:end + 1] == closing else end
    if not _AFTER_JA_VALUE.match(text, after) and text[after:after + 1] not in ".,;:)":
        return None                        # `3600秒`, `16文字以上`: a quantity, not a value
    if re.match(r"[ \t]+[A-Za-z]", text[after:]):
        return None                        # `Secrets Manager で管理`: a name, not a value
    value = text[start:end]
    if _credential_like(value, pin):
        return (start, end)
    if loose and len(value) >= 6 and _is_literal(value) and not _known_name(value) \
            and value.lower() not in _PRODUCT_WORDS:
        return (start, end)
    return None


_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?(\s*:?-+:?\s*\|)+\s*(:?-+:?\s*)?$")
# Cells that hold no value: nothing, a dash, "none", "generated", "told separately", a remark.
_NO_VALUE_CELLS = frozenset({
    "", "-", "--", "---", "―", "—", "–", "ー", "‐", "*", "なし", "無し", "自動生成", "自動", "未設定",
    "未定", "不要", "別途通知", "別途連絡", "別途共有", "別途", "同上", "〃", "n/a", "na", "tbd", "todo",
    "none", "null", "auto", "generated", "random", "masked", "hidden"})
_REMARK_CELL = re.compile(r"^[(（].*[)）]$|^[※*]")
# A cell naming where the secret is kept, or pointing at it, is not the secret.
_STORE = re.compile(r"secrets?\s*manager|parameter\s*store|\bssm\b|\bvault\b|\bkms\b|key\s*vault|"
                    r"1password|keychain|\{\{resolve:|\$\{|^(arn:|alias/|/|\$|~/|\./|s3://|ssm:)", re.I)
_SECRET_PATH = re.compile(r"[a-z0-9_.-]+(?:/[a-z0-9_.-]+)+")   # `order-mgmt/prd/db`: a secret's name
_KEY_FILE = re.compile(r"\.(pem|key|ppk|crt|cer|p12|pfx|jks|json|ya?ml|env)$", re.I)
# Words of a description or a product, not of a passphrase: `API Gateway`, `managed by SSM`.
_PRODUCT_WORDS = frozenset({
    "aws", "api", "gateway", "lambda", "ecs", "eks", "ec2", "rds", "aurora", "s3", "cloudfront",
    "waf", "alb", "elb", "nlb", "cloudwatch", "sns", "sqs", "dynamodb", "route53", "terraform",
    "cloudformation", "github", "actions", "secrets", "secret", "manager", "parameter", "store",
    "vault", "iam", "role", "user", "users", "policy", "header", "environment", "variable",
    "variables", "env", "managed", "generated", "generate", "rotation", "rotated", "rotate", "see",
    "by", "per", "each", "only", "every", "days", "not", "set", "stored", "store", "in", "the",
    "from", "via", "runbook", "docs", "document", "config", "file", "task", "definition"})
# Header cells that are column names, not a value (`| Password | Value |`).
_HEADER_WORDS = frozenset({
    "value", "values", "note", "notes", "remarks", "remark", "description", "comment", "comments",
    "example", "examples", "default", "type", "name", "key", "setting", "settings", "content",
    "contents", "detail", "details", "memo", "owner", "status", "env", "environment", "item",
    "where", "location", "storage", "source", "purpose", "usage", "scope", "format"})
_KEY_SHAPED = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*|[A-Za-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+|"
                         r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
# A first column naming the row, not a value: an environment.
_SECRET_WORDS = frozenset({"password", "passwd", "passphrase", "pwd", "pass", "pw", "secret", "token",
                           "credential", "credentials", "apikey", "privatekey", "accesskey"})
_ROW_KEYS = frozenset({"prd", "prod", "production", "stg", "stage", "staging", "dev", "develop",
                       "development", "test", "qa", "uat", "sandbox", "local", "dr", "common"})


def _cells(text: str) -> list[tuple[int, int]]:
    bars = [m.start() for m in re.finditer(r"(?<!\\)\|", text)]
    return [(a + 1, b) for a, b in zip(bars, bars[1:])]


def _label_of(cell: str, spaces: bool = True) -> str | None:
    """The label a table cell names: `DB パスワード` → パスワード, `DB_PASSWORD` / `DB Password` →
    "key"; None for a value, a header like `値`, or a setting (`パスワードポリシー`, `シークレット名`).
    An English label has a secret word of its own (`lowercasesecretphrase` is a value); with
    `spaces` False it must be one identifier (`SPACED passphrase words` is a value)."""
    content = _nfkc(cell)[0].strip().strip("*_`").strip()
    japanese = _JA_LABEL_CELL.fullmatch(content)
    if japanese:
        return japanese.group(1)
    if not _EN_LABEL_CELL.fullmatch(content) or (not spaces and " " in content):
        return None
    words = [w.lower() for w in _WORD.findall(content)]
    named = any(w in _SECRET_WORDS for w in words) or any(
        a in ("api", "private", "access", "auth", "signing", "encryption", "master", "client")
        and b == "key" for a, b in zip(words, words[1:]))
    return "key" if named and _is_secret_key(content.replace(" ", "_")) else None


def _cell_value(value: str, spaces: bool) -> bool:
    """Whether a cell's whole (NFKC) content is a value written out: any ASCII literal that is
    not a "none" / remark / store / key file / product name; several words only if `spaces`."""
    if value.lower() in _NO_VALUE_CELLS or _REMARK_CELL.match(value) or not value.isascii() \
            or _STORE.search(value) or _KEY_FILE.search(value) or _SECRET_PATH.fullmatch(value) \
            or _label_of(value, spaces=False):
        return False
    words = value.split()
    if len(words) > 1:
        return spaces and _is_literal(value) and not any(
            _known_name(w) or w.lower() in _PRODUCT_WORDS or w.lower() in _NOT_VALUES or w.isdigit()
            for w in words)
    return _is_literal(value) and not _known_name(value) and value.lower() not in _PRODUCT_WORDS


def _holds_value(cell: str) -> bool:
    """A cell with a literal in it (`x`, `x（本番）`), not only a remark in words (`四半期ごとに変更`)."""
    value = _nfkc(cell)[0].strip().strip("*_`\"'")
    return _cell_value(value, spaces=True) or any(
        _credential_like(t.strip("()[]{}<>.,;:")) for t in re.findall(r"[!-~]+", value))


def _value_ish(cell: str) -> bool:
    """A header cell that is no column name but a "none", a remark or a store: a value."""
    value = _nfkc(cell)[0].strip().strip("*_`")
    return bool(value) and (value.lower() in _NO_VALUE_CELLS or bool(_REMARK_CELL.match(value))
                            or bool(_STORE.search(value)))


def _mask_cell(line: _Line, start: int, end: int, label: str, mode: str) -> bool:
    """Mask a cell's value. `loose`: any literal (the value cell of a label row or a label
    column); `header`: any one-word literal that is no column name; `value`: a credential-like
    value (after an English label that is no key, `| DB Password | x |`); `strict`: only
    tokens with a digit or a symbol (the remarks of a label row)."""
    raw = line.text[start:end]
    value = raw.strip()
    offset = start + raw.index(value) if value else start
    for wrapper in ("**", "__", "`", '"', "'", "「"):
        closing = _WRAPPERS.get(wrapper, wrapper)
        if len(value) > 2 * len(wrapper) and value.startswith(wrapper) and value.endswith(closing):
            offset, value = offset + len(wrapper), value[len(wrapper):-len(closing)]
    kind = "key-value" if label == "key" else "japanese-label"
    norm, origin = _nfkc(value)
    norm_stripped = norm.strip()
    if mode == "loose" and _cell_value(norm_stripped, spaces=True) \
            or mode == "header" and _cell_value(norm_stripped, spaces=False) \
            and norm_stripped.lower() not in _HEADER_WORDS:
        return line.claim(offset, offset + len(value), kind)
    pin, camel = label == "暗証番号", mode != "strict"    # a remark's `ecsTaskRole` is a name
    if norm_stripped.isascii() and " " not in norm_stripped:
        return bool(norm_stripped) and _credential_like(norm_stripped, pin, camel) \
            and line.claim(offset, offset + len(value), kind)
    claimed = False                           # a phrase: its credential-like tokens
    for token in re.finditer(r"[!-~]+", norm):
        a, b = token.span()
        while a < b and norm[a] in "([{<\"'`":
            a += 1
        while b > a and norm[b - 1] in ")]}>\"'`.,;:":
            b -= 1
        if _credential_like(norm[a:b], pin, camel):
            a, b = _original(origin, a, b)
            claimed = line.claim(offset + a, offset + b, kind) or claimed
    return claimed


def _table(lines: list[_Line], index: int, columns: dict[int, str]) -> dict[int, str]:
    """A markdown table row. A row with a label cell (`| DB パスワード | x |`, also after the
    value: `| prd | x | DB パスワード |`): the value cell next to the label is masked whatever
    it holds (unless "none", a remark or a store), other cells where they look like credentials.
    A header row (`| 環境 | DB パスワード |`): its label columns are masked in the rows below —
    unless the header row is itself a label and its value (`| DB パスワード | x |` over `|---|`).
    Returns the label columns in force for the rows below (empty outside a table)."""
    line = lines[index]
    if _TABLE_RULE.match(line.text):
        return columns
    if not _TABLE_ROW.match(line.text):
        return {}
    cells = _cells(line.text)
    labels = [_label_of(line.text[a:b]) for a, b in cells]
    first = next((i for i, label in enumerate(labels) if label), None)
    if first is not None:                 # after the row's label, a value may contain `secret`
        labels = [label if i == first or label != "key" or _label_of(line.text[slice(*cells[i])], False)
                  else None for i, label in enumerate(labels)]
    below = lines[index + 1].text if index + 1 < len(lines) else ""
    if _TABLE_RULE.match(below):              # a header row: its label columns apply below
        masked = False
        if first is not None:
            for i in range(first + 1, len(cells)):
                if not labels[i]:
                    mode = "header" if i == first + 1 else "strict"
                    masked = _mask_cell(line, *cells[i], labels[first], mode) or masked
        if masked or any(_value_ish(line.text[a:b]) for i, (a, b) in enumerate(cells) if not labels[i]):
            return {}                         # `| DB パスワード | 自動生成 |` over `|---|`: a key-value table
        return {i: label for i, label in enumerate(labels) if label}
    if first is not None:
        label = labels[first]
        filled = [i for i, (a, b) in enumerate(cells)
                  if not labels[i] and _nfkc(line.text[a:b])[0].strip().strip("*_`").lower()
                  not in _NO_VALUE_CELLS]
        after = [i for i in filled if i > first]
        before = [i for i in filled if i < first]
        value = None                          # the value cell: next to the label, after it or
        for i in after[:1] + before[-1:]:     # before it (`| prd | x | DB パスワード | 備考 |`)
            if _holds_value(line.text[slice(*cells[i])]):
                value = i
                break
        targets = ([value] if value is not None else []) + [i for i in after if i != value]
        # An English label is loose only when it is a key (`DB_PASSWORD`), not a name or a
        # phrase that mentions a secret (`literal-secret`, `Password`).
        loose = label != "key" or bool(_KEY_SHAPED.fullmatch(
            _nfkc(line.text[slice(*cells[first])])[0].strip().strip("*_`")))
        for i in targets:
            mode = ("loose" if loose else "value") if i == value else "strict"
            if i == 0 and _nfkc(line.text[slice(*cells[i])])[0].strip().lower() in _ROW_KEYS:
                continue                      # `| prd | DB パスワード |`: the row's name
            _mask_cell(line, *cells[i], label, mode)
    for column, label in columns.items():
        if column < len(cells) and not labels[column]:
            _mask_cell(line, *cells[column], label, "loose")
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
    if kind == "Secret Keyword":
        return _is_literal(value)             # `access_token = "minutes"`, `PGPASSWORD=...`
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
