"""A deadline on the upstream: a hung Druid gives the client a 504 naming it, not an endless wait.

mitmproxy 11 has no timeout for an upstream that accepts a request and never answers: the client
waits until mitmproxy's ten-minute inactivity timer drops both connections. A recorder sits in front
of code under test, so a wedged Overlord must look like what a careful reverse proxy reports: 504
Gateway Timeout after ``upstream_timeout`` seconds (default 60, nginx's ``proxy_read_timeout``),
counted from the request being forwarded to the response headers arriving. Nothing is recorded for
it: the exchange ends through mitmproxy's error path, which the recorder never writes.

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


def timeout_message(upstream: str, seconds: float) -> str:
    """The text of the 504 a client gets when the upstream does not answer in time."""
    return (
        f"druid-sim record: upstream {upstream} did not answer within {seconds:g} s (--upstream-timeout); "
        "nothing was recorded for this request. Check the Druid Router/Overlord, or raise --upstream-timeout."
    )


class UpstreamDeadline:
    """Starts a timer when a request is forwarded and stops it when the response headers arrive."""

    def __init__(self, seconds: float = DEFAULT_UPSTREAM_TIMEOUT) -> None:
        self.seconds = seconds

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or self.seconds <= 0:  # answered by an addon, or no deadline
            return
        flow.metadata[_TIMER] = asyncio.get_running_loop().call_later(self.seconds, self._expire, flow)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
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
        flow.metadata[TIMED_OUT] = True
        upstream = _upstream_name(flow)
        logger.warning(
            "upstream %s did not answer %s %s within %g s: answering 504",
            upstream,
            flow.request.method,
            flow.request.path,
            self.seconds,
        )
        proxyserver = ctx.master.addons.get("proxyserver")  # type: ignore[no-untyped-call]
        handler = getattr(proxyserver, "connections", {}).get(flow.client_conn.id)
        if handler is None:
            return
        stream = _find_stream(handler.layer, flow)
        if stream is not None:
            proxyserver.inject_event(UpstreamTimedOut(flow, stream.stream_id, timeout_message(upstream, self.seconds)))
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
