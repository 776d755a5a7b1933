"""Turning a finished mitmproxy flow into a cassette `Interaction`.

Bodies are stored decoded: mitmproxy's own decoders remove gzip/deflate/br/zstd, and the original
Content-Encoding is remembered on the body. Framing and hop-by-hop headers are dropped, because a
replay frames the decoded body itself; everything else is kept in order, repeats included.

Large bodies and bodies of unknown length (task logs are sent chunked and can be gigabytes) are teed:
a `druid_sim.proxy.bodies.BodyTee` is installed as the message's ``stream``, so the peer gets every
chunk as it arrives while the recorder keeps the first ``--max-recorded-body`` bytes. Without it
mitmproxy either buffers the whole body before passing a byte on, or, with streaming on, forgets the
body entirely. A body longer than the limit is stored cut, with a `Body.truncated` marker.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from urllib.parse import parse_qsl

from mitmproxy import http

from druid_sim.cassette import Body, Interaction, Request, Response, body_from_bytes
from druid_sim.proxy.bodies import BodyTee, clean_cut, decode_prefix

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

#: Flow metadata keys of the `BodyTee` streaming a request's and a response's body.
REQUEST_TEE_KEY = "druid_sim.request_tee"
TEE_KEY = "druid_sim.tee"


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


def _body(message: http.Message, tee: BodyTee | None, framing: dict[str, str], limit: int) -> tuple[Body, bool]:
    """The stored body (at most ``limit`` bytes of it, decoded), and whether its Content-Encoding could be removed."""
    raw: bytes
    if tee is not None:
        raw, size, cut = tee.getvalue(), tee.size, tee.truncated
        tee.close()
    else:
        whole = message.raw_content
        if whole is None:
            logger.warning("a streamed body was not captured; recording it as empty")
            whole = b""
        size, cut, raw = len(whole), len(whole) > limit, whole[:limit]
    enc = framing.get("content-encoding", "").strip().lower() or None
    content_type = framing.get("content-type")
    decoded = True
    if enc is None or enc == "identity" or not raw:
        data = raw
    else:
        try:
            data, complete = decode_prefix(raw, enc, limit)
            cut = cut or not complete
        except ValueError:
            logger.warning("cannot decode a %s body; storing it as received", enc)
            data, decoded = raw, False
    body = body_from_bytes(
        clean_cut(data) if cut else data, content_type, enc if decoded and enc != "identity" else None
    )
    return (replace(body, truncated=size) if cut else body), decoded


def flow_to_interaction(flow: http.HTTPFlow, at: float, limit: int) -> Interaction:
    """Build the (not yet redacted) interaction of a completed flow; `at` is seconds since the cassette
    began, `limit` the bytes of each body kept (``--max-recorded-body``)."""
    req, resp = flow.request, flow.response
    assert resp is not None, "flow_to_interaction needs a response"
    request_headers, request_framing = _split_headers(req)
    request_body, _ = _body(req, flow.metadata.pop(REQUEST_TEE_KEY, None), request_framing, limit)
    response_headers, response_framing = _split_headers(resp)
    # The time of the answer changes on every run and a replay sends its own: not kept, so recording the
    # same flow again gives the same cassette (issue 19).
    response_headers = [pair for pair in response_headers if pair[0].lower() != "date"]
    response_body, decoded = _body(resp, flow.metadata.pop(TEE_KEY, None), response_framing, limit)
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
