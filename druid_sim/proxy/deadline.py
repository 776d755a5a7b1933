"""Deadlines on the upstream: a hung Druid gives the client a 504 naming it, not an endless wait.

mitmproxy 11 has no timeout for an upstream that accepts a request and never answers: the client
waits until mitmproxy's ten-minute inactivity timer drops both connections. A recorder sits in front
of code under test, so a wedged Overlord must look like what a careful reverse proxy reports: 504
Gateway Timeout after ``upstream_timeout`` seconds (default 60, nginx's ``proxy_read_timeout``),
counted from the request being forwarded to the response headers arriving. The same seconds then
bound the wait between two pieces of the body, as nginx's ``proxy_read_timeout`` does: an upstream
that sends its headers and then stalls gets the client a 504 if nothing was passed on yet (a body
read whole before it is sent), or a closed connection, so the client sees a truncated answer, if
the body was already being streamed. Nothing is recorded for either: the exchange ends through
mitmproxy's error path, which the recorder never writes.

The body's progress is counted by the `BodyTee` it streams through, or for a body read whole by the
bytes mitmproxy's HTTP stream holds so far; it is looked at every quarter of the deadline (only while
a body takes that long), so a stall is noticed after between one and one and a quarter deadlines.
A client that reads slowly is not the upstream's fault: while bytes wait to be written to it,
mitmproxy stops reading the upstream, and the wait does not count.

An upload streamed to the upstream (a huge spec) is watched the same way while it is sent: stuck for
the whole deadline while bytes wait to be written to the upstream, the upstream stopped reading it,
and the client gets a 504 naming it. A client that is slow to send is not the upstream's doing.

How: mitmproxy answers a client with an error page when its HTTP stream sees a
``ResponseProtocolError``, with that event's status code. The deadline injects one (status 504, our
message) through the proxy server's own ``inject_event``, addressed to the flow's stream, then
closes the upstream connection so the hung socket is not reused. Finding the stream reads two
attributes of mitmproxy's layers (``streams`` of the HTTP layer, ``flow`` of a stream); mitmproxy is
pinned (11.0.2) and the recorder's tests run a real hung upstream. If the stream cannot be found,
the upstream connection is closed and the client gets mitmproxy's 502 instead.

`UpstreamDeadline` is not an addon of its own, for the reason `druid_sim.proxy.upstream.UpstreamGuard` is not:
the `Recorder` owns one and passes it its hooks.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from mitmproxy import ctx, http
from mitmproxy.proxy import events
from mitmproxy.proxy.layers.http import ResponseProtocolError  # type: ignore[attr-defined]

from druid_sim.proxy.bodies import BodyTee
from druid_sim.proxy.upstream import reverse_upstream

logger = logging.getLogger(__name__)

#: Seconds to wait for an upstream's response headers unless told otherwise (nginx's proxy_read_timeout).
DEFAULT_UPSTREAM_TIMEOUT = 60.0
#: Flow metadata key: the pending deadline of a forwarded request.
_TIMER = "druid_sim.upstream_deadline"
#: Flow metadata key: set when the deadline passed (the recorder says so instead of "failed").
TIMED_OUT = "druid_sim.upstream_timed_out"


class UpstreamTimedOut(ResponseProtocolError, events.MessageInjected[Any]):  # type: ignore[misc]  # mitmproxy is untyped
    """The error event that makes mitmproxy answer the flow's client with a 504 and ``message``.

    A ``MessageInjected`` so the proxy routes it to the flow's stream; a ``ResponseProtocolError`` so
    the stream answers the client with an error page of its status code.
    """

    def __init__(self, flow: http.HTTPFlow, stream_id: int, message: str) -> None:
        ResponseProtocolError.__init__(self, stream_id, message, 504)
        self.flow = flow


#: Of the deadline: how often a body's progress is looked at while it arrives.
_BODY_CHECKS = 4


def timeout_message(upstream: str, seconds: float) -> str:
    """The text of the 504 a client gets when the upstream does not answer in time."""
    return (
        f"druid-sim record: upstream {upstream} did not answer within {seconds:g} s (--upstream-timeout); "
        "nothing was recorded for this request. Check the Druid Router/Overlord, or raise --upstream-timeout."
    )


def stalled_message(upstream: str, seconds: float) -> str:
    """The text of the 504 a client gets when the upstream stops sending a body it began."""
    return (
        f"druid-sim record: upstream {upstream} sent its response headers, then nothing more of the body for "
        f"{seconds:g} s (--upstream-timeout); nothing was recorded for this request. Check the Druid "
        "Router/Overlord, or raise --upstream-timeout."
    )


def unread_message(upstream: str, seconds: float) -> str:
    """The text of the 504 a client gets when the upstream stops reading the body it is sending."""
    return (
        f"druid-sim record: upstream {upstream} stopped reading the request body for {seconds:g} s "
        "(--upstream-timeout); nothing was recorded for this request. Check the Druid Router/Overlord, or raise "
        "--upstream-timeout."
    )


class UpstreamDeadline:
    """A timer from the request being forwarded to the response headers, then one on the body's progress."""

    def __init__(self, seconds: float = DEFAULT_UPSTREAM_TIMEOUT) -> None:
        self.seconds = seconds

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        """An upload streamed to the upstream (call after choosing whether it is) must keep being read."""
        if self.seconds > 0 and isinstance(flow.request.stream, BodyTee):
            loop = asyncio.get_running_loop()
            flow.metadata[_TIMER] = loop.call_later(
                self.seconds / _BODY_CHECKS, self._watch_upload, flow, 0, loop.time()
            )

    def request(self, flow: http.HTTPFlow) -> None:
        self._cancel(flow)  # the whole request was read
        if flow.response is not None or self.seconds <= 0:  # answered by an addon, or no deadline
            return
        flow.metadata[_TIMER] = asyncio.get_running_loop().call_later(self.seconds, self._expire, flow)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        """Headers in time: from now on the body must keep coming (call after choosing whether it is streamed)."""
        self._cancel(flow)
        if self.seconds > 0 and flow.live:
            # Nothing counted yet: looking into mitmproxy's stream now would cost every exchange a search.
            loop = asyncio.get_running_loop()
            flow.metadata[_TIMER] = loop.call_later(self.seconds / _BODY_CHECKS, self._watch_body, flow, 0, loop.time())

    def response(self, flow: http.HTTPFlow) -> None:
        self._cancel(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._cancel(flow)

    @staticmethod
    def _cancel(flow: http.HTTPFlow) -> None:
        timer = flow.metadata.pop(_TIMER, None)
        if timer is not None:
            timer.cancel()

    def _expire(self, flow: http.HTTPFlow) -> None:
        flow.metadata.pop(_TIMER, None)
        if flow.response is not None or flow.error is not None or not flow.live:
            return
        upstream = _upstream_name(flow)
        logger.warning(
            "upstream %s did not answer %s %s within %g s: answering 504",
            upstream,
            flow.request.method,
            flow.request.path,
            self.seconds,
        )
        _give_up(flow, timeout_message(upstream, self.seconds))

    def _watch_body(self, flow: http.HTTPFlow, seen: int, since: float) -> None:
        """Look at the body's progress: no new byte for the whole deadline ends the exchange."""
        flow.metadata.pop(_TIMER, None)
        if flow.error is not None or not flow.live:
            return
        loop = asyncio.get_running_loop()
        now, received = loop.time(), _received(flow)
        if received is None:
            return  # its progress cannot be seen: mitmproxy's own inactivity timeout is all there is
        if received != seen or _behind(flow, flow.client_conn):
            seen, since = received, now
        elif now - since >= self.seconds:
            upstream = _upstream_name(flow)
            streamed = bool(flow.response is not None and flow.response.stream)
            logger.warning(
                "upstream %s stopped sending the body of %s %s after %d bytes (nothing for %g s): %s",
                upstream,
                flow.request.method,
                flow.request.path,
                received,
                self.seconds,
                "closing the client's connection" if streamed else "answering 504",
            )
            _give_up(flow, stalled_message(upstream, self.seconds))
            return
        flow.metadata[_TIMER] = loop.call_later(self.seconds / _BODY_CHECKS, self._watch_body, flow, seen, since)

    def _watch_upload(self, flow: http.HTTPFlow, seen: int, since: float) -> None:
        """Look at a streamed upload's progress: stuck for the whole deadline because the upstream stopped
        reading it (bytes wait to be written to the upstream) ends the exchange. A client that is slow to
        send is not the upstream's doing and does not count."""
        flow.metadata.pop(_TIMER, None)
        tee = flow.request.stream
        if flow.error is not None or not flow.live or not isinstance(tee, BodyTee):
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if tee.size != seen or not _behind(flow, flow.server_conn):
            seen, since = tee.size, now
        elif now - since >= self.seconds:
            upstream = _upstream_name(flow)
            logger.warning(
                "upstream %s stopped reading the body of %s %s after %d bytes (nothing for %g s): answering 504",
                upstream,
                flow.request.method,
                flow.request.path,
                tee.size,
                self.seconds,
            )
            _give_up(flow, unread_message(upstream, self.seconds))
            return
        flow.metadata[_TIMER] = loop.call_later(self.seconds / _BODY_CHECKS, self._watch_upload, flow, seen, since)


def _received(flow: http.HTTPFlow) -> int | None:
    """Bytes of the response body that arrived so far: counted by its tee, or held by mitmproxy's stream;
    None when another addon streams it (``mitmdump -s`` with a script of one's own): nothing counts it."""
    stream = flow.response.stream if flow.response is not None else None
    if isinstance(stream, BodyTee):
        return stream.size
    if stream:
        return None
    handler = _handler(flow)
    http_stream = _find_stream(handler.layer, flow) if handler is not None else None
    held = getattr(http_stream, "response_body_buf", None)
    return len(held) if held is not None else 0


def _behind(flow: http.HTTPFlow, connection: Any) -> bool:
    """True while bytes wait to be written to ``connection`` (the client or the upstream): mitmproxy then
    stops reading the other side (its backpressure), so a body that does not progress is that peer's doing."""
    handler = _handler(flow)
    transport = handler.transports.get(connection) if handler is not None else None
    writer = getattr(transport, "writer", None)
    if writer is None:
        return False
    buffered: int = writer.transport.get_write_buffer_size()
    return buffered > 0


def _handler(flow: http.HTTPFlow) -> Any:
    """The proxy server's handler of the flow's client connection (None once it is gone)."""
    proxyserver = ctx.master.addons.get("proxyserver")  # type: ignore[no-untyped-call]
    return getattr(proxyserver, "connections", {}).get(flow.client_conn.id)


def _give_up(flow: http.HTTPFlow, message: str) -> None:
    """End the exchange: the client gets a 504 with ``message`` (or, once the answer has begun, its connection
    closed), and the upstream connection is closed so the hung socket is not reused."""
    flow.metadata[TIMED_OUT] = True
    handler = _handler(flow)
    if handler is None:
        return
    stream = _find_stream(handler.layer, flow)
    if stream is not None:
        proxyserver = ctx.master.addons.get("proxyserver")  # type: ignore[no-untyped-call]
        proxyserver.inject_event(UpstreamTimedOut(flow, stream.stream_id, message))
    if flow.server_conn in handler.transports:
        handler.close_connection(flow.server_conn)  # the hung upstream connection must not serve again


def _upstream_name(flow: http.HTTPFlow) -> str:
    upstream = reverse_upstream()
    if upstream is not None:
        return upstream[0]
    request = flow.request
    return f"{request.scheme}://{request.host}:{request.port}"


def _find_stream(layer: Any, flow: http.HTTPFlow, depth: int = 0) -> Any:
    """The HTTP stream of ``flow`` in a connection's layer stack (the HTTP layer keeps them in ``streams``)."""
    if layer is None or depth > 16:
        return None
    streams = getattr(layer, "streams", None)
    if isinstance(streams, dict):
        for stream in streams.values():
            if getattr(stream, "flow", None) is flow:
                return stream
    for attribute in ("layer", "child_layer"):
        found = _find_stream(getattr(layer, attribute, None), flow, depth + 1)
        if found is not None:
            return found
    return None


__all__ = ["DEFAULT_UPSTREAM_TIMEOUT", "TIMED_OUT", "UpstreamDeadline", "timeout_message"]
