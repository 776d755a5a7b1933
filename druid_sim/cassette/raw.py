"""An interaction from the raw bytes of an HTTP exchange, as a server sees it (ASGI), not as mitmproxy does.

Two places write cassettes without mitmproxy: spy mode (``serve --on-miss forward --record-new``) appends
what it forwarded, and the journal export (``druid-sim journal --save``) turns what a running server
answered into a cassette. Both store what the recorder stores (`druid_sim.proxy.capture`): bodies
decoded, framing and connection headers left out, and, so that recording the same flow twice gives the
same file, nothing that changes from one run to the next: the ``Host`` header (it carries the port a
client was pointed at) and the response's ``Date`` (a replay sends its own) are not kept.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from urllib.parse import parse_qsl

from druid_sim.cassette.body import body_from_bytes
from druid_sim.cassette.model import Interaction, Pair, Request, Response

#: Headers about one connection or the framing of a body: a replay frames the stored body itself.
FRAMING = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"}
)
#: Request headers left out: the address the client used (its port changes with every run).
REQUEST_LEFT_OUT = FRAMING | {"host"}
#: Response headers left out: the time of the answer (a replay writes the current one).
RESPONSE_LEFT_OUT = FRAMING | {"date"}
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}

RawHeaders = Iterable[tuple[bytes, bytes]]


def _headers(raw: RawHeaders, left_out: frozenset[str]) -> tuple[list[Pair], str | None, str | None, bool]:
    """(kept headers, content type, content encoding, whether a Content-Length framed the body)."""
    kept: list[Pair] = []
    content_type = encoding = None
    framed = False
    for raw_name, raw_value in raw:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        lname = name.lower()
        if lname == "content-length":
            framed = True
        if lname in left_out:
            continue
        if lname == "content-type":
            content_type = value
        if lname == "content-encoding":
            encoding = value.strip().lower()
            continue
        kept.append((name, value))
    return kept, content_type, encoding, framed


def _decoded(data: bytes, encoding: str | None) -> tuple[bytes, str | None, bool]:
    """(body bytes, the encoding they arrived with, whether it could be removed)."""
    if encoding is None or encoding == "identity" or not data:
        return data, None if encoding == "identity" else encoding, True
    wbits = _DECODERS.get(encoding)
    if wbits is None:
        return data, encoding, False
    try:
        return zlib.decompress(data, wbits), encoding, True
    except zlib.error:
        return data, encoding, False


def interaction_from_raw(
    method: str,
    raw_path: bytes,
    query: bytes,
    request_headers: RawHeaders,
    request_body: bytes,
    status: int,
    response_headers: RawHeaders,
    response_body: bytes,
    *,
    elapsed_ms: float = 0.0,
    at: float = 0.0,
) -> Interaction:
    """The (not yet redacted) interaction of one exchange; ``at``: seconds after the cassette's ``recorded_at``."""
    req_headers, req_type, req_encoding, _ = _headers(request_headers, REQUEST_LEFT_OUT)
    body, req_encoding, decoded = _decoded(request_body, req_encoding)
    if not decoded and req_encoding:
        req_headers.append(("Content-Encoding", req_encoding))
    request = Request(
        method,
        raw_path.decode("latin-1"),
        parse_qsl(query.decode("latin-1"), keep_blank_values=True),
        req_headers,
        body_from_bytes(body, req_type, req_encoding if decoded else None),
    )
    resp_headers, resp_type, resp_encoding, framed = _headers(response_headers, RESPONSE_LEFT_OUT)
    data, resp_encoding, decoded = _decoded(response_body, resp_encoding)
    if not decoded and resp_encoding:
        resp_headers.append(("Content-Encoding", resp_encoding))
    stored = body_from_bytes(data, resp_type, resp_encoding if decoded else None)
    response = Response(status, resp_headers, stored, chunked=not framed and bool(response_body))
    return Interaction(request, response, elapsed_ms=round(elapsed_ms, 3), at=round(at, 3))
