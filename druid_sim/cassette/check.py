"""Finding secrets left in a cassette (`druid-sim cassette check`).

It applies the same notion of "secret" as the redactor (`secrets.py`), but reports instead of
replacing: credential headers, query parameters and JSON keys whose values are not placeholders,
secret-shaped text (JWTs, AWS key ids, private keys, passwords in URLs, `password=...`), and
high-entropy values in fields whose names suggest a key or session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from druid_sim.cassette.model import Body, Cassette, Interaction, Pair
from druid_sim.cassette.secrets import (
    PLACEHOLDER_RE,
    is_placeholder_only,
    is_secret_header,
    is_secret_name,
    is_weak_secret_name,
    looks_random,
    patterns_worth_running,
    places,
)
from druid_sim.util.jsonenc import allow_deep_walks


@dataclass(frozen=True, slots=True)
class Finding:
    """One secret-looking value: which interaction (1-based), where in it, what it looks like."""

    interaction: int
    where: str
    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"interaction {self.interaction}, {self.where}: {self.kind} ({self.excerpt})"


def mask(value: str) -> str:
    """Show just enough of a secret to find it, never the whole of it."""
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:4]}…{'*' * 4} ({len(value)} chars)"


def find_secrets(cassette: Cassette) -> list[Finding]:
    """Every secret-looking value in the cassette, in file order."""
    allow_deep_walks()
    findings: list[Finding] = []
    for number, interaction in enumerate(cassette.interactions, start=1):
        findings.extend(Finding(number, where, kind, excerpt) for where, kind, excerpt in _scan(interaction))
    return findings


def _scan(interaction: Interaction) -> Iterator[tuple[str, str, str]]:
    request, response = interaction.request, interaction.response
    yield from _scan_headers(request.headers, "request.headers")
    for name, value in request.query:
        where = f"request.query {name}"
        if (is_secret_name(name) or is_weak_secret_name(name)) and not is_placeholder_only(value):
            yield where, "credential query parameter", mask(value)
        else:
            yield from _scan_text(value, where)
    yield from _scan_text(request.path, "request.path")
    yield from _scan_body(request.body, "request.body")
    yield from _scan_headers(response.headers, "response.headers")
    yield from _scan_body(response.body, "response.body")


def _scan_headers(headers: list[Pair], where: str) -> Iterator[tuple[str, str, str]]:
    for name, value in headers:
        lname = name.lower()
        if is_secret_header(name):
            values = [p.partition("=")[2] for p in value.split(";")[:1]] if lname == "set-cookie" else [value]
            if lname == "cookie":
                values = [p.partition("=")[2] for p in value.split(";")]
            for v in values:
                if not is_placeholder_only(v):
                    yield f"{where} {name}", "credential header", mask(v)
        else:
            yield from _scan_text(value, f"{where} {name}")


def _scan_body(body: Body, where: str) -> Iterator[tuple[str, str, str]]:
    if body.kind == "json":
        yield from _scan_json(body.value, where, "$")
    elif body.kind == "text":
        text = str(body.value)
        if text.lstrip()[:1] in ("{", "["):
            try:
                yield from _scan_json(body.json(), where, "$")
                return
            except ValueError:
                pass
        yield from _scan_text(text, where)


def _scan_json(value: Any, where: str, path: str) -> Iterator[tuple[str, str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}"
            if isinstance(item, str | int | float) and not isinstance(item, bool):
                text = str(item)
                if is_secret_name(key) and not is_placeholder_only(text):
                    yield f"{where} {child}", "credential field", mask(text)
                    continue
                if (
                    (is_weak_secret_name(key) or "key" in key.lower())
                    and looks_random(text)
                    and not (is_placeholder_only(text))
                ):
                    yield f"{where} {child}", "high-entropy value in a key field", mask(text)
                    continue
            yield from _scan_json(item, where, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _scan_json(item, where, f"{path}[{index}]")
    elif isinstance(value, str):
        yield from _scan_text(value, f"{where} {path}")


def _scan_text(text: str, where: str) -> Iterator[tuple[str, str, str]]:
    for pattern in patterns_worth_running(text):
        for start, end in places(text, pattern):
            for match in pattern.regex.finditer(text, start, end):
                secret = match.group("secret")
                if secret and not PLACEHOLDER_RE.fullmatch(secret):
                    line = text.count("\n", 0, match.start()) + 1
                    yield (f"{where} (line {line})" if "\n" in text else where), pattern.kind, mask(secret)
