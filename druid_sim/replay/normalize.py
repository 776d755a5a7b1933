"""One normalisation of a request, applied identically to recorded requests and live ones.

Two requests match when their normalised forms are equal:

* method, upper case;
* path: each segment percent-decoded on its own (``task/a%3Ab`` is ``task/a:b``, as Jersey decodes
  ``@PathParam``s) and one trailing slash dropped (Jersey accepts it);
* query: a multiset of decoded (key, value) pairs, so order does not matter but repeats do;
* headers: only those `MatchRules.headers` names (for a request without a body, not those that only
  describe one), values with whitespace around ``;`` removed and lower cased (media types are
  case-insensitive);
* body: JSON canonicalised (keys sorted, compact) after dropping ignored JSON pointers; anything else
  as bytes.

A live request is first put in the cassette's own shape (`live_request`) and redacted the way the
recorder redacted the recorded ones (the replay passes the cassette's redactor), then normalised by the
very function that normalises recorded requests, so both sides go through one code path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from druid_sim.cassette import Body, Request, body_from_bytes
from druid_sim.replay.options import CREDENTIAL_HEADERS, MatchRules
from druid_sim.util.jsonenc import dumps, dumps_sorted

_JSON_START = frozenset(b"{[")

#: method, path, query, headers, body: hashable, so it can key the index.
Key = tuple[str, str, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...], bytes]


@dataclass(slots=True)
class Normalized:
    """A request reduced to what matching compares; ``body_json`` keeps the parsed JSON for explanations."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: bytes
    body_json: Any = None
    is_json: bool = False
    key: Key = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.key = (self.method, self.path, self.query, self.headers, self.body)

    def without_credentials(self) -> Key | None:
        """The key of this request had it carried no credentials (None if it carried none): the key of
        the same request recorded on an unsecured cluster, which any credentials match."""
        headers = tuple(h for h in self.headers if h[0] not in CREDENTIAL_HEADERS)
        return None if len(headers) == len(self.headers) else (self.method, self.path, self.query, headers, self.body)


def normalize_path(path: str) -> str:
    """Percent-decode each segment on its own and drop one trailing slash."""
    if "?" not in path and "%" not in path and not path.endswith("/"):
        return path
    if "?" in path:
        path = path.split("?", 1)[0]
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    if "%" not in path:
        return path
    return "/".join(unquote(segment, encoding="utf-8", errors="replace") for segment in path.split("/"))


def normalize_query(pairs: Iterable[tuple[str, str]], rules: MatchRules) -> tuple[tuple[str, str], ...]:
    """The query as a sorted multiset, without ignored keys."""
    if not pairs:
        return ()
    ignored = rules.ignore_query
    if not ignored:
        return tuple(sorted(pairs))
    return tuple(sorted((k, v) for k, v in pairs if k not in ignored))


def parse_query_string(raw: bytes) -> list[tuple[str, str]]:
    """Decoded (key, value) pairs of a raw query string, blank values kept."""
    if not raw:
        return []
    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace")


def normalize_header_value(value: str) -> str:
    return ";".join(part.strip() for part in value.split(";")).lower()


def normalize_headers(
    headers: Iterable[tuple[str, str]], rules: MatchRules, has_body: bool = True
) -> tuple[tuple[str, str], ...]:
    """The matched headers, by lower-case name, in the order `rules.headers` lists them."""
    wanted = rules.headers if has_body else rules.bodiless_headers
    if not wanted or not headers:
        return ()
    found: dict[str, str] = {}
    for name, value in headers:
        lname = name.lower()
        if lname in wanted and lname not in found:
            found[lname] = normalize_header_value(value)
    return tuple((name, found[name]) for name in wanted if name in found)


def _pointer_segments(pointer: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]


def _drop(value: Any, segments: list[str]) -> None:
    """Remove the location ``segments`` points at (``*`` = every key or index) from ``value`` in place."""
    if not segments:
        return
    head, rest = segments[0], segments[1:]
    if isinstance(value, dict):
        keys = list(value) if head == "*" else [head] if head in value else []
        for key in keys:
            if rest:
                _drop(value[key], rest)
            else:
                del value[key]
    elif isinstance(value, list):
        if head == "*":
            indexes = list(range(len(value)))
        elif head.isdigit() and int(head) < len(value):
            indexes = [int(head)]
        else:
            indexes = []
        for index in reversed(indexes):
            if rest:
                _drop(value[index], rest)
            else:
                del value[index]


def canonical_body(data: bytes, content_type: str | None, rules: MatchRules) -> tuple[bytes, Any, bool]:
    """(canonical bytes, parsed JSON or None, is JSON) for a request body."""
    if not data:
        return b"", None, False
    if data.lstrip()[:1] in (b"{", b"[") or (content_type is not None and "json" in content_type.lower()):
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            return data, None, False
        return canonical_json(value, rules), value, True
    return data, None, False


def canonical_json(value: Any, rules: MatchRules) -> bytes:
    """Sorted-key compact JSON of ``value`` without the ignored pointers (``value`` is not modified)."""
    if rules.ignore_body:
        value = orjson.loads(dumps(value))
        for pointer in rules.ignore_body:
            _drop(value, _pointer_segments(pointer))
    return dumps_sorted(value)


def normalize_recorded(request: Request, rules: MatchRules) -> Normalized:
    """The normalised form of a request stored in a cassette."""
    body = request.body
    if body.kind is None:
        raw, value, is_json = b"", None, False
    elif body.kind == "json":
        raw, value, is_json = canonical_json(body.value, rules), body.value, True
    else:
        raw, value, is_json = canonical_body(body.raw(), request.header("content-type"), rules)
    return Normalized(
        request.method.upper(),
        normalize_path(request.path),
        normalize_query(request.query, rules),
        normalize_headers(request.headers, rules, body.kind is not None),
        raw,
        value,
        is_json,
    )


def live_request(
    method: str,
    raw_path: bytes,
    query_string: bytes,
    headers: Iterable[tuple[bytes, bytes]],
    body: bytes,
    rules: MatchRules,
) -> Request:
    """A request as it arrived (ASGI scope values, lower-case header names, the full body) in the shape the
    recorder stores: path without the query, decoded query pairs, the body as `body_from_bytes` keeps it.

    Only headers that can take part in matching are kept (Content-Type always: it says whether a body is
    JSON), so redacting the request costs nothing for the others.
    """
    wanted = rules.headers
    text_headers = [
        (k.decode("latin-1"), v.decode("latin-1")) for k, v in headers if k == b"content-type" or k.decode() in wanted
    ]
    content_type = next((v for k, v in text_headers if k == "content-type"), None)
    path = raw_path.split(b"?", 1)[0].decode("utf-8", "replace")
    return Request(method, path, parse_query_string(query_string), text_headers, _live_body(body, content_type))


def _live_body(data: bytes, content_type: str | None) -> Body:
    """The body as the recorder would redact it. A JSON object or array is parsed once: stored compact it
    would be ``json``, otherwise ``text`` redacted as parsed JSON, and matching compares the parsed value,
    so both come to the same; ``body_from_bytes`` decides everything else."""
    if data[:1] in (b"{", b"["):
        try:
            return Body("json", orjson.loads(data))
        except orjson.JSONDecodeError:
            pass
    return body_from_bytes(data, content_type)


def normalize_live(
    method: str,
    raw_path: bytes,
    query_string: bytes,
    headers: Iterable[tuple[bytes, bytes]],
    body: bytes,
    rules: MatchRules,
    redact: Callable[[Request], Request] | None = None,
) -> Normalized:
    """The normalised form of a live request: `live_request`, redacted by ``redact``, then `normalize_recorded`."""
    request = live_request(method, raw_path, query_string, headers, body, rules)
    if redact is not None:
        request = redact(request)
    return normalize_recorded(request, rules)
