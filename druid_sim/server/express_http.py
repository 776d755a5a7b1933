"""uvicorn's httptools protocol with the express lane (`druid_sim.express`): known answers written at once.

``druid-sim serve`` and the test servers run it under the server limits (``ServerHttpProtocol`` in
`druid_sim.server.guarded_http`, which `druid_sim.server.serving` names as uvicorn's ``http``). For a
plain request (``GET``, HTTP/1.1 keep-alive, no body, no ``Expect``, nothing pipelined ahead of it) the
protocol waits until the request is complete, then asks the app's ``express`` method for an answer. If
the chain gives one, the response is written from the parser callback: the same bytes uvicorn's own
``send`` would write (status line, uvicorn's default headers, the answer's headers lower-cased, the
body, chunked when the answer was streamed), then the keep-alive timer is armed as uvicorn arms it.
Otherwise the request continues into uvicorn's ordinary ASGI cycle as if nothing had happened.

What this saves is uvicorn's per-request machinery (an asyncio task, the scope dict, two ``send``
coroutines per response), which is most of a replayed poll's cost at one connection.

``HttpToolsProtocol`` is not uvicorn's public API: every name this module takes from it is listed in
`druid_sim.server.express_check`, which checks them at start and falls back to uvicorn's own protocol if any
differs (a test keeps the two in step).
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
)
from uvicorn.server import ServerState

from druid_sim.express import Express, ExpressAnswer, ExpressRequest, express_of

logger = logging.getLogger("druid_sim.express")

#: What uvicorn sends when an answer cannot be written (its ``send_500_response``).
_INTERNAL_ERROR = (
    b"content-type: text/plain; charset=utf-8\r\ncontent-length: 21\r\nconnection: close\r\n\r\nInternal Server Error"
)


def find_express(app: object) -> Express | None:
    """The express method of ``app`` or of the app it wraps (uvicorn wraps ours in its own middlewares)."""
    for _ in range(8):
        express = express_of(app)
        if express is not None:
            return express
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


def _framed(answer: ExpressAnswer) -> bool:
    """Whether uvicorn would send the answer chunked: it was streamed, and its status may have a body."""
    return answer.chunked and answer.status not in (204, 304)


def encode_head(answer: ExpressAnswer) -> bytes | None:
    """The answer's headers as uvicorn writes them after its default headers; None if uvicorn would refuse."""
    lines: list[bytes] = []
    for name, value in answer.headers:
        if HEADER_RE.search(name) or HEADER_VALUE_RE.search(value):
            return None
        lines += [name.lower(), b": ", value, b"\r\n"]
    if _framed(answer):
        lines.append(b"transfer-encoding: chunked\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


def encode_body(answer: ExpressAnswer) -> bytes:
    """The body as it goes on the wire: as is, or as one chunk and the last chunk.

    A streamed 204 or 304 goes without a body (HTTP allows none; uvicorn would not frame one either).
    """
    if not answer.chunked:
        return answer.body
    if not _framed(answer):
        return b""
    if not answer.body:
        return b"0\r\n\r\n"
    return b"%x\r\n" % len(answer.body) + answer.body + b"\r\n0\r\n\r\n"


#: Encoded heads by answer identity; the answer is kept with its head, so an id is never reused under it.
_HEADS: dict[int, tuple[ExpressAnswer, bytes | None]] = {}
_HEADS_SIZE = 4096


def _head(answer: ExpressAnswer) -> bytes | None:
    cached = _HEADS.get(id(answer))
    if cached is None or cached[0] is not answer:
        if len(_HEADS) >= _HEADS_SIZE:
            _HEADS.clear()
        cached = _HEADS[id(answer)] = (answer, encode_head(answer))
    return cached[1]


class ExpressHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` that lets the app answer plain requests from the parser callback."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any], _loop: Any = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        usable = not config.root_path and config.limit_concurrency is None
        self._express = find_express(self.app) if usable else None
        self._deferred = False

    def on_headers_complete(self) -> None:
        if self._express is not None and self._plain():
            self._deferred = True  # decided in on_message_complete, once we know there is no body
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._deferred:
            self._deferred = False
            super().on_headers_complete()
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._deferred:
            self._deferred = False
            if self._answer():
                return
            super().on_headers_complete()
        super().on_message_complete()

    def _plain(self) -> bool:
        """A request the express lane may take: nothing about it needs uvicorn's full cycle."""
        parser = self.parser
        return (
            parser.get_method() == b"GET"
            and parser.get_http_version() == "1.1"
            and parser.should_keep_alive()
            and not parser.should_upgrade()
            and not self.expect_100_continue
            and not self.pipeline
            and (self.cycle is None or self.cycle.response_complete)
            and not self.flow.write_paused
            and self.url[:1] == b"/"
        )

    def _answer(self) -> bool:
        """Write the express answer, if the app has one; False sends the request the ASGI way."""
        raw_path, _, query = self.url.partition(b"?")
        if b"#" in query or b"#" in raw_path:
            return False
        try:
            path = raw_path.decode("ascii")
        except UnicodeDecodeError:
            return False
        if "%" in path:
            path = urllib.parse.unquote(path)
        request = ExpressRequest("GET", path, raw_path, query, self.headers, self.client)
        assert self._express is not None
        try:
            answer = self._express(request)
        except Exception:  # a bug in a layer must not cost the request: uvicorn answers a failing app with 500
            logger.exception("express lane failed for GET %s; answering 500", path)
            self._write_error()
            return True
        if answer is None:
            return False
        head = _head(answer)
        if head is None:  # the loader refuses such headers; as uvicorn's send would, drop the connection
            logger.error("a recorded header of GET %s is not valid HTTP (control characters?); closing", path)
            self.transport.close()
            return True
        parts = self._status_and_default_headers(answer.status)
        parts += [head, encode_body(answer)]
        self.transport.write(b"".join(parts))
        self._done()
        return True

    def _status_and_default_headers(self, status: int) -> list[bytes]:
        """What uvicorn writes before an app's own headers: the status line and its default headers."""
        parts = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            parts += [name, b": ", value, b"\r\n"]
        return parts

    def _write_error(self) -> None:
        parts = self._status_and_default_headers(500)
        parts.append(_INTERNAL_ERROR)
        self.transport.write(b"".join(parts))
        self.transport.close()

    def _done(self) -> None:
        """What uvicorn does when a response completes on a keep-alive connection."""
        self.server_state.total_requests += 1
        self._unset_keepalive_if_required()
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)


__all__ = ["ExpressHttpToolsProtocol", "encode_body", "encode_head", "find_express"]
