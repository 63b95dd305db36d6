"""Secrets never leave the machine: every line sent to the model is scanned first.

The scanning is detect-secrets' (bundled with checkov as `bc-detect-secrets`): AWS keys,
private keys, keyword passwords, tokens, JWTs and high-entropy strings. Its line scanner misses
three shapes that are common in our users' projects, which we add here:
connection strings with credentials (`postgres://app:pw@host`), a CloudFormation
`MasterUserPassword: literal` (a YAML key/value without quotes), and parameter files whose
password-like key and value sit on different lines (`"ParameterKey": "DbPassword"` then
`"ParameterValue": "..."`). PEM blocks are removed whole, not just their BEGIN line.
Redaction keeps the line count, so line numbers quoted by the model still match the files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PLACEHOLDER = "[REDACTED]"
_PLUGINS = [
    {"name": "AWSKeyDetector"}, {"name": "PrivateKeyDetector"}, {"name": "KeywordDetector"},
    {"name": "Base64HighEntropyString", "limit": 4.5}, {"name": "HexHighEntropyString", "limit": 3.0},
    {"name": "BasicAuthDetector"}, {"name": "JwtTokenDetector"}, {"name": "GitHubTokenDetector"},
    {"name": "SlackDetector"}, {"name": "StripeDetector"}, {"name": "SendGridDetector"},
    {"name": "TwilioKeyDetector"}, {"name": "ArtifactoryDetector"}, {"name": "MailchimpDetector"},
]
_ENTROPY = {"Base64 High Entropy String": 4.5, "Hex High Entropy String": 3.0}
_SECRET_KEY = r"[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|credential)[\w.-]*"
_CONNECTION = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:)([^\s@'\"]+)(@)", re.I)
_KEY_VALUE = re.compile(
    rf"""^(\s*["']?{_SECRET_KEY}["']?\s*[:=]\s*)(?!!|\{{|\$\{{|\[|Ref\b|["']?[{{$]|\d+\s*$|true\b|false\b)(["']?)([^\s"'#,}}]+)(\2)""",
    re.I)
_PARAM_KEY = re.compile(rf"""["']?(?:ParameterKey|Key|Name)["']?\s*[:=]\s*["']?{_SECRET_KEY}["']?""", re.I)
_PARAM_VALUE = re.compile(r"""(["']?(?:ParameterValue|Value)["']?\s*[:=]\s*["']?)([^"',}\s]+)""", re.I)
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_PEM_END = re.compile(r"-----END [A-Z ]*PRIVATE KEY-----")


@dataclass
class Redactor:
    """Collects how many values were replaced, per file, for the appendix."""

    counts: dict[str, int] = field(default_factory=dict)

    def redact(self, path: str, text: str) -> str:
        from detect_secrets.core.scan import scan_line
        from detect_secrets.settings import transient_settings

        lines = text.split("\n")
        out: list[str] = []
        in_pem = False
        with transient_settings({"plugins_used": _PLUGINS}):
            for index, line in enumerate(lines):
                if in_pem or _PEM_BEGIN.search(line):
                    in_pem = not _PEM_END.search(line)
                    out.append(PLACEHOLDER)
                    self._count(path)
                    continue
                line = self._ours(line, out[-3:] if out else [], path)
                for secret in list(scan_line(line)):
                    value = secret.secret_value or ""
                    if not self._worth_redacting(secret.type, value) or value not in line:
                        continue
                    line = line.replace(value, PLACEHOLDER)
                    self._count(path)
                out.append(line)
        return "\n".join(out)

    def _ours(self, line: str, previous: list[str], path: str) -> str:
        new = _CONNECTION.sub(lambda m: m.group(1) + PLACEHOLDER + m.group(3), line)
        new = _KEY_VALUE.sub(lambda m: m.group(1) + m.group(2) + PLACEHOLDER + m.group(4), new)
        own_key = re.search(r"ParameterKey|\bKey\b|\bName\b", line)
        if _PARAM_KEY.search(line) or (not own_key and previous and _PARAM_KEY.search(previous[-1])):
            new = _PARAM_VALUE.sub(lambda m: m.group(1) + PLACEHOLDER, new)
        if new != line:
            self._count(path)
        return new

    @staticmethod
    def _worth_redacting(kind: str, value: str) -> bool:
        """detect-secrets' ad-hoc line scan is eager: entropy hits include words like
        `MasterUserPassword`; keep only long, really random strings of those two plugins."""
        if value == PLACEHOLDER or PLACEHOLDER in value or len(value) < 6:
            return False
        if kind in _ENTROPY:
            from detect_secrets.plugins import high_entropy_strings as entropy

            plugin = (entropy.HexHighEntropyString if kind.startswith("Hex")
                      else entropy.Base64HighEntropyString)(limit=_ENTROPY[kind])
            return len(value) >= 20 and plugin.calculate_shannon_entropy(value) >= _ENTROPY[kind]
        return True

    def _count(self, path: str) -> None:
        self.counts[path] = self.counts.get(path, 0) + 1

