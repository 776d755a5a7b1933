"""What a secret looks like: credential-bearing names and secret-shaped values.

Shared by the redactor (which replaces them before anything is written) and by `druid-sim cassette
check` (which fails when one is still there), so both agree on what counts as a secret.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

from druid_sim.util.regex import Regex

#: A redaction placeholder: `<redacted:` + 12 hex digits of HMAC-SHA256 + `>`.
PLACEHOLDER_RE = re.compile(r"<redacted:[0-9a-f]{12}>")

#: Header names that always carry credentials.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-auth-token",
        "x-amz-security-token",
    }
)
#: Substrings that make a header name credential-bearing.
SECRET_HEADER_PARTS = ("token", "key", "secret", "auth", "password", "passwd", "session", "credential", "signature")
#: Headers that match a part above but carry no secret (a challenge, not a credential).
PUBLIC_HEADERS = frozenset({"www-authenticate", "proxy-authenticate", "keep-alive", "sec-websocket-accept"})

#: Substrings of JSON keys, query parameters and `name=value` pairs whose values are always secret.
STRONG_NAME_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "accesskey",
    "access_key",
    "accountkey",
    "account_key",
    "privatekey",
    "private_key",
    "jaas",
    "credential",
    "signature",
)
#: Exact names whose values are secret (too short or generic to match as substrings).
STRONG_NAMES = frozenset({"pwd", "pass", "sig", "authorization", "cookie", "auth"})
#: Names that are secret only in some places: `key` in Azure `properties`, and anything high-entropy.
WEAK_NAMES = frozenset({"key", "session", "sessionid", "session_id", "code"})


def is_secret_header(name: str) -> bool:
    """True if a header with this name carries credentials."""
    lname = name.lower()
    if lname in SECRET_HEADERS:
        return True
    if lname in PUBLIC_HEADERS:
        return False
    return any(part in lname for part in SECRET_HEADER_PARTS)


def is_secret_name(name: str) -> bool:
    """True if a JSON key or query parameter named `name` holds a secret wherever it appears."""
    lname = name.lower()
    return lname in STRONG_NAMES or any(part in lname for part in STRONG_NAME_PARTS)


def is_weak_secret_name(name: str) -> bool:
    """True if `name` may hold a secret (checked by entropy rather than always)."""
    return name.lower() in WEAK_NAMES


_NAME = (
    r"[A-Za-z0-9_.\-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|account[_-]?key|credential|jaas)"
    r"[A-Za-z0-9_.\-]*"
)
#: Cheap hints for the credential-name patterns: every name they match contains one of these.
_NAME_WORDS = ("pass", "pwd", "secret", "token", "key", "credential", "jaas", "sig")


class TextPattern(NamedTuple):
    """A secret shape in free text. `words` are cheap substring hints (checked on the lower-cased text)
    that must be present before the regular expression is worth running; group "secret" is the part to
    replace, the rest stays readable. `one_line`: a match never spans lines, so in a long text (a task
    log) only the lines holding a hint word need the regular expression (`places`)."""

    kind: str
    regex: re.Pattern[str] | Regex  # the built-in ones are ours; a user rule is RE2
    words: tuple[str, ...]
    one_line: bool = True


#: Patterns of secrets inside free text (logs, error messages, URLs inside specs).
TEXT_PATTERNS: tuple[TextPattern, ...] = (
    TextPattern(
        "private key",
        re.compile(r"(?P<secret>-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----)"),
        ("private key-----",),
        one_line=False,
    ),
    TextPattern(
        "JSON web token",
        re.compile(r"(?P<secret>\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"),
        ("eyj",),
    ),
    TextPattern(
        "AWS access key id",
        re.compile(r"(?P<secret>\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b)"),
        ("akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa"),
    ),
    TextPattern(
        "password in a URL",
        re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^/\s:@\"'<>]+:(?P<secret>[^@\s/\"'<>]+)@"),
        ("://",),
    ),
    TextPattern(
        "credential header",
        re.compile(
            # The scheme is taken whole when present (`?+`, no backtracking), so `Basic <redacted:…>` (already
            # redacted) is left alone instead of the scheme word being taken for the secret.
            r"(?i)\b(?:proxy-)?authorization\b[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|token|digest|negotiate)\s+)?+"
            r"(?P<secret>[^\s\"',;<>]+)"
        ),
        ("authorization",),
    ),
    TextPattern(
        # `"ssl.key.password" : "..."`: JSON printed inside a log; the whole quoted value, escapes included.
        "credential field in JSON text",
        re.compile(r'(?i)"(?:' + _NAME + r'|pwd|sig)"\s*:\s*"(?P<secret>(?:[^"\\<]|\\.)(?:[^"\\]|\\.)*)"'),
        _NAME_WORDS,
    ),
    TextPattern(
        # `password=...`, `password: ...`, `password=\"...\"` (inside an escaped string).
        "credential assignment",
        re.compile(
            r"(?i)(?<![A-Za-z0-9])(?:" + _NAME + r"|pwd|sig)\\?[\"']?\s*[:=]\s*\\?[\"']?"
            r"(?P<secret>[^\s\"'\\&;,{}\[\]()<>]+)"
        ),
        _NAME_WORDS,
    ),
)


_ALL_HINTS = tuple(sorted({w for p in TEXT_PATTERNS for w in p.words}))


def minimal_words(words: Iterable[str]) -> tuple[str, ...]:
    """`words` without those that contain another one: any word occurs in a text iff one of these does."""
    unique = sorted(set(words), key=lambda w: (len(w), w))
    kept: list[str] = []
    for word in unique:
        if not any(k in word for k in kept):
            kept.append(word)
    return tuple(kept)


def contains_any(lowered: str, words: tuple[str, ...]) -> bool:
    """True if one of `words` (from `minimal_words`) is a substring of `lowered`.

    Plain `in` tests beat one combined regular expression here: Python's `re` tries every alternative at
    almost every position, about three times slower on a 600-byte status body.
    """
    for word in words:  # noqa: SIM110 (a plain loop: any() with a generator costs twice as much here)
        if word in lowered:
            return True
    return False


_HINT_WORDS = minimal_words(_ALL_HINTS)


def patterns_worth_running(text: str, patterns: tuple[TextPattern, ...] = TEXT_PATTERNS) -> list[TextPattern]:
    """The patterns whose hint words occur in `text`: a status poll usually needs none of them.

    One combined scan first, so the common case (nothing credential-like) costs about a microsecond;
    only text with a hint word pays for the per-word tests.
    """
    lowered = text.lower()
    if not contains_any(lowered, _HINT_WORDS):
        return [p for p in patterns if not p.words]
    present = {word for word in _ALL_HINTS if word in lowered}
    out: list[TextPattern] = []
    for p in patterns:
        if not p.words or not present.isdisjoint(p.words):
            out.append(p)
    return out


#: Texts at least this long are searched line by line (`places`): the name patterns start with a repeated
#: character class, which costs seconds on every position of a multi-megabyte log.
LINEWISE_FROM = 16 * 1024


def places(text: str, pattern: TextPattern, lowered: str | None = None) -> list[tuple[int, int]]:
    """The (start, end) spans of ``text`` worth searching for ``pattern``: all of it, or for a long text and a
    one-line pattern with hint words, just the lines that hold one of them."""
    if len(text) < LINEWISE_FROM or not pattern.one_line or not pattern.words:
        return [(0, len(text))]
    lowered = text.lower() if lowered is None else lowered
    starts: set[int] = set()
    for word in pattern.words:
        at = lowered.find(word)
        while at >= 0:
            start = lowered.rfind("\n", 0, at) + 1
            starts.add(start)
            end = lowered.find("\n", at)
            at = lowered.find(word, len(lowered) if end < 0 else end)
    spans: list[tuple[int, int]] = []
    for start in sorted(starts):
        end = text.find("\n", start)
        spans.append((start, len(text) if end < 0 else end))
    return spans


def is_placeholder_only(value: str) -> bool:
    """True if `value` is empty, a placeholder, or an auth scheme followed by a placeholder."""
    stripped = PLACEHOLDER_RE.sub("", value).strip()
    return stripped == "" or stripped.lower() in {"bearer", "basic", "token", "digest", "negotiate"}


def shannon_entropy(value: str) -> float:
    """Bits per character; random API keys score above ~3.5, words and ids below."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def looks_random(value: str) -> bool:
    """A long string with high entropy and no spaces: the shape of a generated key or token."""
    return len(value) >= 16 and " " not in value and shannon_entropy(value) >= 3.5
