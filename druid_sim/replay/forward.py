"""Forwarding to an upstream: what answers Druid requests in place of the model, in spy mode or while a test records.

``druid-sim serve --cassette X --on-miss forward --upstream URL`` (spy mode) forwards what the cassette
has no answer for to the cluster, handing each finished exchange to a `ForwardLog` (listed, and with
``--record-new`` appended to the cassette). When the pytest plugin records (``pytest --druid-sim-record=URL``), the ``druid_sim`` server stays in
front of the cluster: the journal, faults and a cassette being extended (``new_episodes``) work as in
any test, and only what nothing in front answers goes on, through the embedded recorder, to the real
cluster. :class:`Forwarder` takes the model's place, innermost in the chain, and relays each request
and its answer unchanged: method, raw path and query, headers and body bytes one way; status, headers
and the body's bytes as sent (still compressed, streamed as they arrive) the other. Only what belongs
to one connection is not passed on (``Connection``, ``Transfer-Encoding`` and the like), ``Host``
(the recorder puts the upstream's there, as a reverse proxy does), and ``Date`` (uvicorn sends its
own, as for every answer). Redirects are relayed, not followed: the client follows them, as it would.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx

from druid_sim.asgi import Receive, Scope, Send
from druid_sim.replay.spy import Forwarded, ForwardLog
from druid_sim.runtime import ANSWERED_BY

#: Headers that describe one connection, not the message (RFC 9110 7.6.1), and never travel on.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
_NOT_FORWARDED = HOP_BY_HOP | {b"host"}
_NOT_RELAYED = HOP_BY_HOP | {b"date"}
_BODY_FRAMING = (b"content-length", b"transfer-encoding")
#: How long the upstream may take to connect, and between two pieces of an answer.
TIMEOUT = httpx.Timeout(120.0, connect=10.0)


class Forwarder:
    """An ASGI app that sends every request to ``upstream`` and relays its answer.

    ``log`` (spy mode, ``serve --on-miss forward``): each finished exchange is handed to it, to be listed
    and, with ``--record-new``, appended to the cassette; while it records, the request asks for an
    uncompressed answer (``Accept-Encoding: identity``), so what is stored is what a replay sends.
    """

    def __init__(self, upstream: str, log: ForwardLog | None = None, name: str = "the recorder") -> None:
        self.upstream = httpx.URL(upstream.rstrip("/"))
        self.log = log
        self.name = name
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._client is None:  # made on the server's event loop, where it is used
            self._client = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)
        query: bytes = scope.get("query_string", b"")
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        headers = [(name, value) for name, value in scope["headers"] if name not in _NOT_FORWARDED]
        framed = any(name in _BODY_FRAMING for name, _ in scope["headers"])
        log = self.log
        sent: list[bytes] | None = None if log is None else []
        if log is not None and log.recording:
            headers = [(name, value) for name, value in headers if name != b"accept-encoding"]
            headers.append((b"accept-encoding", b"identity"))
        request = httpx.Request(
            scope["method"],
            self.upstream.copy_with(raw_path=raw_path + (b"?" + query if query else b"")),
            headers=headers,
            content=_body(receive, sent) if framed else None,  # no body: no framing headers made up for one
        )
        scope[ANSWERED_BY] = "upstream"
        started = time.perf_counter()
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            message = f"druid-sim: {self.name} at {self.upstream} did not answer: {type(exc).__name__}: {exc}"
            body = message.encode()
            plain = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 502, "headers": plain})
            await send({"type": "http.response.body", "body": body})
            return
        received: list[bytes] = []
        try:
            relayed = [(name, value) for name, value in response.headers.raw if name.lower() not in _NOT_RELAYED]
            await send({"type": "http.response.start", "status": response.status_code, "headers": relayed})
            async for chunk in response.aiter_raw():
                if chunk:
                    if sent is not None:
                        received.append(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()
        if log is not None and sent is not None:
            log.forwarded(
                Forwarded(
                    scope["method"],
                    raw_path,
                    query,
                    [(name, value) for name, value in scope["headers"]],
                    b"".join(sent),
                    response.status_code,
                    list(response.headers.raw),
                    b"".join(received),
                    (time.perf_counter() - started) * 1000.0,
                )
            )

    async def aclose(self) -> None:
        """Close the pooled connections (on the server's event loop)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


async def _body(receive: Receive, sent: list[bytes] | None = None) -> AsyncIterator[bytes]:
    """The request body, streamed on as it arrives (and kept in ``sent``, when given)."""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        chunk = message.get("body", b"")
        if chunk:
            if sent is not None:
                sent.append(chunk)
            yield chunk
        if not message.get("more_body", False):
            return
