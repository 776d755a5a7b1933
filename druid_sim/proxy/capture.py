"""Turning a finished mitmproxy flow into a cassette `Interaction`.

Bodies are stored decoded: mitmproxy's own decoders remove gzip/deflate/br/zstd, and the original
Content-Encoding is remembered on the body. Framing and hop-by-hop headers are dropped, because a
replay frames the decoded body itself; everything else is kept in order, repeats included.

Streamed responses (task logs are sent chunked and can be large) are teed: `BodyTee` is installed as
`flow.response.stream`, so the client gets every chunk as it arrives while the recorder keeps a copy
(in memory up to a limit, then in a temporary file). Without it mitmproxy either buffers the whole
log before the client sees a byte, or, with streaming on, forgets the body entirely.
"""

from __future__ import annotations

import logging
import tempfile
from typing import Any
from urllib.parse import parse_qsl

from mitmproxy import http
from mitmproxy.net import encoding as mitm_encoding

from druid_sim.cassette import Body, Interaction, Request, Response, body_from_bytes

logger = logging.getLogger(__name__)

#: Headers that describe one hop or the framing of the encoded body, not the exchange itself.
FRAMING_HEADERS = frozenset(
    {
        "content-length",
        "transfer-encoding",
        "content-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
    }
)

TEE_KEY = "druid_sim.tee"


class BodyTee:
    """A `flow.response.stream` callable that forwards chunks unchanged and keeps a copy."""

    def __init__(self, memory_limit: int = 16 * 1024 * 1024) -> None:
        self._file: Any = tempfile.SpooledTemporaryFile(max_size=memory_limit)  # noqa: SIM115 (closed in close())
        self.size = 0

    def __call__(self, chunk: bytes) -> bytes:
        if chunk:
            self._file.write(chunk)
            self.size += len(chunk)
        return chunk

    def getvalue(self) -> bytes:
        """Everything received so far (still Content-Encoded, as it came off the wire)."""
        self._file.seek(0)
        data: bytes = self._file.read()
        return data

    def close(self) -> None:
        """Release the buffer or temporary file."""
        self._file.close()


def should_tee(response: http.Response, threshold: int) -> bool:
    """Tee bodies sent chunked (or without a length) and bodies larger than `threshold` bytes."""
    # The raw fields, not `headers.get`: that decodes and lower-cases every name on each call.
    length: bytes | None = None
    for name, value in response.headers.fields:
        if len(name) == 14 and name.lower() == b"content-length":
            if length is not None:
                return True  # several lengths: mitmproxy joins them into one that is not a number
            length = value
    if length is None:
        return response.status_code not in (204, 304)
    try:
        return int(length) > threshold
    except ValueError:
        return True


#: raw header name → (name, lower-case name): a recording sees the same few names over and over.
_NAMES: dict[bytes, tuple[str, str]] = {}
_NAMES_LIMIT = 1024


def _name(raw: bytes) -> tuple[str, str]:
    name = raw.decode("utf-8", "surrogateescape")
    names = (name, name.lower())
    if len(_NAMES) >= _NAMES_LIMIT:
        _NAMES.clear()
    _NAMES[raw] = names
    return names


def _split_headers(message: http.Message) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(headers to store, framing headers by lower-case name), from one pass over the raw fields."""
    kept: list[tuple[str, str]] = []
    framing: dict[str, str] = {}
    known = _NAMES
    for raw_name, raw_value in message.headers.fields:
        name, lname = known.get(raw_name) or _name(raw_name)
        value = raw_value.decode("utf-8", "surrogateescape")
        if lname in FRAMING_HEADERS:
            framing[lname] = value
        else:
            kept.append((name, value))
            if lname == "content-type":
                framing[lname] = value
    return kept, framing


def split_query(query: str) -> list[tuple[str, str]]:
    """`parse_qsl(query, keep_blank_values=True)`, without its per-call overhead when nothing is escaped."""
    if "%" in query or "+" in query:
        return parse_qsl(query, keep_blank_values=True)
    out: list[tuple[str, str]] = []
    for item in query.split("&"):
        if item:
            name, _, value = item.partition("=")
            out.append((name, value))
    return out


def _body(message: http.Message, raw: bytes | None, framing: dict[str, str]) -> tuple[Body, bool]:
    """The stored body, and whether its Content-Encoding could be removed."""
    if raw is None:
        raw = message.raw_content
    if raw is None:
        logger.warning("a streamed body was not captured; recording it as empty")
        raw = b""
    enc = framing.get("content-encoding", "").strip().lower() or None
    content_type = framing.get("content-type")
    if enc is None or enc == "identity" or not raw:
        return body_from_bytes(raw, content_type, None if enc == "identity" else enc), True
    try:
        decoded = mitm_encoding.decode(raw, enc)
    except ValueError:
        logger.warning("cannot decode a %s body; storing it as received", enc)
        return body_from_bytes(raw, content_type), False
    assert isinstance(decoded, bytes)
    return body_from_bytes(decoded, content_type, enc), True


def flow_to_interaction(flow: http.HTTPFlow, at: float) -> Interaction:
    """Build the (not yet redacted) interaction of a completed flow; `at` is seconds since the cassette began."""
    req, resp = flow.request, flow.response
    assert resp is not None, "flow_to_interaction needs a response"
    tee: BodyTee | None = flow.metadata.pop(TEE_KEY, None)
    request_headers, request_framing = _split_headers(req)
    request_body, _ = _body(req, None, request_framing)
    response_raw = tee.getvalue() if tee is not None else None
    if tee is not None:
        tee.close()
    response_headers, response_framing = _split_headers(resp)
    # The time of the answer changes on every run and a replay sends its own: not kept, so recording the
    # same flow again gives the same cassette (issue 19).
    response_headers = [pair for pair in response_headers if pair[0].lower() != "date"]
    response_body, decoded = _body(resp, response_raw, response_framing)
    if not decoded:
        response_headers.append(("Content-Encoding", response_framing["content-encoding"]))
    chunked = "chunked" in response_framing.get("transfer-encoding", "").lower()
    path, _, query = req.path.partition("?")
    end = resp.timestamp_end or resp.timestamp_start or req.timestamp_start
    return Interaction(
        request=Request(
            method=req.method,
            path=path,
            query=split_query(query) if query else [],
            headers=request_headers,
            body=request_body,
        ),
        response=Response(status=resp.status_code, headers=response_headers, body=response_body, chunked=chunked),
        elapsed_ms=max(0.0, (end - req.timestamp_start) * 1000.0),
        at=at,
    )
