"""The data model of a cassette: what one recorded exchange with the Overlord looks like in memory.

The replay engine reads these objects and never the file, so the on-disk layout (see `codec.py` and
`docs/cassettes.md`) can evolve behind them. Bodies are kept the way they are stored (structured JSON,
text or base64) and turned into bytes on demand by `Body.raw()`, which gives back exactly what the
upstream sent once its Content-Encoding is removed.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from druid_sim.util.jsonenc import dumps

#: The cassette format version this code writes and reads.
FORMAT_VERSION = 1

#: A header or query parameter: (name, value), in the order they were sent.
Pair = tuple[str, str]

BodyKind = Literal["json", "text", "base64"]


@dataclass(frozen=True, slots=True)
class Body:
    """A message body, stored decoded.

    `kind` is None for an empty body. For `json` the value is the parsed document and re-encoding it
    compactly with orjson gives back the recorded bytes exactly (the recorder only picks `json` when that
    holds). `encoding` remembers the Content-Encoding the upstream used (gzip, br, ...) so a replay can
    re-apply it if it wants to; the stored value is always decoded.

    `truncated` is set when the body was longer than the recorder's limit (``--max-recorded-body``):
    the stored value is then only its first part (cut at a line or word boundary, so no secret is kept
    half-redacted), and `truncated` is the whole body's size in bytes as it crossed the wire (before
    its Content-Encoding was removed). The recorder still passed the whole body on to the client.
    """

    kind: BodyKind | None = None
    value: Any = None
    encoding: str | None = None
    truncated: int | None = None

    def raw(self) -> bytes:
        """The body bytes as the upstream sent them, minus any Content-Encoding."""
        if self.kind is None:
            return b""
        if self.kind == "json":
            return dumps(self.value)  # orjson, or past its 254 levels the same bytes its way
        if self.kind == "text":
            return str(self.value).encode("utf-8")
        return base64.b64decode(self.value)

    def json(self) -> Any:
        """The body parsed as JSON (also for JSON stored as text); raises ValueError if it is not JSON."""
        if self.kind == "json":
            return self.value
        return orjson.loads(self.raw())

    @property
    def is_empty(self) -> bool:
        """True when the message had no body at all."""
        return self.kind is None


EMPTY_BODY = Body()


def header_value(headers: list[Pair], name: str) -> str | None:
    """The first value of header `name` (case-insensitive), or None."""
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return None


@dataclass(slots=True)
class Request:
    """The client's request as the upstream received it (after redaction)."""

    method: str
    path: str
    query: list[Pair] = field(default_factory=list)
    headers: list[Pair] = field(default_factory=list)
    body: Body = EMPTY_BODY

    def header(self, name: str) -> str | None:
        """First value of a header, case-insensitive."""
        return header_value(self.headers, name)


@dataclass(slots=True)
class Response:
    """The upstream's response.

    Framing headers (Content-Length, Transfer-Encoding, Content-Encoding) are not kept in `headers`,
    because the stored body is decoded and a replay must frame it again; `chunked` records that the
    upstream streamed the body (task logs do), and `body.encoding` its original Content-Encoding.
    """

    status: int
    headers: list[Pair] = field(default_factory=list)
    body: Body = EMPTY_BODY
    chunked: bool = False

    def header(self, name: str) -> str | None:
        """First value of a header, case-insensitive."""
        return header_value(self.headers, name)


@dataclass(slots=True)
class Interaction:
    """One request/response exchange, possibly seen `count` times in a row.

    `at` is when the request arrived, in seconds after the cassette's `recorded_at`; `last_at` is the
    same for the last repetition. `elapsed_ms` is how long the upstream took to answer the first time
    (request start to end of the response body).
    """

    request: Request
    response: Response
    elapsed_ms: float = 0.0
    at: float = 0.0
    count: int = 1
    last_at: float | None = None


@dataclass(frozen=True, slots=True)
class Redaction:
    """How placeholders were made: `<redacted:HEX>` with HEX = HMAC-SHA256(key, secret)[:12].

    The key is the `salt` stored here, or (`key_id` set, `salt` None) a key kept outside the cassette,
    which `key_id` names without revealing. `rules` are the user's `--redact-rule`s and `builtin` says
    whether the built-in ones applied: with the key they let a replayer redact a live request exactly
    as the recorder did.
    """

    scheme: str
    salt: str | None
    rules: tuple[str, ...] = ()
    builtin: bool = True
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class CassetteMeta:
    """The header line of a cassette."""

    format_version: int
    recorded_at: str
    upstream: str | None
    recorder: str
    redaction: Redaction | None


@dataclass(slots=True)
class Cassette:
    """A loaded cassette: its header, its interactions in recorded order and any load warnings."""

    path: Path
    meta: CassetteMeta
    interactions: list[Interaction]
    warnings: list[str] = field(default_factory=list)

    def exchanges(self) -> int:
        """How many exchanges were recorded, counting repetitions."""
        return sum(i.count for i in self.interactions)
