"""Redaction of secrets and personal data before anything leaves the host (LLM prompt, Discord).

Patterns, in order (a later one never sees what an earlier one replaced):
credentials in URLs (``user:pass@``), ``Authorization``/Bearer/Basic values, JSON Web Tokens,
well-known key formats (AWS access key ids, ``sk-``/``sk-ant-`` API keys, Google ``AIza`` keys,
GitHub tokens, Slack tokens), Discord webhook URLs (the token is in the path), ``key=value`` /
``"key": "value"`` pairs whose key names a secret (password, secret, token, api_key, ...), PEM
private keys, e-mail addresses, payment card numbers (13-19 digits passing Luhn), phone numbers
in international form, and IBANs. Each match becomes ``[REDACTED:<kind>]`` so a reader still sees
what was there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Replacer = Callable[[re.Match[str]], str]


def _tag(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return _tag("card") if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)


_SENSITIVE_NAMES = (  # names of keys whose values are secrets
    r"(?:pass(?:word|wd)?|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|client[_-]?secret|credentials?|auth)"
)

RULES: tuple[tuple[str, re.Pattern[str], str | Replacer], ...] = (
    (
        "private key",
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
        _tag("private-key"),
    ),
    ("url credentials", re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"), _tag("credentials")),
    (
        "discord webhook",
        re.compile(r"https://(?:\w+\.)?discord(?:app)?\.com/api/webhooks/\d+/[\w-]+"),
        _tag("discord-webhook"),
    ),
    (
        "authorization",
        re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"),
        lambda m: f"{m.group(1)} {_tag('token')}",
    ),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"), _tag("jwt")),
    ("aws key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), _tag("aws-key")),
    ("api key", re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}"), _tag("api-key")),
    ("google key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), _tag("api-key")),
    ("github token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"), _tag("api-key")),
    ("slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), _tag("api-key")),
    (
        "secret pair",
        re.compile(rf"""(?i)(["']?\b\w*{_SENSITIVE_NAMES}\w*["']?\s*[:=]\s*)(["']?)[^\s"',;&}}]+\2"""),
        lambda m: f"{m.group(1)}{m.group(2)}{_tag('secret')}{m.group(2)}",
    ),
    ("email", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"), _tag("email")),
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b"), _tag("iban")),
    # Not after '@'/'&' (a Discord mention <@id>) or inside a word, path or key=value number.
    ("card", re.compile(r"(?<![@&\w.:/=-])\d(?:[ -]?\d){12,18}\b"), _card),
    ("phone", re.compile(r"(?<![\w+])\+\d{1,3}[ .-]?(?:\(?\d{1,4}\)?[ .-]?){2,5}\d{2,4}\b"), _tag("phone")),
)


def redact(text: str) -> str:
    for _name, pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    return text


def redact_tree(value: Any) -> Any:  # noqa: ANN401 - any JSON-like document
    """Every string of a JSON-like document (keys included) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): redact_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(v) for v in value]
    return value
