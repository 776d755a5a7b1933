"""uvicorn's httptools protocol with the server limits of `druid_sim.limits` enforced on the connection.

uvicorn bounds none of these itself: it times out idle keep-alives only after a first response, never a
request that is slow to arrive, and hands bodies of any size to the app. The checks live here, below
the app, because only the connection can refuse a body before reading it, or time out a request the
app has not seen yet:

* on each read, a request head still arriving is measured; past ``max_header_size``, 431 (414 while
  still in the request line), before the parser has buffered much more;
* when the head is complete: over the connection cap, 503; a ``Content-Length`` over ``max_body_size``,
  413, before a byte of the body is read (a client that sent ``Expect: 100-continue`` never sends it);
* while a body arrives, its bytes are counted; a chunked body over the limit gets 413 at that point;
* a request not complete within ``request_timeout`` of the connection opening (or of its first byte,
  on a kept-alive connection) gets 408, or a silent close if nothing of it arrived;
* ``keep_alive_timeout`` replaces uvicorn's ``timeout_keep_alive``.

Refusals are Jetty's error pages (`druid_sim.wire.error_page`) with ``Connection: close``. The
server then stops reading into the parser but keeps draining (discarding) what the client still sends
for a moment, as nginx's lingering close does: closing with unread data would reset the connection,
and a client still sending its body would see the reset instead of the answer.

An app reading a body may see it cut short (a refusal, a timeout, a client that went away). It is never
told the body ended: `IncompleteBody` is raised from ``receive`` and caught here around the app, so a
half-received task is never submitted and nothing is logged as a server error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from druid_sim.asgi import ASGIApp, Message, Receive, Scope, Send
from druid_sim.limits import ServerLimits, find_limits, format_size
from druid_sim.server.express_http import ExpressHttpToolsProtocol
from druid_sim.wire import error_page

logger = logging.getLogger("druid_sim.limits")

#: How long a refused connection is drained before it is closed (or sooner, when the client closes).
LINGER_SECONDS = 2.0
#: At most one warning of each kind per this many seconds: a flood must not flood the log too.
WARNING_INTERVAL = 10.0
#: Scope key marking a request whose body may be cut short (it has one): its app runs inside the guard.
_HAS_BODY = "druid_sim.has_body"
#: Methods whose bodies, if a client sends one, no handler reads: they are only counted against the limit.
_BODILESS = frozenset({b"GET", b"HEAD"})


class IncompleteBody(BaseException):
    """Raised from ``receive`` when a request's body will not arrive whole (refused, timed out, client gone).

    A ``BaseException``, so that no ``except Exception`` in an app turns it into an error page or a
    logged traceback on its way out; `GuardedHttpToolsProtocol` catches it around the app.
    """


class _StopParsing(Exception):
    """Raised from a parser callback after a refusal, so httptools parses nothing more."""


class _Warnings:
    """Rate-limited warnings: the first of a kind at once, then at most one per interval with a count."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warn(self, kind: str, message: str, *args: object) -> None:
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < WARNING_INTERVAL:
            self._held[kind] = self._held.get(kind, 0) + 1
            return
        held = self._held.pop(kind, 0)
        self._last[kind] = now
        suffix = f" (and {held} more like it in the last {WARNING_INTERVAL:.0f} s)" if held else ""
        logger.warning(message + suffix, *args)


_warnings = _Warnings()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` enforcing the app's `ServerLimits` (see the module's docstring)."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any], _loop: Any = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.url = b""  # uvicorn sets it when a request begins; a refusal may come before any
        self.limits: ServerLimits = find_limits(self.app)
        self.timeout_keep_alive = self.limits.keep_alive_timeout  # type: ignore[assignment]  # int to uvicorn; any number works
        self._over_cap = False
        self._refused = False  # an answer was refused: the rest of what arrives is drained, unparsed
        self._in_head = True  # the parser awaits or reads a request head (not a body)
        self._completed = 0  # requests received whole on this connection
        self._sent_any = False  # whether the client has sent a byte yet
        self._head_bytes = 0  # bytes of the current head, from reads that were all head (a lower bound)
        self._head_reads = 0  # bytes of the earlier reads the current head came in (an upper bound)
        self._read_size = 0  # bytes of the read being parsed
        self._body_bytes = 0
        self._deadline: float | None = None  # when the request being received must be complete
        self._timer: asyncio.TimerHandle | None = None
        self._linger: asyncio.TimerHandle | None = None

    # -- the connection ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._over_cap = True
        self._expect_request()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._timer, self._linger):
            if timer is not None:
                timer.cancel()
        self._timer = self._linger = None
        self._deadline = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # draining: nothing more is parsed
        self._unset_keepalive_if_required()
        if self._deadline is None:  # the first bytes of a request: it must be whole by the deadline
            self._expect_request()
        self._sent_any = True
        completed, in_head = self._completed, self._in_head
        self._read_size = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._refused:  # a callback refused the request and stopped the parser
                return
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._in_head:  # the read ends where a head is awaited or partly read
            self._head_reads += len(data)
            if in_head and self._completed == completed:  # and all of it was head
                self._head_bytes += len(data)
                if self._head_bytes > self.limits.max_header_size:
                    self._refuse_head()

    # -- parser callbacks --------------------------------------------------------------------------

    def on_headers_complete(self) -> None:
        self._in_head = False
        limits = self.limits
        # The reads this head came in bound its size; only when they could hold too much is it measured.
        if self._head_reads + self._read_size > limits.max_header_size and self._head_size() > limits.max_header_size:
            self._refuse_head()
            raise _StopParsing
        if self._over_cap:
            _warnings.warn(
                "cap",
                "%d connections are open, more than --max-connections %d: answering 503 and closing",
                len(self.connections),
                limits.max_connections,
            )
            self._refuse(503)
            raise _StopParsing
        self._head_bytes = self._head_reads = self._body_bytes = 0
        if self.parser.get_method() not in _BODILESS:  # a GET's body, if any, is counted as it comes
            length, chunked = self._framing()
            if length > limits.max_body_size:
                self._refuse_body(length)
                raise _StopParsing
            if length or chunked:
                self.scope[_HAS_BODY] = True  # type: ignore[literal-required]
        super().on_headers_complete()

    def _head_size(self) -> int:
        """The request line's URL and the headers, as received (each header line's ": " and CRLF too)."""
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _framing(self) -> tuple[int, bool]:
        """(Content-Length or 0, whether the body is chunked) of the request whose headers just ended."""
        length, chunked = 0, False
        for name, value in self.headers:
            if name == b"content-length":
                length = int(value)  # the parser has checked it is a number
            elif name == b"transfer-encoding":
                chunked = True
        return length, chunked

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self.limits.max_body_size:
            self._refuse_body(self._body_bytes)
            raise _StopParsing
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._deadline = None  # the whole request is in: what follows is the server's time
        self._completed += 1
        self._in_head = True
        super().on_message_complete()

    # -- the app ------------------------------------------------------------------------------------

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        if cycle.scope.get(_HAS_BODY):
            app = _BodyGuard(app)
        super()._start_asgi_task(cycle, app)

    # -- the request timeout -----------------------------------------------------------------------

    def _expect_request(self) -> None:
        """A request is awaited (a new connection) or has begun: it must be whole by the deadline."""
        self._deadline = self.loop.time() + self.limits.request_timeout
        if self._timer is None:
            self._timer = self.loop.call_at(self._deadline, self._check_deadline)

    def _check_deadline(self) -> None:
        """The timer fired: re-arm it for a later deadline, or time the request out."""
        self._timer = None
        deadline = self._deadline
        if deadline is None or self._refused or self.transport.is_closing():
            return
        if self.loop.time() < deadline:
            self._timer = self.loop.call_at(deadline, self._check_deadline)
            return
        self._deadline = None
        if not self._sent_any:  # a connection that never sent a byte: there is nothing to answer
            self.transport.close()
            return
        _warnings.warn(
            "timeout",
            "%s: a request did not arrive whole within --request-timeout %gs: answering 408",
            self._peer(),
            self.limits.request_timeout,
        )
        self._refuse(408)

    # -- refusing ----------------------------------------------------------------------------------

    def _refuse_head(self) -> None:
        """431, or 414 when the URL alone is too long (Jetty: still reading the request line)."""
        status = 414 if len(self.url) > self.limits.max_header_size else 431
        _warnings.warn(
            "head",
            "%s: a request head over --max-header-size %s: answering %d",
            self._peer(),
            format_size(self.limits.max_header_size),
            status,
        )
        self._refuse(status)

    def _refuse_body(self, size: int) -> None:
        _warnings.warn(
            "body",
            '%s "%s %s": a body of %s bytes or more, over --max-body-size %s: answering 413',
            self._peer(),
            self.parser.get_method().decode("latin-1"),
            self._path()[:200],
            f"{size:,}",
            format_size(self.limits.max_body_size),
        )
        self._refuse(413)

    def _refuse(self, status: int) -> None:
        """Answer ``status`` with Jetty's page and ``Connection: close``, then drain and close."""
        self._refused = True
        self._deadline = None
        cycle = self.cycle
        busy = cycle is not None and not cycle.response_complete  # a response is on its way, or awaited
        if busy and cycle.scope is self.scope and not cycle.response_started:
            # The app waits for this request's body: it is told the body is incomplete (IncompleteBody)
            # and whatever it sends from now on goes nowhere.
            cycle.response_started = cycle.response_complete = cycle.disconnected = True
            cycle.message_event.set()
        elif busy or self.pipeline:  # another answer is on the wire: ours cannot follow it, so just cut off
            if cycle is not None:
                cycle.disconnected = True
                cycle.message_event.set()
            self.transport.close()
            return
        self.transport.write(self._page(status))
        self._drain_then_close()

    def _path(self) -> str:
        return self.url.split(b"?", 1)[0][:1024].decode("latin-1") if self.url else "/"

    def _page(self, status: int) -> bytes:
        path = self._path()
        accept = next((value.decode("latin-1") for name, value in self.headers or () if name == b"accept"), None)
        page = error_page(status, path, accept)
        parts = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            parts += [name, b": ", value, b"\r\n"]
        if page.content_type is not None:
            parts += [b"content-type: ", page.content_type, b"\r\n"]
        parts += [b"content-length: ", str(len(page.body)).encode(), b"\r\nconnection: close\r\n\r\n", page.body]
        return b"".join(parts)

    def _drain_then_close(self) -> None:
        """Lingering close: send FIN after the answer, discard what still arrives, close in a moment."""
        self._unset_keepalive_if_required()
        if self.flow is not None:
            self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._linger = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "-"


class _BodyGuard:
    """Runs the app for a request with a body, so that a body cut short is never taken for a whole one."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        complete = False

        async def receive_whole() -> Message:
            nonlocal complete
            message = await receive()
            if message["type"] == "http.request":
                complete = not message.get("more_body", False)
            elif not complete:  # http.disconnect before the last of the body
                raise IncompleteBody
            return message

        with contextlib.suppress(IncompleteBody):
            await self.app(scope, receive_whole, send)


class ServerHttpProtocol(GuardedHttpToolsProtocol, ExpressHttpToolsProtocol):
    """What ``druid-sim serve`` runs: the limits first, then the express lane (`druid_sim.server.express_http`)."""


__all__ = ["LINGER_SECONDS", "GuardedHttpToolsProtocol", "IncompleteBody", "ServerHttpProtocol"]
